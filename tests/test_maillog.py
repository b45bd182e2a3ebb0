"""Mail logs: the records of Postfix, Exim and Sendmail lines (tests/data/logs/), `explain --summary` on a
generated log compared with what the generator wrote, the reply cache's soundness and bounds, and bad input
(a 50 MB line, invalid UTF-8, binary) as counted skips or one-line errors.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from maillog_gen import DOMAINS, write_postfix_log
from typer.testing import CliRunner, Result

from mxprobe import catalogue, maillog
from mxprobe.cli import app
from mxprobe.replies import parse_reply

DATA = Path(__file__).parent / "data"
LOGS = DATA / "logs"
ROOT = Path(__file__).resolve().parents[1]
ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}

# (time, queue id, recipient, domain, relay, relay ip, status, dsn, mta, reply starts with)
EXPECTED = {
    "postfix.log": [
        ("Mar  3 10:00:02", "4TXk2H0Zq9z1xyA", "ann@dest1.test", "dest1.test", "mx.dest1.test",
         "198.51.100.11", "delivered", "2.0.0", "postfix", "250 2.0.0 Ok: queued as 4TXk2J2pQnz9s"),
        ("Mar  3 10:00:03", "4TXk2H0Zq9z1xyA", "bo@dest2.test", "dest2.test", "mx.dest2.test",
         "198.51.100.12", "deferred", "4.2.0", "postfix",
         "450 4.2.0 <bo@dest2.test>: Recipient address rejected: Greylisted"),
        ("Mar  3 10:00:04", "4TXk2H0Zq9z1xyA", "cy@dest3.test", "dest3.test", "mx.dest3.test",
         "198.51.100.13", "bounced", "5.1.1", "postfix",
         "550 5.1.1 <cy@dest3.test>: Recipient address rejected: User unknown"),
        ("Mar  3 10:00:05", "4TXk2L5Mb3z1xyC", "di@dest4.test", "dest4.test", "", "", "deferred", "4.4.1",
         "postfix", "connect to mx.dest4.test[198.51.100.14]:25: Connection timed out"),
        ("Mar  3 10:00:06", "4TXk2M1Tc8z1xyD", "ed@gmail.test", "gmail.test", "gmail-smtp-in.l.google.test",
         "198.51.100.15", "deferred", "4.7.0", "postfix", "421-4.7.0 [203.0.113.9      15] The IP address"),
        ("Mar  3 10:00:07", "NOQUEUE", "postmaster@bounce.test", "bounce.test", "unknown", "203.0.113.200",
         "rejected", "", "postfix", "450 4.7.1 Client host rejected: cannot find your reverse hostname"),
        ("Mar  3 10:00:08", "NOQUEUE", "info@bounce.test", "bounce.test", "", "203.0.113.201", "rejected", "",
         "postfix", "550 5.7.1 Service unavailable; client [203.0.113.201] blocked using zen.spamhaus.org"),
        ("2025-03-03T10:00:09.123456+00:00", "4TXk2N2Vd1z2abc", "fi@dest5.test", "dest5.test",
         "mx.dest5.test", "2001:db8:5::25", "bounced", "5.7.1", "postfix",
         "550 5.7.1 [TSS04] Messages from 2001:db8:2::9"),
    ],
    "exim.log": [
        ("2025-03-05 09:12:41", "1tpmXO-000Aa9-2K", "ha@dest1.test", "dest1.test", "mx.dest1.test",
         "198.51.100.21", "delivered", "", "exim", "250 2.0.0 Ok: queued as 4TZ1"),
        ("2025-03-05 09:12:41", "1tpmXO-000Aa9-2K", "io@dest1.test", "dest1.test", "mx.dest1.test",
         "198.51.100.21", "delivered", "", "exim", "250 2.0.0 Ok"),
        ("2025-03-05 09:12:42", "1tpmXO-000Aa9-2K", "lee@dest6.test", "dest6.test", "mx.dest6.test",
         "198.51.100.61", "bounced", "", "exim", "550 5.1.1 <lee@dest6.test>: Recipient address rejected"),
        ("2025-03-05 09:12:43", "1tpmXO-000Aa9-2K", "ned@dest8.test", "dest8.test", "mx1.dest8.test",
         "198.51.100.81", "deferred", "", "exim", "450 4.2.0 <ned@dest8.test>: Recipient address rejected"),
        ("2025-03-05 09:12:44.217 +0000", "1tpmXQ-000000AbCd-0z", "oz@slow.test", "slow.test", "", "",
         "deferred", "4.4.1", "exim", "Connection timed out"),
        ("2025-03-05 09:12:45", "1tpmXO-000Aa9-2K", "nobody@nowhere.test", "nowhere.test", "", "", "bounced",
         "", "exim", "Unrouteable address"),
        ("Mar  5 09:12:46", "1tpmXR-000AbD-1a", "pia@dest9.test", "dest9.test", "mx.dest9.test",
         "198.51.100.91", "bounced", "", "exim",
         "554 5.7.1 Service unavailable; Client host [203.0.113.40] blocked"),
    ],
    "sendmail.log": [
        ("Mar 19 17:05:44", "52JL5eAB004409", "ben@dest15.test", "dest15.test", "mx.dest15.test",
         "198.51.100.150", "bounced", "5.1.1", "sendmail", "User unknown"),
        ("Mar 19 17:05:44", "52JL5eAB004409", "cleo@dest16.test", "dest16.test", "mx.dest16.test",
         "198.51.100.160", "delivered", "2.0.0", "sendmail", "Sent (4TZk2m1x2Vz9s"),
        ("Mar 19 17:05:44", "52JL5eAB004409", "dax@dest16.test", "dest16.test", "mx.dest16.test",
         "198.51.100.160", "delivered", "2.0.0", "sendmail", "Sent (4TZk2m1x2Vz9s"),
        ("Mar 19 17:06:02", "52JL5wAB004420", "eve@dest17.test", "dest17.test", "mx.dest17.test",
         "198.51.100.170", "deferred", "4.2.0", "sendmail", "450 4.2.0 <eve@dest17.test>... Recipient"),
        ("Mar 19 17:07:10", "52JL6xAB004431", "fay@dest18.test", "dest18.test", "mx.dest18.test", "",
         "deferred", "4.0.0", "sendmail", "Connection timed out with mx.dest18.test."),
    ],
}  # fmt: skip
SKIPPED = {"postfix.log": 7, "exim.log": 2, "sendmail.log": 1}  # one Sendmail line names two recipients
# cause of each failure, in log order
CAUSES = {
    "postfix.log": ["greylist", "recipient", "network", "ptr", "ptr", "blocklist", "reputation"],
    "exim.log": ["recipient", "greylist", "network", "recipient", "blocklist"],
}


def run(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=ENGLISH)


def records(name: str) -> tuple[list[maillog.Record], maillog.LogReader]:
    reader = maillog.LogReader()
    found = list(reader.records((LOGS / name).read_text().splitlines()))
    return found, reader


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_syntax_yields_its_records(name: str) -> None:
    found, reader = records(name)
    got = [
        (r.time, r.queue_id, r.recipient, r.domain, r.relay, r.relay_ip, r.status, r.dsn, r.mta)
        for r in found
    ]
    assert got == [e[:9] for e in EXPECTED[name]]
    for record, expected in zip(found, EXPECTED[name], strict=True):
        assert record.reply.startswith(expected[9]), (record.reply, expected[9])
        assert "(in reply to" not in record.reply and "; from=<" not in record.reply
    lines = sum(1 for line in (LOGS / name).read_text().splitlines() if line.strip())
    assert (reader.lines, reader.skipped) == (lines, SKIPPED[name])


@pytest.mark.parametrize("name", sorted(CAUSES))
def test_each_failure_gets_its_cause(name: str) -> None:
    found, _ = records(name)
    summary = maillog.Summary(catalogue.default())
    causes = [
        summary.matcher.match(maillog.record_reply(r))[1].cause for r in found if r.status != "delivered"
    ]
    assert causes == CAUSES[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_logs_are_detected_as_logs(name: str) -> None:
    assert maillog.looks_like_log((LOGS / name).read_text())


def test_replies_and_prose_are_not_logs() -> None:
    assert not maillog.looks_like_log("550 5.1.1 user unknown\n421 try later\n")
    assert not maillog.looks_like_log("")
    mixed = "junk\n421 Refused\nmore junk\n" + (LOGS / "postfix.log").read_text().splitlines()[0]
    assert not maillog.looks_like_log(mixed)


# ----------------------------------------------------------------------------------- generated logs


def summary_of(text: str) -> dict[str, Any]:
    reader = maillog.LogReader()
    result = maillog.Summary(catalogue.default()).add_all(reader.records(text.splitlines(keepends=True)))
    return result.to_dict(reader)


def test_summary_of_a_generated_log_matches_what_the_generator_wrote() -> None:
    out = io.StringIO()
    expected = write_postfix_log(out, 20_000, seed=11)
    data = summary_of(out.getvalue())
    assert (data["lines"], data["records"], data["skipped"]) == (
        expected.lines, expected.records, expected.lines - expected.records,
    )  # fmt: skip
    assert data["statuses"] == {s: expected.statuses[s] for s in maillog.STATUSES}
    failed = sum(expected.causes.values())
    assert data["failed"] == failed
    causes = {c["cause"]: c for c in data["causes"]}
    assert {name: c["count"] for name, c in causes.items()} == dict(expected.causes)
    for name, c in causes.items():
        assert (c["first_seen"], c["last_seen"]) == (expected.first[name], expected.last[name])
        assert c["share"] == round(expected.causes[name] / failed, 4)
        assert 0 < c["top_reply"]["count"] <= c["count"]
    domains = {d["domain"]: d for d in data["domains"]}
    assert set(domains) == set(expected.domains) <= set(DOMAINS)
    for name, counts in expected.domains.items():
        assert {s: domains[name][s] for s in maillog.OUTBOUND} == {s: counts[s] for s in maillog.OUTBOUND}
    inbound = data["inbound_rejects"]
    assert (inbound["count"], inbound["causes"]) == (expected.statuses["rejected"], dict(expected.inbound))
    order = [(d["failed"], d["records"]) for d in data["domains"]]
    assert order == sorted(order, reverse=True)


def test_the_most_frequent_reply_collapses_the_variable_parts() -> None:
    out = io.StringIO()
    write_postfix_log(out, 5_000, seed=3)
    causes = {c["cause"]: c for c in summary_of(out.getvalue())["causes"]}
    # Every TSS04 reply differs (IP, a digit of the trace), every blocklist reply names the same IP: one each.
    for name in ("reputation", "blocklist", "spf", "ptr"):
        top = causes[name]["top_reply"]
        if name != "ptr":  # ptr mixes Gmail's deferral and Postfix rejects of many clients
            assert top["count"] == causes[name]["count"], name
        assert top["specific"] is True and top["entry"]


def test_summary_cli_json_and_table(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    with log.open("w") as f:
        expected = write_postfix_log(f, 3_000, seed=7)
    result = run("explain", "--summary", "--file", str(log), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (
        data["records"] == expected.records and data["statuses"]["rejected"] == expected.statuses["rejected"]
    )
    assert list(data) == [
        "lines", "skipped", "records", "mtas", "statuses", "failed", "causes", "domains", "inbound_rejects"
    ]  # fmt: skip
    table = run("explain", "--summary", "-", input=log.read_bytes())
    assert table.exit_code == 0
    text = table.stdout
    assert text.startswith(
        f"mail log: {expected.lines:,} lines, {expected.records:,} delivery records (postfix"
    )
    assert f"\nfailures by cause ({sum(expected.causes.values()):,})\n" in text
    top = max(expected.causes, key=lambda c: expected.causes[c])
    assert f"  {top} " in text.split("failures by cause")[1].splitlines()[2]
    assert "failures by destination domain" in text and "\x1b[" not in text


def test_summary_of_the_excerpts_in_every_syntax() -> None:
    text = "".join((LOGS / name).read_text() for name in sorted(EXPECTED))
    result = run("explain", "--summary", "-", "--json", input=text)
    data = json.loads(result.stdout)
    assert data["mtas"] == {"postfix": 8, "exim": 7, "sendmail": 5}
    assert data["statuses"] == {"delivered": 5, "deferred": 7, "bounced": 6, "rejected": 2}


def assert_one_line_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("mxprobe: error: ") and fragment in line, line


@pytest.mark.parametrize(
    ("args", "input", "fragment"),
    [
        (["--summary", "550 5.1.1 x"], None, "--summary reads a mail log"),
        (["--summary", "-"], "550 5.1.1 user unknown\n", "no mail delivery record found in standard input"),
        (["--summary", "-"], "", "standard input is empty"),
        (["--summary", "--check", "-"], "x", "do not go together"),
        (["--summary", "-"], bytes(range(256)) * 100, "no mail delivery record found"),
    ],
    ids=["text-argument", "replies", "empty", "with-check", "binary"],
)
def test_summary_bad_input(args: list[str], input: str | bytes | None, fragment: str) -> None:
    assert_one_line_error(run("explain", *args, input=input), fragment)


def test_invalid_utf8_and_binary_lines_are_skipped_and_counted() -> None:
    good = (LOGS / "postfix.log").read_bytes().splitlines(keepends=True)
    data = (
        b"".join(good[:6])
        + b"\xff\xfe\x00 binary \x01\x02\n"
        + good[6].replace(b"bo@", b"b\xe9@")
        + b"".join(good[7:])
    )
    result = run("explain", "--summary", "-", "--json", input=data)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["records"] == 8 and summary["lines"] == len(good) + 1
    assert any(d["domain"] == "dest2.test" for d in summary["domains"])


def test_a_50_mb_line_is_skipped_with_flat_memory(tmp_path: Path) -> None:
    """Run as a process whose allocations are traced: reading the line whole would cost over 50 MB."""
    log = tmp_path / "big.log"
    lines = (LOGS / "postfix.log").read_bytes()
    with log.open("wb") as f:
        f.write(lines)
        f.write(
            b"Mar  3 10:00:12 mx1 postfix/smtp[9]: 4TXk: to=<x@y.test>, status=sent (" + b"x" * 50_000_000
        )
        f.write(b")\n")
        f.write(lines)
    code = (
        "import sys, tracemalloc\n"
        "tracemalloc.start()\n"
        "from mxprobe.cli import main\n"
        "try:\n    main(['explain', '--summary', '--json', '--file', sys.argv[1]])\n"
        "finally:\n    print(tracemalloc.get_traced_memory()[1], file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(log)], capture_output=True, timeout=60, cwd=ROOT,
        env={**os.environ, **ENGLISH},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["records"] == 16 and data["skipped"] == 2 * 7 + 1
    peak = int(done.stderr.decode().strip().splitlines()[-1])
    assert peak < 30 * 2**20, f"peak memory {peak / 2**20:.0f} MiB"


# --------------------------------------------------------------------------------- the reply cache


def corpus_replies() -> list[str]:
    texts = []
    for name in ("seed-replies.tsv", "provider-replies.tsv"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                texts.append(line.split("\t")[-1])
    return texts


def test_the_cache_gives_what_the_matcher_gives() -> None:
    """Every reply of the test corpus, then the same with its numbers and addresses changed, through one
    cache: a key that merged two replies the catalogue tells apart would give one of them the wrong entry."""
    cat = catalogue.default()
    matcher = maillog.CachedMatcher(cat)
    variants = []
    for text in corpus_replies():
        variants.append(text)
        changed = text.translate(str.maketrans("0123456789", "9876543210"))
        variants.append(changed.replace("@", "@x") if changed[:3].isdigit() else text)
    for text in variants:
        reply = parse_reply(text)
        if reply is None:
            continue
        assert matcher.match(reply)[1].entry == cat.match(reply).entry, text
    assert matcher.hits > 0


def test_the_cache_is_bounded() -> None:
    matcher = maillog.CachedMatcher(catalogue.default(), size=8)
    for n in range(100):
        reply = parse_reply(f"550 5.7.1 rejected by policy rule{chr(97 + n % 26)}{chr(97 + n // 26)}")
        assert reply is not None
        matcher.match(reply)
    assert len(matcher._cache) == 8 and matcher.misses == 100


def test_replies_counted_per_cause_are_bounded() -> None:
    summary = maillog.Summary(catalogue.default())
    for n in range(maillog.REPLIES_PER_CAUSE * 3):
        word = "".join(chr(97 + (n // 26**i) % 26) for i in range(3))
        summary.add(
            maillog.Record(
                "t", "q", "a@b.test", "b.test", "", "", "bounced", f"550 5.7.1 policy {word}", "", "p"
            )
        )
    [stats] = summary.causes.values()
    assert len(stats.replies) <= maillog.REPLIES_PER_CAUSE
    assert stats.count == maillog.REPLIES_PER_CAUSE * 3


# ------------------------------------------------------------------------ failures without a reply

NO_REPLY = [
    ("4.4.1", "deferred", "connect to mx.dest31.test[192.0.2.1]:25: Connection timed out"),
    ("4.4.1", "deferred", "connect to mx.dest32.test[192.0.2.2]:25: Connection refused"),
    ("5.4.4", "bounced", "Host or domain name not found. Name service error for name=dest33.test type=A: "
     "Host not found"),
    ("4.4.2", "deferred", "lost connection with mx.dest34.test[192.0.2.4] while receiving the initial server "
     "greeting"),
    ("4.4.3", "deferred", "Host or domain name not found. Name service error for name=dest35.test type=MX: "
     "Host not found, try again"),
]  # fmt: skip


def no_reply_log() -> str:
    return "".join(
        f"Mar  3 10:01:0{i} mx1 postfix/smtp[2{i}]: 4QNR{i}: to=<u{i}@dest3{i + 1}.test>, relay=none, "
        f"delay=30, delays=0/0/30/0, dsn={dsn}, status={status} ({text})\n"
        for i, (dsn, status, text) in enumerate(NO_REPLY)
    )


def test_summary_counts_failures_without_a_reply_as_network_and_a_missing_domain_as_recipient() -> None:
    result = run("explain", "--summary", "-", "--json", input=no_reply_log())
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["records"], data["skipped"], data["failed"]) == (5, 0, 5)
    assert [(c["cause"], c["count"]) for c in data["causes"]] == [("network", 4), ("recipient", 1)]


def test_explain_on_a_log_explains_failures_without_a_reply_and_drops_postfix_words() -> None:
    log = (LOGS / "postfix.log").read_text() + no_reply_log()
    result = run("explain", "-", "--json", input=log)
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    network = [o for o in objs if o["cause"] == "network"]
    assert len(network) == 5  # the excerpt's timeout and four above (5.4.4: the domain does not exist)
    human = run("explain", "-", input=log)
    assert "(in reply to" not in human.stdout and "command))" not in human.stdout
    headers = [block.splitlines()[0] for block in human.stdout.split("\n\n")]
    assert "4.4.1 connect to mx.dest32.test[192.0.2.2]:25: Connection refused" in headers  # no stand-in code
    assert (
        "550 5.1.1 <cy@dest3.test>: Recipient address rejected: User unknown in virtual mailbox table"
        in headers
    )
    assert human.stderr == (
        "mxprobe: skipped 6 lines without an SMTP reply\n"
        "mxprobe: 1 delivered lines not shown (only failures are)\n"
    )


def test_explain_on_a_log_shows_failures_only_each_with_its_record() -> None:
    log = (DATA / "qa-logs" / "postfix.log").read_text()
    result = run("explain", "-", "--json", input=log)
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(o["code"] >= 400 for o in objs) and len(objs) == 14  # m1, m2: one reply
    first = objs[0]["log"]
    assert first == {"time": "Mar 18 10:00:01", "queue_id": "NOQUEUE", "recipient": "info@example.com",
                     "status": "rejected", "relay": "unknown", "relay_ip": "203.0.113.200",
                     "mta": "postfix"}  # fmt: skip
    assert {o["log"]["status"] for o in objs} == {"rejected", "deferred", "bounced"}
    assert "mxprobe: 4 delivered lines not shown (only failures are)" in result.stderr
    human = run("explain", "-", input=log)
    assert "250 2.0.0" not in human.stdout
    assert "  record   Mar 18 10:00:03 4A1B2C3D4E bob@gmail.com (bounced)\n" in human.stdout
    chinese = run("explain", "--lang", "zh", "-", input=log)
    assert "mxprobe: 未显示 4 条投递成功的记录（只显示失败）" in chinese.stderr


GMAIL_RELAY = "gmail-smtp-in.l.google.com"


@pytest.mark.parametrize("relay", [GMAIL_RELAY, "mx.dest40.test"])
def test_summary_reads_provider_markers_in_the_relay(relay: str) -> None:
    line = (
        f"Mar  3 10:02:00 mx1 postfix/smtp[31]: 4QTA1: to=<v@dest40.test>, relay={relay}[192.0.2.40]:25, "
        f"delay=1, delays=0/0/1/0, dsn=4.7.0, status=deferred (host {relay}[192.0.2.40] refused to talk to "
        "me: 421 4.7.0 Try again later, closing connection.)\n"
    )
    [cause] = summary_of(line)["causes"]
    assert (cause["top_reply"]["entry"] == "gmail-4.7.0-try-again-later") is (relay == GMAIL_RELAY)


def test_terminal_controls_in_a_log_are_shown_not_sent() -> None:
    line = (
        "Mar  3 10:02:00 mx1 postfix/smtp[31]: 4QTA1: to=<v@dest\x1b[31m41.test>, "
        "relay=mx.dest41.test[192.0.2.41]:25, delay=1, delays=0/0/1/0, dsn=5.7.1, status=bounced "
        "(host mx.dest41.test[192.0.2.41] said: 550 5.7.1 \x1b]0;title\x07 spam)\n"
    )
    for args in (["--summary", "-"], ["-"]):
        result = run("explain", *args, input=line)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout, args


def test_inbound_rejects_of_every_mta_are_counted_apart_from_the_users_failures() -> None:
    text = "".join(p.read_text() for p in sorted((DATA / "qa-logs").glob("*.log")))
    result = run("explain", "--summary", "-", "--json", input=text)
    data = json.loads(result.stdout)
    # Postfix NOQUEUE x3, Exim `rejected RCPT`, Sendmail `reject=`: mail of others, refused here
    assert data["inbound_rejects"]["count"] == data["statuses"]["rejected"] == 5
    assert data["inbound_rejects"]["causes"] == {"relay": 3, "ptr": 1, "recipient": 1}
    assert data["failed"] == data["statuses"]["deferred"] + data["statuses"]["bounced"] == 21
    assert sum(c["count"] for c in data["causes"]) == 21
    domains = {d["domain"] for d in data["domains"]}
    assert not domains & {"foreign.example", "example.com"}  # the rejected recipients are this server's
    table = run("explain", "--summary", "-", input=text).stdout
    assert "inbound rejects: 5 (mail from others refused by this server" in table
    assert "\nfailures by cause (21)\n" in table
