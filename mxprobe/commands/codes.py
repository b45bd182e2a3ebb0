"""`mxprobe codes`: list the reply catalogue, optionally narrowed by cause, code or vendor tag."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mxprobe.commands.explain import load_catalogue, resolve_lang
from mxprobe.errors import InputError
from mxprobe.model import CAUSES


def codes(
    cause: Annotated[
        str | None, typer.Option("--cause", metavar="CAUSE", help="Only entries with this root cause.")
    ] = None,
    code: Annotated[
        int | None, typer.Option("--code", metavar="N", help="Only entries with this reply code.")
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", metavar="TAG", help="Only entries with this vendor tag (HL:REP).")
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", metavar="en|zh", help="en or zh (default: zh on a Chinese locale, else en)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array of catalogue entries.")] = False,
    config: Annotated[
        str | None, typer.Option("--config", metavar="FILE", help="Config file (MXPROBE_CONFIG).")
    ] = None,
) -> None:
    """List the reply-code catalogue."""
    from mxprobe.render.explanation import write_entries  # with the catalogue: only when listing it

    language = resolve_lang(lang)
    cause = None if cause is None else cause.strip().lower()  # like --tag: `--cause PTR` is `ptr`
    if cause is not None and cause not in CAUSES:
        raise InputError(f"unknown cause {cause!r}; valid causes: {', '.join(CAUSES)}")
    if code is not None and not 200 <= code <= 599:
        raise InputError(f"--code must be a reply code from 200 to 599, not {code}")
    selected = load_catalogue().select(cause=cause, code=code, tag=tag)
    if not selected and not as_json:
        print("mxprobe: no catalogue entry matches", file=sys.stderr)
        return
    write_entries(selected, language, sys.stdout, as_json=as_json)
