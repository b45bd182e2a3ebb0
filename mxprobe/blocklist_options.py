"""The blocklist flags of the option layer: `--dnsbl [domain:]ZONE` and the list keys (`--dqs-key`,
`--abusix-key`), parsed and checked here so that `options` needs nothing from `mxprobe.blocklists`.

A key becomes a label of every query to its zones, so it is held to the letters and digits a label can carry
safely: nothing in it can change which zone is asked. Keys are secrets: no message here ever repeats one.
"""

from __future__ import annotations

from mxprobe import target as validate
from mxprobe.errors import InputError

ZONE_KINDS = ("ip", "domain")
# The key a zone of checks/dnsbl.toml may need ("key" field) -> the flag that gives it.
KEY_OPTIONS = {"dqs": "--dqs-key", "abusix": "--abusix-key"}


def parse_zone_option(text: str) -> tuple[str, str]:
    """`--dnsbl ZONE` (an IP list) or `--dnsbl domain:ZONE` (a domain list) -> (kind, zone)."""
    kind, sep, zone = text.strip().partition(":")
    if not sep:
        kind, zone = "ip", text
    elif kind.lower() not in ZONE_KINDS:
        raise InputError(
            f"invalid --dnsbl {text[:80]!r}: use ZONE for an IP list or domain:ZONE for a domain list"
        )
    return kind.lower(), validate.domain(zone, "--dnsbl zone")


def validate_key(value: str, option: str = "--dqs-key") -> str:
    """A key becomes a label of every query: letters and digits only, so it cannot change the zone asked.

    The error names the option, never the value (a mistyped key is still mostly the key)."""
    key = value.strip()
    if not key or len(key) > 63 or not key.isascii() or not key.isalnum():
        raise InputError(f"invalid {option}: expected the key's letters and digits (1-63 characters)")
    return key.lower()
