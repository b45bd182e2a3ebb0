"""`mxprobe DOMAIN --to ... --mx ...` as a user runs it: the acceptance case end to end, the JSON `smtp` key,
the transcript in the text output, exit codes, and bad input refused before anything is sent."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from servers.dns import DnsServer
from servers.smtp import ScriptedSmtpServer, postfix_like
from test_smtp_handshake import GOOD_IP, NO_PTR, SMTP_KEYS, STEP_KEYS
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
    assert "SMTP handshake  127.0.0.1 port" in out
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
    steps = json.loads(result.stdout)["smtp"]["steps"]
    assert steps[-1]["step"] == "banner" and steps[-1]["fault"] == "timeout"


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
