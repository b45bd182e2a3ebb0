"""Replies as the world writes them: the held-in set of single replies, prose-only failures, noise, the cache.

tests/data/single-replies.tsv: one reply a row (SYSTEM, CAUSE, REPLY; `\\n` in a reply is a line break; a
cause `a/b` accepts either), written from the formats and wording of real MTAs and providers in eight
languages. The accuracy test reports the share of accepted causes and fails under 95%.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from mxprobe import catalogue
from mxprobe.catalogue import load
from mxprobe.data import data_dir
from mxprobe.inputs import text_lines
from mxprobe.replies import ReplyScanner

DATA = Path(__file__).parent / "data"
ROWS = [
    line.split("\t")
    for line in (DATA / "single-replies.tsv").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
LANGUAGES = {  # language -> a word of it that some row holds
    "French": "utilisateur", "German": "postfach", "Spanish": "usuario", "Italian": "casella",
    "Portuguese": "caixa", "Russian": "пользовател", "Japanese": "存在しません", "Chinese": "用户",
}  # fmt: skip


def cause_of(reply: str) -> str | None:
    exp = catalogue.explain(reply.replace("\\n", "\n"))
    return None if exp is None else exp.cause


def test_the_set_is_wide() -> None:
    assert len(ROWS) >= 250
    assert len({system for system, _, _ in ROWS}) >= 60
    text = "".join(reply for _, _, reply in ROWS).lower()
    assert [lang for lang, word in LANGUAGES.items() if word not in text] == []
    assert sum(1 for _, _, reply in ROWS if not reply[:1].isdigit()) >= 20, "lines with no reply code"


def test_accuracy_on_single_replies(capsys: pytest.CaptureFixture[str]) -> None:
    wrong = [(s, c, cause_of(r), r[:100]) for s, c, r in ROWS if cause_of(r) not in c.split("/")]
    share = 1 - len(wrong) / len(ROWS)
    with capsys.disabled():
        print(f"\nsingle replies: {share:.1%} accepted causes ({len(ROWS) - len(wrong)}/{len(ROWS)})")
    assert share >= 0.95, wrong


@pytest.mark.parametrize(
    ("reply", "cause"),
    [
        ("550-5.7.1 This message was rejected.\n550-5.7.1 The domain example.com has a DMARC policy of\n"
         "550 5.7.1 reject and the message failed authentication.", "dmarc"),
        ("554-mx.example Service not available\n554-No SMTP service\n554-IP address is black listed.\n"
         "554 For explanation visit https://postmaster.example/", "blocklist"),
        ("DNS Error: DNS type 'mx' lookup of example.invalid responded with code NXDOMAIN Domain name not "
         "found: example.invalid", "recipient"),
        ("550 Host unknown (Authoritative answer from name server)", "recipient"),
        ("554 5.7.1 Message content rejected, UBE, id=12345-01", "content"),
        ("550 5.7.1 Bad DNS PTR resource record", "ptr"),
        ("451 Temporary local problem - please try later: IP name lookup failed for 203.0.113.7", "ptr"),
        ("550 domain [mail.example.com] mismatches client ip", "ptr"),
        ("550 Unroutable sender address", "sender"),
        ("550 5.1.0 sender rejected", "sender"),
        ("550 5.7.1 Mail refused - see http://www.spamhaus.org/query/ip/203.0.113.7", "blocklist"),
        ("554 5.7.1 Refused - see https://www.spamcop.net/bl.shtml?203.0.113.7", "blocklist"),
        ("550 5.7.1 Your IP has been blocked for abuse", "blocklist"),
        ("550 5.2.1 User account disabled", "recipient"),
        ("530 5.7.1 Unauthenticated senders not allowed", "auth"),
        ("452 4.3.1 Insufficient disk space; try again later", "server"),
        ("550 5.6.0 Header error", "content"),
        ("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "recipient"),
        ("421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred", "reputation"),
        ("554 IP=203.0.113.7 - A problem occurred. (Ask your postmaster for help or to contact "
         "tosa@rx.t-online.de to clarify.) (BL)", "blocklist"),
        ("554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.7", "blocklist"),
        ("550 5.7.1 client [203.0.113.7] blocked using zen.spamhaus.org; Error: open resolver; "
         "https://check.spamhaus.org/returnc/pub/203.0.113.1/", "blocklist"),
        ("550 5.1.1 Utilisateur inconnu", "recipient"),
        ("552 5.2.2 Postfach voll", "mailbox"),
        ("550 5.1.1 El usuario no existe", "recipient"),
        ("452 4.2.2 casella piena", "mailbox"),
        ("550 5.1.1 Usuário desconhecido", "recipient"),
        ("550 5.1.1 Пользователь не найден", "recipient"),
        ("550 5.1.1 ユーザが存在しません", "recipient"),
        ("550 5.1.1 用户不存在", "recipient"),
    ],
)  # fmt: skip
def test_shapes_named_in_the_issue(reply: str, cause: str) -> None:
    assert cause_of(reply) == cause


@pytest.mark.parametrize(
    ("line", "cause", "class_", "enhanced"),
    [
        ("connect to mx.example.com[192.0.2.10]:25: Connection timed out", "network", "transient", ""),
        ("Cannot start TLS: handshake failure", "tls", "permanent", ""),
        ("lost connection with mx.example.com[192.0.2.10] while receiving the initial server greeting",
         "network", "transient", ""),
        ("Sorry, no mailbox here by that name. (#5.1.1)", "recipient", "permanent", "5.1.1"),
        ("Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)", "network", "transient", "4.4.1"),
        ("user unknown", "recipient", "permanent", ""),
        ("Mar  3 10:00:00 mx1 postfix/smtp[1234]: 4QABC: to=<bob@example.com>, relay=none, delay=30, "
         "dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.10]:25: Connection timed out)",
         "network", "transient", "4.4.1"),  # `relay=` is a field of the record, not the word relay
    ],
)  # fmt: skip
def test_a_line_without_a_code_is_explained_with_code_null(
    line: str, cause: str, class_: str, enhanced: str
) -> None:
    exp = catalogue.explain(line)
    assert exp is not None
    assert (exp.code, exp.cause, exp.class_, exp.enhanced, exp.specific) == (
        None,
        cause,
        class_,
        enhanced,
        True,
    )
    assert exp.to_dict()["code"] is None and exp.input == line


@pytest.mark.parametrize(
    "text", ["hello world", "the weather is fine", "Connection: keep-alive", "x\x00 user unknown \x01"]
)
def test_prose_that_names_no_cause_is_no_explanation(text: str) -> None:
    assert catalogue.explain(text) is None


def test_random_bytes_hold_no_reply() -> None:
    """Issue 9 item 4 at a tenth of the size (the promise is measured on 50 MB in the closing note)."""
    rng = random.Random(5)
    noise = bytes(rng.getrandbits(8) for _ in range(5_000_000))
    scanner = ReplyScanner()
    start = time.perf_counter()
    import io

    found = [reply.code for _, reply in scanner.scan(text_lines(io.BytesIO(noise)))]
    assert found == [] and time.perf_counter() - start < 20


def test_a_code_in_noise_is_no_reply_but_a_reply_in_a_log_still_is() -> None:
    scanner = ReplyScanner()
    lines = [
        "\ufffd\x07 587 \ufffd\ufffd",
        "ab 384 \x02zz",
        "x 550 \ufffd\ufffd\ufffd\ufffd",
        "250 OK",
        "Mar 3 mx postfix/smtp[1]: 4QX: to=<a@b.c>, status=bounced (host x said: 550 user unknown)",
    ]
    assert [r.code for _, r in scanner.scan(lines)] == [250, 550]


def test_matching_is_linear_in_the_reply() -> None:
    def cost(n: int) -> float:
        text = "550 " + "spam.example blacklist-ish x[y.z " * n
        start = time.perf_counter()
        for _ in range(20):
            catalogue.explain(text)
        return time.perf_counter() - start

    cost(10)
    assert cost(4000) < 8 * cost(1000) + 0.05  # the reply is cut at MAX_LINE: long inputs cost the same


# ------------------------------------------------------------------------------------ the cache


def cache_file(directory: Path) -> Path:
    [found] = directory.glob("catalogue-*.marshal")
    return found


@pytest.mark.parametrize("kind", ["empty", "wrong-shape", "bad-entries", "truncated", "fifo", "directory"])
def test_a_hostile_cache_is_ignored_and_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    import marshal

    monkeypatch.setenv("MXPROBE_CACHE_DIR", str(tmp_path))
    first = load(data_dir() / "replies")
    path = cache_file(tmp_path)
    good = path.read_bytes()
    path.unlink()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "wrong-shape":
        path.write_bytes(marshal.dumps({"entry": 1}))
    elif kind == "bad-entries":
        documents = marshal.loads(good)
        path.write_bytes(marshal.dumps([(name, {"entry": [{"id": "Evil"}]}) for name, _ in documents]))
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    start = time.perf_counter()
    again = load(data_dir() / "replies")  # a FIFO with no writer would block a reader that waits on it
    assert time.perf_counter() - start < 5
    assert [e.id for e in again.entries] == [e.id for e in first.entries]
    if kind != "directory":
        assert path.is_file() and path.read_bytes() == good  # rebuilt


def test_a_cache_others_may_write_is_not_believed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import marshal

    monkeypatch.setenv("MXPROBE_CACHE_DIR", str(tmp_path))
    first = load(data_dir() / "replies")
    path = cache_file(tmp_path)
    documents = marshal.loads(path.read_bytes())
    name, document = documents[0]
    document["entry"] = document["entry"][1:]  # valid, but not what the files say
    tampered = marshal.dumps([(name, document), *documents[1:]])
    path.write_bytes(tampered)
    path.chmod(0o666)
    assert len(load(data_dir() / "replies").entries) == len(first.entries)
    path.write_bytes(tampered)  # the load above rebuilt the cache
    path.chmod(0o644)
    assert len(load(data_dir() / "replies").entries) == len(first.entries) - 1  # ours: believed, as fast


def test_reading_the_cache_costs_what_the_file_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache is read by its size, never into a buffer of the largest size it may have (64 MB)."""
    import tracemalloc

    monkeypatch.setenv("MXPROBE_CACHE_DIR", str(tmp_path))
    load(data_dir() / "replies")  # writes the cache
    tracemalloc.start()
    try:
        load(data_dir() / "replies")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 2**20, peak


def test_a_code_less_explanation_fits_the_published_schema() -> None:
    import json

    import jsonschema  # type: ignore[import-untyped]

    schema = json.loads((Path(catalogue.__file__).parent / "schema" / "explain.json").read_text())
    exp = catalogue.explain("connect to mx.example.com[192.0.2.10]:25: Connection timed out")
    assert exp is not None
    jsonschema.validate(exp.to_dict(), schema)


@pytest.mark.parametrize(
    "line",
    ["Diagnostic-Code: X-Unix; 255", "Content-Length: 530", "Message-ID: <550.123@example>", "size 421"],
)
def test_numbers_in_headers_are_no_replies(line: str) -> None:
    from mxprobe.replies import parse_line, parse_reply

    assert parse_reply(line) is None and parse_line(line) is None
