"""Renderers of a probe report: rich text for people, JSON for machines. They only read the Report.

Colour appears only on a terminal (rich decides from the stream, and honours NO_COLOR); piped output is plain
text with the same words, so `grep` and screen readers see what a terminal user sees.
"""

from __future__ import annotations

import json
import sys
from types import TracebackType
from typing import Any

from mxprobe.model import CheckResult, Status
from mxprobe.render import clean, console
from mxprobe.report import Report

MARKS = {
    Status.PASS: ("✔", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✖", "red"),
    Status.ERROR: ("?", "magenta"),
    Status.SKIP: ("-", "dim"),
}
VERDICT_STYLE = {
    "pass": "bold green",
    "warn": "bold yellow",
    "fail": "bold red",
    "inconclusive": "bold magenta",
}


def render_json(report: Report) -> None:
    sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")


def _console() -> Any:
    return console(highlight=False, soft_wrap=True)


MAX_ITEMS = 6  # list items and evidence lines shown per check; --json has them all
MAX_VALUE = 120  # characters of one detail value shown (a DKIM key, a long reply); --json has it whole


def _more(count: int) -> str:
    return f"… and {count} more (see --json)"


def _flat(value: Any) -> str:
    """A value inside a one-line record: lists as `a, b`, not as Python's `['a', 'b']`."""
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value)
    return str(value)


def _short(value: Any, limit: int = MAX_VALUE) -> str:
    text = clean(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail_lines(value: Any, indent: str) -> list[str]:
    """Flatten a check's details into short readable lines (JSON keeps the full structure)."""
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{indent}{key}:")
                lines.extend(_detail_lines(item, indent + "  "))
            elif item not in (None, "", [], {}):
                lines.append(f"{indent}{key}: {_short(_flat(item))}")
    elif isinstance(value, list):
        for item in value[:MAX_ITEMS]:
            if isinstance(item, dict):
                pairs = (f"{k}={_flat(v)}" for k, v in item.items() if v not in (None, "", [], {}))
                lines.append(f"{indent}- " + _short(", ".join(pairs)))
            else:
                lines.append(f"{indent}- {_short(item)}")
        if len(value) > MAX_ITEMS:
            lines.append(f"{indent}{_more(len(value) - MAX_ITEMS)}")
    return lines


def render_check_block(console: Any, check: CheckResult) -> None:
    """The details of one check: evidence, details and the fix. Also used by `explain --check`."""
    from rich.text import Text

    mark, style = MARKS[check.status]
    console.print(Text.assemble((f"{mark} {check.id}", style), f": {clean(check.summary)}"))
    for line in _detail_lines(check.details, "    "):
        console.print(Text(line))
    for ev in check.evidence[:MAX_ITEMS]:
        answer = ", ".join(ev.answer) if ev.answer else ev.rcode
        note = f"  ({ev.note})" if ev.note else ""
        console.print(Text(_short(f"    evidence: {ev.query} → {answer}{note}", 2 * MAX_VALUE), style="dim"))
    if len(check.evidence) > MAX_ITEMS:
        console.print(Text(f"    evidence: {_more(len(check.evidence) - MAX_ITEMS)}", style="dim"))
    if check.fix:
        console.print(Text.assemble(("    fix: ", "bold"), clean(check.fix)))


def render_text(report: Report) -> None:
    from rich.text import Text

    console = _console()
    t = report.target
    head = [f"mxprobe {report.version}"]
    if t.domain:
        head.append(f"domain {t.domain}")
    if t.ip:
        head.append(f"ip {t.ip} ({t.ip_source})")
    if t.helo:
        head.append(f"helo {t.helo}")
    if t.mail_from is not None:
        head.append(f"from <{t.mail_from}>")
    console.print(Text(clean("  ".join(head)), style="bold"))
    for note in report.notes:
        console.print(Text(clean(f"  note: {note}"), style="dim"))
    width = max((len(c.id) for c in report.checks), default=6)
    for check in report.checks:
        mark, style = MARKS[check.status]
        console.print(
            Text.assemble((f" {mark} ", style), (f"{check.id:<{width}}", "bold"), f"  {clean(check.summary)}")
        )
    flagged = [c for c in report.checks if c.status in (Status.WARN, Status.FAIL, Status.ERROR)]
    if flagged:
        console.print()
        for check in flagged:
            render_check_block(console, check)
    if report.smtp is not None:
        from mxprobe.render.smtp import render_smtp

        console.print()
        render_smtp(console, report.smtp)
    counts = {s: sum(1 for c in report.checks if c.status == s) for s in Status}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    console.print()
    console.print(
        Text.assemble(
            ("verdict: ", "bold"),
            (report.verdict.upper(), VERDICT_STYLE[report.verdict]),
            f"  ({summary}; {report.elapsed_ms / 1000:.1f}s)",
        )
    )


class Progress:
    """A one-line progress display on stderr while checks finish; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.done: list[str] = []
        self._status: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console

            self._status = Console(stderr=True).status("checking DNS…")
            self._status.start()
        return self

    def advance(self, result: CheckResult) -> None:
        self.done.append(result.id)
        if self._status is not None:
            self._status.update(f"checked {len(self.done)}: {', '.join(self.done[-4:])}…")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._status is not None:
            self._status.stop()
