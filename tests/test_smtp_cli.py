"""`mxprobe DOMAIN --to ... --mx ...` as a user runs it: the acceptance case end to end, the JSON `smtp` key,
the transcript in the text output, exit codes, and bad input refused before anything is sent."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from servers.dns import DnsServer
from servers.smtp import ScriptedSmtpServer, postfix_like
from test_smtp_handshake import GOOD_IP, NO_PTR, SMTP_KEYS, STEP_KEYS, _relay_guard
from typer.testing import CliRunner

from mxprobe.cli import app


def mxprobe(dns: DnsServer, *args: str) -> Any:
    return CliRunner().invoke(app, ["smtp.test", "--nameserver", dns.address, *args])


def handshake_args(server: ScriptedSmtpServer, ip: str = NO_PTR) -> list[str]:
    return ["--ip", ip, "--to", "user@dest.test", "--mx", f"127.0.0.1:{server.port}", "--check", "ptr"]


def test_acceptance_json(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    result = mxprobe(dns_server, *handshake_args(server), "--source", NO_PTR, "--check", "fcrdns", "--json")
    data = json.loads(result.stdout)
    smtp = data["smtp"]

    assert result.exit_code == 1, result.output
    assert set(smtp) >= SMTP_KEYS
    assert (smtp["outcome"], smtp["cause"], smtp["confirmed_by"]) == ("deferred", "ptr", "ptr")
    assert (smtp["host"], smtp["address"], smtp["port"]) == ("127.0.0.1", "127.0.0.1", server.port)
    rcpt = next(s for s in smtp["steps"] if s["step"] == "rcpt")
    assert list(rcpt)[: len(STEP_KEYS)] == STEP_KEYS
    assert (rcpt["command"], rcpt["code"], rcpt["enhanced"]) == ("RCPT TO:<user@dest.test>", 450, "4.7.1")
    assert (
        rcpt["explanation"]["cause"] == "ptr" and rcpt["explanation"]["entry"] == "postfix-reverse-hostname"
    )
    assert smtp["diagnosis"].startswith("confirmed by ptr: 127.0.0.10 has no PTR")
    assert data["verdict"] == "fail"
    assert {c["id"]: c["status"] for c in data["checks"]}["smtp"] == "fail"
    assert server.peers == [NO_PTR] and "DATA" not in server.verbs


def test_acceptance_text(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    result = mxprobe(dns_server, *handshake_args(server))
    out = result.stdout

    assert result.exit_code == 1, result.output
    assert "SMTP handshake with 127.0.0.1:" in out
    assert "C: EHLO [127.0.0.10]" in out and "S: 220 mx.postfix.test ESMTP Postfix" in out
    assert "S: 450 4.7.1 Client host rejected: cannot find your reverse hostname, [127.0.0.10]" in out
    assert "outcome: DEFERRED  cause ptr, confirmed by ptr" in out
    assert "verdict: FAIL" in out


def test_accepted_exits_zero(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    result = mxprobe(dns_server, *handshake_args(server, ip=GOOD_IP), "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["smtp"]["outcome"] == "accepted"


def test_unreachable_server_is_inconclusive(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("tarpit")
    started = time.monotonic()
    result = mxprobe(dns_server, *handshake_args(server, ip=GOOD_IP), "--smtp-timeout", "1", "--json")

    assert time.monotonic() - started < 4
    assert result.exit_code == 3, result.output  # nothing failed; the handshake could not say
    data = json.loads(result.stdout)
    steps = data["smtp"]["steps"]
    assert steps[-1]["step"] == "banner" and steps[-1]["fault"] == "timeout"
    check = next(c for c in data["checks"] if c["id"] == "smtp")
    assert check["summary"].startswith(
        f"no SMTP server answered at 127.0.0.1:{server.port}: no greeting within"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--to", "user@dest.test\r\nDATA"], "contains a CR character"),
        (["--to", "x" * 65 + "@dest.test"], "local part longer than 64 octets"),
        (["--helo", "mail\nsmtp.test"], "contains a LF character"),
        (["--from", "a\0b@smtp.test"], "contains a NUL character"),
        (["--mx", "127.0.0.1:99999"], "port must be 1-65535"),
        (["--source", "192.0.2.1"], "not an address of this host"),
        (["--source", "not-an-ip"], "is not an IPv4 or IPv6 address"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    dns_server: DnsServer, smtp_server: Any, args: list[str], words: str
) -> None:
    server = smtp_server(postfix_like())
    defaults = {"--to": "user@dest.test", "--mx": f"127.0.0.1:{server.port}"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    options = [x for key, value in (defaults | given).items() for x in (key, value)]
    result = mxprobe(dns_server, "--ip", GOOD_IP, "--check", "ptr", *options)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mxprobe: error: ") and words in lines[0], lines
    assert server.peers == []  # nothing was sent


@pytest.mark.parametrize("order", [1, -1])
def test_recipients_of_two_domains_are_refused_in_any_order(
    dns_server: DnsServer, smtp_server: Any, order: int
) -> None:
    """Each domain has its own MX: one dialogue cannot tell what both receivers say, and reporting the
    null-MX domain's recipient as accepted by another domain's server would be false."""
    server = smtp_server(postfix_like())
    recipients = ["a@dest.test", "b@nullmx.dest.test"][::order]
    result = mxprobe(dns_server, "--ip", GOOD_IP, "--check", "ptr", "--port", str(server.port),
                     *(x for r in recipients for x in ("--to", r)))  # fmt: skip

    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines == [
        "mxprobe: error: --to has recipients at dest.test and nullmx.dest.test, each domain with its own MX: "
        "run mxprobe once per domain, or give --mx to send them all to one server"
    ]
    assert server.peers == []


def test_recipients_of_two_domains_go_to_the_mx_given(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    result = mxprobe(dns_server, "--ip", GOOD_IP, "--check", "ptr", "--mx", f"127.0.0.1:{server.port}",
                     "--to", "a@dest.test", "--to", "b@Other.TEST", "--json")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert server.commands[2:4] == ["RCPT TO:<a@dest.test>", "RCPT TO:<b@other.test>"]


def test_validate_recipients() -> None:
    from mxprobe.errors import InputError
    from mxprobe.smtp import validate_recipients

    validate_recipients(["a@dest.test", "b@DEST.test."], None)  # one domain, however it is spelled
    validate_recipients(["a@dest.test", "b@other.test"], "mx.other.test")
    validate_recipients([], None)
    validate_recipients(["a@bücher.dest.test", "b@xn--bcher-kva.dest.test"], None)  # IDN and punycode
    for recipients in (["b@xn--bcher-kva.dest.test", "a@dest.test"], ["a@dest.test", "b@bücher.dest.test"]):
        with pytest.raises(InputError, match=r"recipients at dest\.test and xn--bcher-kva\.dest\.test,"):
            validate_recipients(recipients, None)


def test_refused_mx_reads_naturally(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("refuse")
    result = mxprobe(dns_server, *handshake_args(server, ip=GOOD_IP), "--smtp-timeout", "1")
    out = result.stdout

    assert result.exit_code == 3, result.output
    assert "recipient domain" not in out
    assert f"smtp  no SMTP server answered: connection refused by 127.0.0.1:{server.port}: no SMTP" in out
    assert f"SMTP handshake with 127.0.0.1:{server.port}\n" in out
    assert "127.0.0.1 127.0.0.1" not in out
    assert "  mx 127.0.0.1  failed: connection refused by" in out


def test_candidates_line_names_each_server_once(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    result = mxprobe(dns_server, "--ip", GOOD_IP, "--check", "ptr", "--port", str(server.port),
                     "--to", "user@backup.dest.test")  # fmt: skip
    out = result.stdout

    assert result.exit_code == 0, result.output
    assert "  mx down.dest.test (preference 10) [127.0.0.2]  failed: connection refused by" in out
    assert "  mx up.dest.test (preference 20) [127.0.0.1]  connected" in out
    assert "  mx gone.dest.test (preference 30)  failed: no A/AAAA record (NXDOMAIN)" in out
    assert f"SMTP handshake with up.dest.test 127.0.0.1:{server.port}\n" in out


def test_null_mx_header_names_the_domain(dns_server: DnsServer) -> None:
    result = mxprobe(dns_server, "--ip", GOOD_IP, "--check", "ptr", "--to", "user@nullmx.dest.test")

    assert result.exit_code == 1, result.output
    assert "SMTP handshake with the MX of nullmx.dest.test\n" in result.stdout
    assert "SMTP handshake \n" not in result.stdout


def test_server_text_exact_in_json_and_escaped_in_text(dns_server: DnsServer, smtp_server: Any) -> None:
    """Controls in a reply are data: JSON carries them as they came (its own escaping), text shows them."""
    evil = "550 5.7.1 \x1b[31mno\x1b[0m \x07 thanks"
    server = smtp_server(postfix_like(rcpt=evil, banner="220 \x1b]0;pwn\x07 ESMTP"))
    args = [*handshake_args(server, ip=GOOD_IP), "--relay-test"]
    data = json.loads(mxprobe(dns_server, *args, "--json").stdout)
    check = next(c for c in data["checks"] if c["id"] == "smtp")
    text = mxprobe(dns_server, *args, "-v").stdout  # -v: the whole summary, not the one-line verdict

    assert data["smtp"]["steps"][1]["text"] == "220 \x1b]0;pwn\x07 ESMTP"
    assert f"rejected RCPT TO:<user@dest.test>: {evil}; relay test inconclusive" in check["summary"]
    assert check["evidence"][-1]["answer"] == [evil]
    assert evil in data["smtp"]["relay_test"]["summary"]
    assert "\x1b" not in text and "\x07" not in text
    assert "S: 220 \\x1b]0;pwn\\x07 ESMTP" in text
    assert "550 5.7.1 \\x1b[31mno\\x1b[0m \\x07 thanks" in text.split("SMTP handshake")[0]  # the check line
    assert "relay test: the relay recipient was refused for another reason" in text


def test_binary_garbage_exact_in_json(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("garbage")
    args = [*handshake_args(server, ip=GOOD_IP), "--smtp-timeout", "1"]
    data = json.loads(mxprobe(dns_server, *args, "--json").stdout)
    text = mxprobe(dns_server, *args).stdout

    assert data["smtp"]["diagnosis"].startswith("not an SMTP server: it answered '\x00\x01\x02")
    assert "not an SMTP server: it answered '\\x00\\x01\\x02" in text and "\x00" not in text


def test_relay_refusal_reads_as_a_passed_test(dns_server: DnsServer, smtp_server: Any) -> None:
    """The expected 554 Relay access denied is the relay test passing: no advice that reads like a problem."""
    server = smtp_server(postfix_like(rcpt=_relay_guard))
    args = [*handshake_args(server, ip=GOOD_IP), "--relay-test"]
    data = json.loads(mxprobe(dns_server, *args, "--json").stdout)
    out = mxprobe(dns_server, *args).stdout
    relay = next(s for s in data["smtp"]["steps"] if s["step"] == "relay-test")

    assert relay["code"] == 554 and relay["diagnosis"].startswith("the relay test: refused as it should be")
    assert "proxy" not in relay["diagnosis"] and "Ask the user" not in out
    assert "C: RCPT TO:<mxprobe-relay-test@example.net>  (relay test)" in out
    assert "→ the relay test: refused as it should be" in out


def test_garbage_banner_same_text_in_json_and_escaped_in_text(
    dns_server: DnsServer, faulty_server: Any
) -> None:
    server = faulty_server("garbage")
    args = [*handshake_args(server, ip=GOOD_IP), "--smtp-timeout", "1"]
    data = json.loads(mxprobe(dns_server, *args, "--json").stdout)
    out = mxprobe(dns_server, *args).stdout
    check = next(c for c in data["checks"] if c["id"] == "smtp")
    banner = next(s for s in data["smtp"]["steps"] if s["step"] == "banner")

    exact = "not an SMTP server: it answered '\x00\x01\x02\x03\x04\x05\x06\x07\x08\t'"
    assert exact in check["summary"] and exact in banner["error"] and exact in data["smtp"]["diagnosis"]
    assert "answered ' '" not in json.dumps(data)
    shown = "not an SMTP server: it answered '\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t'"
    assert out.count(shown) >= 2  # the check line and the transcript, both escaped the same way
    assert "\x00" not in out


def test_connection_from_another_address_is_not_blamed_on_ip(dns_server: DnsServer, smtp_server: Any) -> None:
    """--ip 192.0.2.11 is not an address of this host: the server judges 127.0.0.1, which ptr is not about."""
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    args = ["--ip", "192.0.2.11", "--to", "user@dest.test", "--mx", f"127.0.0.1:{server.port}"]
    data = json.loads(mxprobe(dns_server, *args, "--check", "ptr", "--json").stdout)
    out = mxprobe(dns_server, *args, "--check", "ptr").stdout
    smtp = data["smtp"]

    assert set(server.peers) == {"127.0.0.1"} and smtp["source"] == "127.0.0.1"
    assert smtp["cause"] == "ptr" and smtp["confirmed_by"] is None
    assert "confirmed by" not in smtp["diagnosis"]
    assert smtp["diagnosis"].startswith(
        "the server judged 127.0.0.1 (it names [127.0.0.1] in its reply), the address the connection came "
        "from, not --ip 192.0.2.11"
    )
    assert "the DNS checks are about 192.0.2.11" in smtp["diagnosis"] and "--source" in smtp["diagnosis"]
    assert any("not --ip 192.0.2.11" in n for n in smtp["notes"])
    check = next(c for c in data["checks"] if c["id"] == "smtp")
    assert "(confirmed by" not in check["summary"]
    assert check["fix"].startswith("Test from 192.0.2.11 first (run mxprobe there, or --source 192.0.2.11)")
    assert "note: the connection came from 127.0.0.1, not --ip 192.0.2.11" in out
    assert "confirmed by ptr" not in out
