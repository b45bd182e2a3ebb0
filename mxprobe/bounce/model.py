"""What a bounce is made of: the formats of checks/bounces.toml, the failed recipients, the message's kind.

A `Bounce` is what `parse` returns for one message; its `kind` says what the message is (a failure report,
a delay notice, a success report, an auto-reply, a feedback report, an ordinary message), and only failure
and delay reports carry recipients. `Bounce.context` is the `bounce` object of the JSON output.
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mxprobe.catalogue import Explanation
from mxprobe.data import data_file

HEAD = 64 * 1024  # bytes looked at to tell a bounce from a log or replies
MAX_SIZE = 32 * 1024 * 1024  # bytes of a bounce read; the report comes first, the returned message last
_MARKER_LEAD = re.compile(r"^[\W_]+")  # dashes, spaces, &nbsp; before `Original message`, `原始邮件`


class Kind(enum.StrEnum):
    """What a message is (`kind_of`); the `kind` of the JSON output. Values are contracts."""

    BOUNCE = "bounce"  # at least one recipient failed
    DELAY = "delay"  # a delay notice: delivery is still being tried
    DELIVERY_REPORT = "delivery-report"  # a DSN whose recipients were delivered, relayed or expanded
    AUTO_REPLY = "auto-reply"  # vacation, out of office, autoresponder (RFC 3834)
    FEEDBACK = "feedback"  # an ARF feedback report (RFC 5965): a complaint, not a failure
    RECEIPT = "receipt"  # a read receipt / disposition notification (RFC 8098)
    MESSAGE = "message"  # none of these: an ordinary message


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
    """One recipient's failure (one per recipient)."""

    recipient: str
    action: str  # failed | delayed
    status: str  # RFC 3463 status, "" when unknown
    remote_mta: str
    diagnostic: str  # the reply (or the reason, when there was no reply) as written in the bounce
    explanation: Explanation
    sending_ip: str | None  # the IP the reply names, else the bounce's
    smtp_reply: bool  # False: no SMTP reply (a timeout, prose only), explained from the status and words


@dataclass
class Bounce:
    format: str  # an id of checks/bounces.toml, or "rfc3464" for a report in no known words
    structured: bool  # the recipients come from a delivery-status part
    reporting_mta: str
    sender: str  # the address the bounce went back to (the original sender)
    sending_ip: str | None  # from the returned message's Received headers
    recipients: list[FailedRecipient] = field(default_factory=list)
    other_actions: list[str] = field(default_factory=list)  # actions of recipients that did not fail
    delayed: list[str] = field(default_factory=list)  # a delay notice's recipients
    origin: str = ""  # the domain of the bounce's own From (who sent the bounce), lower case
    notes: list[str] = field(default_factory=list)  # truncation, malformed MIME: said once on stderr
    lines: int = 0  # non-blank lines of the notification text read
    skipped: int = 0  # of which carried no reply (said for a text bounce: its replies are all there is)
    kind: Kind = Kind.MESSAGE

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
            "kind": str(self.kind),
        }

    @property
    def sender_domain(self) -> str | None:
        domain = self.sender.rpartition("@")[2].lower()
        return domain or None


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
                returned=tuple(marker(str(p)) for p in raw.get("returned", [])),
                reporter=reporter,
            )
        )
    return tuple(result)


def marker(line: str) -> str:
    """A line as compared with `returned` markers: lower case, without leading dashes or white space."""
    return _MARKER_LEAD.sub("", line).lower()


def find_format(text: str) -> Format | None:
    lowered = text.lower()
    return next((f for f in formats() if any(p in lowered for p in f.detect)), None)
