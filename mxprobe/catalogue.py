"""The reply catalogue: `checks/replies/*.toml` loaded once, validated, compiled, and matched against replies.

The files are read on first use (not at import, so `mxprobe --help` pays nothing) and kept for the life of the
process; matching is then a pure function of the reply.

Matching order, most specific first (checks/README.md):
1. vendor tag (`HL:REP`, `TSS04`, `S3150`, `RP-001`...): the reply's tokens are looked up in a dict built from
   the catalogue's own tags, whatever the reply code. Among entries sharing the tag, the one with the reply's
   code wins, then the one whose pattern matches (longest literal first), then the one with the reply's
   enhanced code, then catalogue order.
2. text pattern: the entries of the reply's code whose every literal piece occurs, in order, in the reply
   text (case and runs of white space ignored; `[placeholders]` match anything). The longest literal wins; on
   a tie the entry with the reply's enhanced code, then catalogue order. When no entry of that code matches, a
   4xx/5xx reply is tried against the long patterns (>= `CROSS_CODE_MIN` literal characters) of the other
   4xx/5xx codes: administrators change reject codes (Postfix `unknown_client_reject_code`, `soft_bounce`),
   not texts. A provider's entry whose text other servers send too lists `markers` (`gsmtp`, `outlook.com`):
   it matches only when one of them occurs in the reply, in the text around it (`input`: the log line, the
   bounce lines) or in `context` (a log record's relay host).
3. keyword (generic): a 4xx/5xx reply whose words name a cause (`PTR`, `blacklisted`, `DKIM`, `user unknown`;
   checks/replies/keywords.toml). The keyword that starts first in the text wins, at one place the longest,
   then catalogue order; keywords of cause `policy` ("access denied") name no root cause and count only when
   no other keyword occurs.
4. enhanced status code (generic fallback) of the reply's class: `550 4.7.1` is read as 5.7.1, since the reply
   code decides whether a failure is temporary. The entries for that code, else for its subject.detail
   (`X.7.26`); when no fallback exists, the one specific entry with this reply code and enhanced code, if
   exactly one.
5. basic reply code (generic fallback).
6. nothing in the catalogue: an explanation synthesized from the reply's class. Cause `none` for 2xx/3xx; for
   4xx/5xx the subject of the enhanced code (RFC 3463: 1 addressing -> recipient, 2 mailbox -> mailbox, 3 mail
   system -> server, 4 network -> network, 5 protocol -> protocol, 6 content -> content, 7 policy -> policy),
   else `server` for 4xx (the receiver could not act now) and `policy` for 5xx (it refuses).
Steps 3-6 report `specific: false`.

Speed: patterns are plain substrings (no regular expressions), indexed by reply code and sorted longest first,
and keywords are looked up by word in a dict, so a reply costs one or two tokenisations, a dict lookup per
token and a few `in` tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mxprobe.__about__ import __version__
from mxprobe.data import data_dir
from mxprobe.errors import InputError
from mxprobe.model import CAUSES, CHECKS, PHASES, REPLY_CLASSES
from mxprobe.replies import MAX_LINE, Reply, parse_reply, status_reply

__all__ = [
    "CROSS_CODE_MIN",
    "Catalogue",
    "CatalogueError",
    "Entry",
    "Explanation",
    "Reply",
    "Text",
    "default",
    "entries",
    "explain",
    "load",
    "match",
    "parse_reply",
]

_BARE_STATUS = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")
CROSS_CODE_MIN = 20

_ID = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")  # dots: ids may quote an enhanced code (gmail-4.7.0-...)
_ENHANCED = re.compile(r"[245X]\.[0-9]{1,3}\.[0-9]{1,3}")
_PLACEHOLDER = re.compile(r"\[[a-z0-9_\- ]+\]")
# What may be a vendor tag: every catalogue tag must be one such token (checked at load time). In a reply, a
# token inside a dotted name or an address (`ts01.example.com`, `5.7.1`, `<ts01@example.net>`) is no tag.
_TOKEN = re.compile(r"[a-z0-9_]+(?:[:\-][a-z0-9_]+)*")
_TOKEN_IN_TEXT = re.compile(r"(?<![a-z0-9_.@])(?>[a-z0-9_]+(?:[:\-][a-z0-9_]+)*)(?![@.][a-z0-9])")
_TAG_WRAPPERS = "[]()"
# Where a keyword may end: not inside a longer word, a dotted name or an address (`spam` in `spam.example`).
_WORD_END = re.compile(r"(?![a-z0-9_]|[@.:\-][a-z0-9_])")
_KEYWORD_CLASS = "failure"  # keyword entries fit any 4xx/5xx reply: the reply's code gives the class
_WEAK_CAUSE = "policy"  # a keyword of this cause ("access denied") names no root cause: any other wins

_SUBJECT_CAUSES = {
    "1": "recipient",
    "2": "mailbox",
    "3": "server",
    "4": "network",
    "5": "protocol",
    "6": "content",
    "7": "policy",
}
_ENHANCED_CLASSES = {"2": "success", "4": "transient", "5": "permanent"}
# Wording for codes the catalogue does not know. Kept here, not in checks/: it is about the code's class, the
# one thing known when every catalogue lookup failed. (meaning en, meaning zh, advice en, advice zh)
_LOOK_IT_UP = (
    "This reply is not in mxprobe's catalogue: read its text, and the receiver's postmaster pages.",
    "该应答不在mxprobe的目录中：请阅读应答原文及收件方的邮件管理员（postmaster）说明。",
)
_UNKNOWN = {
    "success": ("A success reply: the server did what was asked.", "成功应答：服务器已完成所请求的操作。",
                "Nothing to do.", "无需处理。"),
    "intermediate": ("An intermediate reply: the server waits for more input from the client.",
                     "中间应答：服务器在等待客户端继续发送。", "Nothing to do: the dialogue goes on.",
                     "无需处理：会话会继续。"),
    "transient": ("A transient failure: the server refused for now; the sender retries later.",
                  "临时性失败：服务器暂时拒绝，发送方稍后会重试。", *_LOOK_IT_UP),
    "permanent": ("A permanent failure: the server refused; retrying the same message will not help.",
                  "永久性失败：服务器拒绝接收，重发同一封信不会成功。", *_LOOK_IT_UP),
}  # fmt: skip


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
    code: int  # 0 only for a fallback that carries just an enhanced code
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


@dataclass(slots=True)
class Explanation:
    """What one reply means. `to_dict` is the JSON contract of `mxprobe explain --json`."""

    input: str
    code: int
    enhanced: str
    tag: str
    class_: str
    phase: tuple[str, ...]
    meaning: Text
    cause: str
    checks: tuple[str, ...]
    advice: Text
    entry: str  # "" when no catalogue entry matched
    specific: bool
    text: str = field(default="", repr=False)  # the reply's own text, for renderers; not part of the JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "code": self.code,
            "enhanced": self.enhanced,
            "tag": self.tag,
            "class": self.class_,
            "phase": list(self.phase),
            "meaning": self.meaning.to_dict(),
            "cause": self.cause,
            "checks": list(self.checks),
            "advice": self.advice.to_dict(),
            "entry": self.entry,
            "specific": self.specific,
        }


@dataclass(frozen=True, slots=True)
class _Pattern:
    """An entry's pattern as the literal pieces that must occur in order (lower case, one space per run)."""

    entry: Entry
    pieces: tuple[str, ...]
    key: str  # the longest piece: one `in` test rules most entries out
    length: int  # literal characters: the longest wins

    def found_in(self, text: str) -> bool:
        if self.key not in text:
            return False
        pos = 0
        for piece in self.pieces:
            pos = text.find(piece, pos)
            if pos < 0:
                return False
            pos += len(piece)
        return True


@dataclass(frozen=True, slots=True)
class _Keyword:
    """One keyword of a keyword entry: its first word (found by a dict lookup), and what must follow it."""

    entry: Entry
    first: str  # the first word; a stem when `prefix` and there is no `rest`
    rest: str  # " limit": the other words, each after one space ("" for one word)
    prefix: bool  # the keyword ended in `*`: its last word may go on (`blacklist*` -> `blacklisted`)
    length: int
    order: int  # catalogue order, for ties
    weak: bool  # of cause `policy`: counts only when no other keyword occurs

    def found_at(self, text: str, token: str, end: int) -> bool:
        """Whether the keyword occurs at the word `token` that ends at `end` in `text`."""
        if not self.rest:
            return not self.prefix or token.startswith(self.first)
        if token != self.first or not text.startswith(self.rest, end):
            return False
        return self.prefix or _WORD_END.match(text, end + len(self.rest)) is not None


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _pieces(pattern: str) -> tuple[str, ...]:
    return tuple(p for p in (s.strip() for s in _PLACEHOLDER.split(_normalise(pattern))) if p)


def _tag_key(tag: str) -> str:
    return tag.strip(_TAG_WRAPPERS).lower()


class Catalogue:
    """The compiled catalogue: indexes built once, then `match` only reads them."""

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        self.entries = entries
        self._keywords: dict[str, list[_Keyword]] = {}  # by first word
        self._stems: dict[str, list[_Keyword]] = {}  # one-word `stem*` keywords, by their first 4 letters
        self._phrases: list[_Keyword] = []  # keywords with letters outside ASCII (Chinese): no words to split
        markers: set[str] = set()
        self._by_tag: dict[str, list[tuple[Entry, _Pattern | None]]] = {}
        by_code: dict[int, list[_Pattern]] = {}
        cross: list[_Pattern] = []
        self._by_enhanced: dict[str, list[Entry]] = {}
        self._by_detail: dict[str, list[Entry]] = {}
        self._by_code_enhanced: dict[tuple[int, str], list[Entry]] = {}
        self._by_code: dict[int, list[Entry]] = {}
        for order, entry in enumerate(entries):
            markers.update(entry.markers)
            for keyword in entry.keywords:
                self._add_keyword(keyword, entry, order)
            pieces = _pieces(entry.pattern)
            compiled = (
                _Pattern(entry, pieces, max(pieces, key=len), sum(map(len, pieces))) if pieces else None
            )
            if entry.tag:
                self._by_tag.setdefault(_tag_key(entry.tag), []).append((entry, compiled))
            if compiled is not None:
                by_code.setdefault(entry.code, []).append(compiled)
                if entry.code // 100 in (4, 5) and compiled.length >= CROSS_CODE_MIN:
                    cross.append(compiled)
            if entry.generic and entry.enhanced:
                if entry.enhanced[0] != "X":
                    self._by_enhanced.setdefault(entry.enhanced, []).append(entry)
                self._by_detail.setdefault(entry.enhanced[1:], []).append(entry)
            elif entry.generic and entry.code:
                self._by_code.setdefault(entry.code, []).append(entry)
            elif entry.enhanced:
                self._by_code_enhanced.setdefault((entry.code, entry.enhanced), []).append(entry)
        # sort() is stable: equal keys keep catalogue order, which makes ties deterministic.
        for same_detail in self._by_detail.values():
            same_detail.sort(key=lambda e: e.enhanced[0] != "X")  # `X.7.26` before a class-bound `5.7.26`
        self._patterns = {code: tuple(sorted(ps, key=lambda p: -p.length)) for code, ps in by_code.items()}
        self._cross = tuple(sorted(cross, key=lambda p: -p.length))
        self.markers = tuple(sorted(markers))

    def _add_keyword(self, keyword: str, entry: Entry, order: int) -> None:
        weak = entry.cause == _WEAK_CAUSE
        if not keyword.isascii():  # found with `in`, as it is
            self._phrases.append(_Keyword(entry, keyword, "", False, len(keyword), order, weak))
            return
        prefix = keyword.endswith("*")
        words = keyword.rstrip("*")
        first, _, rest = words.partition(" ")
        found = _Keyword(entry, first, f" {rest}" if rest else "", prefix, len(words), order, weak)
        if prefix and not rest:
            self._stems.setdefault(first[:4], []).append(found)
        else:
            self._keywords.setdefault(first, []).append(found)

    def markers_in(self, text: str) -> tuple[str, ...]:
        """The provider markers that occur in `text`: what a cache of matches must tell apart."""
        lowered = text.lower()
        return tuple(m for m in self.markers if m in lowered)

    def select(
        self, *, cause: str | None = None, code: int | None = None, tag: str | None = None
    ) -> tuple[Entry, ...]:
        """The entries with this cause, reply code and vendor tag (any letter case, with or without [ ])."""
        key = None if tag is None else _tag_key(tag)
        return tuple(
            e
            for e in self.entries
            if (cause is None or e.cause == cause)
            and (code is None or e.code == code)
            and (key is None or _tag_key(e.tag) == key)
        )

    def explain(self, text: str) -> Explanation | None:
        """The explanation of the first reply in `text`, whose `input` is the whole text (JSON keeps what was
        given; renderers shorten it); finding and matching read at most `MAX_LINE` characters a line.

        Returns None when `text` holds no SMTP reply (so callers tell "nothing to explain" from an
        explanation without catching anything); raises `InputError` when `text` is not a str (bytes must be
        decoded by the caller, who knows their charset).
        """
        if not isinstance(text, str):
            hint = ": decode it first (data.decode('utf-8', 'replace'))" if isinstance(text, bytes) else ""
            raise InputError(f"explain() takes the reply as a str, not {type(text).__name__}{hint}")
        reply = parse_reply(text) or _bare_status(text)
        return None if reply is None else self.match(reply, text.strip())

    def match(self, reply: Reply, input: str | None = None, *, context: str = "") -> Explanation:
        """The explanation of `reply`; `input` is the text it was found in (shown as the explanation's input),
        `context` more text about it (a log record's relay host): both are read for provider markers only."""
        text = _normalise(reply.text[:MAX_LINE])
        shown = reply.raw if input is None else input
        around = f"{shown[:MAX_LINE]} {context[:MAX_LINE]}"  # lowered only if a marked entry matches
        for token in _TOKEN_IN_TEXT.findall(text):
            tagged = self._by_tag.get(token)
            if tagged:
                entry = max(
                    tagged,
                    key=lambda ep: (
                        ep[0].code == reply.code,
                        _pattern_score(ep[1], text),
                        ep[0].enhanced == reply.enhanced,
                    ),
                )[0]
                return _from_entry(entry, reply, shown, entry.tag, specific=True)
        failure = reply.code // 100 in (4, 5)
        found = _longest(self._patterns.get(reply.code, ()), text, reply.enhanced, around)
        if found is None and failure:
            found = _longest(self._cross, text, reply.enhanced, around)
        if found is None and failure:
            found = self._keyword(text)
        if found is not None:
            return _from_entry(found, reply, shown, "", specific=not found.generic)
        if reply.enhanced:
            fallback = self._enhanced_fallback(reply)
            if fallback is not None:
                return _from_entry(fallback, reply, shown, "", specific=False)
        basic = self._by_code.get(reply.code)
        if basic:
            return _from_entry(basic[0], reply, shown, "", specific=False)
        return _unknown(reply, shown)

    def _keyword(self, text: str) -> Entry | None:
        """The keyword entry whose keyword starts first in `text` (then the longest, then catalogue order);
        a weak keyword only when no other occurs."""
        best: tuple[bool, int, int, int] | None = None
        found: Entry | None = None

        def consider(keyword: _Keyword, start: int) -> None:
            nonlocal best, found
            rank = (keyword.weak, start, -keyword.length, keyword.order)
            if best is None or rank < best:
                best, found = rank, keyword.entry

        for phrase in self._phrases:
            start = text.find(phrase.first)
            if start >= 0:
                consider(phrase, start)
        for m in _TOKEN_IN_TEXT.finditer(text):
            start = m.start()
            if best is not None and not best[0] and start > best[1]:
                break  # a strong keyword found earlier: nothing later can win
            if start and text[start - 1] == "/":
                continue  # a path in a URL, not a word of the reply
            token = m.group()
            for keyword in self._keywords.get(token, ()):
                if keyword.found_at(text, token, m.end()):
                    consider(keyword, start)
            for keyword in self._stems.get(token[:4], ()):
                if keyword.found_at(text, token, m.end()):
                    consider(keyword, start)
        return found

    def _enhanced_fallback(self, reply: Reply) -> Entry | None:
        """The fallback entry of the enhanced code read in the reply's class (`550 4.7.1` as 5.7.1): the
        reply code says whether the failure is temporary, so a 5xx is never explained as temporary."""
        digit = str(reply.code)[0]
        if digit not in _ENHANCED_CLASSES:
            return None  # a 3xx has no enhanced codes of its own class
        enhanced = digit + reply.enhanced[1:]
        fallbacks = self._by_enhanced.get(enhanced) or [
            e for e in self._by_detail.get(enhanced[1:], ()) if e.enhanced[0] in ("X", digit)
        ]
        if fallbacks:
            return _same_code_first(fallbacks, reply.code)
        sole = self._by_code_enhanced.get((reply.code, reply.enhanced), ())
        return sole[0] if len(sole) == 1 else None


def _bare_status(text: str) -> Reply | None:
    """`5.7.1` alone (what a user copies from an NDR) as a reply of its class's catch-all code (RFC 5321:
    250, 451, 554), so the enhanced-code fallback explains it; None for any other text."""
    status = text.strip()
    if not _BARE_STATUS.fullmatch(status):
        return None
    if status[0] == "2":
        return Reply(code=250, enhanced=status, text="", raw=status)
    return status_reply(status, "", transient=status[0] == "4")


def _pattern_score(pattern: _Pattern | None, text: str) -> int:
    """Rank entries sharing a tag: a matching pattern (longer first), then no pattern, then a miss."""
    if pattern is None:
        return 0
    return pattern.length if pattern.found_in(text) else -1


def _longest(patterns: tuple[_Pattern, ...], text: str, enhanced: str, around: str) -> Entry | None:
    best: _Pattern | None = None
    for p in patterns:
        if best is not None and p.length < best.length:
            break
        if p.key in text and p.found_in(text) and _marked(p.entry, text, around):  # inline `in`: fewer calls
            if best is None:
                best = p
                if not enhanced or p.entry.enhanced == enhanced:
                    break
            elif p.entry.enhanced == enhanced:
                best = p
                break
    return None if best is None else best.entry


def _marked(entry: Entry, text: str, around: str) -> bool:
    """An entry with provider markers counts only when one occurs in the reply or the text around it."""
    if not entry.markers:
        return True
    lowered = around.lower()
    return any(m in text or m in lowered for m in entry.markers)


def _same_code_first(candidates: list[Entry], code: int) -> Entry:
    return next((e for e in candidates if e.code == code), candidates[0])


def _from_entry(entry: Entry, reply: Reply, shown: str, tag: str, *, specific: bool) -> Explanation:
    return Explanation(
        input=shown,
        code=reply.code,
        enhanced=reply.enhanced,
        tag=tag,
        class_=REPLY_CLASSES[str(reply.code)[0]],
        phase=entry.phase,
        meaning=entry.meaning,
        cause=entry.cause,
        checks=entry.checks,
        advice=entry.advice,
        entry=entry.id,
        specific=specific,
        text=reply.text,
    )


def _unknown(reply: Reply, shown: str) -> Explanation:
    class_ = REPLY_CLASSES[str(reply.code)[0]]
    if class_ in ("success", "intermediate"):
        cause = "none"
    elif reply.enhanced:
        cause = _SUBJECT_CAUSES.get(
            reply.enhanced.split(".")[1], "server" if class_ == "transient" else "policy"
        )
    else:
        cause = "server" if class_ == "transient" else "policy"
    meaning_en, meaning_zh, advice_en, advice_zh = _UNKNOWN[class_]
    return Explanation(
        input=shown,
        code=reply.code,
        enhanced=reply.enhanced,
        tag="",
        class_=class_,
        phase=("ANY",),
        meaning=Text(meaning_en, meaning_zh),
        cause=cause,
        checks=(),
        advice=Text(advice_en, advice_zh),
        entry="",
        specific=False,
        text=reply.text,
    )


# ---------------------------------------------------------------------------------------------- loading

_REQUIRED = ("id", "phase", "class", "cause", "checks", "source", "meaning", "advice")
_DEFAULTS: dict[str, Any] = {
    "code": 0, "enhanced": "", "tag": "", "pattern": "", "generic": False, "keywords": [], "markers": [],
}  # fmt: skip
# A keyword: words of letters and digits (joined by `-` or `:` inside a word) separated by single spaces, the
# last one optionally ending in `*`; or a phrase in another script (Chinese), matched as it is.
_KEYWORD = re.compile(r"[a-z0-9_]+(?:[:\-][a-z0-9_]+)*(?: [a-z0-9_]+(?:[:\-][a-z0-9_]+)*)*\*?")


def _cache_file(files: list[Path]) -> Path | None:
    """Where the parsed TOML of exactly these files (paths, sizes, modification times) is kept, if anywhere.

    Parsing 500 KB of TOML is most of `mxprobe explain`'s start-up; a marshal copy loads ~30x faster. The key
    covers every input, so an edited file is parsed again; MXPROBE_CACHE_DIR="" turns the cache off.
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


def _read_documents(files: list[Path], directory: Path) -> list[tuple[str, Any]]:
    """(name, parsed TOML) of each file, from the cache when it is current; parse errors name the file."""
    cache_file = _cache_file(files)
    if cache_file is not None:
        try:
            cached: list[tuple[str, Any]] = marshal.loads(cache_file.read_bytes())
            return cached
        except (OSError, ValueError, EOFError, TypeError):
            pass  # absent, unreadable or from another Python: parse again
    documents = []
    for path in files:
        name = f"{directory.name}/{path.name}"
        try:
            with path.open("rb") as f:
                documents.append((name, tomllib.load(f)))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CatalogueError(f"{name}: cannot read: {exc}") from exc
    if cache_file is not None:
        with contextlib.suppress(OSError, ValueError):
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps(documents))
            os.replace(partial, cache_file)  # atomic: a concurrent reader sees the old file or the new one
    return documents


def load(directory: Path) -> Catalogue:
    """Read and validate every `*.toml` in `directory` (files in name order, entries in file order)."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CatalogueError(f"{directory}: no catalogue files (*.toml)")
    seen: dict[str, str] = {}
    result: list[Entry] = []
    for name, document in _read_documents(files, directory):
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
    return Catalogue(tuple(result))


def _validated(raw: Any, name: str, index: int) -> Entry:
    where = f"{name}: entry #{index}"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: not a table")
    if isinstance(raw.get("id"), str):
        where = f"{name}: entry {raw['id']!r}"

    def fail(problem: str) -> CatalogueError:
        return CatalogueError(f"{where}: {problem}")

    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise fail(f"missing {', '.join(missing)}")
    unknown = set(raw) - set(_REQUIRED) - set(_DEFAULTS)
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}")
    v = {**_DEFAULTS, **raw}
    for key, kind in (("id", str), ("enhanced", str), ("tag", str), ("pattern", str), ("source", str)):
        if not isinstance(v[key], kind):
            raise fail(f"{key} must be a string")
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
    class_ = v["class"]
    if keywords:
        if class_ != _KEYWORD_CLASS:
            raise fail(f'a keyword entry fits any 4xx/5xx reply: class = "{_KEYWORD_CLASS}"')
    elif class_ not in REPLY_CLASSES.values():
        raise fail(f"class {class_!r} is not one of {', '.join(REPLY_CLASSES.values())}")
    expected = REPLY_CLASSES[str(code)[0]] if code else _ENHANCED_CLASSES.get(enhanced[:1], class_)
    if class_ != expected:
        raise fail(f"class {class_!r} does not fit code {code or enhanced} (expected {expected!r})")
    if v["cause"] not in CAUSES:
        raise fail(f"unknown cause {v['cause']!r} (valid: {', '.join(CAUSES)})")
    phase = _strings(v["phase"], PHASES, "phase", fail)
    if not phase:
        raise fail('phase is empty (use ["ANY"])')
    checks = _strings(v["checks"], CHECKS, "check", fail)
    tag = v["tag"]
    if tag and (not _TOKEN.fullmatch(_tag_key(tag)) or not re.search(r"[0-9:_\-]", tag)):
        raise fail(
            f"tag {tag!r} must be one token of letters and digits with a digit, ':', '-' or '_' (HL:REP)"
        )
    pattern = v["pattern"]
    if markers and not _pieces(pattern):
        raise fail("markers go with a pattern: they tell a provider's text from the same words of others")
    if v["generic"]:
        if tag or pattern:
            raise fail("a generic fallback carries no tag and no pattern")
        if not code and not enhanced and not keywords:
            raise fail("a generic fallback needs a code, an enhanced code or keywords")
    else:
        if not code:
            raise fail("code is required (0 only for generic enhanced-code fallbacks)")
        if not tag and not _pieces(pattern):
            raise fail("needs a tag or a pattern with literal text (or generic = true)")
    meaning = _text(v["meaning"], "meaning", fail)
    advice = _text(v["advice"], "advice", fail)
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
        meaning=meaning,
        advice=advice,
        file=name,
        keywords=keywords,
        markers=markers,
    )


def _keywords(value: Any, fail: Callable[[str], CatalogueError]) -> tuple[str, ...]:
    """Keywords in lower case with single spaces; ones in another script are kept whole (no `*`)."""
    result = []
    for raw in _strings(value, None, "keyword", fail):
        keyword = _normalise(raw)
        shortest = 4 if keyword.endswith("*") else 2  # a stem is looked up by its first 4 letters
        if keyword.isascii():
            if not _KEYWORD.fullmatch(keyword) or len(keyword.rstrip("*")) < shortest:
                raise fail(
                    f"keyword {raw!r}: words of letters and digits, optionally ending in * "
                    "(at least 4 letters before it)"
                )
        elif "*" in keyword:
            raise fail(f"keyword {raw!r}: * is for words; a phrase in another script matches as it is")
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


# ------------------------------------------------------------------------------ the process's catalogue


@cache
def default() -> Catalogue:
    """The shipped catalogue (checks/replies), loaded on first use and kept for the process."""
    return load(data_dir() / "replies")


def entries() -> tuple[Entry, ...]:
    return default().entries


def match(reply: Reply, input: str | None = None) -> Explanation:
    return default().match(reply, input)


def explain(text: str) -> Explanation | None:
    """The explanation of the first SMTP reply in `text` (`mxprobe.explain`), or None when it holds none;
    `InputError` when `text` is not a str. See `Catalogue.explain`."""
    return default().explain(text)
