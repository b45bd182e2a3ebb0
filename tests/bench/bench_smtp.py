"""Benchmark of a full probe *with* the SMTP handshake, run on demand:

    .venv/bin/python tests/bench/bench_smtp.py [--delay 0.05] [--runs 3]

The DNS side is bench_probe.py's (same zones, every check and every enabled blocklist, the server in its own
process); a recipient domain is added whose MX is a Postfix-like SMTP server (it offers PIPELINING), also in
its own process, whose replies reach the client `--delay` seconds after it writes them (a network path: the
replies to commands sent in one write all arrive one delay later). The probe is `mxprobe.scanner.run`, as the
CLI runs it.

The handshake runs alongside the DNS checks, so the critical path is the longer of two chains:
- the DNS checks' longest dependent chain (bench_probe.CHAINS);
- the handshake's own dialogue: the recipient's MX, the MX host's address, then one delay per round trip of
  the dialogue as it ran (banner, EHLO, then MAIL + RCPT + QUIT in one write with PIPELINING); the PTR of
  the IP (the default HELO name) is asked meanwhile.
Printed, measured side by side in one run: the probe's wall time against that critical path (ratio; target
<= 1.3, exit status 1 above it), the handshake alone against its dialogue's chain, and the dialogue's steps
with their times (each from its command's write to its reply's read).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_probe, next to this file

import bench_probe
from servers.smtp import postfix_like
from zones.blocklists import catalogue_zones

import mxprobe.smtp
from mxprobe import scanner
from mxprobe.dns import Nameserver
from mxprobe.options import Options
from mxprobe.smtp import SmtpResult

RECIPIENT = "user@rcpt.bench.example"
RECIPIENT_ZONE = {"rcpt.bench.example.": "@ MX 10 mx\nmx A 127.0.0.1"}
TARGET = 1.3
DNS_BEFORE_DIALOGUE = 2  # MX of the recipient domain, then A/AAAA of the MX host (the HELO's PTR runs beside)


def serve_smtp(delay: float, conn: Connection) -> None:
    """The SMTP server process: serve until the parent closes the pipe."""
    with postfix_like(latency=delay) as server:
        conn.send(server.port)
        with contextlib.suppress(EOFError):
            conn.recv()


class Timed:
    """The product's handshake, timed from its start (after the scanner's preparation) to its end."""

    elapsed = 0.0

    def __init__(self, handshake: Callable[[Any], Awaitable[SmtpResult]]) -> None:
        self.handshake = handshake

    async def __call__(self, ctx: Any) -> SmtpResult:
        started = time.perf_counter()
        try:
            return await self.handshake(ctx)
        finally:
            Timed.elapsed = time.perf_counter() - started


async def probe(
    dns_port: int, smtp_port: int, concurrency: int, only: list[str], handshake: bool = True
) -> tuple[float, float, Any]:
    nameservers = [Nameserver("127.0.0.1", dns_port)]
    options = Options(
        nameservers=nameservers, concurrency=concurrency, only=only, timeout=15.0, port=smtp_port
    )
    to = [RECIPIENT] if handshake else []
    target = scanner.build_target(bench_probe.DOMAIN, ip=bench_probe.IP, to=to, port=smtp_port)
    started = time.perf_counter()
    report = await scanner.run(target, options)
    return time.perf_counter() - started, Timed.elapsed, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.05, help="seconds added to every answer and reply")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of, after a warm-up (3)")
    parser.add_argument("--concurrency", type=int, default=100, help="DNS queries in flight (100)")
    parser.add_argument("--check", action="append", default=[], help="run only this check (repeatable)")
    args = parser.parse_args(argv)

    zones = {**catalogue_zones(), **bench_probe.SENDER_ZONES, **RECIPIENT_ZONE}
    context = multiprocessing.get_context("spawn")
    pipes, servers = [], []
    for target, extra in ((bench_probe.serve, (zones,)), (serve_smtp, ())):
        parent, child = context.Pipe()
        process = context.Process(target=target, args=(*extra, args.delay, child), daemon=True)
        process.start()
        pipes.append(parent)
        servers.append(process)
    dns_port, smtp_port = (pipe.recv() for pipe in pipes)
    mxprobe.smtp.handshake = Timed(mxprobe.smtp.handshake)
    try:
        ports = (dns_port, smtp_port, args.concurrency, args.check)
        asyncio.run(probe(*ports))  # warm-up: imports and the catalogue are not network time
        runs = [asyncio.run(probe(*ports)) for _ in range(max(1, args.runs))]
        alone = [asyncio.run(probe(*ports, handshake=False)) for _ in range(max(1, args.runs))]
    finally:
        for pipe in pipes:
            pipe.close()
        for process in servers:
            process.join(10)

    wall, took, report = median(runs)
    dns_wall = median(alone)[0]
    smtp = report.smtp
    assert isinstance(smtp, SmtpResult), "the probe ran no handshake"
    trips = round_trips(smtp)
    dns_hops = max(bench_probe.CHAINS.values())
    smtp_chain = (DNS_BEFORE_DIALOGUE + trips) * args.delay
    critical = max(dns_hops * args.delay, smtp_chain)
    ms = [round(r[0] * 1000) for r in runs]
    print(f"full probe of {bench_probe.DOMAIN} / {bench_probe.IP} with a handshake to {RECIPIENT}")
    print(f"delay                   {args.delay * 1000:.0f} ms per DNS answer and per SMTP reply")
    print(f"wall time (median)      {wall * 1000:.0f} ms over {len(runs)} runs: {ms}")
    print(f"DNS checks' chain       {dns_hops} hops = {dns_hops * args.delay * 1000:.0f} ms")
    chain = f"{DNS_BEFORE_DIALOGUE} DNS + {trips} round trips = {smtp_chain * 1000:.0f} ms"
    print(f"handshake's chain       {chain}")
    print(f"critical path           {critical * 1000:.0f} ms")
    print(f"ratio wall/critical     {wall / critical:.2f}  (target <= {TARGET})")
    added = (wall - dns_wall) * 1000
    print(f"no handshake (median)   {dns_wall * 1000:.0f} ms: the handshake adds {added:.0f} ms to the wall")
    own = smtp_chain
    print(f"handshake alone         {took * 1000:.0f} ms, {took / own:.2f} x its chain ({own * 1000:.0f} ms)")
    print(f"outcome                 {smtp.outcome}; {len(report.checks)} checks")
    for s in smtp.steps:
        print(f"  {s.step:9} {s.elapsed_ms:6.0f} ms  {s.command or ''} -> {s.code}")
    return 0 if wall / critical <= TARGET else 1


def round_trips(smtp: SmtpResult) -> int:
    """The dialogue's round trips as it ran: one per reply, except that the replies to a pipelined group
    (MAIL, RCPT..., QUIT written at once when the server offers PIPELINING) share one."""
    group = ("mail", "rcpt", "relay-test", "quit")
    replied = [s for s in smtp.steps if s.code is not None]
    pipelined = "PIPELINING" in smtp.extensions
    alone = [s for s in replied if not (pipelined and s.step in group)]
    return len(alone) + (1 if pipelined and any(s.step in group for s in replied) else 0)


def median(runs: list[tuple[float, float, Any]]) -> tuple[float, float, Any]:
    return sorted(runs, key=lambda r: r[0])[len(runs) // 2]


if __name__ == "__main__":
    sys.exit(main())
