"""Bounce messages: every format of the corpus in tests/data/bounces/ parsed to its failed recipients, their
replies and causes; `mxprobe explain --file` and stdin on them; bad input (truncated MIME, bad bytes, a
message with no failure) as clear errors or notes, never a traceback. No network: `--check` is in
test_explain_check.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mxprobe import bounce, catalogue, inputs, maillog
from mxprobe.cli import app

DATA = Path(__file__).parent / "data"
BOUNCES = DATA / "bounces"
KEYS = ["input", "code", "enhanced", "tag", "class", "phase", "meaning", "cause", "checks", "advice", "entry",
        "specific"]  # fmt: skip
BOUNCE_KEYS = ["format", "recipient", "action", "status", "remote_mta", "reporting_mta", "sender",
               "sending_ip", "smtp_reply", "kind"]  # fmt: skip
ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}

# file -> (format, structured, sender, reporting MTA, Received sending IP,
#          [(recipient, action, status, code, cause, specific, sending IP, remote MTA)])
CORPUS: dict[str, tuple[Any, ...]] = {
    "postfix-421-no-rdns.eml": ("postfix", True, "alice@bounce.test", "mx1.bounce.test", None, [
        ("bob@dest.test", "delayed", "4.7.1", 421, "ptr", True, "192.0.2.11", "mx.dest.test")]),
    "postfix-550-two-recipients.eml": ("postfix", True, "newsletter@bounce.test", "smtp.bounce.test", None, [
        ("carol@dest2.test", "failed", "5.1.1", 550, "recipient", True, None, "mail.dest2.test"),
        ("dan@dest3.test", "failed", "5.7.1", 554, "blocklist", True, "203.0.113.5", "mx2.dest3.test")]),
    "postfix-timeout.eml": ("postfix", True, "ops@bounce.test", "relay.bounce.test", None, [
        ("jo@slow.test", "delayed", "4.4.1", 451, "network", True, None, "")]),
    "postfix-text-paste.txt": ("postfix", False, "", "mta-out.bounce.test", None, [
        ("kim@dest5.test", "failed", "5.7.26", 550, "dmarc", True, "203.0.113.77",
         "mx.dest5.test [198.51.100.55]")]),
    "exim-550.eml": ("exim", False, "sales@bounce.test", "", "203.0.113.40", [
        ("lee@dest6.test", "failed", "5.1.1", 550, "recipient", True, "203.0.113.40",
         "mx.dest6.test [198.51.100.61]"),
        ("mia@dest7.test", "failed", "5.7.1", 550, "content", True, "203.0.113.40",
         "aspmx.dest7.test [198.51.100.62]")]),
    "exim-defer.eml": ("exim", False, "billing@bounce.test", "", None, [
        ("ned@dest8.test", "delayed", "4.2.0", 450, "greylist", True, None,
         "mx1.dest8.test [198.51.100.81]")]),
    "qmail.eml": ("qmail", False, "owen@bounce.test", "mail.qbounce.test", "203.0.113.91", [
        ("pat@dest9.test", "failed", "5.1.1", 550, "recipient", True, "203.0.113.91", "198.51.100.91"),
        ("quinn@nowhere.test", "failed", "5.1.2", 554, "recipient", True, "203.0.113.91", "")]),
    "sendmail-dsn.eml": ("sendmail", True, "abby@bounce.test", "sm.bounce.test", None, [
        ("ben@dest15.test", "failed", "5.1.1", 550, "recipient", True, None, "mx.dest15.test")]),
    "o365-ndr.eml": ("exchange", True, "rita@bounce.test", "AM8PR09MB7712.eurprd09.prod.outlook.com",
                     "203.0.113.25", [
        ("sam@dest10.test", "failed", "5.1.10", 550, "recipient", True, "203.0.113.25", "")]),
    "o365-html-only.eml": ("exchange", False, "tom@bounce.test", "", None, [
        ("uma@dest11.test", "failed", "5.7.1", 550, "blocklist", True, "198.51.100.99", "")]),
    "exchange-2010.eml": ("exchange", False, "vera@bounce.test", "EXCH01.corp.bounce.test", None, [
        ("walt@dest12.test", "failed", "5.1.1", 550, "recipient", True, None, ""),
        ("xena@dest13.test", "failed", "5.7.1", 550, "blocklist", True, "203.0.113.120", "")]),
    "gmail-dsn.eml": ("gmail", True, "yara@gmail.bounce.test", "googlemail.com", None, [
        ("zed@dest14.test", "failed", "5.1.1", 550, "recipient", True, None,
         "mx.dest14.test [198.51.100.140]")]),
    "163-bounce.eml": ("china", False, "hank@163.bounce.test", "", None, [
        ("ivy@dest17.test", "failed", "5.7.1", 554, "blocklist", True, "203.0.113.61",
         "mx.dest17.test [198.51.100.170]")]),
    "qq-bounce.eml": ("china", False, "kate@bounce.test", "", None, [
        ("jack@163.dest18.test", "failed", "", 550, "spf", True, "203.0.113.62", "")]),
    "rfc3464-generic.eml": ("rfc3464", True, "dora@bounce.test", "relay.report.test", "203.0.113.50", [
        ("eli@dest21.test", "failed", "5.1.1", 550, "recipient", True, "203.0.113.50", "mx.dest21.test"),
        ("fay@dest22.test", "delayed", "4.7.1", 421, "ptr", True, "203.0.113.50", "mx.dest22.test")]),
    "truncated-mime.eml": ("postfix", True, "newsletter@bounce.test", "smtp.bounce.test", None, [
        ("carol@dest2.test", "failed", "5.1.1", 550, "recipient", True, None, "mail.dest2.test"),
        ("dan@dest3.test", "failed", "5.7.1", 554, "blocklist", True, "203.0.113.5", "mx2.dest3.test")]),
    # a helpdesk forward: the bounce is the attached message; the forwarder's `250 2.0.0 Ok` is no failure
    "postfix-forwarded.eml": ("postfix", True, "tom@example.com", "mail.example.com", None, [
        ("uma@customer.example", "failed", "4.7.1", 450, "ptr", True, "203.0.113.88",
         "mx.customer.example")]),
    # a recipient without an SMTP reply (connection refused) is listed, from its status
    "postfix-connect-refused.txt": ("postfix", False, "", "mail.example.com", None, [
        ("a@one.example", "failed", "5.1.1", 550, "recipient", True, None, "mx.one.example [198.51.100.1]"),
        ("b@two.example", "delayed", "4.7.0", 421, "helo", True, None, "mx.two.example [198.51.100.2]"),
        ("c@three.example", "failed", "4.4.1", 451, "network", True, None,
         "mx.three.example [198.51.100.3]")]),
}  # fmt: skip


def parse(name: str) -> bounce.Bounce:
    return bounce.parse((BOUNCES / name).read_bytes(), catalogue.default())


def run(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=ENGLISH)


def test_the_corpus_is_all_here() -> None:
    assert sorted(p.name for p in BOUNCES.iterdir() if p.is_file()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_format_yields_its_failed_recipients(name: str) -> None:
    fmt, structured, sender, reporter, received_ip, expected = CORPUS[name]
    found = parse(name)
    assert (found.format, found.structured, found.sender, found.reporting_mta, found.sending_ip) == (
        fmt, structured, sender, reporter, received_ip,
    )  # fmt: skip
    got = [
        (r.recipient, r.action, r.status, r.explanation.code, r.explanation.cause, r.explanation.specific,
         r.sending_ip, r.remote_mta)
        for r in found.recipients
    ]  # fmt: skip
    assert got == expected


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_format_is_detected_as_a_bounce(name: str) -> None:
    head = (BOUNCES / name).read_bytes()[: bounce.HEAD].decode("utf-8", "replace")
    assert bounce.detect(head)
    assert not maillog.looks_like_log(head)


@pytest.mark.parametrize(
    "text",
    [
        "550 5.1.1 user unknown\n421 Refused. You have no reverse DNS entry\n",
        (DATA / "logs" / "postfix.log").read_text(),
        "just some words\nand more\n",
        "Dear team: the server said 550.\n",
    ],
    ids=["replies", "log", "words", "colon-in-prose"],
)
def test_other_text_is_not_a_bounce(text: str) -> None:
    assert not bounce.detect(text)


def test_the_user_text_of_the_returned_message_is_never_a_reply() -> None:
    """Each returned message in the corpus says `550`/`421` in its body: no recipient gets those."""
    for name in (
        "exim-550.eml",
        "qmail.eml",
        "163-bounce.eml",
        "qq-bounce.eml",
        "postfix-550-two-recipients.eml",
    ):
        for failure in parse(name).recipients:
            assert "Main Street" not in failure.diagnostic and "believe" not in failure.diagnostic
            assert "报价 550 元" not in failure.diagnostic and "550 份合同" not in failure.diagnostic


def test_the_delivery_status_fields_win_and_the_text_part_completes_them() -> None:
    found = parse("truncated-mime.eml")
    assert found.notes == [
        "the message is truncated or its MIME is broken (CloseBoundaryNotFoundDefect): read what is there"
    ]
    dan = found.recipients[1]
    # the delivery-status part was cut inside dan's Diagnostic-Code: the text part's whole reply is used
    assert "blocked using zen.spamhaus.org" in dan.explanation.text
    assert dan.explanation.entry == "postfix-rbl-client"


def test_recipients_that_did_not_fail_are_counted_not_shown() -> None:
    found = parse("sendmail-dsn.eml")
    assert [r.recipient for r in found.recipients] == ["ben@dest15.test"]
    assert found.other_actions == ["delivered"]


def test_one_result_per_recipient_the_reply_that_explains_it() -> None:
    """The same reply twice is one result; of different replies, the permanent failure explains it."""
    text = (BOUNCES / "postfix-text-paste.txt").read_text()
    twice = text + "\n" + text.replace("mta-out", "mta-out2")
    assert len(bounce.parse(twice.encode(), catalogue.default()).recipients) == 1
    other = "<kim@dest5.test>: host mx.dest5.test[198.51.100.55] said: 421 4.7.0 Try again later\n\n" + text
    assert [r.explanation.code for r in bounce.parse(other.encode(), catalogue.default()).recipients] == [550]


def test_a_delivery_status_part_pasted_alone() -> None:
    text = (
        "Reporting-MTA: dns; mx.bounce.test\n\nFinal-Recipient: rfc822; lu@dest20.test\nAction: failed\n"
        "Status: 5.7.1\nDiagnostic-Code: smtp; 550 5.7.1 Service unavailable; Client host [203.0.113.8]\n"
        " blocked using zen.spamhaus.org\n"
    )
    [failure] = bounce.parse(text.encode(), catalogue.default()).recipients
    assert (failure.recipient, failure.explanation.cause, failure.sending_ip) == (
        "lu@dest20.test", "blocklist", "203.0.113.8"
    )  # fmt: skip


def test_an_mbox_from_line_and_crlf_line_ends() -> None:
    raw = (BOUNCES / "exim-550.eml").read_bytes().replace(b"\n", b"\r\n")
    data = b"From MAILER-DAEMON Wed Mar  5 09:12:44 2025\r\n" + raw
    assert bounce.detect(data[: bounce.HEAD].decode())
    assert [r.recipient for r in bounce.parse(data, catalogue.default()).recipients] == [
        "lee@dest6.test", "mia@dest7.test"
    ]  # fmt: skip


def test_a_reply_without_a_recipient_address_still_counts() -> None:
    text = "This is the mail system at host mx.bounce.test.\n\n550 5.7.1 Message rejected as spam\n"
    [failure] = bounce.parse(text.encode(), catalogue.default()).recipients
    assert (failure.recipient, failure.explanation.code) == ("", 550)


# ------------------------------------------------------------------------------------------- the CLI


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_explain_file_json_adds_the_bounce_object(name: str) -> None:
    result = run("explain", "--file", str(BOUNCES / name), "--json")
    assert result.exit_code == 0, result.output
    objects = json_lines(result.stdout)
    assert [o["bounce"]["recipient"] for o in objects] == [e[0] for e in CORPUS[name][5]]
    for obj in objects:
        assert list(obj) == [*KEYS, "bounce"]
        assert list(obj["bounce"]) == BOUNCE_KEYS
        assert obj["bounce"]["format"] == CORPUS[name][0]
    assert "Traceback" not in result.output


def test_stdin_and_file_agree() -> None:
    path = BOUNCES / "postfix-550-two-recipients.eml"
    by_file = run("explain", "--file", str(path), "--json")
    by_stdin = run("explain", "-", "--json", input=path.read_bytes())
    by_file_dash = run("explain", "--file", "-", "--json", input=path.read_bytes())
    assert by_file.stdout == by_stdin.stdout == by_file_dash.stdout


def test_human_output_names_the_recipient_and_its_facts() -> None:
    result = run("explain", "--file", str(BOUNCES / "postfix-421-no-rdns.eml"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "421 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.11]"
    assert lines[1] == "  recipient  bob@dest.test (delayed, 4.7.1, via mx.dest.test)"
    assert "  cause      ptr" in lines
    assert "  check      mxprobe --ip 192.0.2.11" in lines
    assert result.stderr == ""


def test_a_failure_without_a_reply_is_shown_by_its_status() -> None:
    result = run("explain", "--file", str(BOUNCES / "postfix-timeout.eml"))
    lines = result.stdout.splitlines()
    assert lines[0] == "4.4.1 connect to mx.slow.test[198.51.100.50]:25: Connection timed out"
    assert lines[1] == "  recipient  jo@slow.test (delayed, 4.4.1, no SMTP reply)"
    assert "  cause      network" in lines


def test_chinese_bounce_in_chinese() -> None:
    result = run("explain", "--file", str(BOUNCES / "163-bounce.eml"), "--lang", "zh")
    assert result.exit_code == 0
    assert "  收件人  ivy@dest17.test (failed, 5.7.1, via mx.dest17.test [198.51.100.170])" in result.stdout
    assert "原因" in result.stdout and "blocklist" in result.stdout


def test_a_bounce_with_failures_says_nothing_of_the_lines_it_skipped() -> None:
    result = run("explain", "--file", str(BOUNCES / "qmail.eml"))
    assert result.exit_code == 0 and result.stderr == ""


def test_a_bounce_without_a_failure_names_the_lines_it_skipped() -> None:
    result = run("explain", "-", input="This is the mail system at host mx.test.\n\nall went well\n")
    assert_one_line_error(result, "2 lines without an SMTP reply")


def test_a_forwarded_bounce_is_read_from_the_attached_message() -> None:
    result = run("explain", "--file", str(BOUNCES / "postfix-forwarded.eml"), "--json")
    [record] = json_lines(result.stdout)
    assert record["bounce"]["recipient"] == "uma@customer.example"
    assert (record["code"], record["cause"]) == (450, "ptr")
    assert "forwarded inside another message" in result.stderr


def test_a_success_reply_in_a_text_is_never_a_failure() -> None:
    text = "This is the mail system at host mx.test.\n\n<a@b.test>: 250 2.0.0 Ok: queued as 1234\n"
    assert bounce.parse(text.encode(), catalogue.default()).recipients == []


def test_every_message_of_an_mbox_is_read() -> None:
    """The third message is a delay notice whose reply names no cause: said as a delay, with no cause."""
    data = (DATA / "bounces.mbox").read_bytes()
    assert len(bounce.split_mbox(data)) == 3
    result = run("explain", "--file", str(DATA / "bounces.mbox"), "--json")
    records = json_lines(result.stdout)
    assert [(r["bounce"]["recipient"], r["cause"]) for r in records[:2]] == [
        ("bob@dest.example", "recipient"), ("dave@corp.example", "blocklist"),
    ]  # fmt: skip
    assert (records[2]["kind"], records[2]["recipients"], "cause" in records[2]) == (
        "delay", ["chris@slow.example"], False
    )  # fmt: skip
    assert "3 messages read" in result.stderr


def test_a_from_line_inside_a_body_does_not_split_an_mbox() -> None:
    data = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\nFrom here on\n"
    assert bounce.split_mbox(data) == [data]


def test_truncated_mime_is_a_note_not_an_error() -> None:
    result = run("explain", "--file", str(BOUNCES / "truncated-mime.eml"), "--json")
    assert result.exit_code == 0
    assert len(json_lines(result.stdout)) == 2
    assert result.stderr.startswith("mxprobe: note: ") and "truncated" in result.stderr


def assert_one_line_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("mxprobe: error: ") and fragment in line, line


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ((BOUNCES / "postfix-550-two-recipients.eml").read_bytes()[:700], "no failed recipient found"),
        (b"From: a@b.test\nTo: c@d.test\nSubject: hello\n\nJust a note.\n", "no failed recipient found"),
        (b"From: MAILER-DAEMON@x.test\nSubject: failure notice\n\n" + bytes(range(256)) * 64,
         "no failed recipient found"),
    ],
    ids=["cut-in-the-headers", "not-a-bounce", "binary-body"],
)  # fmt: skip
def test_a_message_without_a_failure_is_a_clear_error(data: bytes, fragment: str) -> None:
    assert_one_line_error(run("explain", "-", input=data), fragment)


def test_invalid_utf8_and_nul_bytes_in_a_bounce() -> None:
    data = (BOUNCES / "exim-550.eml").read_bytes()
    data = data.replace(b"Recipient address rejected", b"Recipient \xff\xfe\x00 address rejected", 1)
    result = run("explain", "-", "--json", input=data)
    assert result.exit_code == 0, result.output
    assert [o["bounce"]["recipient"] for o in json_lines(result.stdout)] == [
        "lee@dest6.test",
        "mia@dest7.test",
    ]


def test_a_bounce_larger_than_the_limit_is_read_in_part(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_MESSAGE", 4096)
    data = (BOUNCES / "qmail.eml").read_bytes() + b"x" * 100_000
    result = run("explain", "-", input=data)
    assert result.exit_code == 0
    assert "mxprobe: note: standard input: it is larger than" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--file", "/nonexistent/bounce.eml"], "cannot read --file /nonexistent/bounce.eml: No such file"),
        (["--file", ""], "--file needs a path"),
        (["550 x", "--file", str(BOUNCES / "qmail.eml")], "not both"),
    ],
    ids=["missing", "empty", "with-text"],
)
def test_bad_file_arguments(args: list[str], fragment: str) -> None:
    assert_one_line_error(run("explain", *args), fragment)


def test_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert_one_line_error(run("explain", "--file", str(empty)), f"{empty} is empty or blank")


# ------------------------------------------------------------------ a report pasted or written inline


def _pasted(form: str) -> str:
    """rfc3464-generic.eml as users paste it: the MIME body without the headers, or its text only."""
    text = (BOUNCES / "rfc3464-generic.eml").read_text()
    body = text[text.index("--==report") :]
    if form == "mime-body":
        return body
    lines = [line for line in body.splitlines() if not line.startswith(("--==report", "Content-Type:"))]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("form", ["mime-body", "text-only"])
def test_a_pasted_report_gives_one_result_per_failed_recipient(form: str) -> None:
    """The text part and the Diagnostic-Code say the same failure twice; the returned message's body says
    "550 reasons to call me.": one result per recipient, from the report, and never the body."""
    result = run("explain", "-", "--json", input=_pasted(form))
    assert result.exit_code == 0, result.output
    objs = json_lines(result.stdout)
    assert [(o["bounce"]["recipient"], o["code"], o["cause"]) for o in objs] == [
        ("eli@dest21.test", 550, "recipient"),
        ("fay@dest22.test", 421, "ptr"),
    ]
    assert "reasons" not in result.stdout and "Monday" not in result.stdout
    assert all(o["bounce"]["sending_ip"] == "203.0.113.50" for o in objs)


def test_a_report_found_inline_is_structured() -> None:
    found = bounce.parse(_pasted("text-only").encode(), catalogue.default())
    assert (found.structured, found.reporting_mta, found.sending_ip) == (
        True,
        "relay.report.test",
        "203.0.113.50",
    )
    assert [r.explanation.code for r in found.recipients] == [550, 421]


def test_terminal_controls_in_a_bounce_are_shown_not_sent() -> None:
    text = (
        "Reporting-MTA: dns; mx.bounce.test\n\nFinal-Recipient: rfc822; lu\x1b]0;x\x07@dest20.test\n"
        "Action: failed\nStatus: 5.7.1\n"
        "Diagnostic-Code: smtp; 550 5.7.1 \x1b[2J blocked using zen.spamhaus.org\n"
    )
    result = run("explain", "-", input=text)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "lu\\x1b]0;x\\x07@dest20.test" in result.stdout
