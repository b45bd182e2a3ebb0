"""The test zones as an authoritative server sees them: zone files (or zone text written in a test) parsed
with dnslib and indexed by name, and the lookups of RFC 1034 (NXDOMAIN, NODATA, CNAME chains, wildcards of
RFC 4592, empty non-terminals). The server (servers/dns.py) only packs what `Zones.lookup` returns.

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

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dnslib import CLASS, QTYPE, RCODE, RD, RDMAP, RR, TXT, DNSLabel, ZoneParser

ZONES_DIR = Path(__file__).resolve().parent.parent / "zones"
DEFAULT_TTL = 300
MAX_CNAME_CHAIN = 16
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
