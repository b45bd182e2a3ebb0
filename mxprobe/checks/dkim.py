"""dkim: the DKIM public keys of the sending domain, judged as receivers judge them.

Without the selector a sender signs with, nobody can find its key: DNS has no listing of `_domainkey`. So the
given selectors (`--dkim-selector`, from the `s=` tag of a received DKIM-Signature) are checked, or else the
fixed selectors of the common providers (`checks/dkim-selectors.txt`), all asked at once.

Thresholds: RFC 8301 forbids RSA keys under 1024 bits (and a 512-bit key can be factored by anyone, who can
then sign mail as the domain); Gmail and Yahoo require at least 1024 and recommend 2048; verifiers need only
handle up to 4096. An Ed25519 key (RFC 8463) is sound, but many receivers do not verify it yet, so a domain
signing only with Ed25519 gets no DKIM pass there. The record's tag list is parsed by dkimpy and the key by
`cryptography`: no hand-written ASN.1.

Alignment: the key at `<selector>._domainkey.<domain>` serves signatures with `d=<domain>`, which DMARC
aligns with `From: <domain>` always, and with other From: domains of the same organizational domain only
under relaxed DKIM alignment (`adkim=r`, the default), read from the DMARC record found by the RFC 9989 walk.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from typing import NotRequired, TypedDict

from mxprobe.checks import Context
from mxprobe.checks.dkim_key import RSA_GOOD_BITS, Key, KeyDetails, error_text, looks_like_key, parse_key
from mxprobe.data import data_file
from mxprobe.dns import Answer
from mxprobe.model import CheckResult, Evidence, Status, worst
from mxprobe.registry import CheckId

SELECTORS_FILE = "dkim-selectors.txt"
DMARC_WALK_LIMIT = 8  # RFC 9989 tree walk: at most 8 queries


@cache
def common_selectors() -> tuple[str, ...]:
    """The selectors of `checks/dkim-selectors.txt`: first word of each line, comments and blanks skipped."""
    text = data_file(SELECTORS_FILE).read_text(encoding="utf-8")
    words = (line.partition("#")[0].split() for line in text.splitlines())
    return tuple(dict.fromkeys(w[0].lower() for w in words if w))


@dataclass
class Alignment:
    adkim: str  # "r" or "s"
    record_at: str | None  # where the DMARC record was found, None if nowhere
    organizational: str  # the domain relaxed alignment reaches
    evidence: list[Evidence]
    error: str = ""

    def describe(self, domain: str) -> str:
        if self.error:
            return f"d={domain} aligns with From: {domain} (DMARC record unreadable: {self.error})"
        if self.record_at is None:
            return f"d={domain} aligns with From: {domain}; no DMARC record, so receivers check no alignment"
        if self.adkim == "s":
            return f"d={domain} aligns with From: {domain} only (adkim=s)"
        if self.organizational != domain:
            return f"d={domain} aligns with From: {domain} and anywhere under {self.organizational} (adkim=r)"
        return f"d={domain} aligns with From: {domain} and its subdomains (adkim=r)"

    def to_dict(self, domain: str) -> AlignmentDetails:
        return AlignmentDetails(
            d=domain,
            adkim=self.adkim,
            dmarc_record_at=self.record_at,
            organizational_domain=self.organizational,
            strict_aligns_with=[domain],
            relaxed_aligns_with=[self.organizational, f"*.{self.organizational}"],
            summary=self.describe(domain),
        )


class AlignmentDetails(TypedDict):
    d: str
    adkim: str  # r or s
    dmarc_record_at: str | None
    organizational_domain: str
    strict_aligns_with: list[str]
    relaxed_aligns_with: list[str]
    summary: str


class DkimDetails(TypedDict):
    domain: str
    selectors_source: str  # "given", or the file of common selectors
    selectors_tried: int
    notes: NotRequired[list[str]]  # how --dkim-selector values were read
    keys: list[KeyDetails]
    missing: list[str]  # selectors without a key
    unanswered: list[str]  # selectors whose query got no answer
    alignment: AlignmentDetails


async def alignment(ctx: Context, domain: str) -> Alignment:
    """adkim from the nearest DMARC record of the RFC 9989 tree walk (the domain, then each parent)."""
    import dkim.util

    labels = domain.split(".")
    walk = [".".join(labels[i:]) for i in range(len(labels) - 1)][:DMARC_WALK_LIMIT]
    answers = await asyncio.gather(*(ctx.dns.query(f"_dmarc.{name}", "TXT") for name in walk))
    found: list[tuple[str, dict[bytes, bytes]]] = []
    evidence: list[Evidence] = []
    for name, answer in zip(walk, answers, strict=True):
        records = [t for t in answer.texts if t.lower().replace(" ", "").startswith("v=dmarc1")]
        if answer.failed and not found:
            evidence.append(answer.evidence())
            return Alignment(
                "r", None, domain, evidence, error=f"_dmarc.{name} TXT: {answer.error or answer.rcode}"
            )
        if len(records) == 1:
            try:
                found.append((name, dkim.util.parse_tag_value(records[0].encode("utf-8", "replace"))))
            except dkim.util.InvalidTagValueList as exc:
                evidence.append(answer.evidence())
                return Alignment(
                    "r", name, domain, evidence, error=f"syntax error at _dmarc.{name}: {error_text(exc)}"
                )
            evidence.append(answer.evidence())
    if not found:
        evidence.append(answers[0].evidence())
        return Alignment("r", None, domain, evidence)
    nearest, tags = found[0]
    adkim = tags.get(b"adkim", b"r").decode("ascii", "replace").strip().lower()
    return Alignment("s" if adkim == "s" else "r", nearest, found[-1][0], evidence)


async def run(ctx: Context) -> CheckResult:
    domain = ctx.target.domain
    if domain is None:
        return CheckResult(CheckId.DKIM, Status.SKIP, "no sending domain given")
    read = [selector_of(s, domain) for s in ctx.options.dkim_selectors if s.strip(" .")]
    given = list(dict.fromkeys(selector for selector, _ in read))
    notes = list(dict.fromkeys(note for _, note in read if note))
    selectors = given or list(common_selectors())
    names = [f"{s}._domainkey.{domain}" for s in selectors]
    answers, align = await asyncio.gather(
        asyncio.gather(*(ctx.dns.query(n, "TXT") for n in names)), alignment(ctx, domain)
    )
    keys: list[Key] = []
    evidence: list[Evidence] = []
    missing: list[str] = []
    unanswered: list[str] = []
    for selector, name, answer in zip(selectors, names, answers, strict=True):
        found = _keys_of(selector, name, answer, strict=bool(given))
        if found:
            keys += found
            note = f"via CNAME {' -> '.join(answer.cnames)}" if answer.cnames else ""
            evidence.append(answer.evidence(note))
        elif answer.failed:
            unanswered.append(selector)
            if given:
                evidence.append(answer.evidence())
        else:
            missing.append(selector)
            if given:
                evidence.append(answer.evidence())
    evidence += align.evidence
    _judge_revoked(keys, given=bool(given))
    details = DkimDetails(
        domain=domain,
        selectors_source="given" if given else SELECTORS_FILE,
        selectors_tried=len(selectors),
        keys=[k.to_dict() for k in keys],
        missing=missing,
        unanswered=unanswered,
        alignment=align.to_dict(domain),
    )
    if notes:
        details["notes"] = notes
    rcodes = {s: a.rcode for s, a in zip(selectors, answers, strict=True) if s in unanswered}
    extra = _findings(given, keys, missing, rcodes, len(selectors), domain)
    if extra is None:
        return CheckResult(
            CheckId.DKIM,
            Status.WARN,
            f"no DKIM key found under the {len(selectors)} common selectors of {domain}",
            details,
            evidence,
            fix=_NO_SELECTOR_FIX,
        )
    return _result(keys, extra, align, domain, details, evidence)


def _findings(
    given: list[str], keys: list[Key], missing: list[str], unanswered: dict[str, str], tried: int, domain: str
) -> list[tuple[Status, str, str]] | None:
    """What is said beside the keys: missing or unanswered selectors (given ones each; guessed ones only
    when nothing was found); None when guessed selectors found nothing and every query was answered."""
    if given:
        extra = [(Status.FAIL, f"{s}: no key", _missing_fix(s, domain)) for s in missing]
        return extra + [
            (Status.ERROR, f"{s}: no answer ({r})", _UNANSWERED_FIX) for s, r in unanswered.items()
        ]
    if unanswered and not keys:
        why = ", ".join(sorted(set(unanswered.values())))
        return [
            (
                Status.ERROR,
                f"{len(unanswered)} of {tried} selector queries unanswered ({why})",
                _UNANSWERED_FIX,
            )
        ]
    if not keys:
        return None
    extra = [] if any(k.usable for k in keys) else [(Status.WARN, "no usable key", _NO_SELECTOR_FIX)]
    return extra + (
        [(Status.PASS, f"{len(unanswered)} selector queries unanswered", "")] if unanswered else []
    )


def selector_of(text: str, domain: str) -> tuple[str, str]:
    """The selector in a `--dkim-selector` value, and a note when the user pasted the record name instead
    (`s1._domainkey`, `s1._domainkey.example.com`): asking `s1._domainkey._domainkey.example.com` would
    report a key missing that is there."""
    value = text.strip().lower().strip(".")
    selector, sep, rest = value.partition("._domainkey")
    if not sep or not selector or (rest and not rest.startswith(".")):
        return value, ""
    owner = rest.removeprefix(".")
    note = (
        f"--dkim-selector {text.strip()} read as selector {selector} (record {selector}._domainkey.{domain})"
    )
    if owner and owner != domain:
        note += f"; the name given is under {owner}, the domain checked is {domain}"
    return selector, note


def _judge_revoked(keys: list[Key], *, given: bool) -> None:
    """A revoked key (empty p=) fails every signature made with it. How much that matters depends on whether
    the sender signs with it: a selector given by the user is one it signs with (fail); a common selector
    found revoked next to a live key is a retired one after a key rotation (skip: nothing to fix); found
    with no live key, the domain has no usable key (warn, as when none is found)."""
    live = any(k.usable for k in keys)
    for key in (k for k in keys if k.revoked):
        if given:
            key.problem(Status.FAIL, _REVOKED)
        elif live:
            key.problems.append(f"{_REVOKED} (a retired selector: normal after a key rotation)")
            key.status = Status.SKIP
        else:
            key.problem(Status.WARN, _REVOKED)


def _keys_of(selector: str, name: str, answer: Answer, *, strict: bool) -> list[Key]:
    """The key records at one selector; with a guessed selector, TXT records that are no key are ignored."""
    if answer.rcode != "NOERROR":
        return []
    records = [t for t in answer.texts if strict or looks_like_key(t)]
    keys = [parse_key(selector, name, r) for r in records]
    if len(keys) > 1:
        for k in keys:
            k.problem(Status.WARN, f"{len(keys)} TXT records at {name}: verifiers pick one, results vary")
    return keys


_NO_SELECTOR_FIX = (
    "DKIM cannot be verified without the selector: open a message this domain sent, find the s= tag of its "
    "DKIM-Signature header and run again with --dkim-selector S. If no message carries a DKIM-Signature, "
    "set up DKIM signing with a 2048-bit RSA key."
)
_REVOKED = "revoked (empty p=): every signature made with this selector fails; sign with a current one"
_UNANSWERED_FIX = (
    "the DNS did not answer for some selectors: check --nameserver and --timeout, then run again"
)
_ED25519_ONLY = "only Ed25519 keys: many receivers cannot verify them yet, also sign with RSA-2048 (RFC 8463)"


def _missing_fix(selector: str, domain: str) -> str:
    return (
        f"no key at {selector}._domainkey.{domain}: receivers fail every signature with s={selector}; "
        "publish the key, or check the s= tag of a DKIM-Signature you received"
    )


def _result(
    keys: list[Key],
    extra: list[tuple[Status, str, str]],
    align: Alignment,
    domain: str,
    details: DkimDetails,
    evidence: list[Evidence],
) -> CheckResult:
    """One verdict from the keys and the findings around them (missing, revoked or unanswered selectors)."""
    usable = [k for k in keys if k.usable]
    if usable and all(k.key_type == "ed25519" for k in usable):
        extra = [*extra, (Status.WARN, _ED25519_ONLY, _ED25519_ONLY)]
    status = worst([k.status for k in keys] + [e[0] for e in extra])
    summary = "; ".join([k.describe() for k in keys] + [e[1] for e in extra if e[1]])
    if usable:
        summary += f"; {align.describe(domain)}"
    fixes = [p for k in keys if k.status != Status.SKIP for p in k.problems] + [e[2] for e in extra if e[2]]
    if any(k.key_type == "rsa" and 0 < k.bits < RSA_GOOD_BITS for k in keys):
        fixes.append(
            f"generate a {RSA_GOOD_BITS}-bit RSA key under a new selector, publish it, then switch signing"
        )
    return CheckResult(CheckId.DKIM, status, summary, details, evidence, fix="; ".join(dict.fromkeys(fixes)))
