"""Reading inputs: files, directories, maildirs and mboxes, as a stream of messages or of bounded lines.

Every reader here holds a bounded amount: a line is cut at `limit` bytes (the rest read and dropped in
chunks), a message at `MAX_MESSAGE` bytes. Line ends are CRLF, LF or CR alone (old Mac files): all three
give the same lines, the end made LF.

- `paths(args)`: the files named, in order; a directory's files in name order, recursively, hidden ones
  skipped; a maildir (a directory with `cur` and `new`) gives its messages.
- `messages(stream)`: the messages of an mbox (a `From ` line at the start or after a blank line starts one:
  mbox writers escape a body's `From ` as `>From `), or the stream as one message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_MESSAGE = 32 * 1024 * 1024  # bytes of one message kept; the rest is read and dropped
LINE_LIMIT = 4096 * 4  # bytes of a line of text kept (MAX_LINE characters of UTF-8)
MESSAGE_LINE_LIMIT = 1024 * 1024  # bytes of a line of a message kept (MIME lines are short; HTML may not be)
CHUNK = 64 * 1024
_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass
class Message:
    data: bytes
    index: int  # 1-based, in its file
    cut: bool  # larger than MAX_MESSAGE: the first part only


def paths(args: Iterable[str]) -> Iterator[str]:
    """The files to read: each argument, a directory's regular files (a maildir's cur/ and new/ first)."""
    for arg in args:
        path = Path(arg)
        if arg == "-" or not path.is_dir():
            yield arg
            continue
        yield from _directory(path)


def _directory(root: Path) -> Iterator[str]:
    if (root / "cur").is_dir() and (root / "new").is_dir():  # a maildir: tmp/ holds messages being written
        for sub in ("cur", "new"):
            yield from _files(root / sub)
        return
    yield from _files(root)


def _files(root: Path) -> Iterator[str]:
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            yield from _directory(entry)
        elif entry.is_file():
            yield str(entry)


def lines(stream: BinaryIO | _Prefixed, limit: int = LINE_LIMIT) -> Iterator[bytes]:
    """The lines of a byte stream, each ending in LF (the last one may have no end), each cut at `limit`
    bytes; CRLF, CR and LF ends alike."""
    pending = b""
    dropping = False  # the rest of an over-long line, already given cut
    while chunk := _read1(stream, CHUNK):
        data = pending + chunk
        at = 0
        end = len(data) - 1 if data.endswith(b"\r") else len(data)  # a CR at the end may start a CRLF
        for m in _EOL.finditer(data, 0, end):
            if not dropping:
                yield data[at : min(m.start(), at + limit)] + b"\n"
            dropping = False
            at = m.end()
        pending = data[at:]
        if len(pending) > limit:
            if not dropping:
                yield pending[:limit] + b"\n"
            dropping = True
            pending = b"\r" if pending.endswith(b"\r") else b""
    if pending and not dropping:
        yield pending.rstrip(b"\r") + (b"\n" if pending.endswith(b"\r") else b"")


def text_lines(stream: BinaryIO, limit: int = LINE_LIMIT) -> Iterator[str]:
    """`lines`, decoded as UTF-8 with replacement characters."""
    for line in lines(stream, limit):
        yield line.decode("utf-8", "replace")


def messages(stream: BinaryIO) -> Iterator[Message]:
    """The messages of an mbox, or the whole stream as one message; each at most `MAX_MESSAGE` bytes."""
    first = _read1(stream, 5)
    if first != b"From "[: len(first)] or len(first) < 5:
        data = first + _read_upto(stream, MAX_MESSAGE - len(first))
        yield Message(data, 1, bool(_read1(stream, 1)))
        _drain(stream)
        return
    yield from _mbox(_prefixed(first, stream))


def _mbox(stream_lines: Iterator[bytes]) -> Iterator[Message]:
    parts: list[bytes] = []
    size, index, cut, blank = 0, 0, False, True
    for line in stream_lines:
        if blank and line.startswith(b"From "):
            if index:
                yield Message(b"".join(parts), index, cut)
            parts, size, index, cut = [line], len(line), index + 1, False
        elif size + len(line) <= MAX_MESSAGE:
            parts.append(line)
            size += len(line)
        else:
            cut = True
        blank = line in (b"\n", b"")
    if index:
        yield Message(b"".join(parts), index, cut)


def _prefixed(first: bytes, stream: BinaryIO) -> Iterator[bytes]:
    return lines(_Prefixed(first, stream), MESSAGE_LINE_LIMIT)


class _Prefixed:
    """A stream whose first bytes were already read."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self._first = first
        self._rest = rest

    def read1(self, size: int) -> bytes:
        if self._first:
            chunk, self._first = self._first, b""
            return chunk
        return _read1(self._rest, size)

    read = read1


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox held in memory (any line ends), or `[data]` for any other input."""
    if not data.startswith(b"From "):
        return [data]
    import io

    return [m.data for m in _mbox(lines(io.BytesIO(data), MESSAGE_LINE_LIMIT))]


def _read1(stream: BinaryIO | _Prefixed, size: int) -> bytes:
    """What is there now, up to `size` bytes: a pipe that writes slowly is not waited on for more."""
    read1 = getattr(stream, "read1", None) or stream.read
    return bytes(read1(size))


def _read_upto(stream: BinaryIO, size: int) -> bytes:
    parts, left = [], size
    while left > 0 and (chunk := _read1(stream, min(left, CHUNK * 16))):
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _drain(stream: BinaryIO) -> None:
    while _read1(stream, CHUNK * 16):
        pass
