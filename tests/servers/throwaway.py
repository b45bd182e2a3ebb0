"""A throwaway check for the tests that add one through `mxprobe.registry.register` alone.

`run` does what `MODE` says: "fail" (a finding that proves its cause), "pass", "slow" (sleeps far past any
test deadline) or "raise" (a bug in the check). Tests set `MODE` with monkeypatch and register a
`CheckSpec(..., module="servers.throwaway", ...)`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal, cast

from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context

ID = cast(CheckId, "canary")  # not a member of CheckId: that is the point
MODE: Literal["fail", "pass", "slow", "raise"] = "fail"
SUMMARY = "the canary sings out of tune"


async def run(ctx: Context) -> CheckResult:
    if MODE == "slow":
        await asyncio.sleep(10)  # far past the tests' deadlines; bounded, so a mutant that waits fails
    if MODE == "raise":
        raise RuntimeError("the canary fell off its perch")
    status = Status.FAIL if MODE == "fail" else Status.PASS
    evidence = [Evidence(f"canary {ctx.target.ip}", ["tweet"])]
    return CheckResult(ID, status, SUMMARY, {"ip": ctx.target.ip}, evidence, fix="Feed the canary.")
