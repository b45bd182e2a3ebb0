"""The shapes every part of mxprobe agrees on: vocabularies, check results and the report.

The cause and check ids, and the statuses, are declared in `mxprobe.registry` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from mxprobe import registry
from mxprobe.registry import Cause as Cause
from mxprobe.registry import CheckId as CheckId
from mxprobe.registry import Status as Status

# Derived from the registry, for the code and users' scripts that read them as tuples of strings.
CAUSES: tuple[str, ...] = tuple(c.value for c in Cause)
CHECKS: tuple[str, ...] = tuple(str(s.id) for s in registry.checks())

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

    def to_dict(self) -> EvidenceDict:
        d = EvidenceDict(query=self.query, answer=self.answer, rcode=self.rcode)
        if self.note:
            d["note"] = self.note
        return d


class EvidenceDict(TypedDict):
    query: str
    answer: list[str]
    rcode: str
    note: NotRequired[str]


# A check's details: each check module declares a TypedDict of its own (PtrDetails, MxDetails, ...) that
# mypy checks where the check builds it; `mxprobe/schema/probe.json` publishes each shape.
Details = Mapping[str, Any]


class CheckDict(TypedDict):
    id: str
    status: Status
    summary: str
    details: Details
    evidence: list[EvidenceDict]
    fix: str
    elapsed_ms: float


@dataclass
class CheckResult:
    """What one check found. Renderers read only these; checks never print."""

    id: str  # a CheckId (a plain string only for a check a test registers)
    status: Status
    summary: str
    details: Details = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    fix: str = ""
    elapsed_ms: float = 0.0

    def to_dict(self) -> CheckDict:
        return CheckDict(
            id=self.id,
            status=self.status,
            summary=self.summary,
            details=self.details,
            evidence=[e.to_dict() for e in self.evidence],
            fix=self.fix,
            elapsed_ms=round(self.elapsed_ms, 1),
        )
