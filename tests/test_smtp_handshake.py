"""The live handshake against loopback SMTP servers that speak like real ones, joined with the DNS checks.

Every probe goes through the scanner (`mxprobe.scanner.run`), as the CLI does, with the test DNS server as the
resolver. Sending IPs (tests/zones/smtp.test.zone): 127.0.0.10 has no PTR; 127.0.0.11 has PTR mail.smtp.test,
which points back. Both are addresses of this host, so the probe binds to them and the server sees them.

The helpers at the top are shared with tests/test_smtp_faults.py, test_smtp_auth.py and test_smtp_cli.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from servers.certs import TestPKI
from servers.dns import DnsServer
from servers.smtp import (
    GMAIL_REJECTS,
    GREYLISTED,
    POSTFIX_REJECTS,
    Command,
    ScriptedSmtpServer,
    gmail_like,
    greylisting,
    netease_like,
    postfix_like,
)

from mxprobe.dns import parse_nameserver
from mxprobe.model import Status
from mxprobe.options import Options
from mxprobe.render.report import render_json, render_text
from mxprobe.report import Report
from mxprobe.scanner import build_target, run
from mxprobe.smtp import RELAY_TEST_ADDRESS, SmtpResult, Step

NO_PTR = "127.0.0.10"  # no PTR record
GOOD_IP = "127.0.0.11"  # PTR mail.smtp.test, forward-confirmed
SMTP_KEYS = {"mx_candidates", "host", "address", "port", "tls", "steps", "outcome", "cause", "confirmed_by"}
STEP_KEYS = ["step", "command", "code", "enhanced", "text", "elapsed_ms", "explanation"]
ALLOWED_VERBS = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "QUIT"}


# ----------------------------------------------------------------------------------------- shared helpers


def smtp_options(dns: DnsServer, checks: tuple[str, ...] = ("ptr", "fcrdns"), **kw: Any) -> Options:
    base: dict[str, Any] = {"timeout": 10.0, "smtp_timeout": 3.0}
    return Options(nameservers=[parse_nameserver(dns.address)], only=list(checks), **(base | kw))


async def probe(
    dns: DnsServer,
    server: ScriptedSmtpServer | None = None,
    *,
    to: tuple[str, ...] = ("user@dest.test",),
    ip: str = NO_PTR,
    domain: str = "smtp.test",
    helo: str | None = None,
    mail_from: str | None = None,
    port: int | None = None,
    mx_host: str = "127.0.0.1",
    checks: tuple[str, ...] = ("ptr", "fcrdns"),
    **options: Any,
) -> Report:
    """One probe as `mxprobe DOMAIN --ip IP --to ... [--mx MX_HOST:PORT]` runs it."""
    mx = f"{mx_host}:{server.port}" if server is not None else None
    port = port if port is not None else 25
    target = build_target(domain, ip=ip, helo=helo, mail_from=mail_from, to=list(to), mx=mx, port=port)
    return await run(target, smtp_options(dns, checks, port=port, **options))


def smtp_of(report: Report) -> SmtpResult:
    assert isinstance(report.smtp, SmtpResult)
    return report.smtp


def steps(report: Report, name: str) -> list[Step]:
    return [s for s in smtp_of(report).steps if s.step == name]


def step(report: Report, name: str) -> Step:
    [found] = steps(report, name)
    return found


def names(report: Report) -> list[str]:
    return [s.step for s in smtp_of(report).steps]


def check_status(report: Report, check_id: str) -> Status:
    check = report.check(check_id)
    assert check is not None, [c.id for c in report.checks]
    return check.status


def assert_never_data(server: ScriptedSmtpServer) -> None:
    assert set(server.verbs) <= ALLOWED_VERBS, server.verbs
    assert "DATA" not in server.verbs and "BDAT" not in server.verbs


# -------------------------------------------------------------------------------------------- acceptance


async def test_reverse_hostname_450_is_deferred_and_confirmed_by_ptr(
    dns_server: DnsServer, smtp_server: Any
) -> None:
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    report = await probe(dns_server, server, source=NO_PTR)
    smtp = smtp_of(report)

    assert server.peers == [NO_PTR]  # bound to the sending IP: the server saw 127.0.0.10
    assert names(report) == ["connect", "banner", "ehlo", "mail", "rcpt", "quit"]
    assert server.commands == [
        "EHLO [127.0.0.10]",  # no --helo and no PTR: the address literal of the source
        "MAIL FROM:<postmaster@smtp.test>",
        "RCPT TO:<user@dest.test>",
        "QUIT",  # QUIT ends the transaction: no RSET before it
    ]
    rcpt = step(report, "rcpt")
    assert (rcpt.code, rcpt.enhanced) == (450, "4.7.1")
    assert rcpt.text == "450 4.7.1 Client host rejected: cannot find your reverse hostname, [127.0.0.10]"
    assert rcpt.explanation is not None and rcpt.explanation.entry == "postfix-reverse-hostname"

    assert (smtp.outcome, smtp.cause, smtp.confirmed_by) == ("deferred", "ptr", "ptr")
    assert smtp.diagnosis.startswith("confirmed by ptr: 127.0.0.10 has no PTR")
    assert "10.0.0.127.in-addr.arpa PTR → NXDOMAIN" in smtp.diagnosis
    assert check_status(report, "smtp") == Status.FAIL
    assert int(report.exit_code) == 1
    assert_never_data(server)


async def test_ptr_that_passes_says_the_dns_looks_right(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    report = await probe(dns_server, server, ip=GOOD_IP)
    smtp = smtp_of(report)

    assert server.commands[0] == "EHLO mail.smtp.test"  # the HELO name defaults to the IP's PTR name
    assert (smtp.outcome, smtp.cause, smtp.confirmed_by) == ("deferred", "ptr", None)
    assert "the DNS looks right from here (ptr, fcrdns pass)" in smtp.diagnosis
    assert "another sending IP" in smtp.diagnosis and "TTL" in smtp.diagnosis
    assert check_status(report, "ptr") == Status.PASS


async def test_every_recipient_accepted(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    report = await probe(dns_server, server, ip=GOOD_IP, to=("a@dest.test", "b@dest.test"))
    smtp = smtp_of(report)

    assert [s.command for s in steps(report, "rcpt")] == ["RCPT TO:<a@dest.test>", "RCPT TO:<b@dest.test>"]
    assert smtp.outcome == "accepted" and smtp.cause is None
    assert {"SIZE", "PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING"} <= set(smtp.extensions)
    assert smtp.extensions["SIZE"] == "10240000"
    assert check_status(report, "smtp") == Status.PASS
    assert check_status(report, "tls") == Status.WARN  # this server offers no STARTTLS
    assert int(report.exit_code) == 0
    assert all(s.explanation is None for s in smtp.steps)  # a 2xx needs no explaining


async def test_json_shape(
    dns_server: DnsServer, smtp_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    render_json(await probe(dns_server, server))
    data = json.loads(capsys.readouterr().out)["smtp"]

    assert set(data) >= SMTP_KEYS
    assert data["outcome"] == "deferred" and data["port"] == server.port
    assert data["mx_candidates"] == [
        {"host": "127.0.0.1", "preference": None, "address": "127.0.0.1", "status": "connected", "reason": ""}
    ]
    for item in data["steps"]:
        assert list(item)[: len(STEP_KEYS)] == STEP_KEYS
    rcpt = next(s for s in data["steps"] if s["step"] == "rcpt")
    assert rcpt["explanation"]["cause"] == "ptr" and rcpt["confirmed_by"] == "ptr"


# -------------------------------------------------------------------------- receivers, their texts, the join


@pytest.mark.parametrize(
    ("reject", "probe_args", "checks", "outcome", "cause", "confirmed_by"),
    [
        ("hostname", {}, ("ptr", "fcrdns"), "deferred", "ptr", "ptr"),
        (
            "helo_not_found",
            {"helo": "nohost.smtp.test", "ip": GOOD_IP},
            ("helo",),
            "deferred",
            "helo",
            "helo",
        ),
        ("spf_fail", {"domain": "spf-fail.smtp.test", "ip": GOOD_IP}, ("spf",), "rejected", "spf", "spf"),
        ("relay", {"ip": GOOD_IP}, ("ptr",), "rejected", "relay", None),
        ("unknown_user", {"ip": GOOD_IP}, ("ptr",), "rejected", "recipient", None),
    ],
)
async def test_postfix_texts_joined_with_the_checks(
    dns_server: DnsServer,
    smtp_server: Any,
    reject: str,
    probe_args: dict[str, Any],
    checks: tuple[str, ...],
    outcome: str,
    cause: str,
    confirmed_by: str | None,
) -> None:
    server = smtp_server(postfix_like(reject=reject))
    report = await probe(dns_server, server, checks=checks, **probe_args)
    smtp = smtp_of(report)

    assert step(report, "rcpt").text.startswith(POSTFIX_REJECTS[reject][:8])
    assert (smtp.outcome, smtp.cause, smtp.confirmed_by) == (outcome, cause, confirmed_by)
    if confirmed_by:
        assert smtp.diagnosis.startswith(f"confirmed by {confirmed_by}: ")
    else:
        assert "no DNS check proves it" in smtp.diagnosis
    assert int(report.exit_code) == 1


async def test_netease_mi_spf_at_mail_sends_no_rcpt(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(netease_like(reject="spf"))
    report = await probe(dns_server, server, ip=GOOD_IP, domain="spf-fail.smtp.test", checks=("spf",))
    smtp = smtp_of(report)

    assert step(report, "mail").text.startswith("550 MI:SPF ")
    assert server.verbs[-3:] == ["MAIL", "RCPT", "QUIT"]  # PIPELINING: one write, as a sender does
    assert (smtp.outcome, smtp.cause, smtp.confirmed_by) == ("rejected", "spf", "spf")  # MAIL decides


async def test_refused_mail_without_pipelining_sends_no_rcpt(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(netease_like(reject="spf", extensions=("8BITMIME",)))
    report = await probe(dns_server, server, ip=GOOD_IP, domain="spf-fail.smtp.test", checks=("spf",))

    assert server.verbs == ["EHLO", "MAIL", "QUIT"]  # a refused MAIL ends the transaction
    assert smtp_of(report).outcome == "rejected"


async def test_netease_421_banner_is_deferred_before_ehlo(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(netease_like(reject="rep"))
    report = await probe(dns_server, server, ip=GOOD_IP)
    smtp = smtp_of(report)

    assert names(report) == ["connect", "banner"]
    assert step(report, "banner").text.startswith("421 HL:REP ")
    assert server.verbs == []  # nothing sent after a 421 greeting
    assert (smtp.outcome, smtp.cause) == ("deferred", "reputation")
    assert check_status(report, "tls") == Status.ERROR  # EHLO never came: STARTTLS not tested


async def test_gmail_multiline_reply_kept_whole(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(gmail_like(reject="unauthenticated"))
    report = await probe(dns_server, server, ip=GOOD_IP, checks=("dmarc", "spf"))
    rcpt = step(report, "rcpt")
    lines = rcpt.text.split("\n")

    assert len(lines) == len(GMAIL_REJECTS["unauthenticated"])
    assert all(line.startswith("550-5.7.26") for line in lines[:-1]) and lines[-1].startswith("550 5.7.26")
    assert "SPF [smtp.test] with ip: [127.0.0.11] = did not pass" in rcpt.text
    assert (rcpt.code, rcpt.enhanced) == (550, "5.7.26")
    assert smtp_of(report).outcome == "rejected" and smtp_of(report).cause == "dmarc"


async def test_greylisting_defers_then_accepts(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(greylisting(retries=1))
    first = await probe(dns_server, server, ip=GOOD_IP)
    second = await probe(dns_server, server, ip=GOOD_IP)

    assert step(first, "rcpt").text == GREYLISTED.format(address="user@dest.test", domain="dest.test")
    assert (smtp_of(first).outcome, smtp_of(first).cause) == ("deferred", "greylist")
    assert smtp_of(second).outcome == "accepted"
    assert int(first.exit_code) == 1 and check_status(second, "smtp") == Status.PASS


# ------------------------------------------------------------------------------------------ MX resolution


async def test_mx_in_preference_order_each_failure_reported(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    report = await probe(dns_server, to=("user@backup.dest.test",), ip=GOOD_IP, port=server.port)
    smtp = smtp_of(report)

    tried = [(c.host, c.preference, c.address, c.status) for c in smtp.mx_candidates]
    assert tried == [
        ("down.dest.test", 10, "127.0.0.2", "failed"),
        ("up.dest.test", 20, "127.0.0.1", "connected"),
        ("gone.dest.test", 30, None, "failed"),
    ]
    assert smtp.mx_candidates[0].reason.startswith("connection refused by 127.0.0.2:")
    assert smtp.mx_candidates[2].reason == "no A/AAAA record (NXDOMAIN)"
    assert (smtp.host, smtp.address, smtp.outcome) == ("up.dest.test", "127.0.0.1", "accepted")


async def test_first_mx_answers_the_others_are_not_tried(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    report = await probe(dns_server, ip=GOOD_IP, port=server.port)
    smtp = smtp_of(report)

    assert [(c.host, c.status) for c in smtp.mx_candidates] == [
        ("mx1.dest.test", "connected"),
        ("mx2.dest.test", "not tried"),
    ]
    assert len(server.peers) == 1


async def test_null_mx_accepts_no_mail(dns_server: DnsServer) -> None:
    report = await probe(dns_server, to=("user@nullmx.dest.test",), ip=GOOD_IP)
    smtp = smtp_of(report)

    assert smtp.steps == [] and smtp.mx_candidates == []
    assert (smtp.outcome, smtp.cause) == ("rejected", "recipient")
    assert "null MX" in smtp.diagnosis and "accepts no mail" in smtp.diagnosis
    assert check_status(report, "smtp") == Status.FAIL and int(report.exit_code) == 1


async def test_no_mx_falls_back_to_the_address(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    report = await probe(dns_server, to=("user@nomx.dest.test",), ip=GOOD_IP, port=server.port)
    smtp = smtp_of(report)

    assert [(c.host, c.preference, c.address) for c in smtp.mx_candidates] == [
        ("nomx.dest.test", None, "127.0.0.1")
    ]
    assert any("RFC 5321" in n for n in smtp.notes) and smtp.outcome == "accepted"


@pytest.mark.parametrize(
    ("recipient", "words"),
    [
        ("user@nothing.dest.test", "nothing.dest.test has no MX and no address"),
        ("user@missing.dest.test", "does not exist (NXDOMAIN)"),
        ("user@deadmx.dest.test", "no MX host of deadmx.dest.test has an address (gone.dest.test: no A/AAAA"),
    ],
)
async def test_domains_that_cannot_receive(dns_server: DnsServer, recipient: str, words: str) -> None:
    report = await probe(dns_server, to=(recipient,), ip=GOOD_IP)
    smtp = smtp_of(report)

    assert (smtp.outcome, smtp.cause) == ("rejected", "recipient")
    assert words in smtp.diagnosis
    assert words in (report.check("smtp") or pytest.fail("no smtp check")).summary


# ------------------------------------------------------------------------------------ SMTPUTF8 and IDN


async def test_idn_goes_out_as_punycode_without_smtputf8(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(extensions=("PIPELINING", "8BITMIME")))
    await probe(dns_server, server, ip=GOOD_IP, to=("user@bücher.dest.test",))

    assert "MAIL FROM:<postmaster@smtp.test>" in server.commands
    assert "RCPT TO:<user@xn--bcher-kva.dest.test>" in server.commands


async def test_idn_goes_out_in_utf8_when_offered(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())  # offers SMTPUTF8
    await probe(dns_server, server, ip=GOOD_IP, to=("user@bücher.dest.test",))

    assert "MAIL FROM:<postmaster@smtp.test> SMTPUTF8" in server.commands
    assert "RCPT TO:<user@bücher.dest.test>" in server.commands


async def test_utf8_mailbox_needs_smtputf8(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(extensions=("PIPELINING",)))
    report = await probe(dns_server, server, ip=GOOD_IP, to=("jürgen@dest.test",))
    rcpt = step(report, "rcpt")

    assert not rcpt.sent and rcpt.fault == "smtputf8" and "SMTPUTF8" in rcpt.error
    assert "RCPT" not in server.verbs
    assert smtp_of(report).outcome == "rejected"


# --------------------------------------------------------------------------------- relay test, source, DATA


def _relay_guard(cmd: Command) -> str:
    if cmd.address.endswith("@dest.test"):
        return "250 2.1.5 Ok"
    return "554 5.7.1 <{address}>: Relay access denied"


async def test_relay_refused_passes(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(rcpt=_relay_guard))
    report = await probe(dns_server, server, ip=GOOD_IP, relay_test=True)
    smtp = smtp_of(report)

    assert f"RCPT TO:<{RELAY_TEST_ADDRESS}>" in server.commands
    assert smtp.relay_test is not None and smtp.relay_test["verdict"] == "refused"
    assert smtp.outcome == "accepted" and check_status(report, "smtp") == Status.PASS


async def test_open_relay_fails(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())  # accepts any recipient
    report = await probe(dns_server, server, ip=GOOD_IP, relay_test=True)
    smtp = smtp_of(report)

    assert smtp.relay_test is not None and smtp.relay_test["verdict"] == "open"
    assert check_status(report, "smtp") == Status.FAIL
    assert "open relay" in (report.check("smtp") or pytest.fail("no smtp check")).summary
    assert int(report.exit_code) == 1


async def test_binds_to_ip_only_when_it_is_local(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like())
    local = await probe(dns_server, server, ip=GOOD_IP)
    remote = await probe(dns_server, server, ip="192.0.2.10", checks=("ptr",))

    assert server.peers == [GOOD_IP, "127.0.0.1"]
    assert smtp_of(local).source_reason == "--ip is an address of this host"
    assert smtp_of(remote).source_reason == ""


async def test_no_data_even_with_every_feature(
    dns_server: DnsServer, smtp_server: Any, trust_test_ca: TestPKI
) -> None:
    cert = trust_test_ca.leaf("mx1.dest.test")
    server = smtp_server(
        postfix_like(rcpt=_relay_guard, tls=cert.server_context(), users={"u": "p"}, auth_requires_tls=True)
    )
    report = await probe(
        dns_server, server, mx_host="mx1.dest.test", ip=GOOD_IP, to=("a@dest.test", "b@dest.test"),
        relay_test=True, auth_user="u", auth_password="p",
    )  # fmt: skip

    assert_never_data(server)
    assert server.verbs == [
        "EHLO",
        "STARTTLS",
        "EHLO",
        "AUTH",
        "MAIL",
        "RCPT",
        "RCPT",
        "RCPT",
        "QUIT",
    ]
    assert smtp_of(report).outcome == "accepted"


# ------------------------------------------------------------------------------------------------- TLS


@pytest.fixture
def trust_test_ca(pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> TestPKI:
    """Make the test CA the system's trusted CA, as SSL_CERT_FILE does for OpenSSL tools."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca.cert_path))
    return pki


@pytest.mark.parametrize(
    ("kind", "status", "problem"),
    [
        ("valid", Status.PASS, None),
        ("self-signed", Status.WARN, "self-signed"),
        ("expired", Status.WARN, "expired on"),
        ("other-name", Status.WARN, "not valid for mx1.dest.test (it names other.dest.test)"),
    ],
)
async def test_starttls_certificate(
    dns_server: DnsServer,
    smtp_server: Any,
    trust_test_ca: TestPKI,
    kind: str,
    status: Status,
    problem: str | None,
) -> None:
    pki = trust_test_ca
    cert = {
        "valid": lambda: pki.leaf("mx1.dest.test"),
        "self-signed": lambda: pki.self_signed("mx1.dest.test"),
        "expired": lambda: pki.leaf("mx1.dest.test", expired=True),
        "other-name": lambda: pki.leaf("other.dest.test"),
    }[kind]()
    server = smtp_server(postfix_like(tls=cert.server_context()))
    report = await probe(dns_server, server, mx_host="mx1.dest.test", ip=GOOD_IP, checks=("ptr",))
    tls = smtp_of(report).tls

    assert tls is not None and tls.established and tls.mode == "starttls"
    assert tls.hostname == "mx1.dest.test" and tls.version.startswith("TLSv1.")
    assert tls.subject == cert.certificate.subject.rfc4514_string()
    assert tls.der_chain[0] == cert.der
    assert check_status(report, "tls") == status
    if problem is None:
        assert tls.verified is True and tls.problems == []
    else:
        assert tls.verified is False and any(problem in p for p in tls.problems), tls.problems
    # an invalid certificate is reported, and the dialogue goes on inside TLS
    assert names(report)[3:6] == ["starttls", "ehlo", "mail"] and smtp_of(report).outcome == "accepted"
    inside_tls = [line.text for line in server.transcript if line.tls and line.source == "client"]
    assert inside_tls[:2] == ["EHLO mail.smtp.test", "MAIL FROM:<postmaster@smtp.test>"]


# ---------------------------------------------------------------------------------------------- rendering


async def test_text_transcript_and_no_markup_from_the_server(
    dns_server: DnsServer, smtp_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = smtp_server(
        postfix_like(reject="reverse_hostname", banner="220 [bold red]pwn[/bold red] \x1b[2J ESMTP")
    )
    render_text(await probe(dns_server, server))
    out = capsys.readouterr().out

    assert "S: 220 [bold red]pwn[/bold red] \\x1b[2J ESMTP" in out  # literal: no markup, no terminal escape
    assert "\x1b[2J" not in out
    assert "C: RCPT TO:<user@dest.test>" in out
    assert "S: 450 4.7.1 Client host rejected: cannot find your reverse hostname, [127.0.0.10]" in out
    assert "outcome: DEFERRED  cause ptr, confirmed by ptr" in out
    assert "confirmed by ptr: 127.0.0.10 has no PTR" in out


# ------------------------------------------------------------------------------------ the join's wording


async def test_checks_left_out_by_check_are_named_so(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    report = await probe(dns_server, server, checks=("smtp",))  # --ip given, ptr and fcrdns not selected
    smtp = smtp_of(report)

    assert (smtp.cause, smtp.confirmed_by) == ("ptr", None)
    assert smtp.diagnosis == (
        "not confirmed: the ptr, fcrdns check(s) were not selected with --check; "
        "run without --check to confirm the cause"
    )


async def test_checks_partly_left_out_are_named(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    report = await probe(dns_server, server, ip=GOOD_IP, checks=("ptr",))
    diagnosis = smtp_of(report).diagnosis

    assert diagnosis.startswith(
        "the DNS looks right from here (ptr pass; fcrdns not selected with --check): "
    )


async def test_skipped_checks_are_not_a_pass(dns_server: DnsServer, smtp_server: Any) -> None:
    """No sending IP: ptr and fcrdns are `skip`, which proves nothing either way."""
    server = smtp_server(postfix_like(reject="reverse_hostname"))
    target = build_target("smtp.test", to=["user@dest.test"], mx=f"127.0.0.1:{server.port}")
    report = await run(target, smtp_options(dns_server, discover_ip=False))
    smtp = smtp_of(report)

    assert check_status(report, "ptr") == Status.SKIP
    assert "looks right" not in smtp.diagnosis and "pass" not in smtp.diagnosis
    assert smtp.diagnosis.startswith("not confirmed: ptr was skipped (")


async def test_relay_refused_is_in_the_summary(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(rcpt=_relay_guard))
    report = await probe(dns_server, server, ip=GOOD_IP, relay_test=True)
    check = report.check("smtp") or pytest.fail("no smtp check")

    assert check.summary == (
        f"127.0.0.1:{server.port} accepted <user@dest.test>; "
        "relay test passed: relaying to example.net refused"
    )


async def test_helo_refused_for_the_literal_sent_for_want_of_a_ptr(
    dns_server: DnsServer, smtp_server: Any
) -> None:
    """No --helo and no PTR: EHLO announces [IP]; "Helo command rejected" is then the missing PTR's doing."""
    server = smtp_server(postfix_like(reject="helo_not_found"))
    report = await probe(dns_server, server, checks=("ptr", "helo"))
    smtp = smtp_of(report)

    assert server.commands[0] == "EHLO [127.0.0.10]"
    assert step(report, "rcpt").text == "450 4.7.1 <[127.0.0.10]>: Helo command rejected: Host not found"
    assert (smtp.outcome, smtp.cause, smtp.confirmed_by) == ("deferred", "helo", "ptr")
    assert smtp.diagnosis.startswith(
        "the handshake announced the address literal [127.0.0.10] because 127.0.0.10 has no PTR name: "
        "confirmed by ptr: 127.0.0.10 has no PTR"
    )
