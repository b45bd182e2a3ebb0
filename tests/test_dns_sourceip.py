"""Finding the sending IP through "who am I" names (mxprobe/sourceip.py), asked through the DNS layer."""

from __future__ import annotations

from collections.abc import Callable

from servers.dns import DnsServer

from mxprobe.dns import Deadline, Nameserver
from mxprobe.sourceip import whoami

WHOAMI_ZONES = {
    "o-o.myaddr.l.google.com.": '@ TXT "edns0-client-subnet 192.0.2.0/24"\n@ TXT "198.51.100.7"',
    "myip.opendns.com.": "@ A 198.51.100.8",
    "broken.test.": '@ TXT "not an address"',
}


async def test_the_address_is_read_from_a_txt_or_an_a_answer(
    make_dns_server: Callable[..., DnsServer],
) -> None:
    server = make_dns_server(WHOAMI_ZONES)
    at = Nameserver(server.host, server.port)
    assert await whoami(at, "o-o.myaddr.l.google.com", "TXT", Deadline(5)) == "198.51.100.7"
    assert await whoami(at, "myip.opendns.com", "A", Deadline(5)) == "198.51.100.8"


async def test_no_address_is_none_never_a_guess(make_dns_server: Callable[..., DnsServer]) -> None:
    server = make_dns_server(WHOAMI_ZONES, faults={"myip.opendns.com.": "drop"})
    at = Nameserver(server.host, server.port)
    assert await whoami(at, "broken.test", "TXT", Deadline(5)) is None
    assert await whoami(at, "nothing.broken.test", "A", Deadline(5)) is None
    assert await whoami(at, "myip.opendns.com", "A", Deadline(0.5)) is None  # silence: within the deadline
