"""The MIME side of a bounce: the parts of a report, decoded, with bounded work whatever the nesting.

`read_parts` parses a message with the stdlib `email` package and collects its text, HTML and
delivery-status parts and the headers of the returned message, never descending into the returned message
(its text is the user's). A message nested deeper than `MAX_PARTS` multipart and message parts is read as
plain text instead (the stdlib parser recurses once per level): 1,000 nested levels end in a note, not a
RecursionError. Line endings are made LF before anything is read, so CR-only, CRLF and LF copies of a
message give the same parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from mxprobe.bounce.model import HEAD

if TYPE_CHECKING:
    from email.message import Message

MAX_PARTS = 64  # multipart and message/* parts a bounce may hold before it is read as plain text
_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_TYPES = ("message/rfc822", "message/global")
_HEADER_TYPES = ("text/rfc822-headers", "text/global-headers")
_NESTING = re.compile(rb"^content-type:[ \t]*(?:multipart|message)/", re.I | re.M)
HEADER_NAMES = (
    "from", "to", "subject", "date", "received", "return-path", "mime-version", "content-type", "message-id",
    "delivered-to", "reporting-mta", "final-recipient",
)  # fmt: skip
# A MIME body pasted without the message's headers: a boundary line followed by a part's headers.
_PASTED_BOUNDARY = re.compile(r"^--([^\s]{1,70}?)[ \t]*\n(?=[ \t]*content-[\w-]+:)", re.I | re.M)
_HTML_BREAKS = re.compile(r"<(?:br|/p|/div|/tr|/td|/th|/li|/h[1-6]|/table)\b[^>]*>", re.I)
_HTML_DROP = re.compile(r"<(style|script|head)\b", re.I)
_HTML_TAG = re.compile(r"<[^<>]*>")


@dataclass
class Parts:
    """What a walk over the MIME tree found, the returned message's insides aside."""

    texts: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    dsn: list[dict[str, str]] = field(default_factory=list)  # delivery-status blocks, field names lower case
    returned: list[Message] = field(default_factory=list)  # headers of the returned message
    attached: list[Message] = field(default_factory=list)  # whole attached messages (a forwarded bounce?)
    defects: list[str] = field(default_factory=list)
    report_types: list[str] = field(default_factory=list)  # report-type of multipart/report parts
    too_deep: bool = False


def normalised(data: bytes) -> bytes:
    """CRLF and CR-only line ends made LF."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def read_parts(data: bytes) -> tuple[Message, Parts]:
    """The message (LF line ends) and its parts; never raises for bad input."""
    from email import message_from_bytes, policy

    parts = Parts()
    if _nested_parts(data) > MAX_PARTS:
        parts.too_deep = True
        msg = message_from_bytes(_head_only(data), policy=policy.compat32)
        parts.texts.append(data.decode("utf-8", "replace"))
        return msg, parts
    msg = message_from_bytes(data, policy=policy.compat32)
    if "final-recipient" in msg or "reporting-mta" in msg:  # a delivery-status part pasted alone
        parts.dsn.extend(field_blocks(data.decode("utf-8", "replace")))
    elif not any(name in msg for name in HEADER_NAMES):  # pasted text with no mail headers
        text = data.decode("utf-8", "replace")
        boundary = _PASTED_BOUNDARY.search(text[:HEAD])
        if boundary is not None:  # a MIME body: parse it as the multipart report it is
            from email import message_from_string

            header = f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary[1]}"'
            _walk(message_from_string(f"{header}\n\n{text}", policy=policy.compat32), parts)
        else:
            parts.texts.append(text)
    else:
        _walk(msg, parts)
    return msg, parts


def _nested_parts(data: bytes) -> int:
    """Multipart and message/* Content-Type lines, counted up to one past `MAX_PARTS`."""
    return sum(1 for _ in islice(_NESTING.finditer(data), MAX_PARTS + 1))


def _head_only(data: bytes) -> bytes:
    end = data.find(b"\n\n")
    return data if end < 0 else data[: end + 1]


def _walk(root: Message, parts: Parts) -> None:
    """Collect the parts of a report, depth first, without recursion."""
    stack = [root]
    while stack:
        part = stack.pop()
        parts.defects.extend(type(d).__name__ for d in part.defects)
        ctype = part.get_content_type()
        if ctype == "multipart/report":
            parts.report_types.append(str(part.get_param("report-type", "") or "").lower())
        if ctype in _DSN_TYPES:
            parts.dsn.extend(_dsn_blocks(part))
        elif ctype in _RETURNED_TYPES:
            inner: Any = part.get_payload()
            if isinstance(inner, list) and inner:
                parts.returned.append(inner[0])
                parts.attached.append(inner[0])
            elif isinstance(inner, str):
                parts.returned.append(headers(inner))
        elif ctype in _HEADER_TYPES:
            parts.returned.append(headers(decoded(part)))
        elif part.is_multipart():
            payload: Any = part.get_payload()
            stack.extend(reversed(payload) if isinstance(payload, list) else [])
        elif part.get_content_maintype() == "multipart":  # its boundary is broken: its body is all there is
            parts.texts.append(decoded(part))
        elif ctype == "text/html":
            parts.html.append(decoded(part))
        elif ctype == "text/plain" or part.get_content_maintype() == "text":
            parts.texts.append(decoded(part))


def headers(text: str) -> Message:
    from email.parser import HeaderParser

    return HeaderParser().parsestr(text, headersonly=True)


def decoded(part: Message) -> str:
    """A part's text: transfer encoding undone, charset applied, bad bytes replaced, LF line ends."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    payload = normalised(payload)
    charset = (part.get_content_charset() or "utf-8").lower()
    if charset in ("gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936"):
        charset = "gb18030"  # the superset: senders label GBK text gb2312
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


def _dsn_blocks(part: Message) -> Iterator[dict[str, str]]:
    """The field blocks of a delivery-status part, as {lower-case name: value with folds joined}."""
    payload: Any = part.get_payload()
    if isinstance(payload, str):  # a delivery-status part in base64 or quoted-printable: not split yet
        yield from field_blocks(decoded(part))
        return
    for block in payload:
        yield from _fields(block)


def field_blocks(text: str) -> Iterator[dict[str, str]]:
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        if chunk.strip():
            yield from _fields(headers(chunk))


def _fields(block: Message) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    for name, value in block.items():
        fields.setdefault(name.lower(), str(value))
    if fields:
        yield fields


def subject(msg: Message) -> str:
    """The decoded Subject (`=?gbk?b?...?=` is how NetEase says 系统退信), or its raw text."""
    from email.errors import HeaderParseError
    from email.header import decode_header, make_header

    raw = str(msg.get("subject", ""))
    try:
        return str(make_header(decode_header(raw)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return raw


def html_text(html: str) -> str:
    import html as html_lib

    text = _HTML_TAG.sub(" ", _HTML_BREAKS.sub("\n", _without_styles(html)))
    return html_lib.unescape(text)


def _without_styles(html: str) -> str:
    """The HTML without its style, script and head elements; an unclosed one drops the rest (linear)."""
    kept, at = [], 0
    lowered = html.lower()
    while (m := _HTML_DROP.search(html, at)) is not None:
        kept.append(html[at : m.start()])
        end = lowered.find(f"</{m.group(1).lower()}", m.end())
        if end < 0:
            return " ".join(kept)
        at = lowered.find(">", end)
        at = len(html) if at < 0 else at + 1
    kept.append(html[at:])
    return " ".join(kept)
