"""mx: the sending domain can receive replies and bounces (MX, RFC 5321 fallback, RFC 7505 null MX)."""

from __future__ import annotations

import pytest
from dnschecks import evidence, run_check
from servers.dns import DnsServer

from mxprobe.model import Status


async def test_an_mx_with_an_address_passes(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "mx", "example.com")
    assert check.status is Status.PASS
    assert check.summary == "example.com MX 10 mail.example.com"
    assert check.details["hosts"] == [
        {"host": "mail.example.com", "addresses": ["192.0.2.20", "2001:db8:2::10"]}
    ]
    assert evidence(check) == {
        "example.com MX": "NOERROR",
        "mail.example.com A": "NOERROR",
        "mail.example.com AAAA": "NOERROR",
    }


async def test_a_null_mx_fails(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "mx", "mx-null.sender.test")
    assert check.status is Status.FAIL
    assert "null MX (RFC 7505)" in check.summary and "550 5.7.27" in check.summary
    assert check.details["null_mx"] is True


async def test_no_mx_falls_back_to_the_address_and_warns(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "mx", "mx-none-a.sender.test")
    assert check.status is Status.WARN
    assert "goes to its address (192.0.2.30)" in check.summary
    assert check.details["implicit_mx"] == ["192.0.2.30"]
    assert evidence(check)["mx-none-a.sender.test MX"] == "NODATA"
    assert "`mx-none-a.sender.test. MX 10 mail.mx-none-a.sender.test.`" in check.fix


@pytest.mark.parametrize(
    ("domain", "shown"),
    [
        ("mx-none.sender.test", "neither MX nor A/AAAA records"),
        ("mx-noaddr.sender.test", "no MX host of mx-noaddr.sender.test has an address (nohost.sender.test)"),
        ("nx.sender.test", "does not exist (NXDOMAIN)"),
    ],
)
async def test_a_domain_that_cannot_receive_fails(dns_server: DnsServer, domain: str, shown: str) -> None:
    check = await run_check(dns_server, "mx", domain)
    assert check.status is Status.FAIL
    assert shown in check.summary


@pytest.mark.parametrize(
    ("domain", "shown"),
    [
        ("mx-partial.sender.test", "nohost.sender.test has no address"),
        ("mx-cname.sender.test", "mx-alias.sender.test is a CNAME"),
    ],
)
async def test_a_partly_broken_mx_warns(dns_server: DnsServer, domain: str, shown: str) -> None:
    check = await run_check(dns_server, "mx", domain)
    assert check.status is Status.WARN
    assert shown in check.summary


async def test_a_failed_mx_lookup_is_an_error(dns_server: DnsServer) -> None:
    dns_server.set_fault("example.com.", "servfail")
    check = await run_check(dns_server, "mx", "example.com")
    assert check.status is Status.ERROR
    assert evidence(check) == {"example.com MX": "SERVFAIL"}


async def test_failed_host_lookups_are_an_error_not_no_address(dns_server: DnsServer) -> None:
    dns_server.set_fault("mail.example.com.", "refused")
    check = await run_check(dns_server, "mx", "example.com")
    assert check.status is Status.ERROR
    assert "mail.example.com" in check.summary
