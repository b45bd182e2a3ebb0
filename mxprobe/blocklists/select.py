"""Which zones a run asks: the enabled zones of the data file and the `--dnsbl` ones, with the user's keys
filled in; and the redactor that keeps those keys out of every output."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from mxprobe.blocklist_options import KEY_OPTIONS, parse_zone_option, validate_key
from mxprobe.blocklists.data import Zone, catalogue
from mxprobe.blocklists.redact import Redactor

if TYPE_CHECKING:
    from mxprobe.options import Options


def keys(options: Options) -> dict[str, str | None]:
    """The list keys a run has, by the name the data file uses in a zone's `key` field."""
    return {
        "dqs": validate_key(options.dqs_key, KEY_OPTIONS["dqs"]) if options.dqs_key else None,
        "abusix": validate_key(options.abusix_key, KEY_OPTIONS["abusix"]) if options.abusix_key else None,
    }


def selected_zones(kind: str, options: Options) -> tuple[list[Zone], list[str]]:
    """The zones a run queries for one kind, and notes on the zones it could not (a key is missing).

    Default: every enabled zone of the data file, plus the `--dnsbl` zones. With `dnsbl_only` (tests, or a
    user who wants exactly their own lists), only the `--dnsbl` zones. A zone named with `--dnsbl` is used
    even when disabled in the data file: the user asked for it, and its canary still guards against a dead
    zone.
    """
    have = keys(options)
    zones, notes = _selected(kind, options.dnsbl_only, tuple(options.dnsbl_zones), tuple(have.items()))
    return list(zones), list(notes)


@lru_cache(maxsize=64)
def _selected(
    kind: str, only: bool, extra: tuple[str, ...], key_items: tuple[tuple[str, str | None], ...]
) -> tuple[tuple[Zone, ...], tuple[str, ...]]:
    """Cached: a pool selects the same zones for each of its thousands of IPs."""
    cat = catalogue()
    have = dict(key_items)
    wanted = [] if only else [z for z in cat.zones if z.kind == kind and z.enabled]
    for text in extra:
        zone_kind, name = parse_zone_option(text)
        if zone_kind == kind:
            wanted.append(cat.find(name, kind) or cat.extra(name, kind))
    zones: list[Zone] = []
    notes: list[str] = []
    seen: set[str] = set()
    for zone in wanted:
        ready = zone.resolved(have)
        if ready is None:
            notes.append(f"{zone.display} not queried: it needs a key ({KEY_OPTIONS[zone.key]})")
        elif ready.qzone not in seen:
            seen.add(ready.qzone)
            zones.append(ready)
    return tuple(zones), tuple(notes)


def redactor(options: Options) -> Redactor:
    return Redactor([k for k in (options.dqs_key, options.abusix_key) if k])
