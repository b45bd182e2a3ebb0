"""A probe run for the CLI: the targets from the flags (several domains, or a domain file), each probed in
turn, and the facts about the run a report states (when it started, which resolver, where each setting came
from). Prints nothing."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypedDict

from mxprobe.config import SECRETS, Origin
from mxprobe.errors import ExitCode, InputError
from mxprobe.model import CheckResult
from mxprobe.options import Options, ProbeFlags
from mxprobe.report import Report
from mxprobe.target import Target

MAX_DOMAINS = 1000  # domains of one run (arguments and --domain-file together)
MAX_LINE = 1024  # bytes of one line of --domain-file


def utc_now() -> str:
    """`2026-12-05T04:30:00Z`: the one timestamp format of reports."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


class ResolverDict(TypedDict):
    nameservers: list[str]
    source: str  # flag | env | config | system


class RunDict(TypedDict):
    """The JSON keys a CLI run adds to a report: when it started, which resolver, where settings came from."""

    started_at: str  # UTC, ISO 8601, seconds: 2026-12-05T04:30:00Z
    resolver: ResolverDict
    settings: dict[str, dict[str, str]]  # option -> {"source": flag|env|config, "variable"?, "file"?}


@dataclass
class RunInfo:
    """What a report says about the run itself (new JSON keys: `started_at`, `resolver`, `settings`)."""

    started_at: str
    nameservers: list[str]
    resolver_source: str  # flag | env | config | system
    settings: dict[str, Origin] = field(default_factory=dict)
    lang: str = "en"

    def to_dict(self) -> RunDict:
        settings = {name: origin.to_dict() for name, origin in self.settings.items()}
        return {
            "started_at": self.started_at,
            "resolver": {"nameservers": self.nameservers, "source": self.resolver_source},
            "settings": settings,
        }


def run_info(options: Options, settings: dict[str, Origin], lang: str) -> RunInfo:
    """The resolver the run asks (the --nameserver given, else the system's) and the settings' origins."""
    from mxprobe.dns import system_nameservers

    if options.nameservers:
        servers = [str(ns) for ns in options.nameservers]
        origin = settings.get("nameserver")
        source = origin.source if origin is not None else "flag"
    else:
        try:
            servers = [str(ns) for ns in system_nameservers()]
        except InputError:
            servers = []
        source = "system"
    shown = {k: v for k, v in settings.items() if k.replace("-", "_") not in SECRETS or v.source != "flag"}
    return RunInfo(utc_now(), servers, source, shown, lang)


def read_domain_file(path: str) -> list[tuple[int, str]]:
    """One domain a line (`#` comments and blank lines skipped); bounded lines and count, read once."""
    name = "standard input" if path == "-" else path
    try:
        handle = open(0 if path == "-" else path, "rb", closefd=path != "-")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot read --domain-file {path[:60]}: {exc.strerror or exc}") from None
    found: list[tuple[int, str]] = []
    with handle:
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_LINE + 1), b""), 1):
            if len(raw) > MAX_LINE:
                raise InputError(f"--domain-file {name}, line {number}: longer than {MAX_LINE} bytes")
            line = raw.split(b"#", 1)[0].strip()
            if line:
                found.append((number, line.decode("utf-8", "replace")))
            if len(found) > MAX_DOMAINS:
                raise InputError(f"--domain-file {name}: more than {MAX_DOMAINS} domains")
    return found


def domains_of(flags: ProbeFlags) -> dict[str | None, str]:
    """The domains to probe, in order, each once, with where each was given (for error messages); {None: ""}
    for an IP-only probe."""
    found: dict[str | None, str] = {domain: "" for domain in flags.domains}
    if flags.domain_file is not None:
        for number, domain in read_domain_file(flags.domain_file):
            found.setdefault(domain, f"--domain-file line {number}: ")
    if len(found) > MAX_DOMAINS:
        raise InputError(f"at most {MAX_DOMAINS} domains in one run")
    return found or {None: ""}


def targets(flags: ProbeFlags, options: Options) -> list[Target]:
    """Every target validated before the first query (a bad domain on line 41 stops the run at once)."""
    from mxprobe.scanner import build_target, plan

    out = []
    for domain, where in domains_of(flags).items():
        try:
            target = build_target(
                domain,
                ip=flags.ip[0] if flags.ip else None,
                helo=flags.helo,
                mail_from=flags.mail_from,
                to=flags.to,
                mx=flags.mx,
                port=options.port,
            )
        except InputError as exc:
            raise InputError(f"{where}{exc}") from None
        plan(target, options)  # impossible --check or handshake flags stop here, before any prompt
        out.append(target)
    return out


def probe_all(
    found: list[Target], options: Options, on_result: Callable[[CheckResult], None] | None = None
) -> Iterator[Report]:
    """Each target probed in turn (one DNS layer and one deadline per target), as the reports come."""
    from mxprobe.scanner import run

    for target in found:
        yield asyncio.run(run(target, options, on_result=on_result))


def combined_exit(codes: list[int]) -> ExitCode:
    """Several reports: 1 when any failed, else 3 when any was inconclusive, else 0."""
    if ExitCode.FAILED in codes:
        return ExitCode.FAILED
    return ExitCode.INCONCLUSIVE if ExitCode.INCONCLUSIVE in codes else ExitCode.OK


def ignored_in_pool(flags: ProbeFlags) -> None:
    """A pool checks each IP alone: flags about one handshake or domain do not apply."""
    ignored = [
        flag
        for flag, value in (
            ("DOMAIN", flags.domains or flags.domain_file),
            ("--helo", flags.helo),
            ("--to", flags.to),
            ("--mx", flags.mx),
        )
        if value
    ]
    if ignored:
        raise InputError(
            f"{', '.join(ignored)} do not apply to a pool: each IP is checked alone, with its PTR name "
            "as HELO (give --from for SPF)"
        )
