"""`mxprobe explain TEXT...` and `mxprobe explain -`: what SMTP replies mean, offline."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mxprobe import catalogue
from mxprobe.errors import InputError
from mxprobe.render.explanation import LANGS, ExplanationWriter, abbreviate, default_lang
from mxprobe.replies import ReplyScanner, read_lines


def explain(
    texts: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TEXT",
            help="SMTP replies to explain, or - to read stdin (a reply a line, a bounce, a mail log).",
            show_default=False,
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="en or zh (default: zh on a Chinese locale, else en).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per reply (JSON Lines).")] = False,
) -> None:
    """Explain SMTP replies: meaning, cause, advice, and the mxprobe command that checks the cause."""
    language = resolve_lang(lang)
    if not texts:
        raise InputError('give an SMTP reply, e.g. mxprobe explain "550 5.1.1 user unknown", or - for stdin')
    if "-" in texts and len(texts) > 1:
        raise InputError("- (standard input) cannot be combined with TEXT arguments")
    cat = load_catalogue()
    writer = ExplanationWriter(sys.stdout, language, as_json=as_json)
    if texts == ["-"]:
        _explain_stdin(cat, writer)
        return
    found = []
    for text in texts:
        if not text.strip():
            raise InputError('empty reply text: give a reply such as "550 5.1.1 user unknown"')
        exp = cat.explain(text)
        if exp is None:
            raise InputError(f"no SMTP reply found in: {abbreviate(text, 60)}")
        found.append(exp)
    for exp in found:
        writer.write(exp)


def _explain_stdin(cat: catalogue.Catalogue, writer: ExplanationWriter) -> None:
    if sys.stdin is None:
        raise InputError("standard input is closed")
    scanner = ReplyScanner()
    found = 0
    for line, reply in scanner.scan(read_lines(sys.stdin.buffer)):
        writer.write(cat.match(reply, line.strip()))
        found += 1
    if not found:
        if not scanner.lines:
            raise InputError("standard input is empty or blank: give SMTP replies, a bounce or a mail log")
        if scanner.binary:
            raise InputError("standard input looks like binary data: no SMTP reply found in it")
        raise InputError(f"no SMTP reply found in standard input ({scanner.lines} lines read)")
    if scanner.skipped:
        sys.stdout.flush()
        print(f"mxprobe: skipped {scanner.skipped} lines without an SMTP reply", file=sys.stderr)


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
