"""A DKIM key record (RFC 6376 §3.6.1) as a verifier reads it: its tags by dkimpy, its key by `cryptography`.

Thresholds: RFC 8301 §3.2 forbids RSA keys under 1024 bits (and a 512-bit key can be factored by anyone, who
can then sign mail as the domain); Gmail and Yahoo recommend 2048; verifiers need only handle up to 4096.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import TypedDict

from mxprobe.model import Status, worst

RSA_MIN_BITS = 1024  # RFC 8301 3.2: smaller keys MUST NOT be used; Gmail and Yahoo reject them
RSA_GOOD_BITS = 2048  # what Gmail, Yahoo and Microsoft recommend
RSA_MAX_VERIFIABLE_BITS = 4096  # RFC 8301 3.2: verifiers need not handle larger keys
_KEY_RECORD = re.compile(r"^\s*v\s*=\s*DKIM1\b|(?:^|;)\s*p\s*=", re.IGNORECASE)


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

    def to_dict(self) -> KeyDetails:
        """The key's verdict and its problems first (the text report shows one shortened line per key); the
        key itself as its length and fingerprint: the record is in the evidence, base64 helps nobody here."""
        return KeyDetails(
            selector=self.selector,
            status=self.status,
            problems=self.problems,
            key_type=self.key_type,
            bits=self.bits,
            flags=self.flags,
            hashes=self.hashes,
            services=self.services,
            notes=self.notes,
            p_length=self.p_length,
            p_sha256=self.p_sha256,
            revoked=self.revoked,
            testing=self.testing,
            strict=self.strict,
            name=self.name,
        )


class KeyDetails(TypedDict):
    selector: str
    status: Status
    problems: list[str]
    key_type: str  # rsa, ed25519, or what the record says
    bits: int
    flags: list[str]  # t=
    hashes: list[str]  # h=
    services: list[str]  # s=
    notes: str  # n=
    p_length: int
    p_sha256: str
    revoked: bool
    testing: bool
    strict: bool
    name: str  # the record's name


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
        key.cannot_read(f"syntax error ({kind} {error_text(exc)!r}): verifiers cannot read this record")
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


def error_text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("ascii", "replace").strip() if isinstance(arg, bytes) else str(arg).strip()


def looks_like_key(record: str) -> bool:
    """A TXT record a verifier would take as a key: a wildcard TXT (SPF at `*.example.com`) is not one."""
    return _KEY_RECORD.search(record) is not None
