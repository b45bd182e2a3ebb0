"""Which nameservers a run asks: `--nameserver` values parsed, or the system resolver's configuration."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from mxprobe.errors import InputError
from mxprobe.target import reject_controls


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _port(text: str, digits: str) -> int:
    """A port of ASCII digits only (`str.isdigit` also accepts `²` and other Unicode digits)."""
    if not (digits.isascii() and digits.isdigit()):
        raise InputError(f"invalid --nameserver {text!r}: port must be a number")
    return int(digits)


def parse_nameserver(text: str) -> Nameserver:
    """Parse `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address. Names are refused: a resolver is an IP."""
    reject_controls("--nameserver", text)
    raw = text.strip()
    host, port = raw, 53
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise InputError(f"invalid --nameserver {text!r}: missing ']'")
        host, rest = raw[1:end], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InputError(f"invalid --nameserver {text!r}: expected [IPv6]:PORT")
            port = _port(text, rest[1:])
    elif raw.count(":") == 1:
        host, _, digits = raw.partition(":")
        port = _port(text, digits)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InputError(f"invalid --nameserver {text!r}: expected IP, IP:PORT or [IPv6]:PORT") from None
    if not 0 < port < 65536:
        raise InputError(f"invalid --nameserver {text!r}: port out of range")
    return Nameserver(host, port)


def system_nameservers() -> list[Nameserver]:
    """The system resolver's nameservers (/etc/resolv.conf, or the OS configuration on Windows).

    `dns.resolver` is imported here only: it pulls in `dns.query` and, with it, an HTTP stack for
    DNS-over-HTTPS that a run given `--nameserver` never needs.
    """
    import dns.nameserver
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError) as exc:
        raise InputError(f"no system resolver configured ({exc}); pass --nameserver IP") from None
    out = []
    for ns in resolver.nameservers:
        if isinstance(ns, str):
            out.append(Nameserver(ns, resolver.port))
        elif isinstance(ns, dns.nameserver.Do53Nameserver):
            out.append(Nameserver(ns.address, ns.port))
    if not out:
        raise InputError("no system resolver configured; pass --nameserver IP")
    return out
