"""Every fault of issue 4 item 4: each ends within the timeout, at the step where it happened, with a reason a
person can act on, and never a traceback or a hang. The servers are the misbehaving peers of
tests/servers/smtp.py, plus one made here (a port that never answers the TCP handshake)."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from servers.dns import DnsServer
from servers.smtp import Command, ScriptedSmtpServer, multiline
from test_smtp_handshake import GOOD_IP, assert_never_data, check_status, names, probe, smtp_of, step, steps

from mxprobe.model import Status

TIMEOUT = 1.0  # --smtp-timeout of these probes
SLACK = 1.5  # what a fault may add to TIMEOUT on a loaded 2-core machine (DNS checks run alongside)


async def timed_probe(dns: DnsServer, server: ScriptedSmtpServer | None, **kw: Any) -> tuple[Any, float]:
    started = time.monotonic()
    report = await probe(dns, server, ip=GOOD_IP, checks=("ptr",), **({"smtp_timeout": TIMEOUT} | kw))
    return report, time.monotonic() - started


@pytest.mark.parametrize(
    ("kind", "where", "fault", "words", "outcome"),
    [
        ("refuse", "connect", "refused", "connection refused by 127.0.0.1:", "error"),
        ("tarpit", "banner", "timeout", "no greeting within 1.0 s", "error"),
        (
            "drop_before_banner",
            "banner",
            "disconnected",
            "closed the connection before its greeting",
            "error",
        ),
        ("drop_after_ehlo", "ehlo", "disconnected", "closed the connection instead of replying", "error"),
        ("http", "banner", "not-smtp", "not an SMTP server: it answered 'HTTP/1.1 400 Bad Request'", "error"),
        ("garbage", "banner", "not-smtp", "not an SMTP server: it answered '\x00\x01", "error"),
        ("long_line", "banner", "too-long", "longer than this client accepts", "error"),
        ("endless_multiline", "banner", "too-long", "a multi-line reply that never ends", "error"),
    ],
)
async def test_fault_named_at_its_step(
    dns_server: DnsServer, faulty_server: Any, kind: str, where: str, fault: str, words: str, outcome: str
) -> None:
    server = faulty_server(kind)
    report, elapsed = await timed_probe(dns_server, server)
    smtp = smtp_of(report)
    failed = next(s for s in smtp.steps if s.fault)

    assert elapsed < TIMEOUT + SLACK
    assert (failed.step, failed.fault) == (where, fault)
    assert words in failed.error, failed.error
    assert smtp.outcome == outcome and smtp.diagnosis == failed.error
    assert check_status(report, "smtp") == Status.ERROR
    assert words in (report.check("smtp") or pytest.fail("no smtp check")).summary
    assert smtp.mx_candidates[0].status == ("failed" if where in ("connect", "banner") else "connected")
    assert int(report.exit_code) == 3  # inconclusive: nothing failed, the handshake could not say
    assert_never_data(server)


async def test_endless_multiline_is_counted(dns_server: DnsServer, faulty_server: Any) -> None:
    report, _ = await timed_probe(dns_server, faulty_server("endless_multiline"))
    error = step(report, "banner").error
    assert error.startswith("no complete reply within 1.0 s: ")
    assert "lines arrived, each announcing another ('250-mx.infra.test line 1, more to come' ...)" in error


async def test_421_banner_ends_before_ehlo(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("banner_421")
    report, elapsed = await timed_probe(dns_server, server)
    banner = step(report, "banner")

    assert (banner.code, banner.enhanced, banner.text) == (
        421,
        "4.3.2",
        "421 4.3.2 All server ports are busy",
    )
    assert banner.explanation is not None and banner.explanation.cause == "server"
    assert names(report) == ["connect", "banner"] and server.verbs == []
    assert smtp_of(report).outcome == "deferred" and int(report.exit_code) == 1
    assert elapsed < TIMEOUT + SLACK


async def test_421_mid_dialogue_stops_the_dialogue(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("421_mid_dialogue")
    report, _ = await timed_probe(dns_server, server)
    mail = step(report, "mail")

    assert mail.text == "421 4.7.0 mx.infra.test Error: too many errors"
    # PIPELINING: RCPT and QUIT went in the same write as MAIL; the server hung up, so they got no reply
    assert names(report)[-3:] == ["mail", "rcpt", "quit"]
    assert all(s.code is None and not s.fault and s.note for s in smtp_of(report).steps[-2:])
    assert server.verbs == ["EHLO", "MAIL"]  # the server read no further
    assert smtp_of(report).outcome == "deferred" and smtp_of(report).cause == "protocol"


async def test_421_mid_dialogue_without_pipelining_sends_nothing_more(
    dns_server: DnsServer, faulty_server: Any
) -> None:
    server = faulty_server("421_mid_dialogue", extensions=("8BITMIME",))
    report, _ = await timed_probe(dns_server, server)

    assert names(report)[-1] == "mail"  # the server hung up: no RCPT, no QUIT
    assert server.verbs == ["EHLO", "MAIL"]
    assert smtp_of(report).outcome == "deferred"


def _ehlo_then_421(together: bool) -> Callable[[Command], Awaitable[None]]:
    async def ehlo_then_leave(cmd: Command) -> None:
        ehlo = multiline(250, "mx.infra.test", "PIPELINING")
        bye = "421 4.4.2 mx.infra.test Error: timeout exceeded"
        if together:  # one write: the 421 is waiting before MAIL is written
            await cmd.session.send(f"{ehlo}\n{bye}")
        else:
            await cmd.session.send(ehlo)
            await cmd.session.send(bye)
        cmd.session.close()

    return ehlo_then_leave


@pytest.mark.parametrize("together", [True, False])
async def test_unsolicited_421_then_hang_up(dns_server: DnsServer, smtp_server: Any, together: bool) -> None:
    """A 421 sent while the client is not waiting for a reply (RFC 5321 §3.8: a server may close with 421 at
    any time) is read as what it is, whether it arrived before MAIL was written or after: the dialogue is
    deferred at MAIL, with the 421's text, never a crash, a hang or a guess."""
    server = smtp_server(ScriptedSmtpServer(ehlo=_ehlo_then_421(together)))
    report, elapsed = await timed_probe(dns_server, server)
    mail = step(report, "mail")

    assert (mail.code, mail.text) == (421, "421 4.4.2 mx.infra.test Error: timeout exceeded"), mail
    assert not mail.fault and smtp_of(report).outcome == "deferred"
    if together:  # one write, one segment: the 421 was there before MAIL could be written
        assert not mail.sent and "unasked" in mail.note and "MAIL" not in server.verbs
    assert "DATA" not in server.verbs and elapsed < TIMEOUT + SLACK


async def test_slow_greeting_is_reported_with_its_delay(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("tarpit", delay=2.2)
    report, elapsed = await timed_probe(dns_server, server, smtp_timeout=4.0)
    banner = step(report, "banner")

    assert banner.code == 220 and 2100 < banner.elapsed_ms < 4000
    assert banner.note.startswith("the reply took 2.") and "tarpit" in banner.note
    assert smtp_of(report).outcome == "accepted" and elapsed < 4.0 + SLACK


async def test_tarpit_on_rcpt_times_out_at_rcpt(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("tarpit", at="RCPT")
    report, elapsed = await timed_probe(dns_server, server)
    rcpt = step(report, "rcpt")

    assert (rcpt.fault, rcpt.error) == ("timeout", "no reply within 1.0 s")
    assert smtp_of(report).outcome == "error" and elapsed < TIMEOUT + SLACK


async def test_run_deadline_cuts_the_wait(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("tarpit")
    report, elapsed = await timed_probe(dns_server, server, smtp_timeout=30.0, timeout=1.5)

    banner = step(report, "banner")
    check = report.check("smtp") or pytest.fail("no smtp check")

    assert elapsed < 1.5 + SLACK
    assert banner.fault == "deadline"
    assert "the run's deadline (1.5 s) ended the wait; raise --timeout" in banner.error
    assert "--timeout" in check.fix and "--smtp-timeout" not in banner.error + check.fix
    assert smtp_of(report).outcome == "error"


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose TCP handshake never completes: a listener whose accept queue is full drops new SYNs
    (Linux), which is how a firewall that drops port 25 looks from the sender."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


async def test_connect_timeout_blames_blocked_port_25(dns_server: DnsServer, unanswered_port: int) -> None:
    started = time.monotonic()
    report = await probe(
        dns_server, ip=GOOD_IP, checks=("ptr",), to=("user@dest.test",), smtp_timeout=TIMEOUT,
        port=unanswered_port,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    smtp = smtp_of(report)
    first = smtp.steps[0]

    assert elapsed < 2 * TIMEOUT + SLACK  # two MX hosts, one timeout each
    assert (first.step, first.fault) == ("connect", "timeout")
    assert "Outbound port 25 is often blocked by the network or cloud provider" in first.error
    assert [c.status for c in smtp.mx_candidates] == ["failed", "failed"]
    assert smtp.outcome == "error" and smtp.cause == "network"
    assert smtp.diagnosis.startswith("mx1.dest.test [127.0.0.1]: no answer to the TCP connection")
    assert "; mx2.dest.test [127.0.0.1]: no answer" in smtp.diagnosis  # every server tried, with its reason


async def test_starttls_refused_goes_on_in_clear(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("starttls_fail")
    report, _ = await timed_probe(dns_server, server)
    starttls = step(report, "starttls")
    tls = smtp_of(report).tls

    assert starttls.text == "454 4.7.0 TLS not available due to local problem"
    assert names(report)[4:] == ["mail", "rcpt", "quit"]  # no second EHLO: nothing changed
    assert tls is not None and tls.offered and not tls.established and "454" in tls.error
    assert check_status(report, "tls") == Status.FAIL and smtp_of(report).outcome == "accepted"


async def test_tls_handshake_failure_then_clear_text(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("tls_handshake_fail")
    report, elapsed = await timed_probe(dns_server, server)
    starttls = step(report, "starttls")
    smtp = smtp_of(report)

    assert starttls.fault == "tls" and starttls.code == 220  # the 220 came; the TLS handshake then failed
    assert names(report) == [
        "connect", "banner", "ehlo", "starttls",  # first connection: TLS fails
        "connect", "banner", "ehlo", "mail", "rcpt", "quit",  # again, without STARTTLS
    ]  # fmt: skip
    assert len(server.peers) == 2 and server.verbs.count("STARTTLS") == 1
    assert any("reconnected without it" in note for note in smtp.notes)
    assert check_status(report, "tls") == Status.FAIL and smtp.outcome == "accepted"
    assert elapsed < TIMEOUT + SLACK


async def test_implicit_tls_against_a_plain_server(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(ScriptedSmtpServer())
    report, elapsed = await timed_probe(dns_server, server, tls=True)
    failed = smtp_of(report).steps[-1]

    assert (failed.step, failed.fault) == ("tls", "tls")
    assert failed.error.startswith("the TLS handshake failed: ")
    assert smtp_of(report).cause == "tls" and check_status(report, "tls") == Status.FAIL
    assert elapsed < TIMEOUT + SLACK


async def test_tls_garbage_in_the_handshake(dns_server: DnsServer, smtp_server: Any) -> None:
    """A server that answers STARTTLS with 220 and then sends no TLS at all, keeping the line open."""

    async def not_tls(cmd: Command) -> None:
        await cmd.session.send("220 2.0.0 Ready to start TLS")
        await cmd.session.write(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 4)

    server = smtp_server(ScriptedSmtpServer(offer_starttls=True, starttls=not_tls))
    report, elapsed = await timed_probe(dns_server, server)
    [starttls] = steps(report, "starttls")

    assert starttls.fault == "tls" and starttls.error.startswith("the TLS handshake failed: ")
    assert elapsed < 2 * TIMEOUT + SLACK


async def test_a_password_that_is_a_word_leaves_mxprobe_words_alone(
    dns_server: DnsServer, unanswered_port: int
) -> None:
    """Only what the server says is scrubbed of the secret: mxprobe's own advice keeps its words."""
    report = await probe(
        dns_server, ip=GOOD_IP, checks=("ptr",), to=("user@nomx.dest.test",), smtp_timeout=TIMEOUT,
        port=unanswered_port, auth_user="alice", auth_password="test",
    )  # fmt: skip
    first = smtp_of(report).steps[0]

    assert first.fault == "timeout" and "test from a network that allows it" in first.error


# ---------------------------------------------------------------------------- advice in the run's facts

PLACEHOLDERS = ("SENDING-DOMAIN", "RECIPIENT", "ADDRESS", "YOUR", "<your", "DOMAIN")


def smtp_fix(report: Any, check_id: str = "smtp") -> str:
    check = report.check(check_id) or pytest.fail(f"no {check_id} check")
    assert check.fix and not any(p in check.fix for p in PLACEHOLDERS), check.fix
    return str(check.fix)


async def test_blocked_port_advice_names_the_sending_domain(
    dns_server: DnsServer, unanswered_port: int
) -> None:
    report = await probe(
        dns_server, ip=GOOD_IP, checks=("ptr",), to=("user@dest.test",), smtp_timeout=TIMEOUT,
        port=unanswered_port,
    )  # fmt: skip
    fix = smtp_fix(report)

    assert "`mxprobe smtp.test --ip 127.0.0.11 --to user@dest.test`" in fix  # the sender's domain, the facts
    assert "port 25" in fix and "127.0.0.11" in fix


async def test_tarpit_advice_is_not_about_a_blocked_port(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("tarpit")
    report, _ = await timed_probe(dns_server, server)
    fix = smtp_fix(report)

    assert "accepted the connection but sent no greeting" in fix and "not a blocked port" in fix
    assert "open port" not in fix and "lift the block" not in fix
    assert f"--mx 127.0.0.1:{server.port}" in fix and "mxprobe smtp.test" in fix


async def test_starttls_454_is_the_receivers_fault(dns_server: DnsServer, faulty_server: Any) -> None:
    server = faulty_server("starttls_fail")
    report, _ = await timed_probe(dns_server, server, to=("user@dest.test",))
    fix = smtp_fix(report, "tls")
    starttls = step(report, "starttls")

    assert "receiver's side" in fix and "postmaster@dest.test" in fix
    assert "Enable STARTTLS" not in fix + starttls.diagnosis and "sending MTA" not in fix + starttls.diagnosis
    assert starttls.diagnosis.startswith("the receiver's TLS is broken")
