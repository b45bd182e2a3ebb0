"""One dialogue with one server address: connect, greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, QUIT.

Never DATA: the commands go through `Exchange`, which writes nothing else. When the server offers
PIPELINING (RFC 2920), MAIL FROM, the RCPTs and QUIT go in one write, as RFC 2920 §3.1 allows (QUIT last),
and each reply is still its own step; otherwise each command waits for the reply before it. QUIT ends the
transaction (RFC 5321 §4.1.1.10): no RSET before it. A failed STARTTLS handshake is retried once on a new
connection without STARTTLS, as opportunistic-TLS senders do.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ssl
import time
from typing import TYPE_CHECKING, Any

import idna

from mxprobe.smtp import secure
from mxprobe.smtp.exchange import Exchange
from mxprobe.smtp.result import HELO, TLS, Candidate, SmtpResult, Step
from mxprobe.smtp.scrub import Secrets
from mxprobe.smtp.tls import TlsInfo, dialogue_context
from mxprobe.smtp.wire import Connection, connect_socket

if TYPE_CHECKING:
    import socket

    from mxprobe.checks import Context

# RCPT for --relay-test: a domain reserved for documentation (RFC 2606), so it is nobody's mail domain and no
# server should relay for it. It exists in the DNS, so a server that checks recipient domains before relaying
# still answers the relay question. Nothing is ever sent to it: the probe stops before DATA.
RELAY_TEST_ADDRESS = "mxprobe-relay-test@example.net"


class Session:
    """One address (plus one reconnection without STARTTLS when its TLS handshake fails)."""

    def __init__(self, ctx: Context, result: SmtpResult, candidate: Candidate, secrets: Secrets) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.result = result
        self.candidate = candidate
        self.ex = Exchange(ctx, result, secrets)
        self.steps = self.ex.steps
        self.use_starttls = not ctx.options.tls
        self.extensions: dict[str, str] = {}
        self.tls_check: asyncio.Task[None] | None = None

    async def run(self) -> bool:
        """The whole dialogue; True when a server answered with an SMTP greeting."""
        try:
            answered = await self._open()
            retry = answered and await self._converse() == "retry"
            if retry:
                self.ex.close()
                self.use_starttls = False
                self.result.notes.append(
                    "the STARTTLS handshake failed: reconnected without it, as opportunistic-TLS senders do"
                )
                if await self._open():
                    await self._converse()
            return answered
        finally:
            self.ex.close()
            if self.tls_check is not None:
                await self.tls_check

    # -- connection -----------------------------------------------------------------------------------------
    async def _open(self) -> bool:
        sock = await self._connect()
        if sock is None:
            return False
        step = self.ex.begin("banner")
        timeout = self.ex.budget()
        started = time.monotonic()
        if timeout <= 0:
            sock.close()
            self.ex.fail(step, "deadline", "no time left for the greeting: the run's deadline was reached")
            return False
        host = self.candidate.host  # the TLS server name (SNI) with --tls: the MX name, not its IP
        if self.options.tls:
            self.result.tls = TlsInfo(offered=True, mode="implicit", hostname=host)
        try:
            tls = dialogue_context() if self.options.tls else None
            self.ex.conn = await Connection.open(sock, tls=tls, hostname=host, timeout=timeout)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            why = f"no TLS handshake within {timeout:.1f} s" if isinstance(exc, TimeoutError) else ""
            step.step = TLS
            self.ex.fail(step, TLS, f"the TLS handshake failed: {why or secure.ssl_reason(exc)}", started)
            if self.result.tls is not None:
                self.result.tls.error = step.error
            return False
        self.result.source = self.result.source or self.ex.conn.local_address()
        if self.options.tls:
            self.tls_check = secure.established(self.ex)
        await self.ex.read(step, started)
        return step.code is not None and not step.fault

    async def _connect(self) -> socket.socket | None:
        address, port = self.candidate.address or "", self.result.port
        step = self.ex.begin("connect")
        timeout = self.ex.budget()
        if timeout <= 0:
            self.ex.fail(step, "deadline", "not tried: the run's deadline was reached")
            return None
        started = time.monotonic()
        source = self.result.source if self.result.source_reason else None
        try:
            sock = await connect_socket(address, port, source, timeout)
        except TimeoutError:
            cut = self.ex.deadline_cut(timeout)
            if cut:
                text = f"no answer to the TCP connection to {address}:{port} within {timeout:.1f} s: {cut}"
                self.ex.fail(step, "deadline", text, started)
            else:
                self.ex.fail(step, "timeout", connect_timeout_text(address, port, timeout), started)
            return None
        except OSError as exc:
            self.ex.fail(step, *connect_error(exc, address, port, source), started)
            return None
        step.elapsed_ms = (time.monotonic() - started) * 1000
        return sock

    # -- the dialogue ---------------------------------------------------------------------------------------
    async def _converse(self) -> str:
        """After a greeting: "retry" when the TLS handshake failed and a clear-text try may follow."""
        banner = self.steps[-1]
        if banner.code is None or banner.code >= 400:
            return "done"
        # The default HELO (the IP's PTR name) is looked up by the scanner meanwhile: it is needed only now.
        helo = await self.ctx.helo()
        assert self.ex.conn is not None
        self.result.helo = helo or address_literal(self.ex.conn.local_address())
        self.result.helo_literal = helo is None
        if not await self._ehlo():
            return await self._quit()
        if self.use_starttls and "STARTTLS" in self.extensions:
            upgrade = await secure.starttls(self.ex, self.candidate.host)
            if upgrade in ("retry", "stop"):
                return upgrade
            if upgrade == "secured":
                self.tls_check = secure.established(self.ex)
                if not await self._ehlo():
                    return await self._quit()
        if self.options.auth_user:
            await secure.auth(self.ex, self._auth_methods(), self.tls_check)
            if not self.ex.connected or self.steps[-1].fault in ("unexpected", "not-smtp", "bad-reply"):
                return "done"
        await self._transaction()
        return "done"

    async def _ehlo(self) -> bool:
        step = await self.ex.command("ehlo", f"EHLO {self.result.helo}")
        if step.code in (500, 502) and self.ex.connected:  # a server without ESMTP: HELO (RFC 5321 §3.2)
            step = await self.ex.command(HELO, f"HELO {self.result.helo}")
            if step.code == 250 and self.result.tls is None:
                self.result.tls = TlsInfo(offered=False, hostname=self.candidate.host)
            self.extensions = {}
            return step.code == 250 and not step.fault
        if step.code != 250 or step.fault or self.ex.last_reply is None:
            return False
        self.extensions = parse_extensions(self.ex.last_reply.text)
        self.result.extensions = dict(self.extensions)
        if self.result.tls is None:
            self.result.tls = TlsInfo(offered="STARTTLS" in self.extensions, hostname=self.candidate.host)
        return True

    def _auth_methods(self) -> list[str]:
        return [m.lower() for m in self.extensions.get("AUTH", "").split()]

    async def _quit(self) -> str:
        if self.ex.connected:
            await self.ex.command("quit", "QUIT")
        return "done"

    def _wire(self, address: str) -> str | None:
        """An address as it goes on the wire: U-labels when the server offers SMTPUTF8, else ASCII (punycode)
        or None when the local part is not ASCII and the server cannot take it."""
        local, _, domain = address.rpartition("@")
        if "SMTPUTF8" in self.extensions:
            with contextlib.suppress(idna.IDNAError):
                domain = idna.decode(domain) if "xn--" in domain else domain
            return f"{local}@{domain}"
        return address if local.isascii() else None

    async def _transaction(self) -> None:
        """MAIL FROM, each RCPT (and the relay test), QUIT: in one write when PIPELINING is offered."""
        sender = self.ctx.target.mail_from or ""
        wire = self._wire(sender) if sender else ""
        if wire is None:
            self.ex.fail(self.ex.begin("mail", "MAIL FROM"), "smtputf8", utf8_text(sender))
            await self._quit()
            return self._relay_untested()
        envelope = [sender, *self.ctx.target.to]
        utf8 = any(not (self._wire(a) or "").isascii() for a in envelope if a)
        mail = ("mail", f"MAIL FROM:<{wire}>" + (" SMTPUTF8" if utf8 else ""))
        recipients = [("rcpt", a) for a in self.ctx.target.to]
        if self.options.relay_test:
            recipients.append(("relay-test", RELAY_TEST_ADDRESS))
        if "PIPELINING" in self.extensions:
            await self._pipelined(mail, recipients)
        else:
            await self._one_by_one(mail, recipients)
        self._relay_report()

    async def _pipelined(self, mail: tuple[str, str], recipients: list[tuple[str, str]]) -> None:
        group, unsendable = [mail], []
        for name, address in recipients:
            wire = self._wire(address)
            if wire is None:
                unsendable.append(
                    Step(name, "RCPT TO", sent=False, fault="smtputf8", error=utf8_text(address))
                )
            else:
                group.append((name, f"RCPT TO:<{wire}>"))
        await self.ex.pipeline([*group, ("quit", "QUIT")])
        self.steps[len(self.steps) - 1 : len(self.steps) - 1] = unsendable  # before QUIT's step

    async def _one_by_one(self, mail: tuple[str, str], recipients: list[tuple[str, str]]) -> None:
        step = await self.ex.command(*mail)
        if accepted(step):
            for name, address in recipients:
                wire = self._wire(address)
                if wire is None:
                    self.ex.fail(self.ex.begin(name, "RCPT TO"), "smtputf8", utf8_text(address))
                    continue
                step = await self.ex.command(name, f"RCPT TO:<{wire}>")
                if not self.ex.connected or step.fault:
                    return
        await self._quit()

    def _relay_untested(self) -> None:
        if self.options.relay_test:
            self.result.relay_test = {
                "address": RELAY_TEST_ADDRESS,
                "verdict": "not tested",
                "summary": "MAIL FROM was refused, so no RCPT could be tried",
            }

    def _relay_report(self) -> None:
        if not self.options.relay_test:
            return
        mail = next((s for s in self.steps if s.step == "mail"), None)
        step = next((s for s in self.steps if s.step == "relay-test"), None)
        if mail is None or not accepted(mail) or step is None:
            return self._relay_untested()
        report: dict[str, Any] = {"address": RELAY_TEST_ADDRESS, "code": step.code}
        if self.result.auth and self.result.auth.get("accepted"):
            report["verdict"] = "not judged"
            report["summary"] = "an authenticated client may relay: run --relay-test without --auth"
        elif accepted(step):
            report["verdict"] = "open"
            report["summary"] = f"OPEN RELAY: the server accepted a recipient at example.net ({step.text})"
        elif step.cause == "relay":
            report["verdict"] = "refused"
            report["summary"] = f"relaying refused, as it should be ({step.text})"
        else:
            report["verdict"] = "inconclusive"
            why = step.text or step.error or "no reply"
            report["summary"] = (
                f"the relay recipient was refused for another reason, so relaying was not shown: {why}"
            )
        self.result.relay_test = report


def accepted(step: Step) -> bool:
    return step.code is not None and step.code // 100 == 2 and not step.fault


def parse_extensions(text: str) -> dict[str, str]:
    """The EHLO reply's extensions (RFC 5321 §4.1.1.1): keyword upper-cased, its parameters as sent. The old
    `AUTH=LOGIN PLAIN` form counts as AUTH when no AUTH line says otherwise."""
    found: dict[str, str] = {}
    for line in text.split("\n")[1:]:
        keyword, _, params = line[4:].strip().partition(" ")
        keyword = keyword.upper()
        if keyword.startswith("AUTH="):
            found.setdefault("AUTH", f"{keyword[5:]} {params}".strip())
        elif keyword:
            found[keyword] = params.strip()
    return found


def address_literal(address: str) -> str:
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def connect_timeout_text(address: str, port: int, timeout: float) -> str:
    return (
        f"no answer to the TCP connection to {address}:{port} within {timeout:.1f} s: the packets are "
        "dropped on the way. Outbound port 25 is often blocked by the network or cloud provider (most clouds "
        "and home ISPs block it by default); test from a network that allows it, or ask the provider to lift "
        "the block"
    )


def connect_error(exc: OSError, address: str, port: int, source: str | None) -> tuple[str, str]:
    code = exc.errno
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return "refused", (
            f"connection refused by {address}:{port}: no SMTP server listens there, or a firewall rejects it"
        )
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return (
            "unreachable",
            f"{address} is unreachable from here ({exc.strerror}); is this IP family routed?",
        )
    if code == errno.EADDRNOTAVAIL and source:
        return "unreachable", f"cannot connect from {source}: {exc.strerror}"
    return "unreachable", f"cannot connect to {address}:{port}: {exc.strerror or exc}"


def utf8_text(address: str) -> str:
    return (
        f"not sent: <{address}> has a non-ASCII local part and the server does not offer SMTPUTF8 "
        "(RFC 6531): a sender must bounce it"
    )
