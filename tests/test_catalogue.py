"""The reply catalogue and its matcher: the servers' own texts resolve to their entries, in every form.

Data-driven: tests/data/seed-replies.tsv holds every reply line of the seed (LINE, ENTRY_ID, CODE, CAUSE,
REPLY_TEXT) and tests/data/provider-replies.tsv the provider and MTA texts of the reference
(EXPECTED_ENTRY_ID, EXPECTED_CAUSE, REPLY_TEXT). Rules of the matcher are proven on small catalogues written
by the tests.
"""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path

import pytest

from mxprobe import catalogue
from mxprobe.catalogue import Catalogue, CatalogueError, load, parse_reply
from mxprobe.data import data_dir
from mxprobe.model import CAUSES, CHECKS, PHASES, REPLY_CLASSES
from mxprobe.replies import MAX_LINE, ReplyScanner, iter_replies, named_ip

DATA = Path(__file__).parent / "data"


def read_tsv(name: str) -> list[list[str]]:
    """Rows of a tests/data TSV; `#` lines are comments (the header is one)."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


SEED = read_tsv("seed-replies.tsv")
PROVIDERS = read_tsv("provider-replies.tsv") if (DATA / "provider-replies.tsv").exists() else []


def write_catalogue(directory: Path, *files: tuple[str, str]) -> Catalogue:
    """A catalogue of the given (file name, TOML) pairs."""
    directory.mkdir(exist_ok=True)
    for name, text in files:
        (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return load(directory)


def entry_toml(
    id: str,
    code: int = 550,
    *,
    enhanced: str = "",
    tag: str = "",
    pattern: str = "",
    cause: str = "policy",
    klass: str | None = None,
    generic: bool = False,
    extra: str = "",
) -> str:
    klass = klass or REPLY_CLASSES[str(code)[0]]
    return f"""
    [[entry]]
    id = "{id}"
    code = {code}
    enhanced = "{enhanced}"
    tag = "{tag}"
    pattern = "{pattern}"
    phase = ["ANY"]
    class = "{klass}"
    cause = "{cause}"
    checks = []
    generic = {"true" if generic else "false"}
    source = "test"
    meaning = {{ en = "meaning of {id}", zh = "{id} 的含义" }}
    advice = {{ en = "advice for {id}", zh = "{id} 的建议" }}
    {extra}
    """


# ----------------------------------------------------------------------------- the shipped catalogue


def test_catalogue_has_at_least_300_entries() -> None:
    assert len(catalogue.entries()) >= 300


def test_every_entry_uses_the_vocabularies() -> None:
    for entry in catalogue.entries():
        assert entry.cause in CAUSES, entry.id
        assert set(entry.checks) <= set(CHECKS), entry.id
        assert entry.phase and set(entry.phase) <= set(PHASES), entry.id
        if entry.code:
            assert entry.class_ == REPLY_CLASSES[str(entry.code)[0]], entry.id
        assert entry.meaning.en and entry.meaning.zh and entry.advice.en and entry.advice.zh, entry.id


def test_ids_are_unique_and_the_catalogue_loads_once() -> None:
    ids = [e.id for e in catalogue.entries()]
    assert len(ids) == len(set(ids))
    assert catalogue.default() is catalogue.default()


def test_every_seed_reply_line_is_test_data() -> None:
    assert len(SEED) >= 126
    assert len({row[1] for row in SEED}) == len(SEED), "two seed lines name the same entry"


@pytest.mark.parametrize(("line", "entry_id", "code", "cause", "text"), SEED, ids=[row[0] for row in SEED])
def test_seed_reply_resolves_to_its_entry(line: str, entry_id: str, code: str, cause: str, text: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None, f"seed line {line}: no reply found"
    assert (exp.entry, exp.specific, exp.code, exp.cause) == (entry_id, True, int(code), cause)


def test_provider_texts_are_test_data() -> None:
    assert len(PROVIDERS) >= 60


@pytest.mark.parametrize(
    ("entry_id", "cause", "text"), PROVIDERS, ids=[f"{i + 2}-{row[0]}" for i, row in enumerate(PROVIDERS)]
)
def test_provider_reply_resolves_to_its_entry_and_cause(entry_id: str, cause: str, text: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None
    assert (exp.entry, exp.cause) == (entry_id, cause)


def test_no_reverse_dns_names_ptr_and_its_checks() -> None:
    exp = catalogue.explain("421 Refused. You have no reverse DNS entry")
    assert exp is not None
    assert (exp.cause, exp.checks, exp.specific, exp.class_) == ("ptr", ("ptr", "fcrdns"), True, "transient")


def test_netease_tag_is_explained_in_both_languages() -> None:
    exp = catalogue.explain("550 MI:SPF 发信IP未被发送域的SPF许可")
    assert exp is not None
    assert (exp.cause, exp.tag, exp.specific) == ("spf", "MI:SPF", True)
    assert "SPF" in exp.meaning.en and "SPF" in exp.meaning.zh
    assert exp.meaning.en != exp.meaning.zh


@pytest.mark.parametrize(
    "text",
    [
        "554 5.7.3 HL:ITC some text",
        "421 HL:ITC",
        "550 hl:itc lower case",
        "451 4.7.1 (HL:ITC) in brackets",
    ],
)
def test_a_tag_is_found_whatever_the_code_and_case(text: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None
    assert exp.tag.upper() == "HL:ITC" and exp.specific


def test_tag_entries_prefer_the_reply_code() -> None:
    by_code = {e.code: e.id for e in catalogue.entries() if e.tag == "DT:SPM"}
    assert len(by_code) >= 2, "the seed has DT:SPM under several codes"
    for code, entry_id in by_code.items():
        exp = catalogue.explain(f"{code} DT:SPM")
        assert exp is not None and exp.entry == entry_id


GMAIL_MULTILINE = """550-5.7.26 This mail has been blocked because the sender is unauthenticated.
550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.
550-5.7.26
550-5.7.26  Authentication results:
550-5.7.26  DKIM = did not pass
550-5.7.26  SPF [example.com] with ip: [192.0.2.1] = did not pass
550-5.7.26
550 5.7.26  For instructions on setting up authentication, go to
 https://support.google.com/mail/answer/81126#authentication - gsmtp"""
GMAIL_UNAUTHENTICATED = "gmail-5.7.26-unauthenticated"


@pytest.mark.parametrize(
    "text",
    [
        GMAIL_MULTILINE,
        GMAIL_MULTILINE.lower(),
        # a Postfix log flattens the lines into one
        "Mar  3 10:00:07 mx1 postfix/smtp[4242]: 4QABC: to=<u@gmail.com>, relay=gmail-smtp-in.l.google.com"
        "[142.250.1.26]:25, delay=1.2, dsn=5.7.26, status=bounced (host gmail-smtp-in.l.google.com"
        "[142.250.1.26] said: " + " ".join(GMAIL_MULTILINE.split()) + " (in reply to end of DATA command))",
        # a Postfix bounce wraps the reply in indented lines
        "<u@gmail.com>: host gmail-smtp-in.l.google.com[142.250.1.26] said:\n    "
        + "\n    ".join(textwrap.wrap(" ".join(GMAIL_MULTILINE.split()), 70))
        + "\n    (in reply to end of DATA command)",
    ],
    ids=["lines", "lower-case", "postfix-log", "postfix-bounce"],
)
def test_multi_line_and_embedded_gmail_reply(text: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None
    assert (exp.code, exp.enhanced, exp.entry, exp.specific) == (550, "5.7.26", GMAIL_UNAUTHENTICATED, True)


@pytest.mark.parametrize(
    ("text", "code", "enhanced", "cause"),
    [
        (
            "Mar  3 10:00:07 mx postfix/smtpd[99]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: "
            "450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.9]; "
            "from=<a@example.com> to=<b@example.net> proto=ESMTP helo=<mail.example.com>",
            450,
            "4.7.1",
            "ptr",
        ),
        (
            "2024-03-03 10:00:07 1rZ-000Abc-00 ** b@example.net R=dnslookup T=remote_smtp: SMTP error "
            "from remote mail server after RCPT TO:<b@example.net>: 550 5.7.1 Service unavailable; "
            "Client host [203.0.113.9] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.9",
            550,
            "5.7.1",
            "blocklist",
        ),
        ("Diagnostic-Code: smtp; 550 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using "
         "zen.spamhaus.org", 550, "5.7.1", "blocklist"),
        ("   >>> 421 Refused. You have no reverse DNS entry   <<<   ", 421, "", "ptr"),
        ("421 REFUSED.   YOU HAVE NO   REVERSE DNS ENTRY", 421, "", "ptr"),
    ],
    ids=["postfix-noqueue", "exim-log", "dsn-diagnostic", "noise", "upper-case-spaces"],
)  # fmt: skip
def test_reply_embedded_in_logs_and_noise(text: str, code: int, enhanced: str, cause: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None
    assert (exp.code, exp.enhanced, exp.cause, exp.specific) == (code, enhanced, cause, True)


def test_enhanced_code_fallback_is_not_specific() -> None:
    exp = catalogue.explain("550 5.1.1 zzqx no such text anywhere")
    assert exp is not None
    assert (exp.cause, exp.specific, exp.class_) == ("recipient", False, "permanent")
    assert exp.entry


@pytest.mark.parametrize(
    ("text", "entry"), [("550 5.7.124 zzqx", "enhanced-5.7.0"), ("550 5.6.11 zzqx", "enhanced-5.6.0")]
)
def test_an_unregistered_detail_is_read_by_its_subject(text: str, entry: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None and (exp.entry, exp.specific) == (entry, False)


def test_basic_code_fallback_is_not_specific() -> None:
    exp = catalogue.explain("452 zzqx no such text anywhere")
    assert exp is not None
    assert exp.specific is False and exp.entry and exp.class_ == "transient"


@pytest.mark.parametrize(
    ("text", "cause", "class_"),
    [("299 all good", "none", "success"), ("399 more", "none", "intermediate"),
     ("499 zzqx", "server", "transient"), ("599 zzqx", "policy", "permanent")],
)  # fmt: skip
def test_a_code_outside_the_catalogue_gets_a_generic_explanation(text: str, cause: str, class_: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None
    assert (exp.entry, exp.specific, exp.cause, exp.class_) == ("", False, cause, class_)
    assert exp.meaning.en and exp.meaning.zh and exp.advice.en and exp.advice.zh


def test_json_keys_are_the_contract() -> None:
    exp = catalogue.explain("550 5.1.1 user unknown")
    assert exp is not None
    d = exp.to_dict()
    assert list(d) == [
        "input", "code", "enhanced", "tag", "class", "phase", "meaning", "cause", "checks", "advice", "entry",
        "specific",
    ]  # fmt: skip
    assert set(d["meaning"]) == set(d["advice"]) == {"en", "zh"}
    assert isinstance(d["phase"], list) and isinstance(d["checks"], list)


def test_matching_is_deterministic() -> None:
    texts = [row[-1] for row in SEED + PROVIDERS]
    first = [catalogue.explain(t) for t in texts]
    assert [catalogue.explain(t) for t in texts] == first


# --------------------------------------------------------------------------------- finding replies


@pytest.mark.parametrize(
    "text",
    ["", "   ", "hello world", "Status: 5.1.1", "at 12:34:56 from 192.0.2.1:250",
     "delay=300, size=550", "see http://example.com/550 and #421", "2024-05-01", "\x00\x01\x02"],
)  # fmt: skip
def test_text_without_a_reply(text: str) -> None:
    assert parse_reply(text) is None
    assert catalogue.explain(text) is None


def test_reply_fields() -> None:
    reply = parse_reply("host x said: 550-5.7.1 first\n550-5.7.1 second\n550 5.7.1 third\nnot part of it")
    assert reply is not None
    assert (reply.code, reply.enhanced, reply.text) == (550, "5.7.1", "first second third")
    assert reply.raw == "550-5.7.1 first\n550-5.7.1 second\n550 5.7.1 third"


def test_iter_replies_separates_replies_and_counts_skipped_lines() -> None:
    lines = ["junk", "550 5.1.1 a", "450 4.2.2 b", "", "more junk", "250-mx hello", "250 OK", "  folded"]
    scanner = ReplyScanner()
    found = [(line, r.code, r.text) for line, r in scanner.scan(lines)]
    assert found == [
        ("550 5.1.1 a", 550, "a"),
        ("450 4.2.2 b", 450, "b"),
        ("250-mx hello\n250 OK\n  folded", 250, "mx hello OK folded"),
    ]
    assert (scanner.lines, scanner.skipped) == (7, 2)


def test_iter_replies_streams() -> None:
    """The first reply comes out before the input ends: a log is never read into memory."""

    def endless() -> object:
        yield "550 5.1.1 first"
        yield "421 second"
        raise AssertionError("read past the second line")

    assert next(iter(iter_replies(endless())))[1].code == 550  # type: ignore[arg-type]


def test_a_one_megabyte_line_is_cut_not_choked_on() -> None:
    start = time.perf_counter()
    assert parse_reply("x" * 1_000_000) is None
    assert parse_reply("(" * 1_000_000) is None
    reply = parse_reply("550 5.1.1 " + "user unknown " * 80_000)
    exp = catalogue.explain("550 5.1.1 " + "a[b " * 250_000)
    assert time.perf_counter() - start < 2
    assert reply is not None and len(reply.text) <= MAX_LINE
    assert exp is not None and exp.code == 550 and len(exp.text) <= MAX_LINE


def test_endless_continuation_lines_keep_memory_flat() -> None:
    lines = (f"550-5.7.1 line {i}" for i in range(200_000))
    [(carried, reply)] = list(iter_replies(lines))
    assert reply.code == 550 and len(reply.text) <= MAX_LINE and len(carried) <= 2 * MAX_LINE


# ------------------------------------------------------------------- matching rules (small catalogues)


def test_tags_come_from_the_catalogue_not_from_code(tmp_path: Path) -> None:
    cat = write_catalogue(tmp_path, ("a.toml", entry_toml("made-up", 451, tag="ZQ:XYZ", cause="content")))
    exp = cat.explain("554 ZQ:XYZ whatever")
    assert exp is not None and (exp.entry, exp.tag, exp.specific) == ("made-up", "ZQ:XYZ", True)
    assert cat.explain("554 HL:REP whatever").entry == ""  # type: ignore[union-attr]


def test_the_longest_literal_wins_and_ties_keep_file_order(tmp_path: Path) -> None:
    cat = write_catalogue(
        tmp_path,
        ("a.toml", entry_toml("short", pattern="Service not available")
         + entry_toml("long", pattern="[domain] Service not available - Unable to chdir")
         + entry_toml("tie-first", pattern="abc def")
         + entry_toml("tie-second", pattern="def abc")),
    )  # fmt: skip
    assert cat.explain("550 mx Service  NOT available - unable to chdir").entry == "long"  # type: ignore[union-attr]
    assert cat.explain("550 mx service not available").entry == "short"  # type: ignore[union-attr]
    assert cat.explain("550 abc def abc").entry == "tie-first"  # type: ignore[union-attr]


def test_ties_keep_file_order_among_indexed_patterns(tmp_path: Path) -> None:
    """Forty patterns of one length, each found by its own anchor word: file order decides, never the order a
    set of anchors comes out in (which changes with the process's hash seed)."""
    names = [f"kw{i:02d}" for i in range(40)]
    cat = write_catalogue(tmp_path, ("a.toml", "".join(entry_toml(n, pattern=f"( {n} )") for n in names)))
    exp = cat.explain("550 " + " ".join(f"( {n} )" for n in reversed(names)))
    assert exp is not None and exp.entry == "kw00"


def test_placeholders_match_variable_parts_in_order(tmp_path: Path) -> None:
    cat = write_catalogue(
        tmp_path, ("a.toml", entry_toml("grey", 450, pattern="[email_addr]: Greylisted for [n] minutes"))
    )
    assert cat.explain("450 4.7.1 <a@b.c>: Greylisted for 5 minutes").entry == "grey"  # type: ignore[union-attr]
    assert cat.explain("450 minutes Greylisted for").entry == ""  # type: ignore[union-attr]


def test_a_pattern_of_another_failure_code_matches_when_long(tmp_path: Path) -> None:
    cat = write_catalogue(
        tmp_path,
        ("a.toml", entry_toml("rdns", 450, pattern="Client host rejected: cannot find your reverse hostname",
                              cause="ptr")
         + entry_toml("ok", 250, pattern="Ok", cause="none")),
    )  # fmt: skip
    assert cat.explain("550 5.7.1 Client host rejected: cannot find your reverse hostname").cause == "ptr"  # type: ignore[union-attr]
    assert cat.explain("550 ok").entry == ""  # type: ignore[union-attr]
    assert cat.explain("250 Client host rejected: cannot find your reverse hostname").entry == ""  # type: ignore[union-attr]


def test_fallback_order_enhanced_then_basic(tmp_path: Path) -> None:
    cat = write_catalogue(
        tmp_path,
        ("b.toml", entry_toml("basic-550", generic=True, cause="recipient")
         + entry_toml("x-7-1", 0, enhanced="X.7.1", klass="permanent", generic=True)
         + entry_toml("e-5-1-1", 0, enhanced="5.1.1", klass="permanent", generic=True, cause="recipient")
         + entry_toml("ms-515", enhanced="5.7.515", pattern="Access denied, sending domain", cause="dmarc")),
    )  # fmt: skip
    results = {
        text: (e.entry, e.specific)
        for text in (
            "550 5.7.1 zz",
            "450 4.7.1 zz",
            "550 5.1.1 zz",
            "550 5.9.9 zz",
            "550 5.7.515 zz",
            "550 zz",
        )
        if (e := cat.explain(text)) is not None
    }
    assert results == {
        "550 5.7.1 zz": ("x-7-1", False),
        "450 4.7.1 zz": ("x-7-1", False),
        "550 5.1.1 zz": ("e-5-1-1", False),
        "550 5.9.9 zz": ("basic-550", False),
        "550 5.7.515 zz": ("ms-515", False),
        "550 zz": ("basic-550", False),
    }


def test_select_by_cause_code_and_tag(tmp_path: Path) -> None:
    cat = write_catalogue(
        tmp_path,
        ("a.toml", entry_toml("a", 421, tag="HL:REP", cause="reputation") + entry_toml("b", pattern="x y")),
    )
    assert [e.id for e in cat.select(tag="[hl:rep]")] == ["a"]
    assert [e.id for e in cat.select(code=550)] == ["b"]
    assert [e.id for e in cat.select(cause="reputation", code=550)] == []


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (entry_toml("bad-cause", cause="weather"), "unknown cause 'weather'"),
        (entry_toml("bad-check", pattern="x", extra='').replace("checks = []", 'checks = ["ptr", "dns"]'),
         "unknown check 'dns'"),
        (entry_toml("bad-phase", pattern="x").replace('phase = ["ANY"]', 'phase = ["HELO"]'),
         "unknown phase"),
        (entry_toml("bad-class", 450, pattern="x", klass="permanent"), "does not fit code 450"),
        (entry_toml("bad-enhanced-class", 0, enhanced="4.7.1", klass="permanent", generic=True),
         "does not fit code 4.7.1"),
        (entry_toml("no-text", 550), "needs a tag or a pattern"),
        (entry_toml("generic-pattern", pattern="x", generic=True), "no tag and no pattern"),
        (entry_toml("bad-code", 650, pattern="x", klass="permanent"), "not a reply code"),
        (entry_toml("bad-tag", tag="two words"), "tag 'two words'"),
        (entry_toml("Bad_Id", pattern="x"), "lower-case kebab"),
        (entry_toml("typo", pattern="x", extra='patern = "y"'), "unknown keys ['patern']"),
        (entry_toml("no-zh", pattern="x").replace(', zh = "no-zh 的含义"', ""), "meaning must be"),
        ("[[entry]]\nid = 'broken\n", "cannot read"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "",
)  # fmt: skip
def test_validation_names_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        write_catalogue(tmp_path, ("vendor.toml", text))
    assert "vendor.toml" in str(caught.value) and message in str(caught.value)
    entry_id = text.split('id = "')[1].split('"')[0] if 'id = "' in text else None
    if entry_id:
        assert repr(entry_id) in str(caught.value)


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"b\.toml: entry 'same': duplicate id \(also in .*a\.toml\)"):
        write_catalogue(
            tmp_path,
            ("a.toml", entry_toml("same", pattern="x")),
            ("b.toml", entry_toml("same", 421, pattern="y")),
        )


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no catalogue files"):
        load(tmp_path)


# ------------------------------------------------------------------------------------- keyword layer

KEYWORDS_FILE = data_dir() / "replies" / "keywords.toml"


@pytest.mark.parametrize(
    ("text", "cause", "class_"),
    [
        ("550 Access denied", "policy", "permanent"),
        ("550 Your message looks like spam", "content", "permanent"),
        ("550 Message rejected: your IP 203.0.113.7 has no PTR", "ptr", "permanent"),
        ("554 5.7.1 Your IP is blacklisted", "blocklist", "permanent"),
        ("550 5.7.1 DKIM signature verification failed", "dkim", "permanent"),
        ("451 4.7.1 DMARC temporary error, try later", "dmarc", "transient"),
        ("550 5.7.1 Rejected: client host [203.0.113.7] blocked using zen.spamhaus.org; 127.255.255.254",
         "blocklist", "permanent"),
        ("450 4.7.1 You are greylisted, come back later", "greylist", "transient"),
        ("552 5.2.2 Daily sending quota exceeded", "rate", "permanent"),
        ("550 5.7.1 您的IP在黑名单中", "blocklist", "permanent"),
        ("550 5.7.1 Relaying denied, access denied", "relay", "permanent"),
    ],
)  # fmt: skip
def test_words_that_name_a_cause_beat_the_code_fallbacks(text: str, cause: str, class_: str) -> None:
    exp = catalogue.explain(text)
    assert exp is not None
    assert (exp.cause, exp.class_, exp.specific) == (cause, class_, cause != "policy")
    assert exp.entry.startswith("keyword-")


def test_the_keyword_file_is_generic_any_failure_data() -> None:
    keyword_entries = [e for e in catalogue.entries() if e.keywords]
    assert {e.file for e in keyword_entries} == {"replies/keywords.toml"} and KEYWORDS_FILE.is_file()
    for e in keyword_entries:
        assert (e.code, e.enhanced, e.tag, e.pattern, e.generic, e.class_) == (0, "", "", "", True, "failure")


def keyword_catalogue(tmp_path: Path) -> Catalogue:
    def keyword_entry(id: str, cause: str, *keywords: str) -> str:
        return entry_toml(id, 0, cause=cause, klass="failure", generic=True,
                          extra=f"keywords = {list(keywords)!r}".replace("'", '"'))  # fmt: skip

    return write_catalogue(
        tmp_path,
        ("a.toml", entry_toml("basic-550", generic=True, cause="recipient")
         + entry_toml("e-5-7-1", 0, enhanced="5.7.1", klass="permanent", generic=True)
         + entry_toml("specific", pattern="has no PTR record at all", cause="ptr")),
        ("k.toml", keyword_entry("k-ptr", "ptr", "PTR", "reverse DNS")
         + keyword_entry("k-list", "blocklist", "blacklist*", "is listed", "黑名单")
         + keyword_entry("k-spam", "content", "spam")
         + keyword_entry("k-rate", "rate", "rate limit*")
         + keyword_entry("k-policy", "policy", "access denied", "policy")),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("550 5.7.1 no reverse DNS; you are blacklisted", "k-ptr"),  # the first in the text wins
        ("550 5.7.1 blacklisted: no reverse DNS", "k-list"),
        ("550 5.7.1 access denied: your IP is listed", "k-list"),  # `policy` counts only alone
        ("550 5.7.1 access denied by policy", "k-policy"),
        ("550 5.7.1 BLACKLISTED", "k-list"),  # any letter case; `*` lets the word go on
        ("550 5.7.1 rate-limited, rate limiting in force", "k-rate"),
        ("550 5.7.1 IP在黑名单中", "k-list"),
        ("550 has no PTR record at all", "specific"),  # a pattern first
        ("550 5.7.1 blocked by spamhaus", "e-5-7-1"),  # whole words only ...
        ("550 5.7.1 blocked by anti-spam", "e-5-7-1"),
        ("550 5.7.1 blocked by spam.example.com", "e-5-7-1"),
        ("550 5.7.1 see https://example.com/spam/help", "e-5-7-1"),  # ... and never a URL's path
        ("550 5.7.1 spam.", "k-spam"),
        ("550 blacklist", "k-list"),
    ],
)
def test_keyword_rules(tmp_path: Path, text: str, entry: str) -> None:
    exp = keyword_catalogue(tmp_path).explain(text)
    assert exp is not None and (exp.entry, exp.specific) == (entry, entry not in ("k-policy", "e-5-7-1"))


def test_keywords_only_explain_failures(tmp_path: Path) -> None:
    cat = keyword_catalogue(tmp_path)
    assert cat.explain("250 Ok, no PTR check today").entry == ""  # type: ignore[union-attr]
    assert cat.explain("421 no PTR").class_ == "transient"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("extra", "klass", "message"),
    [
        ('keywords = ["PTR"]', "permanent", 'class = "failure"'),
        ('keywords = ["PT*"]', "failure", "at least 4 letters"),
        ('keywords = ["two  spaces ok", "b!"]', "failure", "keyword 'b!': too short"),
        ('keywords = ["黑名单*"]', "failure", "* ends a keyword of words"),
        ('keywords = ["a*b"]', "failure", "* is for words"),
        ('keywords = ["spam"]\nstrength = "maybe"', "failure", "strength must be one of"),
    ],
)
def test_keyword_validation(tmp_path: Path, extra: str, klass: str, message: str) -> None:
    text = entry_toml("kw", 0, klass=klass, generic=True, extra=extra)
    with pytest.raises(CatalogueError, match=re.escape(message)):
        write_catalogue(tmp_path, ("vendor.toml", text))


def test_a_keyword_entry_is_generic_and_any_code(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="a keyword entry is generic = true, with code = 0"):
        write_catalogue(tmp_path, ("v.toml", entry_toml("kw", 550, generic=True, extra='keywords = ["x1"]')))
    with pytest.raises(CatalogueError, match="markers go with a pattern"):
        write_catalogue(tmp_path, ("v.toml", entry_toml("m", tag="AB:1", extra='markers = ["gsmtp"]')))


# --------------------------------------------------------------------- the reply code decides the class


@pytest.mark.parametrize(
    ("text", "entry", "class_"),
    [("550 4.7.1 x", "enhanced-5.7.1", "permanent"), ("450 5.7.1 x", "enhanced-4.7.1", "transient"),
     ("554 4.1.1 x", "enhanced-5.1.1", "permanent")],
)  # fmt: skip
def test_an_enhanced_code_of_another_class_is_read_in_the_replys_class(
    text: str, entry: str, class_: str
) -> None:
    exp = catalogue.explain(text)
    assert exp is not None and (exp.entry, exp.class_, exp.specific) == (entry, class_, False)
    words = (exp.meaning.en + exp.advice.en).lower()
    assert ("temporary" in words) == (class_ == "transient")
    assert ("permanent" in words) == (class_ == "permanent")


# ------------------------------------------------------------------------------- provider markers

TRY_LATER = "421 4.7.0 Try again later, closing connection."


@pytest.mark.parametrize(
    ("text", "gmail"),
    [
        (TRY_LATER, False),
        ("Mar  3 10:00:07 mx1 sendmail[4242]: 52JL5eAB004409: to=<a@example.net>, mailer=esmtp, "
         f"relay=mx.example.net. [192.0.2.8], dsn=4.0.0, stat=Deferred: {TRY_LATER}", False),
        (f"{TRY_LATER} (EHLO) c3-20020a17090a000300b00 - gsmtp", True),
        ("Mar  3 10:00:07 mx1 postfix/smtp[1]: 4QABC: to=<u@gmail.com>, relay=gmail-smtp-in.l.google.com"
         f"[142.250.1.26]:25, delay=1, dsn=4.7.0, status=deferred (host gmail-smtp-in.l.google.com"
         f"[142.250.1.26] refused to talk to me: {TRY_LATER})", True),
    ],
    ids=["bare", "sendmail-log", "gsmtp", "google-relay"],
)  # fmt: skip
def test_a_providers_generic_words_need_its_marker(text: str, gmail: bool) -> None:
    exp = catalogue.explain(text)
    assert exp is not None
    assert (exp.entry == "gmail-4.7.0-try-again-later") is gmail
    assert ("Google" in exp.meaning.en) is gmail


def test_markers_are_read_in_the_input_and_the_context(tmp_path: Path) -> None:
    cat = write_catalogue(
        tmp_path, ("a.toml", entry_toml("p", 421, pattern="closing connection", extra='markers = ["ACME"]'))
    )
    reply = parse_reply("421 closing connection")
    assert reply is not None
    assert cat.match(reply).entry == ""
    assert cat.match(reply, "host mx.acme.example said: 421 closing connection").entry == "p"
    assert cat.match(reply, context="mx.acme.example").entry == "p"
    assert cat.markers_in("MX.ACME.EXAMPLE") == ("acme",)


# ------------------------------------------------------------------------- checks of auth causes


def test_authentication_causes_list_every_check_that_proves_them() -> None:
    for e in catalogue.entries():
        checks = set(e.checks)
        if e.cause in ("dkim", "dmarc"):
            assert {"dkim", "dmarc"} <= checks, e.id
        if e.cause == "dmarc":
            assert "spf" in checks, e.id
        if e.cause == "spf":
            assert {"spf", "spf-record"} <= checks, e.id
    by_id = {e.id: set(e.checks) for e in catalogue.entries()}
    for entry_id, wanted in {
        "gmail-5.7.26-unauthenticated": {"dmarc", "spf", "dkim"},
        "gmail-5.7.26-spf-hardfail": {"spf", "spf-record", "dkim", "dmarc"},
        "gmail-5.7.30-dkim": {"dkim", "dmarc"},
        "microsoft-5.7.515-authentication-level": {"dmarc", "spf", "dkim"},
        "netease-mi-dma": {"dmarc", "spf", "dkim"},
        "netease-dt-sum": {"spf", "dkim", "dmarc"},
        "qq-dmarc-check-failed": {"dmarc", "spf", "dkim"},
        "qq-spf-check-failed": {"spf", "spf-record"},
    }.items():
        assert wanted <= by_id[entry_id], entry_id


# ---------------------------------------------------------------------------- what a reply names


@pytest.mark.parametrize(
    ("text", "ip"),
    [
        ("blocked using zen.spamhaus.org; 127.255.255.254", None),
        ("127.0.0.2 listed; client [203.0.113.7] blocked", "203.0.113.7"),
        ("at 198.51.100.1 we saw your IP 203.0.113.5", "203.0.113.5"),
        ("from 0.0.0.0 or 224.0.0.5 or ::1 or 169.254.1.1 or 240.0.0.1", None),
        ("Messages from 2001:db8:2::9 temporarily deferred", "2001:db8:2::9"),
        ("[203.0.113.9      15] The IP address", "203.0.113.9"),
        ("seen 198.51.100.1 then 198.51.100.2", "198.51.100.1"),
    ],
)
def test_named_ip_is_a_sending_address(text: str, ip: str | None) -> None:
    assert named_ip(text) == ip


def test_postfix_in_reply_to_is_not_part_of_the_reply() -> None:
    for text in (
        "host mx[192.0.2.1] said: 550 5.1.1 <a@b.test>: User unknown (in reply to RCPT TO command))",
        "550 5.1.1 <a@b.test>: User unknown\n    (in reply to RCPT TO command)",
    ):
        reply = parse_reply(text)
        assert reply is not None and reply.text == "<a@b.test>: User unknown", reply


@pytest.mark.parametrize(
    ("text", "reply_text"),
    [
        ("Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found'",
         "RESOLVER.ADR.RecipientNotFound; not found"),
        ("<mx.dest.test 550 5.4.1 Recipient address rejected: Access denied. AS(201806281)>",
         "Recipient address rejected: Access denied. AS(201806281)"),
        ("550 5.1.1 <a@dest.test>", "<a@dest.test>"),  # the server's own brackets stay
        ("550 5.7.1 it's 'spam'", "it's 'spam'"),
    ],
)  # fmt: skip
def test_a_closing_quote_of_exchange_text_is_not_part_of_the_reply(text: str, reply_text: str) -> None:
    reply = parse_reply(text)
    assert reply is not None and reply.text == reply_text


@pytest.mark.parametrize(("value", "fragment"), [(None, "not NoneType"), (b"550 5.1.1 x", "decode it first")])
def test_the_python_api_refuses_what_is_not_text_with_a_clear_error(value: object, fragment: str) -> None:
    import mxprobe

    with pytest.raises(mxprobe.InputError, match=fragment):
        mxprobe.explain(value)  # type: ignore[arg-type]


def test_the_python_api_returns_none_for_a_text_without_a_reply() -> None:
    import mxprobe

    assert mxprobe.explain("hello, no reply here") is None
    found = mxprobe.explain("550 5.1.1 user unknown")
    assert found is not None and found.cause == "recipient"
