"""Every knob of a probe, in one place: the CLI fills it from flags, the Python API from keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from mxprobe.dns import Nameserver


@dataclass
class Options:
    nameservers: list[Nameserver] = field(default_factory=list)  # empty: the system resolver
    timeout: float = 15.0  # deadline of the whole run, seconds
    query_timeout: float = 2.5  # one DNS query to one nameserver
    concurrency: int = 300  # DNS queries in flight (the CLI uses 100 for a pool)
    rate: float = 0.0  # DNS queries per second, 0 = no cap
    strict: bool = False  # a warning fails the run
    only: list[str] = field(default_factory=list)  # check ids to run (empty: all that apply)
    discover_ip: bool = True  # find this host's public IP when none is given (explain --check: no)
    # DNSBL / DBL
    dnsbl_zones: list[str] = field(default_factory=list)  # extra zones (--dnsbl)
    dqs_key: str | None = None  # Spamhaus Data Query Service key (--dqs-key)
    dnsbl_only: bool = False  # use only the --dnsbl zones, not checks/dnsbl.toml (--dnsbl-only)
    # DKIM / MTA-STS
    dkim_selectors: list[str] = field(default_factory=list)
    fetch: bool = False  # allow HTTPS fetches (MTA-STS policy)
    https_port: int = 443  # where MTA-STS policies are fetched (tests point it at a loopback server)
    # SMTP handshake
    port: int = 25
    smtp_timeout: float = 10.0  # one SMTP step (connect+banner, or one command)
    source: str | None = None  # local address to bind
    tls: bool = False  # implicit TLS (port 465)
    auth_user: str | None = None
    auth_password: str | None = None  # from MXPROBE_PASSWORD or a prompt; never printed
    relay_test: bool = False
