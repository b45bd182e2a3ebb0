"""Benchmark of a full probe (every check, every enabled blocklist), run on demand:

    .venv/bin/python tests/bench/bench_probe.py [--delay 0.05] [--also-delay 0.1] [--runs 3] [--no-serial]

A loopback DNS server in its own process (so it does not share the probe's GIL) answers every query after
`--delay` seconds, like a resolver 50 ms away. It serves a sending domain whose data makes every check do
its real work (SPF includes, HELO SPF, MX, DMARC ...) and a zone for every enabled list of checks/dnsbl.toml
(test points healthy, the probe IP listed nowhere). The probe is `mxprobe.scanner.run`, as the CLI runs it.

Printed: wall time and the probe's CPU time, queries sent (`Dns.sent`), the critical path, their ratio (target
<= 1.3), the slowest checks, the ratio again with `--also-delay` (0.1 s: real resolvers are slower than
loopback), and the same probe with concurrency 1 (one query in flight: the serial baseline).

The CPU time is a floor no concurrency lowers (dnspython builds and parses every message in Python, about
half a millisecond a query here): with a short delay it weighs on the ratio, with a longer one it hides
behind the waiting, so the second ratio shows what the code's own chains cost.

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
from collections.abc import Iterator
from dataclasses import dataclass
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

# The dependency chains in the data above (hops = queries that each need the previous answer). Queries a check
# can ask without an earlier answer (checkdmarc's SPF-type and CNAME queries, a DMARC tree walk, a DNSBL's
# test points, whose TXT is never asked) add no hop.
CHAINS = {
    "PTR of the IP -> TXT of the HELO name (its PTR) -> A of it (SPF of the HELO identity, `a`)": 3,
    "TXT of the domain -> include _spf1 -> include _spf2 (SPF of MAIL FROM, spf-record)": 3,
    "PTR of the IP -> A/AAAA of the PTR name (fcrdns, helo)": 2,
    "PTR of the IP -> domain lists asked about the PTR/HELO name, with their test points (dbl)": 2,
    "MX of the domain -> A/AAAA of the MX host (mx)": 2,
    "SOA of the domain -> DS and DNSKEY of its zone (dnssec)": 2,
    "IP lists: the IP and both test points at once (dnsbl)": 1,
    "DKIM selectors, the _dmarc tree walk, MTA-STS and TLS-RPT records (dkim, dmarc, mta-sts, tls-rpt)": 1,
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


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # seconds of this process (the event loop and the checkdmarc/pyspf worker threads)
    sent: int
    report: Any


async def probe(port: int, concurrency: int, timeout: float) -> Run:
    options = Options(
        nameservers=[Nameserver("127.0.0.1", port)],
        concurrency=concurrency,
        timeout=timeout,
        query_timeout=5.0,
    )
    target = scanner.build_target(DOMAIN, ip=IP)
    started, cpu = time.perf_counter(), time.process_time()
    report = await scanner.run(target, options)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert CountingDns.last is not None
    return Run(wall, cpu, CountingDns.last.sent, report)


@contextlib.contextmanager
def server(zones: dict[str, str], delay: float) -> Iterator[int]:
    """A DNS server process answering after `delay` seconds; yields its port."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(zones, delay, child), daemon=True)
    process.start()
    try:
        yield parent.recv()
    finally:
        parent.close()
        process.join(10)


def median(port: int, concurrency: int, runs: int) -> tuple[Run, list[Run]]:
    """The median of `runs` probes, after a warm-up (imports such as checkdmarc's are not DNS time)."""
    asyncio.run(probe(port, concurrency, 15.0))
    done = [asyncio.run(probe(port, concurrency, 15.0)) for _ in range(max(1, runs))]
    return sorted(done, key=lambda r: r.wall)[len(done) // 2], done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.05, help="seconds added to every answer (0.05)")
    parser.add_argument(
        "--also-delay", type=float, default=0.1, help="print the ratio at this delay too (0.1; 0: skip)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of, after a warm-up (3)")
    parser.add_argument("--no-serial", action="store_true", help="skip the concurrency-1 baseline")
    parser.add_argument("--concurrency", type=int, default=Options().concurrency, help="queries in flight")
    args = parser.parse_args(argv)

    zones = {**catalogue_zones(), **SENDER_ZONES}
    lists = [z for z in blocklists.catalogue().zones if z.enabled and not z.key]
    scanner.Dns = CountingDns  # type: ignore[attr-defined]  # read Dns.sent of the run
    with server(zones, args.delay) as port:
        run, runs = median(port, args.concurrency, args.runs)
        serial = None if args.no_serial else asyncio.run(probe(port, 1, 300.0))
    also = None
    if args.also_delay > 0:
        with server(zones, args.also_delay) as port:
            also, _ = median(port, args.concurrency, args.runs)

    hops = max(CHAINS.values())
    critical = hops * args.delay
    report = run.report
    print(f"full probe of {DOMAIN} / {IP}: {len(report.checks)} checks, {len(lists)} blocklists enabled")
    kinds = [z.kind for z in lists]
    print(f"  ip lists {kinds.count('ip')}, domain lists {kinds.count('domain')}")
    print(f"answer delay          {args.delay * 1000:.0f} ms per query, {args.concurrency} queries in flight")
    each = [round(r.wall * 1000) for r in runs]
    cpu = f"CPU {run.cpu * 1000:.0f} ms ({run.cpu / max(run.sent, 1) * 1000:.2f} ms a query)"
    print(f"wall time (median)    {run.wall * 1000:.0f} ms over {len(runs)} runs: {each}; {cpu}")
    print(f"queries sent          {run.sent}")
    print(f"critical path         {hops} hops x {args.delay * 1000:.0f} ms = {critical * 1000:.0f} ms")
    for chain, length in sorted(CHAINS.items(), key=lambda c: -c[1]):
        print(f"  {length}  {chain}")
    print(f"ratio wall/critical   {run.wall / critical:.2f}  (target <= 1.3)")
    if also is not None:
        slow = hops * args.also_delay
        print(
            f"  at {args.also_delay * 1000:.0f} ms a query  {also.wall / slow:.2f}  "
            f"(wall {also.wall * 1000:.0f} ms, critical path {slow * 1000:.0f} ms)"
        )
    print("slowest checks (status, ms):")
    for check in sorted(report.checks, key=lambda c: -c.elapsed_ms)[:6]:
        print(f"  {check.id:12} {check.status.value:6} {check.elapsed_ms:7.0f}  {check.summary[:70]}")
    if serial is not None:
        print(f"serial (concurrency 1) {serial.wall * 1000:.0f} ms, {serial.sent} queries")
        print(f"speed-up over serial  {serial.wall / run.wall:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
