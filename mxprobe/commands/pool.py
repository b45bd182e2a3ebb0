"""`mxprobe --ip CIDR` / `--ip-file FILE`: a sending-IP pool, run by `mxprobe.pool` and rendered by
`mxprobe.render.pool`.

Output: JSON Lines (`--json`) or CSV rows (`--format csv`) as results arrive, in input order; or progress on a
terminal and a summary (text). Skipped input lines are reported on stderr before the first query. Ctrl-C
stops the run: the results done so far are printed (text: the summary of them, said to be partial), and the
exit code is 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mxprobe import pool
from mxprobe.errors import ExitCode, InputError
from mxprobe.options import Options
from mxprobe.render import pool as render
from mxprobe.render import stdout_may_close

if TYPE_CHECKING:
    from rich.progress import Progress

    from mxprobe.report import Report

FORMATS = ("text", "json", "csv")


def run_pool_command(
    ips: list[str],
    ip_file: Path | None,
    mail_from: str | None,
    options: Options,
    as_json: bool = False,
    output: str | None = None,
    lang: str = "en",
) -> int:
    """Run a pool for the CLI; `output` is text, json or csv (`as_json` is the short form of json); `lang`
    the language of the text summary."""
    fmt = output or ("json" if as_json else "text")
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt} is not available for a pool: use {', '.join(FORMATS)}")
    plan = pool.prepare(ips, ip_file, mail_from, options)
    for line in plan.input.skipped:
        print(f"mxprobe: skipped {line}: not an IP address or CIDR", file=sys.stderr)
    more = plan.input.skipped_count - len(plan.input.skipped)
    if more:
        print(f"mxprobe: skipped {more} more lines that are not an IP address or CIDR", file=sys.stderr)
    if plan.repeated:
        print(f"mxprobe: {plan.repeated} repeated addresses checked once", file=sys.stderr)
    summary = pool.PoolSummary()
    write = _writer(fmt)
    interrupted = False
    with stdout_may_close():
        try:
            asyncio.run(_consume(plan, summary, write, progress=fmt == "text" and sys.stderr.isatty()))
        except KeyboardInterrupt:
            interrupted = True
        if fmt == "text":
            total, skipped = len(plan.addresses), plan.input.skipped_count
            render.render_summary(summary, skipped=skipped, total=total, interrupted=interrupted, lang=lang)
    if interrupted:
        print(f"mxprobe: interrupted: {summary.ips} of {len(plan.addresses)} IPs checked", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    return int(summary.exit_code)


def _writer(fmt: str) -> Callable[[Report], None] | None:
    if fmt == "json":
        return lambda report: _emit(render.json_line(report))
    if fmt == "csv":
        return render.PoolCsv(sys.stdout).write
    return None


def _emit(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()


async def _consume(
    plan: pool.PoolPlan,
    summary: pool.PoolSummary,
    write: Callable[[Report], None] | None,
    *,
    progress: bool,
) -> None:
    bar = _progress(len(plan.addresses)) if progress else None
    try:
        results = pool.run_plan(plan.addresses, plan.mail_from, plan.options, plan.workers)
        async with contextlib.aclosing(results):
            async for report in results:
                summary.add(report)
                if write is not None:
                    write(report)
                if bar is not None:
                    bar.advance(bar.task_ids[0])
    finally:
        if bar is not None:
            bar.stop()


def _progress(total: int) -> Progress:
    from rich.progress import Progress

    progress = Progress(transient=True)
    progress.add_task("checking IPs", total=total)
    progress.start()
    return progress
