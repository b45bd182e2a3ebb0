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
import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mxprobe.checks import Context
from mxprobe.data import data_file
from mxprobe.dns import Answer
from mxprobe.model import CheckResult, Evidence, Status, worst

SELECTORS_FILE = "dkim-selectors.txt"
RSA_MIN_BITS = 1024  # RFC 8301 3.2: smaller keys MUST NOT be used; Gmail and Yahoo reject them
RSA_GOOD_BITS = 2048  # what Gmail, Yahoo and Microsoft recommend
RSA_MAX_VERIFIABLE_BITS = 4096  # RFC 8301 3.2: verifiers need not handle larger keys
DMARC_WALK_LIMIT = 8  # RFC 9989 tree walk: at most 8 queries
_KEY_RECORD = re.compile(r"^\s*v\s*=\s*DKIM1\b|(?:^|;)\s*p\s*=", re.IGNORECASE)


@cache
def common_selectors() -> tuple[str, ...]:
    """The selectors of `checks/dkim-selectors.txt`: first word of each line, comments and blanks skipped."""
    text = data_file(SELECTORS_FILE).read_text(encoding="utf-8")
    words = (line.partition("#")[0].split() for line in text.splitlines())
    return tuple(dict.fromkeys(w[0].lower() for w in words if w))


@dataclass
class Key:
    """One DKIM key record as a verifier reads it, with every problem found and its severity."""

    selector: str
    name: str
    status: Status = Status.PASS
    key_type: str = ""
    bits: int = 0
    revoked: bool = False
    testing: bool = False
    strict: bool = False  # t=s: the i= domain must equal d=, no subdomain signing
    flags: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    notes: str = ""
    problems: list[str] = field(default_factory=list)
    unreadable: str = ""  # why no key could be read from the record (syntax, base64, key data)
    p_length: int = 0  # characters of the p= value
    p_sha256: str = ""  # SHA-256 of the decoded key: a fingerprint to compare with the signer's key

    def problem(self, status: Status, text: str) -> None:
        self.problems.append(text)
        self.status = worst([self.status, status])

    def cannot_read(self, text: str) -> None:
        """A fatal problem: verifiers get no key from this record, so every signature with it fails."""
        self.unreadable = text
        self.problem(Status.FAIL, text)

    @property
    def usable(self) -> bool:
        return self.status != Status.FAIL and not self.revoked and not self.unreadable

    def describe(self) -> str:
        if self.revoked:
            return f"{self.selector}: revoked (empty p=)"
        if self.unreadable:
            return f"{self.selector}: {self.unreadable}"
        size = f"{self.bits}-bit " if self.key_type == "rsa" else ""
        text = f"{self.selector}: {size}{self.key_type}"
        tags = [f"t={':'.join(self.flags)}"] if self.flags else []
        tags += [f"h={':'.join(self.hashes)}"] if self.hashes else []
        tags += [f"s={':'.join(self.services)}"] if self.services else []
        return f"{text}, {' '.join(tags)}" if tags else text

    def to_dict(self) -> dict[str, Any]:
        """The key's verdict and its problems first (the text report shows one shortened line per key); the
        key itself as its length and fingerprint: the record is in the evidence, base64 helps nobody here."""
        return {
            "selector": self.selector,
            "status": self.status.value,
            "problems": self.problems,
            "key_type": self.key_type,
            "bits": self.bits,
            "flags": self.flags,
            "hashes": self.hashes,
            "services": self.services,
            "notes": self.notes,
            "p_length": self.p_length,
            "p_sha256": self.p_sha256,
            "revoked": self.revoked,
            "testing": self.testing,
            "strict": self.strict,
            "name": self.name,
        }


def _split(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(":") if item.strip()]


def parse_key(selector: str, name: str, record: str) -> Key:
    """Judge one TXT record found at `<selector>._domainkey.<domain>` (RFC 6376 3.6.1, RFC 8301, RFC 8463)."""
    import dkim.util  # dkimpy: imported here, it pulls in its whole signing stack

    key = Key(selector, name)
    try:
        tags = {
            k.decode("ascii", "replace"): v.decode("ascii", "replace")
            for k, v in dkim.util.parse_tag_value(record.encode("utf-8", "replace")).items()
        }
    except dkim.util.InvalidTagValueList as exc:
        kind = "duplicate tag" if isinstance(exc, dkim.util.DuplicateTag) else "malformed tag"
        key.cannot_read(f"syntax error ({kind} {_text(exc)!r}): verifiers cannot read this record")
        return key
    version = tags.get("v")
    if version is not None and version != "DKIM1":
        key.cannot_read(f"v={version}: verifiers discard a record whose v= is not DKIM1")
        return key
    if version is not None and next(iter(tags)) != "v":
        key.problem(
            Status.WARN, "v=DKIM1 must be the first tag (RFC 6376 3.6.1): strict verifiers discard it"
        )
    key.notes = tags.get("n", "")
    key.flags = _split(tags.get("t", ""))
    key.testing = "y" in key.flags
    key.strict = "s" in key.flags
    key.hashes = _split(tags["h"]) if "h" in tags else []
    key.services = _split(tags["s"]) if "s" in tags else []
    if key.testing:
        key.problem(Status.WARN, "t=y (testing): receivers may treat mail signed with this key as unsigned")
    if key.hashes and "sha256" not in key.hashes:
        key.problem(Status.FAIL, f"h={tags['h']}: only SHA-1, which verifiers must not accept (RFC 8301)")
    if key.services and not {"*", "email"} & set(key.services):
        key.problem(Status.FAIL, f"s={tags['s']}: the key is not for email (needs s=email or s=*)")
    if "p" not in tags:
        key.cannot_read("no p= tag: this is not a DKIM key record")
        return key
    data = "".join(tags["p"].split())
    key.key_type = tags.get("k", "rsa").lower()
    if not data:
        key.revoked = True  # how bad depends on whether the sender signs with it: see run()
        return key
    key.p_length = len(data)
    try:
        der = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        key.cannot_read(f"p= is not valid base64 ({len(data)} characters): the key cannot be read")
        return key
    key.p_sha256 = hashlib.sha256(der).hexdigest()
    _judge_key(key, der)
    return key


def _judge_key(key: Key, der: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    if key.key_type == "ed25519":
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(der)
        except ValueError:
            key.cannot_read(f"k=ed25519 but p= holds {len(der)} bytes, not a 32-byte Ed25519 key")
            return
        key.bits = 256
        return
    if key.key_type != "rsa":
        key.cannot_read(f"k={key.key_type}: unknown key type (verifiers know rsa and ed25519)")
        return
    try:
        public = load_der_public_key(der)
    except (ValueError, TypeError):
        key.cannot_read("p= is not an RSA public key (SubjectPublicKeyInfo): the key cannot be read")
        return
    if not isinstance(public, rsa.RSAPublicKey):
        key.cannot_read(f"k=rsa but p= holds a {type(public).__name__.removesuffix('PublicKey')} key")
        return
    key.bits = public.key_size
    if key.bits < RSA_MIN_BITS:
        key.problem(
            Status.FAIL,
            f"RSA key of {key.bits} bits: verifiers reject keys under {RSA_MIN_BITS} bits (RFC 8301), and "
            "a key this small can be factored, letting anyone sign mail as this domain",
        )
    elif key.bits < RSA_GOOD_BITS:
        key.problem(
            Status.WARN, f"RSA key of {key.bits} bits: {RSA_GOOD_BITS} bits is what receivers recommend"
        )
    elif key.bits > RSA_MAX_VERIFIABLE_BITS:
        key.problem(
            Status.WARN,
            f"RSA key of {key.bits} bits: verifiers need handle only {RSA_MAX_VERIFIABLE_BITS} (RFC 8301)",
        )


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("ascii", "replace").strip() if isinstance(arg, bytes) else str(arg).strip()


def _looks_like_key(record: str) -> bool:
    """A TXT record a verifier would take as a key: a wildcard TXT (SPF at `*.example.com`) is not one."""
    return _KEY_RECORD.search(record) is not None


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

    def to_dict(self, domain: str) -> dict[str, Any]:
        return {
            "d": domain,
            "adkim": self.adkim,
            "dmarc_record_at": self.record_at,
            "organizational_domain": self.organizational,
            "strict_aligns_with": [domain],
            "relaxed_aligns_with": [self.organizational, f"*.{self.organizational}"],
            "summary": self.describe(domain),
        }


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
                    "r", name, domain, evidence, error=f"syntax error at _dmarc.{name}: {_text(exc)}"
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
        return CheckResult("dkim", Status.SKIP, "no sending domain given")
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
    details: dict[str, Any] = {
        "domain": domain,
        "selectors_source": "given" if given else SELECTORS_FILE,
        "selectors_tried": len(selectors),
        **({"notes": notes} if notes else {}),
        "keys": [k.to_dict() for k in keys],
        "missing": missing,
        "unanswered": unanswered,
        "alignment": align.to_dict(domain),
    }
    if given:
        extra = [(Status.FAIL, f"{s}: no key", _missing_fix(s, domain)) for s in missing]
        extra += [(Status.ERROR, f"{s}: no answer", _UNANSWERED_FIX) for s in unanswered]
    elif unanswered and not keys:
        extra = [
            (
                Status.ERROR,
                f"{len(unanswered)} of {len(selectors)} selector queries unanswered",
                _UNANSWERED_FIX,
            )
        ]
    elif not keys:
        return CheckResult(
            "dkim",
            Status.WARN,
            f"no DKIM key found under the {len(selectors)} common selectors of {domain}",
            details,
            evidence,
            fix=_NO_SELECTOR_FIX,
        )
    else:
        extra = [] if any(k.usable for k in keys) else [(Status.WARN, "no usable key", _NO_SELECTOR_FIX)]
        extra += [(Status.PASS, f"{len(unanswered)} selector queries unanswered", "")] if unanswered else []
    return _result(keys, extra, align, domain, details, evidence)


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
    records = [t for t in answer.texts if strict or _looks_like_key(t)]
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
    details: dict[str, Any],
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
    return CheckResult("dkim", status, summary, details, evidence, fix="; ".join(dict.fromkeys(fixes)))
