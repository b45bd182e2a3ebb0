"""fcrdns: each PTR name of the sending IP resolves (A for IPv4, AAAA for IPv6) back to that IP.

A PTR proves nothing by itself: whoever runs the reverse zone can name an IP `mail.google.com`. Receivers
therefore forward-confirm it (IP → PTR name → A/AAAA → the same IP): Gmail's 550 5.7.25 covers "the
corresponding forward DNS entry does not point to the sending IP", and Postfix's
`reject_unknown_client_hostname` refuses an unconfirmed name. The same forward check serves `helo`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

from mxprobe.checks import lookup_failed
from mxprobe.checks.ptr import ptr_names
from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer, Dns


Outcome = Literal["confirmed", "mismatch", "no-address", "error"]


class NameDetails(TypedDict):
    name: str
    result: Outcome
    addresses: list[str]


class FcrdnsDetails(TypedDict):
    ip: str
    names: NotRequired[list[NameDetails]]
    error: NotRequired[str]


@dataclass
class Forward:
    """Where a name points, judged against one IP."""

    name: str
    outcome: Outcome
    addresses: list[str] = field(default_factory=list)  # every A and AAAA the name has
    answers: list[Answer] = field(default_factory=list)
    error: str = ""

    def describe(self, ip: str) -> str:
        if self.outcome == "confirmed":
            return f"{self.name} → {ip}"
        if self.outcome == "mismatch":
            return f"{self.name} resolves to {', '.join(self.addresses)}, not {ip}"
        if self.outcome == "no-address":
            rcode = self.answers[0].rcode if self.answers else "NXDOMAIN"
            return f"{self.name} has no A or AAAA record ({rcode})"
        return f"the address lookup of {self.name} failed ({self.error})"

    def evidence(self) -> list[Evidence]:
        """The answer of the IP's family always; the other family's only when it has records."""
        return [a.evidence() for i, a in enumerate(self.answers) if i == 0 or a.ok]


async def forward(client: Dns, name: str, ip: str) -> Forward:
    """Resolve `name` (A and AAAA at once) and say whether one address of the IP's family is `ip`."""
    a, aaaa = await client.addresses(name)
    want = ipaddress.ip_address(ip)
    same, other = (a, aaaa) if want.version == 4 else (aaaa, a)
    addresses = [text for answer in (a, aaaa) if answer.ok for text in answer.texts]
    result = Forward(name, "mismatch", addresses, [same, other])
    if same.ok and any(ipaddress.ip_address(t) == want for t in same.texts):
        result.outcome = "confirmed"
    elif same.failed or (not addresses and other.failed):
        failed = same if same.failed else other
        result.outcome, result.error = "error", failed.rcode + (f": {failed.error}" if failed.error else "")
    elif not addresses:
        result.outcome = "no-address"
    return result


async def run(ctx: Context) -> CheckResult:
    ip = ctx.target.ip
    if ip is None:
        return CheckResult(CheckId.FCRDNS, Status.SKIP, "no sending IP to confirm (give --ip)")
    ptr = await ctx.dns.ptr(ip)
    if ptr.failed:
        return lookup_failed(
            CheckId.FCRDNS,
            ptr,
            ip,
            "nothing to forward-confirm",
            FcrdnsDetails(ip=ip),
            "Retry, or check the resolver (--nameserver).",
        )
    names = ptr_names(ptr)
    if not names:
        return CheckResult(
            CheckId.FCRDNS,
            Status.SKIP,
            f"{ip} has no PTR name to confirm (see ptr)",
            FcrdnsDetails(ip=ip),
            [ptr.evidence()],
        )
    results = await asyncio.gather(*(forward(ctx.dns, name, ip) for name in names))
    evidence = [ptr.evidence()] + [e for r in results for e in r.evidence()]
    names_found = [NameDetails(name=r.name, result=r.outcome, addresses=r.addresses) for r in results]
    details = FcrdnsDetails(ip=ip, names=names_found)
    bad = [r for r in results if r.outcome != "confirmed"]
    if not bad:
        return CheckResult(
            CheckId.FCRDNS, Status.PASS, "; ".join(r.describe(ip) for r in results), details, evidence
        )
    return _judge(ip, results, bad, details, evidence)


def _judge(
    ip: str, results: list[Forward], bad: list[Forward], details: FcrdnsDetails, evidence: list[Evidence]
) -> CheckResult:
    """The verdict when some PTR names do not point back: warn (others do), error (lookups failed), fail."""
    record = "A" if ":" not in ip else "AAAA"
    fix = " ".join(
        f"Add `{r.name}. {record} {ip}` in the zone of {r.name}, or have the PTR of {ip} changed to a name "
        f"that resolves to it."
        for r in bad
        if r.outcome != "error"
    )
    summary = "; ".join(r.describe(ip) for r in bad)
    if len(bad) < len(results):
        return CheckResult(
            CheckId.FCRDNS,
            Status.WARN,
            f"{summary} (the other PTR names confirm: a receiver that picks this one refuses)",
            details,
            evidence,
            fix or "Retry: an address lookup failed.",
        )
    if not fix:  # every unconfirmed name is a failed lookup: nothing conclusive
        return CheckResult(
            CheckId.FCRDNS,
            Status.ERROR,
            f"could not forward-confirm {ip}: {summary}",
            details,
            evidence,
            "Retry, or check the resolver (--nameserver) and the nameservers of the PTR names.",
        )
    return CheckResult(
        CheckId.FCRDNS,
        Status.FAIL,
        f"{ip} is not forward-confirmed: {summary}. Gmail refuses with 550 5.7.25, Postfix with "
        "reject_unknown_client_hostname",
        details,
        evidence,
        fix,
    )
