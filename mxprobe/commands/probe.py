"""`mxprobe DOMAIN`: the main job. Flags in, Options and Target out, the scanner runs, a renderer prints."""

from __future__ import annotations

import getpass
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from mxprobe.errors import InputError

# One probe asks ~300 mostly independent queries (every DNSBL at once): letting them all fly keeps the run as
# long as its longest dependency chain. A pool keeps a smaller window, shared by all its IPs.
PROBE_CONCURRENCY = 300
MAX_SECONDS = 3600.0  # a deadline longer than an hour is a typo, and nan/inf are never meant
POOL_CONCURRENCY = 100

DNS = "DNS"
SMTP = "SMTP handshake"
OUT = "Output"


def probe(
    domain: Annotated[
        str | None,
        typer.Argument(metavar="DOMAIN", help="The sending domain (the MAIL FROM / From: domain)."),
    ] = None,
    ip: Annotated[
        str | None,
        typer.Option(
            "--ip",
            metavar="IP|CIDR",
            help="The sending IP (default: this host's public IP). A CIDR checks a pool.",
        ),
    ] = None,
    ip_file: Annotated[
        Path | None,
        typer.Option(
            "--ip-file", metavar="FILE", help="Check a pool: one IP or CIDR per line.", rich_help_panel=DNS
        ),
    ] = None,
    helo: Annotated[
        str | None,
        typer.Option("--helo", metavar="NAME", help="The HELO/EHLO name (default: the IP's PTR name)."),
    ] = None,
    mail_from: Annotated[
        str | None,
        typer.Option("--from", metavar="ADDRESS", help="The MAIL FROM address (default: postmaster@DOMAIN)."),
    ] = None,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="ADDRESS",
            help="Recipient for a live handshake (repeatable).",
            rich_help_panel=SMTP,
        ),
    ] = None,
    mx: Annotated[
        str | None,
        typer.Option(
            "--mx", metavar="HOST[:PORT]", help="SMTP server HOST[:PORT] to talk to.", rich_help_panel=SMTP
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            metavar="PORT",
            help="SMTP port (default 25; 465 with --tls, 587 with --auth).",
            rich_help_panel=SMTP,
        ),
    ] = None,
    smtp_timeout: Annotated[
        float,
        typer.Option(
            "--smtp-timeout", metavar="SECONDS", help="Seconds for one SMTP step.", rich_help_panel=SMTP
        ),
    ] = 10.0,
    source: Annotated[
        str | None,
        typer.Option("--source", metavar="IP", help="Local address to connect from.", rich_help_panel=SMTP),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Implicit TLS (port 465).", rich_help_panel=SMTP)
    ] = False,
    auth: Annotated[
        str | None,
        typer.Option(
            "--auth",
            metavar="USER",
            help="AUTH user; password from MXPROBE_PASSWORD or a prompt.",
            rich_help_panel=SMTP,
        ),
    ] = None,
    relay_test: Annotated[
        bool, typer.Option("--relay-test", help="Test whether the server relays.", rich_help_panel=SMTP)
    ] = False,
    nameserver: Annotated[
        list[str] | None,
        typer.Option(
            "--nameserver",
            metavar="IP[:PORT]",
            help="Resolver IP[:PORT] (repeatable; default: system).",
            rich_help_panel=DNS,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Deadline of the whole run, seconds.")
    ] = 15.0,
    dnsbl: Annotated[
        list[str] | None,
        typer.Option(
            "--dnsbl",
            metavar="[domain:]ZONE",
            help="Extra blocklist zone, domain:ZONE for a domain list (repeatable).",
            rich_help_panel=DNS,
        ),
    ] = None,
    dnsbl_only: Annotated[
        bool,
        typer.Option(
            "--dnsbl-only", help="Query only the --dnsbl zones, not the built-in list.", rich_help_panel=DNS
        ),
    ] = False,
    dqs_key: Annotated[
        str | None,
        typer.Option(
            "--dqs-key", metavar="KEY", help="Spamhaus DQS key (use DQS zones).", rich_help_panel=DNS
        ),
    ] = None,
    dkim_selector: Annotated[
        list[str] | None,
        typer.Option(
            "--dkim-selector", metavar="SELECTOR", help="DKIM selector (repeatable).", rich_help_panel=DNS
        ),
    ] = None,
    fetch: Annotated[
        bool, typer.Option("--fetch", help="Allow HTTPS fetches (MTA-STS policy).", rich_help_panel=DNS)
    ] = False,
    check: Annotated[
        list[str] | None,
        typer.Option(
            "--check",
            metavar="ID",
            help="Run only these checks (repeatable; or comma-separated: ptr,fcrdns).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            metavar="N",
            help="DNS queries in flight (default 300 for one probe, 100 for a pool).",
        ),
    ] = None,
    rate: Annotated[
        float, typer.Option("--rate", metavar="QPS", help="DNS queries per second (0: no cap).")
    ] = 0.0,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as failures (exit 1).")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for machines.", rich_help_panel=OUT)
    ] = False,
) -> None:
    import asyncio

    from mxprobe import target as validate
    from mxprobe.dns import parse_nameserver
    from mxprobe.model import CHECKS
    from mxprobe.options import Options
    from mxprobe.scanner import build_target, run

    if not (0 < timeout <= MAX_SECONDS and 0 < smtp_timeout <= MAX_SECONDS):
        raise InputError(f"--timeout and --smtp-timeout take seconds between 0 and {MAX_SECONDS}")
    pool_mode = ip_file is not None or (ip is not None and "/" in ip)
    if concurrency is None:
        concurrency = POOL_CONCURRENCY if pool_mode else PROBE_CONCURRENCY
    if port is None:
        port = 465 if tls else 587 if auth else 25
    if not 0 < port < 65536:
        raise InputError(f"invalid --port {port}: must be 1-65535")
    if concurrency < 1 or not 0 <= rate < math.inf:
        raise InputError(
            "--concurrency must be at least 1 and --rate a number of queries per second (0: no cap)"
        )
    flags = {
        "--tls": tls,
        "--auth": auth is not None,
        "--relay-test": relay_test,
        "--source": source is not None,
    }
    handshake_flags = [flag for flag, given in flags.items() if given]
    if handshake_flags and not (to or mx is not None):
        raise InputError(
            f"{', '.join(handshake_flags)} apply to the SMTP handshake: give --to ADDRESS or --mx HOST"
        )
    check = [c.strip().lower() for item in check or [] for c in item.split(",") if c.strip()]
    unknown = sorted(set(check) - set(CHECKS))
    if unknown:
        raise InputError(f"unknown check id(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    from mxprobe.blocklists import parse_zone_option, validate_key

    for zone in dnsbl or []:
        parse_zone_option(zone)
    if dqs_key is not None:
        validate.reject_controls("--dqs-key", dqs_key)
        validate_key(dqs_key)
    options = Options(
        nameservers=[parse_nameserver(n) for n in nameserver or []],
        timeout=timeout,
        concurrency=concurrency,
        rate=rate,
        strict=strict,
        only=list(check or []),
        dnsbl_zones=list(dnsbl or []),
        dqs_key=dqs_key,
        dnsbl_only=dnsbl_only,
        dkim_selectors=[validate.domain(s, "--dkim-selector") for s in dkim_selector or []],
        fetch=fetch,
        port=port,
        smtp_timeout=smtp_timeout,
        source=source,
        tls=tls,
        auth_user=auth,
        relay_test=relay_test,
    )
    if pool_mode:
        from mxprobe.pool import run_pool_command

        raise typer.Exit(run_pool_command(ip, ip_file, mail_from, options, as_json))
    target = build_target(domain, ip=ip, helo=helo, mail_from=mail_from, to=to or [], mx=mx, port=port)
    if source is not None:
        from mxprobe.smtp import choose_source

        choose_source(source, None)  # a --source that is not an address of this host stops here, exit 2
    if auth:
        options.auth_password = _password()

    from mxprobe.render.report import Progress, render_json, render_text

    with Progress(enabled=sys.stderr.isatty()) as progress:
        report = asyncio.run(run(target, options, on_result=progress.advance))
    if as_json:
        render_json(report)
    else:
        render_text(report)
    raise typer.Exit(int(report.exit_code))


def _password() -> str:
    """The AUTH password: from the environment, or a prompt that does not echo. Never from argv."""
    secret = os.environ.get("MXPROBE_PASSWORD")
    if secret:
        return secret
    if not sys.stdin.isatty():
        raise InputError("--auth needs a password: set MXPROBE_PASSWORD or run on a terminal to be prompted")
    return getpass.getpass("SMTP AUTH password: ")
