"""dane: the TLSA records of the MX (`_<port>._tcp.<mx>`, RFC 7672) and whether the certificate the handshake
was shown matches them.

DANE turns a certificate problem into a delivery failure: a sender that validates DNSSEC and finds usable
TLSA records refuses to deliver (and defers the mail) when STARTTLS is missing or no TLSA record matches the
certificate; a classic outage after a certificate renewal that forgot the TLSA records. TLSA records count
only when DNSSEC vouches for them (AD bit, or the zone's chain checked by the dnssec check's code), and SMTP
uses only DANE-TA(2) and DANE-EE(3) records: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672
3.1.3). DANE-EE matches the server's own certificate, with no name or date check; DANE-TA matches a CA the
server sends in its chain, which must then issue the chain down to a certificate valid for the MX name.
Selectors 0 (whole certificate) and 1 (SubjectPublicKeyInfo), matching types 0 (exact), 1 (SHA-256) and
2 (SHA-512) are computed with `cryptography` and hashlib.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from dataclasses import dataclass, field
from typing import TypedDict

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from mxprobe.checks import Context
from mxprobe.checks.dnssec import zone_security
from mxprobe.checks.receiver import HandshakeTls, handshake_tls, mx_hosts
from mxprobe.model import CheckResult, Evidence, Status, worst
from mxprobe.registry import CheckId
from mxprobe.smtp.tls import TlsInfo

USAGES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
SMTP_USABLE = (2, 3)  # RFC 7672 3.1.3


@dataclass
class Tlsa:
    usage: int
    selector: int
    mtype: int
    data: bytes

    @property
    def text(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"

    def matches(self, cert: x509.Certificate) -> bool:
        """Does the record's data equal the certificate (selector 0) or its public key (1), hashed as told?"""
        if self.selector == 0:
            content = cert.public_bytes(serialization.Encoding.DER)
        elif self.selector == 1:
            content = cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        else:
            return False
        if self.mtype == 0:
            return content == self.data
        algorithm = {1: "sha256", 2: "sha512"}.get(self.mtype)
        return algorithm is not None and hashlib.new(algorithm, content).digest() == self.data


@dataclass
class HostDane:
    host: str
    name: str  # the TLSA owner name
    status: Status
    text: str
    records: list[Tlsa] = field(default_factory=list)
    secure: bool | None = None
    matched: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> HostDetails:
        return HostDetails(
            host=self.host,
            name=self.name,
            status=self.status,
            tlsa=[r.text for r in self.records],
            dnssec_secure=self.secure,
            matched=self.matched,
        )


class HostDetails(TypedDict):
    host: str
    name: str  # the TLSA owner name, _25._tcp.HOST
    status: Status
    tlsa: list[str]
    dnssec_secure: bool | None  # None: not known (no TLSA records, or the DNS did not answer)
    matched: list[str]  # the TLSA records the handshake's certificate matched


class DaneDetails(TypedDict, total=False):
    port: int
    hosts: list[HostDetails]


async def run(ctx: Context) -> CheckResult:
    hosts, mx_evidence = await mx_hosts(ctx)
    if not hosts:
        return CheckResult(
            CheckId.DANE,
            Status.SKIP,
            "no MX host name to look up TLSA records for (--mx was an address)",
            DaneDetails(),
            mx_evidence,
        )
    results = await asyncio.gather(*(_check_host(ctx, host) for host in hosts))
    status = worst([r.status for r in results])
    published = [r for r in results if r.records or r.status == Status.ERROR]
    summary = "; ".join(r.text for r in published) or (
        f"no TLSA records for {', '.join(hosts)}: DANE is not in use (senders use opportunistic TLS)"
    )
    details = DaneDetails(port=ctx.target.port, hosts=[r.to_dict() for r in results])
    evidence = mx_evidence + [e for r in results for e in r.evidence]
    fix = " ".join(dict.fromkeys(f for r in results for f in r.fixes))
    return CheckResult(CheckId.DANE, status, summary, details, evidence, fix=fix)


async def _check_host(ctx: Context, host: str) -> HostDane:
    name = f"_{ctx.target.port}._tcp.{host}"
    answer = await ctx.dns.query(name, "TLSA", dnssec=True)
    found = HostDane(host, name, Status.SKIP, "", evidence=[answer.evidence()])
    if answer.failed:
        found.status, found.text = Status.ERROR, f"{name} TLSA: {answer.error or answer.rcode}"
        found.fixes.append("The DNS did not answer: check --nameserver and --timeout.")
        return found
    found.records = [Tlsa(r.usage, r.selector, r.mtype, bytes(r.cert)) for r in answer.records]
    if not found.records:
        found.text = f"{host}: no TLSA records"
        return found
    found.status = Status.PASS
    found.text = f"{host}: TLSA {', '.join(r.text[:24] + '…' for r in found.records)}"
    if answer.ad:
        found.secure = True
    else:
        zone = await zone_security(ctx, name)
        found.evidence += zone.evidence
        found.secure = zone.secure
        if not zone.secure:
            status = {"bogus": Status.FAIL, "unknown": Status.ERROR}.get(zone.state, Status.WARN)
            _add(found, status, f"not DNSSEC-validated ({zone.state}: {zone.reason}), so senders ignore them")
            found.fixes.append(f"Sign the zone of {host} with DNSSEC, or the TLSA records have no effect.")
    usable = [r for r in found.records if r.usage in SMTP_USABLE]
    if not usable:
        _add(
            found,
            Status.WARN,
            "only PKIX-TA/PKIX-EE records, which SMTP senders treat as unusable (RFC 7672)",
        )
        found.fixes.append(f"Publish DANE-EE records (3 1 1 <SHA-256 of the key>) at {name}.")
        return found
    tls = await handshake_tls(ctx)
    if tls is None or tls.host != host:
        found.text += "; the handshake did not reach this host, so its certificate was not compared"
        return found
    _judge(found, usable, tls)
    return found


def _add(found: HostDane, status: Status, text: str) -> None:
    found.status = worst([found.status, status])
    found.text += f"; {text}"


def _judge(found: HostDane, usable: list[Tlsa], tls: HandshakeTls) -> None:
    """The handshake's certificate against the usable records; a failure is fatal only if DNSSEC vouches."""
    info = tls.info
    severity = Status.FAIL if found.secure else Status.WARN
    if not info.offered or not info.established:
        why = "does not offer STARTTLS" if not info.offered else f"TLS failed: {info.error or 'no handshake'}"
        _add(found, severity, f"{found.host} {why}: DANE senders refuse to deliver without TLS")
        found.fixes.append(f"Offer STARTTLS on {found.host} with a certificate matching its TLSA records.")
        return
    try:
        chain = [x509.load_der_x509_certificate(der) for der in info.der_chain]
    except ValueError as exc:
        _add(found, Status.ERROR, f"the server's certificate cannot be read: {exc}")
        return
    if not chain:
        _add(found, severity, "the server sent no certificate")
        return
    for record in usable:
        ee = record.usage == 3 and record.matches(chain[0])
        if ee or (record.usage == 2 and _ta_matches(record, chain, info)):
            found.matched.append(record.text)
    if found.matched:
        found.text += (
            f"; the certificate of {found.host} matches {USAGES[int(found.matched[0][0])]} record(s)"
        )
        return
    _add(
        found,
        severity,
        f"the certificate of {found.host} matches none of its TLSA records: DANE senders refuse to deliver",
    )
    found.fixes.append(
        f"Publish a TLSA record for the certificate {found.host} serves now (e.g. 3 1 1 <SHA-256 of its "
        "public key>), keeping the old one until the change has propagated; or serve the one they name."
    )


def _ta_matches(record: Tlsa, chain: list[x509.Certificate], info: TlsInfo) -> bool:
    """DANE-TA: a CA above the leaf matches, signs the chain down to the leaf, and the leaf names the MX."""
    for index in range(1, len(chain)):
        if record.matches(chain[index]):
            try:
                for lower, upper in itertools.pairwise(chain[: index + 1]):
                    lower.verify_directly_issued_by(upper)
            except (ValueError, TypeError, InvalidSignature):
                return False
            return bool(info.valid_for_host) and not info.expired
    return False
