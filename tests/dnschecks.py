"""Shared by the DNS-check tests: run checks the way a user does, against the loopback test DNS server.

`run_check` goes through the public API (`mxprobe.probe` with `only=[check]`), so the scanner, the run's
DNS layer, the deadline and the HELO-from-PTR default are the product's own; only the nameserver differs.
The zones are tests/zones/example.com.zone (the healthy sender, IP 192.0.2.20) and sender.test.zone (every
failure path).
"""

from __future__ import annotations

from typing import Any

from servers.dns import DnsServer

from mxprobe.api import probe
from mxprobe.model import CheckResult
from mxprobe.report import Report

HEALTHY_IP = "192.0.2.20"  # PTR mail.example.com, forward-confirmed, in example.com's SPF
HEALTHY_IP6 = "2001:db8:2::10"


async def run_probe(
    server: DnsServer,
    checks: list[str],
    domain: str | None = None,
    *,
    ip: str = HEALTHY_IP,
    timeout: float = 5.0,
    query_timeout: float = 0.5,
    **kwargs: Any,
) -> Report:
    """One probe restricted to `checks`. The IP is always given: IP discovery would leave loopback."""
    return await probe(
        domain,
        ip=ip,
        nameservers=[server.address],
        only=checks,
        timeout=timeout,
        query_timeout=query_timeout,
        **kwargs,
    )


async def run_check(
    server: DnsServer, check_id: str, domain: str | None = None, **kwargs: Any
) -> CheckResult:
    report = await run_probe(server, [check_id], domain, **kwargs)
    result = report.check(check_id)
    assert result is not None, f"{check_id} did not run"
    return result


def evidence(result: CheckResult) -> dict[str, str]:
    """{"name TYPE": rcode} of the answers a check showed as its evidence."""
    return {e.query: e.rcode for e in result.evidence}
