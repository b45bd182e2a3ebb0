"""The test servers themselves, driven by the clients mxprobe uses (dnspython, aiosmtplib), so every later
test can trust that a verdict comes from the code under test and not from a server that answers wrongly."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiosmtplib
import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from servers.certs import TestPKI
from servers.dns import DnsServer, ZoneError, Zones
from servers.guard import LeftLoopbackError, LoopbackGuard
from servers.smtp import (
    FAULT_KINDS,
    Command,
    FaultyServer,
    ScriptedSmtpServer,
    gmail_like,
    greylisting,
    multiline,
    netease_like,
    postfix_like,
)

TIMEOUT = 0.3  # for the faults that must time out: short, the suite stays fast
EHLO_NAME = "probe.infra.test"


def resolver(server: DnsServer, timeout: float = 1.0) -> dns.asyncresolver.Resolver:
    r = dns.asyncresolver.Resolver(configure=False)
    r.nameservers = [server.nameserver]
    r.timeout = r.lifetime = timeout
    return r


async def ask(
    server: DnsServer, name: str, rdtype: str = "A", *, tcp: bool = False, **make: Any
) -> dns.message.Message:
    """One raw query, to see the flags and sections a resolver hides."""
    query = dns.message.make_query(name, rdtype, **make)
    send = dns.asyncquery.tcp if tcp else dns.asyncquery.udp
    return await send(query, server.host, port=server.port, timeout=1.0)


def texts(answer: dns.resolver.Answer) -> list[str]:
    return sorted(rdata.to_text() for rdata in answer)


# -- DNS: answers --------------------------------------------------------------------------------------------
async def test_answers_a_aaaa_mx_txt_ptr(dns_server: DnsServer) -> None:
    r = resolver(dns_server)
    assert texts(await r.resolve("infra.test", "A")) == ["203.0.113.250"]
    assert texts(await r.resolve("infra.test", "AAAA")) == ["2001:db8:ffff::250"]
    assert texts(await r.resolve("infra.test", "MX")) == ["10 mx1.infra.test.", "20 mx2.infra.test."]
    assert texts(await r.resolve("infra.test", "TXT")) == ['"v=spf1 ip4:203.0.113.250 -all"']
    assert texts(await r.resolve_address("203.0.113.250")) == ["infra.test."]
    assert texts(await r.resolve_address("2001:db8:ffff::250")) == ["infra.test."]
    assert dns_server.count("infra.test", "MX") == 1
    assert dns_server.count("250.113.0.203.in-addr.arpa.", "PTR") == 1


async def test_sets_aa_never_ad_and_adds_glue(dns_server: DnsServer) -> None:
    reply = await ask(dns_server, "infra.test", "MX", flags=dns.flags.RD | dns.flags.AD)
    assert reply.flags & dns.flags.AA
    assert not reply.flags & dns.flags.AD
    glue = sorted(rrset.to_text() for rrset in reply.additional)
    assert glue == [
        "mx1.infra.test. 300 IN A 192.0.2.25",
        "mx1.infra.test. 300 IN AAAA 2001:db8::25",
        "mx2.infra.test. 300 IN A 192.0.2.26",
    ]


async def test_nxdomain_and_nodata_carry_the_soa(dns_server: DnsServer) -> None:
    nx = await ask(dns_server, "nope.infra.test", "A")
    nodata = await ask(dns_server, "www.infra.test", "TXT")
    ent = await ask(dns_server, "b.c.infra.test", "A")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    for reply in (nodata, ent):
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.answer == []
    for reply in (nx, nodata, ent):
        assert [rrset.rdtype for rrset in reply.authority] == [dns.rdatatype.SOA]
    r = resolver(dns_server)
    with pytest.raises(dns.resolver.NXDOMAIN):
        await r.resolve("nope.infra.test", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        await r.resolve("c.infra.test", "A")


async def test_names_outside_the_zones(
    dns_server: DnsServer, make_dns_server: Callable[..., DnsServer]
) -> None:
    assert (await ask(dns_server, "_dmarc.test", "TXT")).rcode() == dns.rcode.NXDOMAIN
    assert (await ask(dns_server, "_dmarc.test", "TXT")).authority == []
    refusing = make_dns_server(refuse_out_of_zone=True)
    assert (await ask(refusing, "nowhere.invalid", "A")).rcode() == dns.rcode.REFUSED
    assert (await ask(refusing, "infra.test", "A")).rcode() == dns.rcode.NOERROR


async def test_cname_chasing(dns_server: DnsServer) -> None:
    r = resolver(dns_server)
    chained = await r.resolve("chain.infra.test", "A")
    assert texts(chained) == ["192.0.2.80"]
    assert chained.canonical_name.to_text() == "www.infra.test."
    with pytest.raises(dns.resolver.NXDOMAIN):
        await r.resolve("dangling.infra.test", "A")
    outside = await ask(dns_server, "outside.infra.test", "A")
    assert [rrset.to_text() for rrset in outside.answer] == [
        "outside.infra.test. 300 IN CNAME www.not-served.example."
    ]
    loop = await ask(dns_server, "loop1.infra.test", "A")
    assert loop.rcode() == dns.rcode.NOERROR
    assert [rrset.rdtype for rrset in loop.answer] == [dns.rdatatype.CNAME] * 2
    assert texts(await r.resolve("alias.infra.test", "CNAME")) == ["www.infra.test."]


async def test_wildcards(dns_server: DnsServer) -> None:
    r = resolver(dns_server)
    listed = await r.resolve("2.0.0.127.bl.infra.test", "A")
    assert texts(listed) == ["127.0.0.2"]
    assert listed.rrset is not None and listed.rrset.name.to_text() == "2.0.0.127.bl.infra.test."
    assert texts(await r.resolve("2.0.0.127.bl.infra.test", "TXT")) == ['"listed by the infra test list"']
    with pytest.raises(dns.resolver.NoAnswer):  # the explicit name exists (TXT only): no wildcard for it
        await r.resolve("exception.bl.infra.test", "A")
    assert texts(await r.resolve("exception.bl.infra.test", "TXT")) == ['"explicit name beats the wildcard"']


async def test_wildcard_stops_at_empty_non_terminals(make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server({"bl.test.": '* A 127.0.0.2\n1.0.0.127 TXT "not listed"'})
    assert (await ask(server, "2.0.0.127.bl.test")).rcode() == dns.rcode.NXDOMAIN  # RFC 4592 4.2
    assert (await ask(server, "2.0.0.128.bl.test")).answer[
        0
    ].to_text() == "2.0.0.128.bl.test. 300 IN A 127.0.0.2"


async def test_txt_strings_split_at_255_bytes(dns_server: DnsServer) -> None:
    answer = await resolver(dns_server).resolve("long.infra.test", "TXT")
    assert [len(s) for s in answer[0].strings] == [255, 45]
    assert b"".join(answer[0].strings) == b"L" * 300
    multi = await resolver(dns_server).resolve("multi.infra.test", "TXT")
    assert multi[0].strings == (b"first part; ", b"second part")


async def test_large_answer_truncated_over_udp_then_complete_over_tcp(dns_server: DnsServer) -> None:
    udp = await ask(dns_server, "big.infra.test", "TXT")
    assert udp.flags & dns.flags.TC
    assert [q.name.to_text() for q in udp.question] == ["big.infra.test."]
    assert udp.answer == []
    answer = await resolver(dns_server).resolve("big.infra.test", "TXT")
    assert b"".join(answer[0].strings) == b"B" * 700
    assert [q.transport for q in dns_server.queries if q.qname == "big.infra.test."] == ["udp", "udp", "tcp"]
    with_edns = await ask(dns_server, "big.infra.test", "TXT", use_edns=0, payload=1232)
    assert not with_edns.flags & dns.flags.TC


async def test_dnssec_signatures_only_with_the_do_bit(dns_server: DnsServer) -> None:
    plain = await ask(dns_server, "signed.infra.test", "A")
    signed = await ask(dns_server, "signed.infra.test", "A", want_dnssec=True)
    assert [rrset.rdtype for rrset in plain.answer] == [dns.rdatatype.A]
    assert sorted(rrset.rdtype for rrset in signed.answer) == [dns.rdatatype.A, dns.rdatatype.RRSIG]


def test_sync_clients_in_threads(dns_server: DnsServer) -> None:
    """pyspf and checkdmarc block their thread (often a worker thread): the server answers from its own."""

    def sync_resolve() -> None:
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [dns_server.nameserver]
        result.extend(texts(r.resolve("www.infra.test", "A", lifetime=1.0)))

    result: list[str] = []
    thread = threading.Thread(target=sync_resolve)
    thread.start()
    thread.join(5)
    assert result == ["192.0.2.80"]


# -- DNS: faults, delays, log --------------------------------------------------------------------------------
async def test_fault_truncate_udp_forces_tcp(dns_server: DnsServer) -> None:
    dns_server.set_fault("infra.test", "truncate_udp")
    udp = await ask(dns_server, "infra.test", "A")
    assert udp.flags & dns.flags.TC and udp.answer == [] and len(udp.question) == 1
    assert texts(await resolver(dns_server).resolve("infra.test", "A")) == ["203.0.113.250"]
    assert [q.transport for q in dns_server.queries][-2:] == ["udp", "tcp"]


async def test_fault_drop_times_out_on_udp_and_tcp(dns_server: DnsServer) -> None:
    dns_server.set_fault("*.infra.test.", "drop")
    start = time.monotonic()
    with pytest.raises(dns.exception.Timeout):
        await resolver(dns_server, timeout=TIMEOUT).resolve("www.infra.test", "A")
    assert time.monotonic() - start >= TIMEOUT
    with pytest.raises(dns.exception.Timeout):
        await dns.asyncquery.tcp(
            dns.message.make_query("www.infra.test", "A"), dns_server.host, TIMEOUT, dns_server.port
        )
    assert {q.transport for q in dns_server.queries} == {"udp", "tcp"}
    assert texts(await resolver(dns_server).resolve("infra.test", "A")) == [
        "203.0.113.250"
    ]  # *. is below only


@pytest.mark.parametrize(
    ("kind", "rcode"), [("servfail", dns.rcode.SERVFAIL), ("refused", dns.rcode.REFUSED)]
)
async def test_fault_rcodes(dns_server: DnsServer, kind: Any, rcode: dns.rcode.Rcode) -> None:
    dns_server.set_fault("www.infra.test", kind)
    assert (await ask(dns_server, "www.infra.test", "A")).rcode() == rcode
    with pytest.raises(dns.resolver.NoNameservers):
        await resolver(dns_server).resolve("www.infra.test", "A")
    dns_server.set_fault("www.infra.test", None)
    assert texts(await resolver(dns_server).resolve("www.infra.test", "A")) == ["192.0.2.80"]


async def test_faults_at_construction_survive_reset(make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server(faults={"*.bl.infra.test": "servfail"}, delays={"www.infra.test": 0.2})
    server.set_fault("infra.test", "refused")
    server.reset()
    assert (await ask(server, "2.0.0.127.bl.infra.test", "A")).rcode() == dns.rcode.SERVFAIL
    assert (await ask(server, "infra.test", "A")).rcode() == dns.rcode.NOERROR
    start = time.monotonic()
    await ask(server, "www.infra.test", "A")
    assert time.monotonic() - start >= 0.2
    server.set_delay("www.infra.test", None)
    start = time.monotonic()
    await ask(server, "www.infra.test", "A")
    assert time.monotonic() - start < 0.2
    with pytest.raises(ValueError, match="unknown DNS fault"):
        server.set_fault("x.test", "explode")  # type: ignore[arg-type]


async def test_delay_is_per_answer_not_serial(make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server(delay=0.2)
    r = resolver(server)
    start = time.monotonic()
    answers = await asyncio.gather(*(r.resolve(f"x{i}.bl.infra.test", "A") for i in range(30)))
    elapsed = time.monotonic() - start
    assert all(texts(a) == ["127.0.0.2"] for a in answers)
    assert 0.2 <= elapsed < 1.0  # 30 answers delayed in parallel (serially: 6 s)
    assert server.count(qtype="A") == 30


async def test_query_log_is_complete_under_a_burst(dns_server: DnsServer) -> None:
    r = resolver(dns_server, timeout=2.0)
    await asyncio.gather(*(r.resolve(f"{i}.bl.infra.test", "A") for i in range(300)))
    log = dns_server.queries
    assert len(log) >= 300  # a retry after a lost packet may add one; none may be missing
    assert {q.qname for q in log} == {f"{i}.bl.infra.test." for i in range(300)}
    assert all(a.at <= b.at for a, b in itertools.pairwise(log))
    dns_server.reset_log()
    assert dns_server.queries == []


def test_zone_loading_rejects_what_it_cannot_serve() -> None:
    soa = "@ SOA ns1 h 1 3600 600 86400 300\n"
    with pytest.raises(ZoneError, match="second SOA"):
        Zones([{"dup.test.": soa}, {"dup.test.": soa}])
    with pytest.raises(ZoneError, match="outside every zone"):
        Zones({"a.test.": "elsewhere.test. A 192.0.2.1"})
    with pytest.raises(ZoneError, match="CNAME and other data"):
        Zones({"a.test.": "www CNAME x\nwww A 192.0.2.1"})
    zones = Zones({"a.test": "www A 192.0.2.1"})  # an SOA is added to a zone written in a test
    assert list(zones.soa) == [(b"a", b"test")]


def test_start_reports_a_busy_port(dns_server: DnsServer) -> None:
    with pytest.raises(OSError):
        DnsServer({"busy.test.": ""}, port=dns_server.port).start()
    with pytest.raises(OSError):
        ScriptedSmtpServer(port=dns_server.port).start()  # the DNS server's TCP listener holds it


async def test_dict_zone_server(
    make_dns_server: Callable[..., DnsServer], smtp_client: ClientFactory
) -> None:
    server = make_dns_server({"example.test.": '@ TXT "v=spf1 -all"\nmail A 192.0.2.7'})
    assert texts(await resolver(server).resolve("example.test", "TXT")) == ['"v=spf1 -all"']
    assert [r.rdtype for r in (await ask(server, "x.example.test")).authority] == [dns.rdatatype.SOA]
    assert server.address == f"127.0.0.1:{server.port}"


# -- SMTP: scripted server and presets -----------------------------------------------------------------------
ClientFactory = Callable[..., aiosmtplib.SMTP]


@pytest.fixture
async def smtp_client() -> AsyncIterator[ClientFactory]:
    """aiosmtplib clients as mxprobe makes them (no auto-STARTTLS, explicit EHLO name), closed at the end."""
    clients: list[aiosmtplib.SMTP] = []

    def make(server: ScriptedSmtpServer, **options: Any) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            local_hostname=EHLO_NAME,
            start_tls=False,
            timeout=2.0,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    # Let every transport finish closing on this loop before it is closed: a failed TLS handshake closes its
    # socket one callback later than a plain close, and a socket left for the garbage collector would
    # surface as a ResourceWarning in whichever test runs next.
    for _ in range(5):
        await asyncio.sleep(0)


async def dialogue(client: aiosmtplib.SMTP, rcpt: str = "user@dest.test") -> list[aiosmtplib.SMTPResponse]:
    """banner, EHLO, MAIL, RCPT, RSET, QUIT: every reply, whatever its code (as mxprobe drives it)."""
    replies = [await client.connect()]
    for command in (
        [b"EHLO", EHLO_NAME.encode()],
        [b"MAIL", b"FROM:<sender@infra.test>"],
        [b"RCPT", f"TO:<{rcpt}>".encode()],
        [b"RSET"],
        [b"QUIT"],
    ):
        replies.append(await client.execute_command(*command))
    return replies


async def test_scripted_defaults_and_transcript(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    server = smtp_server()
    codes = [r.code for r in await dialogue(smtp_client(server))]
    assert codes == [220, 250, 250, 250, 250, 221]
    assert server.verbs == ["EHLO", "MAIL", "RCPT", "RSET", "QUIT"]
    assert server.peers == ["127.0.0.1"]
    assert server.transcript[0].text == "220 mx.infra.test ESMTP mxprobe test server"
    assert [line.text for line in server.transcript if line.text.startswith("250")][:2] == [
        "250-mx.infra.test",
        "250-PIPELINING",
    ]


async def test_replies_are_templates_and_functions(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    def rcpt(cmd: Command) -> str:
        return "250 2.1.5 Ok" if cmd.address.endswith("@ok.test") else "550 5.1.1 <{address}> no, {helo}"

    server = smtp_server(rcpt=rcpt, mail="250 2.1.0 {address} from {ip} {{ok}}")
    replies = await dialogue(smtp_client(server), rcpt="bob@dest.test")
    assert (replies[2].code, replies[2].message) == (250, "2.1.0 sender@infra.test from 127.0.0.1 {ok}")
    assert (replies[3].code, replies[3].message) == (550, f"5.1.1 <bob@dest.test> no, {EHLO_NAME}")
    assert (await dialogue(smtp_client(server), rcpt="a@ok.test"))[3].code == 250


POSTFIX_TEXTS = {
    "reverse_hostname": (450, "4.7.1 Client host rejected: cannot find your reverse hostname, [127.0.0.1]"),
    "hostname": (450, "4.7.25 Client host rejected: cannot find your hostname, [127.0.0.1]"),
    "helo_not_found": (450, f"4.7.1 <{EHLO_NAME}>: Helo command rejected: Host not found"),
    "relay": (554, "5.7.1 <user@dest.test>: Relay access denied"),
    "unknown_user": (
        550,
        "5.1.1 <user@dest.test>: Recipient address rejected: User unknown in local recipient table",
    ),
    "spf_fail": (
        550,
        "5.7.23 <user@dest.test>: Recipient address rejected: Message rejected due to: SPF fail"
        " - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=sender@infra.test;ip=127.0.0.1;r=mx.postfix.test",
    ),
}


@pytest.mark.parametrize("reject", sorted(POSTFIX_TEXTS))
async def test_postfix_like(
    smtp_server: Callable[..., ScriptedSmtpServer], reject: str, smtp_client: ClientFactory
) -> None:
    replies = await dialogue(smtp_client(smtp_server(postfix_like(reject=reject))))
    assert replies[0].message == "mx.postfix.test ESMTP Postfix"
    assert (replies[3].code, replies[3].message) == POSTFIX_TEXTS[reject]


async def test_netease_like(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    spf = await dialogue(smtp_client(smtp_server(netease_like(reject="spf"))))
    assert spf[2].code == 550 and spf[2].message.startswith("MI:SPF mx14,")
    assert "help_spam_16.htm?ip=127.0.0.1&" in spf[2].message
    spam = await dialogue(smtp_client(smtp_server(netease_like(reject="spam"))))
    assert spam[3].code == 451 and spam[3].message.startswith("DT:SPM ")
    with pytest.raises(aiosmtplib.SMTPConnectResponseError) as banner:
        await smtp_client(smtp_server(netease_like(reject="rep"))).connect()
    assert banner.value.code == 421 and banner.value.message.startswith("HL:REP ")


async def test_gmail_like_multiline(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    server = smtp_server(gmail_like(reject="unauthenticated"))
    replies = await dialogue(smtp_client(server))
    assert replies[1].message.splitlines()[0] == "mx.google.com at your service, [127.0.0.1]"
    lines = replies[3].message.splitlines()
    assert replies[3].code == 550 and len(lines) == 9
    assert all(line.startswith("5.7.26") for line in lines)
    assert "SPF [infra.test] with ip: [127.0.0.1] = did not pass" in lines[5]
    wire = [line.text for line in server.transcript if line.text.startswith("550")]
    assert wire[0].startswith("550-5.7.26 ") and wire[-1].startswith("550 5.7.26 ")
    assert all(w.startswith("550-") for w in wire[:-1])
    assert multiline(250, "one") == "250 one"


async def test_greylisting_defers_then_accepts(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    server = smtp_server(greylisting())
    first, again, other = [
        (await dialogue(smtp_client(server), to))[3] for to in ("a@dest.test", "a@dest.test", "b@dest.test")
    ]
    assert (first.code, first.message) == (
        450,
        "4.2.0 <a@dest.test>: Recipient address rejected: Greylisted,"
        " see http://postgrey.schweikert.ch/help/dest.test.html",
    )
    assert again.code == 250
    assert other.code == 450


async def test_auth_plain_and_login(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    server = smtp_server(users={"alice": "s3cret"})
    client = smtp_client(server)
    await client.connect()
    await client.ehlo()
    assert client.supports_extension("auth")
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as wrong:
        await client.auth_plain("alice", "wrong")
    assert wrong.value.code == 535
    assert (await client.auth_login("alice", "s3cret")).code == 235
    assert (await client.execute_command(b"AUTH", b"PLAIN")).code == 503
    assert [line.source for line in server.transcript if line.source != "server"] == [
        "client",
        "client",
        "client",
        "auth",
        "client",  # AUTH PLAIN after success: refused before any challenge
    ]


async def test_auth_requires_tls(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    server = smtp_server(users={"alice": "s3cret"}, auth_requires_tls=True)
    client = smtp_client(server)
    await client.connect()
    await client.ehlo()
    assert not client.supports_extension("auth")
    assert (await client.execute_command(b"AUTH", b"PLAIN", b"AGFsaWNlAHMzY3JldA==")).code == 530


async def test_starttls_with_a_valid_certificate(
    smtp_server: Callable[..., ScriptedSmtpServer], pki: TestPKI, smtp_client: ClientFactory
) -> None:
    cert = pki.leaf("mx.infra.test")
    server = smtp_server(tls=cert.server_context())
    client = smtp_client(server)
    await client.connect()
    await client.ehlo()
    assert client.supports_extension("starttls")
    assert (
        await client.starttls(server_hostname="mx.infra.test", tls_context=cert.client_context())
    ).code == 220
    ssl_object = client.get_transport_info("ssl_object")
    assert ssl_object.version() == "TLSv1.3"
    assert hashlib.sha256(ssl_object.getpeercert(binary_form=True)).hexdigest() == cert.sha256  # DANE 3 0 1
    await client.ehlo()
    assert not client.supports_extension("starttls")
    await client.quit()
    assert [line.tls for line in server.transcript if line.source == "client"] == [False, False, True, True]


@pytest.mark.parametrize(("which", "reason"), [("self_signed", "self-signed"), ("expired", "expired")])
async def test_starttls_with_a_bad_certificate(
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
    which: str,
    reason: str,
    smtp_client: ClientFactory,
) -> None:
    cert = (
        pki.self_signed("mx.infra.test")
        if which == "self_signed"
        else pki.leaf("mx.infra.test", expired=True)
    )
    server = smtp_server(tls=cert.server_context())
    client = smtp_client(server)
    await client.connect()
    await client.ehlo()
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        await client.starttls(server_hostname="mx.infra.test", tls_context=pki.ca.client_context())


def test_certificate_files_and_digests(pki: TestPKI) -> None:
    cert = pki.leaf("mx1.infra.test", alt_names=("mx2.infra.test",))
    sans = cert.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["mx1.infra.test", "mx2.infra.test"]
    der = ssl.PEM_cert_to_DER_cert(cert.cert_path.read_text())  # what the server sends, read back from disk
    assert cert.tlsa(3, 0, 1) == f"3 0 1 {hashlib.sha256(der).hexdigest()}"
    assert cert.tlsa(3, 0, 2) == f"3 0 2 {hashlib.sha512(der).hexdigest()}"
    spki = cert.certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert cert.tlsa(3, 1, 1) == f"3 1 1 {hashlib.sha256(spki).hexdigest()}"
    assert cert.tlsa(3, 1, 0) == f"3 1 0 {spki.hex()}"
    assert cert.certificate.issuer == pki.ca.certificate.subject
    assert cert.trust_path == pki.ca.cert_path
    self_signed = pki.self_signed("mx1.infra.test")
    assert self_signed.trust_path == self_signed.cert_path


# -- SMTP: faulty servers ------------------------------------------------------------------------------------
async def test_refuse(faulty_server: Callable[..., FaultyServer], smtp_client: ClientFactory) -> None:
    with pytest.raises(aiosmtplib.SMTPConnectError, match="Connect call failed"):
        await smtp_client(faulty_server("refuse")).connect()


async def test_tarpit(faulty_server: Callable[..., FaultyServer], smtp_client: ClientFactory) -> None:
    start = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPConnectTimeoutError):
        await smtp_client(faulty_server("tarpit")).connect(timeout=TIMEOUT)
    assert time.monotonic() - start >= TIMEOUT
    start = time.monotonic()
    slow_banner = smtp_client(faulty_server("tarpit", delay=TIMEOUT))
    assert (await slow_banner.connect()).code == 220
    assert time.monotonic() - start >= TIMEOUT
    slow_rcpt = smtp_client(faulty_server("tarpit", at="RCPT", delay=5.0))
    await slow_rcpt.connect()
    await slow_rcpt.ehlo()
    await slow_rcpt.mail("a@infra.test")
    with pytest.raises(aiosmtplib.SMTPReadTimeoutError):
        await slow_rcpt.rcpt("b@dest.test", timeout=TIMEOUT)
    assert not slow_rcpt.is_connected


async def test_banner_421(faulty_server: Callable[..., FaultyServer], smtp_client: ClientFactory) -> None:
    with pytest.raises(aiosmtplib.SMTPConnectResponseError) as error:
        await smtp_client(faulty_server("banner_421")).connect()
    assert (error.value.code, error.value.message) == (421, "4.3.2 All server ports are busy")


async def test_drops(faulty_server: Callable[..., FaultyServer], smtp_client: ClientFactory) -> None:
    with pytest.raises(aiosmtplib.SMTPConnectError, match="Unexpected EOF"):
        await smtp_client(faulty_server("drop_before_banner")).connect()
    server = faulty_server("drop_after_ehlo")
    client = smtp_client(server)
    await client.connect()
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await client.execute_command(b"EHLO", EHLO_NAME.encode())
    assert server.verbs == ["EHLO"]


async def test_421_mid_dialogue(
    faulty_server: Callable[..., FaultyServer], smtp_client: ClientFactory
) -> None:
    client = smtp_client(faulty_server("421_mid_dialogue"))
    await client.connect()
    await client.ehlo()
    reply = await client.execute_command(b"MAIL", b"FROM:<a@infra.test>")
    assert (reply.code, reply.message) == (421, "4.7.0 mx.infra.test Error: too many errors")
    assert not client.is_connected


@pytest.mark.parametrize(
    ("kind", "says"),
    [("http", "HTTP/1.1 400 Bad Request"), ("garbage", "Malformed SMTP response"), ("long_line", "too long")],
)
async def test_not_smtp(
    faulty_server: Callable[..., FaultyServer], kind: str, says: str, smtp_client: ClientFactory
) -> None:
    with pytest.raises(aiosmtplib.SMTPResponseException, match=says):
        await smtp_client(faulty_server(kind)).connect(timeout=1.0)


async def test_endless_multiline(
    faulty_server: Callable[..., FaultyServer], smtp_client: ClientFactory
) -> None:
    server = faulty_server("endless_multiline")
    with pytest.raises(aiosmtplib.SMTPConnectTimeoutError):
        await smtp_client(server).connect(timeout=TIMEOUT)
    sent = [line.text for line in server.transcript if line.source == "server"]
    assert 5 < len(sent) < 100 and all(text.startswith("250-") for text in sent)


async def test_starttls_failures(
    faulty_server: Callable[..., FaultyServer], pki: TestPKI, smtp_client: ClientFactory
) -> None:
    client = smtp_client(faulty_server("starttls_fail"))
    await client.connect()
    await client.ehlo()
    assert client.supports_extension("starttls")
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await client.starttls(server_hostname="mx.infra.test", tls_context=pki.ca.client_context())
    assert refused.value.code == 454
    client = smtp_client(faulty_server("tls_handshake_fail"))
    await client.connect()
    await client.ehlo()
    with pytest.raises((ssl.SSLError, aiosmtplib.SMTPException)):
        await client.starttls(server_hostname="mx.infra.test", tls_context=pki.ca.client_context())


@pytest.mark.parametrize("kind", [kind for kind in FAULT_KINDS if kind != "refuse"])
async def test_stop_is_prompt_and_ends_every_connection(kind: Any) -> None:
    server = FaultyServer(kind).start()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"EHLO {EHLO_NAME}\r\nSTARTTLS\r\n".encode())
    await asyncio.sleep(0.05)
    start = time.monotonic()
    await asyncio.to_thread(server.stop)
    assert time.monotonic() - start < 1.0
    with contextlib.suppress(ConnectionError):
        await asyncio.wait_for(reader.read(), 1.0)  # EOF (or a reset): the server closed its end
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def test_reply_delay(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    server = smtp_server(reply_delay=0.1)
    start = time.monotonic()
    await dialogue(smtp_client(server))
    assert time.monotonic() - start >= 0.6  # six replies


async def test_source_address_is_seen(
    smtp_server: Callable[..., ScriptedSmtpServer], smtp_client: ClientFactory
) -> None:
    server = smtp_server()
    client = smtp_client(server, source_address=("127.0.0.2", 0))
    await client.connect()
    await client.quit()
    assert server.peers == ["127.0.0.2"]


# -- the loopback guard --------------------------------------------------------------------------------------
async def test_guard_trips_on_tcp_udp_and_lookups(network_guard: LoopbackGuard) -> None:
    with network_guard.expect_violation() as caught:
        with pytest.raises(LeftLoopbackError):
            socket.create_connection(("192.0.2.1", 25), timeout=0.1)
        with pytest.raises(LeftLoopbackError):
            await asyncio.open_connection("192.0.2.1", 25)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(LeftLoopbackError):
            udp.sendto(b"x", ("192.0.2.1", 53))
        with pytest.raises(LeftLoopbackError):
            socket.getaddrinfo("example.com", 25)
        with pytest.raises(LeftLoopbackError):
            socket.create_connection(("127.0.0.53", 53), timeout=0.1)  # a stub resolver on loopback
    assert len(caught) == 5
    assert "192.0.2.1, 25" in caught[0]


async def test_guard_catches_swallowed_errors(network_guard: LoopbackGuard) -> None:
    r = dns.asyncresolver.Resolver(configure=False)
    r.nameservers = ["192.0.2.53"]
    r.lifetime = 0.5
    with network_guard.expect_violation() as caught:
        with pytest.raises(dns.exception.DNSException):  # dnspython swallows the OSError, gives up
            await r.resolve("example.com", "A")
        socket.getfqdn()  # swallows it as well (and would have asked the system resolver)
    assert any("192.0.2.53, 53" in text for text in caught)
    assert any("gethostbyaddr" in text for text in caught)
    with pytest.raises(dns.exception.DNSException):
        await r.resolve("example.com", "A")
    with pytest.raises(pytest.fail.Exception, match="left loopback"):  # what the teardown does
        network_guard.assert_clean()
