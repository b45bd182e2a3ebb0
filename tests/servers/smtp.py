"""SMTP servers on loopback: one scripted engine whose every reply a test chooses, and the faulty peers.

A raw asyncio engine rather than aiosmtpd: tests need exact bytes (a 421 banner, a reply that never ends, a
STARTTLS that answers garbage) that aiosmtpd's state machine will not produce.

Scripted server::

    from servers.smtp import ScriptedSmtpServer, postfix_like, greylisting, FaultyServer
    with ScriptedSmtpServer(rcpt="550 5.1.1 <{address}>: Recipient address rejected: User unknown") as srv:
        ...  # connect to srv.host, srv.port
    srv.verbs                                   # ["EHLO", "MAIL", "RCPT", "QUIT"]: assert no DATA
    srv.transcript                              # every line both ways: Line(session, source, text, tls)
    srv.received                                # every byte the clients wrote, read as a command or not

Each phase (`banner`, `ehlo`, `helo`, `starttls`, `auth`, `mail`, `rcpt`, `data`, `rset`, `noop`, `quit`,
`vrfy`, `unknown`) takes a reply or a function of the `Command`:
- a reply is the wire text without CRLF; lines separated by "\\n" make a multi-line reply
  (`multiline(550, "5.7.26 first", "5.7.26 last")` writes the `550-`/`550 ` prefixes);
- placeholders are filled from the session: {hostname} {ip} (the client's) {helo} {arg} {address} (the
  <...> of MAIL/RCPT) {domain} (its domain) {mail_from} {mail_domain}; write `{{` for a literal brace;
- a function gets the `Command` (verb, arg, `attempt` = how many times this server has received this exact
  command, across connections, so a greylister answers 450 then 250) and returns a reply, or None after
  doing the talking itself (`await cmd.session.send(...)`, `.write(bytes)`, `.close()`); it may be async;
- a reply with code 421 closes the connection after it is sent, like real servers; QUIT does too.
`server.replies["RCPT"] = "..."` changes a reply while the server runs.

Built in: EHLO lists `extensions`, then STARTTLS when `tls` (an `ssl.SSLContext`, see `servers.certs`) is
given (or `offer_starttls=True`), then `AUTH PLAIN LOGIN` when `users={"name": "password"}` is given (only
after TLS with `auth_requires_tls=True`); STARTTLS upgrades the connection; AUTH checks the users (235 or
535). DATA is never accepted (554): mxprobe must never send it, and `verbs` shows whether it did.
`reply_delay` slows every reply, one after the other (a slow server); `latency` delays the delivery of what
the server writes without holding up the next command (a long network path: replies to commands that came
in one write, PIPELINING, all arrive one `latency` later). `peers` lists the client address of each
connection.

Presets (functions returning a configured, not yet started server; keyword arguments override anything):
`postfix_like(reject=...)` with Postfix's exact texts, `netease_like(reject=...)`, `gmail_like(reject=...)`
(multi-line 5.7.2x replies), `greylisting(retries=1)` (postgrey's 450 then 250).

Faulty servers: `FaultyServer(kind)`, kinds in `FAULT_KINDS` (see `FaultyServer`). A new fault is a function
of the `Command` put on a phase: add it to `_FAULTS` with its default phases.

In pytest use the fixtures `smtp_server(...)` and `faulty_server(kind, ...)` of tests/conftest.py: they start
the server and stop it after the test.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, get_args

from servers.base import BackgroundServer

Reply = str | None
Handler = str | Callable[["Command"], Reply | Awaitable[Reply]]

TLS_HANDSHAKE_TIMEOUT = 5.0
READ_LIMIT = 1 << 16  # longest command line accepted; longer ends the session like a real server would
CLOSE_TIMEOUT = 1.0

DEFAULT_EXTENSIONS = ("PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8")


def multiline(code: int | str, *lines: str) -> str:
    """`550-first\\n550 last`: the reply text of a multi-line reply (a single line gives `550 line`)."""
    return "\n".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines))


class Line(NamedTuple):
    session: int  # 1 for the first connection, 2 for the second ...
    source: Literal["client", "auth", "server"]  # "auth": a client line answering a 334 challenge
    text: str
    tls: bool  # sent inside TLS


@dataclass
class Session:
    """One connection: what the client told so far, and the means to talk back."""

    number: int
    peer: str
    server: ScriptedSmtpServer
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    helo: str = ""
    mail_from: str = ""
    rcpts: list[str] = field(default_factory=list)
    tls: bool = False
    user: str | None = None
    closed: bool = False
    _in_flight: asyncio.Queue[tuple[float, bytes]] = field(default_factory=asyncio.Queue, repr=False)
    _courier: asyncio.Task[None] | None = field(default=None, repr=False)

    async def send(self, text: str) -> None:
        """Send a reply (lines separated by "\\n"), CRLF added."""
        lines = text.split("\n")
        for line in lines:
            self.server.record(self, "server", line)
        await self.write("".join(line + "\r\n" for line in lines).encode(), record=False)

    async def write(self, data: bytes, *, record: bool = True) -> None:
        """Send raw bytes (garbage, HTTP, half a line ...)."""
        if record:
            self.server.record(self, "server", data.decode("utf-8", "replace"))
        if self.server.latency:
            self._in_flight.put_nowait((time.monotonic() + self.server.latency, data))
            if self._courier is None:
                self._courier = asyncio.ensure_future(self._deliver())
            return
        self.writer.write(data)
        await self.writer.drain()

    async def flush(self) -> None:
        """Deliver what is still on its way (`latency`), then stop the courier."""
        if self._courier is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._in_flight.join(), self.server.latency + CLOSE_TIMEOUT)
        self._courier.cancel()

    async def _deliver(self) -> None:
        """Write each piece when its latency has passed, in order (a network path, not a slow server)."""
        while True:
            due, data = await self._in_flight.get()
            await asyncio.sleep(max(due - time.monotonic(), 0.0))
            self.writer.write(data)
            self._in_flight.task_done()

    async def readline(self, source: Literal["client", "auth"] = "client") -> str | None:
        raw = await self.reader.readline()
        if not raw:
            return None
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        self.server.record(self, source, line)
        return line

    async def start_tls(self, context: ssl.SSLContext) -> None:
        await self.writer.start_tls(context, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        self.tls = True
        self.helo, self.mail_from, self.rcpts = "", "", []  # RFC 3207: the client starts over

    def close(self) -> None:
        """End the session after the current command, without a reply unless one was sent."""
        self.closed = True


@dataclass
class Command:
    verb: str  # upper case; "CONNECT" for the banner
    arg: str
    attempt: int
    session: Session

    @property
    def address(self) -> str:
        """The <...> of `FROM:<a@b> SIZE=1` or `TO:<a@b>`; "" when there is none."""
        start, end = self.arg.find("<"), self.arg.find(">")
        return self.arg[start + 1 : end] if 0 <= start < end else ""

    def fields(self) -> dict[str, str]:
        s = self.session
        return {
            "hostname": s.server.hostname,
            "ip": s.peer,
            "helo": s.helo,
            "arg": self.arg,
            "address": self.address,
            "domain": self.address.rpartition("@")[2],
            "mail_from": s.mail_from,
            "mail_domain": s.mail_from.rpartition("@")[2],
        }


class ScriptedSmtpServer(BackgroundServer):
    """An SMTP server whose replies are the test's. See the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        hostname: str = "mx.infra.test",
        greeting: str = "{hostname}",
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        tls: ssl.SSLContext | None = None,
        offer_starttls: bool | None = None,
        users: Mapping[str, str] | None = None,
        auth_requires_tls: bool = False,
        reply_delay: float = 0.0,
        latency: float = 0.0,
        banner: Handler = "220 {hostname} ESMTP mxprobe test server",
        ehlo: Handler | None = None,
        helo: Handler = "250 {hostname}",
        starttls: Handler | None = None,
        auth: Handler | None = None,
        mail: Handler = "250 2.1.0 Ok",
        rcpt: Handler = "250 2.1.5 Ok",
        data: Handler = "554 5.5.1 Error: this test server never accepts DATA",
        rset: Handler = "250 2.0.0 Ok",
        noop: Handler = "250 2.0.0 Ok",
        quit: Handler = "221 2.0.0 Bye",
        vrfy: Handler = "502 5.5.1 VRFY command is disabled",
        unknown: Handler = "502 5.5.2 Error: command not recognized",
    ) -> None:
        super().__init__(host, port)
        self.hostname = hostname
        self.greeting = greeting
        self.extensions = list(extensions)
        self.tls = tls
        self.offer_starttls = tls is not None if offer_starttls is None else offer_starttls
        self.users = dict(users or {})
        self.auth_requires_tls = auth_requires_tls
        self.reply_delay = reply_delay
        self.latency = latency
        self.replies: dict[str, Handler] = {
            "CONNECT": banner,
            "EHLO": ehlo or self._ehlo,
            "HELO": helo,
            "STARTTLS": starttls or self._starttls,
            "AUTH": auth or self._auth,
            "MAIL": mail,
            "RCPT": rcpt,
            "DATA": data,
            "RSET": rset,
            "NOOP": noop,
            "QUIT": quit,
            "VRFY": vrfy,
            "UNKNOWN": unknown,
        }
        self._lock = threading.Lock()
        self._transcript: list[Line] = []
        self._received: list[bytes] = []
        self._peers: list[str] = []
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._server: asyncio.Server | None = None

    # -- for tests -------------------------------------------------------------------------------------------
    @property
    def transcript(self) -> list[Line]:
        with self._lock:
            return list(self._transcript)

    @property
    def commands(self) -> list[str]:
        """The command lines received (AUTH answers to 334 excluded), all sessions."""
        return [line.text for line in self.transcript if line.source == "client"]

    @property
    def verbs(self) -> list[str]:
        return [text.split(" ", 1)[0].upper() for text in self.commands]

    @property
    def received(self) -> bytes:
        """Every byte the clients wrote (inside TLS: after decryption), all sessions, whether or not the
        server read it as a command: what reached the socket, not what the dialogue got to."""
        with self._lock:
            return b"".join(self._received)

    @property
    def received_chunks(self) -> list[bytes]:
        """`received` as the reads delivered it: commands written at once (PIPELINING) arrive together."""
        with self._lock:
            return list(self._received)

    @property
    def peers(self) -> list[str]:
        with self._lock:
            return list(self._peers)

    def record(self, session: Session, source: Literal["client", "auth", "server"], text: str) -> None:
        with self._lock:
            self._transcript.append(Line(session.number, source, text, session.tls))

    # -- serving ---------------------------------------------------------------------------------------------
    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._session, self.host, self.port, limit=READ_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        feed = reader.feed_data

        def tee(data: bytes) -> None:  # the protocol hands every byte to the reader: record them first
            with self._lock:
                self._received.append(bytes(data))
            feed(data)

        reader.feed_data = tee  # type: ignore[method-assign,assignment]
        await self.converse(self._converse(reader, writer))

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._peers.append(writer.get_extra_info("peername")[0])
            session = Session(len(self._peers), self._peers[-1], self, reader, writer)
        try:
            await self._dispatch(session, "CONNECT", "")
            while not session.closed:
                line = await session.readline()
                if line is None:
                    break
                verb, _, arg = line.strip().partition(" ")
                await self._dispatch(session, verb.upper(), arg.strip())
        except (ConnectionError, ssl.SSLError, ValueError, TimeoutError):
            pass  # the client went away, a TLS handshake failed, or a line was too long: the session is over
        finally:
            await session.flush()
            await _close_writer(writer)

    async def _dispatch(self, session: Session, verb: str, arg: str) -> None:
        handler = self.replies.get(verb, self.replies["UNKNOWN"])
        self._attempts[verb, arg.lower()] += 1
        cmd = Command(verb, arg, self._attempts[verb, arg.lower()], session)
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        reply = await _call(handler, cmd)
        if reply is None or session.closed:
            return
        await session.send(reply.format_map(cmd.fields()))
        self._update(cmd, reply)

    @staticmethod
    def _update(cmd: Command, reply: str) -> None:
        """Session state after a reply, for the placeholders of later replies and for closing."""
        s, ok = cmd.session, reply.startswith("2")
        if reply.startswith("421") or cmd.verb == "QUIT":
            s.close()
        elif ok and cmd.verb in ("EHLO", "HELO"):
            s.helo, s.mail_from, s.rcpts = cmd.arg, "", []
        elif ok and cmd.verb == "MAIL":
            s.mail_from = cmd.address
        elif ok and cmd.verb == "RCPT":
            s.rcpts.append(cmd.address)
        elif ok and cmd.verb == "RSET":
            s.mail_from, s.rcpts = "", []

    # -- built-in phases -------------------------------------------------------------------------------------
    def _ehlo(self, cmd: Command) -> str:
        if not cmd.arg:
            return "501 5.5.4 Syntax: EHLO hostname"
        extensions = list(self.extensions)
        if self.offer_starttls and not cmd.session.tls:
            extensions.append("STARTTLS")
        if self.users and (cmd.session.tls or not self.auth_requires_tls):
            extensions.append("AUTH PLAIN LOGIN")
        return multiline(250, self.greeting, *extensions)

    async def _starttls(self, cmd: Command) -> Reply:
        if cmd.session.tls:
            return "554 5.5.1 Error: TLS already active"
        if self.tls is None:
            return "454 4.7.0 TLS not available due to local problem"
        await cmd.session.send("220 2.0.0 Ready to start TLS")
        await cmd.session.start_tls(self.tls)
        return None

    async def _auth(self, cmd: Command) -> str:
        s = cmd.session
        if not self.users:
            return "502 5.5.1 Error: authentication not enabled"
        if self.auth_requires_tls and not s.tls:
            return "530 5.7.0 Must issue a STARTTLS command first"
        if s.user is not None:
            return "503 5.5.1 Error: already authenticated"
        mechanism, _, initial = cmd.arg.partition(" ")
        try:
            if mechanism.upper() == "PLAIN":
                _, user, password = _b64(initial or await _ask(s, "334 ")).split("\0", 2)
            elif mechanism.upper() == "LOGIN":
                user = _b64(initial or await _ask(s, "334 VXNlcm5hbWU6"))  # "Username:"
                password = _b64(await _ask(s, "334 UGFzc3dvcmQ6"))  # "Password:"
            else:
                return "504 5.5.4 Unrecognized authentication type"
        except _Aborted:
            return "501 5.7.0 Authentication aborted"
        except (ValueError, binascii.Error):
            return "501 5.5.2 Cannot decode response"
        if self.users.get(user) != password:
            return "535 5.7.8 Error: authentication failed: authentication failure"
        s.user = user
        return "235 2.7.0 Authentication successful"


class _Aborted(Exception):
    """The client answered a 334 challenge with `*` (RFC 4954)."""


async def _ask(session: Session, challenge: str) -> str:
    await session.send(challenge)
    answer = await session.readline("auth")
    if answer is None:
        raise ConnectionError("client left during AUTH")
    if answer == "*":
        raise _Aborted
    return answer


def _b64(text: str) -> str:
    return base64.b64decode(text, validate=True).decode("utf-8")


async def _call(handler: Handler, cmd: Command) -> Reply:
    if isinstance(handler, str):
        return handler
    result = handler(cmd)
    return await result if inspect.isawaitable(result) else result


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    """Close politely (flush, TLS close_notify) but never wait long: stop() must stay fast."""
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
    except (Exception, asyncio.CancelledError):
        pass
    finally:
        writer.transport.abort()


# -- presets -------------------------------------------------------------------------------------------------
POSTFIX_REJECTS: dict[str, str] = {  # knowledge.md C.1, C.4: Postfix rejects at RCPT (smtpd_delay_reject=yes)
    "reverse_hostname": "450 4.7.1 Client host rejected: cannot find your reverse hostname, [{ip}]",
    "hostname": "450 4.7.25 Client host rejected: cannot find your hostname, [{ip}]",
    "helo_not_found": "450 4.7.1 <{helo}>: Helo command rejected: Host not found",
    "spf_fail": "550 5.7.23 <{address}>: Recipient address rejected: Message rejected due to: SPF fail - not "
    "authorized. Please see http://www.openspf.net/Why?s=mfrom;id={mail_from};ip={ip};r={hostname}",
    "relay": "554 5.7.1 <{address}>: Relay access denied",
    "unknown_user": "550 5.1.1 <{address}>: Recipient address rejected:"
    " User unknown in local recipient table",
    "rbl": "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
    "https://www.spamhaus.org/query/ip/{ip}",
}
POSTFIX_EXTENSIONS = (
    "PIPELINING",
    "SIZE 10240000",
    "VRFY",
    "ETRN",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
    "CHUNKING",
)


def postfix_like(reject: str | None = None, **overrides: Any) -> ScriptedSmtpServer:
    """Postfix defaults; `reject` (a key of POSTFIX_REJECTS) answers every RCPT with Postfix's exact text."""
    options: dict[str, Any] = {
        "hostname": "mx.postfix.test",
        "banner": "220 {hostname} ESMTP Postfix",
        "extensions": POSTFIX_EXTENSIONS,
    }
    if reject is not None:
        options["rcpt"] = POSTFIX_REJECTS[reject]
    return ScriptedSmtpServer(**(options | overrides))


_NETEASE_TRAILER = (
    "mx14,QMCowEC5Y0tzZmBkAQAA--.1S2 1700000000"
    " http://mail.163.com/help/help_spam_16.htm?ip={ip}&hostid=mx14&time=1700000000"
)
NETEASE_REJECTS: dict[
    str, tuple[str, str]
] = {  # knowledge.md B.5: (phase, reply); NetEase's tag is what counts
    "spf": ("mail", f"550 MI:SPF {_NETEASE_TRAILER}"),
    "rep": ("banner", f"421 HL:REP {_NETEASE_TRAILER}"),
    "spam": ("rcpt", f"451 DT:SPM {_NETEASE_TRAILER}, please try again"),
}


def netease_like(reject: str | None = None, **overrides: Any) -> ScriptedSmtpServer:
    """163.com's Coremail front end; `reject` is "spf" (at MAIL), "rep" (the banner) or "spam" (at RCPT, as
    mxprobe never reaches DATA where NetEase really says it). Move a reply with e.g. `mail=...`."""
    options: dict[str, Any] = {
        "hostname": "163mx14.mxmail.netease.com",
        "banner": "220 163.com Anti-spam GT for Coremail System (163com[20141201])",
        "greeting": "mail",
        "extensions": ("PIPELINING", "AUTH LOGIN PLAIN XOAUTH2", "STARTTLS", "SIZE 73400320", "8BITMIME"),
    }
    if reject is not None:
        phase, reply = NETEASE_REJECTS[reject]
        options[phase] = reply
    return ScriptedSmtpServer(**(options | overrides))


GMAIL_TAIL = " a1si1234567qkb.12 - gsmtp"
GMAIL_REJECTS: dict[str, tuple[str, ...]] = {  # knowledge.md B.1, wrapped as Gmail wraps them
    "unauthenticated": (
        "5.7.26 This mail has been blocked because the sender is unauthenticated.",
        "5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
        "5.7.26",
        "5.7.26  Authentication results:",
        "5.7.26  DKIM = did not pass",
        "5.7.26  SPF [{mail_domain}] with ip: [{ip}] = did not pass",
        "5.7.26",
        "5.7.26  For instructions on setting up authentication, go to",
        "5.7.26  https://support.google.com/mail/answer/81126#authentication" + GMAIL_TAIL,
    ),
    "dmarc": (
        "5.7.26 Unauthenticated email from {mail_domain} is not accepted due to domain's",
        "5.7.26 DMARC policy. Please contact the administrator of {mail_domain} domain if",
        "5.7.26 this was a legitimate mail. To learn about the DMARC initiative, go to",
        "5.7.26  https://support.google.com/mail/?p=DmarcRejection" + GMAIL_TAIL,
    ),
    "ptr": (
        "5.7.25 [{ip}] The IP address sending this message does not have a PTR record",
        "5.7.25 setup, or the corresponding forward DNS entry does not point to the",
        "5.7.25 sending IP. As a policy, Gmail does not accept messages from IPs with",
        "5.7.25 missing PTR records. For more information, go to",
        "5.7.25  https://support.google.com/mail/answer/81126#ip-rdns" + GMAIL_TAIL,
    ),
}


def gmail_like(reject: str | None = "unauthenticated", **overrides: Any) -> ScriptedSmtpServer:
    """mx.google.com; `reject` (a key of GMAIL_REJECTS) answers RCPT with Gmail's multi-line 550."""
    options: dict[str, Any] = {
        "hostname": "mx.google.com",
        "banner": "220 {hostname} ESMTP a1si1234567qkb.12 - gsmtp",
        "greeting": "{hostname} at your service, [{ip}]",
        "extensions": (
            "SIZE 157286400",
            "8BITMIME",
            "ENHANCEDSTATUSCODES",
            "PIPELINING",
            "CHUNKING",
            "SMTPUTF8",
        ),
        "offer_starttls": True,
        "mail": "250 2.1.0 OK" + GMAIL_TAIL,
        "rcpt": "250 2.1.5 OK" + GMAIL_TAIL,
    }
    if reject is not None:
        options["rcpt"] = multiline(550, *GMAIL_REJECTS[reject])
    return ScriptedSmtpServer(**(options | overrides))


GREYLISTED = (  # knowledge.md C.3
    "450 4.2.0 <{address}>: Recipient address rejected: Greylisted,"
    " see http://postgrey.schweikert.ch/help/{domain}.html"
)


def greylisting(retries: int = 1, **overrides: Any) -> ScriptedSmtpServer:
    """Postfix with postgrey: each recipient gets 450 for its first `retries` attempts, then 250."""

    def rcpt(cmd: Command) -> str:
        return GREYLISTED if cmd.attempt <= retries else "250 2.1.5 Ok"

    return postfix_like(**({"rcpt": rcpt} | overrides))


# -- faulty servers ------------------------------------------------------------------------------------------
FaultKind = Literal[
    "refuse",
    "tarpit",
    "banner_421",
    "drop_before_banner",
    "drop_after_ehlo",
    "421_mid_dialogue",
    "http",
    "garbage",
    "long_line",
    "endless_multiline",
    "starttls_fail",
    "tls_handshake_fail",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

HTTP_400 = (
    b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 150\r\n"
    b"Connection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n"
    b"<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
GARBAGE = bytes(range(256)) + b"\r\n"  # NUL, 0xff and friends, then a line end so readers return it
LONG_LINE_BYTES = 100 * 1024
ENDLESS_PACE = 0.01  # seconds between lines: 100 lines per second, enough to look alive, not a flood


def _close(cmd: Command) -> None:
    cmd.session.close()


async def _http(cmd: Command) -> None:
    await cmd.session.write(HTTP_400)
    cmd.session.close()


async def _garbage(cmd: Command) -> None:
    await cmd.session.write(GARBAGE)


def _long_line(cmd: Command) -> str:
    return "220 " + "x" * LONG_LINE_BYTES


async def _endless(cmd: Command) -> None:
    n = 0
    while True:  # until the client leaves (the write fails) or stop() cancels us
        n += 1
        await cmd.session.write(f"250-{cmd.session.server.hostname} line {n}, more to come\r\n".encode())
        await asyncio.sleep(ENDLESS_PACE)


async def _tls_garbage(cmd: Command) -> None:
    await cmd.session.send("220 2.0.0 Ready to start TLS")
    await cmd.session.write(b"this is not a TLS handshake\r\n" + GARBAGE)
    cmd.session.close()


_FAULTS: dict[str, tuple[tuple[str, ...], Handler]] = {  # kind -> (phases it hits by default, handler)
    "banner_421": (("CONNECT",), "421 4.3.2 All server ports are busy"),
    "drop_before_banner": (("CONNECT",), _close),
    "drop_after_ehlo": (("EHLO", "HELO"), _close),
    "421_mid_dialogue": (("MAIL",), "421 4.7.0 {hostname} Error: too many errors"),
    "http": (("CONNECT",), _http),
    "garbage": (("CONNECT",), _garbage),
    "long_line": (("CONNECT",), _long_line),
    "endless_multiline": (("CONNECT",), _endless),
    "starttls_fail": (("STARTTLS",), "454 4.7.0 TLS not available due to local problem"),
    "tls_handshake_fail": (("STARTTLS",), _tls_garbage),
}


class FaultyServer(ScriptedSmtpServer):
    """A server that misbehaves in one way, at the phase where it hurts (`at` moves it, e.g. `at="RCPT"`).

    refuse              nothing listens: the port is bound, not listening, so connecting is refused
    tarpit              the reply at `at` (the banner by default) comes after `delay` seconds, or never (None)
    banner_421          `421 4.3.2 All server ports are busy`, then close
    drop_before_banner  accept, then close without a word
    drop_after_ehlo     normal banner, then close when EHLO arrives
    421_mid_dialogue    421 to MAIL FROM, then close
    http                an nginx `HTTP/1.1 400 Bad Request` instead of a banner, then close
    garbage             256 binary bytes instead of a banner; the connection stays open
    long_line           a 100 KB banner line
    endless_multiline   `250-` lines forever (100 a second) instead of the banner
    starttls_fail       offers STARTTLS, answers it with 454
    tls_handshake_fail  offers STARTTLS, answers 220, then garbage instead of the TLS handshake
    """

    def __init__(
        self, kind: FaultKind, *, delay: float | None = None, at: str | None = None, **options: Any
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown SMTP fault {kind!r}: use one of {', '.join(FAULT_KINDS)}")
        if kind in ("starttls_fail", "tls_handshake_fail"):
            options.setdefault("offer_starttls", True)
        super().__init__(**options)
        self.kind = kind
        self._refusing: socket.socket | None = None
        if kind == "tarpit":
            phase = (at or "CONNECT").upper()
            self.replies[phase] = _slowly(self.replies[phase], delay)
        elif kind != "refuse":
            phases, handler = _FAULTS[kind]
            for phase in (at.upper(),) if at else phases:
                self.replies[phase] = handler

    async def _open(self) -> None:
        if self.kind != "refuse":
            await super()._open()
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._refusing = socket.socket(family, socket.SOCK_STREAM)
        self._refusing.bind((self.host, self.port))  # bound, never listening: connect() gets ECONNREFUSED
        self.port = self._refusing.getsockname()[1]

    async def _close(self) -> None:
        if self._refusing is not None:
            self._refusing.close()
        await super()._close()


def _slowly(handler: Handler, delay: float | None) -> Handler:
    async def slow(cmd: Command) -> Reply:
        await asyncio.sleep(delay) if delay is not None else await asyncio.Event().wait()
        return await _call(handler, cmd)

    return slow
