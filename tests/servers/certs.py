"""A throw-away PKI made at test time with `cryptography`: no key or certificate is ever committed.

    pki = TestPKI(tmp_path)                      # conftest: the session fixture `pki`
    good = pki.leaf("mx1.infra.test")            # signed by pki.ca, valid now, SAN = the name
    bad = pki.self_signed("mx1.infra.test")      # or pki.leaf("mx1.infra.test", expired=True)
    ScriptedSmtpServer(tls=good.server_context())
    good.client_context()                        # a verifying client context that trusts pki.ca
    good.tlsa(3, 1, 1)                           # "3 1 1 <sha256 of the SPKI>", for a TLSA line in a zone

Keys are EC P-256 (made in milliseconds, unlike RSA). Every file sits in the folder given to `TestPKI`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Cert:
    """A certificate, its key and the files a server or a client loads."""

    name: str  # the host name it is for (its CN and first SAN)
    certificate: x509.Certificate
    cert_path: Path  # PEM, the certificate alone
    key_path: Path  # PEM, unencrypted
    trust_path: Path  # PEM of what a verifying client must trust: the issuing CA, or the cert if self-signed

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def spki(self) -> bytes:
        return self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the whole certificate (TLSA selector 0, matching type 1)."""
        return hashlib.sha256(self.der).hexdigest()

    @property
    def spki_sha256(self) -> str:
        """Hex SHA-256 of the SubjectPublicKeyInfo (TLSA selector 1, matching type 1)."""
        return hashlib.sha256(self.spki).hexdigest()

    def tlsa(self, usage: int = 3, selector: int = 1, matching: int = 1) -> str:
        """TLSA rdata for a zone file (matching 0 = full data, 1 = SHA-256, 2 = SHA-512)."""
        data = self.spki if selector == 1 else self.der
        digest = {0: data.hex(), 1: hashlib.sha256(data).hexdigest(), 2: hashlib.sha512(data).hexdigest()}
        return f"{usage} {selector} {matching} {digest[matching]}"

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only what validates this certificate."""
        return ssl.create_default_context(cafile=str(self.trust_path))


class TestPKI:
    """One CA per instance; leaves and self-signed certificates on demand, written under `folder`."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, folder: Path, ca_name: str = "mxprobe test CA") -> None:
        self.folder = folder
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = self._build(ca_name, self._ca_key, None, ca=True)
        self.ca = self._write(ca_name, "ca", ca, self._ca_key, trust=None)

    def leaf(
        self,
        name: str,
        *,
        expired: bool = False,
        alt_names: tuple[str, ...] = (),
    ) -> Cert:
        """A server certificate for `name` (and `alt_names`) signed by this PKI's CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._build(name, key, self.ca, expired=expired, alt_names=alt_names)
        stem = f"{name}-expired" if expired else name
        return self._write(name, stem, cert, key, trust=self.ca.cert_path)

    def self_signed(self, name: str) -> Cert:
        key = ec.generate_private_key(ec.SECP256R1())
        return self._write(name, f"{name}-self", self._build(name, key, None), key, trust=None)

    def _build(
        self,
        name: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: Cert | None,
        *,
        ca: bool = False,
        expired: bool = False,
        alt_names: tuple[str, ...] = (),
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        not_before, not_after = now - _DAY, now + 30 * _DAY
        if expired:
            not_before, not_after = now - 60 * _DAY, now - _DAY
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.certificate.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            sans = [x509.DNSName(n) for n in (name, *alt_names)]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        signer = self._ca_key if issuer else key
        return builder.sign(signer, hashes.SHA256())

    def _write(
        self,
        name: str,
        stem: str,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        trust: Path | None,
    ) -> Cert:
        cert_path = self.folder / f"{stem}.crt"
        key_path = self.folder / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return Cert(name, cert, cert_path, key_path, trust or cert_path)
