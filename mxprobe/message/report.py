"""The report on one delivered message: what the receiver saw and decided, what holds now, and the checks.

`to_dict()` is the JSON contract of `mxprobe explain --json` on a message (kind "message", schema in
mxprobe/schema/message.json). The exit code: 0 when every authentication result passes (at the receiver and
now), 1 when one fails, 3 when a result could not be computed (DNS failed) and none failed. The checks of the
delivering IP are evidence for the plan and do not change the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mxprobe.errors import ExitCode
from mxprobe.message.arc import Arc
from mxprobe.message.authres import AUTHENTICATION, AuthResult
from mxprobe.message.policy import DmarcNow, SpfNow
from mxprobe.message.received import Chain
from mxprobe.message.shapes import DifferenceDict, IdentityDict, MessageReportDict
from mxprobe.message.spam import Verdict
from mxprobe.message.verify import Signature
from mxprobe.model import CheckResult

FAILED = {"fail", "softfail", "hardfail", "permerror", "policy"}
UNKNOWN = {"temperror"}


@dataclass
class Identity:
    from_: str = ""  # the From: address
    from_display: str = ""  # the From: field as written, decoded (RFC 2047)
    return_path: str = ""  # MAIL FROM; "" for <> or when absent
    message_id: str = ""
    date: str = ""
    subject: str = ""

    @property
    def from_domain(self) -> str:
        return self.from_.rpartition("@")[2]

    @property
    def return_path_domain(self) -> str:
        return self.return_path.rpartition("@")[2]

    def to_dict(self) -> IdentityDict:
        return {
            "from": self.from_ or None,
            "return_path": self.return_path or None,
            "message_id": self.message_id or None,
            "date": self.date or None,
            "subject": self.subject or None,
        }


@dataclass
class MessageReport:
    identity: Identity
    chain: Chain
    results: list[AuthResult]  # every Authentication-Results / Received-SPF result, trusted or not
    trusted_id: str
    trusted_why: str
    arc: Arc
    spam: list[Verdict]
    spf: SpfNow
    dkim: list[Signature]
    dmarc: DmarcNow
    differences: list[DifferenceDict]
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def trusted(self) -> list[AuthResult]:
        return [r for r in self.results if r.trusted]

    def _now(self) -> list[str]:
        return [self.spf.result, self.dmarc.result, *(s.result for s in self.dkim)]

    def _then(self) -> list[str]:
        return [r.result for r in self.trusted if r.method in AUTHENTICATION]

    @property
    def exit_code(self) -> ExitCode:
        results = {r.lower() for r in self._now() + self._then()}
        if results & FAILED:
            return ExitCode.FAILED
        if results & UNKNOWN:
            return ExitCode.INCONCLUSIVE
        return ExitCode.OK

    def to_dict(self) -> MessageReportDict:
        border = self.chain.border
        return {
            "kind": "message",
            "message": self.identity.to_dict(),
            "path": [h.to_dict() for h in self.chain.travelled()],
            "delivering": {
                "ip": border.from_ip if border else None,
                "helo": border.from_helo if border else None,  # not a check id
                "ptr": border.from_ptr if border else None,  # not a check id
                "receiver": self.chain.receiver or None,
                "by": border.by if border else None,
            },
            "trusted_authserv_id": self.trusted_id or None,
            "trusted_why": self.trusted_why,
            "receiver_results": [r.to_dict() for r in self.results],
            "arc": self.arc.to_dict(),
            "spam": [v.to_dict() for v in self.spam],
            "now": {
                "spf": self.spf.to_dict(),  # not a check id
                "dkim": [s.to_dict() for s in self.dkim],  # not a check id
                "dmarc": self.dmarc.to_dict(),  # not a check id
            },
            "differences": self.differences,
            "checks": [c.to_dict() for c in self.checks],
            "notes": self.notes,
            "exit_code": int(self.exit_code),
        }
