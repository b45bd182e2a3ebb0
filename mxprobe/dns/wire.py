"""DNS messages at the byte level, for the common case: build a query, tell whether a datagram answers it.

dnspython builds and parses every message as objects (names, rdatasets, rdata): about 200 µs to read one
NXDOMAIN with its SOA, most of a blocklist pool's CPU. Most answers a run receives are that simple
(NXDOMAIN or NODATA, an SOA in the authority section, maybe an OPT record), and the rcode and flags are all
a check needs from them. So:

- `build_query()` writes a plain query (one question, RD, no EDNS: what `dns.message.make_query` writes)
  without dnspython, for ASCII names without escapes; other names and DNSSEC queries go through dnspython.
- `match()` is `dns.message.Message.is_response` on the bytes: QR set, same id, same opcode, and the same
  question (the name compared case-insensitively, type and class exactly), or no question at all when the
  rcode is FORMERR, SERVFAIL, NOTIMP or REFUSED (dnspython accepts those too).
- `lean_rcode()` walks the rest of a reply whose answer section is empty and whose other sections hold
  only an SOA and an OPT record, checking every length and name as dnspython's parser would; any other
  shape returns None and the caller parses the reply with dnspython (`dns.message.from_wire`).
"""

from __future__ import annotations

import struct

QR = 0x8000
OPCODE = 0x7800
TC = 0x0200
RD = 0x0100
AD = 0x0020
RCODE = 0x000F
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
QUESTIONLESS = frozenset({FORMERR, SERVFAIL, NOTIMP, REFUSED})
SOA, OPT = 6, 41
CLASS_IN = 1
HEADER = struct.Struct("!HHHHHH")
RR_FIXED = struct.Struct("!HHIH")  # type, class, TTL, rdata length


class FormError(ValueError):
    """A reply that is not a well-formed DNS message."""


def encode_name(name: str) -> bytes | None:
    """The wire form of a plain ASCII name, or None when dnspython must encode it (escapes, IDNA, `@`)."""
    text = name[:-1] if name.endswith(".") else name
    if not text or not text.isascii() or "\\" in text or text == "@":
        return None
    out = bytearray()
    for label in text.split("."):
        if not 0 < len(label) < 64:
            return None
        out.append(len(label))
        out += label.encode("ascii")
    out.append(0)
    return bytes(out) if len(out) <= 255 else None


def build_query(name: str, rdtype: int) -> bytes | None:
    """A query with id 0 (the transport sets it), RD set, one question of class IN; None: use dnspython."""
    qname = encode_name(name)
    if qname is None:
        return None
    return HEADER.pack(0, RD, 1, 0, 0, 0) + qname + struct.pack("!HH", rdtype, CLASS_IN)


def question_end(query: bytes) -> int:
    """Where the first question of our own query ends (its name is never compressed)."""
    pos = 12
    while query[pos]:
        pos += query[pos] + 1
    return pos + 5


def match(query: bytes, end: int, reply: bytes) -> bool:
    """Is `reply` a response to `query` (whose question ends at `end`)? See the module docstring."""
    if len(reply) < 12 or reply[:2] != query[:2]:
        return False
    flags = reply[2] << 8 | reply[3]
    if not flags & QR or (flags ^ (query[2] << 8 | query[3])) & OPCODE:
        return False
    qdcount = reply[4] << 8 | reply[5]
    if qdcount == 0 and flags & RCODE in QUESTIONLESS:
        return True
    return (
        qdcount == 1
        and reply[12 : end - 4].lower() == query[12 : end - 4].lower()
        and reply[end - 4 : end] == query[end - 4 : end]
    )


def _skip_name(wire: bytes, pos: int) -> int:
    """The offset after the name at `pos`; pointers must go backwards (RFC 1035 4.1.4), total <= 255."""
    length, end, hops = 0, -1, 0
    while True:
        if pos >= len(wire):
            raise FormError("name runs past the end")
        byte = wire[pos]
        if byte >= 0xC0:
            if pos + 1 >= len(wire):
                raise FormError("truncated pointer")
            target = (byte & 0x3F) << 8 | wire[pos + 1]
            if target >= pos or hops > 127:
                raise FormError("bad compression pointer")
            if end < 0:
                end = pos + 2
            pos, hops = target, hops + 1
        elif byte >= 0x40:
            raise FormError("unknown label type")
        elif byte == 0:
            return end if end >= 0 else pos + 1
        else:
            length += byte + 1
            if length > 254:
                raise FormError("name too long")
            pos += byte + 1


def _opt_options(rdata: bytes) -> None:
    pos = 0
    while pos < len(rdata):
        if pos + 4 > len(rdata):
            raise FormError("truncated EDNS option")
        pos += 4 + (rdata[pos + 2] << 8 | rdata[pos + 3])
    if pos != len(rdata):
        raise FormError("EDNS option past the end")


def lean_rcode(reply: bytes, end: int) -> int | None:
    """The full rcode (with the EDNS extension) of a well-formed reply with an empty answer section, at
    most one SOA in authority and at most one OPT in additional; None for any other shape (parse it with
    dnspython). Raises FormError for a reply dnspython would refuse to parse. `end`: end of the question."""
    flags: int
    _, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(reply)
    if ancount or qdcount != 1 or nscount > 1 or arcount > 1:
        return None
    pos, high = end, 0
    for section, wanted in ((nscount, SOA), (arcount, OPT)):
        if not section:
            continue
        owner = pos
        pos = _skip_name(reply, pos)
        if pos + 10 > len(reply):
            raise FormError("truncated record")
        rdtype, _, ttl, rdlength = RR_FIXED.unpack_from(reply, pos)
        pos += 10
        if rdtype != wanted or pos + rdlength > len(reply):
            return None
        rdata = reply[pos : pos + rdlength]
        if wanted == SOA:
            names_end = _skip_name(reply, _skip_name(reply, pos))
            if names_end + 20 != pos + rdlength:
                raise FormError("bad SOA rdata")
        else:
            if reply[owner] != 0:
                raise FormError("OPT owner is not the root")
            _opt_options(rdata)
            high = ttl >> 24
        pos += rdlength
    return flags & RCODE | high << 4
