"""Finding SMTP replies in free text: one reply, a bounce message, a mail log, or stdin with a reply a line.

Everything downstream (the catalogue matcher, bounce and log summaries) starts from a `Reply`, so this module
knows nothing about the catalogue. It decides where a reply starts, what its code, enhanced code and text are,
and which following lines belong to it: `550-` continuation lines, and the indented lines a bounce message
wraps a long reply into.

Where a reply starts: a three-digit code 2xx-5xx standing alone (after the start, white space or punctuation
such as `(`, `;`, `'`, but not after a letter, digit, `.`, `:`, `=`, `/`, `@` or `#`, so that times, IP
addresses, ports, `delay=300` and URLs never count) and followed by a space, a `-` or the end of the line.
When a line holds several, the first one followed by an enhanced status code of the same class wins
(`said: 550 5.1.1 ...`), else the first one.

Only the first `MAX_LINE` characters of a line are scanned, and a reply keeps at most `MAX_LINE` characters
of text: a 1 MB line costs what a 4 KiB one does, and memory stays flat whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

MAX_LINE = 4096
_READ_LIMIT = MAX_LINE * 4  # bytes: MAX_LINE characters of UTF-8 take at most four bytes each

_START = re.compile(
    r"(?<![\w.:/=@#+\-])([2-5][0-9][0-9])(?:(-)|[ \t]+|$)(?:([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![\w.\-]))?"
)
# A line that begins with a reply code: a continuation line of a multi-line reply, or a reply of its own.
_LEADING = re.compile(r"[ \t]*([2-5][0-9][0-9])(-|[ \t]|$)")


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply as found in text.

    `text` is what follows the code and enhanced code, every line joined with a space and the repeated
    `550-5.7.26` prefixes of continuation lines removed; `raw` is the reply as found, from its code on,
    lines joined with a newline.
    """

    code: int
    enhanced: str
    text: str
    raw: str


def parse_reply(text: str) -> Reply | None:
    """The first SMTP reply in `text` (a reply, a log line, a pasted bounce), or None when it holds none."""
    for _, reply in iter_replies(text.splitlines()):
        return reply
    return None


def iter_replies(lines: Iterable[str]) -> Iterator[tuple[str, Reply]]:
    """Each reply found in `lines`, with the line(s) that carried it (joined with a newline)."""
    return ReplyScanner().scan(lines)


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """The lines of a byte stream, decoded as UTF-8 with replacement characters, each cut to a bounded length.

    The rest of an over-long line is read and dropped in bounded chunks, so a 50 MB line never sits in memory.
    """
    while chunk := stream.readline(_READ_LIMIT):
        if not chunk.endswith(b"\n"):
            while (rest := stream.readline(_READ_LIMIT)) and not rest.endswith(b"\n"):
                pass
        yield chunk.decode("utf-8", "replace")


@dataclass
class ReplyScanner:
    """Streams replies out of lines and counts the lines that carried none (for "skipped N lines").

    A reply is yielded once the line after it shows that it is complete, so at most one reply is held.
    """

    lines: int = 0  # non-blank lines read
    used: int = 0  # non-blank lines that were part of a reply
    binary: int = 0  # lines holding a NUL character: the input is probably not text

    @property
    def skipped(self) -> int:
        return self.lines - self.used

    def scan(self, lines: Iterable[str]) -> Iterator[tuple[str, Reply]]:
        current: _Pending | None = None
        for line in lines:
            part = line[:MAX_LINE].rstrip("\r\n")
            blank = not part.strip()
            if not blank:
                self.lines += 1
                if "\x00" in part:
                    self.binary += 1
            if current is not None:
                if not blank and current.absorb(part):
                    self.used += 1
                    continue
                yield current.finish()
                current = None
            if not blank and (found := _find_start(part)) is not None:
                self.used += 1
                current = _Pending(part, found)
        if current is not None:
            yield current.finish()


def _find_start(line: str) -> re.Match[str] | None:
    first = None
    for m in _START.finditer(line):
        if m.group(3) is not None and m.group(3) == m.group(1)[0]:
            return m
        if first is None:
            first = m
    return first


@dataclass
class _Pending:
    """A reply whose following lines may still belong to it."""

    line: str
    start: re.Match[str]
    code: str = field(init=False)
    enhanced: str = field(init=False)
    open: bool = field(init=False)  # the last line seen ended its code with `-`: more lines are announced
    lines: list[str] = field(init=False)
    raw: list[str] = field(init=False)
    texts: list[str] = field(init=False)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        m = self.start
        self.code = m.group(1)
        self.enhanced = f"{m.group(3)}.{m.group(4)}.{m.group(5)}" if m.group(3) else ""
        self.open = m.group(2) == "-"
        self.lines = [self.line]
        self.raw = [self.line[m.start() :].strip()]
        self.texts = [self.line[m.end() :].strip()]
        self.size = len(self.line)

    def absorb(self, line: str) -> bool:
        """Take `line` when it continues this reply: `550-...`/`550 ...` after `550-`, or an indented fold."""
        lead = _LEADING.match(line)
        if lead is not None:
            if lead.group(1) != self.code or not self.open:
                return False
            self.open = lead.group(2) == "-"
            text = line[lead.end() :].strip()
            if self.enhanced and text.startswith(self.enhanced):
                text = text[len(self.enhanced) :].strip()
        elif line[:1] in (" ", "\t"):
            text = line.strip()
        else:
            return False
        if self.size < MAX_LINE:
            self.lines.append(line)
            self.raw.append(line.strip())
            self.texts.append(text[: MAX_LINE - self.size])
            self.size += len(line) + 1
        return True

    def finish(self) -> tuple[str, Reply]:
        text = _strip_repeats(" ".join(t for t in self.texts if t), self.code, self.enhanced)
        reply = Reply(code=int(self.code), enhanced=self.enhanced, text=text, raw="\n".join(self.raw))
        return "\n".join(self.lines), reply


def _strip_repeats(text: str, code: str, enhanced: str) -> str:
    """Remove the `550-5.7.26 ` prefixes that multi-line replies repeat, on their own lines or flattened."""
    if f"{code}-" not in text and not (enhanced and f"{code} {enhanced}" in text):
        return text
    if enhanced:
        e = re.escape(enhanced)
        prefix = rf"(?:^|(?<=\s))(?:{code}-(?:{e}(?!\S))?|{code}[ \t]+{e}(?!\S))[ \t]*"
    else:
        prefix = rf"(?:^|(?<=\s)){code}-[ \t]*"
    return re.sub(prefix, "", text).strip()
