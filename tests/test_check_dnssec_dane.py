"""The dnssec and dane checks against zones signed by the tests and a STARTTLS server with test certificates.

The loopback DNS server returns RRSIGs next to the RRsets they cover when DO is set, and never sets AD (it is
authoritative, not a validating resolver): so these tests exercise the path a user with a non-validating
resolver takes, where the DS -> DNSKEY -> SOA chain is checked by mxprobe itself. Keys (Ed25519) and
signatures are made at test time; the zone text is written here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dns.dnssec
import dns.name
import dns.rdata
import dns.rrset
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from dns.dnssectypes import Algorithm
from servers.certs import Cert, TestPKI
from servers.dns import DnsServer
from servers.smtp import ScriptedSmtpServer

from mxprobe.dns import parse_nameserver
from mxprobe.model import CheckResult, Status
from mxprobe.options import Options
from mxprobe.scanner import build_target, run

SENDING_IP = "192.0.2.1"
TTL = 300


@dataclass
class SignedZone:
    text: str  # the zone, with DNSKEY and RRSIGs
    ds: str  # the DS rdata the parent publishes


def sign(
    apex: str, records: list[tuple[str, str, str]], *, sign_with: Any = None, ds_of: Any = None
) -> SignedZone:
    """Sign `records` (relative owner, type, rdata) of `apex` with a fresh Ed25519 key (KSK and ZSK at once).

    `sign_with` signs with another key than the published one (signatures that do not verify); `ds_of`
    computes the DS from another key (a DS no DNSKEY matches).
    """
    origin = dns.name.from_text(apex)
    key = ed25519.Ed25519PrivateKey.generate()
    dnskey = dns.dnssec.make_dnskey(key.public_key(), Algorithm.ED25519, flags=257)
    rrsets: dict[tuple[str, str], list[str]] = {}
    for owner, rtype, rdata in [("@", "SOA", f"ns1.{apex} hostmaster.{apex} 1 3600 600 86400 300"), *records]:
        rrsets.setdefault((owner, rtype), []).append(rdata)
    rrsets[("@", "DNSKEY")] = [dnskey.to_text()]
    lines = []
    for (owner, rtype), datas in rrsets.items():
        name = origin if owner == "@" else dns.name.from_text(owner, origin)
        rrset = dns.rrset.from_text_list(name, TTL, "IN", rtype, datas, origin=origin, relativize=False)
        signer = sign_with or key
        sig = dns.dnssec.sign(rrset, signer, origin, dnskey, inception=time.time() - 3600, lifetime=86400)
        lines += [f"{name} {TTL} {rtype} {r.to_text()}" for r in rrset]
        lines.append(f"{name} {TTL} RRSIG {sig.to_text()}")
    ds_key = dns.dnssec.make_dnskey(ds_of.public_key(), Algorithm.ED25519, flags=257) if ds_of else dnskey
    return SignedZone("\n".join(lines), dns.dnssec.make_ds(origin, ds_key, "SHA256").to_text())


def zones(extra: dict[str, list[tuple[str, str, str]]] | None = None) -> dict[str, str]:
    """auth.test (unsigned) with signed.auth.test, a bogus zone of each kind, an island, a half-signed one."""
    other = ed25519.Ed25519PrivateKey.generate()
    more = extra or {}
    signed = sign(
        "signed.auth.test.", [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.1"), *more.get("signed", [])]
    )
    wrong_ds = sign("wrongds.auth.test.", [("@", "MX", "10 mx")], ds_of=other)
    bad_sig = sign("badsig.auth.test.", [("@", "MX", "10 mx")], sign_with=other)
    island = sign("island.auth.test.", [])
    nosig = sign("nosig.auth.test.", [])
    unsigned_children = [f"{o}.mx.plain {t} {d}" for o, t, d in more.get("plain", [])]
    parent = [
        f"signed DS {signed.ds}",
        f"wrongds DS {wrong_ds.ds}",
        f"badsig DS {bad_sig.ds}",
        f"nosig DS {nosig.ds}",  # a DS for a zone that serves keys without signatures
        "plain MX 10 mx.plain",
        "mx.plain A 127.0.0.1",
        *unsigned_children,
    ]
    return {
        "auth.test.": "\n".join(parent),
        "signed.auth.test.": signed.text,
        "wrongds.auth.test.": wrong_ds.text,
        "badsig.auth.test.": bad_sig.text,
        "island.auth.test.": island.text,
        "nosig.auth.test.": "\n".join(line for line in nosig.text.splitlines() if " RRSIG " not in line),
    }


async def _checks(
    server: DnsServer,
    domain: str,
    *,
    only: tuple[str, ...],
    mx: str | None = None,
    smtp: ScriptedSmtpServer | None = None,
) -> dict[str, CheckResult]:
    options = Options(nameservers=[parse_nameserver(server.address)], only=list(only), timeout=15)
    if smtp is not None:
        options.port = smtp.port
    report = await run(build_target(domain, ip=SENDING_IP, mx=mx, port=options.port), options)
    return {c.id: c for c in report.checks}


# -- dnssec --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "status", "words"),
    [
        ("signed.auth.test", Status.PASS, "chain checked here"),
        ("mx.signed.auth.test", Status.PASS, "(zone signed.auth.test)"),
        ("plain.auth.test", Status.SKIP, "not signed"),
        (
            "island.auth.test",
            Status.SKIP,
            "publishes DNSKEY records, but validating resolvers treat it as unsigned",
        ),
        ("wrongds.auth.test", Status.FAIL, "no DNSKEY of wrongds.auth.test matches the DS"),
        ("badsig.auth.test", Status.FAIL, "does not verify"),
        ("nosig.auth.test", Status.WARN, "validation was not possible"),
    ],
)
async def test_dnssec_states(
    make_dns_server: Callable[..., DnsServer], domain: str, status: Status, words: str
) -> None:
    result = (await _checks(make_dns_server(zones()), domain, only=("dnssec",)))["dnssec"]
    assert result.status == status, result.summary
    assert words in result.summary
    if status == Status.PASS:
        assert "validation by the resolver was not possible" in result.details["zones"][0]["reason"]
        assert any(e.query == "signed.auth.test DS" and e.answer for e in result.evidence)
    if status == Status.FAIL:
        assert "bogus" in result.fix


async def test_dnssec_reports_the_mx_zone_too(
    make_dns_server: Callable[..., DnsServer], smtp_server: Callable[..., ScriptedSmtpServer]
) -> None:
    server = make_dns_server(zones())
    smtp = smtp_server(hostname="mx.signed.auth.test")
    checks = await _checks(server, "plain.auth.test", only=("dnssec",), mx="mx.signed.auth.test", smtp=smtp)
    result = checks["dnssec"]
    assert result.status == Status.PASS  # the MX zone is signed; the sending domain is not (nothing to judge)
    assert [z["state"] for z in result.details["zones"]] == ["unsigned", "signed"]
    assert "sending domain plain.auth.test (zone auth.test): not signed" in result.summary
    assert "MX mx.signed.auth.test (zone signed.auth.test): signed" in result.summary


async def test_dnssec_dns_failure_is_an_error(make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server(zones(), faults={"signed.auth.test.": "servfail"})
    result = (await _checks(server, "signed.auth.test", only=("dnssec",)))["dnssec"]
    assert result.status == Status.ERROR
    assert "SERVFAIL" in result.summary


# -- dane ----------------------------------------------------------------------------------------------------


@pytest.fixture
def mx_cert(pki: TestPKI) -> Cert:
    return pki.leaf("mx.signed.auth.test")


def _tlsa_zone(port: int, where: str, *records: str) -> dict[str, str]:
    owner = f"_{port}._tcp"
    return zones({where: [(f"{owner}.mx" if where == "signed" else owner, "TLSA", r) for r in records]})


@pytest.mark.parametrize(
    ("records", "status", "words"),
    [
        (lambda c, o: [c.tlsa(3, 1, 1)], Status.PASS, "matches DANE-EE"),
        (lambda c, o: [c.tlsa(3, 0, 2)], Status.PASS, "matches DANE-EE"),
        (lambda c, o: [o.tlsa(3, 1, 1), c.tlsa(3, 0, 1)], Status.PASS, "matches DANE-EE"),
        (lambda c, o: [o.tlsa(3, 1, 1)], Status.FAIL, "matches none of its TLSA records"),
        (lambda c, o: [c.tlsa(1, 1, 1)], Status.WARN, "PKIX-TA/PKIX-EE"),
    ],
)
async def test_dane_compares_the_presented_certificate(
    make_dns_server: Callable[..., DnsServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
    mx_cert: Cert,
    records: Callable[[Cert, Cert], list[str]],
    status: Status,
    words: str,
) -> None:
    smtp = smtp_server(tls=mx_cert.server_context(), hostname="mx.signed.auth.test")
    other = pki.leaf("mx.signed.auth.test")  # the certificate before a renewal
    server = make_dns_server(_tlsa_zone(smtp.port, "signed", *records(mx_cert, other)))
    result = (await _checks(server, "plain.auth.test", only=("dane",), mx="mx.signed.auth.test", smtp=smtp))[
        "dane"
    ]
    assert result.status == status, result.summary
    assert words in result.summary
    host = result.details["hosts"][0]
    assert host["name"] == f"_{smtp.port}._tcp.mx.signed.auth.test" and host["dnssec_secure"] is True
    if status == Status.FAIL:
        assert "refuse to deliver" in result.summary and "TLSA record" in result.fix


async def test_dane_ta_matches_the_ca_the_server_sends(
    make_dns_server: Callable[..., DnsServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
    mx_cert: Cert,
    tmp_path: Any,
) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_bytes(mx_cert.cert_path.read_bytes() + pki.ca.cert_path.read_bytes())
    context = mx_cert.server_context()
    context.load_cert_chain(chain, mx_cert.key_path)
    smtp = smtp_server(tls=context, hostname="mx.signed.auth.test")
    server = make_dns_server(_tlsa_zone(smtp.port, "signed", pki.ca.tlsa(2, 1, 1)))
    result = (await _checks(server, "plain.auth.test", only=("dane",), mx="mx.signed.auth.test", smtp=smtp))[
        "dane"
    ]
    assert result.status == Status.PASS, result.summary
    assert "matches DANE-TA" in result.summary


async def test_dane_without_starttls_fails(
    make_dns_server: Callable[..., DnsServer], smtp_server: Callable[..., ScriptedSmtpServer], mx_cert: Cert
) -> None:
    smtp = smtp_server(hostname="mx.signed.auth.test")
    server = make_dns_server(_tlsa_zone(smtp.port, "signed", mx_cert.tlsa(3, 1, 1)))
    result = (await _checks(server, "plain.auth.test", only=("dane",), mx="mx.signed.auth.test", smtp=smtp))[
        "dane"
    ]
    assert result.status == Status.FAIL
    assert "does not offer STARTTLS" in result.summary


async def test_tlsa_in_an_unsigned_zone_is_ignored_by_senders(
    make_dns_server: Callable[..., DnsServer], smtp_server: Callable[..., ScriptedSmtpServer], pki: TestPKI
) -> None:
    cert = pki.leaf("mx.plain.auth.test")
    smtp = smtp_server(tls=cert.server_context(), hostname="mx.plain.auth.test")
    server = make_dns_server(_tlsa_zone(smtp.port, "plain", pki.leaf("x.test").tlsa(3, 1, 1)))
    result = (await _checks(server, "plain.auth.test", only=("dane",), mx="mx.plain.auth.test", smtp=smtp))[
        "dane"
    ]
    assert result.status == Status.WARN, result.summary  # a mismatch, but senders ignore unsigned TLSA
    assert "not DNSSEC-validated (unsigned" in result.summary
    assert "matches none" in result.summary


async def test_no_tlsa_means_dane_is_not_in_use(
    make_dns_server: Callable[..., DnsServer], smtp_server: Callable[..., ScriptedSmtpServer], mx_cert: Cert
) -> None:
    smtp = smtp_server(tls=mx_cert.server_context(), hostname="mx.signed.auth.test")
    server = make_dns_server(zones())
    result = (await _checks(server, "plain.auth.test", only=("dane",), mx="mx.signed.auth.test", smtp=smtp))[
        "dane"
    ]
    assert result.status == Status.SKIP
    assert "DANE is not in use" in result.summary
    assert server.count(f"_{smtp.port}._tcp.mx.signed.auth.test.", "TLSA") == 1


async def test_dane_dns_failure_is_an_error(
    make_dns_server: Callable[..., DnsServer], smtp_server: Callable[..., ScriptedSmtpServer], mx_cert: Cert
) -> None:
    smtp = smtp_server(tls=mx_cert.server_context(), hostname="mx.signed.auth.test")
    name = f"_{smtp.port}._tcp.mx.signed.auth.test."
    server = make_dns_server(zones(), faults={name: "servfail"})
    result = (await _checks(server, "plain.auth.test", only=("dane",), mx="mx.signed.auth.test", smtp=smtp))[
        "dane"
    ]
    assert result.status == Status.ERROR
