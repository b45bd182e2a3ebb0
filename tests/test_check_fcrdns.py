"""fcrdns: every PTR name of the sending IP resolves back to it (A for IPv4, AAAA for IPv6)."""

from __future__ import annotations

import pytest
from dnschecks import HEALTHY_IP, HEALTHY_IP6, evidence, run_check
from servers.dns import DnsServer

from mxprobe.model import Status


@pytest.mark.parametrize("ip", [HEALTHY_IP, HEALTHY_IP6])
async def test_a_forward_confirmed_name_passes(dns_server: DnsServer, ip: str) -> None:
    result = await run_check(dns_server, "fcrdns", ip=ip)
    assert result.status is Status.PASS
    assert result.summary == f"mail.example.com → {ip}"
    assert result.details["names"] == [
        {"name": "mail.example.com", "result": "confirmed", "addresses": ["192.0.2.20", "2001:db8:2::10"]}
    ]
    family = "A" if ip == HEALTHY_IP else "AAAA"
    assert evidence(result)[f"mail.example.com {family}"] == "NOERROR"


@pytest.mark.parametrize(
    ("ip", "name", "record", "resolved"),
    [
        ("192.0.2.14", "mismatch.sender.test", "A", "192.0.2.99"),
        ("2001:db8:2::14", "mismatch6.sender.test", "AAAA", "2001:db8:2::99"),
    ],
)
async def test_a_name_resolving_elsewhere_fails_saying_where(
    dns_server: DnsServer, ip: str, name: str, record: str, resolved: str
) -> None:
    result = await run_check(dns_server, "fcrdns", ip=ip)
    assert result.status is Status.FAIL
    assert f"{name} resolves to {resolved}, not {ip}" in result.summary
    assert "550 5.7.25" in result.summary
    assert f"`{name}. {record} {ip}`" in result.fix
    assert evidence(result)[f"{name} {record}"] == "NOERROR"


async def test_a_name_without_address_fails(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "fcrdns", ip="192.0.2.15")
    assert result.status is Status.FAIL
    assert "noaddr.sender.test has no A or AAAA record (NODATA)" in result.summary
    assert evidence(result) == {"15.2.0.192.in-addr.arpa PTR": "NOERROR", "noaddr.sender.test A": "NODATA"}


async def test_one_of_several_names_not_confirming_warns(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "fcrdns", ip="192.0.2.18")
    assert result.status is Status.WARN
    assert "bad.partial.sender.test resolves to 192.0.2.98, not 192.0.2.18" in result.summary
    assert [n["result"] for n in result.details["names"]] == ["confirmed", "mismatch"]
    assert "bad.partial.sender.test. A 192.0.2.18" in result.fix


async def test_no_ptr_is_skipped_since_ptr_already_fails(dns_server: DnsServer) -> None:
    result = await run_check(dns_server, "fcrdns", ip="192.0.2.11")
    assert result.status is Status.SKIP
    assert "see ptr" in result.summary


async def test_a_failed_forward_lookup_is_an_error(dns_server: DnsServer) -> None:
    dns_server.set_fault("servfail.sender.test.", "servfail")
    result = await run_check(dns_server, "fcrdns", ip="192.0.2.17")
    assert result.status is Status.ERROR
    assert "servfail.sender.test failed (SERVFAIL" in result.summary
    assert evidence(result)["servfail.sender.test A"] == "SERVFAIL"


async def test_the_same_name_answers_when_the_server_is_healthy(dns_server: DnsServer) -> None:
    """The counterpart of the test above: without the fault, 192.0.2.17 is confirmed (the fault caused it)."""
    result = await run_check(dns_server, "fcrdns", ip="192.0.2.17")
    assert result.status is Status.PASS


async def test_a_failed_ptr_lookup_is_an_error(dns_server: DnsServer) -> None:
    dns_server.set_fault("20.2.0.192.in-addr.arpa.", "refused")
    result = await run_check(dns_server, "fcrdns")
    assert result.status is Status.ERROR
    assert "PTR lookup of 192.0.2.20 failed (REFUSED)" in result.summary
