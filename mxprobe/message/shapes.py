"""The JSON shapes of the message report (`mxprobe explain --json` on a delivered message), as TypedDicts.

mypy checks every `to_dict()` against them, and tests/schema_build.py publishes them as
mxprobe/schema/message.json. Keys may be added, never renamed. Keys that are Python keywords (`from`, `with`)
force the functional TypedDict syntax.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from mxprobe.model import CheckDict, EvidenceDict

Side = Literal["sender", "border", "receiver"]
SpamVerdict = Literal["blocked", "spam", "bypassed", "not-spam", "info", "unknown"]
DkimNow = Literal["pass", "fail", "policy", "neutral", "permerror", "temperror", "not checked"]
DmarcResult = Literal["pass", "fail", "none", "temperror", "permerror", "not checked"]
ArcResult = Literal["pass", "fail", "none", "temperror", "not checked"]
BodyHash = Literal["pass", "fail", "not checked", "unknown"]
HeaderSignature = Literal["pass", "fail", "unknown"]
AlignmentMode = Literal["r", "s"]
NotChecked = Literal["not checked"]

IdentityDict = TypedDict(
    "IdentityDict",
    {"from": str | None, "return_path": str | None, "message_id": str | None, "date": str | None,
     "subject": str | None},
)  # fmt: skip
HopDict = TypedDict(
    "HopDict",
    {"from_helo": str | None, "from_ptr": str | None, "from_ip": str | None, "by": str | None,
     "at": str | None, "delay_s": float | None, "with": str | None, "id": str | None, "for": str | None,
     "side": Side, "may_be_forged": bool},
)  # fmt: skip


class DeliveringDict(TypedDict):
    """The hop that handed the message to the receiving organisation (the border hop)."""

    ip: str | None
    helo: str | None
    ptr: str | None
    receiver: str | None
    by: str | None


class AuthResultDict(TypedDict):
    """One result of an Authentication-Results (or Received-SPF) field, with the trust decision."""

    authserv_id: str
    trusted: bool
    method: str
    result: str
    reason: str
    properties: dict[str, str]
    header: str
    why: str


class ArcSetDict(TypedDict):
    instance: int
    sealer: str
    selector: str
    cv: str
    authserv_id: str
    results: list[str]
    seal_valid_now: bool | None
    ams_valid_now: bool | None


class ArcDict(TypedDict):
    chain_valid: ArcResult
    reason: str
    problems: list[str]
    sets: list[ArcSetDict]


class ExplainedDict(TypedDict):
    id: str
    matched: str
    cause: str | None
    source: str


class MeaningDict(TypedDict):
    en: str
    zh: str


class SpamDict(TypedDict):
    """One spam verdict header, explained from checks/spam-headers.toml."""

    header: str
    verdict: SpamVerdict
    score: float | None
    meaning: MeaningDict
    trusted: bool
    explained: list[ExplainedDict]


class SpfNowDict(TypedDict):
    result: str
    domain: str
    ip: str | None
    aligned: bool | None
    mailfrom: dict[str, Any] | None
    helo: dict[str, Any] | None


class SignatureDict(TypedDict):
    """One DKIM-Signature verified again now."""

    d: str
    s: str
    algorithm: str
    result: DkimNow
    reason: str
    body_hash: BodyHash
    header_signature: HeaderSignature
    key_bits: int | None
    key_type: str
    l: int | None  # noqa: E741 - the DKIM tag's name
    body_length: int | None
    x: int | None
    t: int | None
    header_b: str
    aligned: bool | None
    alignment: str
    notes: list[str]
    evidence: list[EvidenceDict]


class DmarcNowDict(TypedDict):
    result: DmarcResult
    domain: str
    policy: str | None
    record: str | None
    location: str | None
    adkim: AlignmentMode
    aspf: AlignmentMode
    organizational_domain: str
    spf_aligned: bool
    dkim_aligned: bool
    disposition: str
    notes: list[str]


class NowDict(TypedDict):
    """What holds now (with --check; "not checked" without)."""

    spf: SpfNowDict
    dkim: list[SignatureDict]
    dmarc: DmarcNowDict


class DifferenceDict(TypedDict):
    method: str
    what: str
    then: str
    now: str
    likely_cause: str


class MessageReportDict(TypedDict):
    """The report on one delivered message: what the receiver recorded, what holds now, the checks."""

    kind: Literal["message"]
    message: IdentityDict
    path: list[HopDict]
    delivering: DeliveringDict
    trusted_authserv_id: str | None
    trusted_why: str
    receiver_results: list[AuthResultDict]
    arc: ArcDict
    spam: list[SpamDict]
    now: NowDict
    differences: list[DifferenceDict]
    checks: list[CheckDict]
    notes: list[str]
    exit_code: int
    file: NotRequired[str]  # in folder runs (`explain --file DIR`): the file it came from
