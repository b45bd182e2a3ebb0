"""`mxprobe DOMAIN...`: the main job. Flags in (here), Options and targets out (mxprobe/options.py,
mxprobe/service/probe.py), the scanner runs, a renderer draws (mxprobe/render/)."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any, TextIO

import typer

from mxprobe.commands.flags import argument, option, with_flags
from mxprobe.errors import InputError
from mxprobe.options import ProbeFlags

DNS = "DNS"
SMTP = "SMTP handshake"
OUT = "Output"


_FLAGS = [
    argument("domains", list[str] | None, None, metavar="[DOMAIN]...",
             help="Sending domains (the MAIL FROM / From: domain); each gets a report."),
    option("domain_file", str | None, None, "--domain-file", metavar="FILE",
           help="Sending domains, one a line (- for stdin)."),
    option("ip", list[str] | None, None, "--ip", metavar="IP|CIDR",
           help="The sending IP (default: this host's public IP). A CIDR, or several --ip, check a pool."),
    option("ip_file", str | None, None, "--ip-file", metavar="FILE", panel=DNS,
           help="Check a pool: one IP or CIDR per line."),
    option("helo", str | None, None, "--helo", metavar="NAME",  # not a check id: a flag
           help="The HELO/EHLO name (default: the IP's PTR name)."),
    option("mail_from", str | None, None, "--from", metavar="ADDRESS",
           help="The MAIL FROM address (default: postmaster@DOMAIN)."),
    option("to", list[str] | None, None, "--to", metavar="ADDRESS", panel=SMTP,
           help="Recipient for a live handshake (repeatable)."),
    option("mx", str | None, None, "--mx",  # not a check id: a flag
           metavar="HOST[:PORT]", panel=SMTP,
           help="SMTP server HOST[:PORT] to talk to."),
    option("port", int | None, None, "--port", metavar="PORT", panel=SMTP,
           help="SMTP port (default 25; 465 with --tls, 587 with --auth)."),
    option("smtp_timeout", float, 10.0, "--smtp-timeout", metavar="SECONDS", panel=SMTP,
           help="Seconds for one SMTP step (default 10)."),
    option("source", str | None, None, "--source", metavar="IP", panel=SMTP,
           help="Local address to connect from."),
    option("tls", bool, False, "--tls",  # not a check id: a flag
           panel=SMTP, help="Implicit TLS (port 465)."),
    option("auth", str | None, None, "--auth", metavar="USER", panel=SMTP,
           help="AUTH user; password from MXPROBE_PASSWORD, the config file or a prompt."),
    option("relay_test", bool, False, "--relay-test", panel=SMTP, help="Test whether the server relays."),
    option("nameserver", list[str] | None, None, "--nameserver", metavar="IP[:PORT]", panel=DNS,
           help="Resolver IP[:PORT] (repeatable; default: system)."),
    option("timeout", float, 15.0, "--timeout", metavar="SECONDS",
           help="Deadline of the whole run, seconds (default 15)."),
    option("dnsbl", list[str] | None, None, "--dnsbl",  # not a check id: a flag
           metavar="[domain:]ZONE", panel=DNS,
           help="Extra blocklist zone, domain:ZONE for a domain list (repeatable)."),
    option("dnsbl_only", bool, False, "--dnsbl-only", panel=DNS,
           help="Query only the --dnsbl zones, not the built-in list."),
    option("dqs_key", str | None, None, "--dqs-key", metavar="KEY", panel=DNS,
           help="Spamhaus DQS key; better from MXPROBE_DQS_KEY or the config file (- prompts)."),
    option("abusix_key", str | None, None, "--abusix-key", metavar="KEY", panel=DNS,
           help="Abusix Mail Intelligence key; better from MXPROBE_ABUSIX_KEY (- prompts)."),
    option("dkim_selector", list[str] | None, None, "--dkim-selector", metavar="SELECTOR", panel=DNS,
           help="DKIM selector (repeatable)."),
    option("fetch", bool, False, "--fetch", panel=DNS, help="Allow HTTPS fetches (MTA-STS policy)."),
    option("check", list[str] | None, None, "--check", metavar="ID",
           help="Run only these checks (repeatable; or comma-separated: ptr,fcrdns)."),
    option("concurrency", int | None, None, "--concurrency", metavar="N",
           help="DNS queries in flight (default 300 for one probe, 100 for a pool)."),
    option("rate", float, 0.0, "--rate", metavar="QPS", help="DNS queries per second (0: no cap)."),
    option("strict", bool, False, "--strict", help="Treat warnings as failures (exit 1)."),
    option("as_json", bool, False, "--json", panel=OUT, help="JSON for machines (short for --format json)."),
    option("output_format", str | None, None, "--format", metavar="text|json|md|html|csv", panel=OUT,
           help="Output format (csv: a pool, one row per IP)."),
    option("output", str | None, None, "-o", "--output", metavar="FILE", panel=OUT,
           help="Write the report to FILE instead of standard output."),
    option("lang", str | None, None, "--lang", metavar="en|zh", panel=OUT,
           help="en or zh (default: the locale)."),
    option("quiet", bool, False, "-q", "--quiet", panel=OUT, help="Print only the verdict line."),
    option("verbose", bool, False, "-v", "--verbose", panel=OUT,
           help="Show every flagged check's evidence and details."),
    option("config", str | None, None, "--config", metavar="FILE", panel=OUT,
           help="Config file (default: the user config dir's mxprobe/config.toml; MXPROBE_CONFIG)."),
]  # fmt: skip
_NOT_IN_POOL = ("helo", "to", "mx", "domain_file")  # not a check id: flags
_LISTS = {f.name for f in _FLAGS if f.type == list[str] | None}


@with_flags(_FLAGS)
def probe(ctx: typer.Context, **given: Any) -> None:
    """Check the root causes of SMTP refusals for a sending domain/IP."""
    flags = ProbeFlags(**{k: ([] if v is None and k in _LISTS else v) for k, v in given.items()})
    raise typer.Exit(run_probe(flags, ctx))


def run_probe(flags: ProbeFlags, ctx: typer.Context) -> int:
    """parse → options → service → render; the exit code."""
    from mxprobe import config
    from mxprobe.options import lang_option, probe_options
    from mxprobe.render.output import open_output
    from mxprobe.service import probe as service

    fmt, lang = flags.fmt, lang_option(flags.lang)
    flags.dqs_key = _secret(flags.dqs_key, "Spamhaus DQS key")
    flags.abusix_key = _secret(flags.abusix_key, "Abusix key")
    options = probe_options(flags)
    loaded = ctx.meta.get("mxprobe.config")
    origins = config.origins(ctx, getattr(loaded, "path", None))
    if flags.pool:
        for name in _NOT_IN_POOL:  # a default for single probes from env/config: no error in a pool
            if origins.get(name.replace("_", "-"), config.Origin("flag")).source != "flag":
                setattr(flags, name, [] if name == "to" else None)
        service.ignored_in_pool(flags)
        return _pool(flags, options, fmt, lang)
    if fmt == "csv":
        raise InputError("--format csv is for a pool (--ip CIDR, --ip-file): one row per IP")
    targets = service.targets(flags, options)
    _prepare_handshake(flags, options, getattr(loaded, "password", None))
    out = open_output(flags.output)
    info = service.run_info(options, origins, lang)
    try:
        return _render_all(targets, options, info, fmt, flags, out or sys.stdout)
    finally:
        if out is not None:
            out.close()


def _render_all(targets: list[Any], options: Any, info: Any, fmt: str, flags: ProbeFlags, out: TextIO) -> int:
    from mxprobe.render.output import writing
    from mxprobe.render.report import Progress
    from mxprobe.service import probe as service
    from mxprobe.service.plan import build

    codes: list[int] = []
    reports = []
    nameservers = [str(ns) for ns in options.nameservers]
    with Progress(enabled=sys.stderr.isatty() and not flags.quiet) as progress:
        for report in service.probe_all(targets, options, on_result=progress.advance):
            plan = build(report, info.lang, nameservers)
            codes.append(int(report.exit_code))
            if fmt in ("md", "html"):
                reports.append((report, plan))
                continue
            with writing(out):
                _write_one(
                    report, info, plan, fmt, flags, out, several=len(targets) > 1, first=len(codes) == 1
                )
    if reports:
        with writing(out):
            _write_document(reports, info, fmt, out)
    return int(service.combined_exit(codes))


def _write_one(
    report: Any, info: Any, plan: Any, fmt: str, flags: ProbeFlags, out: TextIO, *, several: bool, first: bool
) -> None:
    if fmt == "json":
        from mxprobe.render.document import report_dict, write_json

        write_json(report_dict(report, info, plan), out, lines=several)
        return
    from mxprobe.render.report import render_text

    if several and not first and not flags.quiet:
        out.write("\n")
    render_text(report, info, plan, out, verbose=flags.verbose, quiet=flags.quiet)


def _write_document(reports: list[Any], info: Any, fmt: str, out: TextIO) -> None:
    if fmt == "md":
        from mxprobe.render.md import render_md

        render_md(reports, info, out)
    else:
        from mxprobe.render.html import render_html

        render_html(reports, info, out)


def _pool(flags: ProbeFlags, options: Any, fmt: str, lang: str) -> int:
    """A pool (mxprobe/commands/pool.py runs and renders it); `-o FILE` takes its standard output."""
    import contextlib
    from pathlib import Path

    from mxprobe.commands.pool import run_pool_command
    from mxprobe.render.output import open_output

    if fmt not in ("text", "json", "csv"):
        raise InputError(f"--format {fmt} is for one report: a pool writes text, json or csv")
    ip_file = None if flags.ip_file is None else Path(flags.ip_file)
    out = open_output(flags.output)
    with contextlib.ExitStack() as stack:
        if out is not None:
            stack.enter_context(out)
            stack.enter_context(contextlib.redirect_stdout(out))
        return run_pool_command(flags.ip, ip_file, flags.mail_from, options, output=fmt, lang=lang)


def _prepare_handshake(flags: ProbeFlags, options: Any, config_password: str | None) -> None:
    if flags.source is not None:
        from mxprobe.smtp import choose_source

        choose_source(flags.source, None)  # a --source that is not an address of this host stops here, exit 2
    if flags.auth:
        from mxprobe.options import credentials

        options.auth_password = _password(config_password)
        credentials(options)  # a password not in UTF-8: exit 2 before any query


def _secret(value: str | None, what: str) -> str | None:
    """`--dqs-key -`: read the key from a prompt that does not echo (never from argv, where `ps` sees it)."""
    if value != "-":
        return value
    if not sys.stdin.isatty():
        raise InputError(f"{what} '-' prompts for it: run on a terminal, or set it in the environment")
    return getpass.getpass(f"{what}: ").strip()


def _password(config_password: str | None) -> str:
    """The AUTH password: from the environment, the config file, or a prompt that does not echo."""
    secret = os.environ.get("MXPROBE_PASSWORD") or config_password
    if secret:
        return secret
    if not sys.stdin.isatty():
        raise InputError("--auth needs a password: set MXPROBE_PASSWORD or run on a terminal to be prompted")
    return getpass.getpass("SMTP AUTH password: ")
