"""Verdicts that do not lie about the DNS: a check says "no record" only when the answer was NXDOMAIN or
NODATA. Any other rcode (NOTIMP, FORMERR, SERVFAIL, ...) or a CNAME loop is `error`, naming what happened.

Also: an SPF record with non-ASCII characters is an invalid record, not a missing one, and 60 PTR records are
counted as 60.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from dnschecks import HEALTHY_IP, run_check
from servers.dns import ZONES_DIR, DnsServer

from mxprobe.model import Status

# (check, domain, the name whose every query gets the rcode, probe arguments)
CASES: list[tuple[str, str | None, str, dict[str, Any]]] = [
    ("ptr", None, "20.2.0.192.in-addr.arpa.", {}),
    ("fcrdns", None, "20.2.0.192.in-addr.arpa.", {}),
    ("fcrdns", None, "mail.example.com.", {}),
    ("helo", None, "mail.example.com.", {"helo": "mail.example.com"}),
    ("spf", "example.com", "example.com.", {"helo": "mail.example.com"}),
    ("spf-record", "example.com", "example.com.", {}),
    ("dmarc", "example.com", "_dmarc.example.com.", {}),
    ("dkim", "example.com", "*._domainkey.example.com.", {}),
    ("mx", "example.com", "example.com.", {}),
    ("mta-sts", "example.com", "_mta-sts.example.com.", {}),
    ("tls-rpt", "example.com", "_smtp._tls.example.com.", {}),
    ("dnssec", "example.com", "example.com.", {}),
]
NO_RECORD = re.compile(r"\bno\b[^;:]*\brecord|has no|does not exist|not published", re.IGNORECASE)


@pytest.mark.parametrize("rcode", ["notimp", "formerr"])
@pytest.mark.parametrize(("check", "domain", "name", "kwargs"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
async def test_an_unusual_rcode_is_an_error_that_names_it(
    dns_server: DnsServer, check: str, domain: str | None, name: str, kwargs: dict[str, Any], rcode: Any
) -> None:
    dns_server.set_fault(name, rcode)
    result = await run_check(dns_server, check, domain, **kwargs)

    assert result.status == Status.ERROR, result.summary
    assert rcode.upper() in result.summary or any(rcode.upper() == e.rcode for e in result.evidence)
    assert not NO_RECORD.search(result.summary), result.summary


def test_the_no_record_pattern_catches_the_wordings() -> None:
    for text in (
        "192.0.2.11 has no PTR record (NXDOMAIN)",
        "example.com has no SPF record",
        "no DMARC record",
    ):
        assert NO_RECORD.search(text), text


# Records under the reverse zones of tests/zones/reverse.zone (which holds their SOAs).
LOOPS = """$ORIGIN 113.0.203.in-addr.arpa.
251   CNAME 252.113.0.203.in-addr.arpa.
252   CNAME 251.113.0.203.in-addr.arpa.
"""
MANY = "$ORIGIN 100.51.198.in-addr.arpa.\n" + "".join(f"250 PTR host{i}.example.net.\n" for i in range(60))
ODD_SPF = """$ORIGIN odd.test.
@       SOA  ns.odd.test. h.odd.test. 1 3600 600 86400 300
@       NS   ns.odd.test.
ns      A    127.0.0.1
nbsp    TXT  "v=spf1\u00a0ip4:192.0.2.20 -all"
quoted  TXT  "\u201cv=spf1 ip4:192.0.2.20 -all\u201d"
none    TXT  "just some text"
"""


@pytest.fixture
def odd_dns(make_dns_server: Callable[..., DnsServer]) -> DnsServer:
    return make_dns_server(
        [
            ZONES_DIR,
            {"loops.": LOOPS, "many.": MANY, "odd.test.": ODD_SPF},
        ]
    )


async def test_a_cname_loop_is_reported_as_one(odd_dns: DnsServer) -> None:
    result = await run_check(odd_dns, "ptr", ip="203.0.113.251")

    assert result.status == Status.ERROR
    assert "CNAME loop" in result.summary and "no PTR" not in result.summary
    assert "CNAME loop" in str(result.details.get("error"))


async def test_sixty_ptr_records_are_counted_as_sixty(odd_dns: DnsServer) -> None:
    result = await run_check(odd_dns, "ptr", ip="198.51.100.250")

    assert result.status == Status.WARN
    assert result.summary.startswith("198.51.100.250: 60 PTR records (")
    assert "and 50 more" in result.summary
    assert result.details["count"] == 60 and len(result.details["names"]) == 10


@pytest.mark.parametrize(("name", "char"), [("nbsp", "U+00A0"), ("quoted", "U+201C")])
async def test_an_spf_record_with_non_ascii_characters_is_invalid_not_missing(
    odd_dns: DnsServer, name: str, char: str
) -> None:
    result = await run_check(odd_dns, "spf-record", f"{name}.odd.test")

    assert result.status == Status.FAIL
    assert result.summary.startswith(f"the SPF record of {name}.odd.test is invalid: ")
    assert char in result.summary and "no SPF record" not in result.summary
    assert "plain ASCII" in result.fix


async def test_a_text_record_that_is_no_spf_attempt_is_no_record(odd_dns: DnsServer) -> None:
    result = await run_check(odd_dns, "spf-record", "none.odd.test")

    assert (result.status, result.summary.split(":")[0]) == (Status.WARN, "none.odd.test has no SPF record")


async def test_the_spf_check_says_why_a_garbled_record_gives_none(odd_dns: DnsServer) -> None:
    result = await run_check(odd_dns, "spf", "nbsp.odd.test", ip=HEALTHY_IP, helo="mail.example.com")

    assert "MAIL FROM nbsp.odd.test: none" in result.summary
    assert "Retype the SPF record of nbsp.odd.test in plain ASCII" in result.fix
