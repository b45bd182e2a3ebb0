"""Every knob of a probe, in one place: the CLI fills it from flags, the Python API from keyword arguments."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mxprobe.dns import Nameserver
from mxprobe.errors import InputError


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


MAX_SECONDS = 3600.0  # a deadline longer than an hour is a typo, and nan/inf are never meant


def _listed(name: str, value: object) -> list[str]:
    """A list option given as one string is a mistake the API must catch: "s1" is not ["s", "1"]."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InputError(f"{name} takes a list of strings, not {type(value).__name__}")
    if not all(isinstance(v, str) for v in value):
        raise InputError(f"{name} takes a list of strings")
    return list(value)


def validated(options: Options) -> Options:
    """Check and normalise every option once, for the CLI and the Python API alike (InputError, exit 2).

    `only` accepts comma-separated ids (`ptr,fcrdns`) in any case; DKIM selectors and extra blocklist zones
    are checked as DNS names; a DQS key as the letters and digits it must be.
    """
    from mxprobe import target as validate
    from mxprobe.blocklists import parse_zone_option, validate_key
    from mxprobe.model import CHECKS

    if not (0 < options.timeout <= MAX_SECONDS and 0 < options.smtp_timeout <= MAX_SECONDS):
        raise InputError(f"--timeout and --smtp-timeout take seconds between 0 and {MAX_SECONDS:g}")
    if not (0 < options.query_timeout <= MAX_SECONDS):
        raise InputError(f"query_timeout takes seconds between 0 and {MAX_SECONDS:g}")
    if options.concurrency < 1 or not 0 <= options.rate < math.inf:
        raise InputError(
            "--concurrency must be at least 1 and --rate a number of queries per second (0: no cap)"
        )
    if not 0 < options.port < 65536:
        raise InputError(f"invalid --port {options.port}: must be 1-65535")
    only = [
        c.strip().lower() for item in _listed("--check", options.only) for c in item.split(",") if c.strip()
    ]
    unknown = sorted(set(only) - set(CHECKS))
    if unknown:
        raise InputError(f"unknown check id(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    options.only = list(dict.fromkeys(only))
    options.dkim_selectors = [
        validate.domain(s, "--dkim-selector") for s in _listed("--dkim-selector", options.dkim_selectors)
    ]
    for zone in _listed("--dnsbl", options.dnsbl_zones):
        parse_zone_option(zone)
    if options.dqs_key is not None:
        validate.reject_controls("--dqs-key", options.dqs_key)
        validate_key(options.dqs_key)
    if options.source is not None:
        options.source = validate.ip(options.source, "--source")
    return options
