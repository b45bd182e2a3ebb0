"""What the server's certificate says, and whether a sender that verifies certificates would accept it.

The dialogue itself runs with certificate checks off (`dialogue_context`): a diagnostic must see the
certificate of a server whose certificate is wrong, and must go on to MAIL and RCPT, as opportunistic-TLS
senders do. The verdict is then computed here from the DER chain the server sent, with `cryptography`:
the facts (expiry, self-signed, names) by reading the leaf, and the chain of trust with a verifier built on
the system's trusted CAs (`ssl.get_default_verify_paths()`, so `SSL_CERT_FILE` / `SSL_CERT_DIR` work as
they do for OpenSSL tools). One connection answers both questions; no second connection with a verifying
context is made.

The verifier follows the web PKI profile (what MTA-STS senders apply), except that the Authority and
Subject Key Identifier extensions are optional, as they are for OpenSSL: private CAs often omit them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_DER = 2  # _ssl.ENCODING_DER, for the Certificate objects of get_unverified_chain() before Python 3.13


@dataclass
class TlsInfo:
    """The TLS facts of one handshake. `verified` is the answer to "would a verifying sender accept it?"."""

    offered: bool = False  # STARTTLS in the EHLO reply, or implicit TLS asked for (--tls)
    mode: str = ""  # "starttls" | "implicit"
    established: bool = False
    hostname: str = ""  # the name the certificate must be valid for: the MX name
    version: str = ""
    cipher: str = ""
    bits: int | None = None
    subject: str = ""
    sans: list[str] = field(default_factory=list)
    issuer: str = ""
    not_before: str = ""
    not_after: str = ""
    expired: bool | None = None
    self_signed: bool | None = None
    valid_for_host: bool | None = None
    trusted: bool | None = None  # the chain leads to a CA this system trusts; None when it could not be told
    verified: bool | None = None
    problems: list[str] = field(default_factory=list)  # why a verifying sender would refuse it, in words
    unchecked: str = ""  # why the issuer could not be judged here (no CA store)
    error: str = ""  # why TLS could not be used (STARTTLS refused, handshake failure)
    der_chain: list[bytes] = field(default_factory=list, repr=False)  # leaf first; for DANE, not in JSON

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"offered": self.offered, "mode": self.mode, "established": self.established}
        if self.established:
            data.update(
                hostname=self.hostname,
                version=self.version,
                cipher=self.cipher,
                bits=self.bits,
                subject=self.subject,
                sans=self.sans,
                issuer=self.issuer,
                not_before=self.not_before,
                not_after=self.not_after,
                expired=self.expired,
                self_signed=self.self_signed,
                valid_for_host=self.valid_for_host,
                trusted=self.trusted,
                verified=self.verified,
                problems=self.problems,
            )
            if self.unchecked:
                data["unchecked"] = self.unchecked
        if self.error:
            data["error"] = self.error
        return data


def dialogue_context() -> ssl.SSLContext:
    """The context of the dialogue: no verification, so that a bad certificate is reported, not fatal."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def read_session(info: TlsInfo, ssl_object: Any) -> None:
    """Copy what the live connection knows (version, cipher, the DER chain) into `info`; cheap, no I/O."""
    info.established = True
    if ssl_object is None:
        return
    info.version = ssl_object.version() or ""
    cipher = ssl_object.cipher()
    if cipher:
        info.cipher, info.bits = cipher[0], cipher[2]
    info.der_chain = _peer_chain(ssl_object)


def _peer_chain(ssl_object: Any) -> list[bytes]:
    """The chain as sent by the server, leaf first; only the leaf when this Python cannot tell more."""
    getter = getattr(ssl_object, "get_unverified_chain", None)  # public from Python 3.13
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    chain: list[bytes] = []
    if getter is not None:
        try:
            chain = [c if isinstance(c, bytes) else c.public_bytes(_DER) for c in getter() or ()]
        except (ssl.SSLError, ValueError, TypeError, AttributeError):
            chain = []
    if not chain:
        leaf = ssl_object.getpeercert(binary_form=True)
        chain = [leaf] if leaf else []
    return chain


def examine(info: TlsInfo, now: dt.datetime | None = None) -> None:
    """Fill the certificate facts and the verdict from `info.der_chain`. Blocking: run it in a thread."""
    if not info.der_chain:
        info.problems.append("the server sent no certificate")
        info.verified = False
        return
    try:
        chain = [x509.load_der_x509_certificate(der) for der in info.der_chain]
    except ValueError as exc:
        info.problems.append(f"the server's certificate cannot be read: {exc}")
        info.verified = False
        return
    now = now or dt.datetime.now(dt.UTC)
    leaf = chain[0]
    info.subject = leaf.subject.rfc4514_string()
    info.issuer = leaf.issuer.rfc4514_string()
    info.not_before = leaf.not_valid_before_utc.isoformat()
    info.not_after = leaf.not_valid_after_utc.isoformat()
    dns_names, ips = _alt_names(leaf)
    info.sans = dns_names + ips
    info.expired = now > leaf.not_valid_after_utc
    info.self_signed = _self_signed(leaf)
    info.valid_for_host = _valid_for(info.hostname, leaf, dns_names, ips)
    info.trusted, trust_problem = _trusted(chain, dns_names, ips, now)

    if info.expired:
        info.problems.append(f"expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    elif now < leaf.not_valid_before_utc:
        info.problems.append(f"not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if info.trusted is None:
        info.unchecked = trust_problem
    elif info.self_signed and not info.trusted:
        info.problems.append("self-signed: no CA vouches for it")
    elif not info.trusted:
        info.problems.append(trust_problem)
    if info.valid_for_host is False:
        names = ", ".join(info.sans) or leaf.subject.rfc4514_string()
        info.problems.append(f"not valid for {info.hostname} (it names {names})")
    if info.trusted is None or info.valid_for_host is None:
        info.verified = None if not info.problems else False
    else:
        info.verified = not info.problems


def examine_safely(info: TlsInfo) -> None:
    """`examine`, for a worker thread: a certificate this code cannot judge is reported, not raised."""
    try:
        examine(info)
    except Exception as exc:
        info.unchecked = f"the certificate could not be checked: {type(exc).__name__}: {exc}"


def _alt_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return san.get_values_for_type(x509.DNSName), [str(a) for a in san.get_values_for_type(x509.IPAddress)]


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _valid_for(hostname: str, cert: x509.Certificate, dns_names: list[str], ips: list[str]) -> bool | None:
    """RFC 6125 name check: exact, or a wildcard for the whole left-most label; CN only without DNS SANs."""
    if not hostname:
        return None
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        address = None
    if address is not None:
        return str(address) in ips
    common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    names = dns_names or [a.value for a in common_names if isinstance(a.value, str)]
    host = hostname.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def _trusted(
    chain: list[x509.Certificate], dns_names: list[str], ips: list[str], now: dt.datetime
) -> tuple[bool | None, str]:
    """Does the chain lead to a trusted CA? Names and dates are judged apart, so they are taken out here."""
    store, why = trust_store()
    if store is None:
        return None, f"the issuer could not be checked: {why}"
    leaf = chain[0]
    subject: x509.DNSName | x509.IPAddress
    if dns_names:
        subject = x509.DNSName(dns_names[0])
    elif ips:
        subject = x509.IPAddress(ipaddress.ip_address(ips[0]))
    else:
        return False, "the certificate has no subjectAltName, which verifying senders require"
    moment = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    optional = (x509.AuthorityKeyIdentifier, x509.SubjectKeyIdentifier)
    ca_policy = verification.ExtensionPolicy.webpki_defaults_ca()
    ee_policy = verification.ExtensionPolicy.webpki_defaults_ee()
    for ext in optional:
        ca_policy = ca_policy.may_be_present(ext, verification.Criticality.AGNOSTIC, None)
        ee_policy = ee_policy.may_be_present(ext, verification.Criticality.AGNOSTIC, None)
    verifier = (
        verification.PolicyBuilder()
        .store(store)
        .time(moment)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_server_verifier(subject)
    )
    try:
        verifier.verify(leaf, chain[1:])
    except verification.VerificationError as exc:
        reason = str(exc).removeprefix("validation failed: ").split(" (encountered processing")[0]
        if "candidates exhausted" in reason:
            reason = "no chain to a trusted CA"
        return False, f"not issued by a CA this system trusts ({reason})"
    return True, ""


def trust_store() -> tuple[verification.Store | None, str]:
    """The system's trusted CAs, where OpenSSL looks for them (SSL_CERT_FILE / SSL_CERT_DIR honoured)."""
    paths = ssl.get_default_verify_paths()
    return _load_store(paths.cafile, paths.capath)


@cache
def _load_store(cafile: str | None, capath: str | None) -> tuple[verification.Store | None, str]:
    """Every CA certificate that parses. System bundles hold a few that today's cryptography only warns about
    (a negative serial number): they are kept silently, and one that fails outright is skipped, not fatal."""
    sources: list[Path] = []
    if cafile:
        sources.append(Path(cafile))
    elif capath and os.path.isdir(capath):
        sources.extend(sorted(p for p in Path(capath).iterdir() if p.is_file()))
    certs: dict[bytes, x509.Certificate] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for path in sources:
            try:
                blocks = path.read_bytes().split(_PEM_BEGIN)[1:]
            except OSError:
                continue
            for block in blocks:
                try:
                    cert = x509.load_pem_x509_certificate(_PEM_BEGIN + block)
                except (ValueError, CryptographyDeprecationWarning):
                    continue
                certs.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    if not certs:
        return None, "no trusted CA certificates found on this system (set SSL_CERT_FILE)"
    return verification.Store(list(certs.values())), ""
