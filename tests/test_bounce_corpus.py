"""The bounce corpus (tests/data/bounces/corpus/): over 150 messages in over 40 formats, each labelled with
its kind and the accepted cause(s) of each failed recipient. The accuracy test prints per-format and overall
figures and fails under 95%: every recipient found once, no recipient invented, an accepted cause; a message
that is not a failure reported as its kind. CR-only, CRLF and LF copies of every message agree.

The messages are written by generate.py from the formats' documented layouts (SOURCES.md); the held-out
acceptance corpus is real bounces, so the corpus is tuned to formats and wording, never to files.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from mxprobe import bounce, catalogue

CORPUS = Path(__file__).parent / "data" / "bounces" / "corpus"
LABELS: list[dict[str, Any]] = tomllib.loads((CORPUS / "labels.toml").read_text())["message"]
MINIMUM = 0.95


def score(label: dict[str, Any], found: bounce.Bounce) -> tuple[int, int, list[str]]:
    """(right, total, what went wrong) for one message."""
    expected: dict[str, list[str]] = label.get("recipients", {})
    if label["kind"] not in ("bounce", "delay"):
        ok = str(found.kind) == label["kind"] and not found.recipients
        return int(ok), 1, [] if ok else [f"kind {found.kind} with {len(found.recipients)} results"]
    got: dict[str, list[str]] = defaultdict(list)
    for failure in found.recipients:
        got[failure.recipient.lower()].append(failure.explanation.cause)
    right, problems = 0, []
    for recipient, causes in expected.items():
        seen = got.get(recipient.lower(), [])
        if len(seen) == 1 and seen[0] in causes:
            right += 1
        else:
            problems.append(f"{recipient}: {seen or 'no result'} (accepted {causes})")
    extra = sorted(set(got) - {r.lower() for r in expected})
    problems += [f"unexpected recipient {r!r}" for r in extra]
    if str(found.kind) != label["kind"]:
        problems.append(f"kind {found.kind}, expected {label['kind']}")
        right = 0
    return max(right - len(extra), 0), len(expected), problems


def test_the_corpus_is_large_and_varied() -> None:
    assert len(LABELS) >= 150
    assert len({label["format"] for label in LABELS}) >= 40
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(label["file"] for label in LABELS)


def test_accuracy_per_format_and_overall(capsys: pytest.CaptureFixture[str]) -> None:
    cat = catalogue.default()
    by_format: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for label in LABELS:
        found = bounce.parse((CORPUS / label["file"]).read_bytes(), cat)
        right, total, problems = score(label, found)
        by_format[label["format"]][0] += right
        by_format[label["format"]][1] += total
        misses += [f"{label['file']}: {p}" for p in problems]
    right = sum(r for r, _ in by_format.values())
    total = sum(t for _, t in by_format.values())
    with capsys.disabled():
        print(f"\nbounce corpus: {right}/{total} = {right / total:.1%} over {len(by_format)} formats")
        for name, (r, t) in sorted(by_format.items()):
            print(f"  {name:18} {r:3}/{t:<3} {r / t:6.1%}")
        for miss in misses:
            print(f"  miss: {miss}")
    assert right / total >= MINIMUM, misses


@pytest.mark.parametrize("name", sorted(label["file"] for label in LABELS))
def test_line_ends_do_not_change_the_result(name: str) -> None:
    cat = catalogue.default()
    data = (CORPUS / name).read_bytes().replace(b"\r\n", b"\n")
    results = []
    for copy in (data, data.replace(b"\n", b"\r\n"), data.replace(b"\n", b"\r")):
        found = bounce.parse(copy, cat)
        results.append((str(found.kind), [(r.recipient, r.explanation.cause, r.explanation.entry, r.status)
                                          for r in found.recipients]))  # fmt: skip
    assert results[0] == results[1] == results[2]
