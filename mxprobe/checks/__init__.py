"""The checks: one module per check id, each `async def run(ctx: Context) -> CheckResult`.

A check reads the target and asks the run's DNS layer (`ctx.dns`); it never prints, never touches global
state and never raises for a DNS outcome (a failed query becomes `error` with the reason). When a check needs
what another check asks (fcrdns needs the PTR names), it asks the same query again: the run's cache answers.

Which checks exist, in which order, and what each needs is declared in `mxprobe.registry`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mxprobe.model import CheckResult, Status

if TYPE_CHECKING:
    from mxprobe.dns import Answer, Dns
    from mxprobe.options import Options
    from mxprobe.registry import CheckId
    from mxprobe.smtp import SmtpResult
    from mxprobe.target import Target


@dataclass
class Context:
    """Everything one run's checks may read. Built by the scanner; checks treat it as read-only."""

    target: Target
    dns: Dns
    options: Options
    # the handshake, running beside the checks (dane and mta-sts judge its certificate); None without one
    handshake: asyncio.Future[SmtpResult] | None = None
    helo_ready: asyncio.Future[None] | None = None  # set by the scanner while it finds the default HELO
    helo_from_ptr: bool = False  # the default HELO name is the PTR name of the IP (set with helo_ready)

    async def helo(self) -> str | None:
        """The HELO name: the user's, or (once known) the PTR name of the IP. Checks call this, not
        `target.helo`, so that checks that do not need it need not wait for it."""
        if self.helo_ready is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(self.helo_ready)
        return self.target.helo


DNS_FIX = "Retry, or check the resolver (--nameserver) and the domain's nameservers."


def lookup_failed(
    check_id: CheckId,
    answer: Answer,
    subject: str,
    consequence: str,
    details: Mapping[str, object],
    fix: str = DNS_FIX,
) -> CheckResult:
    """The `error` result of a check whose key lookup got no answer: says which lookup, why, and what is
    therefore unknown (never a pass or a fail on missing evidence)."""
    why = answer.rcode
    if answer.error and answer.rcode not in answer.error:
        why += f": {answer.error}"
    return CheckResult(
        check_id,
        Status.ERROR,
        f"the {answer.rdtype} lookup of {subject} failed ({why}): {consequence}",
        {**details, "error": answer.error},
        [answer.evidence()],
        fix,
    )
