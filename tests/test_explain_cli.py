"""`mxprobe explain` and `mxprobe codes` as users run them: arguments, stdin, exit codes, text and JSON."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mxprobe.catalogue import Explanation, Text
from mxprobe.cli import app
from mxprobe.model import CAUSES
from mxprobe.render.explanation import ExplanationWriter, suggested_commands

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["input", "code", "enhanced", "tag", "class", "phase", "meaning", "cause", "checks", "advice", "entry",
        "specific"]  # fmt: skip
NO_PTR = "421 Refused. You have no reverse DNS entry"
MI_SPF = "550 MI:SPF 发信IP未被发送域的SPF许可"
NOQUEUE = (
    "Mar  3 10:00:07 mx postfix/smtpd[99]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 450 4.7.1 "
    "Client host rejected: cannot find your reverse hostname, [203.0.113.9]; from=<a@example.com> "
    "to=<b@example.net> proto=ESMTP helo=<mail.example.com>"
)
ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}


def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input, env={**ENGLISH, **(env or {})})


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def assert_usage_error(result: Any, *fragments: str) -> None:
    """Exit 2, nothing on stdout, one `mxprobe: error:` line on stderr."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mxprobe: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0]


# ------------------------------------------------------------------------------------------ explain


def test_no_reverse_dns_json() -> None:
    result = run("explain", NO_PTR, "--json")
    assert result.exit_code == 0, result.output
    [obj] = json_lines(result.stdout)
    assert list(obj) == KEYS
    assert (obj["cause"], obj["checks"], obj["code"], obj["class"]) == (
        "ptr",
        ["ptr", "fcrdns"],
        421,
        "transient",
    )
    assert obj["specific"] is True and obj["input"] == NO_PTR


def test_netease_tag_in_chinese_and_english() -> None:
    [obj] = json_lines(run("explain", MI_SPF, "--json").stdout)
    assert (obj["cause"], obj["tag"]) == ("spf", "MI:SPF")
    meaning = obj["meaning"]
    assert isinstance(meaning, dict) and meaning["en"] != meaning["zh"]

    english = run("explain", MI_SPF, "--lang", "en")
    chinese = run("explain", MI_SPF, "--lang", "zh")
    assert english.exit_code == chinese.exit_code == 0
    assert meaning["en"] in english.stdout and "cause" in english.stdout and "spf" in english.stdout
    assert meaning["zh"] in chinese.stdout and "原因" in chinese.stdout
    assert "\x1b[" not in english.stdout + chinese.stdout, "plain text when stdout is not a terminal"


@pytest.mark.parametrize(
    ("env", "label"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "含义"),
        ({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "含义"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "meaning"),
        ({"LC_ALL": "C"}, "meaning"),
    ],
)
def test_language_follows_the_locale(env: dict[str, str], label: str) -> None:
    result = run("explain", NO_PTR, env=env)
    assert result.exit_code == 0 and f"  {label}" in result.stdout


def test_human_block_names_the_check_command_with_the_ip_from_the_reply() -> None:
    result = run("explain", NOQUEUE)
    assert result.exit_code == 0
    assert "cause    ptr" in result.stdout
    assert "mxprobe --ip 203.0.113.9" in result.stdout


def test_several_replies_are_json_lines() -> None:
    result = run("explain", NO_PTR, MI_SPF, "550 5.1.1 <bob@example.net>: user unknown", "--json")
    assert result.exit_code == 0
    objs = json_lines(result.stdout)
    assert [o["code"] for o in objs] == [421, 550, 550]
    assert all(list(o) == KEYS for o in objs)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["hello world"], "no SMTP reply found in: hello world"),
        (["x" * 5000], "no SMTP reply found in: xxx"),
        ([""], "empty reply text"),
        (["  \t "], "empty reply text"),
        ([], "give an SMTP reply"),
        (["-", NO_PTR], "cannot be combined"),
        ([NO_PTR, "--lang", "fr"], "--lang must be one of en, zh"),
    ],
    ids=["no-reply", "long", "empty", "blank", "none", "stdin-and-text", "bad-lang"],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    result = run("explain", *args)
    assert_usage_error(result, fragment)
    assert len(result.stderr) < 200, "the offending text is abbreviated"


# -------------------------------------------------------------------------------------------- stdin

BOUNCE = """\
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<bob@example.net>: host mx.example.net[198.51.100.7] said: 550 5.1.1
    <bob@example.net>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

Reporting-MTA: dns; mx.example.com
Final-Recipient: rfc822; bob@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 421 Refused. You have no reverse DNS entry
"""


def test_stdin_bounce_message() -> None:
    """The delivery-status fields written after the text are the report: one result for bob, theirs."""
    result = run("explain", "-", "--json", input=BOUNCE)
    assert result.exit_code == 0, result.output
    [obj] = json_lines(result.stdout)
    assert (obj["code"], obj["enhanced"], obj["cause"]) == (421, "", "ptr")
    assert obj["bounce"]["recipient"] == "bob@example.net"
    assert result.stderr == ""


def test_stdin_skips_lines_without_a_reply_and_counts_them() -> None:
    result = run("explain", "-", "--json", input=f"junk\n{NO_PTR}\n\nmore junk\n{NOQUEUE}\n")
    assert result.exit_code == 0
    assert [o["cause"] for o in json_lines(result.stdout)] == ["ptr", "ptr"]
    assert result.stderr == "mxprobe: skipped 2 lines without an SMTP reply\n"


def test_stdin_human_blocks_are_separated() -> None:
    result = run("explain", "-", input=f"{NO_PTR}\n{MI_SPF}\n")
    assert result.exit_code == 0 and result.stderr == ""
    blocks = result.stdout.split("\n\n")
    assert len(blocks) == 2 and blocks[0].startswith("421 ") and blocks[1].startswith("550 ")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "standard input is empty"),
        (b"  \n\t\n\n", "standard input is empty"),
        (bytes(range(256)) * 40, "binary"),
        (b"just words\nand more words\n", "no SMTP reply found in standard input (2 lines read)"),
        (b"x" * 1_000_000 + b"\n", "no SMTP reply found in standard input (1 lines read)"),
    ],
    ids=["empty", "blank", "binary", "words", "1mb-line"],
)
def test_stdin_without_replies_is_a_clear_error(data: bytes, fragment: str) -> None:
    assert_usage_error(run("explain", "-", input=data), fragment)


@pytest.mark.parametrize(
    "data",
    [
        b"550 5.1.1 \xff\xfe\xc3( invalid utf-8 \xe4\xb8\n",
        b"550 5.1.1 " + b"\xe6\x97\xa0" * 400_000 + b"\n",
        b"\x00\x01garbage 550 5.1.1 user unknown\x00\n",
    ],
    ids=["invalid-utf8", "1mb-line-with-reply", "nul-bytes"],
)
def test_stdin_bad_bytes_still_explain_the_reply(data: bytes) -> None:
    result = run("explain", "-", "--json", input=data)
    assert result.exit_code == 0, result.output
    [obj] = json_lines(result.stdout)
    assert (obj["code"], obj["enhanced"], obj["class"]) == (550, "5.1.1", "permanent")


def test_stdin_100k_lines_finish_fast() -> None:
    lines = []
    for i in range(100_000):
        if i % 10 == 0:
            lines.append(
                f"Mar  3 10:00:07 mx postfix/smtp[{i}]: to=<u{i}@example.net>, status=deferred (host "
                f"mx[192.0.2.1] said: 450 4.2.0 <u{i}@example.net>: Recipient address rejected: Greylisted, "
                "see http://postgrey.schweikert.ch/help/example.net.html)"
            )
        else:
            lines.append(f"Mar  3 10:00:07 mx postfix/qmgr[12]: 4Q{i:06X}: removed")
    start = time.perf_counter()
    result = run("explain", "-", "--json", input="\n".join(lines) + "\n")
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 10_000
    assert result.stderr == "mxprobe: skipped 90000 lines without an SMTP reply\n"
    assert elapsed < 20, f"100k lines took {elapsed:.1f} s"


# ------------------------------------------------------------------------------------ the renderer


def explanation(text: str, checks: tuple[str, ...]) -> Explanation:
    return Explanation(
        input=text, code=550, enhanced="", tag="", class_="permanent", phase=("RCPT",),
        meaning=Text("m", "含义"), cause="policy", checks=checks, advice=Text("a", "建议"), entry="e",
        specific=True, text=text,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "checks", "commands"),
    [
        ("blocked using zen, client [203.0.113.9]", ("ptr", "dnsbl"), ["mxprobe --ip 203.0.113.9"]),
        ("no address here", ("fcrdns",), ["mxprobe --ip SENDING-IP"]),
        ("IPv6 [2001:db8::25] has no PTR", ("ptr",), ["mxprobe --ip 2001:db8::25"]),
        ("The MAIL FROM domain [Example.COM] fails SPF with ip: [192.0.2.1]", ("spf", "spf-record"),
         ["mxprobe example.com --ip 192.0.2.1"]),
        ("unauthenticated", ("dmarc", "dkim"), ["mxprobe SENDING-DOMAIN"]),
        ("<bob@example.net>: TLS required", ("tls",), ["mxprobe SENDING-DOMAIN --to bob@example.net"]),
        ("x", ("ptr", "spf", "smtp"),
         ["mxprobe --ip SENDING-IP", "mxprobe SENDING-DOMAIN", "mxprobe SENDING-DOMAIN --to RECIPIENT"]),
        ("x", (), []),
    ],
)  # fmt: skip
def test_suggested_commands(text: str, checks: tuple[str, ...], commands: list[str]) -> None:
    assert suggested_commands(explanation(text, checks)) == commands


def test_suggested_commands_use_the_facts_the_user_gave() -> None:
    facts = {"ip": "198.51.100.7", "domain": "shop.example"}
    assert suggested_commands(explanation("x", ("ptr", "spf")), facts) == [
        "mxprobe --ip 198.51.100.7",
        "mxprobe shop.example --ip 198.51.100.7",
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colours_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    exp = explanation("client [203.0.113.9] refused", ("ptr",))
    plain, terminal = io.StringIO(), Terminal()
    ExplanationWriter(plain, "en").write(exp)
    ExplanationWriter(terminal, "en").write(exp)
    assert "\x1b[" not in plain.getvalue() and "\x1b[" in terminal.getvalue()
    for shown in (plain.getvalue(), terminal.getvalue()):
        assert "mxprobe --ip 203.0.113.9" in shown and "permanent failure" in shown


# -------------------------------------------------------------------------------------------- codes


def test_codes_json_lists_the_catalogue() -> None:
    result = run("codes", "--json")
    assert result.exit_code == 0
    entries = json.loads(result.stdout)
    assert len(entries) >= 300
    assert {"id", "code", "enhanced", "tag", "pattern", "cause", "checks", "meaning", "advice"} <= set(
        entries[0]
    )


def test_codes_filters() -> None:
    spf = json.loads(run("codes", "--cause", "spf", "--json").stdout)
    assert spf and {e["cause"] for e in spf} == {"spf"}
    code = json.loads(run("codes", "--code", "421", "--json").stdout)
    assert code and {e["code"] for e in code} == {421}
    tag = json.loads(run("codes", "--tag", "hl:rep", "--json").stdout)
    assert tag and {e["tag"] for e in tag} == {"HL:REP"}
    none = run("codes", "--cause", "spf", "--code", "250", "--json")
    assert none.exit_code == 0 and json.loads(none.stdout) == []


def test_codes_plain_table() -> None:
    result = run("codes", "--tag", "MI:SPF")
    assert result.exit_code == 0 and "\x1b[" not in result.stdout
    header, *lines = result.stdout.splitlines()
    assert header.split()[:5] == ["id", "code", "enhanced", "tag", "cause"]
    rows = [line for line in lines if not line.startswith(" ")]  # a long meaning wraps under itself
    assert rows and all("MI:SPF" in row and " spf " in row for row in rows)


def test_codes_unknown_cause_lists_the_valid_ones() -> None:
    assert_usage_error(run("codes", "--cause", "weather"), "unknown cause 'weather'", ", ".join(CAUSES))


def test_codes_bad_code() -> None:
    assert_usage_error(run("codes", "--code", "999"), "200 to 599")


# ------------------------------------------------------------------------------ as a real process


def mxprobe(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, *args], input=input, capture_output=True, timeout=60, cwd=ROOT,
        env={**os.environ, **ENGLISH, **(env or {})},
    )  # fmt: skip


def test_end_to_end_python_m_mxprobe() -> None:
    done = mxprobe("-m", "mxprobe", "explain", NO_PTR, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["checks"] == ["ptr", "fcrdns"]
    done = mxprobe("-m", "mxprobe", "explain", "-", input=b"\xff\xfe\n" + MI_SPF.encode() + b"\n")
    assert done.returncode == 0 and "spf" in done.stdout.decode()
    assert done.stderr == b"mxprobe: skipped 1 lines without an SMTP reply\n"
    done = mxprobe("-m", "mxprobe", "explain", "nothing")
    assert done.returncode == 2 and done.stderr.decode().count("\n") == 1 and b"Traceback" not in done.stderr


def test_the_explain_path_imports_nothing_heavy() -> None:
    """Cold start: no DNS stack, no checkdmarc, no SMTP client and no rich when explaining to a pipe."""
    done = mxprobe("-X", "importtime", "-m", "mxprobe", "explain", "550 5.1.1 user unknown")
    assert done.returncode == 0
    imported = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
    heavy = {m for m in imported if m.split(".")[0] in {"dns", "checkdmarc", "spf", "aiosmtplib", "rich"}}
    assert not heavy, sorted(heavy)


# ---------------------------------------------------------------------------------- QA regressions


def test_arguments_with_a_reply_are_explained_and_each_other_one_is_an_error_line() -> None:
    result = run("explain", "550 5.1.1 x", "hello", NO_PTR, "  ", "--json")
    assert result.exit_code == 2, result.output
    assert [o["code"] for o in json_lines(result.stdout)] == [550, 421]
    assert result.stderr.splitlines() == [
        "mxprobe: error: no SMTP reply found in: hello",
        'mxprobe: error: empty reply text: give a reply such as "550 5.1.1 user unknown"',
    ]


def test_a_long_reply_is_shown_once_and_shortened_json_keeps_it_whole() -> None:
    reply = "550 5.7.1 [" + "a" * 4000 + ".example.com] <" + "b" * 900 + "@example.net> refused"
    human = run("explain", reply)
    assert human.exit_code == 0
    assert len(human.stdout) < 2500, len(human.stdout)
    header = human.stdout.split("permanent failure")[0]  # the reply, wrapped, before the rows
    assert human.stdout.count("a" * 250) == 1 and "…" in header
    assert "mxprobe SENDING-DOMAIN" in human.stdout  # no 4000-character "domain" in the suggestions
    [obj] = json_lines(run("explain", reply, "--json").stdout)
    assert obj["input"] == reply


@pytest.mark.parametrize(
    "args",
    [["-"], ["\x1b]0;pwned\x07550 5.7.1 \x1b[31mred \x1b]8;;http://x\x1b\\link"]],
    ids=["stdin", "argument"],
)
def test_terminal_controls_in_the_input_are_shown_not_sent(args: list[str]) -> None:
    text = "550 5.7.1 \x1b]0;pwned\x07 \x1b[31mred \x9b2J <a\x1b@example.net> [203.0.113.9]\n"
    result = run("explain", *args, input=text if args == ["-"] else None)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "\\x1b]0;pwned\\x07" in out or "\\x1b[31mred" in out


def test_codes_cause_is_case_insensitive_like_tag() -> None:
    upper = run("codes", "--cause", "PTR", "--json")
    assert upper.exit_code == 0, upper.output
    entries = json.loads(upper.stdout)
    assert entries and {e["cause"] for e in entries} == {"ptr"}
    assert entries == json.loads(run("codes", "--cause", "ptr", "--json").stdout)


def test_explain_help_has_examples() -> None:
    result = run("explain", "--help")
    assert result.exit_code == 0
    examples = result.stdout.split("Examples:")[1]
    for fragment in ('explain "421 ', "MI:SPF", "--check", "< bounce.eml", "--summary - < /var/log/mail.log"):
        assert fragment in examples, fragment


@pytest.mark.parametrize(
    ("status", "code", "klass", "cause"),
    [("5.7.1", 554, "permanent", "policy"), ("4.2.2", 451, "transient", "mailbox"),
     ("2.0.0", 250, "success", "none")],
)  # fmt: skip
def test_a_bare_enhanced_code_is_read_as_a_reply_of_its_class(
    status: str, code: int, klass: str, cause: str
) -> None:
    result = CliRunner().invoke(app, ["explain", "--json", status], env={"LANG": "en_US.UTF-8", "LC_ALL": ""})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["code"], data["enhanced"], data["class"], data["cause"]) == (code, status, klass, cause)
    assert data["entry"] == f"enhanced-{status}" and data["specific"] is False


# ------------------------------------------------------------------------------- issue 12: any width, links


def display_width(line: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in line)


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explain_wraps_at_the_width_without_cutting(columns: int, lang: str) -> None:
    reply = "550 5.7.1 Service unavailable; Client host [203.0.113.40] blocked using bl.spamcop.net"
    result = run("explain", reply, MI_SPF, "--lang", lang, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0
    out: str = result.stdout
    assert all(display_width(line) <= columns for line in out.splitlines()), out
    assert "5.7.1" in out and "203.0.113.40" in out and "bl.spamcop.net" in out  # tokens whole
    flat = "".join(out.split())
    assert ("发信IP未被发送域的SPF许可" if lang == "zh" else "SPF") in flat  # wrapped, never cut


def test_the_link_a_reply_gives_is_the_one_the_advice_gives() -> None:
    reply = "554 5.7.1 Blocked - see https://www.spamcop.net/bl.shtml?203.0.113.40"
    out: str = run("explain", reply, env={"COLUMNS": "200"}).stdout
    assert "  advice   https://www.spamcop.net/bl.shtml?203.0.113.40" in out


@pytest.mark.parametrize("columns", [80, 200])
def test_the_summary_table_is_readable_at_any_width(columns: int, tmp_path: Path) -> None:
    logs = Path(__file__).parent / "data" / "logs"
    log = tmp_path / "mixed.log"
    log.write_bytes((logs / "postfix.log").read_bytes() + (logs / "exim.log").read_bytes())
    out: str = run("explain", "--summary", "--file", str(log), env={"COLUMNS": str(columns)}).stdout
    assert all(display_width(line) <= columns for line in out.splitlines() if " " in line.strip()), out
    assert "recipient" in out and "550 5.1.1 <cy@dest3.test>:" in out
    # one timestamp format: syslog stamps (no year) as MM-DD, the others as YYYY-MM-DD, seconds, no offset
    assert "Mar  3" not in out and "T10:00:09" not in out and "+0000" not in out
    assert "03-03 10:00:04" in out and "2025-03-05 09:12:45" in out


@pytest.mark.parametrize("columns", [80, 200])
def test_the_summary_speaks_chinese_at_any_width(columns: int, tmp_path: Path) -> None:
    log = tmp_path / "postfix.log"
    log.write_bytes((Path(__file__).parent / "data" / "logs" / "postfix.log").read_bytes())
    args = ("explain", "--summary", "--file", str(log), "--lang", "zh")
    out: str = run(*args, env={"COLUMNS": str(columns)}).stdout
    assert out.startswith("邮件日志：") and "按原因统计的失败" in out
    assert all(display_width(line) <= columns for line in out.splitlines() if " " in line.strip()), out
