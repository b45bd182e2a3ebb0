"""What reaches the server's socket, and replies that do not answer their command (issue 9 items 1 and 2).

The scripted server records every byte the client wrote (`server.received`, whether the server read it as a
command or not), so "never DATA" is asserted where it matters: on the wire.

Mutation testing of the guards (on demand, not in CI; mutmut 3 in a copy of the tree, since it writes a
`mutants/` directory), with this `setup.cfg` in the copy:

    [mutmut]
    source_paths =
        mxprobe/smtp/exchange.py
        mxprobe/smtp/scrub.py
        mxprobe/smtp/wire.py
    also_copy =
        mxprobe
        checks
        tests
    pytest_add_cli_args_test_selection =
        tests/test_smtp_wire.py
        tests/test_smtp_faults.py
        tests/test_smtp_auth.py
    pytest_add_cli_args =
        -k
        not not_in_utf8

    mutmut run "mxprobe.smtp.exchange.x_guard*" "mxprobe.smtp.exchange.x__misfit*" \
        "mxprobe.smtp.exchange.xǁExchangeǁclear*" "mxprobe.smtp.scrub.*" "mxprobe.smtp.wire.xǁ_Parserǁtake*"
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from servers.dns import DnsServer
from servers.smtp import Command, ScriptedSmtpServer, multiline
from test_smtp_handshake import ALLOWED_VERBS, GOOD_IP, names, probe, smtp_of, smtp_options, step

from mxprobe import sourceip
from mxprobe.scanner import build_target, run
from mxprobe.smtp import dialogue, exchange
from mxprobe.smtp.wire import MAX_LINE, MAX_REPLY

TIMEOUT = 1.0
SLACK = 1.5
NO_PIPELINING = ("8BITMIME", "ENHANCEDSTATUSCODES")


async def quick(dns: DnsServer, server: ScriptedSmtpServer, **kw: Any) -> Any:
    return await probe(dns, server, ip=GOOD_IP, checks=("ptr",), **({"smtp_timeout": TIMEOUT} | kw))


def wire_lines(server: ScriptedSmtpServer) -> list[bytes]:
    return [line for line in server.received.split(b"\r\n") if line]


def assert_wire_clean(server: ScriptedSmtpServer) -> None:
    """Every line the client wrote starts with an allowed verb; DATA and BDAT appear nowhere."""
    lines = wire_lines(server)
    assert lines, "the client wrote nothing"
    for line in lines:
        assert line.split(b" ", 1)[0].upper().decode() in ALLOWED_VERBS, line
    assert b"DATA" not in server.received.upper() and b"BDAT" not in server.received.upper()


async def _mail_then_354(cmd: Command) -> None:
    await cmd.session.send("250 2.1.0 Ok\n354 End data with <CR><LF>.<CR><LF>")


@pytest.mark.parametrize(
    ("options", "flagged"),
    [
        ({"rcpt": "354 End data with <CR><LF>.<CR><LF>"}, "rcpt"),  # 354 to RCPT
        ({"rcpt": "354 go ahead", "extensions": NO_PIPELINING}, "rcpt"),
        ({"mail": _mail_then_354, "extensions": NO_PIPELINING}, "rcpt"),  # an unsolicited 354
        ({"mail": _mail_then_354}, "rcpt"),  # the same, pipelined: it arrives as RCPT's reply
        ({"mail": "354 send the message"}, "mail"),  # a 3xx to MAIL
        ({"banner": "354 Start mail input; end with <CRLF>.<CRLF>"}, "banner"),
        ({"rcpt": "250 2.1.5 Ok, now send DATA", "banner": "220 mx ESMTP send DATA please"}, ""),
    ],
)
async def test_no_data_at_the_socket_whatever_the_server_asks(
    dns_server: DnsServer, smtp_server: Any, options: dict[str, Any], flagged: str
) -> None:
    server = smtp_server(ScriptedSmtpServer(**options))
    report = await quick(dns_server, server)
    smtp = smtp_of(report)

    if server.received:
        assert_wire_clean(server)
    if flagged:
        [bad] = [s for s in smtp.steps if s.fault == "unexpected"]
        assert bad.step == flagged and smtp.outcome == "error" and smtp.cause == "protocol"
        assert "354" in bad.text + bad.error
        after = smtp.steps[smtp.steps.index(bad) + 1 :]
        assert all(s.code is None for s in after)  # nothing read (nor written) after the 354
    else:
        assert smtp.outcome == "accepted"


@pytest.mark.parametrize(
    "line",
    ["DATA", "BDAT 10 LAST", "data", "RSET", "NOOP", "VRFY root", "QUIT \r\nDATA", "QUIT x\nDATA", "QUIT \0"],
)
async def test_a_forbidden_line_never_reaches_the_socket(
    dns_server: DnsServer, smtp_server: Any, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    """The allow-list is the guard: a dialogue that tried to write anything else writes nothing of it."""

    async def quit_with(self: dialogue.Session) -> str:
        await self.ex.command("quit", line)
        return "done"

    monkeypatch.setattr(dialogue.Session, "_quit", quit_with)
    server = smtp_server(ScriptedSmtpServer(extensions=NO_PIPELINING))
    report = await quick(dns_server, server)

    assert server.received and b"MAIL FROM" in server.received  # the dialogue ran up to there
    for forbidden in (b"DATA", b"BDAT", b"RSET", b"NOOP", b"VRFY", b"\0"):
        assert forbidden not in server.received.upper()
    assert wire_lines(server)[-1].startswith(b"RCPT TO:")
    assert smtp_of(report).steps[-1].fault == "internal"


@pytest.mark.parametrize("line", ["DATA", "BDAT 1", "RSET", "EHLO x\r\nDATA", "AUTH PLAIN x\nDATA"])
def test_guard_refuses(line: str) -> None:
    with pytest.raises(ValueError, match="refusing"):
        exchange.guard(line)


@pytest.mark.parametrize("line", ["DATA", "datA", "BDATx", "dGVzdA==\r\nDATA", "a b", "QUIT\0"])
def test_guard_refuses_answers_that_are_not_base64(line: str) -> None:
    with pytest.raises(ValueError, match="refusing"):
        exchange.guard(line, secret=True)


# -------------------------------------------------------------------------- replies that answer nothing


async def _mail_twice(cmd: Command) -> None:
    await cmd.session.send("250 2.1.0 Ok\n250 2.1.0 Ok")  # one stale extra reply


UNKNOWN = "550 5.1.1 <user@dest.test>: Recipient address rejected: User unknown"


@pytest.mark.parametrize("extensions", [("PIPELINING",), NO_PIPELINING])
async def test_a_stale_extra_reply_is_a_protocol_fault(
    dns_server: DnsServer, smtp_server: Any, extensions: tuple[str, ...]
) -> None:
    """The 550 to RCPT must not pass for the reply to another command, and the outcome is not accepted."""
    server = smtp_server(ScriptedSmtpServer(mail=_mail_twice, rcpt=UNKNOWN, extensions=extensions))
    report = await quick(dns_server, server)
    smtp = smtp_of(report)
    [bad] = [s for s in smtp.steps if s.fault == "unexpected"]

    assert smtp.outcome == "error" and smtp.cause == "protocol" and smtp.verdict_step is bad
    if "PIPELINING" not in extensions:  # seen waiting before RCPT was written: RCPT never went out
        assert (bad.step, bad.sent, bad.text) == ("rcpt", False, "250 2.1.0 Ok")
        assert b"RCPT" not in server.received
    else:  # RCPT took the stale 250; the 550 then came as QUIT's reply, which it cannot be
        assert (bad.step, bad.text) == ("quit", UNKNOWN)
    assert "out of step" in bad.error or "does not answer" in bad.error
    assert "250 2.1.0 Ok" in bad.text or UNKNOWN in bad.text  # what arrived is shown
    assert not any(s.refused for s in smtp.steps)  # no reply is pinned on a command it may not answer
    assert_wire_clean(server)


def _no_reply(cmd: Command) -> None:
    return None


async def test_a_reply_left_out_is_not_a_reply_to_the_next(dns_server: DnsServer, smtp_server: Any) -> None:
    """RCPT gets no reply: QUIT's 221 (pipelined behind it) must not pass for RCPT's acceptance."""
    server = smtp_server(ScriptedSmtpServer(rcpt=_no_reply))
    report = await quick(dns_server, server)
    rcpt = step(report, "rcpt")

    assert (rcpt.fault, rcpt.code) == ("unexpected", 221) and "RCPT is answered with 250" in rcpt.error
    assert smtp_of(report).outcome == "error"


@pytest.mark.parametrize("banner", ["2500 mx ESMTP", "25 mx ESMTP", "600 mx", "199 mx", "2x0 mx", "220mx"])
async def test_codes_that_are_not_smtp(dns_server: DnsServer, smtp_server: Any, banner: str) -> None:
    server = smtp_server(ScriptedSmtpServer(banner=banner))
    report = await quick(dns_server, server)
    bad = step(report, "banner")

    assert (bad.fault, bad.code) == ("not-smtp", None) and banner in bad.error
    assert server.verbs == [] and smtp_of(report).outcome == "error"


@pytest.mark.parametrize("reply", ["2500 2.1.5 Ok", "25 Ok", "250x Ok"])
async def test_codes_that_are_not_smtp_mid_dialogue(
    dns_server: DnsServer, smtp_server: Any, reply: str
) -> None:
    server = smtp_server(ScriptedSmtpServer(rcpt=reply))
    report = await quick(dns_server, server)
    rcpt = step(report, "rcpt")

    assert (rcpt.fault, rcpt.code, rcpt.text) == ("not-smtp", None, reply)
    assert smtp_of(report).outcome == "error"


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [("400 4.0.0 try later", "deferred"), ("500 5.5.2 no", "rejected"), ("559 5.5.9 no", "rejected")],
)
async def test_any_4xx_or_5xx_refuses(
    dns_server: DnsServer, smtp_server: Any, reply: str, outcome: str
) -> None:
    server = smtp_server(ScriptedSmtpServer(rcpt=reply))
    report = await quick(dns_server, server)

    assert step(report, "rcpt").text == reply and smtp_of(report).outcome == outcome


async def _unended(cmd: Command) -> None:
    await cmd.session.write(b"220 " + b"x" * (MAX_LINE + 10))  # no line end, and the connection stays


@pytest.mark.parametrize(
    "banner", ["220 " + "x" * (MAX_LINE + 10), "220 " + "x" * (MAX_REPLY + 10), _unended]
)
async def test_a_line_over_the_limit_ends_at_once(
    dns_server: DnsServer, smtp_server: Any, banner: Any
) -> None:
    server = smtp_server(ScriptedSmtpServer(banner=banner))
    started = time.monotonic()
    report = await quick(dns_server, server, smtp_timeout=5.0)

    assert step(report, "banner").fault == "too-long" and time.monotonic() - started < 2.5


async def test_mixed_codes_kept_as_sent_and_flagged(dns_server: DnsServer, smtp_server: Any) -> None:
    sent = "550-5.7.1 first line\n451 4.7.1 second line"
    server = smtp_server(ScriptedSmtpServer(rcpt=sent))
    report = await quick(dns_server, server)
    rcpt = step(report, "rcpt")

    assert rcpt.text == sent and (rcpt.fault, rcpt.code) == ("bad-reply", None)
    assert "different codes (550, 451)" in rcpt.error
    assert smtp_of(report).outcome == "error" and smtp_of(report).cause == "protocol"


async def test_text_kept_exactly_as_sent(dns_server: DnsServer, smtp_server: Any) -> None:
    sent = multiline(550, "5.7.1 trailing space ", "5.7.1\ttab and  two spaces", "5.7.1 last  ")
    server = smtp_server(ScriptedSmtpServer(rcpt=sent))
    report = await quick(dns_server, server)

    assert step(report, "rcpt").text == sent


# ------------------------------------------------------------------------------ tarpits and hang-ups


async def _drip(cmd: Command) -> None:
    for char in "220 slow":
        await cmd.session.write(char.encode())
        await asyncio.sleep(0.4)


async def test_a_byte_at_a_time_is_a_timeout_with_the_reason(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(ScriptedSmtpServer(banner=_drip))
    started = time.monotonic()
    report = await quick(dns_server, server)
    banner = step(report, "banner")

    assert banner.fault == "timeout" and "arrived without a line end" in banner.error
    assert "tarpit" in banner.error and smtp_of(report).cause == "network"
    assert time.monotonic() - started < TIMEOUT + SLACK


async def test_banner_then_close_is_a_network_fault_at_ehlo(dns_server: DnsServer, smtp_server: Any) -> None:
    async def greet_and_go(cmd: Command) -> None:
        await cmd.session.send("220 mx.infra.test ESMTP")
        cmd.session.close()

    server = smtp_server(ScriptedSmtpServer(banner=greet_and_go))
    report = await quick(dns_server, server)
    ehlo = step(report, "ehlo")

    assert ehlo.fault == "disconnected" and "closed the connection" in ehlo.error
    assert smtp_of(report).outcome == "error" and smtp_of(report).cause == "network"
    assert smtp_of(report).diagnosis == ehlo.error


# ---------------------------------------------------------------------------------------- PIPELINING


async def test_pipelined_in_one_write_each_reply_its_own_step(
    dns_server: DnsServer, smtp_server: Any
) -> None:
    server = smtp_server(ScriptedSmtpServer(reply_delay=0.15))
    report = await quick(dns_server, server, to=("a@dest.test", "b@dest.test"), smtp_timeout=3.0)
    smtp = smtp_of(report)
    group = [s for s in smtp.steps if s.step in ("mail", "rcpt", "quit")]

    assert [s.step for s in group] == ["mail", "rcpt", "rcpt", "quit"] and "rset" not in names(report)
    assert any(b"MAIL FROM" in c and b"RCPT TO:<b@" in c and b"QUIT" in c for c in server.received_chunks)
    times = [s.elapsed_ms for s in group[:3]]
    assert times == sorted(times) and times[0] >= 100  # each from the one write to its own reply
    assert all(s.code is not None for s in group[:3]) and smtp.outcome == "accepted"


async def test_quit_is_not_waited_for(dns_server: DnsServer, smtp_server: Any) -> None:
    async def never(cmd: Command) -> None:
        await asyncio.Event().wait()

    server = smtp_server(ScriptedSmtpServer(quit=never))
    started = time.monotonic()
    report = await quick(dns_server, server, smtp_timeout=5.0)
    quit_step = step(report, "quit")

    assert time.monotonic() - started < 2.0
    assert quit_step.code is None and not quit_step.fault and "not waited for" in quit_step.note
    assert quit_step.elapsed_ms < 1000 * (exchange.QUIT_GRACE + 0.5)
    assert smtp_of(report).outcome == "accepted"


async def test_connects_as_soon_as_the_first_address_is_known(
    dns_server: DnsServer, smtp_server: Any
) -> None:
    """The second MX host's address is slow to come: the dialogue with the first does not wait for it."""
    server = smtp_server(ScriptedSmtpServer())
    dns_server.set_delay("mx2.dest.test.", 3.0)
    started = time.monotonic()
    report = await probe(dns_server, ip=GOOD_IP, checks=("ptr",), port=server.port, smtp_timeout=TIMEOUT)
    smtp = smtp_of(report)

    assert time.monotonic() - started < 2.0
    assert [(c.host, c.status) for c in smtp.mx_candidates] == [
        ("mx1.dest.test", "connected"),
        ("mx2.dest.test", "not tried"),
    ]
    assert smtp.outcome == "accepted"


async def test_the_recipients_mx_is_asked_at_once(
    dns_server: DnsServer, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recipient's MX is asked at t = 0, while the sending IP is still being found (a slow discovery
    here), not after: the handshake's first hop hides under the rest of the run."""
    finished: list[float] = []

    async def slow_discovery(deadline: Any) -> tuple[str, str]:
        await asyncio.sleep(0.5)
        finished.append(time.monotonic())
        return GOOD_IP, "test discovery"

    monkeypatch.setattr(sourceip, "discover", slow_discovery)
    server = smtp_server(ScriptedSmtpServer())
    target = build_target("smtp.test", to=["user@dest.test"], port=server.port)
    report = await run(target, smtp_options(dns_server, checks=("ptr",), port=server.port))
    mx = [q for q in dns_server.queries if (q.qname, q.qtype) == ("dest.test.", "MX")]

    assert finished and mx and mx[0].at < finished[0] - 0.3  # asked well before the IP was known
    assert smtp_of(report).outcome == "accepted"
