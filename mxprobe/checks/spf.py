"""spf: what receivers' SPF evaluation (RFC 7208, pyspf) says for the sending IP, for MAIL FROM and HELO.

The MAIL FROM identity is what DMARC aligns with and what Gmail, Yahoo and Microsoft demand for bulk senders;
some receivers (pypolicyd-spf's default) also refuse on a HELO `fail`. A HELO name without an SPF record is
the common case and harmless (receivers then use MAIL FROM), so for HELO `none` passes.

pyspf looks names up through the module global `spf.DNSLookup`, which by default calls the deprecated
`dns.resolver.query` on the system resolver. It is replaced once, at import, by a function that asks the
resolver held in a context variable: each evaluation sets its own (the run's, recording what it asks), and
`asyncio.to_thread` carries it into the worker thread. Code that uses pyspf without setting one gets the stock
lookup.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import dns.exception
import dns.resolver
import spf as pyspf

from mxprobe.checks.libdns import answers_of, prefetch_spf, unique_evidence
from mxprobe.model import CheckResult, Status, worst
from mxprobe.registry import CheckId
from mxprobe.target import domain_of

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer, BridgeResolver

_resolver: contextvars.ContextVar[dns.resolver.Resolver] = contextvars.ContextVar("mxprobe_spf_resolver")
_stock_lookup = pyspf.DNSLookup


def _lookup(name: str, qtype: str, tcpfallback: bool = True, timeout: float = 30) -> list[tuple[Any, Any]]:
    """pyspf's DNSLookup contract: [((name, qtype), value)], [] for NXDOMAIN/NODATA, TempError on failure."""
    resolver = _resolver.get(None)
    if resolver is None:
        return _stock_lookup(name, qtype, tcpfallback, timeout)  # type: ignore[no-any-return]
    try:
        answer = resolver.resolve(name, qtype, lifetime=timeout, search=False)
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        return []
    except dns.exception.Timeout:
        raise pyspf.TempError(f"DNS {qtype} lookup of {name}: no answer in time") from None
    except dns.resolver.NoNameservers as exc:
        why = "; ".join(str(e[3]) for e in exc.kwargs.get("errors") or () if e[3]) or "the nameserver failed"
        raise pyspf.TempError(f"DNS {qtype} lookup of {name}: {why}") from None
    except dns.exception.DNSException as exc:
        raise pyspf.TempError(f"DNS {qtype} lookup of {name}: {type(exc).__name__}") from None
    except (
        Exception
    ) as exc:  # the bridge to the run's loop (cancelled at the deadline): still a lookup failure
        raise pyspf.TempError(f"DNS {qtype} lookup of {name} failed: {type(exc).__name__}: {exc}") from None
    out: list[tuple[Any, Any]] = []
    for rd in answer:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), rd.address))
        elif qtype == "MX":
            out.append(((name, qtype), (rd.preference, rd.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), rd.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), rd.strings))
    return out


pyspf.DNSLookup = _lookup

MAILFROM_STATUS = {
    "pass": Status.PASS,
    "fail": Status.FAIL,
    "softfail": Status.WARN,
    "neutral": Status.WARN,
    "none": Status.WARN,
    "permerror": Status.FAIL,
    "temperror": Status.ERROR,
}
HELO_STATUS = MAILFROM_STATUS | {"none": Status.PASS}


Identity = Literal["mailfrom", "helo"]  # not a check id: the SPF identities (RFC 7208 §2.3, §2.4)
HELO_IDENTITY: Identity = "helo"  # not a check id: the SPF HELO identity


class EvaluationDetails(TypedDict):
    identity: str  # the address evaluated
    domain: str
    result: str  # pyspf's result: pass, fail, softfail, neutral, none, permerror, temperror
    explanation: str
    mechanism: str | None
    lookups: int
    void_lookups: int


class SpfDetails(TypedDict):
    ip: str
    mailfrom: NotRequired[EvaluationDetails]
    helo: NotRequired[EvaluationDetails | str]  # a string when the HELO is an address literal: why not


@dataclass
class Evaluation:
    identity: Identity
    sender: str  # the address evaluated (postmaster@HELO for the HELO identity)
    result: str
    explanation: str
    mechanism: str | None
    lookups: int
    void_lookups: int
    answers: list[Answer]

    @property
    def domain(self) -> str:
        return domain_of(self.sender)

    def describe(self) -> str:
        label = "MAIL FROM" if self.identity == "mailfrom" else "HELO"
        why = self.mechanism if self.result == "pass" else self.explanation
        return f"{label} {self.domain}: {self.result}" + (f" ({why})" if why else "")

    def to_dict(self) -> EvaluationDetails:
        return EvaluationDetails(
            identity=self.sender,
            domain=self.domain,
            result=self.result,
            explanation=self.explanation,
            mechanism=self.mechanism,
            lookups=self.lookups,
            void_lookups=self.void_lookups,
        )


def _evaluate(resolver: BridgeResolver, ip: str, sender: str, helo: str, querytime: float) -> tuple[Any, ...]:
    """One check2-equivalent evaluation in a worker thread; also returns what pyspf knows after it."""
    _resolver.set(resolver)  # this thread's copy of the context: nothing leaks to other evaluations
    query = pyspf.query(i=ip, s=sender, h=helo, querytime=querytime)
    try:
        result, _code, explanation = query.check()
    except Exception as exc:  # check() maps TempError/PermError itself; anything else is a failed lookup
        result, explanation = "temperror", f"{type(exc).__name__}: {exc}"
    return result, explanation, query.mechanism, query.lookups, query.void_lookups


async def evaluate(ctx: Context, ip: str, identity: Identity, sender: str, helo: str) -> Evaluation:
    resolver = ctx.dns.sync_resolver()
    await prefetch_spf(ctx.dns, domain_of(sender))
    querytime = max(ctx.dns.deadline.remaining(), 0.1)
    result, explanation, mechanism, lookups, void = await asyncio.to_thread(
        _evaluate, resolver, ip, sender, helo, querytime
    )
    answers = await answers_of(ctx.dns, resolver.asked)
    return Evaluation(identity, sender, result, explanation, mechanism, lookups, void, answers)


def spf_record(answer: Answer) -> str | None:
    return next((t for t in answer.texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")), None)


def garbled_spf(answer: Answer) -> str | None:
    """Why a TXT record meant as SPF is not one receivers read (RFC 7208 §4.5: it must start `v=spf1` and a
    space): non-ASCII characters at its start (a no-break space, typographic quotes, bytes that are not
    UTF-8). None when no record looks like that."""
    for text in answer.texts:
        if text.isascii():
            continue
        folded = "".join(c if c.isascii() and c.isprintable() else " " for c in text).strip().lower()
        if folded.startswith("v=spf1"):
            at, char = next((i, c) for i, c in enumerate(text) if not c.isascii())
            return f"the TXT record {text!r} holds the non-ASCII character U+{ord(char):04X} at {at + 1}"
    return None


def _fix(ev: Evaluation, ip: str, txt: Answer) -> str:
    record, garbled = spf_record(txt), garbled_spf(txt)
    term = f"ip6:{ip}" if ":" in ip else f"ip4:{ip}"
    if ev.result in ("fail", "softfail", "neutral"):
        head, _, tail = (record or "v=spf1 -all").partition(" ")
        return (
            f'Authorize the IP in the SPF record of {ev.domain}: `{ev.domain}. TXT "{head} {term} {tail}"`.'
        )
    if ev.result == "none" and garbled is not None:
        return f"Retype the SPF record of {ev.domain} in plain ASCII: {garbled}, so receivers ignore it."
    if ev.result == "none":
        return f'Publish an SPF record for {ev.domain}, e.g. `{ev.domain}. TXT "v=spf1 {term} -all"`.'
    if ev.result == "permerror":
        return f"Repair the SPF record of {ev.domain} ({ev.explanation}); spf-record shows what is wrong."
    if ev.result == "temperror":
        return (
            f"A DNS lookup failed while evaluating {ev.domain}; receivers defer (4xx). Check its nameservers."
        )
    return ""


async def run(ctx: Context) -> CheckResult:
    ip, mail_from = ctx.target.ip, ctx.target.mail_from
    if ip is None:
        return CheckResult(CheckId.SPF, Status.SKIP, "no sending IP to evaluate SPF for (give --ip)")
    # The MAIL FROM domain's SPF tree is known now; the HELO name may still wait for the IP's PTR.
    warm = asyncio.ensure_future(prefetch_spf(ctx.dns, domain_of(mail_from))) if mail_from else None
    helo = await ctx.helo()
    identities: list[tuple[Identity, str]] = []
    if mail_from:
        identities.append(("mailfrom", mail_from))
    if helo and not helo.startswith("["):  # RFC 7208 §2.3: an address literal has no HELO identity
        identities.append((HELO_IDENTITY, f"postmaster@{helo}"))
    if not identities:
        return CheckResult(CheckId.SPF, Status.SKIP, "no MAIL FROM domain or HELO name to evaluate SPF for")
    # Each identity's record first: evidence, the record the fix edits, and a running loop for the bridge.
    records = await asyncio.gather(*(ctx.dns.query(domain_of(s), "TXT") for _, s in identities))
    if warm is not None:
        await warm
    evaluations = await asyncio.gather(*(evaluate(ctx, ip, i, s, helo or "") for i, s in identities))
    statuses = [
        (MAILFROM_STATUS if e.identity == "mailfrom" else HELO_STATUS).get(e.result, Status.ERROR)
        for e in evaluations
    ]
    status = worst(statuses)
    evidence = unique_evidence(a for e in evaluations for a in e.answers)
    summary = "; ".join(e.describe() for e in evaluations)
    fixes = [
        _fix(e, ip, r) for e, r, s in zip(evaluations, records, statuses, strict=True) if s is not Status.PASS
    ]
    details = SpfDetails(ip=ip)
    for e in evaluations:
        if e.identity == "mailfrom":
            details["mailfrom"] = e.to_dict()
        else:
            details["helo"] = e.to_dict()  # not a check id: the SPF HELO identity
    if helo and helo.startswith("["):
        details["helo"] = "an address literal has no SPF identity (RFC 7208 §2.3)"  # not a check id
    return CheckResult(CheckId.SPF, status, summary, details, evidence, " ".join(f for f in fixes if f))
