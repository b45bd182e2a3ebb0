"""Bounce messages (delivery status notifications): which recipients failed, what the receiver replied, why.

Two sources, the structured one first:
- an RFC 3464 report (`multipart/report; report-type=delivery-status`), read with the stdlib `email`
  package: per recipient Final-Recipient, Action, Status, Remote-MTA and Diagnostic-Code (report.py);
- the text a mail system writes for people (Postfix, Exim, qmail, Sendmail, Exchange, Gmail, Notes, Chinese
  providers' 退信; the phrases are data, in checks/bounces.toml), read line by line up to the copy of the
  returned message (text.py).

One result per failed recipient (parse.py); a message with none says what it is instead (`Kind`: a delay
notice, a success report, an auto-reply, a feedback report, an ordinary message). A recipient that got no
SMTP reply is explained from its status code and its words, and its result says it got no reply.

Bad input never raises: truncated or malformed MIME is read as far as it goes and `notes` says so; MIME
nested too deeply is read as text; CR-only, CRLF and LF copies give the same results; undecodable bytes
become replacement characters. `email` is imported only when a bounce is parsed.
"""

from __future__ import annotations

import re

from mxprobe.bounce.mime import HEADER_NAMES
from mxprobe.bounce.model import (
    HEAD,
    MAX_SIZE,
    Bounce,
    BounceDataError,
    FailedRecipient,
    Format,
    Kind,
    find_format,
    formats,
)
from mxprobe.bounce.parse import parse
from mxprobe.bounce.report import INLINE_RECIPIENT
from mxprobe.inputs import split_mbox

_MIME_REPORT = re.compile(r"content-type:\s*multipart/report\b[^\n]*(?:\n[ \t][^\n]*)*delivery-status", re.I)
_DSN_PART = re.compile(r"content-type:\s*message/(?:global-)?delivery-status", re.I)
_HEADER_LINE = re.compile(r"([!-9;-~]+):[ \t]")

__all__ = [
    "HEAD", "MAX_SIZE", "Bounce", "BounceDataError", "FailedRecipient", "Format", "Kind", "detect", "formats",
    "kind_of", "parse", "split_mbox",
]  # fmt: skip


def detect(head: str) -> bool:
    """Whether a text (its first `HEAD` bytes) is a bounce: a mail message, a report, or a bounce's words.

    A mail message (it starts with mail headers) counts whole: its text may be base64 in a charset that only
    parsing reveals (NetEase's GBK), and `parse` says what it is when it holds no failure.
    """
    head = head.replace("\r\n", "\n").replace("\r", "\n")
    return (
        _is_message(head)
        or bool(_MIME_REPORT.search(head) or _DSN_PART.search(head) or INLINE_RECIPIENT.search(head))
        or (find_format(head) is not None)
    )


def kind_of(data: bytes) -> Kind:
    """What a message is: a bounce, a delay notice, a success report, an auto-reply, a feedback report, or
    an ordinary message (`Kind.MESSAGE`, for the delivered-message report)."""
    from mxprobe import catalogue

    return parse(data, catalogue.default()).kind


def _is_message(head: str) -> bool:
    """Mail headers first (after an mbox `From ` line, if any), and at least one a message has."""
    names: list[str] = []
    for line in head.lstrip("\n").split("\n", 40)[:40]:
        if not names and line.startswith("From "):
            continue
        if line[:1] in (" ", "\t") and names:
            continue
        m = _HEADER_LINE.match(line)
        if m is None:
            break
        names.append(m.group(1).lower())
    return len(names) >= 2 and any(name in HEADER_NAMES for name in names)
