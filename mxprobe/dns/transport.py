"""Sending a query to one nameserver and receiving its reply: shared UDP sockets, TCP when truncated.

dnspython's `dns.asyncquery.udp()` opens and closes a socket per query; at a few hundred queries per run
that was a third of the client's CPU, and `dns.asyncquery` imports an HTTP stack for DNS-over-HTTPS that
costs a tenth of a second at start-up. Here a run keeps a few UDP sockets per nameserver and multiplexes its
queries over them by message id. What dnspython's `udp_with_fallback()` guarantees is kept:

- A datagram that is not a response to the query (`wire.match`: id, QR bit, opcode, question) or that is
  malformed is ignored and the wait goes on until the query's timeout; the source address is checked by
  the kernel: each socket is connected to its nameserver, so datagrams from any other address or port are
  never delivered to it. A datagram that arrives before its query waits for it is queued, not lost.
- A reply with TC set is asked again over TCP (even when the rest of it cannot be parsed), within what is
  left of the same timeout, not a fresh one; the TCP path is our own (dnspython's wire format, RFC 1035
  4.2.2 length prefix over asyncio streams).

Spoofing resistance (RFC 5452 section 4 and 9): every query carries a message id from `secrets` (16 random
bits, unique among the queries waiting on its socket), and goes out from a socket whose source port the
operating system chose at random; a socket is retired after MAX_USES queries, so a long run keeps changing
ports. At most MAX_SOCKETS sockets are open to one nameserver at a time (a socket is counted from the moment
it is chosen, before it is connected): beyond PER_SOCKET queries waiting on each, queries share sockets.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections import deque
from typing import Any

import dns.message

from mxprobe.dns import wire
from mxprobe.dns.nameserver import Nameserver

MAX_SOCKETS = 4  # UDP sockets open to one nameserver at once
PER_SOCKET = 48  # queries waiting on each socket before another is opened (up to MAX_SOCKETS)
MAX_USES = 1024  # queries sent on one socket before it is retired for a new one (a new source port)
RCVBUF = 1 << 20  # absorbs a burst of answers (the kernel caps it at net.core.rmem_max)


class QueryTimeout(Exception):
    """No acceptable reply within the timeout."""


class BadResponse(Exception):
    """A TCP reply that is malformed or does not answer the query (TCP has no second chance)."""


class Reply:
    """A reply accepted as the response to a query: its bytes, its full rcode, and the dnspython message
    when it had to be parsed (None when the lean walk of `wire.lean_rcode` vouched for it)."""

    __slots__ = ("data", "message", "rcode")

    def __init__(self, data: bytes, rcode: int, message: dns.message.Message | None) -> None:
        self.data, self.rcode, self.message = data, rcode, message

    @property
    def flags(self) -> int:
        return self.data[2] << 8 | self.data[3]


def _parse(end: int, data: bytes) -> Reply:
    """`data`, already matched to its query (whose question ends at `end`), read leanly or by dnspython;
    raises on a malformed message."""
    rcode = wire.lean_rcode(data, end)
    if rcode is not None:
        return Reply(data, rcode, None)
    message = dns.message.from_wire(data, ignore_trailing=True)
    return Reply(data, message.rcode(), message)


_TRUNCATED = object()


def _accept(query: bytes, end: int, data: bytes) -> Reply | object | None:
    """A Reply, _TRUNCATED (ask again over TCP) or None: not ours, or malformed, so ignored."""
    if not wire.match(query, end, data):
        return None
    if data[2] << 8 & wire.TC:
        return _TRUNCATED
    try:
        return _parse(end, data)
    except Exception:  # any parse failure: a malformed datagram is ignored, as dnspython does
        return None


class _Waiter:
    """The datagrams that arrived for one query id, and the future its query sleeps on."""

    __slots__ = ("datagrams", "error", "wakeup")

    def __init__(self) -> None:
        self.datagrams: deque[bytes] = deque()
        self.wakeup: asyncio.Future[None] | None = None
        self.error: Exception | None = None

    def wake(self) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)


class _Socket(asyncio.DatagramProtocol):
    """One UDP socket connected to one nameserver; datagrams are queued for the query with their id."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.ready: asyncio.Future[None] = loop.create_future()
        self.waiters: dict[int, _Waiter] = {}
        self.load = 0  # queries that chose this socket and have not finished
        self.uses = 0
        self.error: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.ready.done():
            self.ready.set_result(None)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        waiter = self.waiters.get(data[0] << 8 | data[1]) if len(data) >= 12 else None
        if waiter is not None:
            waiter.datagrams.append(data)
            waiter.wake()

    def error_received(self, exc: Exception) -> None:
        # An ICMP error (port unreachable) on a connected socket concerns every query to that server.
        for waiter in self.waiters.values():
            waiter.error = exc
            waiter.wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionError("socket closed"))

    def fail(self, exc: Exception) -> None:
        self.error = exc
        if not self.ready.done():
            self.ready.set_result(None)
        self.error_received(exc)

    @property
    def closed(self) -> bool:
        return self.error is not None or (self.transport is not None and self.transport.is_closing())


class UdpTransport:
    """The sockets one command's queries go out on, opened on first use, shared, closed by `close()`."""

    def __init__(self) -> None:
        self._sockets: dict[Nameserver, list[_Socket]] = {}
        self._all: set[_Socket] = set()
        self._opening: set[asyncio.Task[None]] = set()
        self.opened = 0  # sockets opened so far, for tests and benchmarks

    def _pick(self, ns: Nameserver, loop: asyncio.AbstractEventLoop) -> _Socket:
        """The least busy socket to `ns`; a new one while each has PER_SOCKET queries and there are fewer
        than MAX_SOCKETS. A new socket is registered before it is connected, so a burst shares it."""
        sockets = self._sockets.setdefault(ns, [])
        if any(s.closed for s in sockets):
            sockets[:] = [s for s in sockets if not s.closed]
        best = min(sockets, key=lambda s: s.load, default=None)
        if best is not None and (best.load < PER_SOCKET or len(sockets) >= MAX_SOCKETS):
            return best
        sock = _Socket(loop)
        sockets.append(sock)
        self._all.add(sock)
        self.opened += 1
        task = loop.create_task(self._connect(sock, ns, loop))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)
        return sock

    @staticmethod
    async def _connect(sock: _Socket, ns: Nameserver, loop: asyncio.AbstractEventLoop) -> None:
        raw = socket.socket(socket.AF_INET6 if ":" in ns.host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            raw.setblocking(False)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            raw.connect((ns.host, ns.port))  # the kernel drops datagrams from any other source
            await loop.create_datagram_endpoint(lambda: sock, sock=raw)
        except OSError as exc:
            raw.close()
            sock.fail(exc)

    async def exchange(self, query: bytes, end: int, ns: Nameserver, timeout: float) -> Reply:
        """Send `query` (its id is set here; `end`: where its question ends) and return the reply."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        sock = self._pick(ns, loop)
        sock.load += 1
        try:
            async with asyncio.timeout(timeout):
                reply = await self._udp(sock, query, end)
        except TimeoutError:
            raise QueryTimeout(f"no answer from {ns} within {timeout:.1f}s") from None
        finally:
            sock.load -= 1
            self._retire(ns, sock)
        if isinstance(reply, Reply):
            return reply
        return await tcp_exchange(reply, end, ns, timeout - (loop.time() - started))

    async def _udp(self, sock: _Socket, query: bytes, end: int) -> Reply | bytes:
        """The reply, or the query as sent (with its id) when the reply was truncated."""
        await sock.ready
        if sock.error is not None or sock.transport is None:
            raise sock.error or ConnectionError("socket closed")
        qid = secrets.randbits(16)
        while qid in sock.waiters:
            qid = secrets.randbits(16)
        sent = qid.to_bytes(2, "big") + query[2:]
        waiter = sock.waiters[qid] = _Waiter()
        sock.uses += 1
        try:
            sock.transport.sendto(sent)
            while True:
                while waiter.datagrams:
                    reply = _accept(sent, end, waiter.datagrams.popleft())
                    if reply is _TRUNCATED:
                        return sent
                    if isinstance(reply, Reply):
                        return reply
                if waiter.error is not None:
                    raise waiter.error
                waiter.wakeup = asyncio.get_running_loop().create_future()
                await waiter.wakeup
        finally:
            del sock.waiters[qid]

    def _retire(self, ns: Nameserver, sock: _Socket) -> None:
        """Take a socket out of use after MAX_USES queries; close it once no query waits on it."""
        if sock.uses < MAX_USES:
            return
        sockets = self._sockets.get(ns, [])
        if sock in sockets:
            sockets.remove(sock)
        if sock.load == 0 and sock.transport is not None:
            sock.transport.close()
            self._all.discard(sock)

    def sockets(self, ns: Nameserver) -> list[Any]:
        return list(self._sockets.get(ns, []))

    def close(self) -> None:
        for task in self._opening:
            task.cancel()
        for sock in self._all:
            if sock.transport is not None:
                sock.transport.close()
        self._all.clear()
        self._sockets.clear()


async def tcp_exchange(query: bytes, end: int, ns: Nameserver, timeout: float) -> Reply:
    """One query over TCP (RFC 1035 4.2.2: two-byte length, then the message), within `timeout`."""
    if timeout <= 0:
        raise QueryTimeout(f"no time left to ask {ns} over TCP")
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(ns.host, ns.port)
            writer.write(len(query).to_bytes(2, "big") + query)
            size = int.from_bytes(await reader.readexactly(2), "big")
            data = await reader.readexactly(size)
    except TimeoutError:
        raise QueryTimeout(f"no answer from {ns} over TCP within {timeout:.1f}s") from None
    finally:
        if writer is not None:
            writer.close()
    if not wire.match(query, end, data):
        raise BadResponse(f"{ns} answered over TCP with a message that does not match the query")
    try:
        return _parse(end, data)
    except Exception as exc:  # dnspython raises many types on hostile bytes
        raise BadResponse(f"{ns} answered over TCP with a malformed message: {exc}") from None
