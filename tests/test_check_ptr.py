"""ptr: the reverse name of the sending IP, against the test zones (2.0.192.in-addr.arpa, 2001:db8::/32)."""

from __future__ import annotations

import time

import pytest
from dnschecks import HEALTHY_IP, HEALTHY_IP6, evidence, run_check
from servers.dns import DnsServer

from mxprobe.checks.ptr import fqdn_problem, generic_reasons, rules
from mxprobe.model import Status


@pytest.mark.parametrize(
    ("ip", "reverse"),
    [
        (HEALTHY_IP, "20.2.0.192.in-addr.arpa"),
        (HEALTHY_IP6, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
    ],
)
async def test_a_single_proper_name_passes(dns_server: DnsServer, ip: str, reverse: str) -> None:
    result = await run_check(dns_server, "ptr", ip=ip)
    assert result.status is Status.PASS
    assert result.summary == f"{ip} → mail.example.com"
    assert result.details["names"] == ["mail.example.com"]
    assert evidence(result) == {f"{reverse} PTR": "NOERROR"}
    assert result.evidence[0].answer == ["mail.example.com."]
    assert result.fix == ""


async def test_no_ptr_fails_naming_the_refusals_and_the_record_to_publish(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "ptr", "example.com", ip="192.0.2.11")
    assert result.status is Status.FAIL
    assert "192.0.2.11 has no PTR record (NXDOMAIN)" in result.summary
    assert "550 5.7.25" in result.summary
    assert "reject_unknown_reverse_client_hostname" in result.summary
    assert "`11.2.0.192.in-addr.arpa. PTR mail.example.com.`" in result.fix
    assert "A record 192.0.2.11" in result.fix
    assert evidence(result) == {"11.2.0.192.in-addr.arpa PTR": "NXDOMAIN"}


async def test_no_ptr_for_ipv6(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "ptr", ip="2001:db8:2::11")
    assert result.status is Status.FAIL
    assert "AAAA record 2001:db8:2::11" in result.fix


@pytest.mark.parametrize(
    ("ip", "name", "reasons"),
    [
        ("192.0.2.12", "192-0-2-12.dynamic.pool.isp.sender.test", ["octets 192-0-2-12", "'dynamic', 'pool'"]),
        ("192.0.2.19", "c0000213.static.sender.test", ["hex c0000213"]),
        ("2001:db8:2::12", "2001-db8-2--12.ip6.dyn.sender.test", ["groups 2001-db8-2-12", "'dyn'"]),
    ],
)
async def test_a_generic_name_warns_with_the_reasons(
    dns_server: DnsServer, ip: str, name: str, reasons: list[str]
) -> None:
    result = await run_check(dns_server, "ptr", "example.com", ip=ip)
    assert result.status is Status.WARN
    assert f"{name} looks generic" in result.summary
    for reason in reasons:
        assert reason in result.summary
    assert list(result.details["generic"]) == [name]
    assert "mail.example.com" in result.fix and "Spamhaus PBL" in result.fix


async def test_several_ptrs_warn_and_the_fix_names_the_extra_ones(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "ptr", ip="192.0.2.13")
    assert result.status is Status.WARN
    assert "2 PTR records (a.multi.sender.test, b.multi.sender.test)" in result.summary
    assert "delete b.multi.sender.test" in result.fix
    assert result.evidence[0].answer == ["a.multi.sender.test.", "b.multi.sender.test."]


async def test_a_name_that_is_not_an_fqdn_warns(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "ptr", "example.com", ip="192.0.2.16")
    assert result.status is Status.WARN
    assert "'mailhost' is a single label" in result.summary
    assert result.details["not_fqdn"] == {
        "mailhost": "'mailhost' is a single label, not a fully qualified domain name"
    }
    assert "e.g. mail.example.com" in result.fix


@pytest.mark.parametrize("fault", ["servfail", "refused"])
async def test_a_failed_lookup_is_an_error_never_a_verdict(dns_server: DnsServer, fault: str) -> None:
    dns_server.set_fault("20.2.0.192.in-addr.arpa.", fault)  # type: ignore[arg-type]
    result = await run_check(dns_server, "ptr")
    assert result.status is Status.ERROR
    assert f"failed ({fault.upper()})" in result.summary
    assert evidence(result) == {"20.2.0.192.in-addr.arpa PTR": fault.upper()}


async def test_a_dropped_query_is_an_error_within_the_deadline(dns_server: DnsServer) -> None:
    dns_server.set_fault("20.2.0.192.in-addr.arpa.", "drop")
    started = time.monotonic()
    result = await run_check(dns_server, "ptr", timeout=2.0, query_timeout=0.3)
    assert time.monotonic() - started < 3.0
    assert result.status is Status.ERROR
    assert evidence(result) == {"20.2.0.192.in-addr.arpa PTR": "TIMEOUT"}


@pytest.mark.parametrize(
    ("name", "ip", "expected"),
    [
        ("c-67-171-0-90.hsd1.wa.comcast.net", "67.171.0.90", ["octets 67-171-0-90", "'hsd'"]),
        ("4-3-2-1.company.example", "1.2.3.4", ["octets 4-3-2-1"]),
        ("host-192-000-002-010.isp.example", "192.0.2.10", ["zero-padded 192000002010"]),
        ("x3221225994.isp.example", "192.0.2.10", ["as one number 3221225994"]),
        ("static-77.isp.example", "192.0.2.10", ["numbered like an ISP's address pool ('static-77')"]),
        ("cpe.cable.isp.co.uk", "192.0.2.10", ["'cable', 'cpe'"]),
        (
            "2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.rev.isp.example",
            "2001:db8::12",
            ["the whole address"],
        ),
    ],
)
def test_generic_forms(name: str, ip: str, expected: list[str]) -> None:
    found = " ".join(generic_reasons(name, ip))
    for fragment in expected:
        assert fragment in found


@pytest.mark.parametrize(
    ("name", "ip"),
    [
        ("mail.example.com", "192.0.2.10"),
        ("mx1.example.com", "192.0.2.1"),
        ("mail2.example.com", "192.0.2.2"),
        ("static.example.com", "192.0.2.10"),  # a static address is what a mail server needs
        ("mail.cable.example", "192.0.2.10"),  # the registered domain may contain a keyword
        ("smtp.example.co.uk", "192.0.2.10"),
        ("mail.example.com", "2001:db8::1"),
    ],
)
def test_ordinary_mail_server_names_are_not_generic(name: str, ip: str) -> None:
    assert generic_reasons(name, ip) == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("localhost", "single label"),
        ("mail.localdomain", "private networks"),
        ("mail_1.example.com", "not a valid host name"),
        ("-mail.example.com", "not a valid host name"),
        ("mail.example.123", "numeric label"),
        ("mail.example.com", None),
        ("mail.example.com.", None),
    ],
)
def test_fqdn_problem(name: str, problem: str | None) -> None:
    found = fqdn_problem(name)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_the_keywords_come_from_the_data_file() -> None:
    assert {"dynamic", "dhcp", "pool", "dsl", "cable", "client"} <= rules().keywords
    assert "static" not in rules().keywords
