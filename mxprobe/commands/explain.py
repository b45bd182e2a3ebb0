"""`mxprobe explain`: what SMTP replies, bounce messages and mail logs mean, offline; `--check` proves it.

Input: TEXT arguments (one reply each: those that hold one are explained, each other one is an error line,
and the exit code is then 2), or a stream (`-` or `--file PATH`, `--file -` being stdin) whose first 64 KiB
tell what it is:
- a mail log (most lines start with a timestamp): the reply of each line, and each failed delivery that got
  none (a timeout) from its status code; or `--summary`, a table by cause and destination domain
  (mxprobe/maillog.py);
- a bounce message (mail headers, a delivery-status report, or a known bounce's words): with a report one
  explanation per failed recipient, else one per recipient and distinct reply, with the recipient's facts
  (mxprobe/bounce.py);
- anything else: each reply found in the lines, the lines without one counted.

`--check` runs the checks the explanation names (those that query DNS) on the IP and domain the reply or
the bounce names, through the scanner, and shows their results under the explanation; the exit code then
says whether the cause is confirmed (1), not (0), or could not be checked (3). Each distinct target is
checked once, and at most `MAX_CHECK_TARGETS` targets per run (a log names thousands of clients).

Without `--check` nothing here touches the network, and the DNS stack, `email` and rich stay unimported on
the TEXT path (cold start).
"""

from __future__ import annotations

import io
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from mxprobe import catalogue
from mxprobe.errors import ExitCode, InputError
from mxprobe.render import clean
from mxprobe.render.explanation import LANGS, ExplanationWriter, abbreviate, default_lang
from mxprobe.replies import (
    MAX_LINE,
    ReplyScanner,
    named_address_domain,
    named_domain,
    named_helo,
    named_ip,
    parse_line,
    read_lines,
)

if TYPE_CHECKING:
    from mxprobe.bounce import Bounce
    from mxprobe.catalogue import Explanation
    from mxprobe.dns import Nameserver
    from mxprobe.model import CheckResult
    from mxprobe.replies import Reply

HEAD_LINES = 50  # lines looked at (with at most bounce.HEAD bytes) to tell a bounce, a log and replies apart
MAX_CHECK_TARGETS = 16
_MISSING = {"ip": ("sending IP", "mxprobe --ip IP"), "domain": ("sending domain", "mxprobe DOMAIN")}
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


def explain(
    texts: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TEXT",
            help="SMTP replies to explain, or - to read stdin (a reply a line, a bounce, a mail log).",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file", metavar="PATH", help="Read a bounce (.eml), a mail log or any text (- for stdin)."
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", metavar="en|zh", help="en or zh (default: zh on a Chinese locale, else en)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per reply (JSON Lines); --summary: one object.")
    ] = False,
    summary: Annotated[
        bool, typer.Option("--summary", help="Mail logs: a table by cause and destination domain.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Run the cause's checks on the IP/domain the reply names (uses DNS)."),
    ] = False,
    nameserver: Annotated[
        list[str] | None,
        typer.Option(
            "--nameserver",
            metavar="IP[:PORT]",
            help="With --check: resolver IP[:PORT] (repeatable; default: system).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", metavar="SECONDS", help="With --check: deadline of each check run, seconds."
        ),
    ] = None,
) -> None:
    """Explain SMTP replies: meaning, cause, advice, and the mxprobe command that checks the cause."""
    language = resolve_lang(lang)
    source = _source(texts, file)
    if summary and source is None:
        raise InputError("--summary reads a mail log: give it with --file PATH or - (standard input)")
    if summary and check:
        raise InputError("--summary and --check do not go together: --summary counts, --check proves")
    if not check and (nameserver or timeout is not None):
        raise InputError("--nameserver and --timeout are for --check")
    checker = _Checker.create(nameserver or [], timeout) if check else None
    cat = load_catalogue()
    writer = ExplanationWriter(sys.stdout, language, as_json=as_json)
    if source is None:
        _explain_texts(texts or [], cat, writer, checker)
    else:
        _explain_stream(source, cat, writer, checker, summary=summary, as_json=as_json)
    if checker is not None:
        sys.stdout.flush()
        checker.report_capped()
        raise typer.Exit(int(checker.exit_code))


def _source(texts: list[str] | None, file: str | None) -> str | None:
    """The stream to read (`-` for stdin, or a path), or None for TEXT arguments."""
    if file is not None:
        if texts:
            raise InputError("give TEXT arguments or --file, not both")
        if not file.strip():
            raise InputError("--file needs a path (or - for standard input)")
        return file
    if not texts:
        raise InputError('give an SMTP reply, e.g. mxprobe explain "550 5.1.1 user unknown", or - for stdin')
    if "-" in texts:
        if len(texts) > 1:
            raise InputError("- (standard input) cannot be combined with TEXT arguments")
        return "-"
    return None


def _explain_texts(
    texts: list[str], cat: catalogue.Catalogue, writer: ExplanationWriter, checker: _Checker | None
) -> None:
    """Each argument that holds a reply explained, in order; each other one an error line; then exit 2."""
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
        writer.write(exp, checks=None if checker is None else checker.for_reply(exp))
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
    checker: _Checker | None,
    *,
    summary: bool,
    as_json: bool,
) -> None:
    from mxprobe import bounce, maillog

    name = "standard input" if source == "-" else source
    with _open(source) as stream:
        head = _read_head(stream)
        text = head.decode("utf-8", "replace")
        is_log = maillog.looks_like_log(text)
        if summary:
            if not is_log and bounce.detect(text):
                raise InputError(f"{name} is a bounce message, not a mail log: drop --summary")
            _summarise(_replayed(head, stream), name, cat, as_json=as_json)
        elif not is_log and bounce.detect(text):
            rest = stream.read(max(bounce.MAX_SIZE - len(head), 0))
            cut = bool(stream.read(1))
            found = [bounce.parse(message, cat) for message in bounce.split_mbox(head + rest)]
            _explain_bounces(found, name, writer, checker, cut=cut)
        elif is_log:
            _explain_log(_replayed(head, stream), name, cat, writer, checker)
        else:
            _explain_lines(_replayed(head, stream), name, cat, writer, checker)


def _open(source: str) -> AbstractContextManager[BinaryIO]:
    if source == "-":
        if sys.stdin is None:
            raise InputError("standard input is closed")
        return nullcontext(sys.stdin.buffer)  # not closed: the process may still read it
    try:
        return Path(source).open("rb")
    except OSError as exc:
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
    stream: BinaryIO, name: str, cat: catalogue.Catalogue, writer: ExplanationWriter, checker: _Checker | None
) -> None:
    """A reply a line (or a log): each reply explained, the lines without one counted."""
    scanner = ReplyScanner()
    found = 0
    for line, reply in scanner.scan(read_lines(stream)):
        exp = cat.match(reply, line.strip())
        writer.write(exp, checks=None if checker is None else checker.for_reply(exp))
        found += 1
    if not found:
        if not scanner.lines:
            raise InputError(f"{name} is empty or blank: give SMTP replies, a bounce or a mail log")
        if scanner.binary:
            raise InputError(f"{name} looks like binary data: no SMTP reply found in it")
        raise InputError(f"no SMTP reply found in {name} ({scanner.lines} lines read)")
    _note(writer.lang, "skipped", scanner.skipped)


def _explain_log(
    stream: BinaryIO, name: str, cat: catalogue.Catalogue, writer: ExplanationWriter, checker: _Checker | None
) -> None:
    """A mail log, a line at a time: the replies of its delivery records (a failure that got no reply, such
    as a timeout, explained from its status code), else the reply the line holds; other lines counted."""
    lines = used = delivered = 0
    for raw in read_lines(stream):
        line = raw[:MAX_LINE].strip()
        if not line:
            continue
        lines += 1
        found, sent = _log_replies(line)
        used += bool(found or sent)
        delivered += bool(sent and not found)
        for reply, relay, replied, record in found:
            exp = cat.match(reply, line, context=relay)
            checks = None if checker is None else checker.for_reply(exp)
            writer.write(exp, log=record, checks=checks, replied=replied)
    if not used:
        raise InputError(f"no SMTP reply and no failed delivery found in {name} ({lines} lines read)")
    _note(writer.lang, "skipped", lines - used)
    _note(writer.lang, "delivered", delivered)


def _log_replies(line: str) -> tuple[list[tuple[Reply, str, bool, dict[str, str] | None]], bool]:
    """(reply, relay host, whether the server replied, the record's facts) of each distinct failure of a log
    line, and whether the line told of a delivery (not shown: a log is mostly those)."""
    from mxprobe.maillog import parse_records, record_reply

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


def _explain_bounces(
    found: list[Bounce], name: str, writer: ExplanationWriter, checker: _Checker | None, *, cut: bool
) -> None:
    """Each failed recipient of each message (an mbox holds several); a message without one is a note."""
    from mxprobe.bounce import MAX_SIZE

    if cut:
        found[-1].notes.append(f"it is larger than {MAX_SIZE // (1024 * 1024)} MiB: read the first part only")
    if not any(b.recipients for b in found):
        actions = clean(", ".join(sorted({a for b in found for a in b.other_actions})))  # the bounce's words
        others = f" (recipients {actions})" if actions else ""
        notes = "; ".join(note for b in found for note in b.notes)
        skipped = sum(b.skipped for b in found if not b.structured)
        lines = f"; {skipped} lines without an SMTP reply" if skipped else ""
        notes = f"; {notes}" if notes else ""
        raise InputError(f"no failed recipient found in the bounce message {name}{others}{lines}{notes}")
    several = len(found) > 1
    for index, message in enumerate(found, 1):
        where = f"{name}, message {index} of {len(found)}" if several else name
        if not message.recipients:
            message.notes.append("no failed recipient in it")
        for note in message.notes:
            print(f"mxprobe: note: {where}: {note}", file=sys.stderr)
        for failure in message.recipients:
            exp = failure.explanation
            checks = None
            if checker is not None:
                domain = named_domain(exp.text) or message.sender_domain or named_address_domain(exp.text)
                checks = checker.run(exp, ip=failure.sending_ip, domain=domain)
            writer.write(exp, bounce=message.context(failure), checks=checks)
    if several:
        sys.stdout.flush()
        print(f"mxprobe: note: {name}: {len(found)} messages read (an mbox)", file=sys.stderr)


def _summarise(stream: BinaryIO, name: str, cat: catalogue.Catalogue, *, as_json: bool) -> None:
    from mxprobe.maillog import LogReader, Summary
    from mxprobe.render.explanation import write_summary

    reader = LogReader()
    result = Summary(cat).add_all(reader.records(read_lines(stream)))
    if not result.records:
        hint = "--summary reads Postfix, Exim and Sendmail logs"
        if reader.lines:
            raise InputError(f"no mail delivery record found in {name} ({reader.lines} lines read): {hint}")
        raise InputError(f"{name} is empty or blank: {hint}")
    write_summary(result.to_dict(reader), sys.stdout, as_json=as_json)


# ------------------------------------------------------------------------------------------- --check


class _Checker:
    """Runs the DNS checks an explanation names, once per distinct target, and keeps the verdict."""

    def __init__(self, nameservers: list[Nameserver], timeout: float) -> None:
        from mxprobe.checks import REGISTRY

        self._nameservers = nameservers
        self._timeout = timeout
        self._needs = {spec.id: spec.needs for spec in REGISTRY if spec.needs in ("ip", "domain")}
        self._done: dict[tuple[str | None, str | None, str | None, tuple[str, ...]], list[CheckResult]] = {}
        self.failed = False
        self.inconclusive = False
        self.capped = 0

    @classmethod
    def create(cls, nameservers: list[str], timeout: float | None) -> _Checker:
        from mxprobe.dns import parse_nameserver

        if timeout is not None and timeout <= 0:
            raise InputError("--timeout must be positive")
        return cls([parse_nameserver(n) for n in nameservers], 15.0 if timeout is None else timeout)

    @property
    def exit_code(self) -> ExitCode:
        if self.failed:
            return ExitCode.FAILED
        return ExitCode.INCONCLUSIVE if self.inconclusive else ExitCode.OK

    def for_reply(self, exp: Explanation) -> list[CheckResult]:
        """The checks of a reply given as text or found in a line: the IP and domain are the reply's own."""
        domain = named_domain(exp.input) or named_address_domain(exp.text)
        return self.run(exp, ip=named_ip(exp.text), domain=domain, helo=named_helo(exp.input))

    def run(
        self, exp: Explanation, *, ip: str | None, domain: str | None, helo: str | None = None
    ) -> list[CheckResult]:
        from mxprobe.model import CheckResult, Status

        wanted = [c for c in exp.checks if c in self._needs]
        if not wanted:
            return []
        target_ip, target_domain, target_helo = self._validated(ip, domain, helo)
        needs_ip = {c for c in wanted if self._needs[c] == "ip" or c == "spf"}  # spf: SPF of *this* IP
        needs_domain = {c for c in wanted if self._needs[c] == "domain"}
        runnable, missing = [], []
        for check_id in wanted:
            if (check_id in needs_ip and not target_ip) or (check_id in needs_domain and not target_domain):
                missing.append(check_id)
            else:
                runnable.append(check_id)
        results: list[CheckResult] = []
        if runnable:
            key = (target_ip, target_domain if needs_domain & set(runnable) else None, target_helo,
                   tuple(runnable))  # fmt: skip
            if key not in self._done:
                if len(self._done) >= MAX_CHECK_TARGETS:
                    self.capped += 1
                    self.inconclusive = True
                    return []
                self._done[key] = self._probe(key[0], key[1], key[2], runnable)
            results = list(self._done[key])
        for check_id in missing:
            what, command = _MISSING["ip" if target_ip is None and check_id in needs_ip else "domain"]
            summary = f"not run: the reply names no {what}"
            results.append(CheckResult(check_id, Status.SKIP, summary, fix=f"run `{command}` with it"))
        statuses = {r.status for r in results}
        self.failed |= Status.FAIL in statuses
        self.inconclusive |= bool(missing) or Status.ERROR in statuses
        return results

    def _validated(
        self, ip: str | None, domain: str | None, helo: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """What the text names, validated as the probe command validates input; an invalid part is dropped."""
        from mxprobe import target

        def valid(check: Any, value: str | None) -> str | None:
            if value is None:
                return None
            try:
                return str(check(value))
            except InputError:
                return None

        return valid(target.ip, ip), valid(target.domain, domain), valid(target.helo, helo)

    def _probe(
        self, ip: str | None, domain: str | None, helo: str | None, checks: list[str]
    ) -> list[CheckResult]:
        import asyncio

        from mxprobe.options import Options
        from mxprobe.scanner import build_target, run

        # Only what the reply names is checked: never this host's own IP.
        options = Options(
            nameservers=self._nameservers, timeout=self._timeout, only=checks, discover_ip=False
        )
        report = asyncio.run(run(build_target(domain, ip=ip, helo=helo), options))
        return [c for c in report.checks if c.id in checks]

    def report_capped(self) -> None:
        if self.capped:
            print(
                f"mxprobe: note: --check checked the first {MAX_CHECK_TARGETS} targets; "
                f"{self.capped} replies naming others were not checked",
                file=sys.stderr,
            )


def resolve_lang(lang: str | None) -> str:
    """The --lang value checked, or the locale's language."""
    if lang is None:
        return default_lang()
    if lang.lower() not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang.lower()


def load_catalogue() -> catalogue.Catalogue:
    """The catalogue, or a one-line error naming the broken file and entry (a packaging bug, not a crash)."""
    try:
        return catalogue.default()
    except (catalogue.CatalogueError, FileNotFoundError) as exc:
        raise InputError(f"cannot load the reply catalogue: {exc}") from exc
