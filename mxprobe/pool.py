"""Sending-IP pools: the IP checks for every address of a CIDR or a file, before the IPs go into service.

This module decides and runs; it prints nothing (`mxprobe.commands.pool` runs it for the CLI, and
`mxprobe.render.pool` renders its results).

- Input: every address of each CIDR, the network and broadcast addresses included (in a routed block they
  send mail too, and lists list them: a /29 is 8 results). An `--ip-file` (CRLF, LF or CR line ends) is read
  with a bounded line length (a longer line, `/dev/zero` included, is refused at once) and validated whole
  before the first query: junk lines are skipped and reported, never discovered after work was done; more
  than a /20 is refused.
- Order: results come out in input order (JSON Lines, CSV), from a window of bounded size, so memory stays
  flat in the number of IPs: at most `workers` probes are alive at once and each probe's DNS cache dies with
  it. Target-independent answers (DNSBL test points) are asked once for the whole pool through a parent
  cache, and one limiter bounds queries in flight (`--concurrency`) and per second (`--rate`, for the lists'
  terms of use) across all IPs.
- Time: `--timeout` is each IP's deadline, rate cap or not. Under `--rate` only as many IPs run at once as
  the rate serves within that deadline; a rate too low for even one IP to finish in time is refused before
  any query (exit 2), rather than timing every IP out or silently stretching the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mxprobe import registry
from mxprobe import target as validate
from mxprobe.dns import Deadline, Dns, Limiter
from mxprobe.errors import ExitCode, InputError
from mxprobe.model import Status
from mxprobe.options import Options
from mxprobe.registry import CheckId
from mxprobe.report import Report

MAX_ADDRESSES = 4096  # a /20 of IPv4; the same count for IPv6 (a /116)
MAX_LINE = 1024  # bytes in one --ip-file line, its newline excluded
CHUNK = 64 * 1024  # bytes read at once from an --ip-file
_EOL = re.compile(rb"\r\n|\r|\n")
MAX_SKIPPED = 20  # junk lines named one by one; the rest are counted
WORKERS = 32  # probes alive at once
WINDOW = 4 * WORKERS  # results held back, at most, to keep the input order


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


@dataclass
class PoolInput:
    """Addresses read from `--ip` or `--ip-file`; junk lines are counted and reported, not fatal."""

    skipped: list[str] = field(default_factory=list)  # the first MAX_SKIPPED, as "line N: 'text'"
    skipped_count: int = 0
    total: int = 0

    def read(self, ips: Iterable[str], ip_file: Path | None) -> Iterator[str]:
        for ip in ips:
            yield from self._count(_network(ip, "--ip"))
        if ip_file is not None:
            yield from self._file(ip_file)

    def _count(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Iterator[str]:
        self.total += net.num_addresses
        if self.total > MAX_ADDRESSES:
            raise InputError(f"more than {MAX_ADDRESSES} addresses in the pool (a /20): split the input")
        return (str(address) for address in net)

    def _file(self, path: Path) -> Iterator[str]:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read --ip-file {path}: {exc.strerror}") from None
        with handle:
            for number, text in _lines(handle, path):
                try:
                    net = _network(text, f"--ip-file line {number}")
                except InputError as exc:
                    if "limit is" in str(exc):
                        raise
                    self.skipped_count += 1
                    if len(self.skipped) < MAX_SKIPPED:
                        self.skipped.append(f"line {number}: {text[:60]!r}")
                    continue
                yield from self._count(net)


def _lines(handle: BinaryIO, path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text without comment) of each non-empty line; CRLF, LF and CR alone end a line alike.
    A line over MAX_LINE bytes is refused as soon as it is seen, so at most a chunk and a line are held."""
    number, pending = 0, b""
    while chunk := _read(handle, path):
        data = pending + chunk
        at = 0
        end = len(data) - 1 if data.endswith(b"\r") else len(data)  # a CR at the end may start a CRLF
        for match in _EOL.finditer(data, 0, end):
            number += 1
            yield from _text(number, data[at : match.start()])
            at = match.end()
        pending = data[at:]
        if len(pending) > MAX_LINE:
            raise InputError(
                f"--ip-file line {number + 1} is longer than {MAX_LINE} bytes: not a list of IP addresses"
            )
    if pending:
        yield from _text(number + 1, pending.rstrip(b"\r"))


def _read(handle: BinaryIO, path: Path) -> bytes:
    try:
        return handle.read(CHUNK)
    except OSError as exc:
        raise InputError(f"cannot read --ip-file {path}: {exc.strerror}") from None


def _text(number: int, line: bytes) -> Iterator[tuple[int, str]]:
    if len(line) > MAX_LINE:
        raise InputError(
            f"--ip-file line {number} is longer than {MAX_LINE} bytes: not a list of IP addresses"
        )
    text = line.decode("utf-8", "replace").split("#", 1)[0].strip()
    if text:
        yield number, text


@dataclass
class PoolPlan:
    """A validated pool, ready to run: nothing of it was queried yet."""

    addresses: list[str]
    options: Options  # each IP's options (checks, deadline)
    workers: int
    mail_from: str | None
    repeated: int  # addresses given more than once, checked once
    input: PoolInput


def prepare(ips: Iterable[str], ip_file: Path | None, mail_from: str | None, options: Options) -> PoolPlan:
    """Read and validate the whole pool and its options; InputError (exit 2) before any query."""
    from mxprobe.scanner import build_target, plan

    if mail_from is not None:
        mail_from = validate.address(mail_from, "MAIL FROM")
    pool = PoolInput()
    listed = list(pool.read(ips, ip_file))
    addresses = list(dict.fromkeys(listed))  # an address given twice is checked once
    if not addresses:
        raise InputError("the pool holds no address")
    probe = pool_options(options, mail_from)
    # A --check that cannot run on a pool's IPs (dkim needs a domain) is refused here, not once per IP.
    plan(build_target(validate.domain_of(mail_from) if mail_from else None, ip=addresses[0]), probe)
    workers = _workers(probe)
    return PoolPlan(addresses, probe, workers, mail_from, len(listed) - len(addresses), pool)


def pool_options(options: Options, mail_from: str | None) -> Options:
    """A pool's per-IP options: the IP checks (with a MAIL FROM, the domain checks about the IP too: spf)."""
    checks: list[str] = [
        s.id for s in registry.checks() if s.in_pool or (mail_from and s.about_ip and s.needs == "domain")
    ]
    return Options(**{**options.__dict__, "only": options.only or checks})


def _queries_per_ip(options: Options) -> int:
    """About how many queries one IP costs: its PTR chain, plus one per IP blocklist."""
    from mxprobe import blocklists

    zones = len(blocklists.selected_zones("ip", options)[0]) if CheckId.DNSBL in options.only else 0
    return 6 + zones


def _workers(options: Options) -> int:
    """Probes alive at once: under a --rate cap, only as many as the rate serves within their deadline (half
    of it, for the margin); a rate that cannot serve one IP within its deadline is refused."""
    if not options.rate:
        return WORKERS
    per_ip = _queries_per_ip(options)
    if options.rate * options.timeout < per_ip:
        raise InputError(
            f"--rate {options.rate:g} is too low for --timeout {options.timeout:g}: one IP needs about "
            f"{per_ip} queries; raise --rate to {per_ip / options.timeout:.2g} or --timeout to "
            f"{per_ip / options.rate:.2g}"
        )
    return max(1, min(WORKERS, int(options.rate * options.timeout / (2 * per_ip))))


async def probe_pool(
    addresses: Iterable[str], mail_from: str | None, options: Options
) -> AsyncGenerator[Report, None]:
    """Yield one Report per address, in input order (see `run_plan`)."""
    probe = pool_options(options, mail_from)
    async for report in run_plan(list(addresses), mail_from, probe, _workers(probe)):
        yield report


async def run_plan(
    addresses: list[str], mail_from: str | None, probe: Options, workers: int
) -> AsyncGenerator[Report, None]:
    """Yield one Report per address in input order, at most `workers` probes alive and WINDOW results held
    back. Cancelling the consumer cancels every probe still running."""
    from mxprobe.scanner import build_target, run

    limiter = Limiter(probe.concurrency, probe.rate)
    parent = Dns(
        probe.nameservers or None,
        deadline=Deadline(24 * 3600),
        query_timeout=probe.query_timeout,
        limiter=limiter,
    )
    domain = validate.domain_of(mail_from) if mail_from else None
    tasks: dict[int, asyncio.Task[Report]] = {}
    started = emitted = 0
    try:
        while emitted < len(addresses):
            while started < len(addresses) and len(tasks) < workers and started < emitted + WINDOW:
                target = build_target(domain, ip=addresses[started], mail_from=mail_from)
                target.ip_source = "pool"
                tasks[started] = asyncio.ensure_future(run(target, probe, limiter=limiter, parent=parent))
                started += 1
            head = tasks[emitted]
            if not head.done():
                await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
            while emitted in tasks and tasks[emitted].done():
                yield tasks.pop(emitted).result()
                emitted += 1
    finally:
        for task in tasks.values():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        limiter.close()
        parent.close()


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
