"""The AUTH credentials, and the scrubber that keeps the password out of everything the handshake records.

What mxprobe sends with the password (the AUTH PLAIN argument, the answers to 334 challenges) is recorded
as `********`. What a server says is scrubbed of every form in which it could echo the password back: the
password itself in any case and inside longer tokens; its base64 (standard and URL-safe, padded or not, and
the three alignments it can take inside a longer base64 text), the base64 of the PLAIN blob
(`\\0user\\0password`, RFC 4616); its hexadecimal; its URL-encoding. A long form is replaced where it
occurs. A form shorter than `SHORT` characters (a short password) would, replaced in place, leave a
guessable gap ("Postfi********"), so the whole line that holds it is withheld instead.

Only server text goes through `scrub`: mxprobe's own sentences are not the server's echo, and a password
that is a common word must not blank out the same word in the advice.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

from mxprobe.errors import InputError

REDACTED = "********"
SHORT = 8  # forms shorter than this withhold the whole line that holds them
_CORE = 8  # shortest base64 run worth hunting inside a longer base64 text


class Secrets:
    """The credentials of --auth. Refuses (InputError) a password that is not valid UTF-8, showing none
    of it: SMTP AUTH sends UTF-8 (RFC 4616), and bytes that cannot be sent cannot be tested."""

    def __init__(self, user: str | None, password: str | None) -> None:
        self.user = user or ""
        self.password = password or ""
        raw = utf8_credentials(self.user, self.password)
        forms = _forms(self.user, raw) if raw else set()
        self._long = _pattern({f for f in forms if len(f) >= SHORT})
        self._short = _pattern({f for f in forms if len(f) < SHORT})

    @property
    def withholds_lines(self) -> bool:
        """A form of the password is so short that the lines holding it are withheld whole."""
        return self._short is not None

    def plain(self) -> str:
        """The AUTH PLAIN argument (RFC 4616): base64 of NUL user NUL password."""
        return _b64(f"\0{self.user}\0{self.password}".encode())

    def login(self, text: str) -> str:
        """An answer to an AUTH LOGIN challenge: the user or the password in base64."""
        return _b64(text.encode())

    def scrub(self, text: str) -> str:
        """Server text without any form of the password (see the module docstring)."""
        if self._long is None and self._short is None:
            return text
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if self._short is not None and self._short.search(line):
                lines[i] = REDACTED
            elif self._long is not None:
                lines[i] = self._long.sub(REDACTED, line)
        return "\n".join(lines)


def utf8_credentials(user: str | None, password: str | None) -> bytes:
    """The password's UTF-8 bytes. InputError, showing none of either, when the user or the password is not
    valid UTF-8 (bytes of another encoding read from the environment arrive as lone surrogates)."""
    try:
        (user or "").encode("utf-8")
        return (password or "").encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            "the AUTH password (or user) is not valid UTF-8: AUTH sends UTF-8 (RFC 4616); set "
            "MXPROBE_PASSWORD in UTF-8"
        ) from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _forms(user: str, raw: bytes) -> set[str]:
    password = raw.decode("utf-8")
    forms = {password, raw.hex(), quote(password, safe=""), quote_plus(password, safe=""), quote(password)}
    blobs = [raw, f"\0{user}\0".encode() + raw, f"{user}\0".encode() + raw]
    for blob in blobs:
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(blob).decode("ascii").rstrip("="))
    for shift in range(3):  # the password at each alignment inside a longer base64 text
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0").decode("ascii")
        first = -(-shift * 8 // 6)  # the first character made of password bits only
        last = (shift + len(raw)) * 8 // 6  # the first character past them
        core = encoded[first:last]
        if len(core) >= _CORE:
            forms.update({core, core.replace("+", "-").replace("/", "_")})
    return {f for f in forms if f}


def _pattern(forms: set[str]) -> re.Pattern[str] | None:
    if not forms:
        return None
    ordered = sorted(forms, key=len, reverse=True)
    alternatives = "|".join(re.escape(f) for f in ordered)
    return re.compile(rf"(?:{alternatives})={{0,2}}", re.IGNORECASE)
