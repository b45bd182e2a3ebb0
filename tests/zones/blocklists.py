"""What the blocklist tests and the benchmark share.

`catalogue_zones()`: zones for every enabled list of checks/dnsbl.toml, made from the data itself (healthy
test points, nothing else listed), so that a probe with *all* lists runs on loopback without one query leaving
the machine. `options()` / `records()`: a blocklist test's Options, and its per-zone records as JSON has them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from servers.dns import DnsServer

from mxprobe import blocklists
from mxprobe.dns import parse_nameserver
from mxprobe.options import Options
from mxprobe.report import Report


def listing_code(zone: blocklists.Zone) -> str:
    """An answer the zone's data reads as a listing (its first documented code, or 127.0.0.2)."""
    if zone.bits:
        return f"127.0.0.{sum(zone.bits)}"
    codes = [*zone.codes.exact, *(first for first, _, _ in zone.codes.ranges)]
    return str(ipaddress.IPv4Address(min(codes))) if codes else "127.0.0.2"


def catalogue_zones(*, keys: dict[str, str] | None = None) -> dict[str, str]:
    """{apex: zone text} for every enabled zone (keyed zones only when `keys` has their key, e.g. {"dqs": K}).

    Names that several entries share (Hostkarma is an IP and a domain list) get one zone with all records.
    """
    texts: dict[str, list[str]] = {}
    for zone in blocklists.catalogue().zones:
        if not zone.enabled:
            continue
        ready = zone.resolved(keys or {})
        if ready is None:
            continue
        code = listing_code(ready)
        lines = texts.setdefault(ready.qzone + ".", [])
        if ready.kind == "domain":
            lines.append(f"{ready.test_listed} A {code}")
            continue
        points = [ready.test_listed] if ready.ipv4 else []
        points += [blocklists.IPV6_TEST_LISTED] if ready.ipv6 else []
        lines += [f"{blocklists.reversed_ip(point)[1]} A {code}" for point in points]
    return {apex: "\n".join(dict.fromkeys(lines)) + "\n" for apex, lines in texts.items()}


REAL_LISTS = Path(__file__).resolve().parent / "real-lists"
DQS_KEY = "mxprobetestkey000000000000"  # the key the zone files of real-lists/ answer for


def options(server: DnsServer, *zones: str, check: str, only: bool = True, **extra: Any) -> Options:
    """Options for a blocklist test: this server as the resolver, the given --dnsbl zones and (by default)
    only them, one check, short timeouts (a dropped query costs 2 x 0.5 s)."""
    settings: dict[str, Any] = {"query_timeout": 0.5, "timeout": 10.0, **extra}
    return Options(
        nameservers=[parse_nameserver(server.address)],
        dnsbl_zones=list(zones),
        dnsbl_only=only,
        only=[check],
        **settings,
    )


def records(report: Report, check: str) -> dict[str, dict[str, Any]]:
    """The check's per-zone records by zone name (dbl: by "zone domain"), as the JSON report shows them."""
    result = report.check(check)
    assert result is not None, f"{check} did not run"
    data = result.to_dict()
    by_key = {}
    for record in data["details"].get("zones", []):
        key = record["zone"] if "ip" in record else f"{record['zone']} {record['domain']}"
        by_key[key] = record
    return by_key
