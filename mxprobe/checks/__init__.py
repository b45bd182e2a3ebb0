"""The checks: one module per check id, each `async def run(ctx: Context) -> CheckResult`.

A check reads the target and asks the run's DNS layer (`ctx.dns`); it never prints, never touches global
state and never raises for a DNS outcome (a failed query becomes `error` with the reason). When a check needs
what another check asks (fcrdns needs the PTR names), it asks the same query again: the run's cache answers.

`REGISTRY` is the order of the report. `needs` says what a check requires: "ip" checks run for
`mxprobe --ip IP` alone, "domain" checks need a sending domain, "smtp" checks need a handshake target.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mxprobe.model import CheckResult, Status

if TYPE_CHECKING:
    from mxprobe.dns import Answer, Dns
    from mxprobe.options import Options
    from mxprobe.target import Target


@dataclass
class Context:
    """Everything one run's checks may read. Built by the scanner; checks treat it as read-only."""

    target: Target
    dns: Dns
    options: Options
    # results of earlier steps shared with checks (e.g. the handshake task)
    facts: dict[str, object] = field(default_factory=dict)
    helo_ready: asyncio.Future[None] | None = None  # set by the scanner while it finds the default HELO

    async def helo(self) -> str | None:
        """The HELO name: the user's, or (once known) the PTR name of the IP. Checks call this, not
        `target.helo`, so that checks that do not need it need not wait for it."""
        if self.helo_ready is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(self.helo_ready)
        return self.target.helo


@dataclass(frozen=True)
class CheckSpec:
    id: str
    module: str  # mxprobe.checks.<module>
    needs: str  # "ip" | "domain" | "smtp"

    def load(self) -> Callable[[Context], Awaitable[CheckResult]]:
        run: Callable[[Context], Awaitable[CheckResult]] = importlib.import_module(
            f"mxprobe.checks.{self.module}"
        ).run
        return run


REGISTRY: tuple[CheckSpec, ...] = (
    CheckSpec("ptr", "ptr", "ip"),
    CheckSpec("fcrdns", "fcrdns", "ip"),
    CheckSpec("helo", "helo", "ip"),
    CheckSpec("dnsbl", "dnsbl", "ip"),
    CheckSpec("spf", "spf", "domain"),
    CheckSpec("spf-record", "spf_record", "domain"),
    CheckSpec("dmarc", "dmarc", "domain"),
    CheckSpec("dkim", "dkim", "domain"),
    CheckSpec("mx", "mx", "domain"),
    CheckSpec("dbl", "dbl", "domain"),
    CheckSpec("mta-sts", "mta_sts", "domain"),
    CheckSpec("tls-rpt", "tls_rpt", "domain"),
    CheckSpec("dnssec", "dnssec", "domain"),
    CheckSpec("dane", "dane", "smtp"),
)


DNS_FIX = "Retry, or check the resolver (--nameserver) and the domain's nameservers."


def lookup_failed(
    check_id: str,
    answer: Answer,
    subject: str,
    consequence: str,
    details: dict[str, object],
    fix: str = DNS_FIX,
) -> CheckResult:
    """The `error` result of a check whose key lookup got no answer: says which lookup, why, and what is
    therefore unknown (never a pass or a fail on missing evidence)."""
    return CheckResult(
        check_id,
        Status.ERROR,
        f"the {answer.rdtype} lookup of {subject} failed ({answer.rcode}): {consequence}",
        details | {"error": answer.error},
        [answer.evidence()],
        fix,
    )
