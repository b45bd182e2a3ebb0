"""spf (pyspf's verdict for the sending IP) and spf-record (checkdmarc's analysis of the record).

Every SPF record of sender.test is judged for 192.0.2.20, the healthy sender's IP (PTR mail.example.com,
whose own SPF record `v=spf1 a -all` makes the HELO identity pass).
"""

from __future__ import annotations

import time

import pytest
from dnschecks import HEALTHY_IP, evidence, run_check
from servers.dns import DnsServer

from mxprobe.model import Status


@pytest.mark.parametrize(
    ("domain", "result", "status", "shown"),
    [
        ("example.com", "pass", Status.PASS, "(ip4:192.0.2.20)"),
        ("spf-fail.sender.test", "fail", Status.FAIL, "SPF fail - not authorized"),
        ("spf-softfail.sender.test", "softfail", Status.WARN, "discourages use of this host"),
        ("spf-neutral.sender.test", "neutral", Status.WARN, "neither permitted nor denied"),
        ("spf-none.sender.test", "none", Status.WARN, ""),
        ("spf-plusall.sender.test", "pass", Status.PASS, "(+all)"),
        ("spf-ptr.sender.test", "pass", Status.PASS, "(ptr:example.com)"),
        ("spf-noinclude.sender.test", "permerror", Status.FAIL, "included domain: missing.sender.test"),
        ("spf-syntax.sender.test", "permerror", Status.FAIL, "Invalid IP4 address"),
        ("spf-multi.sender.test", "permerror", Status.FAIL, "Two or more"),
        ("spf-void.sender.test", "permerror", Status.FAIL, "Void lookup limit of 2 exceeded"),
        ("spf-toomany.sender.test", "permerror", Status.FAIL, "Too many DNS lookups"),
    ],
)
async def test_mail_from_results_map_to_statuses(
    dns_server: DnsServer, domain: str, result: str, status: Status, shown: str
) -> None:
    check = await run_check(dns_server, "spf", domain)
    assert check.status is status
    assert check.summary.startswith(f"MAIL FROM {domain}: {result}")
    assert shown in check.summary
    assert check.details["mailfrom"]["result"] == result
    assert check.details["mailfrom"]["identity"] == f"postmaster@{domain}"
    assert check.details["helo"]["result"] == "pass"  # mail.example.com: v=spf1 a -all
    assert evidence(check)[f"{domain} TXT"] == "NOERROR"


async def test_the_fix_for_a_fail_is_the_record_with_the_ip_added(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "spf-fail.sender.test")
    assert '`spf-fail.sender.test. TXT "v=spf1 ip4:192.0.2.20 ip4:192.0.2.200 -all"`' in check.fix


async def test_the_fix_for_none_publishes_a_record(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "spf-none.sender.test")
    assert '`spf-none.sender.test. TXT "v=spf1 ip4:192.0.2.20 -all"`' in check.fix


async def test_the_evidence_is_every_lookup_pyspf_made(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "spf-void.sender.test")
    shown = evidence(check)
    assert [shown[f"v{i}.sender.test A"] for i in (1, 2, 3)] == ["NXDOMAIN"] * 3
    assert check.details["mailfrom"]["void_lookups"] == 3


async def test_a_helo_identity_fail_fails_the_check(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "example.com", helo="spf-fail.sender.test")
    assert check.status is Status.FAIL
    assert check.details["mailfrom"]["result"] == "pass"
    assert check.details["helo"]["result"] == "fail"
    assert "HELO spf-fail.sender.test: fail" in check.summary


async def test_a_helo_name_without_spf_record_is_fine(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "example.com", helo="helo-other.sender.test")
    assert check.status is Status.PASS
    assert check.details["helo"]["result"] == "none"


async def test_an_address_literal_has_no_helo_identity(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "example.com", helo=f"[{HEALTHY_IP}]")
    assert check.status is Status.PASS
    assert "RFC 7208" in check.details["helo"]


async def test_the_null_sender_is_judged_by_its_helo(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "spf-fail.sender.test", mail_from="<>")
    assert "mailfrom" not in check.details
    assert check.details["helo"]["identity"] == "postmaster@mail.example.com"
    assert check.status is Status.PASS


async def test_a_dropped_include_is_temperror_so_error_within_the_deadline(dns_server: DnsServer) -> None:
    dns_server.set_fault("drop.sender.test.", "drop")
    started = time.monotonic()
    check = await run_check(dns_server, "spf", "spf-temperror.sender.test", timeout=3.0, query_timeout=0.3)
    assert time.monotonic() - started < 4.0
    assert check.status is Status.ERROR
    assert check.details["mailfrom"]["result"] == "temperror"
    assert "drop.sender.test: no answer in time" in check.summary
    assert evidence(check)["drop.sender.test TXT"] == "TIMEOUT"


async def test_a_servfail_include_is_temperror(dns_server: DnsServer) -> None:
    dns_server.set_fault("drop.sender.test.", "servfail")
    check = await run_check(dns_server, "spf", "spf-temperror.sender.test")
    assert check.status is Status.ERROR
    assert "drop.sender.test: the nameserver answered SERVFAIL" in check.summary  # the rcode, by its name


async def test_the_include_answers_when_nothing_is_dropped(dns_server: DnsServer) -> None:
    """The counterpart of the two tests above: the same record passes when drop.sender.test answers."""
    check = await run_check(dns_server, "spf", "spf-temperror.sender.test")
    assert check.status is Status.PASS


# -- spf-record (checkdmarc) ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("domain", "status", "shown"),
    [
        ("example.com", Status.PASS, "(1/10 DNS lookups, 0/2 void)"),
        ("spf-fail.sender.test", Status.PASS, "v=spf1 ip4:192.0.2.200 -all"),
        ("spf-neutral.sender.test", Status.WARN, "ends in ?all"),
        ("spf-plusall.sender.test", Status.FAIL, "+all authorizes every IP address"),
        (
            "spf-ptr.sender.test",
            Status.WARN,
            "ptr mechanism (ptr:example.com), which RFC 7208 §5.5 deprecates",
        ),
        ("spf-none.sender.test", Status.WARN, "has no SPF record"),
        ("spf-toomany.sender.test", Status.FAIL, "11/10 maximum DNS lookups"),
        ("spf-void.sender.test", Status.FAIL, "3/2 maximum void DNS lookups"),
        ("spf-noinclude.sender.test", Status.FAIL, "include target missing.sender.test has no SPF record"),
        ("spf-syntax.sender.test", Status.FAIL, "192.0.2.300 is not a valid IPv4 value"),
        ("spf-multi.sender.test", Status.FAIL, "multiple SPF TXT records"),
    ],
)
async def test_spf_record_analysis(dns_server: DnsServer, domain: str, status: Status, shown: str) -> None:
    check = await run_check(dns_server, "spf-record", domain)
    assert check.status is status
    assert shown in check.summary
    assert evidence(check)[f"{domain} TXT"] == "NOERROR"
    assert (check.fix == "") == (status is Status.PASS)


@pytest.mark.parametrize(
    ("domain", "fix"),
    [
        ("spf-toomany.sender.test", "it needs 11 DNS lookups"),
        ("spf-void.sender.test", "more than 2 void lookups"),
        ("spf-multi.sender.test", "merge the v=spf1 records into one"),
        ("spf-plusall.sender.test", "Replace +all with -all"),
        ("spf-ptr.sender.test", "Replace ptr with the ip4:/ip6: addresses"),
    ],
)
async def test_spf_record_fixes_say_what_to_change(dns_server: DnsServer, domain: str, fix: str) -> None:
    check = await run_check(dns_server, "spf-record", domain)
    assert fix in check.fix


async def test_spf_record_counts_lookups_of_includes(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf-record", "spf-toomany.sender.test")
    assert check.details["dns_lookups"] == 11
    assert evidence(check)["l10.sender.test A"] == "NOERROR"


@pytest.mark.parametrize("fault", ["drop", "servfail"])
async def test_spf_record_with_a_failed_include_is_an_error_not_a_permerror(
    dns_server: DnsServer, fault: str
) -> None:
    """checkdmarc reads a dropped include as "no SPF record" (permerror); the answers show a failure."""
    dns_server.set_fault("drop.sender.test.", fault)  # type: ignore[arg-type]
    check = await run_check(
        dns_server, "spf-record", "spf-temperror.sender.test", timeout=3.0, query_timeout=0.3
    )
    assert check.status is Status.ERROR
    assert "drop.sender.test TXT" in check.summary
    assert evidence(check)["drop.sender.test TXT"] == ("TIMEOUT" if fault == "drop" else "SERVFAIL")


async def test_spf_record_with_a_failed_txt_lookup_is_an_error(dns_server: DnsServer) -> None:
    dns_server.set_fault("example.com.", "servfail")
    check = await run_check(dns_server, "spf-record", "example.com")
    assert check.status is Status.ERROR
    assert evidence(check) == {"example.com TXT": "SERVFAIL"}
