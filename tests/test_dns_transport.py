"""The DNS transport's guards, tested at the wire against a scripted server (tests/servers/rawdns.py).

What dnspython's `udp_with_fallback()` promises and mxprobe.dns.transport keeps: a datagram that is not the
response to the query (wrong id, question, opcode, QR bit, source) or that is malformed is ignored and the
wait goes on; TC=1 means TCP (even when the rest cannot be parsed), within the same budget; ids are random.
Each test here fails when the guard it names is removed from mxprobe/dns/transport.py or wire.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from servers.rawdns import Datagram, RawDnsServer, Script, TcpScript, answer, nxdomain, truncated

from mxprobe.dns import Deadline, Dns, transport, wire

Faulty = Callable[[dns.message.Message], bytes]
RIGHT = "192.0.2.1"
FORGED = "203.0.113.66"  # what every wrong datagram claims


def _wrong_id(query: dns.message.Message) -> bytes:
    data = answer(query, FORGED)
    return bytes([data[0] ^ 0x5A, data[1]]) + data[2:]


def _wrong_name(query: dns.message.Message) -> bytes:
    """Another name of the same length (so that only the comparison of names can tell them apart)."""
    text = query.question[0].name.to_text()
    other = dns.message.make_query(("b" if text[0] == "a" else "a") + text[1:], "A")
    other.id = query.id
    return answer(other, FORGED)


def _wrong_type(query: dns.message.Message) -> bytes:
    other = dns.message.make_query(query.question[0].name, "AAAA")
    other.id = query.id
    response = dns.message.make_response(other)
    return response.to_wire()


def _two_questions(query: dns.message.Message) -> bytes:
    """The right question and another one: dnspython's `is_response` wants the same question set."""
    response = dns.message.make_response(query)
    other = dns.name.from_text("other.example.")
    response.find_rrset(
        response.question, other, dns.rdataclass.IN, dns.rdatatype.A, create=True, force_unique=True
    )
    return response.to_wire()


def _no_qr(query: dns.message.Message) -> bytes:
    data = bytearray(answer(query, FORGED))
    data[2] &= 0x7F
    return bytes(data)


def _wrong_opcode(query: dns.message.Message) -> bytes:
    data = bytearray(answer(query, FORGED))
    data[2] |= 0x10  # opcode 2 (STATUS)
    return bytes(data)


def _garbage_records(query: dns.message.Message) -> bytes:
    """Right header and question, then a record that runs past the end: dnspython cannot parse it."""
    return answer(query, FORGED)[:-3]


def _garbage_authority(query: dns.message.Message) -> bytes:
    """An NXDOMAIN whose SOA is cut short: the lean path must refuse it as dnspython would."""
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.NXDOMAIN)
    response.authority.append(dns.rrset.from_text("example.", 300, "IN", "SOA", "ns. host. 1 2 3 4 5"))
    return response.to_wire()[:-6]


def _short(query: dns.message.Message) -> bytes:
    return answer(query)[:11]


def _spoofed_marker(query: dns.message.Message) -> bytes:
    return answer(query, FORGED)


WRONG: dict[str, Faulty] = {
    "wrong id": _wrong_id,
    "wrong name": _wrong_name,
    "wrong type": _wrong_type,
    "two questions": _two_questions,
    "no QR bit": _no_qr,
    "wrong opcode": _wrong_opcode,
    "garbage records": _garbage_records,
    "garbage authority": _garbage_authority,
    "too short": _short,
}


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawDnsServer]]:
    servers: list[RawDnsServer] = []

    def make(script: Script, tcp: TcpScript | None = None) -> RawDnsServer:
        servers.append(RawDnsServer(script, tcp).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
async def client() -> AsyncIterator[Callable[..., Dns]]:
    made: list[Dns] = []

    def make(server: RawDnsServer, timeout: float = 0.5, tries: int = 1) -> Dns:
        made.append(Dns([server.nameserver], deadline=Deadline(10), query_timeout=timeout, tries=tries))
        return made[-1]

    yield make
    for dns_client in made:
        dns_client.close()


async def test_every_wrong_datagram_is_ignored_and_the_right_one_used(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    def script(query: dns.message.Message) -> list[Datagram]:
        wrong = [Datagram(make(query)) for make in WRONG.values()]
        return [*wrong, Datagram(_spoofed_marker(query), spoofed=True), Datagram(answer(query, RIGHT))]

    server = raw_server(script)
    result = await client(server).query("a.raw.test", "A")
    assert (result.rcode, result.texts) == ("NOERROR", [RIGHT])


@pytest.mark.parametrize("kind", [*WRONG, "spoofed source"])
async def test_a_wrong_datagram_alone_is_never_an_answer(
    kind: str, raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    def script(query: dns.message.Message) -> list[Datagram]:
        if kind == "spoofed source":
            return [Datagram(answer(query, FORGED), spoofed=True)]
        return [Datagram(WRONG[kind](query))]

    server = raw_server(script)
    started = time.monotonic()
    result = await client(server, timeout=0.4).query("a.raw.test", "A")
    assert result.rcode == "TIMEOUT" and result.failed and result.records == []
    assert time.monotonic() - started >= 0.35  # the wait went on until the timeout


async def test_a_question_in_another_case_is_the_same_question(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    def script(query: dns.message.Message) -> list[Datagram]:
        upper = dns.message.make_query(query.question[0].name.to_text().upper(), "A")
        upper.id = query.id
        return [Datagram(answer(upper, RIGHT))]

    result = await client(raw_server(script)).query("a.raw.test", "A")
    assert result.texts == [RIGHT]


@pytest.mark.parametrize(("rcode", "name"), [(5, "REFUSED"), (4, "NOTIMP")])
async def test_a_failure_without_a_question_is_accepted(
    rcode: int, name: str, raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    """dnspython accepts FORMERR, SERVFAIL, NOTIMP and REFUSED without a question section."""

    def script(query: dns.message.Message) -> list[Datagram]:
        data = bytearray(answer(query, rcode=rcode))
        return [Datagram(bytes(data[:4]) + b"\x00\x00" + bytes(data[6:12]))]

    result = await client(raw_server(script)).query("a.raw.test", "A")
    assert (result.rcode, result.failed, result.error) == (name, True, f"the nameserver answered {name}")


async def test_an_answer_without_a_question_is_not_accepted(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    def script(query: dns.message.Message) -> list[Datagram]:
        return [Datagram(nxdomain(query)[:4] + b"\x00\x00" + nxdomain(query)[6:12])]

    result = await client(raw_server(script), timeout=0.3).query("a.raw.test", "A")
    assert result.rcode == "TIMEOUT"


async def test_a_truncated_reply_that_cannot_be_parsed_still_goes_to_tcp(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    server = raw_server(
        lambda query: [Datagram(truncated(query, garbage=True))], tcp=lambda query: answer(query, RIGHT)
    )
    result = await client(server).query("a.raw.test", "A")
    assert result.texts == [RIGHT]
    assert [seen.transport for seen in server.seen] == ["udp", "tcp"]


async def test_the_tcp_retry_uses_what_is_left_of_the_timeout(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    async_delay = 0.6

    def script(query: dns.message.Message) -> list[Datagram]:
        time.sleep(async_delay)  # the server's own thread: the TC reply comes late
        return [Datagram(truncated(query))]

    server = raw_server(script)  # the TCP side never answers
    started = time.monotonic()
    result = await client(server, timeout=1.0).query("a.raw.test", "A")
    elapsed = time.monotonic() - started
    assert result.rcode == "TIMEOUT" and "TCP" in result.error
    assert elapsed < 1.0 + 0.45  # not 0.6 + a fresh 1.0


async def test_a_tcp_reply_to_another_question_is_an_error(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    server = raw_server(lambda query: [Datagram(truncated(query))], tcp=_wrong_name)
    result = await client(server).query("a.raw.test", "A")
    assert result.rcode == "ERROR" and "does not match" in result.error


async def test_a_datagram_queued_before_its_query_waits_is_not_lost(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    """Two datagrams for one id delivered back to back (a wrong one, then the right one) before the query
    runs again: both are kept, the second is the answer."""
    replies: list[tuple[bytes, bytes]] = []

    def script(query: dns.message.Message) -> list[Datagram]:
        replies.append((_wrong_name(query), answer(query, RIGHT)))
        return []  # delivered by the test itself, at the socket

    server = raw_server(script)
    dns_client = client(server, timeout=2.0)
    task = asyncio.ensure_future(dns_client.query("a.raw.test", "A"))
    while not replies:
        await asyncio.sleep(0.01)
    (sock,) = dns_client.limiter.udp.sockets(server.nameserver)
    for data in replies[0]:
        sock.datagram_received(data, (server.host, server.port))
    assert (await task).texts == [RIGHT]


async def test_ids_are_random_and_unique_per_socket(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    """RFC 5452 section 4 and 9.2: 16 unpredictable bits per query (not a counter, not repeated)."""
    server = raw_server(lambda query: [Datagram(nxdomain(query))])
    dns_client = client(server)
    await asyncio.gather(*(dns_client.query(f"n{i}.raw.test", "A") for i in range(300)))
    ids = [seen.id for seen in server.seen]
    assert len(ids) == 300 and len(set(ids)) >= 295
    steps = sum(1 for a, b in itertools.pairwise(ids) if abs(a - b) <= 2)
    assert steps <= 3  # a counter would step by one every time
    assert max(ids) - min(ids) > 40_000


async def test_a_repeated_random_id_is_drawn_again(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two queries waiting on one socket never share an id, even when the generator repeats itself."""
    draws = iter([7, 7, 7, 9])
    monkeypatch.setattr("mxprobe.dns.transport.secrets.randbits", lambda bits: next(draws))
    server = raw_server(lambda query: [])  # silence: both queries stay waiting
    dns_client = client(server, timeout=0.3)
    await asyncio.gather(dns_client.query("a.raw.test", "A"), dns_client.query("b.raw.test", "A"))
    assert sorted(seen.id for seen in server.seen) == [7, 9]


async def test_sockets_are_retired_for_new_source_ports(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "MAX_USES", 10)
    server = raw_server(lambda query: [Datagram(nxdomain(query))])
    dns_client = client(server)
    for i in range(30):
        assert (await dns_client.query(f"n{i}.raw.test", "A")).rcode == "NXDOMAIN"
    ports = [seen.port for seen in server.seen]
    assert len(set(ports)) == 3 and all(len(set(ports[i : i + 10])) == 1 for i in (0, 10, 20))
    assert dns_client.limiter.udp.opened == 3  # each retired after its 10th query
    assert dns_client.limiter.udp.sockets(server.nameserver) == []


async def test_a_tcp_reply_with_another_id_is_an_error(
    raw_server: Callable[..., RawDnsServer], client: Callable[..., Dns]
) -> None:
    server = raw_server(lambda query: [Datagram(truncated(query))], tcp=_wrong_id)
    result = await client(server).query("a.raw.test", "A")
    assert result.rcode == "ERROR" and "does not match" in result.error


def _nxdomain_wire() -> tuple[bytes, int]:
    query = dns.message.make_query("host.bl.example.", "A", use_edns=0)
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.NXDOMAIN)
    response.authority.append(
        dns.rrset.from_text("bl.example.", 300, "IN", "SOA", "ns.bl.example. h.bl.example. 1 2 3 4 5")
    )
    return response.to_wire(), wire.question_end(query.to_wire())


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=3), st.integers(0, 200))
def test_the_lean_reader_agrees_with_dnspython(flips: list[tuple[int, int]], cut: int) -> None:
    """On an NXDOMAIN with SOA and OPT, damaged at random: the lean reader refuses what dnspython refuses,
    and any rcode it reads is dnspython's."""
    data, end = _nxdomain_wire()
    damaged = bytearray(data[: len(data) - cut] if cut < len(data) - 12 else data)
    for at, value in flips:  # the header's flags and counts, and anything after the question (which
        if 2 <= at < 12 or end <= at < len(damaged):  # `wire.match` compared with the query's already)
            damaged[at] = value
    reply = bytes(damaged)
    try:
        parsed: dns.message.Message | None = dns.message.from_wire(reply, ignore_trailing=True)
    except Exception:
        parsed = None
    try:
        lean = wire.lean_rcode(reply, end)
    except wire.FormError:
        assert parsed is None
        return
    if lean is not None:
        assert parsed is not None and parsed.rcode() == lean


def _with_opt(*options: bytes, owner: bytes = b"\x00", ext_rcode: int = 0) -> bytes:
    """An NXDOMAIN with its SOA and an OPT record written by hand (owner, extended rcode, raw options)."""
    data, _ = _nxdomain_wire()
    data = data[: -11 if data[11] else None]  # without the OPT record dnspython wrote
    rdata = b"".join(options)
    opt = owner + b"\x00\x29\x04\xd0" + bytes([ext_rcode, 0, 0, 0]) + len(rdata).to_bytes(2, "big") + rdata
    return data[:10] + b"\x00\x01" + data[12:] + opt


def _soa_cut() -> bytes:
    """The SOA's rdata length shortened by one, so its fixed fields end one byte early."""
    data, end = _nxdomain_wire()
    at = data.index(b"\x00\x06\x00\x01", end) + 8  # type SOA, class IN, then TTL: rdlength follows
    length = int.from_bytes(data[at : at + 2], "big")
    return data[:at] + (length - 1).to_bytes(2, "big") + data[at + 2 :]


def _soa_alone(change: int) -> bytes:
    """An NXDOMAIN without EDNS whose SOA rdata length is off by `change`, the message cut or padded to
    match: every length adds up, only the SOA's own fields do not."""
    query = dns.message.make_query("host.bl.example.", "A")
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.NXDOMAIN)
    response.authority.append(
        dns.rrset.from_text("bl.example.", 300, "IN", "SOA", "ns.bl.example. h.bl.example. 1 2 3 4 5")
    )
    data = response.to_wire()
    at = data.index(b"\x00\x06\x00\x01", wire.question_end(query.to_wire())) + 8
    length = int.from_bytes(data[at : at + 2], "big") + change
    body = data[at + 2 :]
    return data[:at] + length.to_bytes(2, "big") + (body[:change] if change < 0 else body + bytes(change))


def _forward_pointer() -> bytes:
    data, end = _nxdomain_wire()
    return data[:end] + bytes([0xC0, len(data) - 2]) + data[end + 2 :]


DAMAGED = {
    "OPT owner not the root": _with_opt(owner=b"\x01x\x00"),
    "OPT owner a pointer": _with_opt(owner=b"\xc0\x0c"),
    "EDNS option longer than its record": _with_opt(b"\x00\x0a\x00\x14" + b"12345678"),
    "EDNS option cut short": _with_opt(b"\x00\x0a\x00\x02" + b"12345678"),
    "EDNS option header cut": _with_opt(b"\x00\x0a"),
    "SOA rdata one byte short": _soa_cut(),
    "SOA rdata one byte short, last record": _soa_alone(-1),
    "SOA rdata one byte long, last record": _soa_alone(+1),
    "pointer forwards": _forward_pointer(),
}


@pytest.mark.parametrize("reply", list(DAMAGED.values()), ids=list(DAMAGED))
def test_the_lean_reader_refuses_what_dnspython_refuses(reply: bytes) -> None:
    _, end = _nxdomain_wire()
    with pytest.raises(Exception):  # noqa: B017  dnspython raises several types
        dns.message.from_wire(reply, ignore_trailing=True)
    with pytest.raises(wire.FormError):
        wire.lean_rcode(reply, end)


def test_the_lean_reader_reads_an_extended_rcode() -> None:
    """BADVERS (16) is 1 in the OPT record's upper rcode bits and 0 in the header."""
    _, end = _nxdomain_wire()
    reply = _with_opt(ext_rcode=1)
    reply = reply[:3] + bytes([reply[3] & 0xF0]) + reply[4:]
    assert wire.lean_rcode(reply, end) == 16 == dns.message.from_wire(reply).rcode()
    assert wire.lean_rcode(_with_opt(b"\x00\x0a\x00\x08" + b"12345678"), end) == 3
