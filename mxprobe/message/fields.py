"""A delivered message's header fields, in order, read within fixed limits (RFC 5322 §2.2, §3.6).

The header block is read as the receiver left it: top = newest. Folding is undone (RFC 5322 §2.2.3), field
values are kept as written (encoded words are decoded only for display, RFC 2047), and the raw bytes stay
untouched for DKIM and ARC, which sign exactly what was sent. An mbox `From ` line (Thunderbird, Apple Mail
exports) is dropped. Headers pasted alone (no body) are a message too: DKIM's body hash then cannot be
checked, which the report says.

Limits make hostile input cheap: Postfix's default `header_size_limit` is 102400 bytes for one header
(postconf(5)), so a longer field is not a real message; the whole header block and the number of fields are
capped too, and a message larger than `MAX_SIZE` is not read at all.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import re
from dataclasses import dataclass, field

from mxprobe.errors import InputError

MAX_SIZE = 32 * 1024 * 1024  # bytes of a message read; a larger one is refused (exit 2)
MAX_FIELD = 102_400  # one header field (Postfix header_size_limit)
MAX_HEADER = 512 * 1024  # the whole header block
MAX_FIELDS = 2_000  # fields in the header block
_NAME = re.compile(rb"^([!-9;-~]{1,76})[ \t]*:")  # RFC 5322 §3.6.8 field-name: printable ASCII but ':'
_BLANK = re.compile(rb"\r?\n\r?\n")


@dataclass
class Field:
    name: str  # as written
    value: str  # unfolded, without the trailing line break; undecodable bytes replaced
    index: int  # 0 = topmost

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass
class Message:
    fields: list[Field]
    raw: bytes  # the message as DKIM sees it (mbox line dropped)
    has_body: bool
    notes: list[str] = field(default_factory=list)

    def all(self, name: str) -> list[Field]:
        key = name.lower()
        return [f for f in self.fields if f.key == key]

    def first(self, name: str) -> Field | None:
        key = name.lower()
        return next((f for f in self.fields if f.key == key), None)

    def text(self, name: str) -> str:
        """The first field of that name, decoded for display (RFC 2047), or ""."""
        found = self.first(name)
        return decoded(found.value) if found is not None else ""


def decoded(value: str) -> str:
    """Encoded words (=?charset?B/Q?...?=) decoded for display; the value as written when they are broken."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError, email.errors.MessageError):
        return value


def address(value: str) -> str:
    """The addr-spec of a From/Return-Path value, lower-cased domain; "" when there is none (`<>`)."""
    pairs = email.utils.getaddresses([value])
    found = next((a for _, a in pairs if a), "")
    local, at, host = found.rpartition("@")
    return f"{local}@{host.lower().rstrip('.')}" if at and local else ""


def _split(raw: bytes) -> tuple[bytes, bool]:
    """The header block and whether a body follows (a blank line ends the block)."""
    end = _BLANK.search(raw, 0, MAX_HEADER + 4)
    if end is None:
        if len(raw) > MAX_HEADER:
            raise InputError(f"the header block is larger than {MAX_HEADER // 1024} KiB: not a mail message")
        return raw, False
    return raw[: end.start()], True


def _lines(block: bytes) -> list[bytes]:
    """Physical lines joined into one line per field (folding undone)."""
    out: list[bytearray] = []
    for line in block.split(b"\n"):
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t") and out:
            if len(out[-1]) + len(line) > MAX_FIELD:
                raise InputError(f"a header field is longer than {MAX_FIELD} bytes: not a mail message")
            out[-1] += b" " + line.strip(b" \t")
        elif line:
            out.append(bytearray(line))
        if len(out) > MAX_FIELDS:
            raise InputError(f"more than {MAX_FIELDS} header fields: not a mail message")
    return [bytes(b) for b in out]


def parse(raw: bytes) -> Message:
    """The fields of a message (or of headers pasted alone). InputError when it is not a mail message."""
    if len(raw) > MAX_SIZE:
        raise InputError(f"the message is larger than {MAX_SIZE // (1024 * 1024)} MiB: not read")
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    raw = raw.lstrip(b"\r\n")
    block, has_body = _split(raw)
    if b"\0" in block:
        raise InputError("the header block holds NUL bytes: binary data, not a mail message")
    fields: list[Field] = []
    notes: list[str] = []
    for line in _lines(block):
        if len(line) > MAX_FIELD:
            raise InputError(f"a header field is longer than {MAX_FIELD} bytes: not a mail message")
        m = _NAME.match(line)
        if m is None:
            notes.append(f"a header line without a field name was skipped: {line[:40]!r}")
            continue
        name = m.group(1).decode("ascii")
        value = line[m.end() :].strip().decode("utf-8", "replace")
        fields.append(Field(name, value, len(fields)))
    if not fields:
        raise InputError("no mail header field found: not a mail message")
    if not has_body:
        notes.append("headers only (no body): DKIM body hashes cannot be checked")
    return Message(fields, raw, has_body, notes)
