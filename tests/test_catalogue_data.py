"""The data files in checks/ as a reader meets them: every source can be followed, Chinese reads as Chinese.

Issue 10 item 5: every catalogue and data entry cites a public source, a URL, an RFC (with its section when
the entry rests on one) or a path in this repository, never a file outside it. Issue 12 item 3: our Chinese
strings use full-width punctuation.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mxprobe.data import data_dir

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = sorted(p for p in data_dir().rglob("*") if p.is_file() and p.suffix in (".toml", ".txt", ".md"))
TOML_FILES = [p for p in DATA_FILES if p.suffix == ".toml"]
_URL = re.compile(r"https?://[^\s;()]+[^\s;().,]")
_RFC = re.compile(r"RFC [0-9]{3,4}(?: sections? [0-9]+(?:\.[0-9]+)*(?:(?:,| and) [0-9]+(?:\.[0-9]+)*)*)?")
_PATH = re.compile(r"[\w.-]+(?:/[\w.-]+)+")
_NOTE = re.compile(r"(?: \((?:[^()]|\([^()]*\))*\))?")  # what follows a citation: a note in parentheses
CJK = "\u3400-\u9fff\uf900-\ufaff"
# ASCII punctuation against a Chinese character. A colon after ASCII letters is syntax (`include:`), and
# parentheses around ASCII text (`(X.7.1)` inside a Chinese sentence is still a fault: see the test).
_HALF_WIDTH = re.compile(
    rf"(?<=[{CJK}])[,;!?:()]|[,;!?](?=[{CJK}])|(?<![A-Za-z0-9])[:(](?=[{CJK}])|(?<=[{CJK}])\)"
)
_NOT_PUBLIC = ("knowledge.md", "seed:", "../shared", "/work/")


def split_citations(source: str) -> list[str]:
    """`a; b (note; more)` -> ["a", "b (note; more)"]: `;` inside parentheses belongs to a note."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(source):
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth == 0:
            parts.append(source[start:i].strip())
            start = i + 1
    parts.append(source[start:].strip())
    return parts


def is_citation(part: str) -> bool:
    """A URL, an RFC (optionally its section) or a path of this repository, then optionally a note."""
    for kind in (_URL, _RFC):
        m = kind.match(part)
        if m and _NOTE.fullmatch(part, m.end()):
            return True
    m = _PATH.match(part)
    return bool(m and _NOTE.fullmatch(part, m.end()) and (ROOT / m.group()).exists())


def fields(value: object, where: str = "") -> Iterator[tuple[str, str, object]]:
    """(where, key, value) of every key of every table, at any depth of a parsed TOML document; a table that
    has an `id` is named by it, an array item by its index."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield where, key, item
            name = str(item.get("id", key)) if isinstance(item, dict) else key
            yield from fields(item, f"{where}.{name}" if where else name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from fields(item, f"{where}[{index}]")


def documents() -> Iterator[tuple[str, object]]:
    for path in TOML_FILES:
        yield str(path.relative_to(data_dir())), tomllib.loads(path.read_text(encoding="utf-8"))


ALL_SOURCES = [
    (f"{name}:{where}.{key}", one)
    for name, doc in documents()
    for where, key, item in fields(doc)
    if key in ("source", "sources")
    for one in (item if isinstance(item, list) else [item])
]


def test_the_data_has_sources_to_check() -> None:
    assert len(ALL_SOURCES) >= 700
    assert {p.name for p in TOML_FILES} >= {"dnsbl.toml", "keywords.toml", "seed.toml", "enhanced.toml"}


@pytest.mark.parametrize(
    ("part", "good"),
    [
        ("https://support.google.com/a/answer/3726730", True),
        ("RFC 3463 section 3.8", True),
        ("RFC 5321", True),
        ("RFC 3463 sections 3.2 and 3.3", True),
        ("https://github.com/schweikert/postgrey/blob/master/postgrey (postgrey 1.37)", True),
        ("tests/data/single-replies.tsv", True),
        ("knowledge.md B.1 [G-ERR]", False),
        ("seed:146", False),
        ("keyword", False),
        ("Postfix smtpd.c [PF]", False),
        ("pydnsbl issue 48", False),
        ("tests/data/no-such-file.tsv", False),
        ("RFC 3463 3.8", False),
        ("https://example.com/a trailing words", False),
    ],
)
def test_what_counts_as_a_citation(part: str, good: bool) -> None:
    assert is_citation(part) is good


@pytest.mark.parametrize(("where", "source"), ALL_SOURCES, ids=[w for w, _ in ALL_SOURCES])
def test_every_entry_cites_a_public_source(where: str, source: str) -> None:
    assert source.strip(), f"{where}: empty source"
    bad = [part for part in split_citations(source) if not is_citation(part)]
    assert not bad, f"{where}: not a URL, an RFC or a repository path: {bad}"


@pytest.mark.parametrize("path", DATA_FILES, ids=[str(p.relative_to(data_dir())) for p in DATA_FILES])
def test_no_data_file_points_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not [word for word in _NOT_PUBLIC if word in text], path


CHINESE = [
    (f"{name}:{where}.{key}", item)  # our own Chinese texts: the `zh` values (meaning, advice, wording)
    for name, doc in documents()
    for where, key, item in fields(doc)
    if (key == "zh" or key.endswith("_zh")) and isinstance(item, str)
]


@pytest.mark.parametrize(
    ("text", "good"),
    [
        ("服务就绪：客户端打开连接。", True),
        ("把发信IP或服务商的include:加入SPF记录；用 `mxprobe --ip IP` 检查。", True),
        ("无需处理（见 RFC 5321）。", True),
        ("服务就绪:客户端打开连接。", False),
        ("会话结束,原因在后面。", False),
        ("发信IP,然后检查", False),
        ("应答(DATA 之后)", False),
    ],
)
def test_what_counts_as_half_width_punctuation_in_chinese(text: str, good: bool) -> None:
    assert (_HALF_WIDTH.search(text) is None) is good


def test_there_are_chinese_texts_to_check() -> None:
    assert len(CHINESE) >= 1000


def test_chinese_texts_use_full_width_punctuation() -> None:
    bad = [(where, text) for where, text in CHINESE if _HALF_WIDTH.search(text)]
    assert not bad, f"{len(bad)} Chinese texts with half-width punctuation, first: {bad[:3]}"


def test_advice_gives_mxprobe_the_senders_domain() -> None:
    """mxprobe's domain argument is the sender's: advice never runs it on the recipient's domain."""
    wrong = ("mxprobe RECIPIENT-DOMAIN", "mxprobe 收件域名")
    bad = [p.name for p in TOML_FILES for w in wrong if w in p.read_text(encoding="utf-8")]
    assert not bad


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_receivers_broken_tls_is_the_receivers_to_fix(lang: str) -> None:
    """Postfix's `454 4.7.0 TLS not available due to local problem` is the receiving server's fault."""
    from mxprobe import catalogue
    from mxprobe.registry import Cause

    exp = catalogue.explain("454 4.7.0 TLS not available due to local problem")
    assert exp is not None and exp.cause == Cause.TLS and exp.specific
    advice = exp.advice.en if lang == "en" else exp.advice.zh
    assert "Enable STARTTLS" not in advice and "启用STARTTLS" not in advice
    assert "postmaster" in advice
