"""The connection to one server: the TCP socket, TLS on it, and SMTP replies read from bytes this module owns.

Why not a client library: the handshake must keep each reply exactly as the server sent it, see data that
arrived before a command was written (a reply to nothing), write several commands at once (PIPELINING,
RFC 2920), and say what arrived of a reply that never ended. All four need the received bytes, which
aiosmtplib keeps in a private buffer; here they are in `_Stream.buffer`, read by nothing else.

Limits (RFC 5321 §4.5.3.1.5 allows 512 bytes a reply line; real servers stay well under these):
a line over `MAX_LINE` bytes or a reply over `MAX_REPLY` ends the read as too long, so a server cannot make
this client hold more than about `MAX_REPLY + MAX_LINE` bytes (reading pauses past that).
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from dataclasses import dataclass, field

MAX_LINE = 8192
MAX_REPLY = 32 * 1024
# A reply line: three digits, the first 2-5 and the second 0-5 (RFC 5321 §4.2), then a space, a hyphen
# (more lines follow) or the line end. `2500 ok`, `25 ok` and `600 x` are not SMTP.
_REPLY_LINE = re.compile(rb"[2-5][0-5][0-9](?:[ -]|$)")


def decode(raw: bytes) -> str:
    """Bytes as the transcript keeps them: UTF-8, every undecodable byte U+FFFD, the CR of CRLF removed."""
    return raw.removesuffix(b"\r").decode("utf-8", "replace")


@dataclass
class Reply:
    """A complete, well-formed reply: every line with its code, as received."""

    code: int
    lines: list[str]
    received: float = 0.0  # time.monotonic() when the bytes that completed it arrived

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class ReadError(Exception):
    """No usable reply. `fault`: timeout | disconnected | too-long | not-smtp | bad-reply; `lines` are the
    complete lines that arrived (decoded), `tail` the start of an unfinished one, `size` all bytes held."""

    fault: str
    lines: list[str] = field(default_factory=list)
    tail: str = ""
    size: int = 0
    reason: str = ""  # the OS's or the TLS layer's words for a broken connection

    def __str__(self) -> str:
        return f"{self.fault}: {self.lines[:1]} {self.tail[:40]!r}"


class _Stream(asyncio.Protocol):
    """The receiving side: bytes appended to `buffer`, and a waiter woken by news (data, end, error)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.arrived = 0.0  # time.monotonic() of the last bytes received
        self.closed = False
        self.reason = ""
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.arrived = time.monotonic()
        self.buffer += data
        if len(self.buffer) > MAX_REPLY + MAX_LINE and self.transport is not None:
            self.transport.pause_reading()  # bounded memory: the reader ends this as too long
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is not None:
            self.reason = str(exc) or type(exc).__name__
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def news(self, timeout: float) -> bool:
        """Wait until something happens on the stream; False when `timeout` ran out first."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._waiter, timeout)
        except TimeoutError:
            return False
        finally:
            self._waiter = None
        return True


class Connection:
    """One open connection. `open` connects a socket already connected by the caller (bound as it chose)."""

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream
        self._parser = _Parser()

    @classmethod
    async def open(
        cls, sock: socket.socket, *, tls: ssl.SSLContext | None, hostname: str, timeout: float
    ) -> Connection:
        """Wrap the socket; with `tls`, do the TLS handshake first (port 465). Raises OSError, ssl.SSLError
        or TimeoutError; on any failure the socket is closed."""
        loop = asyncio.get_running_loop()
        stream = _Stream()
        try:
            if tls is None:
                await loop.create_connection(lambda: stream, sock=sock)
            else:
                await asyncio.wait_for(
                    loop.create_connection(
                        lambda: stream,
                        sock=sock,
                        ssl=tls,
                        server_hostname=hostname,
                        ssl_handshake_timeout=max(timeout, 0.001),
                    ),
                    timeout,
                )
        except BaseException:
            sock.close()
            raise
        return cls(stream)

    @property
    def transport(self) -> asyncio.Transport:
        assert self._stream.transport is not None
        return self._stream.transport

    @property
    def closed(self) -> bool:
        """The server ended the connection (or it broke): nothing more can be written."""
        return self._stream.closed or self.transport.is_closing()

    def waiting(self) -> bytes:
        """What arrived and was not read as a reply: a reply to nothing when no command is pending."""
        return bytes(self._stream.buffer)

    def write(self, lines: list[str]) -> float:
        """Write command lines in one write; the time it was done (a pipelined group shares it)."""
        if self.closed:
            raise ConnectionResetError("the connection is closed")
        data = "".join(f"{line}\r\n" for line in lines).encode("utf-8")
        written = time.monotonic()  # before: a pause between the write and the clock is not the server's
        self.transport.write(data)
        return written

    async def settle(self) -> None:
        """Let the event loop deliver what the socket already holds, so `waiting` sees it."""
        for _ in range(2):
            await asyncio.sleep(0)

    async def read_reply(self, timeout: float) -> Reply:
        """The next reply, within `timeout` seconds. Raises ReadError."""
        stream = self._stream
        end = time.monotonic() + timeout
        while True:
            reply = self._parser.take(stream.buffer)
            if reply is not None:
                reply.received = stream.arrived  # when it came, not when this client got to read it
                return reply
            if stream.closed:
                raise _unfinished(stream.buffer, "disconnected", stream.reason)
            left = end - time.monotonic()
            if left <= 0 or not await stream.news(left):
                raise _unfinished(stream.buffer, "timeout")

    async def start_tls(self, context: ssl.SSLContext, hostname: str, timeout: float) -> None:
        """Upgrade to TLS (after a 220 to STARTTLS, with nothing left unread). Raises OSError, ssl.SSLError
        or TimeoutError."""
        loop = asyncio.get_running_loop()
        upgraded = await asyncio.wait_for(
            loop.start_tls(
                self.transport,
                self._stream,
                context,
                server_hostname=hostname,
                ssl_handshake_timeout=max(timeout, 0.001),
            ),
            timeout,
        )
        assert isinstance(upgraded, asyncio.Transport)
        self._stream.transport = upgraded

    def ssl_object(self) -> object:
        return self.transport.get_extra_info("ssl_object")

    def local_address(self) -> str:
        return str(self.transport.get_extra_info("sockname")[0])

    def abort(self) -> None:
        """Drop the connection now: no TLS shutdown, no lingering."""
        if self._stream.transport is not None:
            self._stream.transport.abort()


async def connect_socket(address: str, port: int, source: str | None, timeout: float) -> socket.socket:
    """A TCP connection to address:port, from `source` when it is of the same family. Raises OSError or
    TimeoutError (the socket closed)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        if source and (":" in source) == (family == socket.AF_INET6):
            sock.bind((source, 0))
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (address, port)), timeout)
    except BaseException:
        sock.close()
        raise
    return sock


class _Parser:
    """Replies taken off the front of a buffer, line by line as they arrive: each byte is looked at once
    (a reply of many short lines arriving one by one costs linear time, not a re-scan per line)."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.start = 0  # where the next unread line begins in the buffer

    def take(self, buffer: bytearray) -> Reply | None:
        """The reply at the front of `buffer` once complete (removed from it), else None. Raises ReadError
        for what is not an SMTP reply, or is too long."""
        while True:
            end = buffer.find(b"\n", self.start)
            if end < 0:
                if len(buffer) - self.start > MAX_LINE or len(buffer) > MAX_REPLY:
                    raise _unfinished(buffer, "too-long")
                return None
            line = bytes(buffer[self.start : end]).removesuffix(b"\r")
            self.start = end + 1
            if len(line) > MAX_LINE or self.start > MAX_REPLY:
                raise _unfinished(buffer, "too-long")
            if _REPLY_LINE.match(line) is None:
                raise ReadError("not-smtp", [decode(x) for x in [*self.lines, line]], size=len(buffer))
            self.lines.append(line)
            if line[3:4] != b"-":
                break
        lines, size = self.lines, self.start
        del buffer[:size]
        self.lines, self.start = [], 0
        texts = [decode(x) for x in lines]
        if len({x[:3] for x in lines}) > 1:  # RFC 5321 §4.2.1: every line of a reply has the same code
            raise ReadError("bad-reply", texts, size=size)
        return Reply(int(lines[0][:3]), texts)


def _unfinished(buffer: bytearray, fault: str, reason: str = "") -> ReadError:
    data = bytes(buffer)
    *complete, tail = data.split(b"\n")
    too_long = fault == "too-long"
    return ReadError(
        fault,
        [decode(x[: MAX_LINE if too_long else None]) for x in complete][:100],
        decode(tail[:200]),
        len(data),
        reason,
    )
