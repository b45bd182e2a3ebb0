"""pyspf and checkdmarc ask the run's nameserver, and nothing they learnt survives into the next run.

Both libraries default to the system resolver (pyspf through the deprecated `dns.resolver.query`, checkdmarc
through a fresh `Resolver()` per lookup) and checkdmarc caches answers process-wide, keyed without the
nameserver. The proofs: the queries only these libraries make appear in the test server's log; the loopback
guard (tests/conftest.py) fails any test in which they reach the system resolver; and two servers with
different data for the same names give two different verdicts, in either order.
"""

from __future__ import annotations

from collections.abc import Callable

import spf
from dnschecks import run_check, run_probe
from servers.dns import DnsServer

import mxprobe.checks.spf as spf_check
from mxprobe.model import Status

ZONE = """
@       MX   10 mx
mx      A    192.0.2.20
@       TXT  "v=spf1 {spf}"
_dmarc  TXT  "v=DMARC1; p={policy}; rua=mailto:dmarc@cache.test"
"""
STRICT = {"cache.test.": ZONE.format(spf="ip4:192.0.2.20 -all", policy="reject")}
LOOSE = {"cache.test.": ZONE.format(spf="+all", policy="none")}


async def test_pyspf_asks_the_run_nameserver(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf", "spf-toomany.sender.test")
    assert check.details["mailfrom"]["result"] == "permerror"
    # Only pyspf's evaluation of the a: terms asks these names (spf-record did not run).
    assert [dns_server.count(f"l{i}.sender.test", "A") for i in range(1, 11)] == [1] * 10


async def test_pyspf_lookup_is_replaced_once_and_leaves_no_resolver_behind(dns_server: DnsServer) -> None:
    await run_check(dns_server, "spf", "example.com")
    assert spf.DNSLookup is spf_check._lookup
    assert spf_check._resolver.get(None) is None  # the resolver lived in the worker thread's context only


async def test_checkdmarc_spf_analysis_asks_the_run_nameserver(dns_server: DnsServer) -> None:
    check = await run_check(dns_server, "spf-record", "example.com")
    assert check.status is Status.PASS
    # checkdmarc alone asks the obsolete SPF type and the CNAME of the domain.
    assert dns_server.count("example.com", "SPF") == 1
    assert dns_server.count("example.com", "CNAME") == 1


async def test_checkdmarc_dmarc_tree_walk_asks_the_run_nameserver(dns_server: DnsServer) -> None:
    await run_check(dns_server, "dmarc", "dmarc-missing.sender.test")
    assert dns_server.count("_dmarc.sender.test", "TXT") == 1
    assert dns_server.count("_dmarc.test", "TXT") == 1


async def test_the_libraries_share_the_run_cache(dns_server: DnsServer) -> None:
    """spf and spf-record both read example.com's TXT record: one query goes out for the whole run."""
    report = await run_probe(dns_server, ["spf", "spf-record"], "example.com")
    assert {c.status for c in report.checks} == {Status.PASS}
    assert dns_server.count("example.com", "TXT") == 1


async def test_no_answer_leaks_between_runs_or_nameservers(make_dns_server: Callable[..., DnsServer]) -> None:
    strict, loose = make_dns_server(STRICT), make_dns_server(LOOSE)
    checks = ["spf", "spf-record", "dmarc"]
    expected = {
        strict: {"spf": Status.PASS, "spf-record": Status.PASS, "dmarc": Status.PASS},
        loose: {"spf": Status.PASS, "spf-record": Status.FAIL, "dmarc": Status.WARN},
    }
    for server in (strict, loose, strict):
        server.reset_log()
        report = await run_probe(server, checks, "cache.test", helo="[192.0.2.20]")
        assert {c.id: c.status for c in report.checks} == expected[server]
        assert server.count("cache.test", "TXT") == 1  # asked again: not served from the previous run
        assert server.count("_dmarc.cache.test", "TXT") == 1
