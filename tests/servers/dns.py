"""An authoritative DNS server on loopback (UDP and TCP) serving the test zones, with faults on demand.

dnslib only parses and builds packets here; the engine is asyncio (dnslib's threaded server drops UDP packets
under bursts), and the answers follow RFC 1034 rather than dnslib's `ZoneResolver` (which says NXDOMAIN for
NODATA) or its `truncate()` (which drops the question, so clients time out instead of retrying over TCP).

Using it::

    from servers.dns import DnsServer
    with DnsServer() as srv:                      # every tests/zones/*.zone, on 127.0.0.1:<free port>
        srv.address                               # "127.0.0.1:40213", for --nameserver
        srv.nameserver                            # dns.nameserver.Do53Nameserver, for dnspython/checkdmarc
    DnsServer({"example.test.": "@ TXT \\"v=spf1 -all\\""})   # a zone written in the test (SOA added)
    DnsServer([ZONES_DIR, {"extra.test.": "..."}], delay=0.05, faults={"*.bl.test.": "servfail"})

In pytest use the fixtures of tests/conftest.py: `dns_server` (shared, all zones, log and faults reset per
test) and `make_dns_server(zones, **options)` (a fresh server for custom zones or faults).

What it answers (every answer has AA set and never AD):
- NXDOMAIN when the name does not exist, NOERROR with no answer (NODATA) when it exists without that type,
  both with the zone's SOA in the authority section; an empty non-terminal (`b.c.x.test.` when only
  `a.b.c.x.test.` has records) is NODATA, not NXDOMAIN.
- CNAMEs are followed while the target is in one of the zones served (loops stop after 16 steps).
- Wildcards (`*.bl.test.`) answer for names that do not exist below their parent (RFC 4592).
- MX and NS answers carry the A/AAAA of their targets in the additional section when they are served here.
- With EDNS DO set, RRSIG records present in the zone are returned next to the RRsets they cover.
- Names outside every zone: NXDOMAIN (checkdmarc walks up to `_dmarc.<tld>` and treats REFUSED as a failure),
  or REFUSED with `refuse_out_of_zone=True`.
- UDP answers larger than 512 bytes (or the client's EDNS size) are truncated correctly: TC=1, question kept.

Faults, by name: `faults={"name.": kind}` at construction or `srv.set_fault("name.", kind)` at any time
(`None` clears it). A key is an exact name, or `*.suffix.` for every name strictly below `suffix.`; the most
specific key wins. Kinds: `drop` (never answer: the client times out), an rcode other than NOERROR and
NXDOMAIN (`servfail`, `refused`, `notimp`, `formerr`, `yxdomain`, `notauth`, `rcode12` (unassigned),
`badvers` (16: an extended rcode, sent in an OPT record even to a query without one): that rcode, no
records), `truncate_udp` (UDP gets TC=1 and no answer; TCP gets the full answer). `delay` (seconds, every
answer) and
`delays={"name.": seconds}` / `srv.set_delay(...)` (per name, overriding `delay`) slow answers down without
blocking others. `srv.reset()` restores the faults given at construction and clears the log.

The query log: `srv.queries` is a list of `Query(qname, qtype, transport, at)` (qname lower-case with a
trailing dot, qtype a name such as "TXT", transport "udp" or "tcp", `at` from `time.monotonic()`, enough to
compute a rate), `srv.count(qname, qtype)` counts, `srv.reset_log()` clears. Faulted queries are logged too.

The zones (files in tests/zones/ and their dialect, or text in a test) and their lookups: servers/zones.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast, get_args

import dns.nameserver
from dnslib import (
    CLASS,
    EDNS0,
    OPCODE,
    QTYPE,
    RCODE,
    RR,
    DNSBuffer,
    DNSHeader,
    DNSRecord,
)

from servers.base import BackgroundServer
from servers.zones import ZONES_DIR, Answer, Name, ZoneError, Zones, ZoneSource, name_key, name_text

__all__ = ["FAULT_KINDS", "ZONES_DIR", "DnsServer", "FaultKind", "Query", "ZoneError", "ZoneSource", "Zones"]

UDP_LIMIT = 512  # without EDNS (RFC 1035); dnspython's resolver does not send EDNS by default
EDNS_PAYLOAD = 1232  # what this server advertises, as recommended by DNS flag day 2020
UDP_RCVBUF = 1 << 22  # absorbs bursts of hundreds of queries (rate tests) without kernel drops

FaultKind = Literal[
    "drop",
    "servfail",
    "refused",
    "notimp",
    "formerr",
    "yxdomain",
    "notauth",
    "rcode12",
    "badvers",
    "truncate_udp",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


class Query(NamedTuple):
    qname: str
    qtype: str
    transport: str
    at: float


class _NameTable:
    """Values keyed by exact name or by `*.suffix.` (strictly below suffix); the most specific key wins."""

    def __init__(self, initial: Mapping[str, Any] | None) -> None:
        self._initial = dict(initial or {})
        self._exact: dict[Name, Any] = {}
        self._below: dict[Name, Any] = {}
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._exact.clear()
            self._below.clear()
        for key, value in self._initial.items():
            self.set(key, value)

    def set(self, key: str, value: Any) -> None:
        labels = name_key(key)
        table, name = (self._below, labels[1:]) if labels[:1] == (b"*",) else (self._exact, labels)
        with self._lock:
            if value is None:
                table.pop(name, None)
            else:
                table[name] = value

    def get(self, name: Name) -> Any:
        with self._lock:
            if name in self._exact:
                return self._exact[name]
            return next(
                (self._below[name[i:]] for i in range(1, len(name) + 1) if name[i:] in self._below), None
            )


class DnsServer(BackgroundServer):
    """The server. See the module docstring for what it answers and how to inject faults."""

    def __init__(
        self,
        zones: Zones | ZoneSource | Iterable[ZoneSource] = ZONES_DIR,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        delays: Mapping[str, float] | None = None,
        faults: Mapping[str, FaultKind] | None = None,
        refuse_out_of_zone: bool = False,
    ) -> None:
        super().__init__(host, port)
        self.zones = zones if isinstance(zones, Zones) else Zones(zones)
        self.delay = delay
        self.refuse_out_of_zone = refuse_out_of_zone
        for kind in (faults or {}).values():
            _check_fault(kind)
        self._faults = _NameTable(faults)
        self._delays = _NameTable(delays)
        self._log: list[Query] = []
        self._log_lock = threading.Lock()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._packed: dict[tuple[int, int], tuple[RR, bytes]] = {}  # SOA records packed for `_empty_reply`

    # -- for tests -------------------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """HOST:PORT as `--nameserver` takes it (IPv6 in brackets)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def nameserver(self) -> dns.nameserver.Do53Nameserver:
        return dns.nameserver.Do53Nameserver(self.host, self.port)

    def set_fault(self, name: str, kind: FaultKind | None) -> None:
        if kind is not None:
            _check_fault(kind)
        self._faults.set(name, kind)

    def set_delay(self, name: str, seconds: float | None) -> None:
        self._delays.set(name, seconds)

    @property
    def queries(self) -> list[Query]:
        with self._log_lock:
            return list(self._log)

    def count(self, qname: str | None = None, qtype: str | None = None, transport: str | None = None) -> int:
        """How many queries matched (None matches anything); qname with or without the trailing dot."""
        wanted = None if qname is None else name_text(name_key(qname))
        return sum(
            1
            for q in self.queries
            if wanted in (None, q.qname) and qtype in (None, q.qtype) and transport in (None, q.transport)
        )

    def reset_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def reset(self) -> None:
        """Back to the state of construction: faults and delays as given, empty log."""
        self._faults.reset()
        self._delays.reset()
        self.reset_log()

    # -- serving ---------------------------------------------------------------------------------------------
    async def _open(self) -> None:
        tcp_sock, udp_sock = bind_pair(self.host, self.port)
        self.port = tcp_sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=udp_sock)
        self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp_sock)

    async def _close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()

    def handle(self, data: bytes, transport: str, send: Callable[[bytes], None]) -> None:
        """One query: log it, then answer now, later (delay) or never (drop)."""
        plain = _plain_question(data)
        request: DNSRecord | None = None
        if plain is None:
            try:
                request = DNSRecord.parse(data)
            except Exception:  # not DNS: a real server ignores it too
                return
            qname, qtype = (name_key(request.q.qname) if request.questions else ()), request.q.qtype
        else:
            qname, qtype = plain
        with self._log_lock:
            self._log.append(Query(name_text(qname), QTYPE.get(qtype), transport, time.monotonic()))
        fault = self._faults.get(qname)
        if fault == "drop":
            return
        reply = self._empty_reply(data, qname, qtype) if plain is not None and fault is None else None
        if reply is None:
            reply = self.respond(request or DNSRecord.parse(data), transport, fault)
        delay = self._delays.get(qname)
        delay = self.delay if delay is None else delay
        if delay > 0:
            self.spawn(_later(delay, send, reply))
        else:
            send(reply)

    def _empty_reply(self, data: bytes, qname: Name, qtype: int) -> bytes | None:
        """The NXDOMAIN or NODATA reply to a plain query, packed without dnslib (most of a blocklist pool's
        queries: the benchmarks need a server faster than the client); None for any other answer. The
        bytes are those `respond()` would pack: AA, RD copied, the question as asked, the zone's SOA."""
        found = self.zones.lookup(qname, qtype)
        if found is None or found.answer or found.additional or len(found.authority) != 1:
            return None
        soa, offset = found.authority[0], len(data)
        cached = self._packed.get((id(soa), offset))
        if cached is None or cached[0] is not soa:  # the RR is kept in the entry: its id cannot be reused
            buffer = DNSBuffer(bytes(offset))  # compression pointers are offsets: pack it where it goes
            buffer.offset = offset
            soa.pack(buffer)
            cached = self._packed[id(soa), offset] = (soa, bytes(buffer.data[offset:]))
        flags = bytes([0x84 | (data[2] & 0x01), found.rcode])  # QR, AA, RD as asked; RA clear
        return data[:2] + flags + b"\x00\x01\x00\x00\x00\x01\x00\x00" + data[12:] + cached[1]

    def respond(self, request: DNSRecord, transport: str, fault: FaultKind | None = None) -> bytes:
        """The reply to one query, packed for `transport` (truncated over UDP when it does not fit)."""
        opt = next((rr for rr in request.ar if rr.rtype == QTYPE.OPT), None)
        found: Answer | None = None
        if fault in _FAULT_RCODES:
            rcode = _FAULT_RCODES[fault]
        elif request.header.opcode != OPCODE.QUERY:
            rcode = RCODE.NOTIMP
        elif len(request.questions) != 1:
            rcode = RCODE.FORMERR
        elif request.q.qclass != CLASS.IN:
            rcode = RCODE.REFUSED
        else:
            dnssec = bool(opt and opt.edns_do)
            found = self.zones.lookup(name_key(request.q.qname), request.q.qtype, dnssec)
            out_of_zone = RCODE.REFUSED if self.refuse_out_of_zone else RCODE.NXDOMAIN
            rcode = out_of_zone if found is None else found.rcode
        reply = self._reply(request, opt, rcode)
        if found is not None:
            reply.rr, reply.auth = list(found.answer), list(found.authority)
            reply.ar = list(found.additional) + reply.ar  # the OPT record stays last
            reply.set_header_qa()
        packed = _pack(reply)
        limit = max(UDP_LIMIT, opt.edns_len) if opt else UDP_LIMIT
        if transport == "udp" and (fault == "truncate_udp" or len(packed) > limit):
            truncated = self._reply(request, opt, rcode)  # TC=1 and the question: clients retry over TCP
            truncated.header.tc = 1
            return _pack(truncated)
        return packed

    @staticmethod
    def _reply(request: DNSRecord, opt: RR | None, rcode: int) -> DNSRecord:
        """An empty reply that keeps the question, sets AA and never copies AD (dnslib's reply() does)."""
        header = DNSHeader(
            id=request.header.id,
            qr=1,
            aa=1,
            ra=0,
            rd=request.header.rd,
            opcode=request.header.opcode,
            rcode=rcode & 0xF,
        )
        reply = DNSRecord(header, questions=list(request.questions))
        if opt is not None or rcode > 0xF:  # the upper 8 bits of an extended rcode go in OPT (RFC 6891 6.1.3)
            flags = "do" if opt is not None and opt.edns_do else ""
            reply.add_ar(EDNS0(udp_len=EDNS_PAYLOAD, ext_rcode=rcode >> 4, flags=flags))
        return reply

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.converse(self._tcp_queries(reader, writer))

    async def _tcp_queries(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def send(reply: bytes) -> None:
            if not writer.is_closing():
                writer.write(struct.pack("!H", len(reply)) + reply)

        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                self.handle(await reader.readexactly(length), "tcp", send)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            writer.transport.abort()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # 3.11's is not a subclass of it

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        transport = self.transport
        assert transport is not None
        self.server.handle(data, "udp", lambda reply: transport.sendto(reply, addr))


def _plain_question(data: bytes) -> tuple[Name, int] | None:
    """(qname, qtype) of a query with one uncompressed question of class IN and nothing else (no EDNS);
    None for anything else (dnslib parses those)."""
    if len(data) < 17 or data[2] & 0xF8 or data[4:12] != b"\x00\x01\x00\x00\x00\x00\x00\x00":
        return None
    labels, pos = [], 12
    while data[pos]:
        end = pos + 1 + data[pos]
        if data[pos] > 63 or end >= len(data):
            return None
        labels.append(data[pos + 1 : end].lower())
        pos = end
    if pos + 5 != len(data) or data[pos + 3 : pos + 5] != b"\x00\x01":
        return None
    return tuple(labels), data[pos + 1] << 8 | data[pos + 2]


def _pack(record: DNSRecord) -> bytes:
    data: bytes = record.pack()
    return data


async def _later(delay: float, send: Callable[[bytes], None], reply: bytes) -> None:
    await asyncio.sleep(delay)
    send(reply)


_FAULT_RCODES = {
    "servfail": RCODE.SERVFAIL,
    "refused": RCODE.REFUSED,
    "notimp": RCODE.NOTIMP,
    "formerr": RCODE.FORMERR,
    "yxdomain": 6,
    "notauth": 9,
    "rcode12": 12,
    "badvers": 16,
}


def _check_fault(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown DNS fault {kind!r}: use one of {', '.join(FAULT_KINDS)}")


def bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A TCP and a UDP socket bound to the same port (a free one when port is 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        tcp = socket.socket(family, socket.SOCK_STREAM)
        udp = socket.socket(family, socket.SOCK_DGRAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((host, port))
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
            udp.bind((host, tcp.getsockname()[1]))
            return tcp, udp
        except OSError:
            tcp.close()
            udp.close()
            if port:
                raise
    raise OSError(f"no port free for both UDP and TCP on {host}")


def main(argv: list[str] | None = None) -> None:
    """Serve the test zones by hand: `cd tests && python -m servers.dns --port 5353`, then
    `mxprobe infra.test --nameserver 127.0.0.1:5353`."""
    parser = argparse.ArgumentParser(prog="python -m servers.dns", description=main.__doc__)
    parser.add_argument("zones", nargs="*", type=Path, default=[ZONES_DIR], help="zone files or folders")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args(argv)
    with DnsServer(args.zones, host=args.host, port=args.port, delay=args.delay) as server:
        print(f"serving {len(server.zones.soa)} zones on {server.address} (UDP and TCP); Ctrl-C stops")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
