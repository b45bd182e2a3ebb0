"""Delivered messages read without DNS (`mxprobe explain --file MSG` without --check): the Received chain of
each provider, which Authentication-Results to trust, the spam verdict headers, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from messaging import GOOD_RESULTS, core, gmail, good, sign, submitted
from typer.testing import CliRunner

from mxprobe.cli import app
from mxprobe.message import authres, spam
from mxprobe.message.fields import MAX_FIELD, parse
from mxprobe.message.received import parse_hop

MESSAGES = Path(__file__).parent / "data" / "messages"
ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}


def run(*args: str, input: bytes | None = None) -> Any:
    return CliRunner().invoke(app, ["explain", *args], input=input, env=ENGLISH)


def as_json(data: bytes) -> tuple[int, dict[str, Any]]:
    result = run("-", "--json", input=data)
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def assert_one_line_error(result: Any, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("mxprobe: error: ") and fragment in line, line


# ---------------------------------------------------------------------------------------- Received lines


@pytest.mark.parametrize(
    ("line", "helo", "ptr", "ip"),
    [
        ("from mail.example.test (mail.example.test [192.0.2.1]) by mx.example.net (Postfix) with ESMTPS id "
         "D9B7; Mon, 30 Nov 2026 18:00:00 +0000", "mail.example.test", "mail.example.test", "192.0.2.1"),
        ("from helo.test (unknown [192.0.2.2]) by mx (Postfix) with ESMTP id 1; "
         "Mon, 30 Nov 2026 18:00:00 +0000",
         "helo.test", None, "192.0.2.2"),
        ("from rdns.example.test ([192.0.2.3]:51234 helo=other.test) by mx.example.net with esmtps (TLS1.3) "
         "tls TLS_AES_256_GCM_SHA384 (Exim 4.97) (envelope-from <a@b.test>) id 1abc; "
         "Mon, 30 Nov 2026 18:00:00 +0000", "other.test", "rdns.example.test", "192.0.2.3"),
        ("from rdns.example.test ([192.0.2.4]:51234) by mx.example.net with esmtp (Exim 4.97) id 1; "
         "Mon, 30 Nov 2026 18:00:00 +0000", "rdns.example.test", "rdns.example.test", "192.0.2.4"),
        ("from [192.0.2.5] (helo=laptop) by mx.example.net with esmtp (Exim 4.97) id 1; "
         "Mon, 30 Nov 2026 18:00:00 +0000", "laptop", None, "192.0.2.5"),
        ("from helo.test (root@host.example.test [192.0.2.6] (may be forged)) by mx.example.net "
         "(8.17.1/8.17.1) with ESMTPS id 5A; Mon, 30 Nov 2026 18:00:00 +0000", "helo.test",
         "host.example.test", "192.0.2.6"),
        ("from mx2.example.test (cantor2.example.test. [192.0.2.7]) by mx.google.com with ESMTPS id m9si; "
         "Mon, 30 Nov 2026 10:00:00 -0800 (PST)", "mx2.example.test", "cantor2.example.test", "192.0.2.7"),
        ("from au-smtp-1.example.test (192.0.2.8) by X.mail.protection.outlook.com (10.114.155.173) with "
         "Microsoft SMTP Server id 15.20.5144.20 via Frontend Transport; Mon, 30 Nov 2026 18:00:00 +0000",
         "au-smtp-1.example.test", None, "192.0.2.8"),
        ("from 192.0.2.9 (EHLO smtp3.example.test) by 10.222.142.150 with SMTP; "
         "Mon, 30 Nov 2026 18:00:00 +0000",
         "smtp3.example.test", None, "192.0.2.9"),
        ("from mail.example.test ([192.0.2.10]) by newxmmxszc6-1.qq.com (NewMX) with SMTP id 6010A8AD for "
         "<b@qq.test>; Tue, 01 Dec 2026 02:00:04 +0800", "mail.example.test", None, "192.0.2.10"),
        ("from em.example.test (unknown [192.0.2.11]) by mx40 (Coremail) with SMTP id WsCo--.38557S9; "
         "Tue, 01 Dec 2026 02:00:04 +0800 (CST)", "em.example.test", None, "192.0.2.11"),
        ("from x.test (x.test [IPv6:2001:db8::1]) by mx.example.net (Postfix) with ESMTPS id 9; "
         "Mon, 30 Nov 2026 18:00:00 +0000", "x.test", "x.test", "2001:db8::1"),
    ],
    ids=["postfix", "postfix-unknown", "exim-helo", "exim-verified", "exim-no-name", "sendmail", "gmail",
         "microsoft", "yahoo", "qq", "netease", "ipv6"],
)  # fmt: skip
def test_each_mta_format_gives_helo_reverse_name_and_ip(
    line: str, helo: str, ptr: str | None, ip: str
) -> None:
    hop = parse_hop(line, 0)
    assert (hop.from_helo, hop.from_ptr, hop.from_ip) == (helo, ptr, ip)
    assert hop.at is not None


def test_a_comment_with_a_semicolon_does_not_cut_the_date() -> None:
    hop = parse_hop(
        "from a.test (a.test [192.0.2.1]) by b.test (note; here) id 1; Mon, 30 Nov 2026 18:00:00 +0000", 0
    )
    assert hop.at is not None and hop.at.hour == 18 and hop.by == "b.test"


# -------------------------------------------------------------------------------------------- providers


@pytest.mark.parametrize(
    ("name", "delivering", "trusted_id", "code"),
    [
        ("outlook.eml", {"ip": "203.0.113.99", "helo": "mail.other.test", "ptr": None,
                         "receiver": "Microsoft",
                         "by": "bn2pepf000044a5.mail.protection.outlook.com"}, None, 1),
        ("yahoo.eml", {"ip": "203.0.113.25", "helo": "mail.msg.test", "ptr": None, "receiver": "Yahoo",
                       "by": "10.217.151.75"}, "atlas311.free.mail.bf1.yahoo.com", 0),
        ("qq.eml", {"ip": "203.0.113.25", "helo": "mail.msg.test", "ptr": None, "receiver": "Tencent",
                    "by": "newxmmxszc6-1.qq.com"}, "mx.qq.com", 0),
        ("netease.eml", {"ip": "203.0.113.25", "helo": "em.msg.test", "ptr": None, "receiver": "NetEase",
                         "by": "mx40"}, None, 0),
    ],
    ids=["office365", "yahoo", "qq", "netease"],
)  # fmt: skip
def test_provider_messages_name_the_delivering_hop(
    name: str, delivering: dict[str, Any], trusted_id: str | None, code: int
) -> None:
    exit_code, obj = as_json((MESSAGES / name).read_bytes())
    assert obj["kind"] == "message" and obj["delivering"] == delivering
    if name == "outlook.eml":
        assert obj["trusted_authserv_id"].startswith("(none: Microsoft 365")
        trusted = {r["method"]: r["result"] for r in obj["receiver_results"]
                   if r["trusted"] and r["header"] == "Authentication-Results"}  # fmt: skip
        assert trusted == {"spf": "fail", "dkim": "none", "dmarc": "fail", "compauth": "fail"}
        assert any("instead of rejecting" in n for n in obj["notes"])  # action=oreject
    else:
        assert obj["trusted_authserv_id"] == trusted_id
    assert exit_code == code


def test_the_path_is_in_travel_order_with_the_time_of_each_hop() -> None:
    import test_schema

    _, obj = as_json((MESSAGES / "outlook.eml").read_bytes())
    test_schema.validator("message").validate(obj)
    assert [h["side"] for h in obj["path"]] == ["border", "receiver", "receiver", "receiver"]
    assert [h["delay_s"] for h in obj["path"]] == [None, 1.0, 1.0, 1.0]
    assert obj["path"][0]["with"] == "Microsoft SMTP Server"


def test_microsoft_spam_verdict_is_explained_in_both_languages() -> None:
    _, obj = as_json((MESSAGES / "outlook.eml").read_bytes())
    report = next(v for v in obj["spam"] if v["header"] == "X-Forefront-Antispam-Report")
    assert (report["verdict"], report["score"], report["trusted"]) == ("spam", 5, True)
    assert [e["id"] for e in report["explained"]] == ["ms-sfv-spm", "ms-cat-spoof", "ms-scl-spam"]
    assert "SFV:SPM" in report["meaning"]["en"] and "垃圾邮件" in report["meaning"]["zh"]
    zh = run("--lang", "zh", "--file", str(MESSAGES / "outlook.eml")).stdout
    assert "仿冒" in zh


# ------------------------------------------------------------------------------------------------ trust


def test_a_forged_result_below_the_receivers_hop_is_shown_untrusted() -> None:
    forged = b"Authentication-Results: mx.google.com; dkim=pass; spf=pass; dmarc=pass\r\n"
    results = GOOD_RESULTS.replace("dkim=pass", "dkim=fail").replace("spf=pass", "spf=fail").replace(
        "dmarc=pass", "dmarc=fail")  # fmt: skip
    code, obj = as_json(gmail(submitted(forged + sign(core())), results))
    rows = [(r["method"], r["result"], r["trusted"]) for r in obj["receiver_results"]
            if r["header"] == "Authentication-Results"]  # fmt: skip
    assert rows == [("dkim", "fail", True), ("spf", "fail", True), ("dmarc", "fail", True),
                    ("dkim", "pass", False), ("spf", "pass", False), ("dmarc", "pass", False)]  # fmt: skip
    assert "below the receiver's border hop" in obj["receiver_results"][-1]["why"]
    assert code == 1
    text = run("-", input=gmail(submitted(forged + sign(core())), results)).stdout
    assert "untrusted: Authentication-Results mx.google.com dkim=pass" in text


def test_a_forged_copy_right_under_the_receivers_own_is_not_taken() -> None:
    """No sender-side Received line: the forged field sits in the receiver's block, under its own copy."""
    forged = b"Authentication-Results: mx.google.com; dmarc=pass header.from=msg.test\r\n"
    results = "spf=fail smtp.mailfrom=alice@msg.test; dmarc=fail header.from=msg.test"
    _, obj = as_json(gmail(forged + core(), results))
    dmarc = [(r["result"], r["trusted"]) for r in obj["receiver_results"] if r["method"] == "dmarc"]
    assert dmarc == [("fail", True), ("pass", False)]


def test_comments_and_quoted_strings_cannot_inject_results() -> None:
    value = 'mx.test; spf=fail (not "dkim=pass; dmarc=pass" here) smtp.mailfrom="a;dmarc=pass"@x.test'
    [result] = authres.parse(value)
    assert (result.method, result.result, result.properties["smtp.mailfrom"]) == (
        "spf",
        "fail",
        "a;dmarc=pass",
    )


def test_lenient_writers_without_semicolons_and_microsoft_without_an_id() -> None:
    found = authres.parse("mx.test; spf=pass smtp.mailfrom=a.test dkim=pass")
    assert [(r.method, r.result) for r in found] == [("spf", "pass"), ("dkim", "pass")]  # fmt: skip
    results = authres.parse(
        "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=a.test;dmarc=pass(p=NONE) action=none"
    )
    assert [(r.authserv_id, r.method, r.result) for r in results] == [
        ("", "spf", "pass"),
        ("", "dmarc", "pass"),
    ]


# ---------------------------------------------------------------------------------- headers and input


def test_folded_and_encoded_headers_are_read() -> None:
    data = good().replace(
        b"From: Alice <alice@msg.test>", b"From: =?UTF-8?Q?Al=C3=AFce?=\r\n\t<alice@msg.test>"
    )
    _, obj = as_json(data)
    assert obj["message"]["subject"] == "测试 tomorrow" and obj["message"]["from"] == "alice@msg.test"
    assert "Alïce <alice@msg.test>" in run("-", input=data).stdout


def test_headers_only_is_a_message_too() -> None:
    code, obj = as_json(good().split(b"\r\n\r\n", 1)[0] + b"\r\n")
    assert obj["delivering"]["ip"] == "203.0.113.25" and code == 0
    assert obj["now"]["dkim"][0]["result"] == "not checked"


def test_a_note_without_trace_fields_stays_a_bounce_question() -> None:
    result = run("-", input=b"From: a@b.test\nTo: c@d.test\nSubject: hello\n\nJust a note.\n")
    assert_one_line_error(result, "no failed recipient found")


def test_a_header_of_a_megabyte_is_refused_in_one_line() -> None:
    data = good().replace(b"MIME-Version: 1.0\r\n", b"X-Big: " + b"a" * (1024 * 1024) + b"\r\n", 1)
    assert_one_line_error(run("-", input=data), "header block is larger than 512 KiB")
    folded = b"X-Big: a\r\n" + b" a\r\n" * (200 * 1024 // 4)
    data = good().replace(b"MIME-Version: 1.0\r\n", folded, 1)
    assert_one_line_error(run("-", input=data), f"longer than {MAX_FIELD} bytes")


def test_binary_data_in_the_header_block_is_refused() -> None:
    data = good().replace(b"MIME-Version: 1.0", b"X-Junk: \x00\x01\x02\xff", 1)
    assert_one_line_error(run("-", input=data), "NUL bytes")


def test_a_50_mb_message_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.eml"
    with path.open("wb") as f:
        f.write(good())
        line = b"x" * 998 + b"\r\n"
        for _ in range(50 * 1024):
            f.write(line)
    result = run("--file", str(path))
    assert_one_line_error(result, "larger than 32 MiB")


def test_parse_keeps_order_and_unfolds() -> None:
    message = parse(b"From a@b Mon Nov 30 18:00:00 2026\nReceived: one\n two\nReceived: three\n\nbody\n")
    assert [(f.name, f.value, f.index) for f in message.fields] == [("Received", "one two", 0),
                                                                    ("Received", "three", 1)]  # fmt: skip
    assert message.has_body


# ------------------------------------------------------------------------------------------- spam data


def test_spamassassin_and_rspamd_headers_are_explained() -> None:
    data = good().replace(b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\n", 1)
    receiver = (b"X-Spam-Status: Yes, score=7.2 required=5.0 tests=RDNS_NONE,SPF_FAIL,DKIM_INVALID\r\n"
                b"\tautolearn=no version=4.0.1\r\n"
                b"X-Spamd-Result: default: False [6.10 / 15.00]; R_SPF_FAIL(1.00)[-all];\r\n"
                b" RDNS_NONE(2.00)[]\r\n"
                b"X-Rspamd-Action: add header\r\n")  # fmt: skip
    _, obj = as_json(receiver + data)
    found = {v["header"]: v for v in obj["spam"]}
    sa = found["X-Spam-Status"]
    assert (sa["verdict"], sa["score"]) == ("spam", 7.2)
    assert [e["id"] for e in sa["explained"]] == [
        "sa-status-yes",
        "sa-rdns",
        "sa-spf-fail",
        "sa-dkim-invalid",
    ]
    assert found["X-Spamd-Result"]["score"] == 6.1
    assert [e["id"] for e in found["X-Spamd-Result"]["explained"]] == ["rspamd-spf", "rspamd-rdns"]
    assert found["X-Rspamd-Action"]["verdict"] == "spam"


def test_every_spam_entry_is_bilingual_sourced_and_uses_full_width_punctuation() -> None:
    entries = spam.entries()
    assert len(entries) >= 30
    for entry in entries:
        assert entry.source.startswith(("https://", "http://")), entry.id
        assert entry.en.endswith(".") and entry.zh.endswith("。"), entry.id
        assert not re.search(r"[,;()]|[^\w\s/.-]:|\.\s", entry.zh), entry.id


def test_an_outbound_scan_of_the_senders_tenant_is_not_the_receivers_verdict() -> None:
    outbound = b"X-Forefront-Antispam-Report-Untrusted: CIP:192.0.2.1;SCL:1;SFV:NSPM;CAT:NONE;DIR:OUT;\r\n"
    data = (MESSAGES / "outlook.eml").read_bytes().replace(b"From: ", outbound + b"From: ", 1)
    _, obj = as_json(data)
    found = next(v for v in obj["spam"] if v["header"] == "X-Forefront-Antispam-Report-Untrusted")
    assert found["trusted"] is False and "not the recipient's verdict" in found["meaning"]["en"]


def test_upstream_results_under_another_name_are_evidence_only() -> None:
    upstream = b"Authentication-Results-Original: mx.google.com; dkim=pass header.d=msg.test\r\n"
    results = (
        "spf=pass (google.com: best guess record for domain of alice@msg.test) smtp.mailfrom=alice@msg.test"
    )
    _, obj = as_json(gmail(upstream + core(), results))
    rows = [(r["header"], r["method"], r["trusted"]) for r in obj["receiver_results"]]
    assert ("Authentication-Results-Original", "dkim", False) in rows
    assert ("Authentication-Results", "spf", True) in rows
    assert any("best guess" in n for n in obj["notes"])


def test_a_copy_saved_with_bare_line_feeds_reads_the_same() -> None:
    _, crlf = as_json(good())
    _, lf = as_json(good().replace(b"\r\n", b"\n"))
    assert lf["delivering"] == crlf["delivering"] and lf["receiver_results"] == crlf["receiver_results"]


def test_a_copy_from_the_senders_sent_folder_names_no_delivering_hop() -> None:
    """Only an authenticated submission (with ESMTPSA): the message never crossed to another organisation."""
    sent = (b"Received: from [192.168.1.2] (dsl.isp.test [198.51.100.7])\r\n"
            b"\tby smtp.gmail.com with ESMTPSA id x;\r\n\tMon, 30 Nov 2026 10:00:00 -0800\r\n")  # fmt: skip
    sent += core()
    _, obj = as_json(sent)
    assert obj["delivering"]["ip"] is None and obj["path"][0]["side"] == "sender"


def test_a_broken_spam_data_entry_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "spam-headers.toml"
    bad.write_text('[[entry]]\nid = "x"\nfamily = "microsoft"\nkey = "SCL"\nvalues = ["5"]\n'
                   'verdict = "spam"\ncause = "weather"\nmeaning = { en = "a.", zh = "甲。" }\n'
                   'source = "https://x.test"\nreviewed = "2026-12-05"\n')  # fmt: skip
    monkeypatch.setattr(spam, "data_file", lambda name: bad)
    spam.entries.cache_clear()
    try:
        with pytest.raises(spam.SpamDataError, match="entry #1: cause 'weather' is not a cause id"):
            spam.entries()
    finally:
        spam.entries.cache_clear()


def test_a_folder_run_reports_each_delivered_message_like_a_single_file(tmp_path: Path) -> None:
    """`explain --file DIR`: a delivered message gets its message report (JSON: one object per file, naming
    it), a bounce beside it its failed recipients, as when each is given alone."""
    import shutil

    import test_schema
    from clirun import json_lines, run_cli

    samples = sorted(MESSAGES.glob("*.eml"))
    for sample in samples:
        shutil.copy(sample, tmp_path / sample.name)
    bounce = Path(__file__).parent / "data" / "bounces" / "postfix-550-two-recipients.eml"
    shutil.copy(bounce, tmp_path / "zz-bounce.eml")
    result = run_cli("explain", "--file", str(tmp_path), "--json")
    objects = json_lines(result.stdout)
    reports = [o for o in objects if o.get("kind") == "message"]
    assert result.exit_code == 1 == max(o["exit_code"] for o in reports)  # outlook.eml: DMARC failed there
    assert sorted(Path(o["file"]).name for o in reports) == [s.name for s in samples]
    for report in reports:
        test_schema.validator("message").validate(report)
        assert "path" in report and "receiver_results" in report  # the report, not a kind line
    assert {Path(o["bounce"]["file"]).name for o in objects if "bounce" in o} == {"zz-bounce.eml"}
    text = run_cli("explain", "--file", str(tmp_path)).stdout
    assert text.count("Path (oldest first)") == len(samples) and "carol@dest2.test" in text


def test_failures_at_the_receiver_are_never_nothing_to_fix_without_check() -> None:
    """Without --check nothing is verified now: a DMARC and SPF failure the receiver recorded must not end in
    "Nothing to fix"; the user is told to run --check."""
    result = run("--file", str(MESSAGES / "outlook.eml"))
    assert result.exit_code == 1
    assert "Nothing to fix" not in result.stdout
    assert "dmarc, spf as failed" in result.stdout and "--check" in result.stdout
