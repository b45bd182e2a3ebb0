"""The blocklist logic the `dnsbl` (sending IP) and `dbl` (sending domains) checks share.

What the lists *are* lives in `checks/dnsbl.toml`; this module applies it. The rules, and why:

- A listing is an A record inside 127.0.0.0/8 (RFC 5782). An answer outside it is a resolver rewriting
  NXDOMAIN (ISP redirection, captive portal, DNS filter): `error`, never `listed`, or every rewriting resolver
  would blocklist everyone.
- A refusal code (Spamhaus 127.255.255.252/254/255, URIBL/SURBL 127.0.0.1, DBL 127.0.1.255) means the list
  did not answer the question: `error` with what to change (own resolver, DQS key), never `listed`. Counting
  these as listings is the most reported DNSBL-checker bug (pydnsbl #27, mox #354).
- SERVFAIL, REFUSED, timeouts: `error` for that zone. Only a refusal code or REFUSED is called a refusal: a
  list that refuses public resolvers but answered NXDOMAIN for its test point is reported as exactly that,
  with the likely cause, because a guess stated as fact sends the user after the wrong problem.
- Every zone is health-checked in the same run with its RFC 5782 test points, asked concurrently with the
  real queries (only the verdict waits for them; their TXT is never asked): the "listed" point (127.0.0.2,
  ::ffff:7f00:2, TEST) must be listed, or the zone's "clean" answers prove nothing (a list blocking our
  resolver often answers NXDOMAIN to everything); the "clean" point (127.0.0.1, ::ffff:7f00:1, INVALID) must
  not be, or the zone lists the world (an expired domain under a squatter's wildcard: AHBL, SpamCannibal,
  MegaRBL): `broken`, not used.
- Identical queries are asked once per run by the DNS layer, so the test points cost one query per zone
  however many subjects a check asks about.

The verdict of a check (`verdict`): `fail` when a healthy zone of severity "fail" lists a subject; `error`
when no zone could be used, or when more zones gave errors than usable answers (the result would say more
about the resolver than about the sender); `warn` when only severity-"warn" zones list it, or when some zone
refused the resolver or the resolver rewrites answers (the user can fix that, and a major list such as
Spamhaus may be missing from the result); `pass` otherwise, counting the zones that could not be used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mxprobe import target as validate
from mxprobe.data import data_file
from mxprobe.errors import InputError
from mxprobe.model import CheckResult, Evidence, Status

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer, Dns
    from mxprobe.options import Options

DATA_FILE = "dnsbl.toml"
KINDS = ("ip", "domain")
SEVERITIES = ("fail", "warn")
KEY_OPTIONS = {"dqs": "--dqs-key", "abusix": "--abusix-key"}
LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")
IPV6_TEST_LISTED, IPV6_TEST_CLEAN = "::ffff:7f00:2", "::ffff:7f00:1"
DEFAULT_TESTS = {"ip": ("127.0.0.2", "127.0.0.1"), "domain": ("test", "invalid")}
# Addresses no list holds: querying them tells the user nothing (and 127.0.0.x would hit the test points).
UNLISTABLE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)

_ZONE_FIELDS = {
    "zone": str,
    "name": str,
    "kind": str,
    "enabled": bool,
    "ipv4": bool,
    "ipv6": bool,
    "lists": str,
    "codes": dict,
    "bits": dict,
    "info": dict,
    "refusals": dict,
    "refusal_sets": list,
    "refuses_public_resolvers": bool,
    "severity": str,
    "wildcard": bool,
    "test_listed": str,
    "test_clean": str,
    "dqs": str,
    "key": str,
    "url": str,
    "access": str,
    "dead": str,
    "reason": str,
    "source": str,
}
_REQUIRED = ("zone", "name", "kind", "enabled", "lists")
_DEFAULT_FIELDS = ("lists", "refusal_sets")


class DataError(ValueError):
    """checks/dnsbl.toml is malformed: a packaging or review mistake, reported with the zone and field."""


# -- data ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeTable:
    """Return codes to meanings: exact addresses, and last-octet ranges ("127.0.0.10-13")."""

    exact: Mapping[int, str] = field(default_factory=dict)
    ranges: tuple[tuple[int, int, str], ...] = ()  # (first, last, meaning), narrowest first

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str) -> CodeTable:
        exact: dict[int, str] = {}
        ranges: list[tuple[int, int, str]] = []
        for key, meaning in table.items():
            if not isinstance(meaning, str) or not meaning:
                raise DataError(f"{where}: {key!r} must map to a non-empty meaning")
            first, last = parse_code(key, where)
            if first == last:
                exact[first] = meaning
            else:
                ranges.append((first, last, meaning))
        ranges.sort(key=lambda r: r[1] - r[0])
        return cls(exact, tuple(ranges))

    def match(self, address: str) -> str | None:
        value = int(ipaddress.IPv4Address(address))
        if value in self.exact:
            return self.exact[value]
        return next((meaning for first, last, meaning in self.ranges if first <= value <= last), None)

    def merged(self, other: CodeTable) -> CodeTable:
        """Self's entries win over other's (a zone's own refusals over a shared set)."""
        ranges = sorted({*self.ranges, *other.ranges}, key=lambda r: r[1] - r[0])
        return CodeTable({**other.exact, **self.exact}, tuple(ranges))

    def first_code(self) -> str | None:
        values = [*self.exact, *(first for first, _, _ in self.ranges)]
        return str(ipaddress.IPv4Address(min(values))) if values else None


def parse_code(key: str, where: str = "code") -> tuple[int, int]:
    """`127.0.0.2` -> (n, n); `127.0.2.2-24` -> the inclusive range of the last octet. Inside 127.0.0.0/8."""
    head, _, last = key.rpartition(".")
    low, dash, high = last.partition("-")
    try:
        first = ipaddress.IPv4Address(f"{head}.{low}")
        end = ipaddress.IPv4Address(f"{head}.{high}") if dash else first
    except ValueError:
        raise DataError(f"{where}: {key!r} is not an address or A.B.C.X-Y range") from None
    if first not in LOOPBACK_NET or end < first:
        raise DataError(f"{where}: {key!r} must be inside 127.0.0.0/8, with the range low-high")
    return int(first), int(end)


@dataclass(frozen=True)
class Zone:
    """One list, as read from the data file; `resolved()` gives the copy a run queries (keys filled in)."""

    zone: str
    name: str
    kind: str
    enabled: bool
    lists: str
    ipv4: bool = True
    ipv6: bool = False
    codes: CodeTable = field(default_factory=CodeTable)
    bits: Mapping[int, str] = field(default_factory=dict)
    info: CodeTable = field(default_factory=CodeTable)
    refusals: CodeTable = field(default_factory=CodeTable)
    refuses_public_resolvers: bool = False
    severity: str = "fail"
    wildcard: bool = False
    test_listed: str = ""
    test_clean: str = ""
    dqs: str = ""
    key: str = ""
    url: str = ""
    access: str = ""
    dead: str = ""
    reason: str = ""
    source: str = ""
    extra: bool = False  # named with --dnsbl and absent from the data file
    qzone: str = ""  # the zone actually queried (a key filled in); set by resolved()

    @property
    def display(self) -> str:
        """The zone as shown to users: keys are secrets, so `{key}` stays a placeholder."""
        return self.zone.replace("{key}", f"<{self.key or 'dqs'}-key>")

    def meaning(self, address: str) -> str:
        """What a listing code means here (the zone's general description when the code is unknown)."""
        known = self.codes.match(address)
        if known:
            return known
        value = int(ipaddress.IPv4Address(address))
        if self.bits and value >> 8 == int(ipaddress.IPv4Address("127.0.0.0")) >> 8:
            octet = value & 0xFF
            found = [m for bit, m in sorted(self.bits.items()) if octet & bit]
            rest = octet & ~sum(self.bits)
            if rest:
                found.append(f"undocumented bits {rest}")
            if found:
                return "; ".join(found)
        return self.lists

    def resolved(self, keys: Mapping[str, str | None]) -> Zone | None:
        """The zone to query with the user's keys: DQS instead of a public mirror; None if a key lacks."""
        if self.key:
            key = keys.get(self.key)
            return replace(self, qzone=self.zone.replace("{key}", key)) if key else None
        dqs_key = keys.get("dqs")
        if self.dqs and dqs_key:
            return replace(
                self,
                zone=self.dqs,
                key="dqs",
                qzone=self.dqs.replace("{key}", dqs_key),
                refuses_public_resolvers=False,
                name=f"{self.name} via DQS",
            )
        return replace(self, qzone=self.zone)


@dataclass(frozen=True)
class Catalogue:
    zones: tuple[Zone, ...]
    defaults: Mapping[str, Zone]  # kind -> the template of extra zones

    def find(self, zone: str, kind: str) -> Zone | None:
        name = zone.lower().rstrip(".")
        return next((z for z in self.zones if z.zone == name and z.kind == kind), None)

    def extra(self, zone: str, kind: str) -> Zone:
        return replace(self.defaults[kind], zone=zone, name=zone)


def load(path: Path) -> Catalogue:
    """Read and validate the data file; every mistake is a DataError naming the zone and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"{path}: {exc}") from None
    unknown = set(data) - {"refusal_set", "defaults", "zone"}
    if unknown:
        raise DataError(f"{path}: unknown top-level tables {sorted(unknown)}")
    sets = {
        name: CodeTable.parse(table, f"refusal_set.{name}")
        for name, table in data.get("refusal_set", {}).items()
    }
    defaults = {}
    for kind in KINDS:
        table = data.get("defaults", {}).get(kind)
        if not isinstance(table, dict) or set(table) - set(_DEFAULT_FIELDS):
            raise DataError(
                f"{path}: [defaults.{kind}] must exist and hold only {', '.join(_DEFAULT_FIELDS)}"
            )
        raw = {"zone": "", "name": "", "kind": kind, "enabled": True, **table}
        if kind == "ip":
            raw["ipv6"] = True  # unknown zone: ask; its IPv6 test point tells whether it holds IPv6
        defaults[kind] = replace(_zone(raw, f"defaults.{kind}", sets), extra=True)
    zones: list[Zone] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(data.get("zone", [])):
        where = f"zone #{index + 1} ({raw.get('zone', '?')})"
        zone = _zone(raw, where, sets)
        if (zone.zone, zone.kind) in seen:
            raise DataError(f"{where}: listed twice")
        seen.add((zone.zone, zone.kind))
        zones.append(zone)
    return Catalogue(tuple(zones), defaults)


def _zone(raw: Mapping[str, Any], where: str, sets: Mapping[str, CodeTable]) -> Zone:
    for name, value in raw.items():
        expected = _ZONE_FIELDS.get(name)
        if expected is None:
            raise DataError(f"{where}: unknown field {name!r}")
        if not isinstance(value, expected):
            raise DataError(f"{where}: {name} must be a {expected.__name__}")
    missing = [f for f in _REQUIRED if f not in raw]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)}")
    kind = raw["kind"]
    if kind not in KINDS:
        raise DataError(f"{where}: kind must be one of {KINDS}")
    if raw.get("severity", "fail") not in SEVERITIES:
        raise DataError(f"{where}: severity must be one of {SEVERITIES}")
    if not raw["enabled"] and not raw.get("reason"):
        raise DataError(f"{where}: a disabled zone needs a reason")
    if kind == "domain" and ("ipv4" in raw or "ipv6" in raw):
        raise DataError(f"{where}: ipv4/ipv6 apply to ip zones only")
    if kind == "ip" and "wildcard" in raw:
        raise DataError(f"{where}: wildcard applies to domain zones only")
    key = raw.get("key", "")
    if key and (key not in KEY_OPTIONS or "{key}" not in raw["zone"]):
        raise DataError(
            f"{where}: key must be one of {sorted(KEY_OPTIONS)} and the zone must contain {{key}}"
        )
    if not key and "{key}" in raw["zone"]:
        raise DataError(f"{where}: a zone with {{key}} must say which key")
    if raw.get("dqs") and not raw["dqs"].startswith("{key}."):
        raise DataError(f"{where}: dqs must look like {{key}}.<zone>.dq.spamhaus.net")
    refusals = CodeTable.parse(raw.get("refusals", {}), f"{where} refusals")
    for set_name in raw.get("refusal_sets", []):
        if set_name not in sets:
            raise DataError(f"{where}: unknown refusal set {set_name!r}")
        refusals = refusals.merged(sets[set_name])
    bits: dict[int, str] = {}
    for bit, meaning in raw.get("bits", {}).items():
        if not bit.isdigit() or int(bit) not in (2, 4, 8, 16, 32, 64, 128) or not isinstance(meaning, str):
            raise DataError(f"{where}: bits keys are powers of two from 2 to 128, values meanings")
        bits[int(bit)] = meaning
    listed, clean = DEFAULT_TESTS[kind]
    zone = Zone(
        zone=raw["zone"].lower().rstrip("."),
        name=raw["name"],
        kind=kind,
        enabled=raw["enabled"],
        lists=raw["lists"],
        ipv4=raw.get("ipv4", kind == "ip"),
        ipv6=raw.get("ipv6", False),
        codes=CodeTable.parse(raw.get("codes", {}), f"{where} codes"),
        bits=bits,
        info=CodeTable.parse(raw.get("info", {}), f"{where} info"),
        refusals=refusals,
        refuses_public_resolvers=raw.get("refuses_public_resolvers", False),
        severity=raw.get("severity", "fail"),
        wildcard=raw.get("wildcard", False),
        test_listed=raw.get("test_listed", listed).lower(),
        test_clean=raw.get("test_clean", clean).lower(),
        dqs=raw.get("dqs", ""),
        key=key,
        url=raw.get("url", ""),
        access=raw.get("access", ""),
        dead=raw.get("dead", ""),
        reason=raw.get("reason", ""),
        source=raw.get("source", ""),
    )
    if kind == "ip":
        for point in (zone.test_listed, zone.test_clean):
            if point not in (listed, clean):
                ipaddress.IPv4Address(point)  # a custom IPv4 test point must at least be an address
    return zone


@cache
def catalogue() -> Catalogue:
    """The data file, read once per process (it is immutable while mxprobe runs)."""
    return load(data_file(DATA_FILE))


# -- options -------------------------------------------------------------------------------------------------


def parse_zone_option(text: str) -> tuple[str, str]:
    """`--dnsbl ZONE` (an IP list) or `--dnsbl domain:ZONE` (a domain list) -> (kind, zone)."""
    kind, sep, zone = text.strip().partition(":")
    if not sep:
        kind, zone = "ip", text
    elif kind.lower() not in KINDS:
        raise InputError(
            f"invalid --dnsbl {text!r}: use ZONE for an IP list or domain:ZONE for a domain list"
        )
    return kind.lower(), validate.domain(zone, "--dnsbl zone")


def validate_key(value: str, option: str = "--dqs-key") -> str:
    """A key becomes a label of every query: letters and digits only, so it cannot change the zone asked."""
    key = value.strip()
    if not key or len(key) > 63 or not key.isascii() or not key.isalnum():
        raise InputError(f"invalid {option}: expected the key's letters and digits (1-63 characters)")
    return key.lower()


def selected_zones(kind: str, options: Options) -> tuple[list[Zone], list[str]]:
    """The zones a run queries for one kind, and notes on the zones it could not (a key is missing).

    Default: every enabled zone of the data file, plus the `--dnsbl` zones. With `dnsbl_only` (tests, or a
    user who wants exactly their own lists), only the `--dnsbl` zones. A zone named with `--dnsbl` is used
    even when disabled in the data file: the user asked for it, and its canary still guards against a dead
    zone.
    """
    cat = catalogue()
    keys = {
        "dqs": validate_key(options.dqs_key) if options.dqs_key else None,
        "abusix": getattr(options, "abusix_key", None),
    }
    wanted = [] if options.dnsbl_only else [z for z in cat.zones if z.kind == kind and z.enabled]
    for text in options.dnsbl_zones:
        zone_kind, name = parse_zone_option(text)
        if zone_kind == kind:
            wanted.append(cat.find(name, kind) or cat.extra(name, kind))
    zones: list[Zone] = []
    notes: list[str] = []
    seen: set[str] = set()
    for zone in wanted:
        ready = zone.resolved(keys)
        if ready is None:
            option = KEY_OPTIONS[zone.key]
            notes.append(f"{zone.display} not queried: it needs a key ({option})")
        elif ready.qzone not in seen:
            seen.add(ready.qzone)
            zones.append(ready)
    return zones, notes


def redactor(options: Options) -> Redactor:
    return Redactor([k for k in (options.dqs_key, getattr(options, "abusix_key", None)) if k])


class Redactor:
    """Keys travel inside query names; they never reach the report."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = [k.strip().lower() for k in keys if k.strip()]

    def __call__(self, text: str) -> str:
        for key in self.keys:
            text = text.replace(key, "<key>")
        return text


# -- queries -------------------------------------------------------------------------------------------------


def plain_ip(ip: str) -> str:
    """An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the IPv4 address a receiver sees and lists."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def unlistable(ip: str) -> str:
    """Why no list can hold this address ("" when it is a public address worth asking about)."""
    address = ipaddress.ip_address(plain_ip(ip))
    net = next((n for n in UNLISTABLE_NETS if address.version == n.version and address in n), None)
    if net is None:
        return ""
    return f"{ip} is a private, loopback or reserved address (in {net}); blocklists hold public addresses"


@lru_cache(maxsize=1024)
def reversed_ip(ip: str) -> tuple[int, str]:
    """(address family, the labels a DNSBL wants): octets or IPv6 nibbles reversed (RFC 5782 2.4).

    Cached: every zone of a run asks it for the same address and the same test points."""
    address = ipaddress.ip_address(ip)
    pointer = address.reverse_pointer
    return address.version, pointer.removesuffix(".in-addr.arpa").removesuffix(".ip6.arpa")


def domain_names(name: str, zone: Zone) -> list[str]:
    """The names to ask a domain list: the name itself, plus its parents (down to two labels) when the list
    holds registered domains only and is not wildcarded (URIBL), so `mail.example.com` finds `example.com`."""
    labels = name.lower().rstrip(".").split(".")
    if zone.wildcard:
        return [".".join(labels)]
    return [".".join(labels[i:]) for i in range(max(1, len(labels) - 1))]


@dataclass(frozen=True)
class Reading:
    """What one A answer of a list says."""

    outcome: str  # listed | clean | refused | rewritten | failed
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    error: str = ""


def read(zone: Zone, answer: Answer) -> Reading:
    """Interpret a list's A answer with the zone's data. Refusals and rewrites are checked before listings."""
    if answer.failed:
        return Reading("failed", error=f"{answer.rcode}: {answer.error or 'no answer'}")
    addresses = tuple(str(r.address) for r in answer.records if hasattr(r, "address")) if answer.ok else ()
    if not addresses:
        return Reading("clean")
    outside = [a for a in addresses if ipaddress.ip_address(a) not in LOOPBACK_NET]
    if outside:
        return Reading(
            "rewritten",
            addresses,
            error=f"answered {', '.join(outside)}, outside 127.0.0.0/8: your resolver rewrites NXDOMAIN "
            "answers (ISP redirection, captive portal or DNS filter), this is not a listing",
        )
    refusals = [(a, m) for a in addresses if (m := zone.refusals.match(a))]
    if refusals:
        code, meaning = refusals[0]
        return Reading(
            "refused", addresses, tuple(m for _, m in refusals), error=f"refused ({code}): {meaning}"
        )
    listings = _unique(zone.meaning(a) for a in addresses if not zone.info.match(a))
    if listings:
        return Reading("listed", addresses, listings)
    return Reading("clean", addresses, _unique(m for a in addresses if (m := zone.info.match(a))))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# -- one zone ------------------------------------------------------------------------------------------------


@dataclass
class Subject:
    """What a check asks about: an IP, or a domain with the identities it stands for (from, helo, ptr)."""

    text: str
    sources: list[str] = field(default_factory=list)


@dataclass
class Asked:
    name: str
    answer: Answer
    reading: Reading
    txt: Answer | None = None


@dataclass
class Record:
    """One (zone, subject) outcome; `to_dict` is the shape of `details["zones"]` in the JSON report."""

    zone: Zone
    subject: Subject
    status: str  # listed | clean | error | broken | skipped
    query: str = ""
    codes: list[str] = field(default_factory=list)
    meaning: str = ""
    reason: str = ""
    error: str = ""
    # refused (a refusal code, or REFUSED) | rewritten | dns | canary (test point not listed) | silent (the
    # same, on a list known to refuse public resolvers)
    error_kind: str = ""
    note: str = ""

    @property
    def url(self) -> str:
        return self.zone.url.replace("{ip}", self.subject.text).replace("{domain}", self.subject.text)

    def to_dict(self, redact: Redactor) -> dict[str, Any]:
        """What a user acts on first (the text report shows a record on one shortened line): the zone, the
        domain when several are asked, the status, the codes and what they mean, the list's reason or the
        error, the removal URL; the rest after. The IP is the check's, so it comes last."""
        data: dict[str, Any] = {"zone": self.zone.display}
        if self.zone.kind == "domain":
            data["domain"] = self.subject.text
        data |= {
            "status": self.status,
            "codes": self.codes,
            "meaning": self.meaning,
            "reason": self.reason,
            "error": redact(self.error),
            "url": self.url,
        }
        if self.note:
            data["note"] = self.note
        if self.subject.sources:
            data["sources"] = self.subject.sources
        data |= {"name": self.zone.name, "query": redact(self.query), "severity": self.zone.severity}
        if self.zone.kind == "ip":
            data["ip"] = self.subject.text
        return data


# The order of zones in a check's details and evidence: what the user must act on first.
STATUS_ORDER = ("listed", "broken", "error", "clean", "skipped")


def _rank(status: str) -> int:
    return STATUS_ORDER.index(status)


@dataclass
class ZoneOutcome:
    zone: Zone
    records: list[Record]
    evidence: list[Evidence]
    health: Health | None = None

    @property
    def status(self) -> str:
        statuses = {r.status for r in self.records}
        for status in ("broken", "listed", "error", "clean"):
            if status in statuses:
                return status
        return "skipped"

    @property
    def error_kinds(self) -> set[str]:
        return {r.error_kind for r in self.records if r.status == "error"}


async def _ask(dns: Dns, zone: Zone, name: str, test_point: bool = False) -> Asked:
    """One A query; a listing's TXT reason is asked as soon as its A answer is in, not after the canaries.

    A test point's answer is the same for every probed IP, so a pool asks it once for all (`shared`); its
    TXT would only say "test", so it is not asked (one query less per zone, on every run).
    """
    answer = await dns.query(name, "A", shared=test_point)
    reading = read(zone, answer)
    txt = await dns.query(name, "TXT") if reading.outcome == "listed" and not test_point else None
    return Asked(name, answer, reading, txt)


def _test_points(zone: Zone, family: int) -> tuple[str, str, str, str]:
    """(listed point, clean point, their query names) for the family asked (ip zones) or for domains."""
    if zone.kind == "domain":
        listed, clean = zone.test_listed, zone.test_clean
        return listed, clean, f"{listed}.{zone.qzone}", f"{clean}.{zone.qzone}"
    listed, clean = (
        (zone.test_listed, zone.test_clean) if family == 4 else (IPV6_TEST_LISTED, IPV6_TEST_CLEAN)
    )
    return listed, clean, f"{reversed_ip(listed)[1]}.{zone.qzone}", f"{reversed_ip(clean)[1]}.{zone.qzone}"


@dataclass(frozen=True)
class Health:
    """Why a zone's test points say it cannot be trusted; `point` and `seen` (the rcode, or the codes it
    answered) let the summary say what was observed when the listed test point is missing."""

    status: str  # broken | error
    kind: str  # error kind, see Record.error_kind
    message: str
    point: str = ""
    seen: str = ""


def _failure_kind(asked: Asked) -> str:
    """The error kind of an answer that is no answer: only a refusal code or REFUSED is a refusal."""
    outcome = asked.reading.outcome
    if outcome == "failed":
        return "refused" if asked.answer.rcode == "REFUSED" else "dns"
    return outcome


def _health(zone: Zone, points: tuple[str, str], listed: Asked, clean: Asked) -> Health | None:
    """What the zone's test points say against trusting it, or None when they hold."""
    listed_point, clean_point = points
    if clean.reading.outcome == "listed":
        return Health(
            "broken",
            "",
            f"lists its test point {clean_point}, which no working list does: the zone is dead or lists "
            "everything (a wildcard); not used",
        )
    for asked, point in ((clean, clean_point), (listed, listed_point)):
        if asked.reading.outcome in ("refused", "rewritten"):
            return Health("error", asked.reading.outcome, asked.reading.error)
        if asked.reading.outcome == "failed":
            message = f"its health check ({point}) got no answer: {asked.reading.error}"
            return Health("error", _failure_kind(asked), message)
    if listed.reading.outcome == "listed":
        return None
    seen = ", ".join(listed.reading.codes) or listed.answer.rcode
    head = f"did not list its test point {listed_point} ({seen})"
    if zone.refuses_public_resolvers:
        advice = "use your own resolver" + (" or a Spamhaus DQS key (--dqs-key)" if zone.dqs else "")
        why = f"{_WHY_SILENT[True][0]}; {advice}"
        return Health("error", "silent", f"{head}: {why}", listed_point, seen)
    return Health("error", "canary", f"{head}: {_WHY_SILENT[False][0]}", listed_point, seen)


# Why a list may leave its test point unlisted: a likely cause, said as such. (record error, summary for one
# zone, summary for several); the summary drops what "could not be checked" already says.
_REFUSES_PUBLIC = "this list refuses public and cloud resolvers, so it is probably not answering yours"
_WHY_SILENT = {
    True: (
        _REFUSES_PUBLIC,
        _REFUSES_PUBLIC,
        "these lists refuse public and cloud resolvers, so they are probably not answering yours",
    ),
    False: (
        "the list is down or not answering your resolver, so its 'not listed' proves nothing",
        "the list is down or not answering your resolver",
        "these lists are down or not answering your resolver",
    ),
}


async def assess(dns: Dns, zone: Zone, subjects: Sequence[Subject], redact: Redactor) -> ZoneOutcome:
    """Ask one zone about every subject, with its test points, all at once; then judge."""
    family = reversed_ip(subjects[0].text)[0] if zone.kind == "ip" and subjects else 4
    records: list[Record] = []
    plans: list[tuple[Subject, list[str]]] = []
    for subject in subjects:
        if zone.kind == "ip":
            version, labels = reversed_ip(subject.text)
            if (version == 4 and not zone.ipv4) or (version == 6 and not zone.ipv6):
                note = f"this list holds IPv{10 - version} addresses only"
                records.append(Record(zone, subject, "skipped", note=note))
                continue
            plans.append((subject, [f"{labels}.{zone.qzone}"]))
        else:
            names = [f"{n}.{zone.qzone}" for n in domain_names(subject.text, zone)]
            fitting = [n for n in names if len(n) <= 253]
            if not fitting:
                records.append(Record(zone, subject, "skipped", note="the name is too long to ask this list"))
                continue
            plans.append((subject, fitting))
    if not plans:
        return ZoneOutcome(zone, records, [])
    listed_point, clean_point, listed_name, clean_name = _test_points(zone, family)
    names = list(dict.fromkeys(n for _, group in plans for n in group))
    asked = await asyncio.gather(
        _ask(dns, zone, listed_name, test_point=True),
        _ask(dns, zone, clean_name, test_point=True),
        *(_ask(dns, zone, n) for n in names),
    )
    canary_listed, canary_clean, by_name = asked[0], asked[1], {a.name: a for a in asked[2:]}
    health = _health(zone, (listed_point, clean_point), canary_listed, canary_clean)
    evidence: list[Evidence] = []

    def show(a: Asked, note: str = "") -> None:
        evidence.append(_evidence(a.answer, redact, note))
        if a.txt is not None:
            evidence.append(_evidence(a.txt, redact, "the list's reason"))

    for subject, group in plans:
        mine = [by_name[n] for n in group]
        for a in mine:
            show(a)
        records.append(_judge(zone, subject, mine, health))
    if health is not None or any(r.status == "listed" for r in records):
        show(canary_listed, f"test point {listed_point}: must be listed")
        show(canary_clean, f"test point {clean_point}: must not be listed")
    return ZoneOutcome(zone, records, evidence, health)


def _judge(zone: Zone, subject: Subject, asked: list[Asked], health: Health | None) -> Record:
    record = Record(zone, subject, "clean", query=asked[0].name if asked else "")
    if health is not None and health.status == "broken":
        record.status, record.error = "broken", health.message
        return record
    listed = [a for a in asked if a.reading.outcome == "listed"]
    failed = [a for a in asked if a.reading.outcome in ("refused", "rewritten", "failed")]
    if failed:
        first = failed[0]
        record.status, record.query, record.error_kind = "error", first.name, _failure_kind(first)
        record.error, record.codes = first.reading.error, list(first.reading.codes)
        return record
    if health is not None:
        record.status, record.error_kind, record.error = health.status, health.kind, health.message
        return record
    if listed:
        record.status, record.query = "listed", listed[0].name
        record.codes = list(_unique(c for a in listed for c in a.reading.codes))
        record.meaning = "; ".join(_unique(m for a in listed for m in a.reading.meanings))
        reasons = [t for a in listed if a.txt is not None and a.txt.ok for t in a.txt.texts]
        record.reason = "; ".join(_unique(reasons))
        if len(listed) == 1 and listed[0].name != asked[0].name:
            record.note = f"listed as {listed[0].name.removesuffix('.' + zone.qzone)}"
        return record
    infos = [m for a in asked for m in a.reading.meanings]
    record.meaning = "; ".join(_unique(infos))
    return record


def _evidence(answer: Answer, redact: Redactor, note: str) -> Evidence:
    item = answer.evidence(note)
    item.query = redact(item.query)
    item.note = redact(item.note)
    return item


# -- the check -----------------------------------------------------------------------------------------------


async def check(
    ctx: Context, check_id: str, kind: str, subjects: Sequence[Subject], notes: Sequence[str] = ()
) -> CheckResult:
    """Run one blocklist check: every selected zone at once, then one verdict for the whole set."""
    options = ctx.options
    try:
        zones, key_notes = selected_zones(kind, options)
    except InputError as exc:
        return CheckResult(check_id, Status.ERROR, str(exc), fix="Correct the --dnsbl / --dqs-key value.")
    redact = redactor(options)
    if not zones:
        return CheckResult(
            check_id,
            Status.SKIP,
            f"no {'IP' if kind == 'ip' else 'domain'} blocklist selected",
            details={"notes": [*notes, *key_notes]},
        )
    outcomes = list(await asyncio.gather(*(assess(ctx.dns, zone, subjects, redact) for zone in zones)))
    status, summary, fix = verdict(kind, subjects, outcomes)
    statuses = [o.status for o in outcomes]
    checked: dict[str, Any] = (
        {"ip": subjects[0].text} if kind == "ip" else {"domains": {s.text: s.sources for s in subjects}}
    )
    records = sorted((r for o in outcomes for r in o.records), key=lambda r: _rank(r.status))
    details: dict[str, Any] = {
        **checked,
        "counts": {s: statuses.count(s) for s in STATUS_ORDER},
        "zones": [r.to_dict(redact) for r in records],
    }
    if notes or key_notes:
        details["notes"] = [*notes, *key_notes]
    ranked = sorted(
        outcomes, key=lambda o: min((_rank(r.status) for r in o.records), default=len(STATUS_ORDER))
    )
    evidence = [e for o in ranked for e in o.evidence]
    return CheckResult(check_id, status, summary, details=details, evidence=evidence, fix=fix)


def verdict(
    kind: str, subjects: Sequence[Subject], outcomes: Sequence[ZoneOutcome]
) -> tuple[Status, str, str]:
    """(status, summary, fix) for a set of zone outcomes; the rule is in the module docstring."""
    used = [o for o in outcomes if o.status != "skipped"]
    listed = [r for o in used for r in o.records if r.status == "listed"]
    usable = [o for o in used if o.status in ("listed", "clean")]
    errors = [o for o in used if o.status == "error"]
    broken = [o for o in used if o.status == "broken"]
    serious = [r for r in listed if r.zone.severity == "fail"]
    trouble = _trouble(errors, broken)
    if serious or (listed and len(usable) >= len(errors) and usable):
        shown = serious or listed
        who, verb = _joined([r.subject.text for r in shown])
        zones = ", ".join(_unique(_short(r) for r in shown))
        if serious:
            count = len(_names(r.zone.display for r in shown))
            summary = f"{who} {verb} listed on {count} of {len(usable)} blocklists"
        else:
            summary = f"{who} {verb} listed only on lists few receivers act on"
        return (Status.FAIL if serious else Status.WARN), f"{summary}: {zones}{trouble}", _listing_fix(listed)
    what, verb = _joined([s.text for s in subjects])
    if not usable or len(errors) > len(usable):
        reasons = _error_reasons(errors)
        summary = (
            f"could not check {what}: {len(errors) + len(broken)} of {len(used)} blocklists gave no usable "
            f"answer ({reasons or 'all broken'})"
        )
        return Status.ERROR, summary, _error_fix(errors)
    kinds = {k for o in errors for k in o.error_kinds}
    summary = f"{what} {verb} on none of the {len(usable)} blocklists that answered{trouble}"
    if kinds & {"refused", "silent", "rewritten"}:
        return Status.WARN, summary, _error_fix(errors)
    return Status.PASS, summary, ""


def _joined(names: Iterable[str]) -> tuple[str, str]:
    """("a", "is"), ("a and b", "are"), ("a, b and c", "are"): the subject of a summary sentence."""
    unique = list(_unique(names))
    if len(unique) == 1:
        return unique[0], "is"
    return f"{', '.join(unique[:-1])} and {unique[-1]}", "are"


def _short(record: Record) -> str:
    """`zone (SBL, PBL)`: the labels before ':' of the meanings; the full meanings are in the details."""
    labels = [part.split(":")[0] for part in record.meaning.split("; ") if ":" in part]
    subject = f" for {record.subject.text}" if record.zone.kind == "domain" else ""
    return f"{record.zone.display}{subject}" + (f" ({', '.join(_unique(labels))})" if labels else "")


def _names(items: Iterable[str]) -> list[str]:
    return list(_unique(items))


def _trouble(errors: Sequence[ZoneOutcome], broken: Sequence[ZoneOutcome]) -> str:
    parts = []
    if errors:
        parts.append(f"{len(errors)} could not be checked ({_error_reasons(errors)})")
    if broken:
        names = ", ".join(_names(o.zone.display for o in broken))
        parts.append(f"{len(broken)} broken and ignored ({names})")
    return "; " + "; ".join(parts) if parts else ""


_KIND_TEXT = {
    "refused": "refused the query",
    "rewritten": "answers rewritten by your resolver",
    "dns": "no answer",
}


def _error_reasons(errors: Sequence[ZoneOutcome]) -> str:
    """The zones that gave no usable answer, grouped by what was seen. A zone whose listed test point was
    missing is said as such ("did not list its test point 127.0.0.2 (NXDOMAIN)"), with the likely cause."""
    by_kind: dict[tuple[str, str], list[ZoneOutcome]] = {}
    for outcome in errors:
        health = outcome.health
        if health is not None and health.kind in ("silent", "canary"):
            by_kind.setdefault((health.kind, health.seen), []).append(outcome)
            continue
        for kind in sorted(outcome.error_kinds) or ["dns"]:
            by_kind.setdefault((kind, ""), []).append(outcome)
    parts = []
    for (kind, seen), group in by_kind.items():
        zones = [o.zone.display for o in group]
        names = ", ".join(zones[:3]) + (f" and {len(zones) - 3} more" if len(zones) > 3 else "")
        if kind not in ("silent", "canary"):
            parts.append(f"{_KIND_TEXT.get(kind, kind)}: {names}")
            continue
        one = len(zones) == 1
        names = _joined(zones)[0] if len(zones) <= 3 else names
        points = _names(o.health.point for o in group if o.health is not None)
        what = f"test point {points[0]}" if len(points) == 1 else "test points"
        why = _WHY_SILENT[kind == "silent"][1 if one else 2]
        parts.append(f"{names} did not list {'its' if one else 'their'} {what} ({seen}): {why}")
    return "; ".join(parts)


def _listing_fix(listed: Sequence[Record]) -> str:
    links = "; ".join(_unique(f"{r.zone.display}: {r.url or 'see the list'}" for r in listed))
    return (
        "Find and fix why you were listed first (the reason and the meaning say: a compromised host or "
        "account, an open relay, mail to spam traps, a dynamic address sending directly to MX), then ask "
        f"each list to remove the listing: {links}"
    )


def _error_fix(errors: Sequence[ZoneOutcome]) -> str:
    kinds = {k for o in errors for k in o.error_kinds}
    advice = []
    if kinds & {"refused", "silent"}:
        advice.append(
            "Some lists refuse public and cloud resolvers (8.8.8.8, 1.1.1.1, cloud DNS): run mxprobe with "
            "--nameserver pointing at your own recursive resolver (e.g. unbound on this host); for Spamhaus "
            "a free Data Query Service key works through any resolver (--dqs-key KEY)."
        )
    if "rewritten" in kinds:
        advice.append(
            "Your resolver rewrites NXDOMAIN answers (ISP redirection, captive portal, DNS filter): use "
            "--nameserver with a resolver that does not."
        )
    if kinds & {"dns", "canary"}:
        advice.append(
            "Some lists did not answer: retry later or raise --timeout; one that keeps failing may be down."
        )
    return " ".join(advice)
