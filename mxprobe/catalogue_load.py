"""Reading the reply catalogue's files: the entry type, validation, and the cache of the parsed TOML.

`mxprobe.catalogue` compiles and matches what this module returns; this module knows nothing of matching.
checks/README.md describes every field of an entry.

The cache: parsing 500 KB of TOML is most of `mxprobe explain`'s start-up, and a marshal copy loads ~30x
faster. It is a convenience, never an authority: a cache file that is not a regular file of this user (a FIFO,
a directory, a link to another user's file), that is empty, too large, of another shape or holds entries that
do not validate is ignored (never waited on: it is opened without blocking) and the TOML parsed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import stat
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mxprobe.__about__ import __version__
from mxprobe.model import CAUSES, CHECKS, PHASES, REPLY_CLASSES

__all__ = ["CatalogueError", "Entry", "Text", "load_entries"]

KEYWORD_CLASS = "failure"  # keyword entries fit any 4xx/5xx reply: the reply's code gives the class
_MAX_CACHE = 64 * 1024 * 1024  # bytes: the catalogue's marshal copy is ~1 MB
_ID = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")  # dots: ids may quote an enhanced code (gmail-4.7.0-...)
_ENHANCED = re.compile(r"[245X]\.[0-9]{1,3}\.[0-9]{1,3}")
PLACEHOLDER = re.compile(r"\[[a-z0-9_\- ]+\]")
# What may be a vendor tag: every catalogue tag must be one such token. In a reply, a token inside a dotted
# name or an address (`ts01.example.com`, `5.7.1`, `<ts01@example.net>`) is no tag.
TOKEN = re.compile(r"[a-z0-9_]+(?:[:\-][a-z0-9_]+)*")
_TAG_WRAPPERS = "[]()"
_ENHANCED_CLASSES = {"2": "success", "4": "transient", "5": "permanent"}
# A keyword: words of letters and digits (joined by `-` or `:` inside a word) separated by single spaces, the
# last one optionally ending in `*`; or a phrase (another script, an apostrophe, a dotted name) matched as is.
KEYWORD = re.compile(r"[a-z0-9_]+(?:[:\-][a-z0-9_]+)*(?: [a-z0-9_]+(?:[:\-][a-z0-9_]+)*)*\*?")
_STRENGTHS = ("names", "hints")


class CatalogueError(ValueError):
    """A catalogue file is broken: the message names the file and the entry so a reviewer can fix it."""


@dataclass(frozen=True, slots=True)
class Text:
    """A text in English and in Chinese."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def to_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalogue entry, as written in its file (checks/README.md describes each field)."""

    id: str
    code: int  # 0 only for a fallback that carries just an enhanced code, and for keyword entries
    enhanced: str
    tag: str
    pattern: str
    phase: tuple[str, ...]
    class_: str
    cause: str
    checks: tuple[str, ...]
    generic: bool
    source: str
    meaning: Text
    advice: Text
    file: str  # the file it came from, relative to checks/
    keywords: tuple[str, ...] = ()  # keyword entries: words that name the cause in any 4xx/5xx reply
    markers: tuple[str, ...] = ()  # provider entries: one must occur with the reply for the pattern to count
    strength: str = "names"  # keyword entries: "hints" when the words suggest the cause without naming it

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "enhanced": self.enhanced,
            "tag": self.tag,
            "pattern": self.pattern,
            "phase": list(self.phase),
            "class": self.class_,
            "cause": self.cause,
            "checks": list(self.checks),
            "generic": self.generic,
            "source": self.source,
            "meaning": self.meaning.to_dict(),
            "advice": self.advice.to_dict(),
            "keywords": list(self.keywords),
            "markers": list(self.markers),
            "file": self.file,
        }


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def pieces(pattern: str) -> tuple[str, ...]:
    """A pattern's literal pieces, in order, lower case with one space per run of white space."""
    return tuple(p for p in (s.strip() for s in PLACEHOLDER.split(normalise(pattern))) if p)


def tag_key(tag: str) -> str:
    return tag.strip(_TAG_WRAPPERS).lower()


# ------------------------------------------------------------------------------------------ reading


def load_entries(directory: Path) -> tuple[Entry, ...]:
    """Read and validate every `*.toml` in `directory` (files in name order, entries in file order)."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CatalogueError(f"{directory}: no catalogue files (*.toml)")
    cache_file = _cache_file(files)
    names = [f"{directory.name}/{path.name}" for path in files]
    cached = _read_cache(cache_file, names)
    if cached is not None:
        with contextlib.suppress(CatalogueError):
            return _entries(cached)  # a cache whose entries do not validate is parsed again, below
    documents = _parse(files, names)
    entries = _entries(documents)
    _write_cache(cache_file, documents)
    return entries


def _entries(documents: list[tuple[str, Any]]) -> tuple[Entry, ...]:
    seen: dict[str, str] = {}
    result: list[Entry] = []
    for name, document in documents:
        if not isinstance(document, dict):
            raise CatalogueError(f"{name}: not a TOML table")
        extra = set(document) - {"entry"}
        if extra:
            raise CatalogueError(
                f"{name}: unknown top-level keys {sorted(extra)}: entries are [[entry]] tables"
            )
        raw_entries = document.get("entry", [])
        if not isinstance(raw_entries, list):
            raise CatalogueError(f"{name}: `entry` must be an array of tables ([[entry]])")
        for index, raw in enumerate(raw_entries, 1):
            entry = _validated(raw, name, index)
            if entry.id in seen:
                raise CatalogueError(f"{name}: entry {entry.id!r}: duplicate id (also in {seen[entry.id]})")
            seen[entry.id] = name
            result.append(entry)
    return tuple(result)


def _parse(files: list[Path], names: list[str]) -> list[tuple[str, Any]]:
    documents = []
    for path, name in zip(files, names, strict=True):
        try:
            with path.open("rb") as f:
                documents.append((name, tomllib.load(f)))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CatalogueError(f"{name}: cannot read: {exc}") from exc
    return documents


def _cache_file(files: list[Path]) -> Path | None:
    """Where the parsed TOML of exactly these files (paths, sizes, modification times) is kept, if anywhere.

    The key covers every input, so an edited file is parsed again; MXPROBE_CACHE_DIR="" turns the cache off.
    """
    base = os.environ.get("MXPROBE_CACHE_DIR")
    if base is None:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mxprobe")
    if not base:
        return None
    try:
        stamp = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    except OSError:
        return None
    key = hashlib.sha256(repr((__version__, sys.version_info[:2], stamp)).encode()).hexdigest()[:24]
    return Path(base) / f"catalogue-{key}.marshal"


def _read_cache(cache_file: Path | None, names: list[str]) -> list[tuple[str, Any]] | None:
    """The cached documents, or None when the cache is absent or not to be trusted (module docstring)."""
    if cache_file is None:
        return None
    try:
        fd = os.open(cache_file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not 0 < info.st_size <= _MAX_CACHE:
            return None
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
            return None  # another user's file, or one others may write: not ours to believe
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(info.st_size + 1)  # what fstat said: a read(n) first allocates n bytes
        documents = marshal.loads(data)
    except (OSError, ValueError, EOFError, TypeError):
        return None  # unreadable, truncated, or written by another Python
    finally:
        os.close(fd)
    shaped = (
        isinstance(documents, list)
        and len(documents) == len(names)
        and all(
            isinstance(d, tuple) and len(d) == 2 and d[0] == name and isinstance(d[1], dict)
            for d, name in zip(documents, names, strict=False)
        )
    )
    return documents if shaped else None


def _write_cache(cache_file: Path | None, documents: list[tuple[str, Any]]) -> None:
    if cache_file is None:
        return
    with contextlib.suppress(OSError, ValueError):
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(marshal.dumps(documents))
        os.chmod(partial, 0o644)
        os.replace(partial, cache_file)  # atomic: a concurrent reader sees the old file or the new one


# ------------------------------------------------------------------------------------------ validation

_REQUIRED = ("id", "phase", "class", "cause", "checks", "source", "meaning", "advice")
_DEFAULTS: dict[str, Any] = {
    "code": 0, "enhanced": "", "tag": "", "pattern": "", "generic": False, "keywords": [], "markers": [],
    "strength": "names",
}  # fmt: skip


def _validated(raw: Any, name: str, index: int) -> Entry:
    where = f"{name}: entry #{index}"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: not a table")
    if isinstance(raw.get("id"), str):
        where = f"{name}: entry {raw['id']!r}"

    def fail(problem: str) -> CatalogueError:
        return CatalogueError(f"{where}: {problem}")

    v = _fields(raw, fail)
    if not _ID.fullmatch(v["id"]):
        raise fail("id must be lower-case kebab (a-z, 0-9, - and the dots of an enhanced code)")
    code = v["code"]
    if type(code) is not int or not (code == 0 or 200 <= code <= 599):
        raise fail(f"code {code!r} is not a reply code 200-599")
    enhanced = v["enhanced"].upper() if v["enhanced"][:1] == "x" else v["enhanced"]
    if enhanced and not _ENHANCED.fullmatch(enhanced):
        raise fail(f"enhanced {enhanced!r} is not an enhanced status code like 5.7.1 or X.7.1")
    if not isinstance(v["generic"], bool):
        raise fail("generic must be true or false")
    keywords = _keywords(v["keywords"], fail)
    if keywords and (v["generic"] is not True or code or enhanced):
        raise fail("a keyword entry is generic = true, with code = 0 and no enhanced code")
    markers = tuple(m.lower() for m in _strings(v["markers"], None, "marker", fail))
    if v["strength"] not in _STRENGTHS or (v["strength"] != "names" and not keywords):
        raise fail(f"strength must be one of {', '.join(_STRENGTHS)}, and only a keyword entry has one")
    class_ = _class(v["class"], code, enhanced, keywords, fail)
    if v["cause"] not in CAUSES:
        raise fail(f"unknown cause {v['cause']!r} (valid: {', '.join(CAUSES)})")
    phase = _strings(v["phase"], PHASES, "phase", fail)
    if not phase:
        raise fail('phase is empty (use ["ANY"])')
    checks = _strings(v["checks"], CHECKS, "check", fail)
    tag, pattern = _matching(v, code, enhanced, keywords, markers, fail)
    return Entry(
        id=v["id"],
        code=code,
        enhanced=enhanced,
        tag=tag,
        pattern=pattern,
        phase=phase,
        class_=class_,
        cause=v["cause"],
        checks=checks,
        generic=v["generic"],
        source=v["source"],
        meaning=_text(v["meaning"], "meaning", fail),
        advice=_text(v["advice"], "advice", fail),
        file=name,
        keywords=keywords,
        markers=markers,
        strength=v["strength"],
    )


def _fields(raw: dict[str, Any], fail: Callable[[str], CatalogueError]) -> dict[str, Any]:
    """The entry's keys with their defaults, once none is missing or unknown and the texts are strings."""
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise fail(f"missing {', '.join(missing)}")
    unknown = set(raw) - set(_REQUIRED) - set(_DEFAULTS)
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}")
    v = {**_DEFAULTS, **raw}
    for key in ("id", "enhanced", "tag", "pattern", "source"):
        if not isinstance(v[key], str):
            raise fail(f"{key} must be a string")
    return v


def _class(
    class_: Any, code: int, enhanced: str, keywords: tuple[str, ...], fail: Callable[[str], CatalogueError]
) -> str:
    """The entry's class, which must fit its code (a keyword entry: any failure)."""
    if keywords:
        if class_ != KEYWORD_CLASS:
            raise fail(f'a keyword entry fits any 4xx/5xx reply: class = "{KEYWORD_CLASS}"')
    elif class_ not in REPLY_CLASSES.values():
        raise fail(f"class {class_!r} is not one of {', '.join(REPLY_CLASSES.values())}")
    expected = REPLY_CLASSES[str(code)[0]] if code else _ENHANCED_CLASSES.get(enhanced[:1], class_)
    if class_ != expected:
        raise fail(f"class {class_!r} does not fit code {code or enhanced} (expected {expected!r})")
    return str(class_)


def _matching(
    v: dict[str, Any],
    code: int,
    enhanced: str,
    keywords: tuple[str, ...],
    markers: tuple[str, ...],
    fail: Callable[[str], CatalogueError],
) -> tuple[str, str]:
    """(tag, pattern): what finds the entry, checked against its kind (vendor entry or fallback)."""
    tag = v["tag"]
    if tag and (not TOKEN.fullmatch(tag_key(tag)) or not re.search(r"[0-9:_\-]", tag)):
        raise fail(
            f"tag {tag!r} must be one token of letters and digits with a digit, ':', '-' or '_' (HL:REP)"
        )
    pattern = v["pattern"]
    if markers and not pieces(pattern):
        raise fail("markers go with a pattern: they tell a provider's text from the same words of others")
    if v["generic"]:
        if tag or pattern:
            raise fail("a generic fallback carries no tag and no pattern")
        if not code and not enhanced and not keywords:
            raise fail("a generic fallback needs a code, an enhanced code or keywords")
    else:
        if not code:
            raise fail("code is required (0 only for generic enhanced-code fallbacks)")
        if not tag and not pieces(pattern):
            raise fail("needs a tag or a pattern with literal text (or generic = true)")
    return tag, pattern


def _keywords(value: Any, fail: Callable[[str], CatalogueError]) -> tuple[str, ...]:
    """Keywords in lower case with single spaces. A keyword of words (`user unknown`, `blacklist*`) is matched
    as whole words; any other (`n'existe pas`, `spamcop.net`, `用户不存在`) is a phrase matched as it is."""
    result = []
    for raw in _strings(value, None, "keyword", fail):
        keyword = normalise(raw)
        if keyword.endswith("*"):
            if not KEYWORD.fullmatch(keyword) or len(keyword) <= 4:
                raise fail(f"keyword {raw!r}: * ends a keyword of words, with at least 4 letters before it")
        elif "*" in keyword:
            raise fail(f"keyword {raw!r}: * is for words; a phrase in another script matches as it is")
        elif len(keyword) < (2 if KEYWORD.fullmatch(keyword) or not keyword.isascii() else 4):
            raise fail(f"keyword {raw!r}: too short (2 characters, 4 for a phrase of ASCII)")
        result.append(keyword)
    return tuple(result)


def _strings(
    value: Any, vocabulary: tuple[str, ...] | None, what: str, fail: Callable[[str], CatalogueError]
) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise fail(f"{what}s must be a list of strings")
    if vocabulary is None:
        if not all(x.strip() for x in value):
            raise fail(f"{what}s must not be empty strings")
        return tuple(value)
    bad = [x for x in value if x not in vocabulary]
    if bad:
        raise fail(f"unknown {what} {', '.join(map(repr, bad))} (valid: {', '.join(vocabulary)})")
    return tuple(value)


def _text(value: Any, what: str, fail: Callable[[str], CatalogueError]) -> Text:
    if not isinstance(value, dict) or set(value) != {"en", "zh"}:
        raise fail(f'{what} must be {{ en = "...", zh = "..." }}')
    if not all(isinstance(x, str) and x.strip() for x in value.values()):
        raise fail(f"{what}.en and {what}.zh must be non-empty strings")
    return Text(en=value["en"], zh=value["zh"])
