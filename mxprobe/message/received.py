"""The Received chain (RFC 5321 §4.4, RFC 5322 §3.6.7): each hop, and the one that reached the receiver.

`from <EHLO name> (<TCP info>) by <host> [via ...] [with <protocol>] [id <id>] [for <rcpt>]; <date>`: the EHLO
name is the client's claim, the address literal (and the reverse name the server looked up) its observation.
Every MTA writes the TCP info its own way:

- Postfix, Sendmail, Gmail, NetEase (Coremail): `from HELO (RDNS [IP])`; `unknown` when there is no reverse
  name (Postfix smtpd.c); Sendmail may write `ident@RDNS` and `(may be forged)` (cf/m4/proto.m4); Gmail puts a
  trailing dot on the reverse name.
- Exim: `from RDNS ([IP]:PORT helo=HELO)`, `from [IP] (helo=HELO)` without a verified name; the HELO is left
  out when it equals the name (Exim spec, `received_header_text`, `$sender_rcvhost`).
- Exchange / Microsoft 365: `from HELO (IP) by ... with Microsoft SMTP Server`; the reverse name is only in
  X-Forefront-Antispam-Report `PTR:`.
- Yahoo: `from IP (EHLO HELO) by <internal IP> with SMTP`; QQ: `from HELO ([IP]) by newxmmx... (NewMX)`.

Lines are read top (newest) to bottom. The receiving organisation is named by the topmost hop with a host name
in `by`; its internal hops (no client address, a private address, a client in the same organisation,
HTTP/MAPI/LMTP hand-offs) and authenticated submissions (`with ESMTPSA`, RFC 3848) are skipped, and the first
hop from outside is the border hop: its address literal is the IP that SPF, iprev and the blocklists were
evaluated against. Known border hosts (mx.google.com, *.mail.protection.outlook.com, QQ's NewMX, NetEase's
Coremail mx) are taken first, so that Gmail-to-Gmail mail is still judged at Google's MX.
"""

from __future__ import annotations

import email.utils
import ipaddress
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from mxprobe.message.fields import Field
from mxprobe.message.shapes import HopDict, Side

KEYWORDS = ("from", "by", "via", "with", "id", "for")
MAX_HOPS = 100  # Postfix hopcount_limit is 50: more is a loop or hostile input
PROVIDERS = {
    "google.com": "Google",
    "gmail.com": "Google",
    "googlemail.com": "Google",
    "outlook.com": "Microsoft",
    "office365.com": "Microsoft",
    "microsoft.com": "Microsoft",
    "hotmail.com": "Microsoft",
    "yahoo.com": "Yahoo",
    "yahoodns.net": "Yahoo",
    "aol.com": "Yahoo",
    "qq.com": "Tencent",
    "163.com": "NetEase",
    "126.com": "NetEase",
    "netease.com": "NetEase",
    "yeah.net": "NetEase",
}
_BORDERS = re.compile(
    r"^(?:mx\.google\.com|gmr-mx\.google\.com|[\w-]+\.mail\.protection\.outlook\.com"
    r"|[\w-]*mx[\w-]*\.qq\.com)$",
    re.I,
)
_SECOND_LEVEL = {"com", "net", "org", "co", "ac", "gov", "edu", "ne", "or"}
_INTERNAL_WITH = re.compile(r"^(?:https?|mapi|lmtps?a?|local)$", re.I)
_SUBMISSION = re.compile(r"^(?:utf8)?e?smtps?a$", re.I)  # RFC 3848: `A` = authenticated, a client submitting
_IP_LITERAL = re.compile(r"\[(?:ipv6:)?([0-9a-f.:]+)\]", re.I)
_HELO = re.compile(r"\b(?:helo|ehlo)[= ]\s*([^\s)=]+)", re.I)
_PRIVATE = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
]


@dataclass
class Hop:
    index: int  # position of the field (0 = topmost)
    from_helo: str | None = None
    from_ptr: str | None = None
    from_ip: str | None = None
    by: str | None = None
    by_note: str = ""  # the comment after `by` ("Postfix", "Coremail", "NewMX")
    protocol: str | None = None
    id: str | None = None
    recipient: str | None = None
    at: datetime | None = None
    delay_s: float | None = None  # since the hop before it (the next line down)
    side: Side = "sender"  # "receiver" (internal), "border", "sender"
    may_be_forged: bool = False

    def to_dict(self) -> HopDict:
        return {
            "from_helo": self.from_helo,
            "from_ptr": self.from_ptr,
            "from_ip": self.from_ip,
            "by": self.by,
            "at": self.at.isoformat() if self.at else None,
            "delay_s": self.delay_s,
            "with": self.protocol,
            "id": self.id,
            "for": self.recipient,
            "side": self.side,
            "may_be_forged": self.may_be_forged,
        }


@dataclass
class Chain:
    hops: list[Hop]  # top (newest) first
    receiver: str  # the receiving organisation ("Google", "example.net"), "" when unknown
    border: Hop | None
    sender_start: int  # field index of the first Received line written outside the receiver (or the end)

    def travelled(self) -> list[Hop]:
        """Oldest first: the order the message went."""
        return list(reversed(self.hops))


def _words(text: str) -> list[tuple[str, list[str]]]:
    """Top-level words, each with the comments that follow it (nested parentheses kept inside a comment)."""
    out: list[tuple[str, list[str]]] = []
    depth, start, word = 0, 0, list[str]()
    for i, ch in enumerate(text + " "):
        if ch == "(":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                if not out:
                    out.append(("", []))
                out[-1][1].append(text[start:i].strip())
        elif depth == 0 and ch in " \t":
            if word:
                out.append(("".join(word), []))
                word = []
        elif depth == 0:
            word.append(ch)
    return out


def _clauses(text: str) -> dict[str, tuple[str, list[str]]]:
    """keyword -> (first word, comments of the clause); the first clause of each keyword wins."""
    found: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for word, comments in _words(text):
        key = word.lower()
        if key in KEYWORDS and key not in found:
            current = key
            found[key] = ("", list(comments))
        elif current is not None:
            first, notes = found[current]
            found[current] = (first or word, notes + comments)
    return found


def ip_of(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip("[]").removeprefix("IPv6:").removeprefix("ipv6:")))
    except ValueError:
        return None


def _host(text: str) -> str | None:
    name = text.strip().rstrip(".").lower()
    if not name or name == "unknown" or ip_of(name) or not re.fullmatch(r"[\w.-]+", name):
        return None
    return name


def _from(hop: Hop, name: str, comments: list[str]) -> None:
    """The client of a hop from its `from` clause, whichever MTA wrote it (module docstring)."""
    info = " ".join(comments)
    hop.may_be_forged = "may be forged" in info.lower()
    helo = _HELO.search(info)
    literal = _IP_LITERAL.search(info)
    hop.from_ip = ip_of(literal.group(1)) if literal else None
    if hop.from_ip is None:
        hop.from_ip = ip_of(name) or next(
            (ip for c in comments if (ip := ip_of(c.split()[0] if c else ""))), None
        )
    if helo is not None:  # Exim (helo=), Yahoo (EHLO name): the first word is the reverse name or the IP
        hop.from_helo = helo.group(1).rstrip(".").lower()
        hop.from_ptr = _host(name)
        return
    hop.from_helo = name.strip().rstrip(".").lower() or None
    if literal is not None:
        before = info[: literal.start()].split()
        rdns = before[-1].rpartition("@")[2] if before else ""
        if rdns:
            hop.from_ptr = _host(rdns)
        elif re.search(r"\]:\d+", info):  # Exim `name ([IP]:port)`: the name was verified, HELO was the same
            hop.from_ptr = _host(name)


def parse_hop(value: str, index: int) -> Hop:
    text, semi, date = value.rpartition(";")
    if not semi:
        text, date = value, ""
    hop = Hop(index)
    try:
        at = email.utils.parsedate_to_datetime(date.strip()) if date.strip() else None
    except (ValueError, TypeError, IndexError, OverflowError):
        at = None
    hop.at = at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
    clauses = _clauses(text)
    if "from" in clauses:
        _from(hop, *clauses["from"])
    by, notes = clauses.get("by", ("", []))
    hop.by = by.rstrip(".").lower() or None
    hop.by_note = " ".join(notes)[:80]
    protocol = clauses.get("with", ("", []))[0]
    hop.protocol = "Microsoft SMTP Server" if protocol == "Microsoft" else protocol or None
    hop.id = clauses.get("id", ("", []))[0] or None
    hop.recipient = clauses.get("for", ("", []))[0].strip("<>;") or None
    return hop


def organisation(host: str | None) -> str:
    """The organisation a host name belongs to: a known provider, else its registered-looking domain."""
    if not host or ip_of(host) or "." not in host:
        return ""
    labels = host.lower().rstrip(".").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    domain = ".".join(labels[-keep:])
    return PROVIDERS.get(domain, domain)


def _private(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in net for net in _PRIVATE if net.version == address.version)


def _internal(hop: Hop, receiver: str) -> bool:
    if hop.from_ip is None or _private(hop.from_ip):
        return True
    if hop.protocol and (_INTERNAL_WITH.match(hop.protocol) or _SUBMISSION.match(hop.protocol)):
        return True  # a hand-off inside the receiver, or a submission: never the hop between organisations
    names = (hop.from_ptr, hop.from_helo)
    return bool(receiver) and any(organisation(n) == receiver for n in names if n)


def _receiver(hops: list[Hop]) -> str:
    for hop in hops:
        if hop.by and "coremail" in hop.by_note.lower():
            return "NetEase"
        if org := organisation(hop.by):
            return org
    return ""


def _delays(hops: list[Hop]) -> None:
    for newer, older in itertools.pairwise(hops):
        if newer.at is not None and older.at is not None:
            newer.delay_s = round((newer.at - older.at).total_seconds(), 1)


def chain(fields: list[Field]) -> Chain:
    hops = [parse_hop(f.value, f.index) for f in fields if f.key == "received"][:MAX_HOPS]
    _delays(hops)
    receiver = _receiver(hops)
    border = next((h for h in hops if h.by and _BORDERS.match(h.by) and h.from_ip), None)
    if border is None:
        border = next((h for h in hops if not _internal(h, receiver)), None)
    end = fields[-1].index + 1 if fields else 0
    if border is None:
        return Chain(hops, receiver, None, end)
    for hop in hops:
        hop.side = "border" if hop is border else "receiver" if hop.index < border.index else "sender"
    below = next((h.index for h in hops if h.index > border.index), end)
    return Chain(hops, receiver, border, below)
