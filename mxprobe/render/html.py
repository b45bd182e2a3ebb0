"""The report as one self-contained HTML5 page, to attach to a ticket for an ISP, a blocklist's removal form
or a receiver's postmaster: verdict, plan, checks, evidence (exact queries and answers), resolver, time.

No script, no external asset (the style is inline), and every piece of text is escaped: what DNS servers and
mail servers said is untrusted and may hold markup.
"""

from __future__ import annotations

from html import escape
from typing import TextIO

from mxprobe.render import clean, zh, zh_fix
from mxprobe.render.plan import _segments
from mxprobe.report import Report
from mxprobe.service.plan import Group
from mxprobe.service.probe import RunInfo
from mxprobe.words import say

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:1em auto;padding:0 1em;line-height:1.4}"
    "code,pre{font-family:ui-monospace,monospace;overflow-wrap:anywhere}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;"
    "vertical-align:top}.fail{color:#b00}.warn{color:#a60}.pass{color:#070}.error{color:#808}.skip{color:#666}"
)


def h(text: str) -> str:
    return escape(clean(text), quote=True)


def _plan(groups: list[Group], lang: str) -> list[str]:
    out = [f"<h2>{h(say(lang, 'what-to-do'))}</h2>"]
    if not groups:
        return [*out, f"<p>{h(say(lang, 'nothing-to-do'))}</p>"]
    out.append("<ol>")
    for group in groups:
        out.append(f"<li><strong>{h(say(lang, f'who-{group.actor.value}', who=group.who))}</strong>")
        if group.contact:
            out.append(f"<br>{h(group.contact)}")
        out.append("<ul>")
        for action in group.actions:
            parts = [
                f"<pre>{h(part)}</pre>" if is_record else h(part)
                for is_record, part in _segments(action.text, action.records)
            ]
            parts += [f"<pre>{h(link)}</pre>" for link in action.links]
            out.append(f"<li>{' '.join(parts)}</li>")
        out.append("</ul></li>")
    return [*out, "</ol>"]


def _report(report: Report, plan: list[Group], info: RunInfo) -> list[str]:
    lang, t = info.lang, report.target
    title = " ".join(x for x in (t.domain or "", t.ip or "") if x)
    resolver = ", ".join(info.nameservers) or "?"
    out = ["<section>", f"<h1>{h(say(lang, 'report-title'))}: {h(title)}</h1>", "<dl>"]
    facts = [("verdict", say(lang, report.verdict)), ("label-domain", t.domain), ("label-ip", t.ip),
             ("label-helo", t.helo),
             ("label-from", t.mail_from), ("resolver", f"{resolver} ({info.resolver_source})"),
             ("started", info.started_at)]  # fmt: skip
    for key, value in facts:
        if value:
            out.append(f"<dt>{h(say(lang, key))}</dt><dd>{h(value)}</dd>")
    out += ["</dl>", *_plan(zh_fix.plan(plan, lang), lang), f"<h2>{h(say(lang, 'checks'))}</h2>", "<table>"]
    out.append(f"<tr><th>{h(say(lang, 'check'))}</th><th>{h(say(lang, 'status'))}</th>"
               f"<th>{h(say(lang, 'summary'))}</th></tr>")  # fmt: skip
    for check in report.checks:
        status = check.status.value
        summary = zh.summary(check) if lang == "zh" else check.summary
        out.append(f'<tr><td>{h(check.id)}</td><td class="{status}">{status}</td><td>{h(summary)}</td></tr>')
    out += ["</table>", f"<h2>{h(say(lang, 'evidence-title'))}</h2>", "<table>"]
    out.append(f"<tr><th>{h(say(lang, 'check'))}</th><th>{h(say(lang, 'query'))}</th>"
               f"<th>{h(say(lang, 'answer'))}</th></tr>")  # fmt: skip
    for check in report.checks:
        for ev in check.evidence:
            answer = ", ".join(ev.answer) if ev.answer else ev.rcode
            note = f" ({ev.note})" if ev.note else ""
            out.append(f"<tr><td>{h(check.id)}</td><td><code>{h(ev.query)}</code></td>"
                       f"<td><code>{h(answer)}</code>{h(note)}</td></tr>")  # fmt: skip
    return [*out, "</table>", "</section>"]


def render_html(reports: list[tuple[Report, list[Group]]], info: RunInfo, out: TextIO) -> None:
    lang = "zh" if info.lang == "zh" else "en"
    title = ", ".join(r.target.domain or r.target.ip or "" for r, _ in reports)
    lines = ["<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
             f"<title>{h(say(lang, 'report-title'))}: {h(title)}</title>", f"<style>{STYLE}</style>",
             "</head>", "<body>"]  # fmt: skip
    for report, plan in reports:
        lines += _report(report, plan, info)
    out.write("\n".join([*lines, "</body>", "</html>", ""]))
