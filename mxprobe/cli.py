"""The command line: typer wiring only. Each command's body lives in `mxprobe/commands/`.

`mxprobe example.com` has no sub-command word: `DefaultGroup` routes a first argument that looks like a
domain (or an option) to `probe`, so `mxprobe --ip 192.0.2.1` and `mxprobe probe example.com` work too; a
first word that is neither (`mxprobe codez`, `mxprobe help`) is an error with a suggestion. Before the
command parses its flags, the config file is read into click's default_map and every option gets its
MXPROBE_* variable (mxprobe/config.py).
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import sys
from typing import Annotated, Any

import typer
import typer.core

from mxprobe import config
from mxprobe.__about__ import __version__
from mxprobe.commands.codes import codes
from mxprobe.commands.explain import EPILOG as EXPLAIN_EPILOG
from mxprobe.commands.explain import explain
from mxprobe.commands.probe import probe
from mxprobe.commands.schema import schema
from mxprobe.errors import ExitCode, InputError, OutputError

# "\b" keeps click from re-wrapping a paragraph, so each example stays on its own line.
EPILOG = (
    "\b\nExamples:\n"
    "  mxprobe example.com                        why would receivers refuse mail from example.com?\n"
    "  mxprobe example.com --ip 203.0.113.7 --helo mail.example.com\n"
    "  mxprobe --ip 203.0.113.7                   pre-deploy check of a new sending IP\n"
    "  mxprobe --ip 203.0.113.0/24 --json         a whole pool, JSON Lines\n"
    "  mxprobe example.com --to a@example.net     add a live SMTP handshake (never sends DATA)\n"
    "  mxprobe example.com -o report.html --format html   a report to attach to a ticket\n"
    '  mxprobe explain "550 MI:SPF 发信IP未被发送域的SPF许可"\n'
    "  mxprobe explain --summary - < /var/log/mail.log\n"
    "\n\b\nEvery option also comes from MXPROBE_<FLAG> (MXPROBE_NAMESERVER, MXPROBE_DQS_KEY, MXPROBE_LANG)\n"
    "or ~/.config/mxprobe/config.toml (--config FILE); a flag wins over the environment, which wins over\n"
    "the file.\n"
    "\n\b\nExit codes: 0 nothing failed; 1 a check failed or a recipient was refused;\n"
    "2 bad input or usage; 3 inconclusive (a check could not run and none failed);\n"
    "4 the output could not be written; 130 interrupted."
)

_OWN_OPTIONS = {"--help", "-h", "--version", "-V", "--install-completion", "--show-completion"}


def _looks_like_target(word: str) -> bool:
    """A domain has a dot; an IP is an IP. `codez` or `help` is neither: probably a mistyped command."""
    try:
        ipaddress.ip_address(word.strip("[]"))
    except ValueError:
        return "." in word.strip(".")
    return True


class DefaultGroup(typer.core.TyperGroup):
    """A group whose default command is `probe`: `mxprobe DOMAIN [OPTIONS]`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if first is not None and first not in self.commands and first not in _OWN_OPTIONS:
            if first.strip() and not first.startswith("-") and not _looks_like_target(first):
                raise InputError(_unknown_command(first, list(self.commands)))
            args = ["probe", *args]
        for command in self.commands.values():
            config.attach_env(command)
        if args and args[0] in self.commands:  # -V, --help, completion: no config file needed (nor broken)
            loaded = config.load(args, self.commands)
            ctx.default_map = loaded.default_map
            ctx.meta["mxprobe.config"] = loaded
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            typer.echo(f"mxprobe: error: {exc}", err=True)
            ctx.exit(ExitCode.USAGE)

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Usage errors (an unknown option, a bad value) as one line on stderr and exit 2, like bad input;
        click's default is a usage block of several lines."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **kwargs)
        try:
            result = super().main(args, prog_name, complete_var, False, **kwargs)
        except InputError as exc:  # raised while routing, before a command runs
            typer.echo(f"mxprobe: error: {exc}", err=True)
            sys.exit(ExitCode.USAGE)
        except Exception as exc:
            message, code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
            if message is None or not isinstance(code, int):
                raise
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `mxprobe`: the help is the answer
                typer.echo(message(), err=True)
            else:
                typer.echo(f"mxprobe: error: {message()} (see 'mxprobe --help')", err=True)
            sys.exit(code)
        sys.exit(result if isinstance(result, int) else 0)


def _unknown_command(word: str, commands: list[str]) -> str:
    shown = word if len(word) <= 40 else word[:39] + "…"
    if word.lower() in ("help", "h", "?"):
        hint = "mxprobe --help"
    else:
        close = difflib.get_close_matches(word.lower(), commands, n=1, cutoff=0.6)
        hint = f"mxprobe {close[0]}" if close else "mxprobe DOMAIN, or one of: " + ", ".join(commands)
    return f"{shown!r} is not a command, nor a domain to probe: did you mean '{hint}'?"


app = typer.Typer(
    cls=DefaultGroup,
    help=(
        "Tells a mail sender why their mail is refused, and proves it.\n\n\b\n"
        "  mxprobe DOMAIN [OPTIONS]    check a sending domain and IP (options: mxprobe probe --help)\n"
        "  mxprobe --ip IP [OPTIONS]   check a sending IP, or a pool (--ip CIDR)\n"
        "  mxprobe explain TEXT|-      explain SMTP replies, bounce messages, mail logs\n"
        "  mxprobe codes               list the reply-code catalogue"
    ),
    epilog=EPILOG,
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"mxprobe {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The group's own options (--version, shell completion); the commands do the work."""


app.command("probe", epilog=EPILOG, help="Check the root causes of SMTP refusals for a sending domain/IP.")(
    probe
)
app.command(
    "explain",
    epilog=EXPLAIN_EPILOG,
    help="Explain SMTP replies: meaning, cause, advice, and the check that proves it.",
)(explain)
app.command("codes", help="List the reply-code catalogue.")(codes)
app.command("schema", help="Print the JSON Schema of a command's --json output.")(schema)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: every error ends in one line and a documented exit code, never a traceback."""
    from mxprobe.render.output import finish_stdout, prepare_streams

    prepare_streams()
    try:
        app(args=argv, prog_name="mxprobe", standalone_mode=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 2
    except KeyboardInterrupt:
        print("mxprobe: interrupted", file=sys.stderr)
        code = ExitCode.INTERRUPTED
    except OutputError as exc:
        _say(f"mxprobe: error: cannot write the report: {exc.strerror or exc}")
        code = ExitCode.OUTPUT
    failed = finish_stdout()
    if failed is not None and code != ExitCode.OUTPUT:
        _say(f"mxprobe: error: cannot write the report: {failed}")
        code = ExitCode.OUTPUT
    sys.exit(code)


def _say(line: str) -> None:
    """One line on stderr, when stderr can still be written."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(line, file=sys.stderr, flush=True)
