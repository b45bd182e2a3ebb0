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
specific key wins. Kinds: `drop` (never answer: the client times out), `servfail`, `refused`,
`truncate_udp` (UDP gets TC=1 and no answer; TCP gets the full answer). `delay` (seconds, every answer) and
`delays={"name.": seconds}` / `srv.set_delay(...)` (per name, overriding `delay`) slow answers down without
blocking others. `srv.reset()` restores the faults given at construction and clears the log.

The query log: `srv.queries` is a list of `Query(qname, qtype, transport, at)` (qname lower-case with a
trailing dot, qtype a name such as "TXT", transport "udp" or "tcp", `at` from `time.monotonic()`, enough to
compute a rate), `srv.count(qname, qtype)` counts, `srv.reset_log()` clears. Faulted queries are logged too.

Zone file dialect (BIND syntax as dnslib parses it; one file may hold several zones):

    ; infra.test.zone                       comments start with ';'
    $ORIGIN infra.test.                     ; relative names below are relative to this
    $TTL 300                                ; default TTL (300 when absent)
    @       SOA   ns1 hostmaster 1 3600 600 86400 300   ; a zone is declared by its SOA, once
    @       MX    10 mx1                    ; relative target -> mx1.infra.test.
    mx1     A     192.0.2.25
            AAAA  2001:db8::25              ; leading blank: same owner as the line before
    long    TXT   "a string of any length"  ; split into 255-byte strings on the wire
    dkim    TXT   ( "v=DKIM1; k=rsa; "      ; parentheses join lines; each quoted
                    "p=MIGf..." )           ; string stays a separate string
    *.wild  A     192.0.2.42                ; wildcard

- Records need a zone: an SOA at or above their name, in any loaded file. Records of one zone may be spread
  over several files: to add PTRs to a shared reverse zone (declared in `reverse.zone`), write
  `$ORIGIN 2.0.192.in-addr.arpa.` and the records in your own file, without a second SOA (that is an error).
- Names before the first `$ORIGIN` are relative to the file name without `.zone`.
- Supported: `$ORIGIN`, `$TTL`, `@`, TTL and class IN before the type (in that order), every type dnslib knows
  (A AAAA MX TXT PTR CNAME NS SOA SRV CAA TLSA DS DNSKEY RRSIG ...). Not supported: `$INCLUDE`, `$GENERATE`,
  class before TTL, `\\DDD` escapes, delegation (an NS below an apex is data, not a referral).
- In a test, a zone can be a dict `{apex: text}`: the text is zone-file text with `$ORIGIN` preset to the apex
  and an SOA added when it has none.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast, get_args

import dns.nameserver
from dnslib import (
    CLASS,
    EDNS0,
    OPCODE,
    QTYPE,
    RCODE,
    RD,
    RDMAP,
    RR,
    TXT,
    DNSHeader,
    DNSLabel,
    DNSRecord,
    ZoneParser,
)

from servers.base import BackgroundServer

ZONES_DIR = Path(__file__).resolve().parent.parent / "zones"
DEFAULT_TTL = 300
MAX_CNAME_CHAIN = 16
UDP_LIMIT = 512  # without EDNS (RFC 1035); dnspython's resolver does not send EDNS by default
EDNS_PAYLOAD = 1232  # what this server advertises, as recommended by DNS flag day 2020
UDP_RCVBUF = 1 << 22  # absorbs bursts of hundreds of queries (rate tests) without kernel drops

FaultKind = Literal["drop", "servfail", "refused", "truncate_udp"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
ZoneSource = Path | Mapping[str, str]

Name = tuple[bytes, ...]  # lower-case labels, root excluded: the key of every lookup


def name_key(name: str | DNSLabel) -> Name:
    labels = name.label if isinstance(name, DNSLabel) else DNSLabel(name).label
    return tuple(label.lower() for label in labels)


def name_text(name: Name) -> str:
    return ".".join(label.decode("ascii", "backslashreplace") for label in name) + "."


def zone_files(*folders: Path) -> list[Path]:
    """Every `*.zone` file of the folders, in a stable order."""
    return sorted(path for folder in folders for path in folder.glob("*.zone"))


class ZoneError(ValueError):
    """A zone file the server cannot serve faithfully; raised at load time, naming the file."""


class _Parser(ZoneParser):  # type: ignore[misc]
    """dnslib's parser, except that a TXT string longer than 255 bytes is split instead of refused."""

    def parse_rr(self, rr: list[str]) -> RR:
        owner = self.parse_label(rr.pop(0))
        ttl = int(rr.pop(0)) if rr[0].isdigit() else self.ttl
        rclass = rr.pop(0) if rr[0] in ("IN", "CH", "HS") else "IN"
        rtype = rr.pop(0)
        rdata: RD
        if rtype == "TXT":
            rdata = TXT([chunk for text in rr for chunk in _split255(text.encode())])
        else:
            rdata = RDMAP.get(rtype, RD).fromZone(rr, self.origin)
        return RR(
            rname=owner, ttl=ttl, rclass=getattr(CLASS, rclass), rtype=getattr(QTYPE, rtype), rdata=rdata
        )


def _split255(data: bytes) -> list[bytes]:
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


def _parse(text: str, origin: str, where: str) -> list[RR]:
    try:
        return list(_Parser(text, origin=origin, ttl=DEFAULT_TTL))
    except Exception as exc:  # dnslib raises a mix of DNSError, ValueError, KeyError, IndexError
        raise ZoneError(f"{where}: cannot parse zone text: {type(exc).__name__}: {exc}") from exc


def _default_soa(apex: str) -> str:
    return f"@ SOA ns1.{apex} hostmaster.{apex} 1 3600 600 86400 {DEFAULT_TTL}\n"


@dataclass
class Answer:
    rcode: int
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)


class Zones:
    """The records of every zone served, indexed for the lookups of an authoritative server.

    Sources: a folder (all its *.zone), a zone file, or a dict {apex: zone text}; or a list of those.
    Replacing `server.zones` with a new `Zones` changes the answers of a running server.
    """

    def __init__(self, sources: ZoneSource | Iterable[ZoneSource] = ZONES_DIR) -> None:
        self.nodes: dict[Name, dict[int, list[RR]]] = {}
        self.soa: dict[Name, tuple[RR, str]] = {}  # apex -> (SOA, where it was declared)
        self._ents: set[Name] = set()
        records = [
            (rr, where) for text, origin, where in _texts(sources) for rr in _parse(text, origin, where)
        ]
        for rr, where in records:
            if rr.rtype == QTYPE.SOA:
                apex = name_key(rr.rname)
                if apex in self.soa:
                    raise ZoneError(f"{where}: second SOA for {rr.rname} (first in {self.soa[apex][1]})")
                self.soa[apex] = (rr, where)
        for rr, where in records:
            owner = name_key(rr.rname)
            zone = self.zone_of(owner)
            if zone is None:
                raise ZoneError(
                    f"{where}: {rr.rname} {QTYPE.get(rr.rtype)} is outside every zone (add an SOA)"
                )
            self.nodes.setdefault(owner, {}).setdefault(rr.rtype, []).append(rr)
            self._ents.update(owner[i:] for i in range(1, len(owner) - len(zone)))
        for owner, node in self.nodes.items():
            if QTYPE.CNAME in node and set(node) - {QTYPE.CNAME, QTYPE.RRSIG, QTYPE.NSEC}:
                raise ZoneError(f"{name_text(owner)} has a CNAME and other data (RFC 1034 3.6.2)")

    def zone_of(self, name: Name) -> Name | None:
        """The apex of the closest enclosing zone, or None when no zone served here holds the name."""
        return next((name[i:] for i in range(len(name) + 1) if name[i:] in self.soa), None)

    def lookup(self, qname: Name, qtype: int, dnssec: bool = False) -> Answer | None:
        """The authoritative answer for (qname, qtype), or None when qname is outside every zone."""
        apex = self.zone_of(qname)
        if apex is None:
            return None
        result = Answer(RCODE.NOERROR)
        name, seen = qname, {qname}
        while True:
            node = self._node(name, apex)
            if node is None:
                result.rcode = RCODE.NXDOMAIN
                result.authority = self._soa(apex, dnssec)
                return result
            wanted = [t for t in node if t != QTYPE.RRSIG] if qtype == QTYPE.ANY else [qtype]
            found = [t for t in wanted if t in node]
            if found:
                for rtype in found:
                    result.answer += self._rrset(node, name, rtype, dnssec)
                result.additional = self._glue(result.answer)
                return result
            if QTYPE.CNAME not in node:
                result.authority = self._soa(apex, dnssec)
                return result
            result.answer += self._rrset(node, name, QTYPE.CNAME, dnssec)
            name = name_key(node[QTYPE.CNAME][0].rdata.label)
            next_apex = self.zone_of(name)
            if next_apex is None or name in seen or len(seen) > MAX_CNAME_CHAIN:
                return result  # the client follows the chain (or detects the loop) itself
            apex = next_apex
            seen.add(name)

    def _node(self, name: Name, apex: Name) -> dict[int, list[RR]] | None:
        """The records at `name` ({} for an empty non-terminal), a wildcard's, or None: NXDOMAIN."""
        if name in self.nodes:
            return self.nodes[name]
        if name in self._ents or name == apex:
            return {}
        for i in range(1, len(name) - len(apex) + 1):  # the closest encloser, then its wildcard
            encloser = name[i:]
            if encloser in self.nodes or encloser in self._ents or encloser == apex:
                return self.nodes.get((b"*", *encloser))
        return None

    def _rrset(self, node: dict[int, list[RR]], name: Name, rtype: int, dnssec: bool) -> list[RR]:
        rrs = node[rtype]
        if dnssec:
            rrs = rrs + [sig for sig in node.get(QTYPE.RRSIG, []) if sig.rdata.covered == rtype]
        if name_key(rrs[0].rname) == name:
            return rrs
        owner = DNSLabel(list(name))  # synthesised from a wildcard: the owner is the name asked
        return [RR(rname=owner, rtype=rr.rtype, rclass=rr.rclass, ttl=rr.ttl, rdata=rr.rdata) for rr in rrs]

    def _soa(self, apex: Name, dnssec: bool) -> list[RR]:
        return self._rrset(self.nodes[apex], apex, QTYPE.SOA, dnssec)

    def _glue(self, answer: list[RR]) -> list[RR]:
        glue: list[RR] = []
        for rr in answer:
            if rr.rtype in (QTYPE.MX, QTYPE.NS):
                node = self.nodes.get(name_key(rr.rdata.label), {})
                glue += [addr for rtype in (QTYPE.A, QTYPE.AAAA) for addr in node.get(rtype, [])]
        return glue


def _texts(sources: ZoneSource | Iterable[ZoneSource]) -> Iterator[tuple[str, str, str]]:
    """(zone text, origin, where) for every source; folders expand to their *.zone files."""
    items: Iterable[ZoneSource] = [sources] if isinstance(sources, Path | Mapping) else sources
    for item in items:
        if isinstance(item, Mapping):
            for apex, text in item.items():
                origin = apex if apex.endswith(".") else apex + "."
                has_soa = any(rr.rtype == QTYPE.SOA for rr in _parse(text, origin, f"zone {origin}"))
                yield ("" if has_soa else _default_soa(origin)) + text, origin, f"zone {origin}"
        elif item.is_dir():
            for path in zone_files(item):
                yield path.read_text(encoding="utf-8"), path.name.removesuffix(".zone") + ".", str(path)
        else:
            yield item.read_text(encoding="utf-8"), item.name.removesuffix(".zone") + ".", str(item)


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
        tcp_sock, udp_sock = _bind_pair(self.host, self.port)
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
        try:
            request = DNSRecord.parse(data)
        except Exception:  # not DNS: a real server ignores it too
            return
        qname = name_key(request.q.qname) if request.questions else ()
        with self._log_lock:
            self._log.append(Query(name_text(qname), QTYPE.get(request.q.qtype), transport, time.monotonic()))
        fault = self._faults.get(qname)
        if fault == "drop":
            return
        reply = self.respond(request, transport, fault)
        delay = self._delays.get(qname)
        delay = self.delay if delay is None else delay
        if delay > 0:
            self.spawn(_later(delay, send, reply))
        else:
            send(reply)

    def respond(self, request: DNSRecord, transport: str, fault: FaultKind | None = None) -> bytes:
        """The reply to one query, packed for `transport` (truncated over UDP when it does not fit)."""
        opt = next((rr for rr in request.ar if rr.rtype == QTYPE.OPT), None)
        found: Answer | None = None
        if fault in ("servfail", "refused"):
            rcode = RCODE.SERVFAIL if fault == "servfail" else RCODE.REFUSED
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
            rcode=rcode,
        )
        reply = DNSRecord(header, questions=list(request.questions))
        if opt is not None:
            reply.add_ar(EDNS0(udp_len=EDNS_PAYLOAD, flags="do" if opt.edns_do else ""))
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


def _pack(record: DNSRecord) -> bytes:
    data: bytes = record.pack()
    return data


async def _later(delay: float, send: Callable[[bytes], None], reply: bytes) -> None:
    await asyncio.sleep(delay)
    send(reply)


def _check_fault(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown DNS fault {kind!r}: use one of {', '.join(FAULT_KINDS)}")


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
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
