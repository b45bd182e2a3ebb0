"""The reply catalogue: `checks/replies/*.toml` loaded once, validated, compiled, and matched against replies.

The files are read on first use (not at import, so `mxprobe --help` pays nothing) and kept for the life of the
process; matching is then a pure function of the reply. Reading and validating the files is
`mxprobe.catalogue_load`'s job, the keyword layer `mxprobe.catalogue_keywords`'.

The text decides, the code confirms. The whole reply is read (every line of a multi-line reply joined, the
repeated `550-5.7.1` prefixes removed, `mxprobe.replies`); the reply code gives the class (transient or
permanent) whatever matched. Matching order, most specific first (checks/README.md):
1. vendor tag (`HL:REP`, `TSS04`, `S3150`, `RP-001`...): the reply's tokens are looked up in a dict built from
   the catalogue's own tags, whatever the reply code. Among entries sharing the tag, the one with the reply's
   code wins, then the one whose pattern matches (longest literal first), then the one with the reply's
   enhanced code, then catalogue order. An entry with a tag is found by its tag only.
2. text pattern: the entries of the reply's code whose every literal piece occurs, in order, in the reply
   text (case and runs of white space ignored; `[placeholders]` match anything). The longest literal wins; on
   a tie the entry with the reply's enhanced code, then catalogue order. When no entry of that code matches, a
   4xx/5xx reply is tried against the long patterns (>= `CROSS_CODE_MIN` literal characters) of the other
   4xx/5xx codes: administrators change reject codes, not texts. A provider's entry whose text other servers
   send too lists `markers` (`gsmtp`, `outlook.com`): it matches only when one of them occurs in the reply, in
   the text around it (`input`: the log line, the bounce lines) or in `context` (a log record's relay host).
3. keyword: a 4xx/5xx reply whose words name a cause (`PTR`, `blacklisted`, `user unknown`, `spamcop.net`,
   `utilisateur inconnu`, `用户不存在`; checks/replies/keywords.toml, `mxprobe.catalogue_keywords`). A short
   pattern of cause `policy` or `server` (words such as "Service not available") yields to a keyword that
   names another cause: "554 Service not available ... IP address is black listed" is a blocklist.
4. enhanced status code (generic fallback) of the reply's class: `550 4.7.1` is read as 5.7.1. The entries for
   that code, else for its subject.detail (`X.7.26`); when no fallback exists, the one specific entry with
   this reply code and enhanced code, if exactly one; else the entry of its subject (`5.7.124` as 5.7.0).
5. basic reply code (generic fallback).
6. nothing in the catalogue: an explanation synthesized from the reply's class. Cause `none` for 2xx/3xx; for
   4xx/5xx the subject of the enhanced code (RFC 3463 section 3), else `server` for 4xx and `policy` for 5xx.
Steps 4-6 and keywords of cause `policy` report `specific: false`.

A text without a reply code (`connect to mx[192.0.2.1]:25: Connection timed out`, a line of the sender's own
MTA; qmail's `Sorry, no mailbox here by that name. (#5.1.1)`) is explained from its words alone when they
name a cause: `code` is None, the class comes from its status code if it quotes one, else from the cause.

Speed: patterns are plain substrings (no regular expressions), indexed by reply code and sorted longest first,
and keywords are looked up by word in a dict, so a reply costs one or two tokenisations, a dict lookup per
token and a few `in` tests: linear in the reply, which is cut at `MAX_LINE` characters.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mxprobe.catalogue_explanation import ENHANCED_CLASSES, Explanation, from_entry, unknown
from mxprobe.catalogue_keywords import TOKEN_IN_TEXT, KeywordIndex
from mxprobe.catalogue_load import CatalogueError, Entry, Text, load_entries, normalise, pieces, tag_key
from mxprobe.data import data_dir
from mxprobe.errors import InputError
from mxprobe.registry import Cause
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
# A status code quoted in prose: qmail's `(#5.1.1)`, `#4.4.1`, a DSN's `5.1.1` after a word.
_QUOTED_STATUS = re.compile(r"(?<![\w.])#?([245]\.[0-9]{1,3}\.[0-9]{1,3})(?![\w.])")
_PROSE_NOISE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
CROSS_CODE_MIN = 20
# A short pattern of these causes ("Service not available") yields to a keyword that names another cause.
_YIELDING: frozenset[str] = frozenset({Cause.POLICY, Cause.SERVER})
_YIELD_BELOW = 40  # literal characters: a longer pattern is a server's own wording, and holds ...
# ... unless the keyword names a record or a list the sender can check ("IP name lookup failed": PTR).
_TECHNICAL: frozenset[str] = frozenset(
    {Cause.PTR, Cause.HELO, Cause.SPF, Cause.DKIM, Cause.DMARC, Cause.BLOCKLIST}
)
_TRANSIENT_CAUSES: frozenset[str] = frozenset({Cause.NETWORK, Cause.GREYLIST, Cause.RATE, Cause.SERVER})


@dataclass(frozen=True, slots=True)
class _Pattern:
    """An entry's pattern as the literal pieces that must occur in order (lower case, one space per run)."""

    entry: Entry
    pieces: tuple[str, ...]
    key: str  # the longest piece: one `in` test rules most entries out
    length: int  # literal characters: the longest wins
    order: int  # catalogue order: ties keep it
    rank: int = 0  # sort key: longest first, then catalogue order (set in __post_init__)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", -self.length * 1_000_000 + self.order)

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


class _Index:
    """Patterns by an anchor: a word of the pattern's longest piece with delimiters on both sides inside the
    piece, so that wherever the piece occurs in a reply the anchor is one of the reply's tokens. `candidates`
    then costs a set intersection, not an `in` test per pattern; patterns without such a word are always
    candidates. Exact: a pattern that occurs in a reply is always among its candidates."""

    def __init__(self, patterns: list[_Pattern]) -> None:
        self._by_anchor: dict[str, list[_Pattern]] = {}
        always: list[_Pattern] = []
        for p in patterns:
            anchor = _anchor(p.key)
            if anchor:
                self._by_anchor.setdefault(anchor, []).append(p)
            else:
                always.append(p)
        self._always = tuple(sorted(always, key=_RANK))
        self._anchors = frozenset(self._by_anchor)

    def candidates(self, tokens: set[str]) -> tuple[_Pattern, ...]:
        """The patterns that may occur in a reply with these tokens, longest first."""
        hits = self._anchors.intersection(tokens)
        if not hits:
            return self._always
        found = [p for anchor in hits for p in self._by_anchor[anchor]]
        return tuple(sorted((*found, *self._always), key=_RANK))


# Longest first; equal lengths in catalogue order, whatever order a set gave them in.
_RANK = operator.attrgetter("rank")
_NO_PATTERNS = _Index([])
_ANCHOR = re.compile(r"(?<=[^a-z0-9_.@:\-])[a-z0-9_]+(?=[^a-z0-9_.@:\-])")


def _anchor(piece: str) -> str:
    """The longest word of `piece` enclosed by delimiters (no letter, digit, `_`, `.`, `@`, `:`, `-`)."""
    return max(_ANCHOR.findall(piece), key=len, default="")


class Catalogue:
    """The compiled catalogue: indexes built once, then `match` only reads them."""

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        self.entries = entries
        self._keywords = KeywordIndex(entries)
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
            literal = pieces(entry.pattern)
            compiled = (
                _Pattern(entry, literal, max(literal, key=len), sum(map(len, literal)), order)
                if literal
                else None
            )
            if entry.tag:  # found by its tag only; the pattern tells apart entries sharing the tag
                self._by_tag.setdefault(tag_key(entry.tag), []).append((entry, compiled))
            elif compiled is not None:
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
        self._patterns = {code: _Index(ps) for code, ps in by_code.items()}
        self._cross = _Index(cross)
        self.markers = tuple(sorted(markers))

    def markers_in(self, text: str) -> tuple[str, ...]:
        """The provider markers that occur in `text`: what a cache of matches must tell apart."""
        lowered = text.lower()
        return tuple(m for m in self.markers if m in lowered)

    def select(
        self, *, cause: str | None = None, code: int | None = None, tag: str | None = None
    ) -> tuple[Entry, ...]:
        """The entries with this cause, reply code and vendor tag (any letter case, with or without [ ])."""
        key = None if tag is None else tag_key(tag)
        return tuple(
            e
            for e in self.entries
            if (cause is None or e.cause == cause)
            and (code is None or e.code == code)
            and (key is None or tag_key(e.tag) == key)
        )

    def explain(self, text: str) -> Explanation | None:
        """The explanation of the first reply in `text`, whose `input` is the whole text (JSON keeps what was
        given; renderers shorten it); finding and matching read at most `MAX_LINE` characters a line.

        A text without a reply is explained from its words when they name a cause (`code` None). Returns
        None when `text` holds neither (so callers tell "nothing to explain" from an explanation without
        catching anything); raises `InputError` when `text` is not a str (bytes must be decoded by the
        caller, who knows their charset).
        """
        if not isinstance(text, str):
            hint = ": decode it first (data.decode('utf-8', 'replace'))" if isinstance(text, bytes) else ""
            raise InputError(f"explain() takes the reply as a str, not {type(text).__name__}{hint}")
        reply = parse_reply(text) or _bare_status(text)
        if reply is None:
            return self.explain_prose(text)
        return self.match(reply, text.strip())

    def explain_prose(self, text: str, input: str | None = None) -> Explanation | None:
        """A failure told in words only (no reply code), or None when its words name no cause or it is not
        text (control characters, mostly bytes that were not UTF-8)."""
        flat = " ".join(text[: MAX_LINE * 2].split())[:MAX_LINE]
        if not flat or _PROSE_NOISE.search(flat) or flat.count("\ufffd") * 4 > len(flat):
            return None
        quoted = _QUOTED_STATUS.search(flat)
        status = quoted.group(1) if quoted else ""
        words = flat if quoted is None else f"{flat[: quoted.start()]} {flat[quoted.end() :]}".strip()
        found = self.match(status_reply(status, words, transient=True), input or text.strip())
        if not found.specific:
            return None
        transient = status[0] == "4" if status else found.cause in _TRANSIENT_CAUSES
        return dataclasses.replace(found, code=None, class_="transient" if transient else "permanent")

    def match(self, reply: Reply, input: str | None = None, *, context: str = "") -> Explanation:
        """The explanation of `reply`; `input` is the text it was found in (shown as the explanation's input),
        `context` more text about it (a log record's relay host): both are read for provider markers only."""
        text = normalise(reply.text[:MAX_LINE])
        shown = reply.raw if input is None else input
        tokens = TOKEN_IN_TEXT.findall(text)
        for token in tokens:
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
                return from_entry(entry, reply, shown, entry.tag, specific=True)
        if reply.code // 100 in (4, 5):
            found = self._text_match(reply, text, set(tokens), f"{shown[:MAX_LINE]} {context[:MAX_LINE]}")
            if found is not None:
                weak = found.generic and found.cause == Cause.POLICY  # "access denied": no root cause named
                return from_entry(found, reply, shown, "", specific=not weak)
        else:
            index = self._patterns.get(reply.code, _NO_PATTERNS)
            pattern = _longest(index.candidates(set(tokens)), text, reply.enhanced, "")
            if pattern is not None:
                return from_entry(pattern.entry, reply, shown, "", specific=True)
        if reply.enhanced:
            fallback = self._enhanced_fallback(reply)
            if fallback is not None:
                return from_entry(fallback, reply, shown, "", specific=False)
        basic = self._by_code.get(reply.code)
        if basic:
            return from_entry(basic[0], reply, shown, "", specific=False)
        return unknown(reply, shown)

    def _text_match(self, reply: Reply, text: str, tokens: set[str], around: str) -> Entry | None:
        """The entry a failure's text names: a pattern of its code, else a long one of another failure code,
        and the keyword layer, which overrides a pattern of a cause that names no root cause."""
        index = self._patterns.get(reply.code, _NO_PATTERNS)
        pattern = _longest(index.candidates(tokens), text, reply.enhanced, around)
        if pattern is None:
            pattern = _longest(self._cross.candidates(tokens), text, reply.enhanced, around)
        found = None if pattern is None else pattern.entry
        if pattern is not None and pattern.entry.cause not in _YIELDING:
            return pattern.entry
        keyword = self._keywords.find(text, frozenset() if pattern is None else _YIELDING, tokens)
        if keyword is None:
            return found
        entry, rank = keyword
        if pattern is None or (
            rank <= 1
            and entry.cause not in _YIELDING
            and (pattern.length < _YIELD_BELOW or entry.cause in _TECHNICAL)
        ):
            return entry
        return found

    def _enhanced_fallback(self, reply: Reply) -> Entry | None:
        """The fallback entry of the enhanced code read in the reply's class (`550 4.7.1` as 5.7.1): the
        reply code says whether the failure is temporary, so a 5xx is never explained as temporary."""
        digit = str(reply.code)[0]
        if digit not in ENHANCED_CLASSES:
            return None  # a 3xx has no enhanced codes of its own class
        enhanced = digit + reply.enhanced[1:]
        fallbacks = self._by_enhanced.get(enhanced) or [
            e for e in self._by_detail.get(enhanced[1:], ()) if e.enhanced[0] in ("X", digit)
        ]
        if fallbacks:
            return _same_code_first(fallbacks, reply.code)
        sole = self._by_code_enhanced.get((reply.code, reply.enhanced), ())
        if len(sole) == 1:
            return sole[0]
        # A detail no registry names (Microsoft's 5.7.124): its subject still classifies it (RFC 3463 s. 2).
        subject = self._by_enhanced.get(f"{digit}.{enhanced.split('.')[1]}.0")
        return _same_code_first(subject, reply.code) if subject else None


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


def _longest(patterns: tuple[_Pattern, ...], text: str, enhanced: str, around: str) -> _Pattern | None:
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
    return best


def _marked(entry: Entry, text: str, around: str) -> bool:
    """An entry with provider markers counts only when one occurs in the reply or the text around it."""
    if not entry.markers:
        return True
    lowered = around.lower()
    return any(m in text or m in lowered for m in entry.markers)


def _same_code_first(candidates: list[Entry], code: int) -> Entry:
    return next((e for e in candidates if e.code == code), candidates[0])


# ------------------------------------------------------------------------------ the process's catalogue


def load(directory: Path) -> Catalogue:
    """Read, validate and compile every `*.toml` in `directory` (files in name order, then entry order)."""
    return Catalogue(load_entries(directory))


@cache
def default() -> Catalogue:
    """The shipped catalogue (checks/replies), loaded on first use and kept for the process."""
    return load(data_dir() / "replies")


def entries() -> tuple[Entry, ...]:
    return default().entries


def match(reply: Reply, input: str | None = None) -> Explanation:
    return default().match(reply, input)


def explain(text: str) -> Explanation | None:
    """The explanation of the first SMTP reply in `text` (`mxprobe.explain`), or of a failure told in words
    only, or None when it holds neither; `InputError` when `text` is not a str. See `Catalogue.explain`."""
    return default().explain(text)
