"""Benchmark of pool mode: a /24 of sending IPs against every enabled blocklist, on the loopback DNS server,
side by side with dnspython's own query loop sending as many queries to the same server.

Run on demand: `.venv/bin/python tests/bench/bench_pool.py [--prefix 24] [--rate 0] [--repeat 3]`.

The server runs in its own process (no added delay). Each side is a whole process, timed from start to exit
by the parent (imports included), the median of `--repeat` runs, alternating:

- pool: `probe_pool` over the addresses (ptr, fcrdns, helo and dnsbl for each), through mxprobe's DNS layer;
- dnspython: a bare `dns.asyncquery.udp` loop with 100 queries in flight, asking the blocklist names of
  the same addresses until it has sent as many queries as the pool did.

Printed: queries per second of each (counted by the server), the ratio pool / dnspython (target >= 1.0),
each side's CPU per query (and queries per CPU second: what one core gives even when other processes share
the machine), the pool's peak memory (flat in the pool size). Target: >= 3,000 queries/s on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import resource
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

NETWORK = "198.18.0"  # RFC 2544 benchmarking space: no test zone uses it
IN_FLIGHT = 100  # the dnspython loop's queries in flight, and the pool's --concurrency


def pool_zones() -> dict[str, str]:
    """PTRs with forward confirmation for every address, so ptr/fcrdns/helo do their full work."""
    reverse = "\n".join(f"{i} PTR mta{i}.pool.bench." for i in range(256))
    forward = "\n".join(f"mta{i} A {NETWORK}.{i}" for i in range(256))
    return {"0.18.198.in-addr.arpa.": reverse, "pool.bench.": forward}


def ip_lists() -> list[str]:
    from mxprobe import blocklists

    return [z.zone for z in blocklists.catalogue().zones if z.enabled and not z.key and z.kind == "ip"]


def serve(conn: Connection) -> None:
    """The server process: report the port, then the number of queries seen whenever asked."""
    from servers.dns import DnsServer
    from zones.blocklists import catalogue_zones

    with DnsServer({**catalogue_zones(), **pool_zones()}) as server:
        conn.send(server.port)
        with contextlib.suppress(EOFError):
            while conn.recv() == "count":
                conn.send(len(server.queries))


async def pool_child(port: int, addresses: list[str], rate: float) -> dict[str, object]:
    from mxprobe.dns import Nameserver
    from mxprobe.options import Options
    from mxprobe.pool import probe_pool

    options = Options(nameservers=[Nameserver("127.0.0.1", port)], rate=rate, concurrency=IN_FLIGHT)
    verdicts: dict[str, int] = {}
    async for report in probe_pool(addresses, None, options):
        verdicts[report.verdict] = verdicts.get(report.verdict, 0) + 1
    return {"verdicts": verdicts}


async def dnspython_child(port: int, addresses: list[str], count: int) -> dict[str, object]:
    import dns.asyncquery
    import dns.message

    reversed_ips = [".".join(reversed(ip.split("."))) for ip in addresses]
    names = [f"{ip}.{zone}" for zone in ip_lists() for ip in reversed_ips]
    slots = asyncio.Semaphore(IN_FLIGHT)
    rcodes: dict[int, int] = {}

    async def ask(name: str) -> None:
        async with slots:
            response = await dns.asyncquery.udp(dns.message.make_query(name, "A"), "127.0.0.1", 2.0, port)
            rcodes[response.rcode()] = rcodes.get(response.rcode(), 0) + 1

    await asyncio.gather(*(ask(names[i % len(names)]) for i in range(count)))
    return {"rcodes": rcodes}


def child(args: argparse.Namespace, addresses: list[str]) -> int:
    cpu = time.process_time()
    if args.child == "pool":
        result = asyncio.run(pool_child(args.port, addresses, args.rate))
    else:
        result = asyncio.run(dnspython_child(args.port, addresses, args.count))
    result["cpu"] = time.process_time() - cpu
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return 0


def timed(conn: Connection, command: list[str]) -> tuple[float, int, dict[str, object]]:
    """Wall time of the whole child process, the queries the server saw meanwhile, and what it printed."""
    conn.send("count")
    before = conn.recv()
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    conn.send("count")
    return wall, conn.recv() - before, json.loads(out.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", type=int, default=24, help="pool size as a prefix length (24)")
    parser.add_argument("--rate", type=float, default=0.0, help="queries per second cap (0: none)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the median is shown")
    parser.add_argument("--child", choices=["pool", "dnspython"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 24 <= args.prefix <= 32:
        parser.error("--prefix must be 24 or longer for this benchmark's zones")
    addresses = [f"{NETWORK}.{i}" for i in range(2 ** (32 - args.prefix))]
    if args.child:
        return child(args, addresses)

    context = multiprocessing.get_context("spawn")
    conn, server_end = context.Pipe()
    server = context.Process(target=serve, args=(server_end,), daemon=True)
    server.start()
    port = conn.recv()
    me = [sys.executable, __file__, "--prefix", str(args.prefix), "--port", str(port)]
    pools: list[tuple[float, int, dict[str, object]]] = []
    loops: list[tuple[float, int, dict[str, object]]] = []
    try:
        for _ in range(args.repeat):
            pools.append(timed(conn, [*me, "--child", "pool", "--rate", str(args.rate)]))
            count = str(pools[-1][1])
            loops.append(timed(conn, [*me, "--child", "dnspython", "--count", count]))
    finally:
        conn.send("stop")
        conn.close()
        server.join(10)
    report(args.prefix, len(addresses), pools, loops)
    return 0


def report(
    prefix: int,
    ips: int,
    pools: list[tuple[float, int, dict[str, object]]],
    loops: list[tuple[float, int, dict[str, object]]],
) -> None:
    pool = sorted(pools, key=lambda run: run[1] / run[0])[len(pools) // 2]
    loop = sorted(loops, key=lambda run: run[1] / run[0])[len(loops) // 2]
    pool_qps, loop_qps = pool[1] / pool[0], loop[1] / loop[0]
    cpu = float(pool[2]["cpu"])  # type: ignore[arg-type]
    loop_cpu = float(loop[2]["cpu"])  # type: ignore[arg-type]
    print(f"pool                 {NETWORK}.0/{prefix}: {ips} IPs x {len(ip_lists())} IP blocklists")
    print(
        f"pool process         {pool[0]:.2f} s, {pool[1]} queries: {pool_qps:.0f} queries/s (target >= 3000)"
    )
    print(f"  client CPU         {cpu:.2f} s ({cpu / pool[1] * 1e6:.0f} us per query, imports included)")
    print(f"  peak memory (RSS)  {pool[2]['rss_mib']:.0f} MiB")
    print(f"  verdicts           {pool[2]['verdicts']}")
    print(f"dnspython process    {loop[0]:.2f} s, {loop[1]} queries: {loop_qps:.0f} queries/s")
    print(f"  (dns.asyncquery.udp, {IN_FLIGHT} in flight; rcodes {loop[2]['rcodes']})")
    print(
        f"  client CPU         {loop_cpu:.2f} s ({loop_cpu / loop[1] * 1e6:.0f} us per query, with imports)"
    )
    print(
        f"ratio pool/dnspython {pool_qps / loop_qps:.2f}x  (target >= 1.0; median of {len(pools)} runs each)"
    )
    print(
        f"per CPU second       pool {pool[1] / cpu:.0f} q/s, dnspython {loop[1] / loop_cpu:.0f} q/s: "
        f"{pool[1] / cpu / (loop[1] / loop_cpu):.2f}x (what one core gives, on a machine shared with others)"
    )
    rates = [round(r[1] / r[0]) for r in pools], [round(r[1] / r[0]) for r in loops]
    print(f"all runs (q/s)       pool {rates[0]}, dnspython {rates[1]}")


if __name__ == "__main__":
    sys.exit(main())
