"""`mxprobe explain`: what SMTP replies, bounce messages and mail logs mean, offline; `--check` proves it.

Input: TEXT arguments (one reply each: those that hold one are explained, each other one is an error line,
and the exit code is then 2), or a stream (`-` or `--file PATH`, `--file -` being stdin) whose first 64 KiB
tell what it is:
- a mail log (most lines start with a timestamp): the reply of each line, and each failed delivery that got
  none (a timeout) from its status code; or `--summary`, a table by cause and destination domain
  (mxprobe/maillog/);
- a bounce message (mail headers, a delivery-status report, or a known bounce's words): with a report one
  explanation per failed recipient, else one per recipient named, with the recipient's facts
  (mxprobe/bounce/; several files, a directory, a maildir or an mbox: commands/explain_files.py);
- anything else: each reply found in the lines, the lines without one counted.

`--check` runs the checks the explanation names (those that query DNS) on the IP and domain the reply or
the bounce names, through the scanner, and shows their results under the explanation; the exit code then
says whether the cause is confirmed (1), not (0), or could not be checked (3). Each distinct target is
checked once, at most `service.explain_check.MAX_TARGETS` per run (a log names thousands of clients). The
facts come from --ip/--helo/--from/--domain first (mxprobe/service/explain_check.py).

Without `--check` nothing here touches the network, and the DNS stack, `email` and rich stay unimported on
the TEXT path (cold start).
"""

from __future__ import annotations

import io
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import typer

from mxprobe import inputs
from mxprobe.commands import explain_files
from mxprobe.commands.flags import argument, option, with_flags
from mxprobe.errors import InputError

if TYPE_CHECKING:  # imported where used: `mxprobe --ip IP` imports this module but needs none of them
    from mxprobe import catalogue
    from mxprobe.render.explanation import ExplanationWriter
    from mxprobe.replies import Reply
    from mxprobe.service.explain_check import Checker

HEAD_LINES = 50  # lines looked at (with at most bounce.HEAD bytes) to tell a bounce, a log and replies apart
# "\b" keeps click from re-wrapping the paragraph: one example a line. (mxprobe/cli.py passes it as the
# epilog of `mxprobe explain --help`.)
EPILOG = (
    "\b\nExamples:\n"
    '  mxprobe explain "421 Refused. You have no reverse DNS entry"\n'
    '  mxprobe explain --lang zh "550 MI:SPF 发信IP未被发送域的SPF许可"        NetEase, in Chinese\n'
    '  mxprobe explain --check "550 5.7.1 Client host [203.0.113.7] blocked using zen.spamhaus.org"\n'
    "  mxprobe explain - < bounce.eml                    a bounce: one result per failed recipient\n"
    "  mxprobe explain --summary - < /var/log/mail.log   failures by cause and destination domain\n"
    "\n\b\nExit codes: 0 explained; 2 bad input (a TEXT without a reply); with --check 1 the cause is\n"
    "confirmed, 3 it could not be checked."
)


_FLAGS = [
    argument("texts", list[str] | None, None, metavar="TEXT",
             help="SMTP replies to explain, or - to read stdin (a reply a line, a bounce, a mail log)."),
    option("file", list[str] | None, None, "--file", metavar="PATH",
           help="Read bounces (.eml, an mbox, a directory, a maildir; repeatable), a mail log or any text "
           "(- for stdin)."),
    option("lang", str | None, None, "--lang", metavar="en|zh",
           help="en or zh (default: zh on a Chinese locale, else en)."),
    option("as_json", bool, False, "--json",
           help="One JSON object per reply (JSON Lines); --summary: one object."),
    option("summary", bool, False, "--summary",
           help="Mail logs: a table by cause and destination domain; bounces: failed recipients by cause, "
           "recipient domain and reporting MTA."),
    option("check", bool, False, "--check",
           help="Run the cause's checks on the IP/domain the reply names (uses DNS)."),
    option("nameserver", list[str] | None, None, "--nameserver", metavar="IP[:PORT]",
           help="With --check: resolver IP[:PORT] (repeatable; default: system)."),
    option("timeout", float | None, None, "--timeout", metavar="SECONDS",
           help="With --check: deadline of each check run, seconds."),
    option("ip", str | None, None, "--ip", metavar="IP",
           help="With --check: the sending IP (default: the one the reply names, else this host's)."),
    option("helo", str | None, None, "--helo", metavar="NAME",  # not a check id: a flag
           help="With --check: the HELO name (default: the one the reply names)."),
    option("mail_from", str | None, None, "--from", metavar="ADDRESS",
           help="With --check: the MAIL FROM (its domain is the sending domain)."),
    option("domain", str | None, None, "--domain", metavar="DOMAIN",
           help="With --check: the sending domain (default: the bounce's sender)."),
    option("config", str | None, None, "--config", metavar="FILE", help="Config file (MXPROBE_CONFIG)."),
    option("output", str | None, None, "-o", "--output", metavar="FILE",
           help="Write the explanations to FILE instead of standard output."),
]  # fmt: skip


_CHECK_ONLY = ("nameserver", "timeout", "ip", "helo", "mail_from", "domain")  # not a check id: flags


@with_flags(_FLAGS)
def explain(ctx: typer.Context, **given: Any) -> None:
    """Explain SMTP replies: meaning, cause, advice, and the mxprobe command that checks the cause."""
    import contextlib

    from mxprobe.render.output import open_output

    if not given["check"]:  # MXPROBE_NAMESERVER / config defaults for probes are not an error here
        for name in _CHECK_ONLY:
            source = getattr(ctx.get_parameter_source(name), "name", "")
            if source in ("ENVIRONMENT", "DEFAULT_MAP"):
                given[name] = None
    out = open_output(given.pop("output"))
    with contextlib.ExitStack() as stack:
        if out is not None:
            stack.enter_context(out)
            stack.enter_context(contextlib.redirect_stdout(out))
        _explain(**given)


def _explain(
    texts: list[str] | None,
    file: list[str] | None,
    lang: str | None,
    as_json: bool,
    summary: bool,
    check: bool,
    nameserver: list[str] | None,
    timeout: float | None,
    ip: str | None,
    helo: str | None,
    mail_from: str | None,
    domain: str | None,
    config: str | None,
) -> None:
    from mxprobe.render.explanation import ExplanationWriter
    from mxprobe.service import explain_check

    language = resolve_lang(lang)
    source = _source(texts, file)
    if summary and source is None:
        raise InputError("--summary reads a mail log or bounces: give them with --file PATH or - (stdin)")
    if summary and check:
        raise InputError("--summary and --check do not go together: --summary counts, --check proves")
    facts = (ip, helo, mail_from, domain)
    if not check and (nameserver or timeout is not None or any(f is not None for f in facts)):
        raise InputError("--nameserver, --timeout, --ip, --helo, --from and --domain are for --check")
    checker = None
    if check:
        checker = explain_check.create(nameserver or [], timeout, explain_check.Facts.given(*facts))
    cat = load_catalogue()
    writer = ExplanationWriter(sys.stdout, language, as_json=as_json, facts=_known(checker))
    if source is None:
        _explain_texts(texts or [], cat, writer, checker)
    elif len(source) > 1 or Path(source[0]).is_dir():  # a folder of bounces (commands/explain_files.py)
        hook = _message_hook("", language, checker, as_json=as_json)
        code = explain_files.explain_paths(
            source, cat, writer, checker, as_json=as_json, summary=summary, on_message=hook
        )
        if code and checker is None:
            raise typer.Exit(code)
    else:
        _explain_stream(source[0], cat, writer, checker, summary=summary, as_json=as_json)
    if checker is not None:
        sys.stdout.flush()
        for note in [*dict.fromkeys(checker.notes), checker.capped_note()]:
            if note:
                print(f"mxprobe: note: {note}", file=sys.stderr)
        raise typer.Exit(int(checker.exit_code))


def _known(checker: Checker | None) -> dict[str, str]:
    """The facts the user gave, for the suggested commands (no placeholder where a fact is known)."""
    if checker is None:
        return {}
    f = checker.facts
    return {k: v for k, v in (("ip", f.ip), ("domain", f.domain), ("helo-name", f.helo)) if v}


def _source(texts: list[str] | None, file: list[str] | None) -> list[str] | None:
    """The streams to read (`-` for stdin, paths, directories), or None for TEXT arguments."""
    if file:
        if texts:
            raise InputError("give TEXT arguments or --file, not both")
        if not all(f.strip() for f in file):
            raise InputError("--file needs a path (or - for standard input)")
        if file.count("-") > 1:
            raise InputError("--file - (standard input) can be given once")
        return file
    if not texts:
        raise InputError('give an SMTP reply, e.g. mxprobe explain "550 5.1.1 user unknown", or - for stdin')
    if "-" in texts:
        if len(texts) > 1:
            raise InputError("- (standard input) cannot be combined with TEXT arguments")
        return ["-"]
    return None


def _explain_texts(
    texts: list[str], cat: catalogue.Catalogue, writer: ExplanationWriter, checker: Checker | None
) -> None:
    """Each argument that holds a reply explained, in order; each other one an error line; then exit 2."""
    from mxprobe.render.explanation import abbreviate
    from mxprobe.service.explain_check import for_reply

    errors = []
    for text in texts:
        exp = cat.explain(text) if text.strip() else None
        if exp is None:
            errors.append(
                f"no SMTP reply found in: {abbreviate(text, 60)}"
                if text.strip()
                else 'empty reply text: give a reply such as "550 5.1.1 user unknown"'
            )
            continue
        writer.write(exp, checks=None if checker is None else for_reply(checker, exp))
    if errors:
        sys.stdout.flush()
        for error in errors[:-1]:
            print(f"mxprobe: error: {error}", file=sys.stderr)
        raise InputError(errors[-1])


# ------------------------------------------------------------------------------------------ streams


def _explain_stream(
    source: str,
    cat: catalogue.Catalogue,
    writer: ExplanationWriter,
    checker: Checker | None,
    *,
    summary: bool,
    as_json: bool,
) -> None:
    from mxprobe import bounce, maillog
    from mxprobe import message as delivered

    name = "standard input" if source == "-" else source
    with _open(source) as stream:
        head = _read_head(stream)
        text = head.decode("utf-8", "replace")
        is_log = maillog.looks_like_log(text)
        if summary and (is_log or not bounce.detect(text)):
            _summarise(_replayed(head, stream), name, cat, as_json=as_json, lang=writer.lang)
        elif not is_log and bounce.detect(text):
            on_message = _message_hook(name, writer.lang, checker, as_json=as_json)
            explain_files.explain_stream(
                _replayed(head, stream), name, cat, writer, checker, as_json=as_json, summary=summary,
                on_message=on_message if delivered.detect(text) else None,
            )  # fmt: skip
        elif is_log:
            _explain_log(_replayed(head, stream), name, cat, writer, checker)
        else:
            _explain_lines(_replayed(head, stream), name, cat, writer, checker)


def _message_hook(name: str, lang: str, checker: Checker | None, *, as_json: bool) -> explain_files.OnMessage:
    """A delivered message (issue 13): mxprobe/message/cli.py reports it and decides the exit. In a folder
    run the hook is given the file each message came from."""

    def on_message(data: bytes, cut: bool, file: str | None) -> int:
        from mxprobe.message import cli as message_cli

        return int(message_cli.explain(
            data, file or name, cut=cut, as_json=as_json, lang=lang, check=checker is not None,
            nameservers=checker.nameservers if checker else [],
            timeout=checker.timeout if checker else None, folder=file is not None,
        ))  # fmt: skip

    return on_message


def _open(source: str) -> AbstractContextManager[BinaryIO]:
    if source == "-":
        if sys.stdin is None:
            raise InputError("standard input is closed")
        return nullcontext(sys.stdin.buffer)  # not closed: the process may still read it
    try:
        return Path(source).open("rb")
    except OSError as exc:
        from mxprobe.render.explanation import abbreviate

        raise InputError(f"cannot read --file {abbreviate(source, 60)}: {exc.strerror or exc}") from None


def _read1(stream: BinaryIO, size: int) -> bytes:
    """What is there now, up to `size` bytes: a pipe that writes slowly is not waited on for more."""
    read1 = getattr(stream, "read1", stream.read)
    return bytes(read1(size))


def _read_head(stream: BinaryIO) -> bytes:
    """The first bytes, enough to tell the input's kind."""
    from mxprobe.bounce import HEAD

    head = b""
    while len(head) < HEAD and head.count(b"\n") < HEAD_LINES:
        chunk = _read1(stream, HEAD - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _replayed(head: bytes, stream: BinaryIO) -> BinaryIO:
    """The stream as if its head had not been read."""
    return io.BufferedReader(_Replay(head, stream), buffer_size=64 * 1024)


class _Replay(io.RawIOBase):
    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._head[: len(buffer)]
        if chunk:
            self._head = self._head[len(chunk) :]
        else:
            chunk = memoryview(_read1(self._rest, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _explain_lines(
    stream: BinaryIO, name: str, cat: catalogue.Catalogue, writer: ExplanationWriter, checker: Checker | None
) -> None:
    """A reply a line (or a log): each reply explained, the lines without one counted."""
    from mxprobe.replies import ReplyScanner
    from mxprobe.service.explain_check import for_reply

    scanner = ReplyScanner()
    found = 0
    for line, reply in scanner.scan(inputs.text_lines(stream)):
        exp = cat.match(reply, line.strip())
        writer.write(exp, checks=None if checker is None else for_reply(checker, exp))
        found += 1
    if not found:
        if not scanner.lines:
            raise InputError(f"{name} is empty or blank: give SMTP replies, a bounce or a mail log")
        if scanner.binary:
            raise InputError(f"{name} looks like binary data: no SMTP reply found in it")
        raise InputError(f"no SMTP reply found in {name} ({scanner.lines} lines read)")
    _note(writer.lang, "skipped", scanner.skipped)


def _explain_log(
    stream: BinaryIO, name: str, cat: catalogue.Catalogue, writer: ExplanationWriter, checker: Checker | None
) -> None:
    """A mail log, a line at a time: the replies of its delivery records (a failure that got no reply, such
    as a timeout, explained from its status code), else the reply the line holds; other lines counted."""
    from mxprobe.replies import MAX_LINE
    from mxprobe.service.explain_check import for_reply

    lines = used = delivered = 0
    for raw in inputs.text_lines(stream):
        line = raw[:MAX_LINE].strip()
        if not line:
            continue
        lines += 1
        found, sent = _log_replies(line)
        used += bool(found or sent)
        delivered += bool(sent and not found)
        for reply, relay, replied, record in found:
            exp = cat.match(reply, line, context=relay)
            checks = None if checker is None else for_reply(checker, exp)
            writer.write(exp, log=record, checks=checks, replied=replied)
    if not used:
        raise InputError(f"no SMTP reply and no failed delivery found in {name} ({lines} lines read)")
    _note(writer.lang, "skipped", lines - used)
    _note(writer.lang, "delivered", delivered)


def _log_replies(line: str) -> tuple[list[tuple[Reply, str, bool, dict[str, str] | None]], bool]:
    """(reply, relay host, whether the server replied, the record's facts) of each distinct failure of a log
    line, and whether the line told of a delivery (not shown: a log is mostly those)."""
    from mxprobe.maillog import parse_records, record_reply
    from mxprobe.replies import parse_line

    records = parse_records(line)
    if not records:
        reply = parse_line(line)
        return ([] if reply is None else [(reply, "", True, None)]), False
    found: dict[tuple[int, str, str], tuple[Reply, str, bool, dict[str, str] | None]] = {}
    delivered = False
    for record in records:
        if record.status == "delivered":
            delivered = True
            continue
        reply = parse_line(record.reply) if record.reply else None
        replied = reply is not None
        if reply is None:
            reply = record_reply(record)  # a stand-in from the record's status code
        facts = {"time": record.time, "queue_id": record.queue_id, "recipient": record.recipient,
                 "status": record.status, "relay": record.relay, "relay_ip": record.relay_ip,
                 "mta": record.mta}  # fmt: skip
        found.setdefault((reply.code, reply.enhanced, reply.text), (reply, record.relay, replied, facts))
    return list(found.values()), delivered


def _note(lang: str, key: str, count: int) -> None:
    """A count said on stderr after the results (`skipped`, `delivered`), in the output's language."""
    from mxprobe.render.explanation import note_text

    if count:
        sys.stdout.flush()
        print(f"mxprobe: {note_text(lang, key, count)}", file=sys.stderr)


def _summarise(
    stream: BinaryIO, name: str, cat: catalogue.Catalogue, *, as_json: bool, lang: str = "en"
) -> None:
    from mxprobe.maillog import LogReader, Summary
    from mxprobe.render.explanation import write_summary

    reader = LogReader()
    result = Summary(cat).add_all(reader.records(inputs.text_lines(stream)))
    if not result.records:
        hint = "--summary reads Postfix, Exim and Sendmail logs"
        if reader.lines:
            raise InputError(f"no mail delivery record found in {name} ({reader.lines} lines read): {hint}")
        raise InputError(f"{name} is empty or blank: {hint}")
    write_summary(result.to_dict(reader), sys.stdout, as_json=as_json, lang=lang)


def resolve_lang(lang: str | None) -> str:
    """The --lang value checked, or the locale's language."""
    from mxprobe.render.explanation import LANGS, default_lang

    if lang is None:
        return default_lang()
    if lang.lower() not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang.lower()


def load_catalogue() -> catalogue.Catalogue:
    """The catalogue, or a one-line error naming the broken file and entry (a packaging bug, not a crash)."""
    from mxprobe import catalogue

    try:
        return catalogue.default()
    except (catalogue.CatalogueError, FileNotFoundError) as exc:
        raise InputError(f"cannot load the reply catalogue: {exc}") from exc
