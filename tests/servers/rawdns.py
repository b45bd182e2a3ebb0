"""A scripted DNS server on loopback that answers at the wire: whatever bytes a test wants, from the right
address or from another one, over UDP and TCP. For the transport's guards (`tests/test_dns_transport.py`):
wrong ids, wrong questions, missing QR bits, garbage, truncation, silence.

    def script(query: dns.message.Message) -> list[Datagram]:
        return [Datagram(wrong_id(query)), Datagram(answer(query, "192.0.2.1"))]
    with RawDnsServer(script) as server:          # UDP and TCP on 127.0.0.1:<free port>
        server.nameserver                          # mxprobe.dns.Nameserver
        server.seen                                # (message id, client port, transport) of every query

`script` gives the datagrams to send back to one UDP query, in order; `tcp` (optional) gives the bytes of
the one TCP reply (None: keep the connection open and say nothing). A `Datagram` with `spoofed=True` is sent
from a second socket on another port, as an off-path attacker would.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

from mxprobe.dns import Nameserver
from servers.base import BackgroundServer
from servers.dns import bind_pair


class Datagram(NamedTuple):
    data: bytes
    spoofed: bool = False  # sent from another port of the host: the client must not accept it


class Seen(NamedTuple):
    id: int
    port: int
    transport: str


Script = Callable[[dns.message.Message], list[Datagram]]
TcpScript = Callable[[dns.message.Message], bytes | None]


def answer(query: dns.message.Message, *addresses: str, rcode: int = 0) -> bytes:
    """The right response: same id and question, QR set, the A records given."""
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.Rcode.make(rcode))
    if addresses:
        name = query.question[0].name
        response.answer.append(dns.rrset.from_text(name, 300, "IN", "A", *addresses))
    return response.to_wire()


def nxdomain(query: dns.message.Message) -> bytes:
    return answer(query, rcode=3)


class RawDnsServer(BackgroundServer):
    def __init__(self, script: Script, tcp: TcpScript | None = None, host: str = "127.0.0.1") -> None:
        super().__init__(host, 0)
        self.script = script
        self.tcp = tcp
        self.seen: list[Seen] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._spoofer: socket.socket | None = None
        self._tcp: asyncio.Server | None = None

    @property
    def nameserver(self) -> Nameserver:
        return Nameserver(self.host, self.port)

    async def _open(self) -> None:
        tcp_sock, udp_sock = bind_pair(self.host, 0)  # one port free for both (retried if not)
        self.port = tcp_sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=udp_sock)
        self._spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._spoofer.bind((self.host, 0))
        self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp_sock)

    async def _close(self) -> None:
        for closable in (self._udp, self._spoofer, self._tcp):
            if closable is not None:
                closable.close()

    def received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        self.seen.append(Seen(query.id, addr[1], "udp"))
        assert self._udp is not None and self._spoofer is not None
        for datagram in self.script(query):
            if datagram.spoofed:
                self._spoofer.sendto(datagram.data, addr)
            else:
                self._udp.sendto(datagram.data, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.converse(self._tcp_reply(reader, writer))

    async def _tcp_reply(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            query = dns.message.from_wire(await reader.readexactly(length))
            self.seen.append(Seen(query.id, writer.get_extra_info("peername")[1], "tcp"))
            reply = self.tcp(query) if self.tcp is not None else None
            if reply is None:
                await asyncio.sleep(3600)  # say nothing: the client's budget must end the wait
            else:
                writer.write(struct.pack("!H", len(reply)) + reply)
                await reader.read()  # until the client closes
        finally:
            writer.transport.abort()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: RawDnsServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.server.received(data, addr)


def truncated(query: dns.message.Message, garbage: bool = False) -> bytes:
    """A reply with TC set; with `garbage`, its header promises records that are not there."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.TC
    data = response.to_wire()
    return data[:6] + b"\x00\x05" + data[8:] if garbage else data
