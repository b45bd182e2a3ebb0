"""Each DKIM signature verified again now (RFC 6376, RFC 8301), and the ARC chain: dkimpy on the run's DNS.

dkimpy looks keys up through a `dnsfunc(name, timeout)`; here it is answered by the run's `BridgeResolver`
(same nameservers, cache and deadline as the checks), after the key records were asked concurrently on the
event loop, so that the worker thread only reads the cache and the report can show each key's answer.

The body hash and the header signature are judged separately: a body hash that fails says the content changed
(a list footer, a gateway banner, re-encoding of 8-bit text, RFC 6376 §3.7), a header signature that fails
with a good body hash says a signed header changed (a Subject tag, re-folding). `l=` (only part of the body
signed: anything appended is unsigned, §8.2) and `x=` (expiry: a signature may be rejected once it passed,
§3.5) are noted. A key shorter than 1024 bits is not valid (RFC 8301 §3.2), nor is rsa-sha1 (§3.1)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dkim
import dkim.util
import dns.exception
import dns.resolver

from mxprobe.message.arc import Arc
from mxprobe.message.shapes import ArcResult, BodyHash, DkimNow, HeaderSignature, SignatureDict
from mxprobe.model import Evidence

if TYPE_CHECKING:
    from mxprobe.dns import BridgeResolver, Dns
    from mxprobe.message.fields import Message

DnsFunc = Callable[..., bytes | None]
RSA_MIN_BITS = 1024
_CV: dict[bytes, ArcResult] = {b"pass": "pass", b"fail": "fail", b"none": "none"}
_REVOKED = re.compile(rb"(?:^|;)\s*p\s*=\s*(?:;|$)")  # RFC 6376 §3.6.1: empty p= = revoked


@dataclass
class Signature:
    d: str
    s: str
    algorithm: str
    index: int  # position among the DKIM-Signature fields (0 = topmost)
    result: DkimNow = "neutral"
    reason: str = ""
    body_hash: BodyHash = "unknown"
    header_signature: HeaderSignature = "unknown"
    key_bits: int | None = None
    key_type: str = ""
    length: int | None = None  # l=
    body_length: int | None = None  # canonicalized body octets
    expires: int | None = None  # x=, seconds since the epoch
    signed: int | None = None  # t=
    header_b: str = ""  # the first characters of b= (RFC 6008), to match the receiver's header.b
    aligned: bool | None = None
    alignment: str = ""
    notes: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> SignatureDict:
        return {
            "d": self.d,
            "s": self.s,
            "algorithm": self.algorithm,
            "result": self.result,
            "reason": self.reason,
            "body_hash": self.body_hash,
            "header_signature": self.header_signature,
            "key_bits": self.key_bits,
            "key_type": self.key_type,
            "l": self.length,
            "body_length": self.body_length,
            "x": self.expires,
            "t": self.signed,
            "header_b": self.header_b,
            "aligned": self.aligned,
            "alignment": self.alignment,
            "notes": self.notes,
            "evidence": [e.to_dict() for e in self.evidence],
        }


def dnsfunc(resolver: BridgeResolver) -> DnsFunc:
    """dkimpy's TXT lookup on the run's layer: the strings of the first TXT record, None if there is none."""

    def lookup(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        try:
            answer = resolver.resolve(text.rstrip("."), "TXT", raise_on_no_answer=False, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except (dns.exception.DNSException, RuntimeError) as exc:
            raise dkim.DnsTimeoutError(f"{text} TXT: {type(exc).__name__}: {exc}") from None
        for rrset in answer.response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(next(iter(rrset)).strings)
        return None

    return lookup


def _tag(sig: dict[bytes, bytes], name: bytes) -> str:
    return sig.get(name, b"").decode("ascii", "replace").strip()


def _body_hash(sig: dict[bytes, bytes], body: bytes) -> tuple[bool, int]:
    policy = dkim.CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    canonical = policy.canonicalize_body(body)
    size = len(canonical)
    if b"l" in sig:
        canonical = canonical[: int(sig[b"l"])]
    digest = dkim.HASH_ALGORITHMS[sig[b"a"]](canonical).digest()
    return digest == base64.b64decode(re.sub(rb"\s+", b"", sig[b"bh"])), size


def _header_signature(signer: dkim.DKIM, sig: dict[bytes, bytes], idx: int, lookup: DnsFunc) -> bool:
    """The b= signature over the signed headers alone (bh= is one of them), whatever the body became."""
    name = sig[b"s"] + b"._domainkey." + sig[b"d"] + b"."
    record = lookup(name)
    if record is not None and _REVOKED.search(record):
        raise dkim.KeyFormatError("key revoked (empty p=)")
    signer.pk, signer.keysize, signer.ktag, signer.seqtlsrpt = dkim.evaluate_pk(name, record)
    headers = [(x, y) for x, y in signer.headers if x.lower() == b"dkim-signature"]
    include = [x.lower() for x in re.split(rb"\s*:\s*", sig[b"h"])]
    no_body = {k: v for k, v in sig.items() if k != b"bh"}
    return bool(signer.verify_sig_process(no_body, include, headers[idx], lookup))


def _judge(
    out: Signature, sig: dict[bytes, bytes], signer: dkim.DKIM, lookup: DnsFunc, has_body: bool
) -> None:
    """Fills the results of one signature; runs in a worker thread (dkimpy and the bridge block)."""
    try:
        header_ok = _header_signature(signer, sig, out.index, lookup)
    except dkim.DnsTimeoutError as exc:
        out.result, out.reason = "temperror", f"key lookup failed: {exc}"
        return
    except dkim.NaClNotFoundError:
        out.result, out.reason = "neutral", "Ed25519 signatures need PyNaCl, which is not installed"
        return
    except dkim.KeyFormatError as exc:
        text = str(exc)
        out.result = "permerror"
        out.reason = "no key for signature (key record missing)" if "missing public key" in text else text
        if "too small" in text:
            out.result, out.reason = "policy", f"{text}: RFC 8301 §3.2 forbids keys under {RSA_MIN_BITS} bits"
        return
    out.key_bits, out.key_type = signer.keysize, signer.ktag.decode() if signer.ktag else ""
    out.header_signature = "pass" if header_ok else "fail"
    if has_body:
        body_ok, out.body_length = _body_hash(sig, signer.body)
        out.body_hash = "pass" if body_ok else "fail"
    else:
        out.body_hash = "not checked"
    _conclude(out)


def _conclude(out: Signature) -> None:
    if out.body_hash == "fail":
        out.result, out.reason = "fail", "body hash did not verify"
    elif out.header_signature == "fail":
        out.result, out.reason = "fail", "signature did not verify (a signed header changed)"
    elif out.body_hash == "not checked":
        out.result, out.reason = (
            "neutral",
            "headers only: the header signature verifies, the body was not given",
        )
    elif out.algorithm == "rsa-sha1":
        out.result, out.reason = "policy", "rsa-sha1 must not be used for verifying (RFC 8301 §3.1)"
    elif out.expires is not None and out.expires < time.time():
        out.result, out.reason = "permerror", "signature expired (x= has passed; RFC 6376 §3.5)"
    else:
        out.result, out.reason = "pass", "good signature"


def _notes(out: Signature) -> None:
    if out.length is not None:
        extra = f" of {out.body_length}" if out.body_length is not None else ""
        out.notes.append(
            f"l={out.length}: only {out.length}{extra} body octets are signed; text added after "
            "them is unsigned (RFC 6376 §8.2; Google advises against l=)"
        )
    if out.expires is not None:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(out.expires))
        out.notes.append(f"x= expires {when}: after that a verifier may reject it (RFC 6376 §3.5)")


def describe(value: bytes, index: int) -> tuple[Signature, dict[bytes, bytes] | None]:
    """A signature's tags, not verified (result "not checked"); the parsed tags, None when unreadable."""
    try:
        sig = dkim.util.parse_tag_value(value)
    except dkim.util.InvalidTagValueList as exc:
        return Signature("", "", "", index, "permerror", f"signature syntax: {exc}"), None
    out = Signature(_tag(sig, b"d").lower(), _tag(sig, b"s"), _tag(sig, b"a").lower(), index, "not checked")
    out.header_b = re.sub(r"\s+", "", _tag(sig, b"b"))[:8]
    numbers = {k: int(v) for k, v in ((k, _tag(sig, k.encode())) for k in ("l", "x", "t")) if v.isdigit()}
    out.length, out.expires, out.signed = numbers.get("l"), numbers.get("x"), numbers.get("t")
    return out, sig


def verify_one(raw: bytes, value: bytes, index: int, lookup: DnsFunc, has_body: bool) -> Signature:
    out, sig = describe(value, index)
    if sig is None:
        return out
    checkable = {k: v for k, v in sig.items() if k != b"x"}  # expiry judged after the cryptography
    try:
        dkim.validate_signature_fields(checkable)
    except dkim.ValidationError as exc:
        out.result, out.reason = "permerror", f"signature invalid: {exc}"
        return out
    try:
        _judge(out, sig, dkim.DKIM(raw, minkey=RSA_MIN_BITS), lookup, has_body)
    except (dkim.DKIMException, binascii.Error, ValueError, KeyError) as exc:  # a message dkimpy cannot read
        out.result, out.reason = "permerror", f"cannot verify: {type(exc).__name__}: {exc}"[:300]
    _notes(out)
    return out


def signature_values(message: Message) -> list[bytes]:
    return [f.value.encode("utf-8", "surrogateescape") for f in message.fields if f.key == "dkim-signature"][
        :20
    ]


async def prefetch_keys(client: Dns, message: Message) -> dict[str, Evidence]:
    """Each signature's and seal's key record asked at once; the evidence by name."""
    names = []
    for f in message.fields:
        if f.key in ("dkim-signature", "arc-seal", "arc-message-signature"):
            tags = dict(p.strip().partition("=")[::2] for p in f.value.split(";"))
            d, s = "".join(tags.get("d", "").split()), "".join(tags.get("s", "").split())
            if d and s:
                names.append(f"{s}._domainkey.{d}".lower())
    names = list(dict.fromkeys(names))[:20]
    answers = await asyncio.gather(*(client.query(n, "TXT") for n in names))
    return {n: a.evidence() for n, a in zip(names, answers, strict=True)}


def verify_all(raw: bytes, message: Message, resolver: BridgeResolver) -> list[Signature]:
    """Every DKIM-Signature, topmost first (worker thread)."""
    lookup = dnsfunc(resolver)
    return [verify_one(raw, v, i, lookup, message.has_body) for i, v in enumerate(signature_values(message))]


def verify_arc(raw: bytes, arc: Arc, resolver: BridgeResolver) -> None:
    """The chain validated now with dkimpy (worker thread): `arc.chain_valid`, and each set's seal and AMS."""
    if not arc.sets:
        arc.chain_valid, arc.reason = "none", "the message carries no ARC set"
        return
    try:
        cv, results, reason = dkim.arc_verify(raw, dnsfunc=dnsfunc(resolver))
    except dkim.DnsTimeoutError as exc:
        arc.chain_valid, arc.reason = "temperror", str(exc)
        return
    except (dkim.DKIMException, binascii.Error, ValueError, KeyError) as exc:
        arc.chain_valid, arc.reason = "fail", f"cannot verify: {type(exc).__name__}: {exc}"[:300]
        return
    state = _CV.get(cv, "fail") if isinstance(cv, bytes) else "fail"  # None: a chain another handler ended
    arc.chain_valid, arc.reason = state, str(reason)
    for result in results:
        for arc_set in arc.sets:
            if arc_set.instance == result.get("instance"):
                arc_set.seal_valid, arc_set.ams_valid = result.get("as-valid"), result.get("ams-valid")
