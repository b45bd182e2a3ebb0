"""Fuzzing the reply finder and the matcher: no input makes them raise, and real replies stay specific."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxprobe import catalogue
from mxprobe.catalogue import Entry
from mxprobe.registry import Cause
from mxprobe.replies import iter_replies, parse_reply

PLACEHOLDER = re.compile(r"\[[A-Za-z0-9_\- ]+\]")
FILLING = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.@<>-_", min_size=1, max_size=24)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

reply_like = st.builds(
    lambda code, sep, enhanced, text: f"{code}{sep}{enhanced}{text}",
    st.integers(100, 699).map(str),
    st.sampled_from([" ", "-", "", "\t", "  "]),
    st.sampled_from(["", "5.7.1 ", "4.7.0 ", "2.0.0 ", "5.1.1", "9.9.9 ", "5.7.515 "]),
    st.text(max_size=200),
)


@FUZZ
@given(st.one_of(st.text(max_size=500), reply_like))
def test_any_text_never_raises(text: str) -> None:
    exp = catalogue.explain(text)
    assert exp is None or (exp.to_dict()["class"] in ("success", "intermediate", "transient", "permanent"))


@FUZZ
@given(st.binary(max_size=500))
def test_any_bytes_decoded_never_raise(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    catalogue.explain(text)
    for _, reply in iter_replies(text.splitlines()):
        catalogue.match(reply)


@FUZZ
@given(st.lists(st.one_of(reply_like, st.text(max_size=80)), max_size=30))
def test_any_lines_never_raise(lines: list[str]) -> None:
    for carried, reply in iter_replies(lines):
        assert str(reply.code) in carried
        catalogue.match(reply, carried)


SPECIFIC = [e for e in catalogue.entries() if not e.generic]


@FUZZ
@given(st.sampled_from(SPECIFIC), st.data())
def test_a_reply_built_from_an_entry_resolves_to_a_specific_entry(entry: Entry, data: st.DataObject) -> None:
    body = PLACEHOLDER.sub(lambda _: data.draw(FILLING), entry.pattern)
    if entry.tag:
        body = f"{entry.tag} {body}"
    if entry.markers:  # a provider's words that others send too count with the provider's marker only
        body = f"{body} - {data.draw(st.sampled_from(entry.markers))}"
    text = " ".join(p for p in (str(entry.code), entry.enhanced, body) if p)
    reply = parse_reply(text)
    assert reply is not None and reply.code == entry.code
    exp = catalogue.match(reply)
    assert exp.specific, text
    if exp.entry != entry.id:
        # Only a more specific entry may win: one found by its tag, a pattern at least as long, or a keyword
        # that names a cause where a short pattern of cause policy or server names none.
        winner = next(e for e in catalogue.entries() if e.id == exp.entry)
        named = bool(winner.keywords) and entry.cause in (Cause.POLICY, Cause.SERVER)
        assert exp.tag or _literal(winner) >= _literal(entry) or named, (text, exp.entry)


def _literal(entry: Entry) -> int:
    return len("".join(PLACEHOLDER.sub(" ", entry.pattern).split()))


@FUZZ
@given(st.one_of(reply_like, st.text(max_size=300)))
def test_a_one_line_text_reads_as_the_scanner_reads_it(text: str) -> None:
    """`parse_reply` takes a shortcut for one line: it must find what the line scanner finds (but for a text
    that is a reply code alone, which `parse_reply` reads as that reply)."""
    lines = text.splitlines()
    if len(lines) == 1 and not re.fullmatch(r"[2-5][0-9]{2}", text.strip()):
        scanned = next((reply for _, reply in iter_replies(lines)), None)
        assert parse_reply(text) == scanned
