"""Sending-IP pools: the IP checks for every address of a CIDR or a file, before the IPs go into service.

Memory stays flat in the number of IPs: at most `workers` probes are alive at once and each probe's DNS cache
dies with it (the input, at most a /20, is validated whole before the first query). Target-independent
answers (DNSBL canaries) are asked once for the whole pool through a parent cache, and one limiter bounds
queries in flight (`--concurrency`) and per second (`--rate`, to respect DNSBL usage terms) across all IPs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mxprobe import target as validate
from mxprobe.dns import Deadline, Dns, Limiter
from mxprobe.errors import ExitCode, InputError
from mxprobe.model import Status
from mxprobe.options import Options
from mxprobe.render import clean
from mxprobe.report import Report

if TYPE_CHECKING:
    from rich.progress import Progress

MAX_ADDRESSES = 4096  # a /20 of IPv4; the same count for IPv6 (a /116)
POOL_CHECKS = ("ptr", "fcrdns", "helo", "dnsbl")


def _network(text: str, where: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    validate.reject_controls(where, text)
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InputError(f"invalid {where}: {text.strip()[:60]!r} is not an IP address or CIDR") from None
    if net.num_addresses > MAX_ADDRESSES:
        raise InputError(
            f"{where}: {net} has {net.num_addresses} addresses; the limit is {MAX_ADDRESSES} (a /20)"
        )
    return net


def _hosts(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Iterator[str]:
    # Every address of a range may send mail (a /24 pool uses .0 and .255 too on point-to-point setups), but
    # the network and broadcast addresses of a larger IPv4 block are skipped as `hosts()` does.
    addresses = net.hosts() if net.version == 4 and net.prefixlen < 31 else iter(net)
    for address in addresses:
        yield str(address)


@dataclass
class PoolInput:
    """Addresses read from `--ip` or `--ip-file`; junk lines are counted and reported, not fatal."""

    skipped: list[str] = field(default_factory=list)
    total: int = 0

    def read(self, ip: str | None, ip_file: Path | None) -> Iterator[str]:
        if ip is not None:
            yield from self._count(_hosts(_network(ip, "--ip")))
        if ip_file is not None:
            yield from self._count(self._lines(ip_file))

    def _count(self, addresses: Iterable[str]) -> Iterator[str]:
        for address in addresses:
            self.total += 1
            if self.total > MAX_ADDRESSES:
                raise InputError(f"more than {MAX_ADDRESSES} addresses in the pool (a /20): split the input")
            yield address

    def _lines(self, path: Path) -> Iterator[str]:
        try:
            handle = path.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"cannot read --ip-file {path}: {exc.strerror}") from None
        with handle:
            for number, line in enumerate(handle, 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                try:
                    net = _network(text[:100], f"--ip-file line {number}")
                except InputError as exc:
                    if "limit is" in str(exc):
                        raise
                    self.skipped.append(f"line {number}: {text[:60]!r}")
                    continue
                yield from _hosts(net)


async def probe_pool(
    addresses: Iterable[str], mail_from: str | None, options: Options, workers: int = 32
) -> AsyncIterator[Report]:
    """Yield one Report per address as results arrive (not in input order)."""
    from mxprobe.scanner import build_target, run

    limiter = Limiter(options.concurrency, options.rate)
    parent = Dns(
        options.nameservers or None,
        deadline=Deadline(24 * 3600),
        query_timeout=options.query_timeout,
        limiter=limiter,
    )
    checks = [*POOL_CHECKS, "spf"] if mail_from else list(POOL_CHECKS)
    probe_options = Options(**{**options.__dict__, "only": options.only or checks})
    domain = validate.domain_of(mail_from) if mail_from else None
    pending: set[asyncio.Task[Report]] = set()
    iterator = iter(addresses)
    exhausted = False
    while True:
        while not exhausted and len(pending) < workers:
            address = next(iterator, None)
            if address is None:
                exhausted = True
                break
            target = build_target(domain, ip=address, mail_from=mail_from)
            target.ip_source = "pool"
            pending.add(asyncio.ensure_future(run(target, probe_options, limiter=limiter, parent=parent)))
        if not pending:
            return
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            yield task.result()


@dataclass
class PoolSummary:
    """Counts per check and status, and the failing addresses grouped by what failed."""

    ips: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    per_check: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, report: Report) -> None:
        self.ips += 1
        self.verdicts[report.verdict] += 1
        ip = report.target.ip or ""
        for check in report.checks:
            self.per_check[check.id][check.status.value] += 1
            if check.status in (Status.FAIL, Status.ERROR):
                reason = check.summary.replace(ip, "<ip>")
                self.failures[(check.id, reason)].append(ip)

    @property
    def exit_code(self) -> ExitCode:
        if self.verdicts["fail"]:
            return ExitCode.FAILED
        if self.verdicts["inconclusive"]:
            return ExitCode.INCONCLUSIVE
        return ExitCode.OK


def run_pool_command(
    ip: str | None, ip_file: Path | None, mail_from: str | None, options: Options, as_json: bool
) -> int:
    """`mxprobe --ip CIDR` / `--ip-file FILE`: JSON Lines as results arrive, or progress and a summary."""
    if mail_from is not None:
        mail_from = validate.address(mail_from, "MAIL FROM")
    pool = PoolInput()
    listed = list(pool.read(ip, ip_file))  # validates the whole input before any query is sent
    addresses = list(dict.fromkeys(listed))  # an address given twice is checked once
    if not addresses:
        raise InputError("the pool holds no address")
    if len(addresses) < len(listed):
        print(f"mxprobe: {len(listed) - len(addresses)} repeated addresses checked once", file=sys.stderr)
    summary = PoolSummary()

    async def consume() -> None:
        progress = _progress(len(addresses)) if not as_json and sys.stderr.isatty() else None
        task = progress.task_ids[0] if progress is not None else None
        async for report in probe_pool(addresses, mail_from, options):
            summary.add(report)
            if as_json:
                sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
                sys.stdout.flush()
            if progress is not None and task is not None:
                progress.advance(task)
        if progress is not None:
            progress.stop()

    asyncio.run(consume())
    for line in pool.skipped:
        print(f"mxprobe: skipped {line}: not an IP address or CIDR", file=sys.stderr)
    if not as_json:
        _render_summary(summary, len(pool.skipped))
    return int(summary.exit_code)


def _progress(total: int) -> Progress:
    from rich.progress import Progress

    progress = Progress(transient=True)
    progress.add_task("checking IPs", total=total)
    progress.start()
    return progress


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _render_summary(summary: PoolSummary, skipped: int) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    title = f"{_count(summary.ips, 'IP')} checked" + (
        f", {_count(skipped, 'line')} skipped" if skipped else ""
    )
    table = Table(title=title)
    table.add_column("check")
    for status in Status:
        table.add_column(status.value, justify="right")
    for check_id, counts in summary.per_check.items():
        table.add_row(check_id, *(str(counts.get(s.value, 0)) for s in Status))
    console.print(table)
    for (check_id, reason), ips in sorted(summary.failures.items(), key=lambda kv: -len(kv[1])):
        ordered = sorted(ips, key=ipaddress.ip_address)
        shown = ", ".join(ordered[:8]) + (f" and {len(ips) - 8} more" if len(ips) > 8 else "")
        console.print(Text(clean(f"{check_id}: {reason} — {_count(len(ips), 'IP')}: {shown}")))
    verdicts = ", ".join(f"{n} {v}" for v, n in summary.verdicts.most_common())
    console.print(Text(f"verdicts: {verdicts}", style="bold"))
