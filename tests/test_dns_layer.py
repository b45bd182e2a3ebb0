"""The run's DNS layer (mxprobe/dns/): nameserver syntax, exact outcomes, one query per name, failover,
the deadline and the rate cap, against the loopback server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest
from servers.dns import DnsServer

from mxprobe.dns import MAX_SOCKETS, PER_SOCKET, Deadline, Dns, Limiter, Nameserver, parse_nameserver
from mxprobe.dns.client import MAX_IN_FLIGHT
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
    [
        "dns.google",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        "[::1",
        "[::1]x",
        "1.2.3.4:53\n",
        "",
        "127.0.0.1:\u00b2",  # a Unicode digit: isdigit() says yes, int() says no
        "[::1]:\u0665\u0663",
    ],
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
    dns = client(server, deadline=2.0, query_timeout=5.0)
    started = time.monotonic()
    answer = await dns.query("a.layer.test", "A")
    assert answer.rcode == "TIMEOUT" and answer.failed
    assert answer.error == "the run's deadline was reached"  # the second try had no time left
    assert time.monotonic() - started < 1.99  # queries end a margin (1/20 of it: 0.1 s) before the deadline


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


async def test_a_burst_shares_a_bounded_set_of_sockets(
    client: Client, make_dns_server: Callable[..., DnsServer]
) -> None:
    """A burst of 200 queries is spread over a few sockets (each with its own source port) and never over
    more than MAX_SOCKETS: a socket counts from the moment it is chosen, not once it is connected. Every
    answer still reaches its query."""
    server = make_dns_server({"many.test.": "* A 192.0.2.7"}, delay=0.2)
    dns = client(server, query_timeout=5.0, concurrency=400)
    answers = await asyncio.gather(*(dns.query(f"n{i}.many.test", "A") for i in range(200)))
    assert {a.rcode for a in answers} == {"NOERROR"}
    assert server.count(qtype="A") == 200  # each asked once: no answer was lost and asked again
    sockets = dns.limiter.udp.sockets(Nameserver(server.host, server.port))
    assert 1 < len(sockets) <= MAX_SOCKETS < -(-200 // PER_SOCKET)
    assert dns.limiter.udp.opened == len(sockets)


@pytest.mark.parametrize(
    ("kind", "rcode"),
    [
        ("servfail", "SERVFAIL"),
        ("refused", "REFUSED"),
        ("notimp", "NOTIMP"),
        ("formerr", "FORMERR"),
        ("yxdomain", "YXDOMAIN"),
        ("notauth", "NOTAUTH"),
        ("rcode12", "RCODE12"),
        ("badvers", "BADVERS"),
    ],
)
async def test_any_other_rcode_is_a_failed_lookup_named_after_it(
    kind: str, rcode: str, client: Client, make_dns_server: Callable[..., DnsServer]
) -> None:
    """Issue 9: only NOERROR and NXDOMAIN are answers; NOTIMP is not "no record" (NODATA)."""
    server = make_dns_server(ZONE, faults={"*.layer.test.": kind})
    for rdtype in ("A", "TXT", "MX", "PTR"):
        answer = await client(server).query("a.layer.test", rdtype)
        assert (answer.rcode, answer.failed, answer.ok) == (rcode, True, False)
        assert answer.error == f"the nameserver answered {rcode}"


async def test_a_cname_loop_is_reported_as_one(
    client: Client, make_dns_server: Callable[..., DnsServer]
) -> None:
    server = make_dns_server({"loop.test.": "a CNAME b\nb CNAME a"})
    answer = await client(server).query("a.loop.test", "PTR")
    assert answer.failed and answer.rcode == "ERROR"
    assert answer.error == "a CNAME loop: a.loop.test -> b.loop.test -> a.loop.test"


async def test_a_lean_answer_is_parsed_only_when_read(
    client: Client, make_dns_server: Callable[..., DnsServer]
) -> None:
    """An NXDOMAIN is accepted from its bytes; `response` is parsed by dnspython on first read."""
    dns = client(make_dns_server(ZONE))
    nx = await dns.query("nope.layer.test", "A")
    assert nx.rcode == "NXDOMAIN" and nx.records == [] and nx.wire
    assert nx.response is not None and nx.response.rcode() == 3 and len(nx.response.authority) == 1


HEAVY = ("dns.asyncquery", "dns.query", "dns.resolver", "httpx", "httpcore", "checkdmarc", "spf", "rich")


def _heavy(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith((h + ".", h + "2")) for h in HEAVY))


def test_importing_the_dns_layer_imports_no_doh_stack() -> None:
    """Issue 14: `dns.asyncquery` (and `dns.resolver`, through `dns.query`) import an HTTP stack for
    DNS-over-HTTPS that costs a tenth of a second at start-up and that mxprobe never uses."""
    code = "import sys, mxprobe.dns; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert _heavy(result.stdout.split()) == []


def test_a_ptr_check_imports_only_what_it_uses(dns_server: DnsServer) -> None:
    """`mxprobe --ip IP --check ptr` (output to a pipe): no DoH stack, no checkdmarc or pyspf (their checks do
    not run), no rich (nothing is printed to a terminal)."""
    command = [sys.executable, "-X", "importtime", "-m", "mxprobe", "--ip", "192.0.2.20", "--check", "ptr"]
    result = subprocess.run(
        [*command, "--nameserver", dns_server.address], capture_output=True, text=True, check=False
    )
    assert "mail.example.com" in result.stdout
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "import time" in line]
    assert "dns.message" in imported and _heavy(imported) == []
    unused = {"email_validator"} | ({"platformdirs"} if sys.platform == "linux" else set())
    assert unused.isdisjoint(imported)  # no address to check; the config directory is the XDG rule


async def test_queries_in_flight_are_capped_whatever_concurrency_says() -> None:
    """`--concurrency 1000000000` must not exhaust the 16-bit message ids of the bounded sockets."""
    limiter = Limiter(concurrency=10**9)
    try:
        assert limiter.slots._value == MAX_IN_FLIGHT <= MAX_SOCKETS * 65_536 // 4
    finally:
        limiter.close()
