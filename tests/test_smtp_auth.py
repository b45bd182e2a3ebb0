"""--auth: AUTH PLAIN and LOGIN over a verified TLS connection, the replies explained, and the password (and
every base64 form of it) absent from the transcript, the JSON, the text and the CLI's streams."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from typing import Any

import pytest
from servers.certs import TestPKI
from servers.dns import DnsServer
from servers.smtp import READ_LIMIT, Command, ScriptedSmtpServer, multiline
from test_smtp_handshake import GOOD_IP, check_status, probe, smtp_of, steps, trust_test_ca  # noqa: F401 (fixture)
from typer.testing import CliRunner

from mxprobe.cli import app
from mxprobe.model import Status
from mxprobe.report import Report

pytestmark = pytest.mark.usefixtures("trust_test_ca")  # the test CA is the system's trusted CA here

USER = "alice@smtp.test"
PASSWORD = "Tr0ub4dor&3-xyzzy"
SECRETS = (
    PASSWORD,
    base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
    base64.b64encode(PASSWORD.encode()).decode(),
)


def submission(pki: TestPKI, *, self_signed: bool = False, **kw: Any) -> ScriptedSmtpServer:
    """A submission server (AUTH only inside TLS) whose certificate names mx1.dest.test."""
    cert = pki.self_signed("mx1.dest.test") if self_signed else pki.leaf("mx1.dest.test")
    options: dict[str, Any] = {
        "tls": cert.server_context(),
        "users": {USER: PASSWORD},
        "auth_requires_tls": True,
    }
    return ScriptedSmtpServer(**(options | kw))


async def auth_probe(dns: DnsServer, server: ScriptedSmtpServer, password: str = PASSWORD) -> Report:
    return await probe(
        dns,
        server,
        mx_host="mx1.dest.test",
        ip=GOOD_IP,
        checks=("ptr",),
        auth_user=USER,
        auth_password=password,
    )


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def everything(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False) + repr(report.smtp)


async def test_plain_accepted_and_redacted(dns_server: DnsServer, smtp_server: Any, pki: TestPKI) -> None:
    server = smtp_server(submission(pki))
    report = await auth_probe(dns_server, server)
    smtp = smtp_of(report)
    [auth] = steps(report, "auth")

    assert server.commands[3] == f"AUTH PLAIN {SECRETS[1]}"  # the server did get the credentials
    assert auth.command == "AUTH PLAIN ********"
    assert (auth.code, auth.text) == (235, "235 2.7.0 Authentication successful")
    assert auth.explanation is not None and auth.explanation.class_ == "success"
    assert smtp.auth == {"user": USER, "mechanism": "PLAIN", "accepted": True}
    assert smtp.outcome == "accepted" and check_status(report, "tls") == Status.PASS
    assert_no_secret(everything(report))


async def test_login_challenges_answered_and_redacted(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    def login_only(cmd: Command) -> str:
        return multiline(250, "mx.infra.test", "AUTH LOGIN" if cmd.session.tls else "STARTTLS")

    server = smtp_server(submission(pki, ehlo=login_only))
    report = await auth_probe(dns_server, server)
    auth = steps(report, "auth")

    assert [(s.command, s.code) for s in auth] == [("AUTH LOGIN", 334), ("********", 334), ("********", 235)]
    assert auth[0].text == "334 VXNlcm5hbWU6" and auth[0].explanation is not None
    assert auth[0].explanation.entry == "seed-334-username-prompt"
    assert [line.source for line in server.transcript if line.source == "auth"] == ["auth", "auth"]
    assert smtp_of(report).auth == {"user": USER, "mechanism": "LOGIN", "accepted": True}
    assert_no_secret(everything(report))


async def test_wrong_password_is_rejected_and_explained(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    server = smtp_server(submission(pki))
    report = await auth_probe(dns_server, server, password="wrong-" + PASSWORD)
    smtp = smtp_of(report)
    [auth] = steps(report, "auth")

    assert auth.code == 535 and auth.explanation is not None and auth.explanation.cause == "auth"
    assert (smtp.outcome, smtp.cause) == ("rejected", "auth")
    assert check_status(report, "smtp") == Status.FAIL and int(report.exit_code) == 1


async def test_a_server_echoing_the_credentials_is_scrubbed(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    server = smtp_server(submission(pki, auth="535 5.7.8 rejected {arg} for " + PASSWORD))
    report = await auth_probe(dns_server, server)
    [auth] = steps(report, "auth")

    assert auth.text == "535 5.7.8 rejected PLAIN ******** for ********"
    assert_no_secret(everything(report))


async def test_no_password_in_clear_text(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(ScriptedSmtpServer(users={USER: PASSWORD}))  # AUTH offered, STARTTLS not
    report = await auth_probe(dns_server, server)
    [auth] = steps(report, "auth")

    assert not auth.sent and "never sent in clear text" in auth.error
    assert "AUTH" not in server.verbs
    assert check_status(report, "tls") == Status.FAIL  # --auth: no STARTTLS is a failure, not a warning


async def test_no_password_to_an_unverified_certificate(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    server = smtp_server(submission(pki, self_signed=True))
    report = await auth_probe(dns_server, server)
    [auth] = steps(report, "auth")

    assert not auth.sent and "certificate does not verify (self-signed" in auth.error
    assert "AUTH" not in server.verbs and "STARTTLS" in server.verbs
    assert check_status(report, "tls") == Status.FAIL


class ImplicitTlsServer(ScriptedSmtpServer):
    """Port 465 style: TLS from the first byte (the scripted server itself only does STARTTLS)."""

    def __init__(self, context: ssl.SSLContext, **options: Any) -> None:
        super().__init__(**options)
        self.context = context
        self.server_names: list[str | None] = []
        context.sni_callback = lambda _obj, name, _ctx: self.server_names.append(name)

    async def _open(self) -> None:
        self._server = await asyncio.start_server(
            self._session, self.host, self.port, ssl=self.context, limit=READ_LIMIT
        )
        self.port = self._server.sockets[0].getsockname()[1]


async def test_implicit_tls_submission(dns_server: DnsServer, smtp_server: Any, pki: TestPKI) -> None:
    context = pki.leaf("mx1.dest.test").server_context()
    server = smtp_server(ImplicitTlsServer(context, users={USER: PASSWORD}))
    report = await probe(
        dns_server, server, mx_host="mx1.dest.test", ip=GOOD_IP, checks=("ptr",), tls=True, auth_user=USER,
        auth_password=PASSWORD,
    )  # fmt: skip
    smtp = smtp_of(report)

    assert server.server_names == ["mx1.dest.test"]  # SNI is the MX name, not the address connected to
    assert [s.step for s in smtp.steps] == [
        "connect",
        "banner",
        "ehlo",
        "auth",
        "mail",
        "rcpt",
        "rset",
        "quit",
    ]
    assert smtp.tls is not None and (smtp.tls.mode, smtp.tls.verified) == ("implicit", True)
    assert smtp.auth == {"user": USER, "mechanism": "PLAIN", "accepted": True}
    assert check_status(report, "tls") == Status.PASS and smtp.outcome == "accepted"
    assert_no_secret(everything(report))


@pytest.mark.parametrize("as_json", [True, False])
def test_cli_never_prints_the_secret(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI, as_json: bool
) -> None:
    server = smtp_server(submission(pki, auth="535 5.7.8 no {arg} (" + PASSWORD + ")"))
    args = [
        "smtp.test", "--ip", GOOD_IP, "--to", "user@dest.test", "--mx", f"mx1.dest.test:{server.port}",
        "--nameserver", dns_server.address, "--check", "ptr", "--auth", USER,
    ] + (["--json"] if as_json else [])  # fmt: skip
    env = {"MXPROBE_PASSWORD": PASSWORD, "SSL_CERT_FILE": str(pki.ca.cert_path)}
    result = CliRunner().invoke(app, args, env=env)

    assert result.exit_code == 1, result.output
    assert f"AUTH PLAIN {SECRETS[1]}" in server.commands
    assert "AUTH PLAIN ********" in result.stdout
    assert "535 5.7.8 no PLAIN ******** (********)" in result.stdout
    assert_no_secret(result.stdout, result.stderr)


def test_a_one_letter_password_garbles_nothing(dns_server: DnsServer, smtp_server: Any, pki: TestPKI) -> None:
    """A secret that is a common letter is no token of any reply: scrubbing it would garble every word that
    holds an "x" (`Postfi********`) and, by the gaps, tell the secret. What mxprobe sends is still hidden."""
    server = smtp_server(submission(pki, users={USER: "x"}, banner="220 {hostname} ESMTP Postfix x"))
    args = [
        "smtp.test", "--ip", GOOD_IP, "--to", "user@dest.test", "--mx", f"mx1.dest.test:{server.port}",
        "--nameserver", dns_server.address, "--check", "ptr", "--auth", USER, "--json",
    ]  # fmt: skip
    env = {"MXPROBE_PASSWORD": "x", "SSL_CERT_FILE": str(pki.ca.cert_path)}
    result = CliRunner().invoke(app, args, env=env)
    data = json.loads(result.stdout)["smtp"]
    texts = {s["step"]: s for s in data["steps"]}

    assert result.exit_code == 0, result.output
    assert texts["banner"]["text"] == "220 mx.infra.test ESMTP Postfix x"  # a whole "x" is no secret either
    assert texts["auth"]["command"] == "AUTH PLAIN ********"
    assert "********" not in json.dumps([s["text"] for s in data["steps"]])
    assert base64.b64encode(f"\0{USER}\0x".encode()).decode() not in result.stdout + result.stderr


async def test_echoed_secret_scrubbed_as_whole_tokens_only(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    """The password inside punctuation is the password; inside a longer word it is another word."""
    password = "test"
    plain = base64.b64encode(f"\0{USER}\0{password}".encode()).decode()
    reply = f"535 5.7.8 testing <{password}> failed (contest; {plain}; {password}, attest)"
    server = smtp_server(submission(pki, users={USER: "other"}, auth=reply))
    report = await auth_probe(dns_server, server, password=password)
    [auth] = steps(report, "auth")

    assert auth.text == "535 5.7.8 testing <********> failed (contest; ********; ********, attest)"
    assert auth.command == "AUTH PLAIN ********"
