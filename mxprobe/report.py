"""The report of one probe: what the renderers print and what the exit code is derived from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from mxprobe.__about__ import __version__
from mxprobe.errors import ExitCode
from mxprobe.model import CheckDict, CheckResult, Status
from mxprobe.target import Target, TargetDict

if TYPE_CHECKING:
    from mxprobe.smtp import SmtpResult

Verdict = Literal["pass", "warn", "fail", "inconclusive"]


class ReportDict(TypedDict):
    """The JSON of `mxprobe DOMAIN --json` (mxprobe/schema/probe.json)."""

    version: str
    target: TargetDict
    verdict: Verdict
    checks: list[CheckDict]
    elapsed_ms: float
    smtp: NotRequired[dict[str, Any]]  # the handshake: mxprobe.smtp.SmtpResult.to_dict()


@dataclass
class Report:
    target: Target
    checks: list[CheckResult]
    elapsed_ms: float = 0.0
    strict: bool = False
    smtp: SmtpResult | None = None  # when a handshake ran
    notes: list[str] = field(default_factory=list)  # how the IP / HELO were found, deadline notes
    version: str = __version__

    @property
    def verdict(self) -> Verdict:
        statuses = {c.status for c in self.checks}
        smtp_outcome = self.smtp.outcome if self.smtp is not None else None
        if Status.FAIL in statuses or smtp_outcome in ("deferred", "rejected"):
            return "fail"
        if self.strict and Status.WARN in statuses:
            return "fail"
        if Status.ERROR in statuses or smtp_outcome == "error":
            return "inconclusive"
        if statuses <= {Status.SKIP} and smtp_outcome is None:
            return "inconclusive"  # nothing was judged (no IP, no record to read): never a pass
        if Status.WARN in statuses:
            return "warn"
        return "pass"

    @property
    def exit_code(self) -> ExitCode:
        if self.verdict == "fail":
            return ExitCode.FAILED
        return ExitCode.INCONCLUSIVE if self.verdict == "inconclusive" else ExitCode.OK

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_dict(self) -> ReportDict:
        data = ReportDict(
            version=self.version,
            target=self.target.to_dict(),
            verdict=self.verdict,
            checks=[c.to_dict() for c in self.checks],
            elapsed_ms=round(self.elapsed_ms, 1),
        )
        if self.smtp is not None:
            data["smtp"] = self.smtp.to_dict()  # not a check id: the report's key of the handshake
        return data
