"""A probe report for people: the header (target, resolver, start time, where settings came from), the
verdict, one line per check, the handshake, then "What to do"; `-v` adds each flagged check's evidence and
details. Lines fit the output width (mxprobe/render/layout.py); colour only on a terminal, never with
NO_COLOR. Text from DNS and servers goes through `clean()`: controls are shown, never acted on.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from mxprobe.model import CheckResult, Status
from mxprobe.render import clean
from mxprobe.render import layout as lay
from mxprobe.render.plan import plan_lines
from mxprobe.report import Report
from mxprobe.service.plan import Group
from mxprobe.service.probe import RunInfo
from mxprobe.words import say

MAX_ITEMS = 6  # list items and evidence lines shown per check; --format json has them all
MAX_VALUE = 120  # characters of one detail value shown (a DKIM key, a long reply)
_ANSI = {"red": "31", "green": "32", "yellow": "33", "magenta": "35", "dim": "2", "bold": "1"}
_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.ERROR: "magenta",
          Status.SKIP: "dim"}  # fmt: skip
VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "inconclusive": "magenta"}


def mark(status: Status) -> str:
    s = lay.SYMBOLS
    return {Status.PASS: s.passed, Status.WARN: s.warned, Status.FAIL: s.failed, Status.ERROR: s.errored,
            Status.SKIP: s.skipped}[status]  # fmt: skip


class Painter:
    """ANSI colour for a terminal (NO_COLOR honoured); plain text everywhere else."""

    def __init__(self, out: TextIO) -> None:
        self.on = out.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if self.on and text else text


def verdict_line(report: Report, lang: str, paint: Painter | None = None) -> str:
    counts = [(s, sum(1 for c in report.checks if c.status == s)) for s in Status]
    summary = say(lang, "sep").join(say(lang, f"count-{s.value}", n=n) for s, n in counts if n)
    word = say(lang, report.verdict)
    shown = paint(word, VERDICT_STYLE[report.verdict]) if paint else word
    seconds = f"{report.elapsed_ms / 1000:.1f}"
    return say(lang, "verdict-line", label=say(lang, "verdict"), word=shown, summary=summary, seconds=seconds)


def header_lines(report: Report, info: RunInfo, width: int) -> list[str]:
    t, lang = report.target, info.lang
    head = [f"mxprobe {report.version}"]
    if t.domain:
        head.append(f"{say(lang, 'label-domain')} {t.domain}")
    if t.ip:
        source = say(lang, "ip-given") if t.ip_source == "given" else t.ip_source
        head.append(f"{say(lang, 'label-ip')} {t.ip}{say(lang, 'aside', text=source)}")
    if t.helo:
        head.append(f"{say(lang, 'label-helo')} {t.helo}")
    if t.mail_from is not None:
        head.append(f"{say(lang, 'label-from')} <{t.mail_from}>")
    resolver = ", ".join(info.nameservers) or "?"
    run = [
        f"{say(lang, 'resolver')} {resolver}{say(lang, 'aside', text=_resolver_source(info))}",
        f"{say(lang, 'started')} {info.started_at}",
    ]
    lines = lay.join_parts([clean(p) for p in head], width) + lay.join_parts(run, width)
    origins = [
        say(lang, "setting-from", name=name, origin=origin.where or origin.source)
        for name, origin in info.settings.items()
        if origin.source != "flag"
    ]
    if origins:
        lines += lay.wrap(f"{say(lang, 'settings')}: " + ", ".join(origins), width, "", "  ")
    for note in report.notes:
        lines += lay.wrap(clean(f"note: {note}"), width, "  ", "    ")
    return lines


def _resolver_source(info: RunInfo) -> str:
    origin = info.settings.get("nameserver")
    if info.resolver_source == "system" or origin is None:
        return say(info.lang, "system-resolver") if info.resolver_source == "system" else "--nameserver"
    return {"flag": "--nameserver", "env": origin.where, "config": origin.where}.get(
        origin.source, origin.source
    )


def check_lines(
    checks: list[CheckResult], width: int, paint: Painter, verbose: bool, lang: str = "en"
) -> list[str]:
    """One line per check (cut to the width with an ellipsis); -v wraps the whole summary instead."""
    from mxprobe.render import zh

    id_width = max((len(c.id) for c in checks), default=6)
    lines = []
    for check in checks:
        lead = f" {mark(check.status)} {check.id:<{id_width}}  "
        summary = clean(zh.summary(check) if lang == "zh" else check.summary)
        if verbose:
            shown = lay.wrap(summary, width, lead, " " * lay.cells(lead))
        else:
            shown = [lead + lay.shorten(summary, width - lay.cells(lead))]
        styled = (
            f" {paint(mark(check.status), _STYLE[check.status])} {paint(f'{check.id:<{id_width}}', 'bold')}  "
        )
        lines.append(styled + shown[0][len(lead) :])
        lines += shown[1:]
    return lines


def _flat(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value)
    return str(value)


def _short(value: Any, limit: int = MAX_VALUE) -> str:
    text = clean(str(value))
    return text if len(text) <= limit else text[: limit - 1] + lay.SYMBOLS.ellipsis


def _detail_lines(value: Any, indent: str, lang: str = "en") -> list[str]:
    """A check's details as short readable lines (JSON keeps the full structure)."""
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{indent}{key}:")
                lines.extend(_detail_lines(item, indent + "  ", lang))
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
            lines.append(f"{indent}{lay.SYMBOLS.ellipsis} {say(lang, 'more', n=len(value) - MAX_ITEMS)}")
    return lines


def check_block(check: CheckResult, width: int, lang: str = "en") -> list[str]:
    """A check's evidence, details and fix (-v, and `explain --check`)."""
    arrow = lay.SYMBOLS.arrow
    from mxprobe.render import zh, zh_fix

    summary = zh.summary(check) if lang == "zh" else check.summary
    head = f"{mark(check.status)} {check.id}{say(lang, 'colon')}{summary}"
    lines = lay.wrap(clean(head), width, "", "    ")
    for line in _detail_lines(check.details, "    ", lang):
        lines += lay.wrap(line.strip(), width, line[: len(line) - len(line.lstrip())], "      ")
    for ev in check.evidence[:MAX_ITEMS]:
        answer = ", ".join(ev.answer) if ev.answer else ev.rcode
        note = f"  ({ev.note})" if ev.note else ""
        text = _short(
            f"{say(lang, 'evidence')}{say(lang, 'colon')}{ev.query} {arrow} {answer}{note}", 2 * MAX_VALUE
        )
        lines += lay.wrap(text, width, "    ", "      ")
    if len(check.evidence) > MAX_ITEMS:
        more = say(lang, "more", n=len(check.evidence) - MAX_ITEMS)
        lines.append(f"    {say(lang, 'evidence')}{say(lang, 'colon')}{lay.SYMBOLS.ellipsis} {more}")
    if check.fix:
        shown = zh_fix.fix(check) if lang == "zh" else check.fix
        lines += lay.wrap(clean(say(lang, "fix-line", fix=shown)), width, "    ", "      ")
    return lines


def render_text(
    report: Report,
    info: RunInfo | None = None,
    plan: list[Group] | None = None,
    out: TextIO | None = None,
    *,
    verbose: bool = False,
    quiet: bool = False,
) -> None:
    """The report as text on `out` (stdout); without `info` and `plan`, those of a run in English."""
    from mxprobe.render import zh_fix
    from mxprobe.service.plan import build
    from mxprobe.service.probe import RunInfo as Info
    from mxprobe.service.probe import utc_now

    out = sys.stdout if out is None else out
    info = info or Info(utc_now(), [], "system")
    plan = build(report, info.lang) if plan is None else plan
    paint = Painter(out)
    width = lay.output_width(out)
    if quiet:
        out.write(verdict_line(report, info.lang, paint) + "\n")
        return
    lines = header_lines(report, info, width)
    lines += [verdict_line(report, info.lang, paint), ""]
    lines += check_lines(report.checks, width, paint, verbose, info.lang)
    if verbose:
        for check in report.checks:
            if check.status in (Status.WARN, Status.FAIL, Status.ERROR):
                lines += ["", *check_block(check, width, info.lang)]
    out.write("\n".join(lines) + "\n")
    if report.smtp is not None:
        _smtp(report, out, width)
    out.write("\n" + "\n".join(plan_lines(zh_fix.plan(plan, info.lang), width, info.lang)) + "\n")
    if not verbose and plan:
        out.write("\n" + paint(say(info.lang, "details-hint"), "dim") + "\n")


def _smtp(report: Report, out: TextIO, width: int) -> None:
    """The transcript, drawn whole (render/smtp.py), then each line wrapped under its own indent."""
    import io

    from mxprobe.render import console
    from mxprobe.render.smtp import render_smtp

    if report.smtp is None:
        return
    drawn = io.StringIO()
    wide = console(file=drawn, width=100_000, soft_wrap=True, highlight=False, no_color=True, emoji=False)
    render_smtp(wide, report.smtp)
    lines = [""]
    for line in drawn.getvalue().splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        lines += lay.wrap(line.strip(), width, indent, indent + "    ") if line.strip() else [""]
    out.write("\n".join(lines) + "\n")


def render_json(report: Report, out: TextIO | None = None) -> None:
    """The report's JSON document (the contract's keys; the CLI adds the run's own: render/document.py)."""
    import json

    (out or sys.stdout).write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")


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

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
