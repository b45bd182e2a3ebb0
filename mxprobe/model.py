"""The shapes every part of mxprobe agrees on: vocabularies, check results and the report.

The cause and check ids are contracts: users' scripts, the JSON output and the catalogue files in
`checks/replies/` all use them. Add ids freely; never rename one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

CAUSES: tuple[str, ...] = (
    "ptr",
    "helo",
    "spf",
    "dkim",
    "dmarc",
    "blocklist",
    "reputation",
    "rate",
    "content",
    "size",
    "recipient",
    "mailbox",
    "sender",
    "relay",
    "auth",
    "tls",
    "protocol",
    "greylist",
    "policy",
    "network",
    "loop",
    "server",
    "none",
)

CHECKS: tuple[str, ...] = (
    "ptr",
    "fcrdns",
    "helo",
    "spf",
    "spf-record",
    "dmarc",
    "dkim",
    "dnsbl",
    "dbl",
    "mx",
    "smtp",
    "tls",
    "mta-sts",
    "tls-rpt",
    "dnssec",
    "dane",
)

PHASES: tuple[str, ...] = (
    "CONNECT",
    "EHLO",
    "STARTTLS",
    "AUTH",
    "MAIL",
    "RCPT",
    "DATA",
    "RSET",
    "QUIT",
    "VRFY",
    "ANY",
)

REPLY_CLASSES: dict[str, str] = {
    "2": "success",
    "3": "intermediate",
    "4": "transient",
    "5": "permanent",
}


class Status(enum.StrEnum):
    """Outcome of one check. `error` means the check could not run: it is never a pass."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


_SEVERITY = {Status.SKIP: -1, Status.PASS: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 3}


def worst(statuses: Iterable[Status]) -> Status:
    """What matters most to a sender: fail, then error (unknown), warn, pass, skip (nothing to judge)."""
    return max(statuses, key=_SEVERITY.__getitem__, default=Status.PASS)


@dataclass
class Evidence:
    """One DNS answer (or other observation) a check relied on, shown so a user can verify it by hand."""

    query: str  # "1.2.0.192.in-addr.arpa PTR", "example.com TXT", "smtp mx.example.com:25"
    answer: list[str]  # the records as text, empty for NXDOMAIN/NODATA
    rcode: str = "NOERROR"  # NOERROR | NXDOMAIN | NODATA | SERVFAIL | REFUSED | TIMEOUT | ERROR
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"query": self.query, "answer": self.answer, "rcode": self.rcode}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class CheckResult:
    """What one check found. Renderers read only these; checks never print."""

    id: str
    status: Status
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    fix: str = ""
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "summary": self.summary,
            "details": self.details,
            "evidence": [e.to_dict() for e in self.evidence],
            "fix": self.fix,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
