"""What the receiving-side checks (mta-sts, tls-rpt, dnssec, dane) share: which domains and MX hosts they
judge, the handshake's TLS facts, and per-domain findings over a policy TXT record.

The recipient domain is the domain of the first --to, or else the parent of the --mx host name (a guess, said
in the details). Policy records (`_mta-sts`, `_smtp._tls`) are asked through the run's DNS layer, kept only
when they start with their version tag (RFC 8461 3.1, RFC 8460 3), and must be unique.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from mxprobe.checks import Context
from mxprobe.dns import Answer
from mxprobe.model import CheckResult, Evidence, Status, worst
from mxprobe.target import domain_of

if TYPE_CHECKING:
    from mxprobe.registry import CheckId
    from mxprobe.smtp.tls import TlsInfo

T = TypeVar("T")


def recipient_domain(ctx: Context) -> tuple[str | None, str]:
    """The domain mail is being sent to, and how it was found ("--to", "--mx (guessed)" or "")."""
    t = ctx.target
    if t.to:
        return domain_of(t.to[0]).lower(), "--to"
    if t.mx and not _is_ip(t.mx):
        labels = t.mx.split(".")
        return (".".join(labels[1:]) if len(labels) > 2 else t.mx), "--mx (guessed: the MX name's parent)"
    return None, ""


def domains(ctx: Context) -> list[tuple[str, str]]:
    """(domain, role) pairs to check: the sending domain, and the recipient domain when a handshake runs."""
    out: dict[str, str] = {}
    if ctx.target.domain:
        out[ctx.target.domain] = "sending domain"
    recipient, how = recipient_domain(ctx)
    if recipient:
        role = f"recipient domain, from {how}"
        out[recipient] = f"sending and {role}" if recipient in out else role
    return list(out.items())


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


async def mx_hosts(ctx: Context) -> tuple[list[str], list[Evidence]]:
    """The MX host names of the handshake target, by preference: --mx itself, or the recipient domain's MX."""
    t = ctx.target
    if t.mx:
        return ([] if _is_ip(t.mx) else [t.mx]), []
    recipient, _ = recipient_domain(ctx)
    if recipient is None:
        return [], []
    answer = await ctx.dns.query(recipient, "MX")
    return mx_names(answer), [answer.evidence()]


def mx_names(answer: Answer) -> list[str]:
    ordered = sorted(answer.records, key=lambda r: r.preference)
    names = [r.exchange.to_text(omit_final_dot=True).lower() for r in ordered]
    return [n for n in names if n not in ("", ".")]


@dataclass
class HandshakeTls:
    """What the handshake saw of TLS, in the terms MTA-STS and DANE judge it."""

    host: str  # the MX name the handshake connected to ("" when it connected to an address)
    info: TlsInfo


async def handshake_tls(ctx: Context) -> HandshakeTls | None:
    """The TLS facts of the run's handshake, once it ends; None when no handshake ran or it reached no MX."""
    task = ctx.handshake
    if task is None:
        return None
    try:
        result = await asyncio.shield(task)  # shielded: this check's deadline must not cancel the handshake
    except Exception:  # the handshake reports its own failure; here it only means "nothing to judge"
        return None
    info = result.tls
    if info is None:
        return None
    host = info.hostname or result.host or ""
    return HandshakeTls("" if _is_ip(host) else host.lower().rstrip("."), info)


async def txt_records(ctx: Context, name: str, pattern: re.Pattern[str]) -> tuple[Answer, list[str]]:
    """The TXT records at `name` that start as `pattern` says; others are discarded, as RFC 8460/8461 say."""
    answer = await ctx.dns.query(name, "TXT")
    return answer, [t for t in answer.texts if pattern.match(t)]


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """checkdmarc is imported lazily (0.3 s) and is synchronous: both happen off the event loop."""
    return await asyncio.to_thread(func, *args)


@dataclass
class Finding:
    """The outcome for one domain: a status, one line for the summary, the fixes, the evidence."""

    domain: str
    role: str
    status: Status
    text: str
    fixes: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    details: Findings = field(default_factory=lambda: Findings())

    def add(self, status: Status, text: str, fix: str = "") -> None:
        self.status = worst([self.status, status])
        self.text += f"; {text}"
        if fix:
            self.fixes.append(fix)


class HandshakeDetails(TypedDict):
    host: str
    problems: list[str]


class Findings(TypedDict, total=False):
    """What was found for one domain, by the check that found it."""

    published: bool  # the policy record exists
    record: str
    id: str  # MTA-STS: the record's id
    policy: dict[str, Any] | None  # MTA-STS: the fetched policy (None: not fetched, give --fetch)
    policy_warnings: list[str]
    handshake: HandshakeDetails  # MTA-STS: the handshake's certificate judged against the policy
    rua: list[str]  # TLS-RPT: where reports go
    warnings: list[str]


class DomainDetails(Findings):
    domain: str
    role: str  # sending domain, recipient domain, ...
    status: Status


class ReceiverDetails(TypedDict):
    """The details of mta-sts and tls-rpt: one entry per domain judged."""

    domains: list[DomainDetails]


def combine(check_id: CheckId, findings: list[Finding]) -> CheckResult:
    """One result from the per-domain findings (tls-rpt uses it too)."""
    status = worst([f.status for f in findings])
    summary = "; ".join(f"{f.domain} ({f.role}): {f.text}" for f in findings)
    details = ReceiverDetails(
        domains=[DomainDetails(domain=f.domain, role=f.role, status=f.status, **f.details) for f in findings]
    )
    evidence = [e for f in findings for e in f.evidence]
    fix = " ".join(dict.fromkeys(x for f in findings for x in f.fixes))
    return CheckResult(check_id, status, summary, details, evidence, fix=fix)


@dataclass(frozen=True)
class PolicyRecord:
    """A kind of policy TXT record: where it lives, how it starts, and what to say when it is absent."""

    label: str  # "MTA-STS"
    prefix: str  # "_mta-sts"
    version: str  # "v=STSv1"
    rfc: str  # "RFC 8461 3.1"
    absent: str  # the finding's text when there is none
    ambiguous: str  # what senders do when there are several

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.escape(self.version) + r"[ \t]*;")


async def policy_record(
    ctx: Context, domain: str, role: str, kind: PolicyRecord
) -> tuple[Finding, str | None]:
    """The finding for `domain`'s record of this kind, and the record when there is exactly one to read on.

    A DNS failure is `error`, no record `skip` (its absence causes no refusal), several records `warn`.
    """
    name = f"{kind.prefix}.{domain}"
    answer, records = await txt_records(ctx, name, kind.pattern)
    found = Finding(domain, role, Status.PASS, "", evidence=[answer.evidence()])
    if answer.failed:
        found.status, found.text = Status.ERROR, f"{name} TXT: {answer.error or answer.rcode}"
        found.fixes.append("The DNS did not answer: check --nameserver and --timeout.")
        return found, None
    if not records:
        found.status, found.text = Status.SKIP, kind.absent
        found.details["published"] = False
        return found, None
    found.details["published"], found.details["record"] = True, records[0]
    if len(records) > 1:
        found.status, found.text = Status.WARN, f"{len(records)} {kind.label} records: {kind.ambiguous}"
        found.fixes.append(f"Keep one {kind.version} record at {name} ({kind.rfc}).")
        return found, None
    return found, records[0]
