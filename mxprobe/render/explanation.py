"""How an explained reply and the catalogue look to a person (a compact block) and to a script (JSON).

Piped output is plain text with the same words as on a terminal; rich (colours) is imported only when the
stream is a terminal, so `mxprobe explain` in a pipeline or a test never pays for it.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from mxprobe.catalogue import Entry, Explanation
from mxprobe.render import clean
from mxprobe.replies import address, bracketed_domain, named_ip

if TYPE_CHECKING:
    from mxprobe.model import CheckResult

LANGS = ("en", "zh")

# Which `mxprobe` invocation proves or disproves a cause, by the checks the catalogue names for it: the IP
# checks, the handshake checks, and the sending domain's checks (spf, spf-record, dmarc, dkim, mx, dbl, ...).
_CHECK_GROUPS = {
    **dict.fromkeys(("ptr", "fcrdns", "dnsbl", "helo"), "ip"),
    **dict.fromkeys(("smtp", "tls", "mta-sts", "tls-rpt", "dane"), "smtp"),
}

_LABELS = {
    "en": {"meaning": "meaning", "cause": "cause", "advice": "advice", "check": "check", "entry": "entry",
           "recipient": "recipient", "checked": "checked", "record": "record"},
    "zh": {"meaning": "含义", "cause": "原因", "advice": "建议", "check": "检查", "entry": "条目",
           "recipient": "收件人", "checked": "已检查", "record": "记录"},
}  # fmt: skip
# Notes `explain` writes on stderr after its results, in the output's language.
_NOTES = {
    "en": {"skipped": "skipped {n} lines without an SMTP reply",
           "delivered": "{n} delivered lines not shown (only failures are)"},
    "zh": {"skipped": "跳过了 {n} 行不含SMTP应答的内容",
           "delivered": "未显示 {n} 条投递成功的记录（只显示失败）"},
}  # fmt: skip


def note_text(lang: str, key: str, n: int) -> str:
    """A stderr note of `explain` (`skipped`, `delivered`) in `lang`."""
    return _NOTES.get(lang, _NOTES["en"])[key].format(n=n)


_NOTHING_TO_CHECK = {"en": "nothing: no DNS check proves this cause", "zh": "无：没有可证明此原因的DNS检查"}
_CLASSES = {
    "en": {"success": "success", "intermediate": "intermediate", "transient": "transient failure",
           "permanent": "permanent failure"},
    "zh": {"success": "成功", "intermediate": "中间应答", "transient": "临时失败", "permanent": "永久失败"},
}  # fmt: skip
_NOT_SPECIFIC = {
    "en": ("generic: no entry for this exact text", "not in the catalogue"),
    "zh": ("通用解释：目录中没有这段原文", "目录中没有此应答"),
}
_CLASS_STYLES = {"success": "green", "intermediate": "cyan", "transient": "yellow", "permanent": "red"}
SHOWN_REPLY = 300  # characters of a reply shown in a block's first line (JSON keeps the whole input)


def default_lang() -> str:
    """`zh` when the locale (LC_ALL, else LC_MESSAGES, else LANG: POSIX precedence) is Chinese, else `en`."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def suggested_commands(exp: Explanation) -> list[str]:
    """The mxprobe invocations that check the cause, with the IP, domain or recipient the reply names
    (terminal-safe: they quote the reply)."""
    groups: list[str] = []
    for check in exp.checks:
        group = _CHECK_GROUPS.get(check, "domain")
        if group not in groups:
            groups.append(group)
    commands = []
    for group in groups:
        if group == "ip":
            commands.append(f"mxprobe --ip {named_ip(exp.text) or 'YOUR_SENDING_IP'}")
        elif group == "domain":
            commands.append(f"mxprobe {bracketed_domain(exp.text) or 'YOUR_DOMAIN'}")
        else:
            to = address(exp.text) or "RECIPIENT"
            commands.append(f"mxprobe {bracketed_domain(exp.text) or 'YOUR_DOMAIN'} --to {to}")
    return [clean(command) for command in commands]


def abbreviate(text: str, width: int = 80) -> str:
    """One line of at most `width` characters, terminal-safe, for error messages and headers."""
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class ExplanationWriter:
    """Writes explanations one at a time (stdin streams): JSON Lines, a plain block, or a rich block.

    A bounce's facts about the failed recipient (`bounce`) come first in the block and as a `bounce`
    object in JSON; `explain --check` results (`checks`) come after the block and as a `check` list in
    JSON. Without them, the JSON object has exactly the keys of `Explanation.to_dict`.
    """

    def __init__(self, out: TextIO, lang: str, *, as_json: bool = False) -> None:
        if isinstance(out, io.TextIOWrapper) and out.errors == "strict":
            out.reconfigure(errors="replace")  # a Latin-1 terminal gets "?" for Chinese, not a traceback
        self._out = out
        self._lang = self.lang = lang
        self._json = as_json
        self._console: Any = None
        self._count = 0
        if not as_json and out.isatty():
            from rich.console import Console

            self._console = Console(file=out, highlight=False)

    def write(
        self,
        exp: Explanation,
        *,
        bounce: dict[str, Any] | None = None,
        log: dict[str, Any] | None = None,
        checks: list[CheckResult] | None = None,
        replied: bool = True,
    ) -> None:
        """`replied=False`: the failure got no SMTP reply (a timeout), `exp.code` is a stand-in: not shown.
        `log`: the log record the reply came from (time, queue id, recipient, status, relay, mta)."""
        if self._json:
            data = exp.to_dict()
            if bounce is not None:
                data["bounce"] = bounce
            if log is not None:
                data["log"] = log
            if checks is not None:
                data["check"] = [c.to_dict() for c in checks]
            self._out.write(json.dumps(data, ensure_ascii=False) + "\n")
            return
        if self._count:
            self._out.write("\n")
        self._count += 1
        rows = _rows(exp, self._lang)
        if bounce is not None:
            rows.insert(0, (_LABELS[self._lang]["recipient"], _recipient(bounce), "bold"))
        if log is not None:
            rows.insert(0, (_LABELS[self._lang]["record"], _record(log), "bold"))
        if checks is not None:
            ran = ", ".join(c.id for c in checks)
            rows.append((_LABELS[self._lang]["checked"], ran or _NOTHING_TO_CHECK[self._lang], "cyan"))
        code = f"{exp.code} " if replied and (bounce is None or bounce["smtp_reply"]) else ""
        shown = abbreviate(exp.text, SHOWN_REPLY)
        header = f"{code}{exp.enhanced + ' ' if exp.enhanced else ''}{shown}".rstrip()
        if self._console is None:
            width = max(len(label) for label, _, _ in rows)
            lines = [header] + [f"  {label.ljust(width)}  {value}" for label, value, _ in rows]
            self._out.write("\n".join(lines) + "\n")
        else:
            from rich.padding import Padding
            from rich.table import Table
            from rich.text import Text

            grid = Table.grid(padding=(0, 2))  # long values wrap under their own column, not the labels
            grid.add_column(style="dim", no_wrap=True)
            grid.add_column()
            for label, value, style in rows:
                grid.add_row(label, Text(value, style=style))
            self._console.print(Text(header, style=f"bold {_CLASS_STYLES[exp.class_]}"))
            self._console.print(Padding(grid, (0, 0, 0, 2)))
        if checks:
            from mxprobe.render.report import render_check_block

            console = self._console or self._plain_console()
            for check in checks:
                render_check_block(console, check)

    def _plain_console(self) -> Any:
        from rich.console import Console

        self._out.flush()
        return Console(file=self._out, highlight=False, soft_wrap=True, no_color=True, emoji=False)


def _recipient(bounce: dict[str, Any]) -> str:
    """`bob@example.net (failed, 5.1.1, via mx.example.net [192.0.2.7])`: the bounce's words, made safe."""
    return abbreviate(_recipient_facts(bounce), SHOWN_REPLY)


def _recipient_facts(bounce: dict[str, Any]) -> str:
    facts = [bounce["action"], bounce["status"]]
    if bounce["remote_mta"]:
        facts.append(f"via {bounce['remote_mta']}")
    if not bounce["smtp_reply"]:
        facts.append("no SMTP reply")
    shown = ", ".join(f for f in facts if f)
    return f"{bounce['recipient'] or '?'} ({shown})" if shown else bounce["recipient"] or "?"


def _rows(exp: Explanation, lang: str) -> list[tuple[str, str, str]]:
    """(label, value, rich style) per line of the block; the plain and the rich block show the same rows."""
    labels = _LABELS[lang]
    state = _CLASSES[lang][exp.class_]
    if exp.phase and exp.phase != ("ANY",):
        state += f" ({', '.join(exp.phase)})"
    if exp.tag:
        state += f" · {exp.tag}"
    rows = [
        ("", state, _CLASS_STYLES[exp.class_]),
        (labels["meaning"], exp.meaning.get(lang), ""),
        (labels["cause"], exp.cause, "bold magenta"),
        (labels["advice"], exp.advice.get(lang), ""),
    ]
    rows += [(labels["check"], command, "cyan") for command in suggested_commands(exp)]
    generic, unknown = _NOT_SPECIFIC[lang]
    if exp.specific:
        rows.append((labels["entry"], exp.entry, "dim"))
    else:
        rows.append((labels["entry"], f"{exp.entry} ({generic})" if exp.entry else f"- ({unknown})", "dim"))
    return rows


def write_entries(entries: Sequence[Entry], lang: str, out: TextIO, *, as_json: bool = False) -> None:
    """The catalogue listing of `mxprobe codes`: a JSON array, a rich table, or aligned plain columns."""
    if as_json:
        out.write(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2) + "\n")
        return
    header = ("id", "code", "enhanced", "tag", "cause", "meaning")
    rows = [(e.id, str(e.code or ""), e.enhanced, e.tag, e.cause, e.meaning.get(lang)) for e in entries]
    _table(out, header, rows)


def _table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = "") -> None:
    """A rich table on a terminal, else aligned plain columns (the last one, often long, not padded)."""
    if out.isatty():
        from rich.console import Console
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        table = Table(*header, highlight=False)
        for row in rows:
            table.add_row(*map(Text, row))  # Text: a log's "[bold]" is shown, never read as markup
        Console(file=out).print(Padding(table, (0, 0, 0, len(indent))))
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        out.write(f"{indent}{cells}  {row[-1]}".rstrip() + "\n")


SUMMARY_DOMAINS = 20  # rows of the domain table (JSON has them all)


def write_summary(data: dict[str, Any], out: TextIO, *, as_json: bool = False) -> None:
    """A mail log's summary (`explain --summary`): a table by cause and one by domain, or one JSON object."""
    if as_json:
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    mtas = ", ".join(f"{name} {count:,}" for name, count in data["mtas"].items())
    records = data["records"]
    out.write(f"mail log: {data.get('lines', records):,} lines, {records:,} delivery records ({mtas})")
    out.write(f", {data['skipped']:,} other lines skipped\n" if data.get("skipped") else "\n")
    statuses = "  ".join(f"{name} {n:,} ({_percent(n, records)})" for name, n in data["statuses"].items())
    out.write(f"  {statuses}\n")
    inbound = data["inbound_rejects"]
    if inbound["count"]:
        causes = ", ".join(f"{name} {n:,}" for name, n in inbound["causes"].items())
        out.write(
            f"  inbound rejects: {inbound['count']:,} (mail from others refused by this server: {causes}),"
            " not counted as failures below\n"
        )
    if data["causes"]:
        out.write(f"\nfailures by cause ({data['failed']:,})\n")
        header: tuple[str, ...] = (
            "cause",
            "count",
            "share",
            "first seen",
            "last seen",
            "most frequent reply",
        )
        rows: list[tuple[str, ...]] = [
            (c["cause"], f"{c['count']:,}", _percent(c["share"]), c["first_seen"], c["last_seen"],
             f"{abbreviate(c['top_reply']['reply'], 90)} ({c['top_reply']['count']:,})")
            for c in data["causes"]
        ]  # fmt: skip
        _table(out, header, rows, indent="  ")
    failing = [d for d in data["domains"] if d["failed"]]
    if failing:
        shown = failing[:SUMMARY_DOMAINS]
        more = f", the top {len(shown)} of {len(failing)}" if len(failing) > len(shown) else ""
        out.write(f"\nfailures by destination domain{more}\n")
        header = ("domain", "failed", "share", "delivered", "deferred", "bounced", "first seen", "last seen",
                  "top cause")  # fmt: skip
        rows = [
            (clean(d["domain"]) or "-", f"{d['failed']:,}", _percent(d["share"]), f"{d['delivered']:,}",
             f"{d['deferred']:,}", f"{d['bounced']:,}", d["first_seen"], d["last_seen"], d["top_cause"])
            for d in shown
        ]  # fmt: skip
        _table(out, header, rows, indent="  ")


def _record(log: dict[str, Any]) -> str:
    """`Mar 18 10:00:03 4A1B2C3D4E bob@gmail.com (bounced)`: the log's words, made safe."""
    parts = [log["time"], log["queue_id"], log["recipient"] or "-", f"({log['status']})"]
    return clean(" ".join(p for p in parts if p))


def _percent(part: float, whole: float = 1.0) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
