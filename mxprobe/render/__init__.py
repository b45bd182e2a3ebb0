"""Renderers: they turn results into text for people and JSON for scripts, and never decide anything.

Text that came from outside (a server's reply, a DNS answer, stdin) is untrusted: renderers put it in
`rich.text.Text` objects (never parsed as markup) and pass it through `clean()`, so that escape sequences
and other controls are shown, not acted on by the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def clean(text: str) -> str:
    """Text safe for a terminal: every non-printable character as its Python escape (`\\x1b`)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _discard_stdout() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def stdout_may_close() -> Iterator[None]:
    """`mxprobe ... | head -1`: a reader that stops early is no error of the run, so the exit code stays the
    verdict's; the rest of the output goes nowhere instead of raising BrokenPipeError."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


def console(**options: Any) -> Console:
    """A rich Console for stdout that treats a closed pipe as above (rich's own answer is exit code 1)."""
    from rich.console import Console

    out = Console(**options)
    out.on_broken_pipe = _discard_stdout  # type: ignore[method-assign]
    return out
