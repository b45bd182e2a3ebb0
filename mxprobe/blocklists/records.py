"""The outcomes of blocklist queries: what one answer says (`Reading`), what one (zone, subject) pair gives
(`Record`, the shape of `details["zones"]` in the JSON report) and what one zone gives (`ZoneOutcome`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, cast

from mxprobe.blocklists.data import Zone
from mxprobe.model import Evidence

if TYPE_CHECKING:
    from mxprobe.blocklists.redact import Redactor
    from mxprobe.dns import Answer


@dataclass(frozen=True)
class Reading:
    """What one A answer of a list says."""

    outcome: str  # listed | clean | refused | rewritten | failed
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    error: str = ""


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass
class Subject:
    """What a check asks about: an IP, or a domain with the identities it stands for (from, helo, ptr)."""

    text: str
    sources: list[str] = field(default_factory=list)


@dataclass
class Asked:
    name: str
    answer: Answer
    reading: Reading
    txt: Answer | None = None


@dataclass
class Record:
    """One (zone, subject) outcome; `to_dict` is the shape of `details["zones"]` in the JSON report."""

    zone: Zone
    subject: Subject
    status: str  # listed | clean | error | broken | skipped
    query: str = ""
    codes: list[str] = field(default_factory=list)
    meaning: str = ""
    reason: str = ""
    error: str = ""
    # refused (a refusal code, or REFUSED) | rewritten | dns | canary (test point not listed) | silent (the
    # same, on a list known to refuse public resolvers)
    error_kind: str = ""
    note: str = ""

    @property
    def url(self) -> str:
        return self.zone.url.replace("{ip}", self.subject.text).replace("{domain}", self.subject.text)

    def to_dict(self, redact: Redactor) -> ZoneRecord:
        """What a user acts on first (the text report shows a record on one shortened line): the zone, the
        domain when several are asked, the status, the codes and what they mean, the list's reason or the
        error, the removal URL; the rest after. The IP is the check's, so it comes last."""
        data: dict[str, Any] = {"zone": self.zone.display}
        if self.zone.kind == "domain":
            data["domain"] = self.subject.text
        data |= {
            "status": self.status,
            "codes": self.codes,
            "meaning": self.meaning,
            "reason": self.reason,
            "error": redact(self.error),
            "url": self.url,
        }
        if self.note:
            data["note"] = self.note
        if self.subject.sources:
            data["sources"] = self.subject.sources
        data |= {"name": self.zone.name, "query": redact(self.query), "severity": self.zone.severity}
        if self.zone.kind == "ip":
            data["ip"] = self.subject.text
        return cast(ZoneRecord, data)  # built in this order: the text report shows the keys as they come


RecordStatus = Literal["listed", "clean", "error", "broken", "skipped"]


class ZoneRecord(TypedDict):
    """One (zone, subject) outcome in the JSON report: `details["zones"]` of dnsbl and dbl."""

    zone: str  # as shown: a key is `<dqs-key>`
    domain: NotRequired[str]  # dbl: the name asked about
    status: RecordStatus
    codes: list[str]  # the A records the list answered
    meaning: str  # what the codes mean (from checks/dnsbl.toml)
    reason: str  # the list's TXT reason for a listing
    error: str  # why the zone gave no usable answer
    url: str  # the list's lookup or removal page for this subject
    note: NotRequired[str]
    sources: NotRequired[list[str]]  # dbl: where the name came from (domain, from, helo, ptr)
    name: str  # the list's name
    query: str  # the name asked (a key is `<key>`)
    severity: Literal["fail", "warn"]
    ip: NotRequired[str]  # dnsbl: the address asked about


class ListDetails(TypedDict):
    """`details` of the dnsbl and dbl checks (a skipped check may carry `notes` only)."""

    ip: NotRequired[str]  # dnsbl: the address checked
    domains: NotRequired[dict[str, list[str]]]  # dbl: each name checked -> where it came from
    counts: NotRequired[dict[str, int]]  # zones per outcome: listed, broken, error, clean, skipped
    zones: NotRequired[list[ZoneRecord]]  # listed first, then broken, errors, clean, skipped
    notes: NotRequired[list[str]]  # what was not asked, and why


# The order of zones in a check's details and evidence: what the user must act on first.
STATUS_ORDER = ("listed", "broken", "error", "clean", "skipped")


def rank(status: str) -> int:
    return STATUS_ORDER.index(status)


@dataclass
class ZoneOutcome:
    zone: Zone
    records: list[Record]
    evidence: list[Evidence]
    health: Health | None = None

    @property
    def status(self) -> str:
        statuses = {r.status for r in self.records}
        for status in ("broken", "listed", "error", "clean"):
            if status in statuses:
                return status
        return "skipped"

    @property
    def error_kinds(self) -> set[str]:
        return {r.error_kind for r in self.records if r.status == "error"}


@dataclass(frozen=True)
class Health:
    """Why a zone's test points say it cannot be trusted; `point` and `seen` (the rcode, or the codes it
    answered) let the summary say what was observed when the listed test point is missing."""

    status: str  # broken | error
    kind: str  # error kind, see Record.error_kind
    message: str
    point: str = ""
    seen: str = ""
