"""`mxprobe DOMAIN`: the main job. Flags in, Options and Target out, the scanner runs, a renderer prints."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from mxprobe.errors import InputError

# One probe asks ~300 mostly independent queries (every DNSBL at once): letting them all fly keeps the run as
# long as its longest dependency chain. A pool keeps a smaller window, shared by all its IPs.
PROBE_CONCURRENCY = 300
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
        list[str] | None,
        typer.Option(
            "--ip",
            metavar="IP|CIDR",
            help="The sending IP (default: this host's public IP). A CIDR, or several --ip, check a pool.",
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

    from mxprobe.dns import parse_nameserver
    from mxprobe.options import Options, validated
    from mxprobe.scanner import build_target, plan, run

    ips = list(ip or [])
    pool_mode = ip_file is not None or len(ips) > 1 or any("/" in i for i in ips)
    if concurrency is None:
        concurrency = POOL_CONCURRENCY if pool_mode else PROBE_CONCURRENCY
    if port is None:
        port = 465 if tls else 587 if auth else 25
    options = Options(
        nameservers=[parse_nameserver(n) for n in nameserver or []],
        timeout=timeout,
        concurrency=concurrency,
        rate=rate,
        strict=strict,
        only=list(check or []),  # comma lists and case are handled by validated()
        dnsbl_zones=list(dnsbl or []),
        dqs_key=dqs_key,
        dnsbl_only=dnsbl_only,
        dkim_selectors=list(dkim_selector or []),
        fetch=fetch,
        port=port,
        smtp_timeout=smtp_timeout,
        source=source,
        tls=tls,
        auth_user=auth,
        relay_test=relay_test,
    )
    validated(options)
    if pool_mode:
        from mxprobe.pool import run_pool_command

        ignored = [
            flag
            for flag, value in (("DOMAIN", domain), ("--helo", helo), ("--to", to), ("--mx", mx))
            if value
        ]
        if ignored:
            raise InputError(
                f"{', '.join(ignored)} do not apply to a pool: each IP is checked alone, with its PTR name "
                "as HELO (give --from for SPF)"
            )
        raise typer.Exit(run_pool_command(ips, ip_file, mail_from, options, as_json))
    target = build_target(
        domain, ip=ips[0] if ips else None, helo=helo, mail_from=mail_from, to=to or [], mx=mx, port=port
    )
    plan(target, options)  # impossible --check or handshake flags stop here, before any prompt
    if source is not None:
        from mxprobe.smtp import choose_source

        choose_source(source, None)  # a --source that is not an address of this host stops here, exit 2
    if auth:
        options.auth_password = _password()

    from mxprobe.render import stdout_may_close
    from mxprobe.render.report import Progress, render_json, render_text

    with Progress(enabled=sys.stderr.isatty()) as progress:
        report = asyncio.run(run(target, options, on_result=progress.advance))
    with stdout_may_close():
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
