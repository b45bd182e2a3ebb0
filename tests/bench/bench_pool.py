"""Benchmark of pool mode: a /24 of sending IPs against every enabled blocklist, on the loopback DNS server.

Run on demand: `.venv/bin/python tests/bench/bench_pool.py [--prefix 24] [--rate 0]`. The server runs in its
own process (with no added delay), so the figure is the client's: DNS queries per second sent and answered
by one mxprobe process (target >= 2,000 q/s on one core), with peak memory to show it stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import resource
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "zones"))

from blocklists import catalogue_zones
from servers.dns import DnsServer

from mxprobe import blocklists
from mxprobe.dns import Nameserver
from mxprobe.options import Options
from mxprobe.pool import POOL_CHECKS, PoolSummary, probe_pool

NETWORK = "198.18.0"  # RFC 2544 benchmarking space: no test zone uses it


def pool_zones() -> dict[str, str]:
    """PTRs with forward confirmation for every address, so ptr/fcrdns/helo do their full work."""
    reverse = "\n".join(f"{i} PTR mta{i}.pool.bench." for i in range(256))
    forward = "\n".join(f"mta{i} A {NETWORK}.{i}" for i in range(256))
    return {"0.18.198.in-addr.arpa.": reverse, "pool.bench.": forward}


def serve(zones: dict[str, str], conn: Connection) -> None:
    """The server process: report the port, then the number of queries seen whenever asked."""
    with DnsServer(zones) as server:
        conn.send(server.port)
        with contextlib.suppress(EOFError):
            while conn.recv() == "count":
                conn.send(len(server.queries))


async def run_pool(port: int, addresses: list[str], rate: float, concurrency: int) -> PoolSummary:
    options = Options(nameservers=[Nameserver("127.0.0.1", port)], rate=rate, concurrency=concurrency)
    summary = PoolSummary()
    async for report in probe_pool(addresses, None, options):
        summary.add(report)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", type=int, default=24, help="pool size as a prefix length (24)")
    parser.add_argument("--rate", type=float, default=0.0, help="queries per second cap (0: none)")
    parser.add_argument(
        "--concurrency", type=int, default=100, help="queries in flight (100, the CLI default)"
    )
    args = parser.parse_args(argv)

    zones = {**catalogue_zones(), **pool_zones()}
    lists = [z for z in blocklists.catalogue().zones if z.enabled and not z.key and z.kind == "ip"]
    count = 2 ** (32 - args.prefix)
    addresses = [f"{NETWORK}.{i}" for i in range(count)] if count <= 256 else []
    if not addresses:
        parser.error("--prefix must be 24 or longer for this benchmark's zones")

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(zones, child), daemon=True)
    server.start()
    port = parent.recv()
    try:
        asyncio.run(run_pool(port, addresses[:2], args.rate, args.concurrency))  # warm-up (imports)
        parent.send("count")
        before = parent.recv()
        started, cpu = time.perf_counter(), time.process_time()
        summary = asyncio.run(run_pool(port, addresses, args.rate, args.concurrency))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        parent.send("count")
        queries = parent.recv() - before
    finally:
        parent.send("stop")
        parent.close()
        server.join(10)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"pool                 {NETWORK}.0/{args.prefix}: {len(addresses)} IPs x {len(lists)} IP blocklists"
    )
    print(f"checks per IP        {', '.join(POOL_CHECKS)}")
    print(f"wall time            {wall:.2f} s ({len(addresses) / wall:.0f} IPs/s)")
    per_ip = queries / len(addresses)
    print(f"queries answered     {queries} ({per_ip:.0f} per IP; canaries asked once per pool)")
    print(f"queries per second   {queries / wall:.0f}  (target >= 2000 on one core)")
    print(f"client CPU           {cpu:.2f} s ({cpu / queries * 1e6:.0f} us per query)")
    print(f"peak memory (RSS)    {peak:.0f} MiB")
    print(f"verdicts             {dict(summary.verdicts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
