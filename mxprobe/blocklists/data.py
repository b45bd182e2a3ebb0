"""What the blocklists are: the schema of checks/dnsbl.toml, its validation, and the zones it describes.

The data file describes each list (zone, what it holds, its listing codes, refusal codes, test points, keys);
`load` refuses any mistake with the zone and field named, so a review slip fails the tests, never a run. The
rules that apply the data live in `mxprobe.blocklists.engine`; the words of the verdict in `wording`.

`major = true` marks a list most receivers consult (with `major_reason`, a public source that says so): when
such a list gives no usable answer, the `dnsbl`/`dbl` verdict cannot be `pass` (see `blocklists.verdict`).
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from mxprobe.blocklist_options import KEY_OPTIONS
from mxprobe.blocklist_options import ZONE_KINDS as KINDS
from mxprobe.data import data_file

DATA_FILE = "dnsbl.toml"
MEMO_SIZE = 256  # codes remembered per table (a hostile list cannot grow it further)
SEVERITIES = ("fail", "warn")
LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")
IPV6_TEST_LISTED, IPV6_TEST_CLEAN = "::ffff:7f00:2", "::ffff:7f00:1"
DEFAULT_TESTS = {"ip": ("127.0.0.2", "127.0.0.1"), "domain": ("test", "invalid")}
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
    "major": bool,
    "major_reason": str,
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

    _memo: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def match(self, address: str) -> str | None:
        """The meaning of this code, or None. Memoised: a pool reads the same few codes thousands of times."""
        if address in self._memo:
            return self._memo[address]
        value = int(ipaddress.IPv4Address(address))
        found = self.exact.get(value)
        if found is None:
            found = next((meaning for first, last, meaning in self.ranges if first <= value <= last), None)
        if len(self._memo) < MEMO_SIZE:
            self._memo[address] = found
        return found

    def merged(self, other: CodeTable) -> CodeTable:
        """Self's entries win over other's (a zone's own refusals over a shared set)."""
        ranges = sorted({*self.ranges, *other.ranges}, key=lambda r: r[1] - r[0])
        return CodeTable({**other.exact, **self.exact}, tuple(ranges))


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
    major: bool = False  # most receivers consult it: no answer from it means no `pass`
    major_reason: str = ""  # the public source that says so
    extra: bool = False  # named with --dnsbl and absent from the data file
    qzone: str = ""  # the zone actually queried (a key filled in); set by resolved()
    _meanings: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def display(self) -> str:
        """The zone as shown to users: keys are secrets, so `{key}` stays a placeholder."""
        return self.zone.replace("{key}", f"<{self.key or 'dqs'}-key>")

    def meaning(self, address: str) -> str:
        """What a listing code means here (the zone's general description when the code is unknown)."""
        if address not in self._meanings:
            found = self._meaning(address)
            if len(self._meanings) >= MEMO_SIZE:
                return found
            self._meanings[address] = found
        return self._meanings[address]

    def _meaning(self, address: str) -> str:
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


def _check_fields(raw: Mapping[str, Any], where: str) -> None:
    """The rules of one [[zone]] table that no type can say."""
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
    if raw.get("major", False) != bool(raw.get("major_reason")):
        raise DataError(f"{where}: major = true needs a major_reason citing a public source (and only then)")
    if raw.get("dqs") and not raw["dqs"].startswith("{key}."):
        raise DataError(f"{where}: dqs must look like {{key}}.<zone>.dq.spamhaus.net")


def _zone(raw: Mapping[str, Any], where: str, sets: Mapping[str, CodeTable]) -> Zone:
    _check_fields(raw, where)
    kind, key = raw["kind"], raw.get("key", "")
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
        major=raw.get("major", False),
        major_reason=raw.get("major_reason", ""),
    )
    if kind == "ip":
        for point in (zone.test_listed, zone.test_clean):
            if point not in (listed, clean):
                _ipv4_point(point, where)
    return zone


def _ipv4_point(point: str, where: str) -> None:
    """A custom IPv4 test point must at least be an address."""
    try:
        ipaddress.IPv4Address(point)
    except ValueError:
        raise DataError(f"{where}: test point {point!r} is not an IPv4 address") from None


@cache
def catalogue() -> Catalogue:
    """The data file, read once per process (it is immutable while mxprobe runs)."""
    return load(data_file(DATA_FILE))
