"""How an explained reply and the catalogue look to a person (a compact block) and to a script (JSON).

Piped output is plain text with the same words as on a terminal; rich (colours) is imported only when the
stream is a terminal, so `mxprobe explain` in a pipeline or a test never pays for it.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from typing import Any, TextIO

from mxprobe.catalogue import Entry, Explanation
from mxprobe.replies import EMAIL, bracketed_domain, named_ip

LANGS = ("en", "zh")

# Which `mxprobe` invocation proves or disproves a cause, by the checks the catalogue names for it: the IP
# checks, the handshake checks, and the sending domain's checks (spf, spf-record, dmarc, dkim, mx, dbl, ...).
_CHECK_GROUPS = {
    **dict.fromkeys(("ptr", "fcrdns", "dnsbl", "helo"), "ip"),
    **dict.fromkeys(("smtp", "tls", "mta-sts", "tls-rpt", "dane"), "smtp"),
}

_LABELS = {
    "en": {"meaning": "meaning", "cause": "cause", "advice": "advice", "check": "check", "entry": "entry"},
    "zh": {"meaning": "含义", "cause": "原因", "advice": "建议", "check": "检查", "entry": "条目"},
}
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


def default_lang() -> str:
    """`zh` when the locale (LC_ALL, else LC_MESSAGES, else LANG: POSIX precedence) is Chinese, else `en`."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def suggested_commands(exp: Explanation) -> list[str]:
    """The mxprobe invocations that check the cause, with the IP, domain or recipient the reply names."""
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
            recipient = EMAIL.search(exp.text)
            to = recipient.group(0) if recipient else "RECIPIENT"
            commands.append(f"mxprobe {bracketed_domain(exp.text) or 'YOUR_DOMAIN'} --to {to}")
    return commands


def abbreviate(text: str, width: int = 80) -> str:
    """One line of at most `width` characters, for error messages and headers."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class ExplanationWriter:
    """Writes explanations one at a time (stdin streams): JSON Lines, a plain block, or a rich block."""

    def __init__(self, out: TextIO, lang: str, *, as_json: bool = False) -> None:
        if isinstance(out, io.TextIOWrapper) and out.errors == "strict":
            out.reconfigure(errors="replace")  # a Latin-1 terminal gets "?" for Chinese, not a traceback
        self._out = out
        self._lang = lang
        self._json = as_json
        self._console: Any = None
        self._count = 0
        if not as_json and out.isatty():
            from rich.console import Console

            self._console = Console(file=out, highlight=False)

    def write(self, exp: Explanation) -> None:
        if self._json:
            self._out.write(json.dumps(exp.to_dict(), ensure_ascii=False) + "\n")
            return
        if self._count:
            self._out.write("\n")
        self._count += 1
        rows = _rows(exp, self._lang)
        header = (
            f"{exp.code}{' ' + exp.enhanced if exp.enhanced else ''} {abbreviate(exp.text, 100)}".rstrip()
        )
        if self._console is None:
            width = max(len(label) for label, _, _ in rows)
            lines = [header] + [f"  {label.ljust(width)}  {value}" for label, value, _ in rows]
            self._out.write("\n".join(lines) + "\n")
            return
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))  # long values wrap under their own column, not under the labels
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        for label, value, style in rows:
            grid.add_row(label, Text(value, style=style))
        self._console.print(Text(header, style=f"bold {_CLASS_STYLES[exp.class_]}"))
        self._console.print(Padding(grid, (0, 0, 0, 2)))


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
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header, highlight=False)
        for row in rows:
            table.add_row(*row)
        Console(file=out).print(table)
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        out.write(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1] + "\n"
        )
