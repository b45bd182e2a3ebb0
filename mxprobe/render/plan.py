"""The plan ("What to do") as text lines: one numbered group per party who must act, each action wrapped with
a hanging indent, each record on its own line exactly as it is to be published.

A TXT record longer than the line is written as several quoted strings inside parentheses, which is the
same record in zone-file syntax (RFC 1035 section 5.1; the strings of an SPF or DMARC record are joined
without spaces, RFC 7208 section 3.3), so nothing is cut and every line still fits. Other records and links
are never broken: one longer than the line stands alone on it.
"""

from __future__ import annotations

import re

from mxprobe.render import clean
from mxprobe.render.layout import SYMBOLS, cells, wrap
from mxprobe.service.plan import Group
from mxprobe.words import say

_TXT = re.compile(r'^(?P<head>\S+\s+(?:\d+\s+)?(?:IN\s+)?TXT\s+)"(?P<data>(?:[^"\\]|\\.)*)"$')
_QUOTED = re.compile(r"`([^`]+)`")
RECORD_INDENT = 4  # columns of a record under its action's text


def record_lines(record: str, width: int, indent: str) -> list[str]:
    """`record` as zone-file lines of at most `width` columns when it can be split (TXT), else whole."""
    if cells(indent + record) <= width:
        return [indent + record]
    match = _TXT.match(record)
    if match is None:
        return [indent + record]
    head, data = match.group("head") + "( ", match.group("data")
    room = max(width - cells(indent) - cells(head) - 4, 16)  # the quotes, a space and ")"
    chunks: list[str] = []
    current = ""
    words = re.split(r"(?<= )", data)  # keep each space at the end of its word: the join is exact
    for word in (w[i : i + room] for w in words for i in range(0, len(w), room)):  # a long word is cut
        if current and cells(current + word) > room:
            chunks.append(current)
            current = ""
        current += word
    chunks.append(current)
    pad = indent + " " * cells(head)
    lines = [f'{indent}{head}"{chunks[0]}"'] + [f'{pad}"{chunk}"' for chunk in chunks[1:]]
    lines[-1] += " )"
    return lines


def _who(group: Group, lang: str) -> str:
    return say(lang, f"who-{group.actor.value}", who=group.who)


def _trim(text: str) -> str:
    """The words around a record without the punctuation that tied them to it (English or full-width)."""
    return text.strip(" (),").lstrip("，。：；").rstrip("，；").strip()


def _segments(text: str, records: tuple[str, ...]) -> list[tuple[bool, str]]:
    """The action's text with each quoted record taken out to its own line: (is_record, text) in order."""
    out: list[tuple[bool, str]] = []
    last = 0
    for match in _QUOTED.finditer(text):
        if match.group(1).strip() not in records:
            continue
        out.append((False, text[last : match.start()]))
        out.append((True, match.group(1).strip()))
        last = match.end()
    out.append((False, text[last:]))
    cleaned = [(is_record, part if is_record else _trim(part)) for is_record, part in out]
    kept = [(r, p) for r, p in cleaned if r or p not in ("", ".", ",", ";")]
    shown = {p for r, p in kept if r}
    kept += [(True, record) for record in records if record not in shown]
    return kept


def plan_lines(groups: list[Group], width: int, lang: str) -> list[str]:
    """The plan as lines of at most `width` columns (records and links excepted when longer)."""
    if not groups:
        return [say(lang, "nothing-to-do")]
    lines = [say(lang, "what-to-do")]
    for number, group in enumerate(groups, 1):
        if number > 1:
            lines.append("")
        head = f"{number}. "
        hang = " " * len(head)
        lines += wrap(clean(_who(group, lang)), width, head, hang)
        if group.contact:
            lines += wrap(clean(group.contact), width, hang, hang + "  ")
        bullet = f"{hang}{SYMBOLS.bullet} "
        text_hang = hang + " " * (cells(bullet) - len(hang))
        for action in group.actions:
            first = True
            for is_record, raw in _segments(action.text, action.records):
                part = clean(raw)
                if is_record:
                    lines += record_lines(part, width, text_hang + " " * RECORD_INDENT)
                else:
                    lines += wrap(part, width, bullet if first else text_hang, text_hang)
                    first = False
            for link in action.links:
                lines.append(text_hang + " " * RECORD_INDENT + clean(link))
    return lines
