"""helo: the HELO name is an FQDN (or the IP's address literal) whose A/AAAA record is the sending IP."""

from __future__ import annotations

import pytest
from dnschecks import HEALTHY_IP, HEALTHY_IP6, evidence, run_check
from servers.dns import DnsServer

from mxprobe.model import Status


async def test_the_default_helo_is_the_ptr_name_and_passes(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "helo")
    assert result.status is Status.PASS
    assert result.summary == f"HELO mail.example.com → {HEALTHY_IP}"
    assert "the PTR name of 192.0.2.20" in result.details["source"]


async def test_a_helo_other_than_the_ptr_name_passes_with_a_note(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "helo", helo="helo-other.sender.test")
    assert result.status is Status.PASS
    assert "differs from the PTR name mail.example.com" in result.summary
    assert result.details["ptr_names"] == ["mail.example.com"]
    assert "20.2.0.192.in-addr.arpa PTR" in evidence(result)


@pytest.mark.parametrize(
    ("helo", "resolved"),
    [("helo-elsewhere.sender.test", "192.0.2.200"), ("helo-v6only.sender.test", "2001:db8:2::10")],
)
async def test_a_helo_not_pointing_back_warns_and_says_why(
    dns_server: DnsServer, helo: str, resolved: str
) -> None:
    result = await run_check(dns_server, "helo", helo=helo)
    assert result.status is Status.WARN
    assert f"{helo} resolves to {resolved}, not {HEALTHY_IP}" in result.summary
    assert "RFC 5321 forbids refusing" in result.summary
    assert f"`{helo}. A {HEALTHY_IP}`" in result.fix
    assert "send the PTR name mail.example.com as HELO" in result.fix


@pytest.mark.parametrize(
    ("helo", "rcode"), [("helo-noaddr.sender.test", "NODATA"), ("nohost.sender.test", "NXDOMAIN")]
)
async def test_a_helo_without_address_fails(dns_server: DnsServer, helo: str, rcode: str) -> None:
    result = await run_check(dns_server, "helo", helo=helo)
    assert result.status is Status.FAIL
    assert f"{helo} has no A or AAAA record ({rcode})" in result.summary
    assert "reject_unknown_helo_hostname" in result.summary
    assert evidence(result)[f"{helo} A"] == rcode


@pytest.mark.parametrize(
    ("helo", "problem"), [("mailhost", "single label"), ("mail.localdomain", "private networks")]
)
async def test_a_helo_that_is_not_an_fqdn_fails_without_a_query(
    dns_server: DnsServer, helo: str, problem: str
) -> None:
    result = await run_check(dns_server, "helo", "example.com", helo=helo)
    assert result.status is Status.FAIL
    assert problem in result.summary and "501 5.5.4" in result.summary
    assert "smtp_helo_name = mail.example.com" in result.fix
    assert dns_server.count(helo) == 0


@pytest.mark.parametrize(
    ("ip", "helo"), [(HEALTHY_IP, f"[{HEALTHY_IP}]"), (HEALTHY_IP6, f"[IPv6:{HEALTHY_IP6}]")]
)
async def test_the_address_literal_of_the_ip_passes(dns_server: DnsServer, ip: str, helo: str) -> None:
    result = await run_check(dns_server, "helo", ip=ip, helo=helo)
    assert result.status is Status.PASS
    assert "address literal of the sending IP" in result.summary


async def test_an_address_literal_of_another_ip_fails(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "helo", helo="[192.0.2.21]")
    assert result.status is Status.FAIL
    assert "names 192.0.2.21, but the mail comes from 192.0.2.20" in result.summary


async def test_no_helo_and_no_ptr_is_skipped(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "helo", ip="192.0.2.11")
    assert result.status is Status.SKIP
    assert "192.0.2.11 has no PTR name" in result.summary


async def test_a_failed_address_lookup_is_an_error(dns_server: DnsServer) -> None:
    dns_server.set_fault("helo-other.sender.test.", "servfail")
    result = await run_check(dns_server, "helo", helo="helo-other.sender.test")
    assert result.status is Status.ERROR
    assert "SERVFAIL" in result.summary
