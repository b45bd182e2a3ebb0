"""What a probe is about, validated once at the edge: bad input stops here, before any query or connection.

Every function raises `InputError` with a one-line message; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TypedDict

import idna

from mxprobe.errors import InputError

_FORBIDDEN = {"\r": "CR", "\n": "LF", "\0": "NUL"}


def reject_controls(what: str, value: str) -> None:
    for char, name in _FORBIDDEN.items():
        if char in value:
            raise InputError(f"invalid {what}: contains a {name} character")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(f"invalid {what}: contains a control character")


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def domain(value: str, what: str = "domain") -> str:
    """A DNS name in ASCII (IDN labels go to punycode), lower case, without the trailing dot."""
    reject_controls(what, value)
    name = value.strip()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise InputError(f"invalid {what}: empty name")
    if " " in name or "\t" in name:
        raise InputError(f"invalid {what} {_short(value)!r}: contains white space")
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise InputError(f"invalid {what} {_short(value)!r}: this is an IP address, not a name")
    labels = name.split(".")
    ascii_labels = []
    for label in labels:
        if not label:
            raise InputError(f"invalid {what} {_short(value)!r}: empty label")
        if label.isascii():
            ascii_label = label.lower()
        else:
            try:
                ascii_label = idna.encode(label, uts46=True).decode("ascii")
            except idna.IDNAError as exc:
                raise InputError(f"invalid {what} {_short(value)!r}: {exc}") from None
        if len(ascii_label) > 63:
            raise InputError(f"invalid {what} {_short(value)!r}: a label is longer than 63 octets")
        if not all(c.isalnum() or c in "-_" for c in ascii_label):
            bad = _short(label, 30)
            raise InputError(f"invalid {what} {_short(value)!r}: label {bad!r} has invalid characters")
        if ascii_label.startswith("-") or ascii_label.endswith("-"):
            raise InputError(f"invalid {what} {_short(value)!r}: a label starts or ends with '-'")
        if ascii_label.startswith("xn--"):  # an A-label must decode (RFC 5891 section 5.4): xn--zz does not
            try:
                idna.decode(ascii_label)
            except (idna.IDNAError, UnicodeError):
                bad = _short(ascii_label, 30)
                raise InputError(f"invalid {what} {_short(value)!r}: {bad!r} is not valid punycode") from None
        ascii_labels.append(ascii_label)
    result = ".".join(ascii_labels)
    if len(result) > 253:
        raise InputError(f"invalid {what} {_short(value)!r}: longer than 253 octets")
    return result


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def ip(value: str, what: str = "IP address") -> str:
    """A unicast IPv4 or IPv6 address in canonical text form (brackets of an address literal are accepted).

    An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is the IPv4 address: that is what receivers see. The
    unspecified, multicast and "this network" addresses, and scoped ones (`fe80::1%eth0`), cannot send mail
    across the internet and have no reverse zone, so they stop here rather than fail a check.
    """
    reject_controls(what, value)
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text.lower().startswith("ipv6:"):
        text = text[5:]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InputError(f"invalid {what}: {_short(value)!r} is not an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            raise InputError(f"invalid {what} {_short(value)!r}: give the address without its zone (%...)")
        address = address.ipv4_mapped or address
    if address.is_unspecified or address.is_multicast or address in _THIS_NETWORK:
        raise InputError(f"invalid {what} {_short(value)!r}: not a unicast address a host can send from")
    return str(address)


def helo(value: str) -> str:
    """A HELO/EHLO name: an FQDN, or an address literal `[192.0.2.1]` / `[IPv6:2001:db8::1]`."""
    reject_controls("HELO name", value)
    text = value.strip()
    if text.startswith("["):
        if not text.endswith("]"):
            raise InputError(f"invalid HELO name {_short(value)!r}: unterminated address literal")
        inner = text[1:-1]
        if ":" in inner and not inner.lower().startswith("ipv6:"):
            raise InputError(
                f"invalid HELO name {_short(value)!r}: "
                f"an IPv6 literal is written [IPv6:{inner}] (RFC 5321 4.1.3)"
            )
        address = ip(text, "HELO address literal")
        return f"[IPv6:{address}]" if ":" in address else f"[{address}]"
    return domain(text, "HELO name")


def address(value: str, what: str = "address") -> str:
    """An envelope address (`user@domain`, `<user@domain>`, or `<>` as the null sender for MAIL FROM).

    The local part's syntax is email-validator's; the domain is checked by `domain()` (or as an address
    literal), because a diagnostic tool must accept the reserved names (`.test`, `.local`, `localhost`) that
    email-validator refuses for real mailboxes. The RFC 5321 limits (local part 64, domain 255, path 256) are
    SMTP's, so they are checked here. An IDN domain becomes punycode (SMTPUTF8 is a handshake choice).
    """
    reject_controls(what, value)
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if text == "":
        if what == "MAIL FROM":
            return ""
        raise InputError(f"invalid {what}: empty address")
    local, at, dom = text.rpartition("@")
    if not at or not local:
        raise InputError(f"invalid {what} {_short(value)!r}: expected local-part@domain")
    from email_validator import EmailNotValidError, validate_email

    try:
        local = validate_email(
            f"{local}@example.com", check_deliverability=False, allow_smtputf8=True
        ).local_part
    except EmailNotValidError as exc:
        raise InputError(f"invalid {what} {_short(value)!r}: {exc}") from None
    if dom.startswith("[") and dom.endswith("]"):
        literal = ip(dom, f"{what} address literal")
        dom = f"[IPv6:{literal}]" if ":" in literal else f"[{literal}]"
    else:
        dom = domain(dom, f"{what} domain")
    if len(local.encode()) > 64:
        raise InputError(f"invalid {what} {_short(value)!r}: local part longer than 64 octets (RFC 5321)")
    if len(dom) > 255:
        raise InputError(f"invalid {what} {_short(value)!r}: domain longer than 255 octets (RFC 5321)")
    result = f"{local}@{dom}"
    if len(result.encode()) + 2 > 256:
        raise InputError(f"invalid {what} {_short(value)!r}: path longer than 256 octets (RFC 5321)")
    return result


def host_port(value: str, default_port: int, what: str = "--mx") -> tuple[str, int]:
    """`HOST`, `HOST:PORT`, `IP`, `[IPv6]:PORT` for an SMTP target."""
    reject_controls(what, value)
    text = value.strip()
    port = default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InputError(f"invalid {what} {_short(value)!r}: missing ']'")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            port = _port(rest.removeprefix(":"), what, value)
        return ip(host, what), port
    if text.count(":") == 1:
        text, _, p = text.partition(":")
        port = _port(p, what, value)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return domain(text, what), port
    return ip(text, what), port  # 0.0.0.0 or a multicast address is no server to talk to


def _port(text: str, what: str, value: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:  # "²".isdigit() is True
        raise InputError(f"invalid {what} {_short(value)!r}: port must be 1-65535")
    return int(text)


def domain_of(addr: str) -> str:
    return addr.rpartition("@")[2]


# The JSON of a target ("from" is a Python keyword: hence the functional form).
TargetDict = TypedDict(
    "TargetDict",
    {
        "domain": str | None,
        "ip": str | None,
        "ip_source": str | None,
        "helo": str | None,  # not a check id: the HELO name
        "from": str | None,
    },
)


@dataclass
class Target:
    """A validated probe target. `ip_source` says how the sending IP was found (given, local, dns-whoami)."""

    domain: str | None = None
    ip: str | None = None
    ip_source: str | None = None
    helo: str | None = None
    mail_from: str | None = None
    to: list[str] = field(default_factory=list)
    mx: str | None = None
    port: int = 25

    def to_dict(self) -> TargetDict:
        return {
            "domain": self.domain,
            "ip": self.ip,
            "ip_source": self.ip_source,
            "helo": self.helo,  # not a check id: the HELO name
            "from": self.mail_from,
        }
