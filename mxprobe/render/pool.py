"""Rendering of a sending-IP pool: JSON Lines and CSV rows as results arrive (in input order), and the text
summary (counts per check and status, the failing addresses grouped by what failed, the verdicts).

Everything from DNS is untrusted: text goes through `clean()` for the terminal, and a CSV cell that a
spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`.
"""

from __future__ import annotations

import csv
import ipaddress
import json
from typing import TYPE_CHECKING, Any, TextIO

from mxprobe.registry import CheckId, Status
from mxprobe.render import clean, console
from mxprobe.words import say

if TYPE_CHECKING:
    from mxprobe.pool import PoolSummary
    from mxprobe.report import Report

CSV_COLUMNS = ("ip", CheckId.PTR.value, CheckId.FCRDNS.value, CheckId.HELO.value, "listed-on", "verdict")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def json_line(report: Report) -> str:
    """One pool result as a JSON Lines line (the `mxprobe --json` object of that IP)."""
    return json.dumps(report.to_dict(), ensure_ascii=False) + "\n"


class PoolCsv:
    """`--format csv` for a pool: a header, then one row per IP. Columns: the IP; its PTR names (`;`
    between several, empty when none); the status of fcrdns and helo (empty when not run); the zones that
    list it (`;` between); the IP's verdict."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(CSV_COLUMNS)

    def write(self, report: Report) -> None:
        self.writer.writerow([_cell(value) for value in csv_row(report)])
        self.out.flush()


def csv_row(report: Report) -> list[str]:
    """The CSV_COLUMNS of one IP, read from the report's JSON shape (the contract)."""
    data = report.to_dict()
    checks: dict[str, Any] = {c["id"]: c for c in data["checks"]}

    def status(check_id: CheckId) -> str:
        return str(checks[check_id]["status"]) if check_id in checks else ""

    ptr = checks.get(CheckId.PTR, {}).get("details", {})
    dnsbl = checks.get(CheckId.DNSBL, {}).get("details", {})
    listed = [z["zone"] for z in dnsbl.get("zones", []) if z.get("status") == "listed"]
    return [
        str(data["target"].get("ip") or ""),
        ";".join(ptr.get("names", [])),
        status(CheckId.FCRDNS),
        status(CheckId.HELO),
        ";".join(listed),
        str(data["verdict"]),
    ]


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _ip_order(address: str) -> tuple[int, int]:
    """Sort key for a mixed IPv4/IPv6 list (ipaddress refuses to compare across versions)."""
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


# The frame of the pool summary, in the languages of `--lang` (the checks' summaries are English data).
_WORDS = {
    "en": {
        "checked": "{n} IPs checked",
        "checked-1": "1 IP checked",
        "of-total": " of {total} (interrupted)",
        "skipped": ", {n} lines skipped",
        "group": "{check}: {reason} — {count}: {ips}",
        "ips": "{n} IPs",
        "ips-1": "1 IP",
        "more": " and {n} more",
        "verdicts": "verdicts: {verdicts}",
        "none": "none",
        "interrupted": "interrupted: {n} of {total} IPs checked, the rest were not",
        "check": "check",
    },
    "zh": {
        "checked": "已检查 {n} 个IP",
        "checked-1": "已检查 1 个IP",
        "of-total": "，共 {total} 个（已中断）",
        "skipped": "，跳过 {n} 行",
        "group": "{check}：{reason} — {count}：{ips}",
        "ips": "{n} 个IP",
        "ips-1": "1 个IP",
        "more": " 等另外 {n} 个",
        "verdicts": "结论：{verdicts}",
        "none": "无",
        "interrupted": "已中断：已检查 {total} 个IP中的 {n} 个，其余未检查",
        "check": "检查",
    },
}


def _say(lang: str, key: str, **facts: object) -> str:
    table = _WORDS.get(lang, _WORDS["en"])
    return table[key].format(**facts)


def render_summary(
    summary: PoolSummary, *, skipped: int = 0, total: int = 0, interrupted: bool = False, lang: str = "en"
) -> None:
    """The text summary on stdout. Interrupted: what was done, and that it is only part of the pool."""
    from rich.table import Table
    from rich.text import Text

    out = console(highlight=False, soft_wrap=True)
    title = _say(lang, "checked-1") if summary.ips == 1 else _say(lang, "checked", n=summary.ips)
    title += _say(lang, "of-total", total=total) if interrupted else ""
    title += _say(lang, "skipped", n=skipped) if skipped else ""
    table = Table(title=title)
    table.add_column(_say(lang, "check"))
    for status in Status:
        table.add_column(status.value, justify="right")
    for check_id, counts in summary.per_check.items():
        table.add_row(check_id, *(str(counts.get(s.value, 0)) for s in Status))
    out.print(table)
    for (check_id, reason), ips in sorted(summary.failures.items(), key=lambda kv: -len(kv[1])):
        ordered = sorted(ips, key=_ip_order)
        shown = ", ".join(ordered[:8]) + (_say(lang, "more", n=len(ips) - 8) if len(ips) > 8 else "")
        count = _say(lang, "ips-1") if len(ips) == 1 else _say(lang, "ips", n=len(ips))
        line = _say(lang, "group", check=check_id, reason=reason, count=count, ips=shown)
        out.print(Text(clean(line)))
    named = [(n, v if lang == "en" else say(lang, v)) for v, n in summary.verdicts.most_common()]
    verdicts = ", ".join(f"{n} {name}" for n, name in named) or _say(lang, "none")
    out.print(Text(_say(lang, "verdicts", verdicts=verdicts), style="bold"))
    if interrupted:
        out.print(Text(_say(lang, "interrupted", n=summary.ips, total=total), style="bold"))
