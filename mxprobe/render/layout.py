"""Lines that fit: the output width, display width of text (CJK counts two), wrapping with a hanging indent
that never breaks inside a token (a reply code, an address, a record), and the symbols a terminal can show.

A token is a run of characters that are neither white space nor wide (CJK); wide characters are each their
own token, so Chinese text wraps between characters, but never before closing punctuation (，。）) or
after opening punctuation (（「). A token longer than the line is left whole on a line of its own: a record
or a URL cut in two is worse than a long line.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TextIO

DEFAULT_WIDTH = 100  # when not on a terminal and COLUMNS is not set
MIN_WIDTH = 40
MAX_WIDTH = 1000
_NO_BREAK_BEFORE = set("，。、；：！？）」』》〉】’”…,.;:!?)]}%")
_NO_BREAK_AFTER = set("（「『《〈【‘“([{")


def output_width(stream: TextIO | None = None) -> int:
    """COLUMNS when set (tests, `COLUMNS=80 mxprobe ... | less`), else the terminal's width, else 100."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isascii() and text.isdigit():
        return min(max(int(text), MIN_WIDTH), MAX_WIDTH)
    out = stream if stream is not None else sys.stdout
    try:
        if out is not None and out.isatty():
            return min(max(shutil.get_terminal_size().columns, MIN_WIDTH), MAX_WIDTH)
    except (OSError, ValueError):
        pass
    return DEFAULT_WIDTH


@lru_cache(maxsize=4096)
def _char_cells(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cells(text: str) -> int:
    """Columns `text` takes on a terminal."""
    if text.isascii():
        return len(text)
    return sum(_char_cells(c) for c in text)


def _is_wide(char: str) -> bool:
    return not char.isascii() and _char_cells(char) == 2


def _tokens(text: str) -> list[str]:
    """Words, single wide characters and runs of white space (kept as they are: a server's text is shown
    exactly), with no-break punctuation glued to its neighbour."""
    out: list[str] = []
    adjacent = False  # the last token touches the next character (no white space between)
    for char in text:
        if char.isspace():
            if out and out[-1].isspace():
                out[-1] += " " if char in "\r\n" else char
            else:
                out.append(" " if char in "\r\n" else char)
            adjacent = False
            continue
        if adjacent:
            last = out[-1]
            glued = (
                char in _NO_BREAK_BEFORE
                or last[-1] in _NO_BREAK_AFTER
                or not (_is_wide(char) or _is_wide(last[-1]))
            )
            if glued:
                out[-1] = last + char
                continue
        out.append(char)
        adjacent = True
    return out


def wrap(text: str, width: int, indent: str = "", hang: str | None = None) -> list[str]:
    """`text` as lines of at most `width` columns: the first starts with `indent`, the others with `hang`
    (default: `indent`). Tokens are never split; one longer than the room is alone on its line. White space
    inside a line is kept as it is; a line break replaces the white space it falls on."""
    hang = indent if hang is None else hang
    lines: list[str] = []
    line, used, prefix = indent, cells(indent), indent
    space = ""
    for token in _tokens(text):
        if token.isspace():
            space = token if line != prefix else ""
            continue
        size = cells(token)
        if line != prefix and used + cells(space) + size > width:
            lines.append(line.rstrip())
            line, used, prefix = hang, cells(hang), hang
            space = ""
        line += space + token
        used += cells(space) + size
        space = ""
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def join_parts(parts: list[str], width: int, sep: str = "  ", hang: str = "  ") -> list[str]:
    """Parts (`domain example.com`, `ip 192.0.2.1 (given)`) on lines of `width`, a part never split unless
    it alone is longer than a line."""
    lines: list[str] = []
    line = ""
    for part in parts:
        if line and cells(line + sep + part) > width:
            lines.append(line)
            line = hang
        line = part if not line else line + (sep if line.strip() else "") + part
        if cells(line) > width:
            wrapped = wrap(line, width, "", hang)
            lines += wrapped[:-1]
            line = wrapped[-1]
    if line.strip():
        lines.append(line)
    return lines


def shorten(text: str, width: int) -> str:
    """One line of at most `width` columns, cut between tokens with an ellipsis mark when too long."""
    flat = " ".join(text.split())
    if cells(flat) <= width:
        return flat
    room = width - 1
    out, used = "", 0
    for token in _tokens(flat):
        size = cells(token)
        if used + size > room:
            break
        out += token
        used += size
    out = out.rstrip(" ,;:(")
    return (out or flat[: max(room, 1)]) + SYMBOLS.ellipsis


@dataclass(frozen=True)
class Symbols:
    passed: str
    warned: str
    failed: str
    errored: str
    skipped: str
    arrow: str
    ellipsis: str
    bullet: str


UNICODE = Symbols("✔", "!", "✖", "?", "-", "→", "…", "•")
ASCII = Symbols("+", "!", "x", "?", "-", "->", "...", "*")
SYMBOLS = UNICODE


def can_encode(stream: object, sample: str = "✔✖→…•") -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        sample.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def choose_symbols(stream: object) -> Symbols:
    """ASCII marks for a terminal whose encoding cannot show ✔ ✖ → (PYTHONIOENCODING=ascii, Latin-1)."""
    global SYMBOLS
    SYMBOLS = UNICODE if can_encode(stream) else ASCII
    return SYMBOLS
