"""Every knob of a probe, in one place: the CLI fills it from flags, the Python API from keyword arguments."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mxprobe.errors import InputError

if TYPE_CHECKING:
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
    abusix_key: str | None = None  # Abusix Mail Intelligence key (--abusix-key); never printed
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
MIN_RATE = 0.1  # queries per second: below that a pool would outlive any deadline (1e-320 is a typo)


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
    from mxprobe import registry
    from mxprobe import target as validate
    from mxprobe.blocklist_options import KEY_OPTIONS, parse_zone_option, validate_key

    if not (0 < options.timeout <= MAX_SECONDS and 0 < options.smtp_timeout <= MAX_SECONDS):
        raise InputError(f"--timeout and --smtp-timeout take seconds between 0 and {MAX_SECONDS:g}")
    if not (0 < options.query_timeout <= MAX_SECONDS):
        raise InputError(f"query_timeout takes seconds between 0 and {MAX_SECONDS:g}")
    if options.concurrency < 1 or not (options.rate == 0 or MIN_RATE <= options.rate < math.inf):
        raise InputError(
            f"--concurrency must be at least 1 and --rate a number of queries per second from {MIN_RATE:g}"
            " (0: no cap)"
        )
    if not 0 < options.port < 65536:
        raise InputError(f"invalid --port {options.port}: must be 1-65535")
    given = _listed("--check", options.only)
    only = [c.strip().lower() for item in given for c in item.split(",") if c.strip()]
    if given and not only:
        raise InputError("--check needs check ids (ptr,fcrdns,...): an empty --check would run every check")
    known = [str(s.id) for s in registry.checks()]
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise InputError(f"unknown check id(s) {', '.join(unknown)}; known: {', '.join(known)}")
    options.only = list(dict.fromkeys(only))
    options.dkim_selectors = [
        validate.domain(s, "--dkim-selector") for s in _listed("--dkim-selector", options.dkim_selectors)
    ]
    for zone in _listed("--dnsbl", options.dnsbl_zones):
        parse_zone_option(zone)
    for name, key in (("dqs", options.dqs_key), ("abusix", options.abusix_key)):
        if key is not None:
            validate.reject_controls(KEY_OPTIONS[name], key)  # "KEY\n" is refused, not trimmed
            validate_key(key, KEY_OPTIONS[name])  # letters and digits only: no control character either
    if options.source is not None:
        options.source = validate.ip(options.source, "--source")
    credentials(options)
    return options


def credentials(options: Options) -> None:
    """Refuse AUTH credentials that are not valid UTF-8 before any query (InputError, none of them shown);
    the CLI calls it again once the password is read from the environment, the config file or a prompt."""
    if options.auth_user is not None or options.auth_password is not None:
        from mxprobe.smtp.scrub import utf8_credentials

        utf8_credentials(options.auth_user, options.auth_password)


FORMATS = ("text", "json", "md", "html")
PROBE_CONCURRENCY = 300  # one probe: every DNSBL at once, so the run lasts as long as its longest chain
POOL_CONCURRENCY = 100  # a pool keeps a smaller window, shared by all its IPs


@dataclass
class ProbeFlags:
    """The probe command's flags as parsed (mxprobe/commands/probe.py), before they become Options."""

    domains: list[str] = field(default_factory=list)
    domain_file: str | None = None
    ip: list[str] = field(default_factory=list)
    ip_file: str | None = None
    helo: str | None = None
    mail_from: str | None = None
    to: list[str] = field(default_factory=list)
    mx: str | None = None
    port: int | None = None
    smtp_timeout: float = 10.0
    source: str | None = None
    tls: bool = False
    auth: str | None = None
    relay_test: bool = False
    nameserver: list[str] = field(default_factory=list)
    timeout: float = 15.0
    dnsbl: list[str] = field(default_factory=list)
    dnsbl_only: bool = False
    dqs_key: str | None = None
    abusix_key: str | None = None
    dkim_selector: list[str] = field(default_factory=list)
    fetch: bool = False
    check: list[str] = field(default_factory=list)
    concurrency: int | None = None
    rate: float = 0.0
    strict: bool = False
    as_json: bool = False
    output_format: str | None = None
    output: str | None = None
    lang: str | None = None
    quiet: bool = False
    verbose: bool = False
    config: str | None = None

    @property
    def pool(self) -> bool:
        return self.ip_file is not None or len(self.ip) > 1 or any("/" in i for i in self.ip)

    @property
    def fmt(self) -> str:
        """--format, with --json as its short form (both at once must agree)."""
        fmt = (self.output_format or ("json" if self.as_json else "text")).strip().lower()
        if fmt not in FORMATS and fmt != "csv":
            raise InputError(
                f"--format must be one of {', '.join(FORMATS)} (csv for a pool), not {fmt[:20]!r}"
            )
        if self.as_json and fmt != "json":
            raise InputError(f"--json and --format {fmt} do not go together")
        return fmt


def probe_options(flags: ProbeFlags) -> Options:
    """The Options of a probe (or a pool) from its flags, validated (InputError, exit 2)."""
    from mxprobe.dns import parse_nameserver

    concurrency = flags.concurrency
    if concurrency is None:
        concurrency = POOL_CONCURRENCY if flags.pool else PROBE_CONCURRENCY
    port = flags.port if flags.port is not None else 465 if flags.tls else 587 if flags.auth else 25
    options = Options(
        nameservers=[parse_nameserver(n) for n in flags.nameserver],
        timeout=flags.timeout,
        concurrency=concurrency,
        rate=flags.rate,
        strict=flags.strict,
        only=list(flags.check),  # comma lists and case are handled by validated()
        dnsbl_zones=list(flags.dnsbl),
        dqs_key=flags.dqs_key,
        abusix_key=flags.abusix_key,
        dnsbl_only=flags.dnsbl_only,
        dkim_selectors=list(flags.dkim_selector),
        fetch=flags.fetch,
        port=port,
        smtp_timeout=flags.smtp_timeout,
        source=flags.source,
        tls=flags.tls,
        auth_user=flags.auth,
        relay_test=flags.relay_test,
    )
    return validated(options)


def lang_option(lang: str | None) -> str:
    """--lang checked (en, zh), or the locale's language (LC_ALL, LC_MESSAGES, LANG)."""
    from mxprobe.words import LANGS, locale_lang

    if lang is None or not lang.strip():
        return locale_lang()
    value = lang.strip().lower()
    if value not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang[:20]!r}")
    return value
