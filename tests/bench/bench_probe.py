"""Benchmark of a full probe (every check, every enabled blocklist), run on demand:

    .venv/bin/python tests/bench/bench_probe.py [--delay 0.05] [--runs 3] [--no-serial]

A loopback DNS server in its own process (so it does not share the probe's GIL) answers every query after
`--delay` seconds, like a resolver 50 ms away. It serves a sending domain whose data makes every check do
its real work (SPF includes, HELO SPF, MX, DMARC ...) and a zone for every enabled list of checks/dnsbl.toml
(test points healthy, the probe IP listed nowhere). The probe is `mxprobe.scanner.run`, as the CLI runs it.

Printed: wall time, queries sent (`Dns.sent`), the critical path, their ratio (target <= 1.3), the slowest
checks, and the same probe with concurrency 1 (one query in flight: the serial baseline).

The critical path is the longest chain of queries that *depend* on each other's answers in this data; no
amount of concurrency can go below it. It is stated from the data below (CHAINS), not measured:
a chain the code adds by waiting without need (asking B after A when B does not need A's answer) shows up as
a ratio above 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))  # servers/ and zones/, as tests/conftest.py does for the suite

from servers.dns import DnsServer  # noqa: E402
from zones.blocklists import catalogue_zones  # noqa: E402

from mxprobe import blocklists, scanner  # noqa: E402
from mxprobe.dns import Dns, Nameserver  # noqa: E402
from mxprobe.options import Options  # noqa: E402

DOMAIN = "bench.bl.test"
IP = "198.51.100.25"
HELO = f"mail.{DOMAIN}"

SENDER_ZONES = {
    f"{DOMAIN}.": f"""
@        MX   10 mx
@        TXT  "v=spf1 include:_spf1.{DOMAIN} -all"
_spf1    TXT  "v=spf1 include:_spf2.{DOMAIN} ~all"
_spf2    TXT  "v=spf1 ip4:{IP} -all"
_dmarc   TXT  "v=DMARC1; p=reject; rua=mailto:dmarc@{DOMAIN}"
_mta-sts TXT  "v=STSv1; id=20240101"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{DOMAIN}"
default._domainkey TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"
mx       A    {IP}
mail     A    {IP}
mail     TXT  "v=spf1 a -all"
""",
    "25.100.51.198.in-addr.arpa.": f"@ PTR {HELO}.",
}

# The dependency chains in the data above (hops = queries that each need the previous answer).
CHAINS = {
    "PTR of the IP -> TXT of the HELO name (its PTR) -> A of it (SPF of the HELO identity, `a`)": 3,
    "TXT of the domain -> include _spf1 -> include _spf2 (SPF of MAIL FROM)": 3,
    "PTR of the IP -> A/AAAA of the PTR name (fcrdns, helo)": 2,
    "PTR of the IP -> domain lists asked about the PTR/HELO name (dbl)": 2,
    "MX of the domain -> A/AAAA of the MX host (mx)": 2,
    "IP lists: the IP and both test points at once (dnsbl)": 1,
}


def serve(zones: dict[str, str], delay: float, conn: Connection) -> None:
    """The server process: serve until the parent closes the pipe."""
    with DnsServer(zones, delay=delay) as server:
        conn.send(server.port)
        with contextlib.suppress(EOFError):
            conn.recv()


class CountingDns(Dns):
    """The product's Dns, remembered so the benchmark can read `sent` after `scanner.run` returns."""

    last: Dns | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        CountingDns.last = self


async def probe(port: int, concurrency: int, timeout: float) -> tuple[float, int, Any]:
    options = Options(
        nameservers=[Nameserver("127.0.0.1", port)],
        concurrency=concurrency,
        timeout=timeout,
        query_timeout=5.0,
    )
    target = scanner.build_target(DOMAIN, ip=IP)
    started = time.perf_counter()
    report = await scanner.run(target, options)
    wall = time.perf_counter() - started
    assert CountingDns.last is not None
    return wall, CountingDns.last.sent, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.05, help="seconds added to every answer (0.05)")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of, after a warm-up (3)")
    parser.add_argument("--no-serial", action="store_true", help="skip the concurrency-1 baseline")
    parser.add_argument("--concurrency", type=int, default=Options().concurrency, help="queries in flight")
    args = parser.parse_args(argv)

    zones = {**catalogue_zones(), **SENDER_ZONES}
    lists = [z for z in blocklists.catalogue().zones if z.enabled and not z.key]
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(zones, args.delay, child), daemon=True)
    server.start()
    port = parent.recv()
    scanner.Dns = CountingDns  # type: ignore[misc]  # read Dns.sent of the run
    try:
        asyncio.run(probe(port, args.concurrency, 15.0))  # warm-up: imports (checkdmarc ...) are not DNS time
        runs = [asyncio.run(probe(port, args.concurrency, 15.0)) for _ in range(max(1, args.runs))]
        serial = None if args.no_serial else asyncio.run(probe(port, 1, 300.0))
    finally:
        parent.close()
        server.join(10)

    hops = max(CHAINS.values())
    critical = hops * args.delay
    wall, sent, report = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run
    print(f"full probe of {DOMAIN} / {IP}: {len(report.checks)} checks, {len(lists)} blocklists enabled")
    kinds = [z.kind for z in lists]
    print(f"  ip lists {kinds.count('ip')}, domain lists {kinds.count('domain')}")
    print(f"answer delay          {args.delay * 1000:.0f} ms per query, {args.concurrency} queries in flight")
    each = [round(r[0] * 1000) for r in runs]
    print(f"wall time (median)    {wall * 1000:.0f} ms over {len(runs)} runs: {each}")
    print(f"queries sent          {sent}")
    print(f"critical path         {hops} hops x {args.delay * 1000:.0f} ms = {critical * 1000:.0f} ms")
    for chain, length in sorted(CHAINS.items(), key=lambda c: -c[1]):
        print(f"  {length}  {chain}")
    print(f"ratio wall/critical   {wall / critical:.2f}  (target <= 1.3)")
    print("slowest checks (status, ms):")
    for check in sorted(report.checks, key=lambda c: -c.elapsed_ms)[:6]:
        print(f"  {check.id:12} {check.status.value:6} {check.elapsed_ms:7.0f}  {check.summary[:70]}")
    if serial is not None:
        print(f"serial (concurrency 1) {serial[0] * 1000:.0f} ms, {serial[1]} queries")
        print(f"speed-up over serial  {serial[0] / wall:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
