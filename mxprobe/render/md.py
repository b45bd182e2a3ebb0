"""The report as Markdown, to paste into a ticket: verdict, plan, checks, evidence (queries and answers),
resolver and time. Untrusted text is escaped so that it cannot turn into links, markup or HTML."""

from __future__ import annotations

import re
from typing import TextIO

from mxprobe.render import clean, zh, zh_fix
from mxprobe.render.plan import _segments
from mxprobe.report import Report
from mxprobe.service.plan import Group
from mxprobe.service.probe import RunInfo
from mxprobe.words import say

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")


def esc(text: str) -> str:
    """Markdown-inert text: every character Markdown or HTML could act on is backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", clean(text))


def code(text: str) -> str:
    """Inline code that cannot be closed early by a backquote in the text."""
    text = clean(text)
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


def _plan(groups: list[Group], lang: str) -> list[str]:
    lines = [f"## {say(lang, 'what-to-do')}", ""]
    if not groups:
        return [*lines, esc(say(lang, "nothing-to-do")), ""]
    for number, group in enumerate(groups, 1):
        lines.append(f"{number}. **{esc(say(lang, f'who-{group.actor.value}', who=group.who))}**")
        if group.contact:
            lines.append(f"   {esc(group.contact)}")
        for action in group.actions:
            parts = []
            for is_record, part in _segments(action.text, action.records):
                parts.append(code(part) if is_record else esc(part))
            parts += [code(link) for link in action.links]
            lines.append("   - " + " ".join(parts))
    return [*lines, ""]


def _report(report: Report, plan: list[Group], info: RunInfo) -> list[str]:
    lang, t = info.lang, report.target
    title = " ".join(x for x in (t.domain or "", t.ip or "") if x)
    resolver = ", ".join(info.nameservers) or "?"
    lines = [f"# {esc(say(lang, 'report-title'))}: {esc(title)}", ""]
    lines.append(f"- **{esc(say(lang, 'verdict'))}**: {esc(say(lang, report.verdict))}")
    labelled = [("label-domain", t.domain), ("label-ip", t.ip), ("label-helo", t.helo)]
    labelled.append(("label-from", t.mail_from))
    for key, value in labelled:
        if value:
            lines.append(f"- {esc(say(lang, key))}: {code(value)}")
    lines.append(f"- {esc(say(lang, 'resolver'))}: {code(resolver)} ({esc(info.resolver_source)})")
    lines.append(f"- {esc(say(lang, 'started'))}: {code(info.started_at)}")
    lines.append(f"- mxprobe {esc(report.version)}")
    lines += ["", *_plan(zh_fix.plan(plan, lang), lang), f"## {esc(say(lang, 'checks'))}", ""]
    lines += [f"| {say(lang, 'check')} | {say(lang, 'status')} | {say(lang, 'summary')} |", "|---|---|---|"]
    for check in report.checks:
        summary = zh.summary(check) if lang == "zh" else check.summary
        lines.append(f"| {code(check.id)} | {check.status.value} | {esc(summary)} |")
    lines += ["", f"## {esc(say(lang, 'evidence-title'))}", ""]
    for check in report.checks:
        for ev in check.evidence:
            answer = ", ".join(ev.answer) if ev.answer else ev.rcode
            note = f" ({esc(ev.note)})" if ev.note else ""
            lines.append(f"- {code(check.id)} {code(ev.query)} → {code(answer)}{note}")
    return [*lines, ""]


def render_md(reports: list[tuple[Report, list[Group]]], info: RunInfo, out: TextIO) -> None:
    lines: list[str] = []
    for report, plan in reports:
        lines += _report(report, plan, info)
    out.write("\n".join(lines))
