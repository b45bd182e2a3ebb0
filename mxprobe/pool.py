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
from mxprobe.render import clean, console, stdout_may_close
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


def _ends_skipped(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """The network and broadcast addresses of an IPv4 block above a /31 are not probed (as `hosts()`)."""
    return net.version == 4 and net.prefixlen < 31


def _hosts(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Iterator[str]:
    for address in net.hosts() if _ends_skipped(net) else iter(net):
        yield str(address)


def _ip_order(address: str) -> tuple[int, int]:
    """Sort key for a mixed IPv4/IPv6 list (ipaddress refuses to compare across versions)."""
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


@dataclass
class PoolInput:
    """Addresses read from `--ip` or `--ip-file`; junk lines are counted and reported, not fatal."""

    skipped: list[str] = field(default_factory=list)
    total: int = 0
    ends_skipped: bool = False  # a CIDR's network/broadcast addresses were left out

    def read(self, ips: Iterable[str], ip_file: Path | None) -> Iterator[str]:
        for ip in ips:
            net = _network(ip, "--ip")
            self.ends_skipped |= _ends_skipped(net)
            yield from self._count(_hosts(net))
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
                self.ends_skipped |= _ends_skipped(net)
                yield from _hosts(net)


WORKERS = 32  # probes alive at once


def pool_options(options: Options, mail_from: str | None) -> Options:
    """A pool's per-IP options: the IP checks (spf too with a MAIL FROM). Under a --rate cap each IP's
    deadline covers its own queries at that rate, since they wait in the shared queue, not on the network."""
    checks = [*POOL_CHECKS, "spf"] if mail_from else list(POOL_CHECKS)
    probe = Options(**{**options.__dict__, "only": options.only or checks})
    if probe.rate:
        probe.timeout = max(probe.timeout, 2 * _queries_per_ip(probe) / probe.rate)
    return probe


def _queries_per_ip(options: Options) -> int:
    """About how many queries one IP costs: its PTR chain, plus one per IP blocklist."""
    from mxprobe import blocklists

    zones = len(blocklists.selected_zones("ip", options)[0]) if "dnsbl" in options.only else 0
    return 6 + zones


def _workers(options: Options) -> int:
    """Probes alive at once: under a --rate cap, only as many as the rate can serve within their deadline."""
    if not options.rate:
        return WORKERS
    per_ip = _queries_per_ip(options)
    return max(1, min(WORKERS, int(options.rate * options.timeout / (2 * per_ip))))


async def probe_pool(
    addresses: Iterable[str], mail_from: str | None, options: Options
) -> AsyncIterator[Report]:
    """Yield one Report per address as results arrive (not in input order)."""
    from mxprobe.scanner import build_target, run

    probe_options = pool_options(options, mail_from)
    workers = _workers(probe_options)
    limiter = Limiter(options.concurrency, options.rate)
    parent = Dns(
        options.nameservers or None,
        deadline=Deadline(24 * 3600),
        query_timeout=options.query_timeout,
        limiter=limiter,
    )
    domain = validate.domain_of(mail_from) if mail_from else None
    try:
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
    finally:
        limiter.close()


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
    ips: list[str], ip_file: Path | None, mail_from: str | None, options: Options, as_json: bool
) -> int:
    """`mxprobe --ip CIDR` / `--ip-file FILE`: JSON Lines as results arrive, or progress and a summary."""
    from mxprobe.scanner import build_target, plan

    if mail_from is not None:
        mail_from = validate.address(mail_from, "MAIL FROM")
    pool = PoolInput()
    listed = list(pool.read(ips, ip_file))  # validates the whole input before any query is sent
    addresses = list(dict.fromkeys(listed))  # an address given twice is checked once
    if not addresses:
        raise InputError("the pool holds no address")
    # A --check that cannot run on a pool's IPs (dkim needs a domain) is refused here, not once per IP.
    sample = build_target(validate.domain_of(mail_from) if mail_from else None, ip=addresses[0])
    plan(sample, pool_options(options, mail_from))
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

    with stdout_may_close():
        asyncio.run(consume())
    for line in pool.skipped:
        print(f"mxprobe: skipped {line}: not an IP address or CIDR", file=sys.stderr)
    if pool.ends_skipped and not as_json:
        print("mxprobe: the network and broadcast addresses of each CIDR were not probed", file=sys.stderr)
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
    from rich.table import Table
    from rich.text import Text

    out = console(highlight=False, soft_wrap=True)
    title = f"{_count(summary.ips, 'IP')} checked" + (
        f", {_count(skipped, 'line')} skipped" if skipped else ""
    )
    table = Table(title=title)
    table.add_column("check")
    for status in Status:
        table.add_column(status.value, justify="right")
    for check_id, counts in summary.per_check.items():
        table.add_row(check_id, *(str(counts.get(s.value, 0)) for s in Status))
    out.print(table)
    for (check_id, reason), ips in sorted(summary.failures.items(), key=lambda kv: -len(kv[1])):
        ordered = sorted(ips, key=_ip_order)
        shown = ", ".join(ordered[:8]) + (f" and {len(ips) - 8} more" if len(ips) > 8 else "")
        out.print(Text(clean(f"{check_id}: {reason} — {_count(len(ips), 'IP')}: {shown}")))
    verdicts = ", ".join(f"{n} {v}" for v, n in summary.verdicts.most_common())
    out.print(Text(f"verdicts: {verdicts}", style="bold"))
