"""The keyword layer of the reply catalogue: words and phrases that name a cause in any failure reply.

Built once from the keyword entries (checks/replies/keywords.toml); `KeywordIndex.find` then costs one
search per candidate word, one pass of a trie-shaped pattern for the ASCII phrases, and an `in` test per
phrase in another script whose first letter the reply holds. checks/README.md gives the rules; in short,
the keyword that starts first wins, at one place the longest, then file order, and a keyword counts only
when no keyword of a stronger rank occurs: one naming a record or a list the sender can check (PTR, SPF,
DKIM, DMARC, a blocklist) beats one naming another cause ("user unknown"), which beats one that hints at a
cause ("recipient address rejected"), which beats the `policy` cause ("access denied": no root cause).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mxprobe.catalogue_load import KEYWORD, Entry
from mxprobe.registry import Cause

__all__ = ["TOKEN_IN_TEXT", "KeywordIndex"]

TOKEN_IN_TEXT = re.compile(r"(?<![a-z0-9_.@])(?>[a-z0-9_]+(?:[:\-][a-z0-9_]+)*)(?![@.][a-z0-9])")
# Where a keyword may end: not inside a longer word, a dotted name or an address (`spam` in `spam.example`).
_WORD_END = re.compile(r"(?![a-z0-9_]|[@.:\-][a-z0-9_])")
_NEXT_WORD = re.compile(r" ([a-z0-9_]+(?:[:\-][a-z0-9_]+)*)")  # the word after a keyword's first one
# Ranks, strongest first: 0 names a record or a list the sender can check (PTR, SPF, DKIM, DMARC, a
# blocklist: "Connection refused: no PTR record" is a PTR refusal), 1 names another cause, 2 hints at one,
# 3 is the cause `policy`, which names no root cause. HELO is not among the first: Postfix's reject records
# end in `helo=<name>`, a field, not the reason.
_CHECKABLE: frozenset[str] = frozenset({Cause.PTR, Cause.SPF, Cause.DKIM, Cause.DMARC, Cause.BLOCKLIST})
_RANKS = {"names": 0, "hints": 2}
_NAMES_OTHER = 1
_WEAK = 3


@dataclass(frozen=True, slots=True)
class _Keyword:
    """One keyword: its first word (found by a dict lookup) and what must follow it; or a phrase."""

    entry: Entry
    first: str  # the first word; a stem when `prefix` and there is no `rest`; the whole phrase for a phrase
    rest: str  # " limit": the other words, each after one space ("" for one word)
    prefix: bool  # the keyword ended in `*`: its last word may go on (`blacklist*` -> `blacklisted`)
    length: int
    order: int  # catalogue order, for ties
    rank: int

    def found_at(self, text: str, token: str, end: int) -> bool:
        """Whether the keyword occurs at the word `token` that ends at `end` in `text`."""
        if not self.rest:
            return not self.prefix or token.startswith(self.first)
        if token != self.first or not text.startswith(self.rest, end):
            return False
        return self.prefix or _WORD_END.match(text, end + len(self.rest)) is not None


class KeywordIndex:
    """The keywords of a catalogue, indexed for `find`."""

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        self._words: dict[str, list[_Keyword]] = {}  # by first word
        self._stems: dict[str, list[_Keyword]] = {}  # one-word `stem*` keywords, by their first 4 letters
        self._ascii_phrases: list[_Keyword] = []  # `n'existe pas`, `spamcop.net`: one trie-shaped pattern
        self._other_phrases: dict[str, list[_Keyword]] = {}  # other scripts, by first letter
        self._pairs: dict[tuple[str, str], list[_Keyword]] = {}  # words: by the first two (`user unknown`)
        for order, entry in enumerate(entries):
            rank = _WEAK if entry.cause == Cause.POLICY else _RANKS[entry.strength]
            if rank == _RANKS["names"] and entry.cause not in _CHECKABLE:
                rank = _NAMES_OTHER
            for keyword in entry.keywords:
                self._add(keyword, entry, order, rank)
        self._ascii_by_text: dict[str, _Keyword] = {}
        for phrase in self._ascii_phrases:
            self._ascii_by_text.setdefault(phrase.first, phrase)  # the same words twice: file order
        # Every start of a phrase, the longest there: one pass of a trie-shaped pattern, not one search each.
        trie = _trie(list(self._ascii_by_text))
        self._ascii_regex = re.compile(f"(?=({trie}))") if trie else None
        self._firsts = frozenset(self._words) | frozenset(first for first, _ in self._pairs)
        self._pair_firsts = frozenset(first for first, _ in self._pairs)
        self._stem_keys = frozenset(self._stems)

    def _add(self, keyword: str, entry: Entry, order: int, rank: int) -> None:
        if not KEYWORD.fullmatch(keyword):  # a phrase, found with `in` as it is
            phrase = _Keyword(entry, keyword, "", False, len(keyword), order, rank)
            if keyword.isascii():
                self._ascii_phrases.append(phrase)
            else:
                self._other_phrases.setdefault(keyword[0], []).append(phrase)
            return
        prefix = keyword.endswith("*")
        words = keyword.rstrip("*")
        first, _, rest = words.partition(" ")
        found = _Keyword(entry, first, f" {rest}" if rest else "", prefix, len(words), order, rank)
        second, _, more = rest.partition(" ")
        if prefix and not rest:
            self._stems.setdefault(first[:4], []).append(found)
        elif rest and (more or not prefix):  # the second word is whole: a pair finds the keyword
            self._pairs.setdefault((first, second), []).append(found)
        else:
            self._words.setdefault(first, []).append(found)

    def find(
        self, text: str, skip: frozenset[str] = frozenset(), tokens: set[str] | None = None
    ) -> tuple[Entry, int] | None:
        """The winning keyword's entry and rank in `text` (normalised: lower case, single spaces), or None;
        keywords of the causes in `skip` do not count. `tokens`: the text's `TOKEN_IN_TEXT` words, when the
        caller has them (a text with none of the keywords' first words is then not walked word by word)."""
        best: tuple[int, int, int, int] | None = None
        found: Entry | None = None

        def consider(keyword: _Keyword, start: int) -> None:
            nonlocal best, found
            if keyword.entry.cause in skip:
                return
            rank = (keyword.rank, start, -keyword.length, keyword.order)
            if best is None or rank < best:
                best, found = rank, keyword.entry

        if self._ascii_regex is not None:
            for m in self._ascii_regex.finditer(text):
                consider(self._ascii_by_text[m.group(1)], m.start())
        if not text.isascii():
            letters = self._other_phrases.keys() & set(text)
            for phrase in (p for letter in letters for p in self._other_phrases[letter]):
                start = text.find(phrase.first)
                if start >= 0:
                    consider(phrase, start)
        if tokens is None:
            tokens = set(TOKEN_IN_TEXT.findall(text))
        firsts = self._firsts.intersection(tokens)
        stems = self._stem_keys.intersection([t[:4] for t in tokens])
        if not firsts and not stems:
            return None if found is None or best is None else (found, best[0])  # no word keyword here
        for m in _occurrences(text, firsts, stems):
            start = m.start()
            if best is not None and best[0] == 0 and start > best[1]:
                break  # a checkable cause named earlier: nothing later can win
            if start and text[start - 1] == "/":
                continue  # a path in a URL, not a word of the reply
            if text.startswith("=", m.end()):
                continue  # a log record's field name (`relay=`, `helo=`), not a word of the reply
            token = m.group()
            for keyword in self._words.get(token, ()):
                if keyword.found_at(text, token, m.end()):
                    consider(keyword, start)
            if token in self._pair_firsts and (after := _NEXT_WORD.match(text, m.end())) is not None:
                for keyword in self._pairs.get((token, after.group(1)), ()):
                    if keyword.found_at(text, token, m.end()):
                        consider(keyword, start)
            for keyword in self._stems.get(token[:4], ()):
                if keyword.found_at(text, token, m.end()):
                    consider(keyword, start)
        return None if found is None or best is None else (found, best[0])


def _occurrences(text: str, words: frozenset[str], stems: frozenset[str]) -> list[re.Match[str]]:
    """The words of `text` (`TOKEN_IN_TEXT` tokens that start where `_token_start` allows) that are one of
    `words` or begin with one of `stems`, in text order: found with `str.find`, so a reply costs a few
    searches in C, not a Python step per word."""
    found: dict[int, re.Match[str]] = {}
    for needle, whole in [*((w, True) for w in words), *((k, False) for k in stems)]:
        at = text.find(needle)
        while at >= 0:
            if at not in found and _token_start(text, at):
                m = TOKEN_IN_TEXT.match(text, at)
                if m is not None and (m.group() == needle if whole else m.group().startswith(needle)):
                    found[at] = m
            at = text.find(needle, at + 1)
    return [found[at] for at in sorted(found)]


def _token_start(text: str, at: int) -> bool:
    """Whether a word starts at `at`: not inside a word, a dotted name or an address, nor after the `-` or `:`
    that joins a word's parts (`x-user` is one word, `rate-limited` another than `limited`)."""
    if at == 0:
        return True
    before = text[at - 1]
    if before in _INSIDE:
        return False
    return not (before in ":-" and at > 1 and text[at - 2] in _WORD_CHARS)


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_INSIDE = _WORD_CHARS | frozenset(".@")


def _trie(words: list[str]) -> str:
    """A pattern matching any of `words`, shaped as a trie (`spam(?:cop\\.net|haus\\.org)`): the regular
    expression engine then fails after a character or two where no word starts, and prefers the longest."""
    root: dict[str, dict[str, Any]] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _branch(root)


def _branch(node: dict[str, dict[str, Any]]) -> str:
    alternatives = [re.escape(ch) + _branch(child) for ch, child in sorted(node.items()) if ch]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 and "" not in node else f"(?:{'|'.join(alternatives)})"
    return body + "?" if "" in node else body
