"""The run's DNS layer (mxprobe/dns.py): nameserver syntax, exact outcomes, one query per name, failover,
the deadline and the rate cap, against the loopback server."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest
from servers.dns import DnsServer

from mxprobe.dns import PER_SOCKET, Deadline, Dns, Nameserver, parse_nameserver
from mxprobe.errors import InputError

ZONE = {"layer.test.": 'a A 192.0.2.1\nb TXT "hello"\nc CNAME a\nempty TXT "x"'}


Client = Callable[..., Dns]


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    """Dns clients on the given servers, their sockets closed at the end of the test (on its loop)."""
    made: list[Dns] = []

    def make(*servers: DnsServer, deadline: float = 5.0, **kwargs: float) -> Dns:
        dns = Dns(
            [Nameserver(s.host, s.port) for s in servers],
            deadline=Deadline(deadline),
            query_timeout=kwargs.pop("query_timeout", 1.0),
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(dns)
        return dns

    yield make
    for dns in made:
        dns.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", Nameserver("127.0.0.1", 53)),
        ("127.0.0.1:5353", Nameserver("127.0.0.1", 5353)),
        ("[::1]:5353", Nameserver("::1", 5353)),
        ("[::1]", Nameserver("::1", 53)),
        ("::1", Nameserver("::1", 53)),
        (" 192.0.2.53 ", Nameserver("192.0.2.53", 53)),
    ],
)
def test_nameserver_forms(text: str, expected: Nameserver) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    "text",
    ["dns.google", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]x", "1.2.3.4:53\n", ""],
)
def test_bad_nameservers_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_nameserver(text)


async def test_outcomes_are_exact(client: Client, make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server(ZONE, faults={"sf.layer.test.": "servfail", "rf.layer.test.": "refused"})
    dns = client(server)
    a, txt, cname, nodata, nx, sf, rf = await asyncio.gather(
        dns.query("a.layer.test", "A"),
        dns.query("b.layer.test", "TXT"),
        dns.query("c.layer.test", "A"),
        dns.query("a.layer.test", "MX"),
        dns.query("nope.layer.test", "A"),
        dns.query("sf.layer.test", "A"),
        dns.query("rf.layer.test", "A"),
    )
    assert (a.rcode, a.texts) == ("NOERROR", ["192.0.2.1"])
    assert txt.texts == ["hello"]
    assert (cname.texts, cname.cnames) == (["192.0.2.1"], ["a.layer.test"])
    assert (nodata.rcode, nodata.ok, nodata.failed) == ("NODATA", False, False)
    assert (nx.rcode, nx.failed) == ("NXDOMAIN", False)
    assert (sf.rcode, sf.failed) == ("SERVFAIL", True)
    assert (rf.rcode, rf.failed) == ("REFUSED", True)


async def test_an_ipv6_nameserver_is_used(make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server(ZONE, host="::1")
    dns = Dns([parse_nameserver(server.address)], deadline=Deadline(5))
    try:
        assert (await dns.query("a.layer.test", "A")).texts == ["192.0.2.1"]
    finally:
        dns.close()
    assert server.count("a.layer.test", "A") == 1


async def test_identical_queries_are_asked_once_even_concurrently(
    client: Client,
    make_dns_server: Callable[..., DnsServer],
) -> None:
    server = make_dns_server(ZONE, delay=0.05)
    dns = client(server)
    answers = await asyncio.gather(*(dns.query("A.Layer.Test.", "A") for _ in range(20)))
    assert {tuple(a.texts) for a in answers} == {("192.0.2.1",)}
    assert server.count("a.layer.test", "A") == 1
    assert dns.sent == 1


async def test_a_failing_nameserver_is_skipped_for_the_next(
    client: Client,
    make_dns_server: Callable[..., DnsServer],
) -> None:
    broken = make_dns_server(ZONE, faults={"*.layer.test.": "refused"})
    good = make_dns_server(ZONE)
    dns = client(broken, good)
    answer = await dns.query("a.layer.test", "A")
    assert answer.texts == ["192.0.2.1"]
    assert broken.count("a.layer.test") == 1 and good.count("a.layer.test") == 1


async def test_a_silent_nameserver_times_out_within_the_deadline(
    client: Client,
    make_dns_server: Callable[..., DnsServer],
) -> None:
    server = make_dns_server(ZONE, faults={"a.layer.test.": "drop"})
    dns = client(server, deadline=1.0, query_timeout=5.0)
    started = time.monotonic()
    answer = await dns.query("a.layer.test", "A")
    assert answer.rcode == "TIMEOUT" and answer.failed
    assert time.monotonic() - started < 1.5


async def test_the_rate_cap_spaces_queries(client: Client, make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server(ZONE)
    dns = client(server, rate=20.0)
    await asyncio.gather(*(dns.query(f"n{i}.layer.test", "A") for i in range(10)))
    stamps = sorted(q.at for q in server.queries)
    assert len(stamps) == 10
    assert stamps[-1] - stamps[0] >= 9 / 20 * 0.9


async def test_a_closed_port_fails_fast_and_the_next_nameserver_answers(
    client: Client, make_dns_server: Callable[..., DnsServer]
) -> None:
    good = make_dns_server(ZONE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = Nameserver("127.0.0.1", probe.getsockname()[1])
    lonely = Dns([closed], deadline=Deadline(5), query_timeout=3.0)
    try:
        started = time.monotonic()
        answer = await lonely.query("a.layer.test", "A")
        assert answer.rcode == "ERROR" and answer.failed
        assert time.monotonic() - started < 1.0  # the ICMP refusal, not the 3 s timeout
    finally:
        lonely.close()
    both = Dns([closed, Nameserver(good.host, good.port)], deadline=Deadline(5), query_timeout=3.0)
    try:
        assert (await both.query("a.layer.test", "A")).texts == ["192.0.2.1"]
    finally:
        both.close()


async def test_queries_in_flight_are_spread_over_several_sockets(
    client: Client, make_dns_server: Callable[..., DnsServer]
) -> None:
    """One socket's receive buffer holds a few hundred answers at most: a burst is spread over sockets
    (each with its own source port), and every answer still reaches its query."""
    server = make_dns_server({"many.test.": "* A 192.0.2.7"}, delay=0.2)
    dns = client(server, query_timeout=5.0, concurrency=400)
    answers = await asyncio.gather(*(dns.query(f"n{i}.many.test", "A") for i in range(200)))
    assert {a.rcode for a in answers} == {"NOERROR"}
    assert server.count(qtype="A") == 200  # each asked once: no answer was lost and asked again
    sockets = dns.limiter.udp.sockets(Nameserver(server.host, server.port))
    assert len(sockets) >= -(-200 // PER_SOCKET) > 1
