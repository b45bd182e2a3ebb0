"""The command line: typer wiring only. Each command's body lives in `mxprobe/commands/`.

`mxprobe example.com` has no sub-command word: `DefaultGroup` routes any first argument that is not a known
command to `probe`, so `mxprobe --ip 192.0.2.1` and `mxprobe probe example.com` work too.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
import typer.core

from mxprobe.__about__ import __version__
from mxprobe.commands.codes import codes
from mxprobe.commands.explain import EPILOG as EXPLAIN_EPILOG
from mxprobe.commands.explain import explain
from mxprobe.commands.probe import probe
from mxprobe.errors import ExitCode, InputError

# "\b" keeps click from re-wrapping a paragraph, so each example stays on its own line.
EPILOG = (
    "\b\nExamples:\n"
    "  mxprobe example.com                        why would receivers refuse mail from example.com?\n"
    "  mxprobe example.com --ip 203.0.113.7 --helo mail.example.com\n"
    "  mxprobe --ip 203.0.113.7                   pre-deploy check of a new sending IP\n"
    "  mxprobe --ip 203.0.113.0/24 --json         a whole pool, JSON Lines\n"
    "  mxprobe example.com --to a@example.net     add a live SMTP handshake (never sends DATA)\n"
    '  mxprobe explain "550 MI:SPF 发信IP未被发送域的SPF许可"\n'
    "  mxprobe explain --summary - < /var/log/mail.log\n"
    "\n\b\nExit codes: 0 nothing failed; 1 a check failed or a recipient was refused;\n"
    "2 bad input or usage; 3 inconclusive (a check could not run and none failed)."
)

_OWN_OPTIONS = {"--help", "-h", "--version", "--install-completion", "--show-completion"}


class DefaultGroup(typer.core.TyperGroup):
    """A group whose default command is `probe`: `mxprobe DOMAIN [OPTIONS]`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in _OWN_OPTIONS:
            args = ["probe", *args]
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
    add_completion=False,
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
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """The group's own options (--version); the commands do the work."""


app.command("probe", epilog=EPILOG, help="Check the root causes of SMTP refusals for a sending domain/IP.")(
    probe
)
app.command(
    "explain",
    epilog=EXPLAIN_EPILOG,
    help="Explain SMTP replies: meaning, cause, advice, and the check that proves it.",
)(explain)
app.command("codes", help="List the reply-code catalogue.")(codes)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: every error ends in one line and a documented exit code, never a traceback."""
    try:
        return app(args=argv, prog_name="mxprobe", standalone_mode=True)
    except KeyboardInterrupt:
        print("mxprobe: interrupted", file=sys.stderr)
        sys.exit(130)
