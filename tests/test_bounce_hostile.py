"""Bounces that attack the reader: lines that would make a regex quadratic, MIME nested a thousand deep,
header lines and message ids that look like replies, non-SMTP diagnostic types, one reply on many lines,
recipients named in every way. Each test fails when its guard goes: the linear-time ones by timing out on an
input that a quadratic scan needs minutes for (the timings themselves are in tests/bench/bench_bounces.py).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from mxprobe import bounce, catalogue, inputs
from mxprobe.cli import app

ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}
HEAD = (
    "From: MAILER-DAEMON@mx.sender.example (Mail Delivery System)\nTo: sam@sender.example\n"
    "Subject: Undelivered Mail Returned to Sender\n\nThis is the mail system at host mx.sender.example.\n\n"
)


def parse(text: str | bytes) -> bounce.Bounce:
    data = text.encode() if isinstance(text, str) else text
    return bounce.parse(data, catalogue.default())


def run(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=ENGLISH)


# ----------------------------------------------------------------------------------------- linear time

# 1 MiB of 4,095-character lines: a scan that is quadratic per line needs minutes for these, a linear one
# well under a second. The timeout is the guard, not a measure.
SHAPES = {
    "letters": "a" * 4095,
    "dotted": "a." * 2047,
    "digits": "5" * 4095,
    "codes": "550 " * 1023,
    "at-signs": "a@" * 2047,
    "at-first": "@" + "a" * 4094,
    "at-last": "a" * 4094 + "@",
    "hyphens": "a@" + "a-" * 2046,
    "addresses": "bob@example.com " * 255,
    "hosts": "host " * 819,
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_long_lines_cost_linear_time(shape: str) -> None:
    line = SHAPES[shape]
    found = parse(HEAD + (line + "\n") * 256)
    assert len(found.recipients) <= 1


@pytest.mark.timeout(20)
def test_a_long_html_bounce_costs_linear_time() -> None:
    html = "<style>" * 20_000 + "<p>" * 20_000
    data = HEAD.replace("\n\nThis is", "\nContent-Type: text/html\n\nThis is") + html
    parse(data)


# --------------------------------------------------------------------------------------- deep nesting


def nested(levels: int, *, rfc822: bool) -> bytes:
    out = HEAD.split("\n\n")[0] + "\n"
    for i in range(levels):
        if rfc822:
            out += "Content-Type: message/rfc822\n\nFrom: x@y.example\nSubject: s\n"
        else:
            out += f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'
    out += "Content-Type: text/plain\n\n<bob@dest.example>: host mx.dest.example[192.0.2.1] said: "
    out += "550 5.1.1 no such user\n"
    return out.encode()


@pytest.mark.parametrize(("levels", "rfc822"), [(1000, False), (500, True)], ids=["multipart", "rfc822"])
def test_deeply_nested_mime_ends_in_a_note_not_a_recursion_error(levels: int, rfc822: bool) -> None:
    found = parse(nested(levels, rfc822=rfc822))
    assert "nested too deeply" in " ".join(found.notes)
    assert [r.recipient for r in found.recipients] == ["bob@dest.example"]
    result = run("explain", "-", input=nested(levels, rfc822=rfc822))
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "RecursionError" not in result.output


# ------------------------------------------------------------------------------------------ attribution


@pytest.mark.parametrize(
    "line",
    [
        "Content-Length: 530",
        "Subject: 550 units and 421 boxes shipped",
        "Message-ID:\n <550-4211@mx.sender.example>",
        "See <421-77@x.example> for the log",
    ],
)
def test_header_lines_and_message_ids_are_never_replies(line: str) -> None:
    found = parse(HEAD + f"<bob@dest.example>:\nUnknown Recipient\n\n{line}\n")
    assert [(r.recipient, r.explanation.cause, r.smtp_reply) for r in found.recipients] == [
        ("bob@dest.example", "recipient", False)
    ]


def dsn(diagnostic: str, status: str = "5.3.0", extra: str = "") -> str:
    return (
        "From: MAILER-DAEMON@mx.sender.example\nTo: sam@sender.example\nSubject: Returned mail\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        f"--B\nContent-Type: text/plain\n\nThe message could not be delivered.{extra}\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.example\n\n"
        f"Final-Recipient: rfc822; prog@dest.example\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: {diagnostic}\n\n--B--\n"
    )


@pytest.mark.parametrize(
    "diagnostic",
    ["X-Unix; 255", "X-Postfix; 421 lines in the queue file", "X-Notes; 550 documents were not routed"],
)
def test_non_smtp_diagnostic_types_are_read_for_their_words_never_as_codes(diagnostic: str) -> None:
    [failure] = parse(dsn(diagnostic)).recipients
    assert not failure.smtp_reply
    assert failure.explanation.code not in (255, 421, 550)
    result = run("explain", "-", "--json", input=dsn(diagnostic))
    [line] = result.stdout.splitlines()
    record = json.loads(line)
    assert record["code"] is None and record["bounce"]["smtp_reply"] is False


def test_a_whole_reply_in_an_x_postfix_field_is_still_a_reply() -> None:
    [failure] = parse(dsn("X-Postfix; 550 5.1.1 <prog@dest.example>: user unknown", "5.1.1")).recipients
    assert failure.smtp_reply and failure.explanation.cause == "recipient"


GMAIL_LINES = (
    "This mail has been blocked because the sender is",
    "unauthenticated. Gmail requires all senders to authenticate with",
    "either SPF or DKIM.",
    "",
    "Authentication results:",
)


def test_a_multi_line_reply_is_one_result_read_whole() -> None:
    last = "550 5.7.26 DMARC = did not pass; the domain's DMARC policy is reject (in reply to DATA command)"
    reply = "\n".join(
        ["<kim@gmail.example>: host gmail-smtp-in.l.google.com[142.250.0.26] said:"]
        + [f"    550-5.7.26 {words}" for words in GMAIL_LINES]
        + [f"    {last}"]
    )
    [failure] = parse(HEAD + reply + "\n").recipients
    assert failure.recipient == "kim@gmail.example"
    assert "DMARC policy is reject" in failure.explanation.text


def test_every_recipient_appears_once_however_indented() -> None:
    text = HEAD + (
        "  ann@one.example\n    host mx.one.example [192.0.2.1]: 550 5.1.1 user unknown\n"
        "  ben@two.example\n    host mx.two.example [192.0.2.2]: 554 5.4.6 Too many hops\n"
        "  ann@one.example\n    host mx.one.example [192.0.2.1]: 550 5.1.1 user unknown\n"
    )
    found = parse(text)
    assert [(r.recipient, r.explanation.cause) for r in found.recipients] == [
        ("ann@one.example", "recipient"), ("ben@two.example", "loop"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("words", "cause"),
    [
        ("Unknown Recipient", "recipient"),
        ("Sorry, no mailbox here by that name. (#5.1.1)", "recipient"),
        ("retry timeout exceeded", "network"),
        ("User Robin Reader (robin@dest.example) not listed in Domino Directory", "recipient"),
    ],
)
def test_a_failure_in_words_only_gets_a_result_without_a_code(words: str, cause: str) -> None:
    text = HEAD + f"<robin@dest.example>:\n{words}\n"
    [failure] = parse(text).recipients
    assert (failure.recipient, failure.explanation.cause, failure.smtp_reply) == (
        "robin@dest.example",
        cause,
        False,
    )
    assert failure.explanation.specific
    [line] = run("explain", "-", "--json", input=text).stdout.splitlines()
    assert json.loads(line)["code"] is None


def test_a_status_without_words_is_a_result_that_is_not_specific() -> None:
    [failure] = parse(dsn("smtp;", "5.0.0").replace("Diagnostic-Code: smtp;\n", "")).recipients
    assert failure.status == "5.0.0" and not failure.explanation.specific and not failure.smtp_reply


# ------------------------------------------------------------------------------------ kinds of message

AUTO = (
    "From: robin@dest.example\nTo: sam@sender.example\nSubject: Automatic reply: report\n"
    "Auto-Submitted: auto-replied\n\nAway.\n"
)
ARF = (
    "From: fbl@isp.example\nTo: sam@sender.example\nSubject: complaint\nMIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\n\n'
    "--F\nContent-Type: text/plain\n\nAn abuse report.\n\n"
    "--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1\n\n--F--\n"
)
DELIVERED = dsn("smtp; 250 2.0.0 ok", "2.0.0").replace("failed", "delivered")


@pytest.mark.parametrize(
    ("data", "kind"),
    [(AUTO, "auto-reply"), (ARF, "feedback"), (DELIVERED, "delivery-report")],
    ids=["auto-reply", "feedback", "delivered"],
)
def test_a_message_that_is_not_a_failure_says_what_it_is(data: str, kind: str) -> None:
    found = parse(data)
    assert (str(found.kind), found.recipients) == (kind, [])
    assert bounce.kind_of(data.encode()) == kind
    result = run("explain", "-", "--json", input=data)
    assert result.exit_code == 0
    [line] = result.stdout.splitlines()
    assert json.loads(line)["kind"] == kind
    assert kind.replace("-", " ")[:5] in run("explain", "-", input=data).stdout.replace("-", " ")


def test_a_delay_notice_is_a_delay_and_a_bounce_a_bounce() -> None:
    delayed = dsn("smtp; 451 4.7.1 greylisted, try later", "4.7.1").replace(
        "Action: failed", "Action: delayed"
    )
    assert parse(delayed).kind == "delay"
    assert parse(dsn("smtp; 550 5.1.1 user unknown", "5.1.1")).kind == "bounce"
    [line] = run("explain", "-", "--json", input=delayed).stdout.splitlines()
    assert json.loads(line)["bounce"]["kind"] == "delay"


def test_an_ordinary_message_is_left_to_the_message_report() -> None:
    data = (
        b"From: a@b.example\nTo: c@d.example\nSubject: lunch\nMessage-ID: <1@b.example>\n\nSee you at noon.\n"
    )
    assert bounce.kind_of(data) == "message"


# ------------------------------------------------------------------------------------------ line ends


def test_a_cr_only_mbox_is_split_like_its_lf_copy() -> None:
    one = (HEAD + "<bob@dest.example>: host mx[192.0.2.1] said: 550 5.1.1 no such user\n").encode()
    mbox = (
        b"From MAILER-DAEMON Wed Mar 12 10:15:02 2025\n"
        + one
        + b"\nFrom MAILER-DAEMON Wed Mar 12 10:16:02 2025\n"
        + one
    )
    for copy in (mbox, mbox.replace(b"\n", b"\r\n"), mbox.replace(b"\n", b"\r")):
        parts = inputs.split_mbox(copy)
        assert len(parts) == 2
        assert [r.recipient for p in parts for r in parse(p).recipients] == ["bob@dest.example"] * 2


def test_an_alias_a_recipient_was_expanded_from_is_not_a_recipient() -> None:
    text = HEAD + (
        "<bob@dest.example> (expanded from <team@sender.example>): host mx.dest.example[192.0.2.1] said:\n"
        "    550 5.1.1 no such user (in reply to RCPT TO command)\n\n"
        "  ann@dest.example\n    (generated from sales@sender.example)\n"
        "    SMTP error from remote mail server after RCPT TO:<ann@dest.example>:\n"
        "    552 5.2.2 Mailbox full\n"
    )
    found = parse(text)
    assert [(r.recipient, r.explanation.cause) for r in found.recipients] == [
        ("bob@dest.example", "recipient"),
        ("ann@dest.example", "mailbox"),
    ]


def test_the_returned_message_after_a_common_marker_names_no_recipient() -> None:
    text = (
        "From: postmaster@mx.sender.example\nTo: sam@sender.example\nSubject: Undeliverable mail\n\n"
        "Delivery failed for:\n\n  bob@dest.example\n  550 5.1.1 no such user\n\n"
        "----- Original message follows -----\nFrom: sam@sender.example\nTo: carol@dest.example\n"
        "Subject: 421 boxes\n\nThe 550 units shipped.\n"
    )
    found = parse(text)
    assert [r.recipient for r in found.recipients] == ["bob@dest.example"]


def test_a_forwarded_message_in_an_ordinary_message_names_no_failure() -> None:
    data = (
        b"From: ann@b.example\nTo: c@d.example\nSubject: Fwd: lunch\nMessage-ID: <1@b.example>\n\n"
        b"---------- Forwarded message ---------\nFrom: bob@e.example\nTo: carol@f.example\n"
        b"Subject: lunch\n\nSee you at noon.\n"
    )
    assert bounce.kind_of(data) == "message"
    assert parse(data).recipients == []


def test_a_bounce_that_names_its_recipients_without_a_reason_still_lists_them() -> None:
    text = (
        "From: postmaster@corp.example\nTo: sam@sender.example\n"
        "Subject: Delivery Status Notification (Failure)\n\n"
        "Delivery to the following recipients failed.\n\n       bob@dest.example\n       carol@dest.example\n"
    )
    found = parse(text)
    assert [(r.recipient, r.explanation.specific, r.smtp_reply) for r in found.recipients] == [
        ("bob@dest.example", False, False), ("carol@dest.example", False, False),
    ]  # fmt: skip


def test_the_sender_quoted_in_an_smtp_error_is_not_the_recipient() -> None:
    text = (
        "From: Mail Delivery System <Mailer-Daemon@mx.relay.example>\nSubject: Mail delivery failed\n\n"
        "This message was created automatically by mail delivery software.\n\n  bob@dest.example\n"
        "    host mx.dest.example [192.0.2.1]\n"
        "    SMTP error from remote mail server after MAIL FROM:<sam@sender.example> SIZE=2048:\n"
        "    550 5.7.1 sender rejected\n"
    )
    assert [r.recipient for r in parse(text).recipients] == ["bob@dest.example"]


def test_every_address_of_x_failed_recipients_gets_a_result() -> None:
    text = (
        "From: Mail Delivery System <Mailer-Daemon@mx.sender.example>\nTo: sam@sender.example\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "X-Failed-Recipients: bob@dest.example, eve@dest.example\n\n"
        "A message that you sent could not be delivered to one or more of its\nrecipients.\n\n"
        "  bob@dest.example\n    host mx.dest.example [192.0.2.1]\n    550 5.1.1 no such user\n"
    )
    assert [r.recipient for r in parse(text).recipients] == ["bob@dest.example", "eve@dest.example"]


def test_a_read_receipt_is_a_receipt() -> None:
    data = (
        "From: robin@dest.example\nTo: sam@sender.example\nSubject: Read: report\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="R"\n\n'
        "--R\nContent-Type: text/plain\n\nYour message to robin@dest.example was displayed.\n\n"
        "--R\nContent-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; robin@dest.example\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n\n--R--\n"
    )
    found = parse(data)
    assert (str(found.kind), found.recipients) == ("receipt", [])
    [line] = run("explain", "-", "--json", input=data).stdout.splitlines()
    assert json.loads(line)["kind"] == "receipt"
