"""List keys (the Spamhaus DQS key, the Abusix key) travel inside query names; they never reach the report.

A server may echo a key back in any form (a TXT reason, an error text, a rewritten name), so the redactor
removes every form a key takes in text, not just the one we sent:

- the key in any case, and any run of at least `FRAGMENT` of its characters (a key cut short or inside a
  longer token is still a key);
- each character also as `%HH` (URL encoding) or `\\DDD` (a DNS presentation-format escape), mixed freely;
- its hexadecimal form, any case;
- its base64 (standard and URL-safe alphabets, with or without padding), at each of the three alignments it
  can take inside a longer base64 text.

`Redactor.deep` applies it to every string of a check's result, so no path from an answer to the output is
left out by accident.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Iterable
from dataclasses import fields, is_dataclass, replace
from functools import lru_cache
from typing import Any, TypeVar, cast

MASK = "<key>"
FRAGMENT = 8  # a run of this many key characters is masked wherever it appears

T = TypeVar("T")


def _char(c: str) -> str:
    """One key character, as itself, URL-encoded or DNS-escaped (matched case-insensitively)."""
    code = ord(c)
    return f"(?:{re.escape(c)}|%{code:02x}|\\\\{code:03d})"


def _base64_forms(key: bytes) -> list[str]:
    """The key's base64 at alignment 0, 1 and 2 inside a longer text: only the characters it alone decides."""
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + key).decode("ascii")
        lead = (shift * 8 + 5) // 6  # characters that mix in the bytes before the key
        core = encoded[lead : (shift + len(key)) * 8 // 6]  # the last partial one mixes in what follows
        if len(core) >= 4:
            forms += [core, core.replace("+", "-").replace("/", "_")]
    return forms


def _pattern(key: str) -> str:
    """Any run of at least FRAGMENT characters of the key (the whole key when shorter), longest first; and
    its hexadecimal form."""
    chars = [_char(c) for c in key]
    if len(key) <= FRAGMENT:
        runs = ["".join(chars)]
    else:
        runs = []
        for start in range(len(key) - FRAGMENT + 1):
            tail = ""
            for c in reversed(chars[start + FRAGMENT :]):
                tail = f"(?:{c}{tail})?"
            runs.append("".join(chars[start : start + FRAGMENT]) + tail)
    return "|".join([*runs, re.escape(key.encode("ascii").hex())])


@lru_cache(maxsize=16)
def _compiled(keys: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """(text forms, base64 forms) of these keys, compiled once per process."""
    if not keys:
        return None, None
    text = re.compile("|".join(_pattern(k) for k in keys), re.IGNORECASE)
    b64 = [re.escape(f) for k in keys for v in (k, k.upper()) for f in _base64_forms(v.encode("ascii"))]
    return text, re.compile("|".join(b64)) if b64 else None


class Redactor:
    """Masks every form of the given keys in a text; an empty key list leaves text as it is."""

    def __init__(self, keys: Iterable[str]) -> None:
        clean = {k.strip().lower() for k in keys if k and k.strip()}
        self.keys = tuple(sorted((k for k in clean if k.isascii()), key=len, reverse=True))
        self._text, self._b64 = _compiled(self.keys)

    def __call__(self, text: str) -> str:
        if self._text is None:
            return text
        if self._b64 is not None:
            text = self._b64.sub(MASK, text)
        return self._text.sub(MASK, text)

    def deep(self, value: T) -> T:
        """The same value with every string inside (dataclasses, dicts, lists, tuples) redacted."""
        return cast(T, _deep(value, self)) if self.keys else value


def _deep(value: Any, redact: Redactor) -> Any:
    if isinstance(value, enum.Enum):
        return value  # a StrEnum (a status, an id) is ours, never an echo
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_deep(k, redact): _deep(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v, redact) for v in value]
    if isinstance(value, tuple):
        return tuple(_deep(v, redact) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _deep(getattr(value, f.name), redact) for f in fields(value) if f.init}
        return replace(value, **changes)
    return value
