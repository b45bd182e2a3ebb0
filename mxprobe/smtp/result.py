"""What a handshake found: the transcript (`Step`s), the servers tried (`Candidate`s), and the outcome.

`SmtpResult.to_dict` is the `smtp` key of the JSON report; `settle` reads the outcome from the transcript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mxprobe.registry import Cause

if TYPE_CHECKING:
    from mxprobe.catalogue import Explanation
    from mxprobe.smtp.tls import TlsInfo

HELO = "helo"  # not a check id: the step of the HELO command (RFC 5321 §4.1.1.1)
TLS = "tls"  # not a check id: the step and the fault of a TLS handshake that failed
# Steps whose refusal decides the outcome (RCPT for --relay-test and QUIT do not).
DECIDING = ("banner", "ehlo", HELO, "auth", "mail", "rcpt")
# What the faults mean when no reply says it.
FAULT_CAUSES: dict[str, Cause] = {
    "refused": Cause.NETWORK,
    "timeout": Cause.NETWORK,
    "unreachable": Cause.NETWORK,
    "disconnected": Cause.NETWORK,
    "deadline": Cause.NETWORK,
    "not-smtp": Cause.PROTOCOL,
    "too-long": Cause.PROTOCOL,
    "bad-reply": Cause.PROTOCOL,  # lines of one reply with different codes (RFC 5321 §4.2.1)
    "unexpected": Cause.PROTOCOL,  # data nobody asked for, or a reply that does not answer the command
    "smtputf8": Cause.PROTOCOL,
    TLS: Cause.TLS,
    "auth": Cause.AUTH,
}
# Faults after which no reply of the dialogue can be trusted to answer the command it is recorded under.
OUT_OF_STEP = frozenset({"unexpected", "bad-reply", "not-smtp", "too-long"})


@dataclass
class Step:
    """One exchange of the dialogue. `command` is what was sent (secrets replaced); `text` the whole reply."""

    step: str  # connect | banner | ehlo | helo | starttls | auth | mail | rcpt | relay-test | rset | quit
    command: str = ""
    code: int | None = None
    enhanced: str = ""
    text: str = ""  # every line of the reply with its code, as received
    elapsed_ms: float = 0.0
    explanation: Explanation | None = None
    fault: str = (
        ""  # no usable reply: refused | timeout | unreachable | disconnected | deadline | ... (FAULT_CAUSES)
    )
    error: str = ""  # the fault in words, for people
    note: str = ""  # an observation that is not a failure (a slow greeting)
    sent: bool = True  # False when the command (still shown) was not sent: no time left, no connection ...
    confirmed_by: str | None = None  # set by join(): the failed check that proves this reply's cause
    diagnosis: str = ""  # set by join(): the sentence tying this reply to the DNS checks

    @property
    def refused(self) -> bool:
        """A reply that refuses (4xx, 5xx) and answers the command it is recorded under (no fault)."""
        return self.code is not None and self.code >= 400 and not self.fault

    @property
    def cause(self) -> str | None:
        if self.fault:
            return FAULT_CAUSES.get(self.fault)
        return self.explanation.cause if self.explanation is not None and self.refused else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "command": self.command,
            "code": self.code,
            "enhanced": self.enhanced,
            "text": self.text,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "explanation": self.explanation.to_dict() if self.explanation is not None else None,
        }
        for key in ("fault", "error", "note", "diagnosis"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.confirmed_by:
            data["confirmed_by"] = self.confirmed_by
        if not self.sent:
            data["sent"] = False
        return data


@dataclass
class Candidate:
    """One address to try: an MX host (or the --mx given) and why it was not used, when it was not."""

    host: str
    preference: int | None
    address: str | None
    status: str = "not tried"  # connected | failed | skipped | not tried
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "preference": self.preference,
            "address": self.address,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class SmtpResult:
    """The handshake of one probe. `to_dict` is the `smtp` key of the JSON report."""

    port: int
    domain: str | None = None  # the recipient domain whose MX was looked up (None with --mx)
    mx_candidates: list[Candidate] = field(default_factory=list)
    host: str | None = None  # the server that answered: its MX name (or the --mx given)
    address: str | None = None
    ip: str | None = None  # --ip: the address the DNS checks are about
    source: str | None = None  # the local address the connection was made from
    source_reason: str = ""
    helo: str = ""
    helo_literal: bool = False  # no HELO name was known (no --helo, no PTR): EHLO sent the address literal
    tls: TlsInfo | None = None  # None: the dialogue ended before EHLO could tell
    extensions: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    outcome: str = "error"  # accepted | deferred | rejected | error
    cause: str | None = None
    confirmed_by: str | None = None
    diagnosis: str = ""
    auth: dict[str, Any] | None = None
    relay_test: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list, repr=False)  # --check: the checks the join may cite
    dns_evidence: list[Any] = field(
        default_factory=list, repr=False
    )  # mxprobe.model.Evidence of the MX lookup
    verdict_step: Step | None = field(default=None, repr=False)  # the step that decided the outcome
    # The run's facts the advice names (not in JSON: the report has them already).
    sender_domain: str | None = field(default=None, repr=False)
    recipients: list[str] = field(default_factory=list, repr=False)
    mx_given: str | None = field(default=None, repr=False)  # --mx

    def where(self) -> str:
        """The server the report is about, for sentences: the one that answered, else the only one tried,
        else the recipient domain's MX (or the --mx name, when it has several addresses)."""
        tried = {(c.host, c.address) for c in self.mx_candidates if c.status != "not tried"}
        if self.host is not None or len(tried) == 1:
            host, address = (self.host, self.address) if self.host is not None else tried.pop()
            if address is None:
                return f"{host}:{self.port}"
            literal = f"[{address}]" if ":" in address else address
            return f"{host} {literal}:{self.port}" if host != address else f"{literal}:{self.port}"
        if self.domain:
            return f"the MX of {self.domain}"
        hosts = sorted({c.host for c in self.mx_candidates})
        return f"{hosts[0]}:{self.port}" if len(hosts) == 1 else "the server"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mx_candidates": [c.to_dict() for c in self.mx_candidates],
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "source": self.source,
            "helo": self.helo,  # not a check id: the JSON key
            "tls": self.tls.to_dict() if self.tls is not None else None,  # not a check id: the JSON key
            "extensions": self.extensions,
            "steps": [s.to_dict() for s in self.steps],
            "outcome": self.outcome,
            "cause": self.cause,
            "confirmed_by": self.confirmed_by,
            "diagnosis": self.diagnosis,
            "auth": self.auth,
            "relay_test": self.relay_test,
            "notes": self.notes,
        }


def settle(result: SmtpResult) -> None:
    """The outcome from the transcript: a refusal before RCPT (AUTH included: with --auth it is what is
    tested) decides it, 4xx deferred and 5xx rejected; else the recipients' replies do (the worst of them)."""
    if result.outcome != "error" or result.cause:  # settled before any connection (null MX, NXDOMAIN)
        return
    broken = next((s for s in result.steps if s.fault in OUT_OF_STEP), None)
    if broken is not None:  # the replies may answer other commands than they seem to: no verdict from them
        result.outcome, result.verdict_step = "error", broken
        result.cause, result.diagnosis = broken.cause, result.diagnosis or broken.error
        return
    deciding = [s for s in result.steps if s.step in DECIDING]
    failures = [s for s in deciding if s.refused or s.fault]
    rcpts = [s for s in deciding if s.step == "rcpt"]
    gate = next((s for s in failures if s.step in ("banner", "ehlo", HELO, "auth", "mail")), None)
    verdict: Step | None = None
    if gate is not None:
        result.outcome, verdict = _fate(gate), gate
    elif rcpts:
        fates = [_fate(s) for s in rcpts]
        result.outcome = next((f for f in ("rejected", "deferred", "error") if f in fates), "accepted")
        if result.outcome != "accepted":
            verdict = rcpts[fates.index(result.outcome)]
    elif any(s.step == "mail" and s.code == 250 for s in deciding):
        result.outcome = "accepted"
        result.notes.append("no recipient given (--to): RCPT was not tested")
    else:
        verdict = next((s for s in reversed(result.steps) if s.fault), None)
    result.verdict_step = verdict
    if result.outcome != "accepted" and verdict is not None:
        result.cause = verdict.cause
        result.diagnosis = result.diagnosis or verdict.error


def _fate(step: Step) -> str:
    if step.fault == "smtputf8":
        return "rejected"
    if step.code is None or step.fault:
        return "error"
    return {2: "accepted", 4: "deferred", 5: "rejected"}.get(step.code // 100, "error")
