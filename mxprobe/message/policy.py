"""SPF and DMARC as a receiver would evaluate them now, and where today's answer differs from the receiver's.

SPF (RFC 7208) is recomputed with pyspf through the project's SPF evaluation (`mxprobe.checks.spf.evaluate`,
the run's DNS layer) for the delivering IP: the MAIL FROM identity (Return-Path; `postmaster@HELO` when it is
empty, §2.4) and the HELO identity. DMARC (RFC 7489; the RFC 9989 tree walk): the policy from the project's
dmarc check, `adkim` and the organisational domain from the dkim check's walk, `aspf` from the record; DMARC
passes when SPF or DKIM passes for a domain aligned with From (§3.1: equal under `s`, same organisational
domain under `r`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mxprobe.checks import dkim as dkim_check
from mxprobe.checks import dmarc as dmarc_check
from mxprobe.checks import spf as spf_check
from mxprobe.message.authres import AUTHENTICATION, Method
from mxprobe.message.shapes import AlignmentMode, DifferenceDict, DmarcNowDict, DmarcResult, SpfNowDict
from mxprobe.model import Status

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.message.authres import AuthResult
    from mxprobe.message.verify import Signature


@dataclass
class SpfNow:
    result: str  # the MAIL FROM result (what DMARC uses), "none" when there was nothing to evaluate
    domain: str = ""
    ip: str | None = None
    mailfrom: Any = None  # mxprobe.checks.spf.Evaluation.to_dict()
    helo: Any = None
    aligned: bool | None = None

    def to_dict(self) -> SpfNowDict:
        return {
            "result": self.result,
            "domain": self.domain,
            "ip": self.ip,
            "aligned": self.aligned,
            "mailfrom": self.mailfrom,
            "helo": self.helo,  # not a check id
        }


@dataclass
class DmarcNow:
    result: DmarcResult
    domain: str = ""
    policy: str | None = None
    record: str | None = None
    location: str | None = None
    adkim: AlignmentMode = "r"
    aspf: AlignmentMode = "r"
    organizational: str = ""
    spf_aligned: bool = False
    dkim_aligned: bool = False
    disposition: str = ""  # what the policy asks of a receiver for this result
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> DmarcNowDict:
        return {
            "result": self.result,
            "domain": self.domain,
            "policy": self.policy,
            "record": self.record,
            "location": self.location,
            "adkim": self.adkim,
            "aspf": self.aspf,
            "organizational_domain": self.organizational,
            "spf_aligned": self.spf_aligned,
            "dkim_aligned": self.dkim_aligned,
            "disposition": self.disposition,
            "notes": self.notes,
        }


def aligned(domain: str, author: str, mode: str, organizational: str) -> bool:
    domain, author = domain.lower().rstrip("."), author.lower().rstrip(".")
    if not domain or not author:
        return False
    if mode == "s" or not organizational:
        return domain == author
    return domain == organizational or domain.endswith("." + organizational)


async def spf_now(ctx: Context, ip: str | None, mail_from: str, helo: str | None) -> SpfNow:
    if ip is None:
        return SpfNow("none", _spf_domain(mail_from, helo))
    sender = mail_from or (f"postmaster@{helo}" if helo else "")
    out = SpfNow("none", _spf_domain(mail_from, helo), ip)
    if sender:
        ev = await spf_check.evaluate(ctx, ip, "mailfrom", sender, helo or "")
        out.result, out.mailfrom = ev.result, ev.to_dict()
    if helo and not helo.startswith("["):
        ev = await spf_check.evaluate(ctx, ip, "helo", f"postmaster@{helo}", helo)  # not a check id
        out.helo = ev.to_dict()
    return out


def _spf_domain(mail_from: str, helo: str | None) -> str:
    return mail_from.rpartition("@")[2] if mail_from else (helo or "")


async def dmarc_now(ctx: Context, author: str, spf: SpfNow, signatures: list[Signature]) -> DmarcNow:
    """DMARC for the From domain with today's SPF and DKIM results; marks each signature's alignment."""
    if not author:
        return DmarcNow("none", notes=["the message has no From: address: DMARC cannot be evaluated"])
    check = await dmarc_check.run(ctx)
    walk = await dkim_check.alignment(ctx, author)
    tags = check.details.get("tags", {})
    out = DmarcNow("none", author, record=check.details.get("record"), location=check.details.get("location"))
    out.adkim = "s" if walk.adkim == "s" else "r"
    out.organizational = walk.organizational if walk.record_at else ""
    out.aspf = "s" if str(tags.get("aspf", "r")).lower() == "s" else "r"
    inherited = out.location not in (None, author)
    out.policy = str(tags.get("sp", tags.get("p")) if inherited else tags.get("p")) if tags else None
    for sig in signatures:
        sig.aligned = aligned(sig.d, author, out.adkim, out.organizational)
        mode = "strict" if out.adkim == "s" else "relaxed"
        sig.alignment = (
            f"d={sig.d} {'aligns' if sig.aligned else 'does not align'} with From: {author} ({mode})"
        )
    spf.aligned = aligned(spf.domain, author, out.aspf, out.organizational)
    out.spf_aligned = spf.result == "pass" and bool(spf.aligned)
    out.dkim_aligned = any(s.result == "pass" and s.aligned for s in signatures)
    if check.status is Status.ERROR or walk.error:
        out.result = "temperror"
        out.notes.append(check.summary if check.status is Status.ERROR else walk.error)
    elif not tags:
        out.result = "permerror" if check.status is Status.FAIL else "none"
        out.notes.append(check.summary)
    else:
        out.result = "pass" if out.spf_aligned or out.dkim_aligned else _undecided(signatures, spf)
        out.disposition = "deliver" if out.result == "pass" else (out.policy or "none")
    return out


def _undecided(signatures: list[Signature], spf: SpfNow) -> DmarcResult:
    """Fail, unless the missing pass is only a result that could not be computed (a DNS failure, no body)."""
    unknown = [s for s in signatures if s.aligned and s.result in ("temperror", "neutral")]
    return "temperror" if unknown or (spf.aligned and spf.result == "temperror") else "fail"


# --------------------------------------------------------------------------------------- differences

_CHANGED = "the message changed after the receiver verified it (the copy was edited or re-encoded when saved)"
_ELSEWHERE = (
    "the receiver verified a different form of the message: a gateway or list before it changed the body "
    "(footer, re-encoded 8-bit text), or its key lookup failed at the time"
)
_KEY_GONE = (
    "the key was removed, revoked or rotated since delivery, or the signature expired (x=): this says "
    "nothing about the message's authenticity at delivery"
)
CAUSES = {
    (Method.DKIM, "pass", "fail"): _CHANGED,
    (Method.DKIM, "fail", "pass"): _ELSEWHERE,
    (Method.DKIM, "neutral", "pass"): "the receiver could not verify it then (body hash or key); it does now",
    (Method.DKIM, "pass", "permerror"): _KEY_GONE,
    (
        Method.SPF,
        "pass",
        "fail",
    ): "the SPF record changed since delivery (an include or an address was removed)",
    (Method.SPF, "fail", "pass"): "the SPF record changed since delivery (the address was added), or the "
    "receiver evaluated another IP or domain (a forwarder)",
    (Method.DMARC, "pass", "fail"): "SPF or DKIM no longer passes aligned (see above), or the record changed",
    (
        Method.DMARC,
        "fail",
        "pass",
    ): "a forwarder or list broke SPF/DKIM before the receiver, or the DNS changed",
}


def _family(result: str) -> str:
    result = result.lower()
    if result in ("softfail", "hardfail", "policy"):
        return "fail"
    return "pass" if result.startswith("pass") or result == "bestguesspass" else result


def _cause(method: Method, then: str, now: str) -> str:
    key = (method, _family(then), _family(now))
    return (
        CAUSES.get(key)
        or CAUSES.get((method, _family(then), "fail" if now != "pass" else "pass"), "")
        or ("the DNS records changed since delivery, or the receiver saw the message in another form")
    )


def _dkim_match(r: AuthResult, signatures: list[Signature]) -> Signature | None:
    d = (r.prop("header.d") or r.prop("header.i").rpartition("@")[2]).lower()
    b = r.prop("header.b")
    same = [s for s in signatures if s.d == d]
    found = [s for s in same if b and s.header_b.startswith(b[:8])]
    return next(iter(found or same), None)


def differences(
    trusted: list[AuthResult], spf: SpfNow, signatures: list[Signature], dmarc: DmarcNow, arc_now: str = ""
) -> list[DifferenceDict]:
    """Each method where the receiver's verdict and today's differ, with the usual cause."""
    out: list[DifferenceDict] = []
    sig: Signature | None = None
    for r in trusted:
        if r.header != "Authentication-Results" or r.method not in (*AUTHENTICATION, Method.ARC):
            continue
        if r.method == Method.DKIM:
            sig = _dkim_match(r, signatures)
            now, what = (sig.result, f"dkim d={sig.d} s={sig.s}") if sig else ("", "")
        elif r.method == Method.SPF:
            now, what = spf.result, str(Method.SPF)
        elif r.method == Method.ARC:
            now, what = arc_now, str(Method.ARC)
        else:
            now, what = dmarc.result, str(Method.DMARC)
        if (
            not now
            or _family(r.result) == _family(now)
            or now in ("temperror", "neutral", "none", "not checked")
        ):
            continue
        detail = f" ({sig.reason})" if r.method == Method.DKIM and sig is not None and sig.reason else ""
        cause = _cause(Method(r.method), r.result, now)
        out.append(
            {"method": r.method, "what": what, "then": r.result, "now": now + detail, "likely_cause": cause}
        )
    return out
