"""The delivery-status side of a bounce: RFC 3464 field blocks, wherever the message holds them.

A recipient's block gives its action, status, remote MTA and Diagnostic-Code. A Diagnostic-Code of type
`smtp` holds the receiver's reply; one of another type (`X-Unix; 255`, `X-Postfix; ...`, `X-Notes; ...`) is
the reporting system's own words: read for their text, never for a reply code, unless they quote a whole
reply with its enhanced status code (`X-Postfix; 550 5.1.1 ...`). A report written inline in a text (a
paste, a broken MIME boundary) is found by its field lines.
"""

from __future__ import annotations

import re

from mxprobe.bounce.mime import field_blocks
from mxprobe.bounce.text import STATUS, Found
from mxprobe.replies import iter_replies, named_ip

FAILED_ACTIONS = ("failed", "delayed")
_SMTP_TYPE = "SMTP"  # the diagnostic type of a receiver's reply (RFC 3464 2.3.6); others are the MTA's own
# The fields of a delivery-status report (RFC 3464 2.2, 2.3) that start one written inline in a text.
_REPORT_START = re.compile(r"(?:reporting-mta|final-recipient|original-recipient|arrival-date):", re.I)
_FIELD_LINE = re.compile(r"[a-z][\w-]*:", re.I)
# A recipient's fields of a report, as a text holds them: Final-Recipient, then Action or Status.
INLINE_RECIPIENT = re.compile(
    r"^(?:final|original)-recipient:[^\n]*\n(?:[^\n]*\n){0,6}?(?:action|status):", re.I | re.M
)


def value(text: str) -> str:
    """`rfc822; bob@example.net` -> `bob@example.net`; `dns; mx.example.net` -> `mx.example.net`."""
    _, _, rest = text.partition(";")
    return " ".join((rest or text).split()).strip("<>")


def first_word(text: str) -> str:
    words = text.split()
    return words[0].lower() if words else ""


def remote_mta(text: str) -> str:
    """`dns; mx.example.net. (192.0.2.1, the server for ...)` -> `mx.example.net [192.0.2.1]`."""
    name, _, rest = value(text).partition(" ")
    ip = named_ip(rest)
    name = name.rstrip(".")
    return f"{name} [{ip}]" if ip and name else name


def from_block(block: dict[str, str]) -> Found | None:
    """A per-recipient block of a delivery-status part, or None when that recipient did not fail."""
    action = first_word(block.get("action", ""))
    status_match = STATUS.search(block.get("status", ""))
    status = status_match.group(0) if status_match else ""
    if action and action not in FAILED_ACTIONS:
        return None
    if not action and status[:1] not in ("4", "5"):
        return None
    recipient = value(block.get("final-recipient") or block.get("original-recipient", ""))
    kind, separator, diagnostic = block.get("diagnostic-code", "").partition(";")
    if not separator:
        kind, diagnostic = _SMTP_TYPE, kind
    lines = [line.rstrip() for line in diagnostic.strip().replace("\r", "").split("\n") if line.strip()]
    carried, reply = next(iter_replies(lines), ("", None))
    if reply is not None and kind.strip().upper() != _SMTP_TYPE and reply.enhanced[:1] != str(reply.code)[0]:
        carried, reply = "", None  # `X-Unix; 255`: the system's own words, not a reply
    return Found(
        recipient=recipient,
        action=action or ("delayed" if status.startswith("4") else "failed"),
        status=status,
        remote_mta=remote_mta(block.get("remote-mta", "")),
        diagnostic="\n".join(map(str.strip, carried.splitlines())) or " ".join(map(str.strip, lines)),
        reply=reply,
    )


def inline_report(text: str) -> tuple[str, list[dict[str, str]], str]:
    """(the text before it, the field blocks, the text after it) of a delivery-status report written inline
    in `text`; `(text, [], "")` when it holds none (no block names a recipient)."""
    lines = text.split("\n")
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
    blocks = list(field_blocks("\n".join(lines[start:end])))
    if not any("final-recipient" in b or "original-recipient" in b for b in blocks):
        return text, [], ""
    return "\n".join(lines[:start]), blocks, "\n".join(lines[end:])
