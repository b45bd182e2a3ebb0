"""How an explained reply and the catalogue look to a person (a compact block) and to a script (JSON).

Piped output is plain text with the same words as on a terminal; rich (colours) is imported only when the
stream is a terminal, so `mxprobe explain` in a pipeline or a test never pays for it.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from mxprobe.catalogue import Entry, Explanation
from mxprobe.render import clean
from mxprobe.render.layout import cells, output_width, wrap
from mxprobe.replies import address, bracketed_domain, named_ip

if TYPE_CHECKING:
    from mxprobe.model import CheckResult

LANGS = ("en", "zh")


# Which `mxprobe` invocation proves or disproves a cause, by the checks the catalogue names for it: the IP
# checks, the handshake checks, and the sending domain's checks (spf, spf-record, dmarc, dkim, mx, dbl, ...).
def _check_group(check_id: str) -> str:
    """`ip`, `smtp` or `domain`: what the registry says the check needs."""
    from mxprobe.registry import spec

    found = spec(check_id)
    return found.needs if found is not None else "domain"


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


_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)


def reply_links(exp: Explanation) -> list[str]:
    """The lookup pages a reply points to (a SpamCop or Spamhaus URL with the IP in it): the advice gives
    those, since they are the receiver's own words about this very case."""
    return list(dict.fromkeys(m.group(0).rstrip(".,;:") for m in _URL.finditer(exp.text)))[:3]


def suggested_commands(exp: Explanation, facts: dict[str, str] | None = None) -> list[str]:
    """The mxprobe invocations that check the cause, with the IP, domain or recipient the reply names, or
    those the user gave (`facts`: ip, domain); a placeholder only where nothing is known (terminal-safe)."""
    facts = facts or {}
    groups: list[str] = []
    for check in exp.checks:
        group = _check_group(check)
        if group not in groups:
            groups.append(group)
    commands = []
    for group in groups:
        ip = facts.get("ip") or named_ip(exp.text) or "SENDING-IP"
        domain = facts.get("domain") or bracketed_domain(exp.text) or "SENDING-DOMAIN"
        if group == "ip":
            commands.append(f"mxprobe --ip {ip}")
        elif group == "domain":
            commands.append(f"mxprobe {domain}" + (f" --ip {ip}" if ip != "SENDING-IP" else ""))
        else:
            commands.append(f"mxprobe {domain} --to {address(exp.text) or 'RECIPIENT'}")
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

    def __init__(
        self, out: TextIO, lang: str, *, as_json: bool = False, facts: dict[str, str] | None = None
    ) -> None:
        if isinstance(out, io.TextIOWrapper) and out.errors == "strict":
            out.reconfigure(errors="replace")  # a Latin-1 terminal gets "?" for Chinese, not a traceback
        self._out = out
        self._lang = self.lang = lang
        self._json = as_json
        self._facts = facts or {}
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
                if not bounce.get("smtp_reply", True):
                    data["code"] = None  # no SMTP reply: the code would be a stand-in (issue 11)
            if log is not None:
                data["log"] = log
            if checks is not None:
                data["check"] = [c.to_dict() for c in checks]
            self._out.write(json.dumps(data, ensure_ascii=False) + "\n")
            return
        if self._count:
            self._out.write("\n")
        self._count += 1
        rows = _rows(exp, self._lang, self._facts)
        if bounce is not None:
            rows.insert(0, (_LABELS[self._lang]["recipient"], _recipient(bounce), "bold"))
        if log is not None:
            rows.insert(0, (_LABELS[self._lang]["record"], _record(log), "bold"))
        if checks is not None:
            ran = ", ".join(c.id for c in checks)
            rows.append((_LABELS[self._lang]["checked"], ran or _NOTHING_TO_CHECK[self._lang], "cyan"))
        shows_code = replied and exp.code is not None and (bounce is None or bounce["smtp_reply"])
        code = f"{exp.code} " if shows_code else ""
        shown = abbreviate(exp.text, SHOWN_REPLY)
        header = f"{code}{exp.enhanced + ' ' if exp.enhanced else ''}{shown}".rstrip()
        if self._console is None:
            self._out.write("\n".join(_block(header, rows, output_width(self._out))) + "\n")
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
            from mxprobe.render.report import check_block

            width = output_width(self._out)
            lines = [line for check in checks for line in check_block(check, width, self._lang)]
            self._out.write("".join(line + "\n" for line in lines))


def _block(header: str, rows: list[tuple[str, str, str]], width: int) -> list[str]:
    """The plain block: the reply, then `label  value` rows, each value wrapped under itself."""
    label_width = max(cells(label) for label, _, _ in rows)
    lines = wrap(header, width, "", "    ")
    for label, value, _ in rows:
        lead = f"  {label}{' ' * (label_width - cells(label))}  "
        lines += wrap(value, width, lead, " " * cells(lead))
    return lines


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


def _rows(exp: Explanation, lang: str, facts: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
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
    rows += [(labels["advice"], clean(link), "") for link in reply_links(exp)]
    rows += [(labels["check"], command, "cyan") for command in suggested_commands(exp, facts)]
    generic, unknown = _NOT_SPECIFIC[lang]
    if exp.specific:
        rows.append((labels["entry"], exp.entry, "dim"))
    else:
        rows.append((labels["entry"], f"{exp.entry} ({generic})" if exp.entry else f"- ({unknown})", "dim"))
    return rows


_ENTRY_COLUMNS = {
    "en": ("id", "code", "enhanced", "tag", "cause", "meaning"),
    "zh": ("条目", "代码", "增强码", "标签", "原因", "含义"),
}


def write_entries(entries: Sequence[Entry], lang: str, out: TextIO, *, as_json: bool = False) -> None:
    """The catalogue listing of `mxprobe codes`: a JSON array, a rich table, or aligned plain columns."""
    if as_json:
        out.write(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2) + "\n")
        return
    header = _ENTRY_COLUMNS.get(lang, _ENTRY_COLUMNS["en"])
    rows = [(e.id, str(e.code or ""), e.enhanced, e.tag, e.cause, e.meaning.get(lang)) for e in entries]
    _table(out, header, rows)


def _table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = "") -> None:
    from mxprobe.render.table import write_table

    write_table(out, header, rows, indent=indent)


def write_summary(data: dict[str, Any], out: TextIO, *, as_json: bool = False, lang: str = "en") -> None:
    """A mail log's summary (`explain --summary`): mxprobe/render/logsummary.py."""
    from mxprobe.render.logsummary import write_summary as write

    write(data, out, as_json=as_json, lang=lang)


def _record(log: dict[str, Any]) -> str:
    """`Mar 18 10:00:03 4A1B2C3D4E bob@gmail.com (bounced)`: the log's words, made safe."""
    parts = [log["time"], log["queue_id"], log["recipient"] or "-", f"({log['status']})"]
    return clean(" ".join(p for p in parts if p))
