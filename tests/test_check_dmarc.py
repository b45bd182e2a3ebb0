"""dmarc: checkdmarc's analysis of the policy that applies to the sending domain (with the tree walk)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dnschecks import evidence, run_check
from servers.dns import DnsServer

from mxprobe.model import Status


async def test_a_reject_policy_passes(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "dmarc", "example.com")
    assert check.status is Status.PASS
    assert check.summary == "p=reject sp=reject adkim=r aspf=r"
    assert check.details["tags"]["rua"] == ["mailto:dmarc@example.com"]
    assert check.details["location"] == "example.com"
    assert evidence(check) == {"_dmarc.example.com TXT": "NOERROR"}


async def test_p_none_warns(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "dmarc", "dmarc-none.sender.test")
    assert check.status is Status.WARN
    assert check.summary.startswith("p=none")
    assert "unenforced" in check.summary
    assert "p=quarantine, then p=reject" in check.fix


async def test_a_missing_record_warns_after_the_whole_tree_walk(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "dmarc", "dmarc-missing.sender.test")
    assert check.status is Status.WARN
    assert "has no DMARC record" in check.summary and "5.7.515" in check.summary
    assert evidence(check) == {
        "_dmarc.dmarc-missing.sender.test TXT": "NXDOMAIN",
        "_dmarc.sender.test TXT": "NXDOMAIN",
        "_dmarc.test TXT": "NXDOMAIN",  # outside every zone: the test server answers NXDOMAIN
    }
    assert '`_dmarc.dmarc-missing.sender.test. TXT "v=DMARC1; p=none;' in check.fix


@pytest.mark.parametrize(
    ("domain", "error"),
    [
        ("dmarc-invalid.sender.test", "Tag p must have one of the following values"),
        ("dmarc-multi.sender.test", "Multiple DMARC policy records"),
    ],
)
async def test_an_invalid_record_fails(dns_server: DnsServer, domain: str, error: str) -> None:
    check = await run_check(dns_server, "dmarc", domain)
    assert check.status is Status.FAIL
    assert error in check.summary
    assert f"exactly one valid record at _dmarc.{domain}" in check.fix


async def test_a_subdomain_inherits_the_organizational_policy(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "dmarc", "sub.dmarc-inherit.sender.test")
    assert check.status is Status.PASS
    assert check.summary == "p=quarantine sp=reject adkim=s aspf=s (inherited from dmarc-inherit.sender.test)"
    assert evidence(check)["_dmarc.dmarc-inherit.sender.test TXT"] == "NOERROR"


async def test_a_failed_lookup_of_the_record_is_an_error(dns_server: DnsServer) -> None:
    dns_server.set_fault("_dmarc.example.com.", "servfail")
    check = await run_check(dns_server, "dmarc", "example.com")
    assert check.status is Status.ERROR
    assert evidence(check) == {"_dmarc.example.com TXT": "SERVFAIL"}


async def test_a_failed_lookup_in_the_tree_walk_is_an_error_not_missing(dns_server: DnsServer) -> None:
    dns_server.set_fault("_dmarc.sender.test.", "servfail")
    check = await run_check(dns_server, "dmarc", "dmarc-missing.sender.test")
    assert check.status is Status.ERROR
    assert "_dmarc.sender.test TXT: SERVFAIL" in check.summary


async def test_a_server_refusing_names_outside_its_zones_makes_the_walk_inconclusive(
    make_dns_server: Callable[..., DnsServer],
) -> None:
    server = make_dns_server(refuse_out_of_zone=True)
    check = await run_check(server, "dmarc", "dmarc-missing.sender.test")
    assert check.status is Status.ERROR
    assert "_dmarc.test TXT: REFUSED" in check.summary
