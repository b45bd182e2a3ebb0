"""The report of one probe: what the renderers print and what the exit code is derived from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mxprobe.__about__ import __version__
from mxprobe.errors import ExitCode
from mxprobe.model import CheckResult, Status
from mxprobe.target import Target

VERDICTS = ("pass", "warn", "fail", "inconclusive")


@dataclass
class Report:
    target: Target
    checks: list[CheckResult]
    elapsed_ms: float = 0.0
    strict: bool = False
    smtp: Any = None  # mxprobe.smtp.SmtpResult when a handshake ran
    notes: list[str] = field(default_factory=list)  # how the IP / HELO were found, deadline notes
    version: str = __version__

    @property
    def verdict(self) -> str:
        statuses = {c.status for c in self.checks}
        smtp_outcome = getattr(self.smtp, "outcome", None)
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
        return {
            "fail": ExitCode.FAILED,
            "inconclusive": ExitCode.INCONCLUSIVE,
        }.get(self.verdict, ExitCode.OK)

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "target": self.target.to_dict(),
            "verdict": self.verdict,
            "checks": [c.to_dict() for c in self.checks],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
        if self.smtp is not None:
            data["smtp"] = self.smtp.to_dict()
        return data
