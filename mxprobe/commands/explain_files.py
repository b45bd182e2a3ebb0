"""`mxprobe explain --file`: bounce messages read from files, directories, maildirs and mboxes.

One process reads them all, a message at a time (an mbox is split as it is read, never held whole), and
writes each failed recipient as it is found (JSON Lines with `--json`). A message that holds no failure says
which kind it is (a delivery report, an auto-reply, a feedback report, ...); `--summary` counts instead of
explaining. The CLI flags are parsed in commands/explain.py; this module is what it does with the files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import typer

from mxprobe import inputs
from mxprobe.errors import ExitCode, InputError
from mxprobe.render import clean

if TYPE_CHECKING:
    from mxprobe.bounce import Bounce
    from mxprobe.bounce.summary import BounceSummary
    from mxprobe.catalogue import Catalogue
    from mxprobe.render.explanation import ExplanationWriter
    from mxprobe.service.explain_check import Checker

# A delivered message (not a bounce): the message report writes it and returns the exit code. Arguments:
# the message, whether it was cut, and the file it came from in a folder run (None: given alone).
OnMessage = Callable[[bytes, bool, str | None], int]
_HEAD = 64 * 1024  # where the trace fields that make a delivered message are looked for
# The kinds said on stdout when a message holds no failure to explain: what it is, is the explanation.
_REPORTED = ("delivery-report", "auto-reply", "feedback", "delay", "receipt")


@dataclass
class _Run:
    cat: Catalogue
    writer: ExplanationWriter
    checker: Checker | None
    as_json: bool
    summary: BounceSummary | None = None
    folder: bool = False  # several inputs: results name their file
    written: int = 0
    messages: int = 0
    empty: list[tuple[str, Bounce]] = field(default_factory=list)  # messages without a failure
    on_message: OnMessage | None = None  # folder runs: the delivered-message report
    codes: list[int] = field(default_factory=list)  # exit codes of the message reports


def explain_stream(
    stream: BinaryIO, name: str, cat: Catalogue, writer: ExplanationWriter, checker: Checker | None, *,
    as_json: bool, summary: bool = False, on_message: OnMessage | None = None,
) -> None:  # fmt: skip
    """One input (a file or stdin) holding a bounce or an mbox of them."""
    run = _Run(cat, writer, checker, as_json, _summary() if summary else None)
    found = _parsed(name, inputs.messages(stream), cat)
    first = next(found, None)
    second = next(found, None)
    if first is not None and second is None and on_message is not None and first[2].kind == "message":
        raise typer.Exit(on_message(first[1].data, first[1].cut, None))
    for item in [x for x in (first, second) if x is not None]:
        _one(run, *item)
    for item in found:
        _one(run, *item)
    _finish(run, name)


def explain_paths(
    paths: Iterable[str], cat: Catalogue, writer: ExplanationWriter, checker: Checker | None, *,
    as_json: bool, summary: bool = False, on_message: OnMessage | None = None,
) -> int:  # fmt: skip
    """Several inputs, or a directory or maildir: every file read as a message or an mbox. A delivered
    message goes to `on_message` (its report); the exit code is theirs combined (1 any failed, 3 any could
    not be verified, else 0)."""
    run = _Run(cat, writer, checker, as_json, _summary() if summary else None, folder=True)
    run.on_message = on_message
    files = 0
    for path in inputs.paths(paths):
        files += 1
        try:
            with _open(path) as stream:
                for item in _parsed(_label(path), inputs.messages(stream), cat):
                    _one(run, *item)
        except OSError as exc:
            _note(f"cannot read {clean(path)}: {exc.strerror or exc}")
    if not files:
        raise InputError("no file found in the paths given")
    _finish(run, f"{files} files")
    failed = [c for c in run.codes if c in (ExitCode.FAILED, ExitCode.INCONCLUSIVE)]
    return min(failed, default=ExitCode.OK)


def _summary() -> BounceSummary:
    from mxprobe.bounce.summary import BounceSummary

    return BounceSummary()


def _open(path: str) -> Any:
    if path == "-":
        if sys.stdin is None:
            raise InputError("standard input is closed")
        from contextlib import nullcontext

        return nullcontext(sys.stdin.buffer)
    return Path(path).open("rb")


def _label(path: str) -> str:
    return "standard input" if path == "-" else path


def _parsed(
    name: str, messages: Iterator[inputs.Message], cat: Catalogue
) -> Iterator[tuple[str, inputs.Message, Bounce]]:
    from mxprobe import bounce

    for message in messages:
        found = bounce.parse(message.data, cat)
        if message.cut:
            size = inputs.MAX_MESSAGE // (1024 * 1024)
            found.notes.append(f"it is larger than {size} MiB: read the first part only")
        yield name, message, found


def _one(run: _Run, name: str, message: inputs.Message, found: Bounce) -> None:
    run.messages += 1
    where = name if message.index == 1 else f"{name}, message {message.index}"
    if run.on_message is not None and run.summary is None and _delivered(message, found):
        run.codes.append(run.on_message(message.data, message.cut, where))
        run.written += 1
        return
    reported = bool(found.recipients) or str(found.kind) in _REPORTED or run.folder or run.summary is not None
    for note in found.notes if reported else ():
        _note(f"{where}: {note}")
    if run.summary is not None:
        run.summary.add(found)
        return
    for failure in found.recipients:
        context = found.context(failure)
        if run.folder:
            context["file"] = name
        exp, checks = failure.explanation, None
        if run.checker is not None:
            from mxprobe.replies import named_address_domain, named_domain

            domain = named_domain(exp.text) or found.sender_domain or named_address_domain(exp.text)
            checks = run.checker.run(exp, ip=failure.sending_ip, domain=domain)
        run.writer.write(exp, bounce=context, checks=checks)
        run.written += 1
    if found.recipients:
        return
    if reported:
        from mxprobe.render.bounces import write_kind

        data = {"file": name, "message": message.index, "kind": str(found.kind), "format": found.format,
                "actions": sorted(set(found.other_actions)), "recipients": found.delayed,
                "notes": found.notes}  # fmt: skip
        write_kind(sys.stdout, where, data, as_json=run.as_json)
        run.written += 1
    else:
        run.empty.append((where, found))


def _delivered(message: inputs.Message, found: Bounce) -> bool:
    """An ordinary delivered message, whole (the report refuses a cut one: a DKIM body hash covers every
    byte), with the trace fields of one (a bare note stays a `message` kind line)."""
    if str(found.kind) != "message" or message.cut:
        return False
    from mxprobe import message as delivered

    return delivered.detect(message.data[:_HEAD].decode("utf-8", "replace"))


def _finish(run: _Run, name: str) -> None:
    if run.summary is not None:
        from mxprobe.render.bounces import write_summary

        if not run.messages:
            raise InputError(f"{name} holds no message")
        write_summary(sys.stdout, run.summary.to_dict(), as_json=run.as_json)
        return
    if not run.written:
        found = [b for _, b in run.empty]
        actions = clean(", ".join(sorted({a for b in found for a in b.other_actions})))  # the bounce's words
        others = f" (recipients {actions})" if actions else ""
        notes = "; ".join(dict.fromkeys(note for b in found for note in b.notes))
        skipped = sum(b.skipped for b in found if not b.structured)
        lines = f"; {skipped} lines without an SMTP reply" if skipped else ""
        notes = f"; {notes}" if notes else ""
        raise InputError(f"no failed recipient found in the bounce message {name}{others}{lines}{notes}")
    for where, empty in run.empty:
        for note in [*empty.notes, "no failed recipient in it"]:
            _note(f"{where}: {note}")
    if run.messages > 1 and not run.folder:
        _note(f"{name}: {run.messages} messages read (an mbox)")


def _note(text: str) -> None:
    sys.stdout.flush()
    print(f"mxprobe: note: {text}", file=sys.stderr)
