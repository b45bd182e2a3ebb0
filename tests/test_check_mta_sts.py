"""The mta-sts and tls-rpt checks: TXT records from the loopback DNS server, the policy from a loopback HTTPS
server (only with --fetch), and the handshake's TLS judged against the recipient's policy.

`mta-sts.<domain>` resolves to 127.0.0.1 in the test zone; the product connects to the address its DNS layer
found, on `Options.https_port` (443 for users), with the name as SNI. The test CA is trusted the way a user
trusts a private CA: SSL_CERT_FILE.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from servers.base import BackgroundServer
from servers.certs import Cert, TestPKI
from servers.dns import DnsServer
from servers.smtp import ScriptedSmtpServer

from mxprobe.checks.receiver import recipient_domain
from mxprobe.dns import parse_nameserver
from mxprobe.model import CheckResult, Status
from mxprobe.options import Options
from mxprobe.scanner import build_target, run

SENDING_IP = "192.0.2.1"
ENFORCE = "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.auth.test\r\nmax_age: 604800\r\n"


@dataclass
class Request:
    sni: str | None
    line: str
    host: str


class PolicyServer(BackgroundServer):
    """HTTPS on loopback serving one reply; it counts every TCP connection, TLS handshake or not."""

    def __init__(
        self, cert: Cert, body: str, *, status: str = "200 OK", content_type: str = "text/plain"
    ) -> None:
        super().__init__()
        self.cert, self.body, self.status, self.content_type = cert, body, status, content_type
        self.connections = 0
        self.requests: list[Request] = []
        self._names: list[str | None] = []
        self._server: asyncio.Server | None = None

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        context = self.cert.server_context()
        context.sni_callback = lambda _sock, name, _ctx: self._names.append(name)

        def accepted() -> asyncio.Protocol:  # called at TCP accept, before the TLS handshake
            self.connections += 1
            return asyncio.StreamReaderProtocol(asyncio.StreamReader(), self._serve)

        self._server = await loop.create_server(accepted, self.host, self.port, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.converse(self._reply(reader, writer))

    async def _reply(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            host = next((h.split(":", 1)[1].strip() for h in head if h.lower().startswith("host:")), "")
            self.requests.append(Request(self._names[-1] if self._names else None, head[0], host))
            body = self.body.encode()
            head_out = f"HTTP/1.1 {self.status}\r\nContent-Type: {self.content_type}\r\n"
            writer.write(
                f"{head_out}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up
        finally:
            writer.transport.abort()


@pytest.fixture
def trust_test_ca(pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca.cert_path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def _zone(*, record: str = "v=STSv1; id=20240101T1", mx: str = "mx") -> dict[str, str]:
    return {
        "auth.test.": "\n".join(
            [
                f'_mta-sts.sts TXT "{record}"',
                '_smtp._tls.sts TXT "v=TLSRPTv1; rua=mailto:tls@sts.auth.test"',
                "mta-sts.sts A 127.0.0.1",
                f"sts MX 10 {mx}.sts",
                f"{mx}.sts A 127.0.0.1",
                '_mta-sts.double TXT "v=STSv1; id=1"',
                '_mta-sts.double TXT "v=STSv1; id=2"',
                '_mta-sts.bad TXT "v=STSv1; id=not valid!"',
                '_smtp._tls.bad TXT "v=TLSRPTv1; rua=ftp://x"',
                'plain TXT "v=spf1 -all"',
            ]
        )
    }


async def _probe(
    dns: DnsServer,
    domain: str = "plain.auth.test",
    *,
    mx: str | None = "mx.sts.auth.test",
    smtp: ScriptedSmtpServer | None = None,
    https: PolicyServer | None = None,
    fetch: bool = False,
    only: tuple[str, ...] = ("mta-sts",),
) -> dict[str, CheckResult]:
    """One probe; the handshake target is `--mx` (an address `@sts.auth.test` is refused by email-validator:
    .test is a special-use name), so the recipient domain is guessed from it."""
    options = Options(nameservers=[parse_nameserver(dns.address)], only=list(only), fetch=fetch, timeout=15)
    if smtp is not None:
        options.port = smtp.port
    if https is not None:
        options.https_port = https.port
    target = build_target(domain, ip=SENDING_IP, mx=mx, port=options.port)
    report = await run(target, options)
    return {c.id: c for c in report.checks}


def _domain(result: CheckResult, name: str) -> dict[str, Any]:
    return next(d for d in result.details["domains"] if d["domain"] == name)


@pytest.fixture
def sts_dns(make_dns_server: Callable[..., DnsServer]) -> DnsServer:
    return make_dns_server(_zone())


@pytest.fixture
def policy_server(
    start_server: Callable[[PolicyServer], PolicyServer], pki: TestPKI
) -> Callable[..., PolicyServer]:
    def make(body: str = ENFORCE, **options: Any) -> PolicyServer:
        return start_server(PolicyServer(pki.leaf("mta-sts.sts.auth.test"), body, **options))

    return make


async def test_without_fetch_no_http_request_is_made(
    sts_dns: DnsServer,
    policy_server: Callable[..., PolicyServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
) -> None:
    https = policy_server()
    smtp = smtp_server(tls=pki.self_signed("mx.sts.auth.test").server_context(), hostname="mx.sts.auth.test")
    checks = await _probe(sts_dns, smtp=smtp, https=https)
    result = checks["mta-sts"]
    assert https.connections == 0 and https.requests == []
    assert sts_dns.count("mta-sts.sts.auth.test.") == 0  # not even resolved
    assert sts_dns.count("_mta-sts.sts.auth.test.", "TXT") == 1
    assert result.status == Status.PASS
    assert "policy not fetched (give --fetch" in result.summary
    assert _domain(result, "sts.auth.test")["policy"] is None


async def test_enforce_policy_and_a_self_signed_mx_certificate_fail(
    sts_dns: DnsServer,
    policy_server: Callable[..., PolicyServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
    trust_test_ca: None,
) -> None:
    https = policy_server()
    smtp = smtp_server(tls=pki.self_signed("mx.sts.auth.test").server_context(), hostname="mx.sts.auth.test")
    result = (await _probe(sts_dns, smtp=smtp, https=https, fetch=True))["mta-sts"]
    assert result.status == Status.FAIL
    assert "breaks the enforce policy" in result.summary and "self-signed" in result.summary
    assert "refuse to deliver" in result.summary
    assert [(r.sni, r.line, r.host) for r in https.requests] == [
        (
            "mta-sts.sts.auth.test",
            "GET /.well-known/mta-sts.txt HTTP/1.1",
            f"mta-sts.sts.auth.test:{https.port}",
        )
    ]
    policy = _domain(result, "sts.auth.test")["policy"]
    assert (policy["mode"], policy["mx"]) == ("enforce", ["mx.sts.auth.test"])
    assert any(e.query == "https://mta-sts.sts.auth.test/.well-known/mta-sts.txt" for e in result.evidence)


async def test_enforce_policy_and_a_valid_certificate_pass(
    sts_dns: DnsServer,
    policy_server: Callable[..., PolicyServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
    trust_test_ca: None,
) -> None:
    https = policy_server()
    smtp = smtp_server(tls=pki.leaf("mx.sts.auth.test").server_context(), hostname="mx.sts.auth.test")
    result = (await _probe(sts_dns, smtp=smtp, https=https, fetch=True))["mta-sts"]
    assert result.status == Status.PASS, result.summary
    assert "mode=enforce" in result.summary and "meets the policy" in result.summary


async def test_testing_mode_only_warns(
    sts_dns: DnsServer,
    policy_server: Callable[..., PolicyServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
    trust_test_ca: None,
) -> None:
    https = policy_server(ENFORCE.replace("enforce", "testing"))
    smtp = smtp_server(tls=pki.self_signed("mx.sts.auth.test").server_context(), hostname="mx.sts.auth.test")
    result = (await _probe(sts_dns, smtp=smtp, https=https, fetch=True))["mta-sts"]
    assert result.status == Status.WARN
    assert "breaks the testing policy" in result.summary


async def test_mx_outside_the_policy_patterns_fails_under_enforce(
    make_dns_server: Callable[..., DnsServer],
    policy_server: Callable[..., PolicyServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    pki: TestPKI,
    trust_test_ca: None,
) -> None:
    dns = make_dns_server(_zone(mx="other"))
    https = policy_server()
    smtp = smtp_server(tls=pki.leaf("other.sts.auth.test").server_context(), hostname="other.sts.auth.test")
    result = (await _probe(dns, smtp=smtp, https=https, fetch=True, mx="other.sts.auth.test"))["mta-sts"]
    assert result.status == Status.FAIL
    assert "MX other.sts.auth.test not covered by the policy's mx patterns" in result.summary


async def test_no_starttls_breaks_an_enforce_policy(
    sts_dns: DnsServer,
    policy_server: Callable[..., PolicyServer],
    smtp_server: Callable[..., ScriptedSmtpServer],
    trust_test_ca: None,
) -> None:
    https = policy_server()
    smtp = smtp_server(hostname="mx.sts.auth.test")
    result = (await _probe(sts_dns, smtp=smtp, https=https, fetch=True))["mta-sts"]
    assert result.status == Status.FAIL
    assert "does not offer STARTTLS" in result.summary


@pytest.mark.parametrize(
    ("server_options", "words"),
    [
        ({"status": "404 Not Found"}, "HTTP 404"),
        ({"content_type": "text/html"}, "not text/plain"),
    ],
)
async def test_policy_served_wrongly_warns(
    sts_dns: DnsServer,
    policy_server: Callable[..., PolicyServer],
    trust_test_ca: None,
    server_options: dict[str, str],
    words: str,
) -> None:
    https = policy_server(**server_options)
    result = (await _probe(sts_dns, mx=None, domain="sts.auth.test", https=https, fetch=True))["mta-sts"]
    assert result.status == Status.WARN, result.summary
    assert words in result.summary


async def test_invalid_policy_warns(
    sts_dns: DnsServer, policy_server: Callable[..., PolicyServer], trust_test_ca: None
) -> None:
    https = policy_server("version: STSv1\r\nmode: sometimes\r\n")
    result = (await _probe(sts_dns, mx=None, domain="sts.auth.test", https=https, fetch=True))["mta-sts"]
    assert result.status == Status.WARN
    assert "invalid policy" in result.summary


async def test_policy_host_with_an_untrusted_certificate_is_ignored_by_senders(
    sts_dns: DnsServer, policy_server: Callable[..., PolicyServer]
) -> None:
    https = policy_server()  # the test CA is not trusted here
    result = (await _probe(sts_dns, mx=None, domain="sts.auth.test", https=https, fetch=True))["mta-sts"]
    assert https.connections == 1 and https.requests == []
    assert result.status == Status.WARN
    assert "is not valid" in result.summary and "senders ignore the policy" in result.summary


async def test_policy_host_that_does_not_answer_is_an_error(sts_dns: DnsServer) -> None:
    with socket.socket() as bound:  # bound, never listening: connect() is refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        options = Options(nameservers=[parse_nameserver(sts_dns.address)], only=["mta-sts"], fetch=True)
        options.https_port = port
        report = await run(build_target("sts.auth.test", ip=SENDING_IP), options)
    result = report.check("mta-sts")
    assert result is not None
    assert result.status == Status.ERROR
    assert f"could not connect to mta-sts.sts.auth.test:{port}" in result.summary
    assert "port 443" in result.fix


@pytest.mark.parametrize(
    ("domain", "status", "words"),
    [
        ("plain.auth.test", Status.SKIP, "no MTA-STS record"),
        ("double.auth.test", Status.WARN, "2 MTA-STS records"),
        ("bad.auth.test", Status.WARN, "invalid MTA-STS record"),
    ],
)
async def test_record_states(sts_dns: DnsServer, domain: str, status: Status, words: str) -> None:
    result = (await _probe(sts_dns, domain, mx=None))["mta-sts"]
    assert result.status == status
    assert words in result.summary


async def test_dns_failure_is_an_error(make_dns_server: Callable[..., DnsServer]) -> None:
    dns = make_dns_server(_zone(), faults={"_mta-sts.sts.auth.test.": "servfail"})
    result = (await _probe(dns, "sts.auth.test", mx=None))["mta-sts"]
    assert result.status == Status.ERROR
    assert "SERVFAIL" in result.summary


@pytest.mark.parametrize(
    ("domain", "status", "words"),
    [
        ("sts.auth.test", Status.PASS, "reports go to mailto:tls@sts.auth.test"),
        ("plain.auth.test", Status.SKIP, "no TLS-RPT record"),
        ("bad.auth.test", Status.WARN, "invalid TLS-RPT record"),
    ],
)
async def test_tls_rpt(sts_dns: DnsServer, domain: str, status: Status, words: str) -> None:
    result = (await _probe(sts_dns, domain, mx=None, only=("tls-rpt",)))["tls-rpt"]
    assert result.status == status
    assert words in result.summary


async def test_tls_rpt_covers_the_recipient_domain_too(
    sts_dns: DnsServer, smtp_server: Callable[..., ScriptedSmtpServer]
) -> None:
    smtp = smtp_server(hostname="mx.sts.auth.test")
    result = (await _probe(sts_dns, "plain.auth.test", smtp=smtp, only=("tls-rpt",)))["tls-rpt"]
    assert result.status == Status.PASS
    assert _domain(result, "plain.auth.test")["status"] == "skip"
    assert _domain(result, "sts.auth.test")["rua"] == ["mailto:tls@sts.auth.test"]


def test_recipient_domain_from_to_or_guessed_from_mx() -> None:
    from mxprobe.checks import Context

    def ctx(**kw: Any) -> Context:
        return Context(target=build_target("a.test", ip=SENDING_IP, **kw), dns=None, options=Options())  # type: ignore[arg-type]

    assert recipient_domain(ctx(to=["u@dest.example"], mx="mx.other.example")) == ("dest.example", "--to")
    assert recipient_domain(ctx(mx="mx1.dest.test:2525"))[0] == "dest.test"
    assert recipient_domain(ctx(mx="192.0.2.7")) == (None, "")
