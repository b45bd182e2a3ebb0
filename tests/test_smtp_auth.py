"""--auth: AUTH PLAIN and LOGIN over a verified TLS connection, the replies explained, and the password (and
every base64 form of it) absent from the transcript, the JSON, the text and the CLI's streams."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from servers.certs import TestPKI
from servers.dns import DnsServer
from servers.smtp import READ_LIMIT, Command, ScriptedSmtpServer, multiline
from test_smtp_handshake import GOOD_IP, check_status, probe, smtp_of, steps, trust_test_ca  # noqa: F401 (fixture)
from typer.testing import CliRunner

from mxprobe.cli import app
from mxprobe.model import Status
from mxprobe.report import Report
from mxprobe.smtp.scrub import REDACTED

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


def _forms(user: str, password: str) -> list[str]:
    """Every form in which a server could echo the password back, whole."""
    raw = password.encode()
    blob = f"\0{user}\0{password}".encode()
    forms = [password, password.upper(), password.lower(), raw.hex(), raw.hex().upper()]
    forms += [quote(password, safe=""), quote_plus(password), quote(password, safe="").lower()]
    for data in (raw, blob):
        for encoded in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()):
            forms += [encoded, encoded.rstrip("="), encoded.lower()]
    return list(dict.fromkeys(forms))


def _inside(password: str) -> list[tuple[str, int, int]]:
    """The password inside a longer base64 text, at each of its three alignments: (the text, where the part
    made of the password's bits alone begins and ends: that part gives the password away)."""
    raw = password.encode()
    found = []
    for prefix in (b"pw=", b"=", b"p="):  # 3, 1 and 2 bytes before it
        text = base64.b64encode(prefix + raw + b";").decode()
        found.append((text, -(-len(prefix) * 8 // 6), (len(prefix) + len(raw)) * 8 // 6))
    return found


def _echo(password: str) -> list[str]:
    """Lines that echo each form inside a token: `ECHOx<form>yEND`, `INSIDEx<base64 text>yEND` (when the
    password's own part of the base64 text is long enough to be told from any other base64)."""
    inside = [text for text, a, b in _inside(password) if b - a >= 8]  # shorter: not a token to hunt
    return [f"ECHOx{form}yEND" for form in _forms(USER, password)] + [f"INSIDEx{t}yEND" for t in inside]


def _leaks(password: str, output: str) -> list[str]:
    """What of the password shows in `output`: a long form anywhere (any case), the password's own part of a
    base64 text, an echoed whole form not replaced by exactly ********, an inside one left without it."""
    found = [f for f in _forms(USER, password) if len(f) >= 8 and f.lower() in output.lower()]
    inside = [(text, a, b) for text, a, b in _inside(password) if b - a >= 8]
    found += [text[a:b] for text, a, b in inside if text[a:b] in output]
    found += [f"echo {e}" for e in re.findall(r"ECHOx(\S*?)yEND", output) if e != REDACTED]
    for token in re.findall(r"INSIDEx(\S*?)yEND", output):  # all of the password's part replaced
        before, _, after = token.partition(REDACTED)
        if not any(text.startswith(before) and len(before) <= a and len(after) <= len(text) - b
                   for text, a, b in inside):  # fmt: skip
            found.append(f"inside {token}")
    return found


PASSWORDS = ["Tr0ub4dor&3 xyzzy/é+=", "x", "pw", "s3cr3t", "ab%2F"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_every_echoed_form_is_kept_out(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI, password: str
) -> None:
    """A server that echoes every form of the password (at AUTH, at RCPT, in a line that is not SMTP at all):
    none of it reaches the text output, the JSON or an error, whatever the password's length."""
    echo = _echo(password)
    rcpt = multiline(550, *(f"5.1.1 {e}" for e in echo))
    auth = multiline(535, *(f"5.7.8 {e}" for e in echo))
    mail = f"250 2.1.0 Ok ECHOx{password}yEND"
    server = smtp_server(submission(pki, users={USER: password}, auth=auth, rcpt=rcpt, mail=mail))
    args = [
        "smtp.test", "--ip", GOOD_IP, "--to", "user@dest.test", "--mx", f"mx1.dest.test:{server.port}",
        "--nameserver", dns_server.address, "--check", "ptr", "--auth", USER,
    ]  # fmt: skip
    env = {"MXPROBE_PASSWORD": password, "SSL_CERT_FILE": str(pki.ca.cert_path)}
    text = CliRunner().invoke(app, args, env=env)
    data = CliRunner().invoke(app, [*args, "--json"], env=env)

    assert text.exit_code == data.exit_code == 1, text.output
    blob = base64.b64encode(f"\0{USER}\0{password}".encode()).decode()
    assert f"AUTH PLAIN {blob}" in server.commands
    for output in (text.stdout, text.stderr, data.stdout, data.stderr):
        assert _leaks(password, output) == []
    smtp = json.loads(data.stdout)["smtp"]
    assert [s["command"] for s in smtp["steps"] if s["step"] == "auth"] == ["AUTH PLAIN ********"]


async def test_an_echo_in_a_line_that_is_not_smtp_is_kept_out(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    async def garbage(cmd: Command) -> None:
        await cmd.session.write(f"garbage {PASSWORD.upper()} here\r\n".encode())

    server = smtp_server(submission(pki, rcpt=garbage))
    report = await auth_probe(dns_server, server)

    assert smtp_of(report).outcome == "error"
    assert PASSWORD.upper() not in everything(report) and PASSWORD.lower() not in everything(report).lower()


def test_a_one_letter_password_withholds_the_lines_that_hold_it(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    """A one-letter secret replaced in place would leave a gap that tells it (`Postfi********`): the lines
    that hold it, in any case, are withheld whole, and a note says why. The dialogue still works."""
    server = smtp_server(submission(pki, users={USER: "x"}, banner="220 {hostname} ESMTP Postfi" + "X"))
    args = [
        "smtp.test", "--ip", GOOD_IP, "--to", "user@dest.test", "--mx", f"mx1.dest.test:{server.port}",
        "--nameserver", dns_server.address, "--check", "ptr", "--auth", USER, "--json",
    ]  # fmt: skip
    env = {"MXPROBE_PASSWORD": "x", "SSL_CERT_FILE": str(pki.ca.cert_path)}
    result = CliRunner().invoke(app, args, env=env)
    data = json.loads(result.stdout)["smtp"]
    texts = {s["step"]: s for s in data["steps"]}

    assert result.exit_code == 0, result.output
    assert texts["banner"]["text"] == "********" and "Postfi" not in result.stdout
    assert texts["auth"]["command"] == "AUTH PLAIN ********" and data["auth"]["accepted"] is True
    assert any("password is short" in note for note in data["notes"])
    assert base64.b64encode(f"\0{USER}\0x".encode()).decode() not in result.stdout + result.stderr


async def test_echoed_secret_scrubbed_inside_tokens(
    dns_server: DnsServer, smtp_server: Any, pki: TestPKI
) -> None:
    """A long password is replaced where it stands, inside a longer word too, in any case."""
    password = "correct-horse-battery"
    plain = base64.b64encode(f"\0{USER}\0{password}".encode()).decode()
    reply = f"535 5.7.8 x{password}y failed ({plain.rstrip('=')}; {password.upper()}, kept)"
    server = smtp_server(submission(pki, users={USER: "other"}, auth=reply))
    report = await auth_probe(dns_server, server, password=password)
    [auth] = steps(report, "auth")

    assert auth.text == "535 5.7.8 x********y failed (********; ********, kept)"


def test_a_password_not_in_utf8_is_refused_in_one_line(dns_server: DnsServer, tmp_path: Path) -> None:
    """Bytes that are not UTF-8 cannot be sent as AUTH PLAIN: refused before any connection, showing none
    of them."""
    env = {**os.environ, "MXPROBE_PASSWORD": "", "PYTHONPATH": str(Path(__file__).parent.parent)}
    environ = {k.encode(): v.encode() for k, v in env.items()}
    environ[b"MXPROBE_PASSWORD"] = b"\xff\xfeSECRETPART\xc3"
    args = [
        sys.executable, "-m", "mxprobe", "smtp.test", "--ip", GOOD_IP, "--to", "user@dest.test",
        "--mx", "127.0.0.1:9", "--nameserver", dns_server.address, "--check", "ptr", "--auth", USER,
    ]  # fmt: skip
    done = subprocess.run(args, env=environ, capture_output=True, timeout=60, cwd=tmp_path, check=False)
    err = done.stderr.decode("utf-8", "replace")

    assert done.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "not valid UTF-8" in err
    assert b"SECRETPART" not in done.stdout + done.stderr and b"\xff" not in done.stderr
