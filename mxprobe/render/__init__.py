"""Renderers: they turn results into text for people and JSON for scripts, and never decide anything.

Text that came from outside (a server's reply, a DNS answer, stdin) is untrusted: renderers put it in
`rich.text.Text` objects (never parsed as markup) and pass it through `clean()`, so that escape sequences
and other controls are shown, not acted on by the terminal.
"""

from __future__ import annotations


def clean(text: str) -> str:
    """Text safe for a terminal: every non-printable character as its Python escape (`\\x1b`)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
