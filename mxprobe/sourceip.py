"""Find the sending IP when the user gave none: the address receivers will see this host connect from.

First the local source address the OS picks toward the internet (a UDP socket `connect()` sends no packet).
When that is not a global address (RFC 1918, CGNAT 100.64/10, loopback ...), a NAT sits in between and only
the outside can tell: ask DNS "who am I" names at their authoritative servers, which answer with the address
the query came from (Google's o-o.myaddr.l.google.com TXT at ns1.google.com, OpenDNS's myip.opendns.com A
at resolver1.opendns.com). Both are asked at once, each bounded by the run's deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from mxprobe.dns import Deadline, Dns, Nameserver

WHOAMI_TIMEOUT = 2.0
ROUTE_PROBES = ((socket.AF_INET, "8.8.8.8"), (socket.AF_INET6, "2001:4860:4860::8888"))
WHOAMI = (
    ("dns whoami (google)", Nameserver("216.239.32.10"), "o-o.myaddr.l.google.com", "TXT"),
    ("dns whoami (opendns)", Nameserver("208.67.222.222"), "myip.opendns.com", "A"),
)


def local_address() -> str | None:
    """The source address of the default route (IPv4 first), or None without one."""
    for family, probe in ROUTE_PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 53))
                return str(sock.getsockname()[0])
        except OSError:
            continue
    return None


async def whoami(server: Nameserver, name: str, rdtype: str, deadline: Deadline) -> str | None:
    """Ask `server` itself (through the DNS layer and its guards: one try, within the deadline)."""
    client = Dns([server], deadline=deadline, query_timeout=WHOAMI_TIMEOUT, tries=1)
    try:
        answer = await client.query(name, rdtype)
    finally:
        client.close()
    for text in answer.texts if answer.ok else []:
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:  # Google adds an "edns0-client-subnet ..." string next to the address
            continue
    return None


async def discover(deadline: Deadline) -> tuple[str, str] | None:
    """(ip, how it was found), or None when neither the route nor the whoami services tell."""
    local = local_address()
    if local is not None and ipaddress.ip_address(local).is_global:
        return local, "local address"
    found = await asyncio.gather(
        *(whoami(server, name, rdtype, deadline) for _, server, name, rdtype in WHOAMI)
    )
    return next(((ip, how) for ip, (how, *_) in zip(found, WHOAMI, strict=True) if ip), None)
