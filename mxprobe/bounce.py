"""Bounce messages (delivery status notifications): which recipients failed, what the receiver replied, why.

Two sources, the structured one first:
- an RFC 3464 report (`multipart/report; report-type=delivery-status`), read with the stdlib `email`
  package: per recipient Final-Recipient, Action, Status, Remote-MTA and Diagnostic-Code. Only `failed` and
  `delayed` recipients are failures; `delivered`, `relayed` and `expanded` ones are counted, not shown.
- the text a mail system writes for people (Postfix, Exim, qmail, Sendmail, Exchange, Gmail, Chinese
  providers' 退信; the phrases are data, in checks/bounces.toml), for bounces without a delivery-status part
  and for recipients whose Diagnostic-Code holds no SMTP reply. The text is read line by line up to the copy
  of the returned message: each SMTP reply found belongs to the last recipient address named before it
  (addresses of the sender and of the mailer daemon excluded), and each `host NAME[IP]` names its remote MTA.

A delivery-status report is also found where a user's paste or a plain-text bounce leaves it: a MIME body
pasted without its headers (it starts at a `--boundary` line) is parsed as the multipart it is, and the
per-recipient fields written inline in a text (`Final-Recipient:` ... `Diagnostic-Code:`) are read as a
report, the text before them being the notification and the text after them the returned message.

With a report, there is one result per failed recipient: its delivery-status fields (the text part only
completes them), never one for the text part and one for the Diagnostic-Code. Without one, replies that say
the same thing twice are shown once; different replies for one recipient are all shown. A recipient that got
no SMTP reply (`connect to ...: Connection timed out`) is explained from its status code (RFC 3463) through
`replies.status_reply`.

The sending IP, for `explain --check`: the IP the reply itself names (`[192.0.2.1]`: what the receiver saw),
else the first hop of the returned message's Received headers that came from outside private ranges and was
not an authenticated submission (a user's home IP is not the sending MTA's). None rather than a wrong guess.

Bad input never raises: a truncated or malformed MIME message is read as far as it goes and `notes` says so;
undecodable bytes become replacement characters. `email` is imported only when a bounce is parsed, so the
plain `explain` path never pays for it.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from mxprobe.catalogue import Catalogue, Explanation
from mxprobe.data import data_file
from mxprobe.replies import (
    EMAIL,
    MAX_LINE,
    Reply,
    ReplyScanner,
    iter_replies,
    named_ip,
    reply_start,
    status_reply,
)

if TYPE_CHECKING:
    from email.message import Message

HEAD = 64 * 1024  # bytes looked at to tell a bounce from a log or replies
MAX_SIZE = 32 * 1024 * 1024  # bytes of a bounce read; the report comes first, the returned message last

MAX_FORWARDS = 3  # a bounce forwarded inside a forward ...: attached messages looked into
FAILED_ACTIONS = ("failed", "delayed")
_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_TYPES = ("message/rfc822", "message/global")
_HEADER_TYPES = ("text/rfc822-headers", "text/global-headers")
_MIME_REPORT = re.compile(r"content-type:\s*multipart/report\b[^\n]*(?:\n[ \t][^\n]*)*delivery-status", re.I)
_DSN_PART = re.compile(r"content-type:\s*message/(?:global-)?delivery-status", re.I)
_STATUS = re.compile(r"\b([245])\.([0-9]{1,3})\.([0-9]{1,3})\b")
_MBOX_FROM = re.compile(rb"^From [^\r\n]*\r?\n", re.M)
_QMAIL_STATUS = re.compile(r"\(#([245]\.[0-9]{1,3}\.[0-9]{1,3})\)")
_REMOTE = re.compile(
    r"\b(?:host|connect to)\s+([a-z0-9][\w.-]*)\s?\[((?:ipv6:)?[0-9a-f.:]+)\]"  # Postfix, Exim: host NAME[IP]
    r"|^\s*([0-9]{1,3}(?:\.[0-9]{1,3}){3}) does not like"  # qmail
    r"|\bconnected to ([0-9a-f.:]+) but",
    re.I,
)
# Postfix's line for a recipient that got no SMTP reply: `<bob@example.net>: connect to mx...: Connection
# refused`, `... Host or domain name not found. Name service error for name=...`.
_UNREACHED = re.compile(
    r"^\s*<([^<>\s@]+@[^<>\s]+)>(?:\s*\(expanded from [^)]*\))?:\s*"
    r"(?=.*(?:connect to|connection|timed out|host or domain name not found|name service error"
    r"|no route to host|network is unreachable|lost connection))",
    re.I,
)
_NO_DOMAIN = re.compile(r"host or domain name not found|host not found", re.I)
_EXCHANGE_HASH = re.compile(r"(?<=\s)#(?=[245][0-9][0-9] [245]\.)")  # `mx.example.net #550 5.1.1 ... ##`
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_HEADER_NAMES = (
    "from", "to", "subject", "date", "received", "return-path", "mime-version", "content-type", "message-id",
    "delivered-to", "reporting-mta", "final-recipient",
)  # fmt: skip
_MARKER_LEAD = re.compile(r"^[\W_]+")  # dashes, spaces, &nbsp; before `Original message`, `原始邮件`
_HEADER_LINE = re.compile(r"([!-9;-~]+):[ \t]")
# A MIME body pasted without the message's headers: a boundary line followed by a part's headers.
_PASTED_BOUNDARY = re.compile(r"^--([^\s]{1,70}?)[ \t]*\r?\n(?=[ \t]*content-[\w-]+:)", re.I | re.M)
# The fields of a delivery-status report (RFC 3464 2.2, 2.3) that start one written inline in a text.
_REPORT_START = re.compile(r"(?:reporting-mta|final-recipient|original-recipient|arrival-date):", re.I)
_FIELD_LINE = re.compile(r"[a-z][\w-]*:", re.I)
# A recipient's fields of a report, as a text holds them: Final-Recipient, then Action or Status.
_INLINE_RECIPIENT = re.compile(
    r"^(?:final|original)-recipient:[^\n]*\n(?:[^\n]*\n){0,6}?(?:action|status):", re.I | re.M
)
_HTML_BREAKS = re.compile(r"<(?:br|/p|/div|/tr|/td|/th|/li|/h[1-6]|/table)\b[^>]*>", re.I)
_HTML_DROP = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.I | re.S)
_HTML_TAG = re.compile(r"<[^>]*>")
_RECEIVED_FROM = re.compile(r"^\s*from\s+(.*?)\s+by\s", re.I | re.S)
_RECEIVED_IP = re.compile(r"\[(?:ipv6:)?([0-9a-f.:]+)\]|\(([0-9a-f.:]{7,})\)", re.I)
_AUTHENTICATED = re.compile(r"\bwith\s+(?:utf8)?(?:e?smtps?a|lmtps?a)\b", re.I)
# Where mail comes from inside an organisation: a hop from these is not the sending IP the receiver saw.
_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "::1/128", "::/128", "fc00::/7", "fe80::/10",
    )
)  # fmt: skip


class BounceDataError(ValueError):
    """checks/bounces.toml is broken: the message names the entry so a reviewer can fix it."""


@dataclass(frozen=True)
class Format:
    """One non-standard bounce text (an entry of checks/bounces.toml)."""

    id: str
    detect: tuple[str, ...]
    returned: tuple[str, ...]
    reporter: re.Pattern[str] | None


@dataclass
class FailedRecipient:
    """One recipient's failure: one per distinct reply (a recipient may have several)."""

    recipient: str
    action: str  # failed | delayed
    status: str  # RFC 3463 status, "" when unknown
    remote_mta: str
    diagnostic: str  # the reply (or the reason, when there was no reply) as written in the bounce
    explanation: Explanation
    sending_ip: str | None  # the IP the reply names, else the bounce's
    smtp_reply: bool  # False: no SMTP reply (a timeout ...), explained from the status code


@dataclass
class Bounce:
    format: str  # an id of checks/bounces.toml, or "rfc3464" for a report in no known words
    structured: bool  # the recipients come from a delivery-status part
    reporting_mta: str
    sender: str  # the address the bounce went back to (the original sender)
    sending_ip: str | None  # from the returned message's Received headers
    recipients: list[FailedRecipient] = field(default_factory=list)
    other_actions: list[str] = field(default_factory=list)  # actions of recipients that did not fail
    notes: list[str] = field(default_factory=list)  # truncation, malformed MIME: said once on stderr
    lines: int = 0  # non-blank lines of the notification text read
    skipped: int = 0  # of which carried no reply (said for a text bounce: its replies are all there is)

    def context(self, failure: FailedRecipient) -> dict[str, Any]:
        """The bounce's facts about one failure: the `bounce` object next to an explanation in JSON."""
        return {
            "format": self.format,
            "recipient": failure.recipient,
            "action": failure.action,
            "status": failure.status,
            "remote_mta": failure.remote_mta,
            "reporting_mta": self.reporting_mta,
            "sender": self.sender,
            "sending_ip": failure.sending_ip,
            "smtp_reply": failure.smtp_reply,
        }

    @property
    def sender_domain(self) -> str | None:
        domain = self.sender.rpartition("@")[2].lower()
        return domain or None


# ------------------------------------------------------------------------------------------ detection


@cache
def formats() -> tuple[Format, ...]:
    """checks/bounces.toml, read once."""
    path = data_file("bounces.toml")
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BounceDataError(f"bounces.toml: cannot read: {exc}") from exc
    result = []
    for index, raw in enumerate(document.get("format", []), 1):
        where = f"bounces.toml: format #{index}"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw.get("detect"):
            raise BounceDataError(f"{where}: needs an id and detect phrases")
        try:
            reporter = re.compile(raw["reporter"], re.I) if raw.get("reporter") else None
        except re.error as exc:
            raise BounceDataError(f"{where}: reporter is not a regular expression: {exc}") from exc
        if reporter is not None and "host" not in reporter.groupindex:
            raise BounceDataError(f"{where}: reporter needs a group named host")
        result.append(
            Format(
                id=raw["id"],
                detect=tuple(str(p).lower() for p in raw["detect"]),
                returned=tuple(_marker(str(p)) for p in raw.get("returned", [])),
                reporter=reporter,
            )
        )
    return tuple(result)


def _marker(line: str) -> str:
    """A line as compared with `returned` markers: lower case, without leading dashes or white space."""
    return _MARKER_LEAD.sub("", line).lower()


def _format(text: str) -> Format | None:
    lowered = text.lower()
    return next((f for f in formats() if any(p in lowered for p in f.detect)), None)


def detect(head: str) -> bool:
    """Whether a text (its first `HEAD` bytes) is a bounce: a mail message, a report, or a bounce's words.

    A mail message (it starts with mail headers) counts whole: its text may be base64 in a charset that only
    parsing reveals (NetEase's GBK), and `parse` says when it holds no failure.
    """
    return (
        _is_message(head)
        or bool(_MIME_REPORT.search(head) or _DSN_PART.search(head) or _INLINE_RECIPIENT.search(head))
        or (_format(head) is not None)
    )


def _is_message(head: str) -> bool:
    """Mail headers first (after an mbox `From ` line, if any), and at least one a message has."""
    names: list[str] = []
    for line in head.lstrip("\r\n").splitlines()[:40]:
        if not names and line.startswith("From "):
            continue
        if line[:1] in (" ", "\t") and names:
            continue
        m = _HEADER_LINE.match(line)
        if m is None:
            break
        names.append(m.group(1).lower())
    return len(names) >= 2 and any(name in _HEADER_NAMES for name in names)


# -------------------------------------------------------------------------------------------- parsing


@dataclass
class _Parts:
    """What a walk over the MIME tree found, the returned message's insides aside."""

    texts: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    dsn: list[dict[str, str]] = field(default_factory=list)  # delivery-status blocks, field names lower case
    returned: list[Message] = field(default_factory=list)  # headers of the returned message
    attached: list[Message] = field(default_factory=list)  # whole attached messages (a forwarded bounce?)
    defects: list[str] = field(default_factory=list)


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox (a `From ` line at the start or after a blank line starts one: mbox writers
    escape a body's `From ` as `>From `); any other input is one message."""
    if not data.startswith(b"From "):
        return [data]
    starts = [
        m.start()
        for m in _MBOX_FROM.finditer(data)
        if m.start() == 0 or data.endswith((b"\n\n", b"\n\r\n"), 0, m.start())
    ]
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def parse(data: bytes, catalogue: Catalogue, *, _depth: int = 0) -> Bounce:
    """Read a bounce message (bytes as received or saved, .eml); never raises for bad input.

    A bounce forwarded as an attachment (a user sends it on to a helpdesk) is read from the attached
    message: the forwarder's words around it are not the failure.
    """
    from email import message_from_bytes, policy

    msg = message_from_bytes(data, policy=policy.compat32)
    parts = _Parts()
    if "final-recipient" in msg or "reporting-mta" in msg:  # a delivery-status part pasted alone
        parts.dsn.extend(_field_blocks(data.decode("utf-8", "replace")))
    elif not any(name in msg for name in _HEADER_NAMES):  # pasted text with no mail headers
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
    forwarded = _forwarded(parts) if _depth < MAX_FORWARDS else None
    if forwarded is not None:
        inner = parse(forwarded, catalogue, _depth=_depth + 1)
        if inner.recipients:
            inner.notes.append("the bounce was forwarded inside another message: read the attached bounce")
            return inner
    texts = parts.texts or [_html_text(h) for h in parts.html]
    notification = "\n".join(texts)
    if not parts.dsn:  # a report written inline: its fields are the report, what follows the returned message
        notification, blocks, rest = _inline_report(notification)
        parts.dsn.extend(blocks)
        if rest.strip():
            parts.returned.append(_headers(rest.lstrip()))
    per_message = next((b for b in parts.dsn if "reporting-mta" in b), {})
    sender = _sender(msg, per_message, parts.returned)
    fmt = _format(f"{_subject(msg)}\n{notification[:HEAD]}")
    returned_lines: list[str] = []
    if not parts.returned and fmt is not None:  # a text bounce quotes the returned message after a marker
        notification, returned_lines = _split_returned(notification, fmt)
        if returned_lines:
            from email.parser import HeaderParser

            parts.returned.append(HeaderParser().parsestr("\n".join(returned_lines), headersonly=True))
    bounce = Bounce(
        format=fmt.id if fmt is not None else "rfc3464" if parts.dsn else "unknown",
        structured=False,
        reporting_mta=_value(per_message.get("reporting-mta", "")) or _reporter(notification, fmt),
        sender=sender,
        sending_ip=_received_ip(parts.returned),
    )
    excluded = {sender.lower()} if sender else set()
    recipients = [b for b in parts.dsn if "final-recipient" in b or "original-recipient" in b]
    found: dict[str, list[_Found]] = {}
    if recipients:
        bounce.structured = True
        for block in recipients:
            failure = _from_block(block)
            if failure is None:
                bounce.other_actions.append(_first_word(block.get("action", "")) or "unknown")
                continue
            found.setdefault(failure.recipient.lower(), []).append(failure)
        _fill_from_text(found, _scan_text(notification, excluded, bounce))
    else:
        for failure in _scan_text(notification, excluded, bounce):
            found.setdefault(failure.recipient.lower(), []).append(failure)
    for failures in found.values():
        distinct = _distinct(failures)
        for failure in distinct[:1] if bounce.structured else distinct:  # a report: one per recipient
            bounce.recipients.append(_explained(failure, catalogue, bounce))
    if parts.defects:
        defects = ", ".join(sorted(set(parts.defects)))
        bounce.notes.append(f"the message is truncated or its MIME is broken ({defects}): read what is there")
    return bounce


def _forwarded(parts: _Parts) -> bytes | None:
    """An attached message that is itself a bounce (a report, or sent by a mailer daemon), when the message
    holds no report of its own; None otherwise (a bounce's attached message is the user's returned mail)."""
    if parts.dsn:
        return None
    from email.utils import parseaddr

    for inner in parts.attached:
        sender = parseaddr(str(inner.get("from", "")))[1]
        if inner.get_content_type() == "multipart/report" or (sender and _is_daemon(sender)):
            try:
                return inner.as_bytes()
            except (LookupError, UnicodeError, ValueError):
                continue
    return None


def _inline_report(text: str) -> tuple[str, list[dict[str, str]], str]:
    """(the text before it, the field blocks, the text after it) of a delivery-status report written inline
    in `text`; `(text, [], "")` when it holds none (no block names a recipient)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _REPORT_START.match(line)), None)
    if start is None:
        return text, [], ""
    end = start
    while end < len(lines):
        line = lines[end]
        if _FIELD_LINE.match(line) or (line[:1] in (" ", "\t") and line.strip()):
            end += 1
        elif not line.strip() and end + 1 < len(lines) and _REPORT_START.match(lines[end + 1]):
            end += 1  # the blank line between the per-message fields and a recipient's, or two recipients'
        else:
            break
    blocks = list(_field_blocks("\n".join(lines[start:end])))
    if not any("final-recipient" in b or "original-recipient" in b for b in blocks):
        return text, [], ""
    return "\n".join(lines[:start]), blocks, "\n".join(lines[end:])


def _walk(part: Message, parts: _Parts) -> None:
    """Collect the parts of a report; never descends into the returned message (its text is the user's)."""
    parts.defects.extend(type(d).__name__ for d in part.defects)
    ctype = part.get_content_type()
    if ctype in _DSN_TYPES:
        parts.dsn.extend(_dsn_blocks(part))
    elif ctype in _RETURNED_TYPES:
        inner: Any = part.get_payload()
        if isinstance(inner, list) and inner:
            parts.returned.append(inner[0])
            parts.attached.append(inner[0])
        elif isinstance(inner, str):
            parts.returned.append(_headers(inner))
    elif ctype in _HEADER_TYPES:
        parts.returned.append(_headers(_decoded(part)))
    elif part.is_multipart():
        payload: Any = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            _walk(sub, parts)
    elif ctype == "text/html":
        parts.html.append(_decoded(part))
    elif ctype == "text/plain" or part.get_content_maintype() == "text":
        parts.texts.append(_decoded(part))


def _headers(text: str) -> Message:
    from email.parser import HeaderParser

    return HeaderParser().parsestr(text, headersonly=True)


def _decoded(part: Message) -> str:
    """A part's text: transfer encoding undone, charset applied, bad bytes replaced."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = (part.get_content_charset() or "utf-8").lower()
    if charset in ("gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936"):
        charset = "gb18030"  # the superset: senders label GBK text gb2312
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _dsn_blocks(part: Message) -> Iterator[dict[str, str]]:
    """The field blocks of a delivery-status part, as {lower-case name: value with folds joined}."""
    payload: Any = part.get_payload()
    if isinstance(payload, str):  # a delivery-status part in base64 or quoted-printable: not split yet
        yield from _field_blocks(_decoded(part))
        return
    for block in payload:
        yield from _fields(block)


def _field_blocks(text: str) -> Iterator[dict[str, str]]:
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        if chunk.strip():
            yield from _fields(_headers(chunk))


def _fields(block: Message) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    for name, value in block.items():
        fields.setdefault(name.lower(), str(value))
    if fields:
        yield fields


def _subject(msg: Message) -> str:
    """The decoded Subject (`=?gbk?b?...?=` is how NetEase says 系统退信), or its raw text."""
    from email.errors import HeaderParseError
    from email.header import decode_header, make_header

    raw = str(msg.get("subject", ""))
    try:
        return str(make_header(decode_header(raw)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return raw


def _value(text: str) -> str:
    """`rfc822; bob@example.net` -> `bob@example.net`; `dns; mx.example.net` -> `mx.example.net`."""
    _, _, value = text.partition(";")
    return " ".join((value or text).split()).strip("<>")


def _remote_mta(text: str) -> str:
    """`dns; mx.example.net. (192.0.2.1, the server for ...)` -> `mx.example.net [192.0.2.1]`."""
    value = _value(text)
    name, _, rest = value.partition(" ")
    ip = named_ip(rest)
    name = name.rstrip(".")
    return f"{name} [{ip}]" if ip and name else name


def _first_word(text: str) -> str:
    words = text.split()
    return words[0].lower() if words else ""


def _sender(msg: Message, per_message: dict[str, str], returned: list[Message]) -> str:
    """The original sender: the bounce's To, else Postfix's X-Postfix-Sender, else the returned From."""
    from email.utils import getaddresses

    candidates = [str(msg.get("to", "")), _value(per_message.get("x-postfix-sender", ""))]
    for headers in returned:
        candidates += [str(headers.get("return-path", "")), str(headers.get("from", ""))]
    for candidate in candidates:
        for _, address in getaddresses([candidate]):
            if "@" in address and not _is_daemon(address):
                return address
    return ""


def _is_daemon(address: str) -> bool:
    return address.partition("@")[0].lower() in _DAEMONS


def _html_text(html: str) -> str:
    import html as html_lib

    text = _HTML_TAG.sub(" ", _HTML_BREAKS.sub("\n", _HTML_DROP.sub(" ", html)))
    return html_lib.unescape(text)


def _split_returned(text: str, fmt: Format) -> tuple[str, list[str]]:
    """The notification, and the lines of the returned message quoted after the format's marker."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = _marker(line)
        if stripped and any(stripped.startswith(marker) for marker in fmt.returned):
            rest = lines[index + 1 :]
            while rest and not rest[0].strip():
                rest = rest[1:]
            return "\n".join(lines[:index]), rest
    return text, []


def _reporter(text: str, fmt: Format | None) -> str:
    if fmt is None or fmt.reporter is None:
        return ""
    m = fmt.reporter.search(text)
    return m.group("host").rstrip(".") if m else ""


def _received_ip(returned: list[Message]) -> str | None:
    """The first hop, newest first, from outside private ranges and not an authenticated submission."""
    for headers in returned:
        for value in headers.get_all("received", []):
            text = " ".join(str(value).split())
            m = _RECEIVED_FROM.match(text)
            if m is None or _AUTHENTICATED.search(text):
                continue
            for ip_match in _RECEIVED_IP.finditer(m.group(1)):
                try:
                    ip = ipaddress.ip_address(ip_match.group(1) or ip_match.group(2))
                except ValueError:
                    continue
                if not any(ip in net for net in _INTERNAL if net.version == ip.version):
                    return str(ip)
    return None


# ------------------------------------------------------------------------------------------ failures


@dataclass
class _Found:
    """A failure before it is explained: `reply` is None when the bounce gave only a status."""

    recipient: str
    action: str
    status: str
    remote_mta: str
    diagnostic: str
    reply: Reply | None


def _from_block(block: dict[str, str]) -> _Found | None:
    """A per-recipient block of a delivery-status part, or None when that recipient did not fail."""
    action = _first_word(block.get("action", ""))
    status_match = _STATUS.search(block.get("status", ""))
    status = status_match.group(0) if status_match else ""
    if action and action not in FAILED_ACTIONS:
        return None
    if not action and status[:1] not in ("4", "5"):
        return None
    recipient = _value(block.get("final-recipient") or block.get("original-recipient", ""))
    diagnostic_field = block.get("diagnostic-code", "")
    diagnostic = diagnostic_field.partition(";")[2] if ";" in diagnostic_field else diagnostic_field
    lines = [line.rstrip() for line in diagnostic.strip().replace("\r", "").split("\n") if line.strip()]
    carried, reply = next(iter_replies(lines), ("", None))
    return _Found(
        recipient=recipient,
        action=action or ("delayed" if status.startswith("4") else "failed"),
        status=status,
        remote_mta=_remote_mta(block.get("remote-mta", "")),
        diagnostic="\n".join(map(str.strip, carried.splitlines())) or " ".join(map(str.strip, lines)),
        reply=reply,
    )


def _scan_text(text: str, excluded: set[str], bounce: Bounce) -> list[_Found]:
    """Failures in the words of a bounce: each reply goes to the last recipient named before it."""
    lines = [_EXCHANGE_HASH.sub("", line[:MAX_LINE]) for line in text.splitlines()]
    owners: list[tuple[str, str]] = []  # (recipient, remote MTA) in force at each line
    status_only: list[_Found] = []
    state = ["", ""]

    def feed() -> Iterator[str]:
        for line in lines:
            start = reply_start(line)
            context = line if start is None else line[:start]
            addresses = [a for a in EMAIL.findall(context) if a.lower() not in excluded and not _is_daemon(a)]
            if addresses and addresses[-1].lower() != state[0].lower():
                state[0], state[1] = addresses[-1], ""
            remote = _REMOTE.search(context)
            if remote is not None:
                name, ip = remote.group(1), remote.group(2)
                state[1] = f"{name} [{ip}]" if name else (remote.group(3) or remote.group(4))
            owners.append((state[0], state[1]))
            qmail = _QMAIL_STATUS.search(line) if start is None else None
            if qmail is not None and state[0]:
                status_only.append(
                    _Found(state[0], _action(qmail.group(1)), qmail.group(1), state[1], line.strip(), None)
                )
            unreached = _UNREACHED.match(line) if start is None and qmail is None else None
            if unreached is not None:
                status = "5.4.4" if _NO_DOMAIN.search(line) else "4.4.1"
                status_only.append(_Found(unreached[1], "failed", status, state[1], line.strip(), None))
            yield line

    scanner = ReplyScanner()
    found = []
    for carried, reply in scanner.scan(feed()):
        if reply.code < 400:  # `250 2.0.0 Ok: queued` quoted in a text is no failure
            continue
        recipient, remote = owners[scanner.start]
        if not recipient:
            named = [a for a in EMAIL.findall(reply.text) if a.lower() not in excluded and not _is_daemon(a)]
            recipient = named[0] if named else ""
        qmail = _QMAIL_STATUS.search(carried)
        status = reply.enhanced or (qmail.group(1) if qmail else "")
        action = _action(status or str(reply.code))
        found.append(_Found(recipient, action, status, remote, carried.strip(), reply))
    bounce.lines += scanner.lines
    bounce.skipped += scanner.skipped
    replied = {f.recipient.lower() for f in found}
    return found + [f for f in status_only if f.recipient.lower() not in replied]


def _action(code: str) -> str:
    return "delayed" if code.startswith("4") else "failed"


def _fill_from_text(found: dict[str, list[_Found]], from_text: list[_Found]) -> None:
    """Complete delivery-status recipients from the text part: the reply of one whose Diagnostic-Code holds
    none, the whole reply of one whose Diagnostic-Code was cut short. Replies only the text part has (a
    Sendmail transcript's `<<< 503 Need RCPT`) are not failures of their own."""
    by_recipient: dict[str, list[_Found]] = {}
    for failure in from_text:
        if failure.reply is not None:
            by_recipient.setdefault(failure.recipient.lower(), []).append(failure)
    for key, failures in found.items():
        for failure in failures:
            for quoted in by_recipient.get(key, []):
                assert quoted.reply is not None
                if failure.reply is None or _extends(quoted.reply, failure.reply):
                    failure.reply, failure.diagnostic = quoted.reply, quoted.diagnostic
                    failure.remote_mta = failure.remote_mta or quoted.remote_mta
                    break


def _extends(longer: Reply, shorter: Reply) -> bool:
    """`longer` is `shorter` with more text (a Diagnostic-Code cut short by a truncated message)."""
    a, b = _comparable(longer.text), _comparable(shorter.text)
    return (
        (longer.code, longer.enhanced) == (shorter.code, shorter.enhanced)
        and len(a) > len(b)
        and a.startswith(b)
    )


def _distinct(failures: list[_Found]) -> list[_Found]:
    """One failure per distinct reply: the same code, enhanced code and text (one a prefix of the other)."""
    kept: list[tuple[tuple[int, str], str, _Found]] = []
    for failure in failures:
        reply = failure.reply
        key = (reply.code, reply.enhanced) if reply is not None else (0, failure.status)
        text = _comparable(reply.text if reply is not None else failure.diagnostic)
        for index, (other_key, other_text, _other) in enumerate(kept):
            if other_key == key and (text.startswith(other_text) or other_text.startswith(text)):
                if len(text) > len(other_text):
                    kept[index] = (key, text, _merged(failure, kept[index][2]))
                break
        else:
            kept.append((key, text, failure))
    return [failure for _, _, failure in kept]


def _merged(longer: _Found, other: _Found) -> _Found:
    """The longer text, with the delivery-status facts the other one may carry."""
    longer.status = longer.status or other.status
    longer.remote_mta = longer.remote_mta or other.remote_mta
    return longer


def _comparable(text: str) -> str:
    text = " ".join(text.lower().split())
    cut = text.rfind("(in reply to ")
    if cut > 0:
        text = text[:cut]
    return text.rstrip(" .;:)'\"")


def _explained(failure: _Found, catalogue: Catalogue, bounce: Bounce) -> FailedRecipient:
    reply = failure.reply
    named = None  # an IP in the receiver's own words; the sender's words name the receiver's IP
    if reply is None:
        reply = status_reply(failure.status, failure.diagnostic, transient=failure.action == "delayed")
        shown = failure.diagnostic or f"status {failure.status}"
    else:
        shown = failure.diagnostic or reply.raw
        named = named_ip(reply.text)
    explanation = catalogue.match(reply, shown[:MAX_LINE])
    return FailedRecipient(
        recipient=failure.recipient,
        action=failure.action,
        status=failure.status or reply.enhanced,
        remote_mta=failure.remote_mta,
        diagnostic=shown,
        explanation=explanation,
        sending_ip=named or bounce.sending_ip,
        smtp_reply=failure.reply is not None,
    )
