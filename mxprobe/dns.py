"""The run's DNS layer: one set of nameservers, one cache, one deadline, shared by every check and library.

Why not `dns.asyncresolver.Resolver.resolve`: a diagnostic tool must tell NXDOMAIN from NODATA from SERVFAIL
from REFUSED from a timeout (a DNSBL that refuses us is *not* a clean answer), and the resolver folds the last
three into one exception. So queries are built with `dns.message`, sent over the command's own UDP sockets
(`UdpTransport`: a few shared sockets instead of one per query) and parsed by dnspython, keeping the exact
rcode; UDP answers with TC set are asked again over TCP with `dns.asyncquery.tcp`.

Identical queries in one run are asked once: the cache holds the in-flight task, so concurrent checks that
need the same answer await the same query. pyspf and checkdmarc are synchronous; `sync_resolver()` gives them
a `dns.resolver.Resolver` whose `resolve()` goes through this same layer (same nameservers, cache, deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.reversename

from mxprobe.errors import InputError
from mxprobe.model import Evidence
from mxprobe.target import reject_controls

DEFAULT_QUERY_TIMEOUT = 2.5  # seconds for one query to one nameserver (UDP, then TCP if truncated)
DEFAULT_TRIES = 2  # attempts per nameserver on timeout


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """Parse `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address. Names are refused: a resolver is an IP."""
    reject_controls("--nameserver", text)
    raw = text.strip()
    host, port = raw, 53
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise InputError(f"invalid --nameserver {text!r}: missing ']'")
        host, rest = raw[1:end], raw[end + 1 :]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise InputError(f"invalid --nameserver {text!r}: expected [IPv6]:PORT")
            port = int(rest[1:])
    elif raw.count(":") == 1:
        host, _, p = raw.partition(":")
        if not p.isdigit():
            raise InputError(f"invalid --nameserver {text!r}: port must be a number")
        port = int(p)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InputError(f"invalid --nameserver {text!r}: expected IP, IP:PORT or [IPv6]:PORT") from None
    if not 0 < port < 65536:
        raise InputError(f"invalid --nameserver {text!r}: port out of range")
    return Nameserver(host, port)


def system_nameservers() -> list[Nameserver]:
    """The system resolver's nameservers (/etc/resolv.conf, or the OS configuration on Windows)."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError) as exc:
        raise InputError(f"no system resolver configured ({exc}); pass --nameserver IP") from None
    out = []
    for ns in resolver.nameservers:
        if isinstance(ns, str):
            out.append(Nameserver(ns, resolver.port))
        elif isinstance(ns, dns.nameserver.Do53Nameserver):
            out.append(Nameserver(ns.address, ns.port))
    if not out:
        raise InputError("no system resolver configured; pass --nameserver IP")
    return out


class Deadline:
    """The whole run's time budget: every query and connection asks it how long it may still take."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.at = self.start + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def cap(self, timeout: float, margin: float = 0.0) -> float:
        """`timeout`, shortened so that it ends `margin` seconds before the deadline."""
        return min(timeout, self.remaining() - margin)

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.start) * 1000


RCODE_ERRORS = ("SERVFAIL", "REFUSED", "TIMEOUT", "ERROR")


@dataclass
class Answer:
    """The outcome of one query, kept whole so checks can show it as evidence.

    `rcode` is NOERROR, NXDOMAIN, NODATA (NOERROR without records of the type), SERVFAIL, REFUSED, TIMEOUT or
    ERROR; `records` are the rdata of the asked type at the end of any CNAME chain.
    """

    name: str
    rdtype: str
    rcode: str
    records: list[Any] = field(default_factory=list)
    error: str = ""
    ad: bool = False
    cnames: list[str] = field(default_factory=list)
    response: dns.message.Message | None = None

    @property
    def ok(self) -> bool:
        return self.rcode == "NOERROR" and bool(self.records)

    @property
    def failed(self) -> bool:
        """True when the DNS did not give an answer at all: nothing may be concluded from it."""
        return self.rcode in RCODE_ERRORS

    @property
    def texts(self) -> list[str]:
        if self.rdtype in ("TXT", "SPF"):
            return [b"".join(r.strings).decode("utf-8", "replace") for r in self.records]
        return [r.to_text() for r in self.records]

    def evidence(self, note: str = "") -> Evidence:
        return Evidence(
            query=f"{self.name} {self.rdtype}",
            answer=self.texts,
            rcode=self.rcode,
            note=note or self.error,
        )


class _Socket(asyncio.DatagramProtocol):
    """One connected UDP socket to one nameserver; answers go to the query waiting for their message id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, asyncio.Future[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        waiter = self.pending.get(int.from_bytes(data[:2], "big")) if len(data) >= 12 else None
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # An ICMP error (port unreachable) on a connected socket concerns every query to that server.
        for waiter in self.pending.values():
            if not waiter.done():
                waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.error_received(exc or ConnectionError("socket closed"))


PER_SOCKET = 48  # queries waiting on one UDP socket before another is opened


class UdpTransport:
    """The UDP sockets one command's queries go out on, opened on first use and shared by its queries.

    dnspython's `udp()` opens, registers and closes a socket for every query; at a few hundred queries a run
    that was a third of the client's CPU. Here each query only sends a datagram and waits for the answer
    carrying its (random, unused) message id; the answer must also match the question
    (`Message.is_response`), or it is ignored as stale or forged. Truncated answers are asked again over
    TCP by dnspython.
    """

    def __init__(self) -> None:
        self._sockets: dict[Nameserver, list[_Socket]] = {}

    async def _socket(self, ns: Nameserver) -> _Socket:
        """The least busy open socket to `ns`, or a new one when each has PER_SOCKET queries waiting: a
        socket's receive buffer holds a few hundred answers at most, and each socket has its own random
        source port."""
        sockets = self._sockets.setdefault(ns, [])
        sockets[:] = [s for s in sockets if s.transport is not None and not s.transport.is_closing()]
        idle = min(sockets, key=lambda s: len(s.pending), default=None)
        if idle is not None and len(idle.pending) < PER_SOCKET:
            return idle
        _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
            _Socket, remote_addr=(ns.host, ns.port)
        )
        sockets.append(protocol)
        return protocol

    async def query(
        self, message: dns.message.Message, ns: Nameserver, timeout: float
    ) -> dns.message.Message:
        sock = await self._socket(ns)
        if sock.transport is None:
            raise ConnectionError(f"no socket to {ns}")
        message.id = secrets.randbits(16)
        while message.id in sock.pending:
            message.id = secrets.randbits(16)
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        sock.pending[message.id] = waiter
        try:
            sock.transport.sendto(message.to_wire())
            async with asyncio.timeout(timeout):
                while True:
                    data = await waiter
                    response = dns.message.from_wire(data, ignore_trailing=True)
                    if message.is_response(response):
                        break
                    waiter = asyncio.get_running_loop().create_future()  # not ours: keep waiting
                    sock.pending[message.id] = waiter
        except TimeoutError:
            raise dns.exception.Timeout(timeout=timeout) from None  # type: ignore[no-untyped-call]
        finally:
            sock.pending.pop(message.id, None)
        if response.flags & dns.flags.TC:
            return await dns.asyncquery.tcp(message, ns.host, timeout=timeout, port=ns.port)
        return response

    def sockets(self, ns: Nameserver) -> list[_Socket]:
        return list(self._sockets.get(ns, []))

    def close(self) -> None:
        for sockets in self._sockets.values():
            for sock in sockets:
                if sock.transport is not None:
                    sock.transport.close()
        self._sockets.clear()


class Limiter:
    """What every Dns client of one command shares: queries in flight, queries per second (a pool of IPs
    shares one limiter, so `--concurrency` and `--rate` bound the whole run, not each IP), and the UDP
    sockets the queries go out on. `close()` it when the command ends."""

    def __init__(self, concurrency: int = 100, rate: float = 0.0) -> None:
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next_send = 0.0
        self.udp = UdpTransport()

    def close(self) -> None:
        self.udp.close()

    async def throttle(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        wait = self._next_send - now
        self._next_send = max(now, self._next_send) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)


class Dns:
    """One run's DNS client. Create one per probe; nothing in it is process-global.

    `parent`: a pool of probes gives each IP its own client (its cache dies with it, so memory stays flat)
    whose `shared=True` queries (DNSBL canaries: the same for every IP) go to the parent's cache instead.
    """

    def __init__(
        self,
        nameservers: Sequence[Nameserver] | None = None,
        *,
        deadline: Deadline | None = None,
        query_timeout: float = DEFAULT_QUERY_TIMEOUT,
        tries: int = DEFAULT_TRIES,
        concurrency: int = 100,
        rate: float = 0.0,
        limiter: Limiter | None = None,
        parent: Dns | None = None,
    ) -> None:
        self.nameservers = list(nameservers) if nameservers else system_nameservers()
        self.deadline = deadline or Deadline(15.0)
        self.query_timeout = query_timeout
        self.tries = max(1, tries)
        self._own_limiter = limiter is None
        self.limiter = limiter or Limiter(concurrency, rate)
        self.parent = parent
        self._inflight: dict[tuple[str, str, bool], asyncio.Task[Answer]] = {}
        self.sent = 0  # queries actually sent (cache misses), for benchmarks and tests
        self.loop: asyncio.AbstractEventLoop | None = None

    async def query(
        self, name: str, rdtype: str, *, dnssec: bool = False, shared: bool = False, urgent: bool = False
    ) -> Answer:
        """Ask once per run; later callers (even concurrent ones) share the first call's answer.

        `shared=True` marks a query whose answer does not depend on the probed target (a DNSBL's canary): in a
        pool it is asked once for all IPs. `urgent=True` skips the queue of queries in flight (not the rate
        cap): the handshake's MX and address lookups start a chain of SMTP round trips and must not wait
        behind a few hundred blocklist queries.
        """
        if shared and self.parent is not None:
            return await self.parent.query(name, rdtype, dnssec=dnssec, shared=True, urgent=urgent)
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        key = (name.lower().rstrip("."), rdtype.upper(), dnssec)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._query(key[0], key[1], dnssec, urgent))
            self._inflight[key] = task
        elif task.done():
            return task.result()  # a cache hit costs no task and no await
        return await asyncio.shield(task)  # shielded: one caller's cancellation must not cancel the others'

    def close(self) -> None:
        """Close the sockets of a client that made its own limiter (a shared limiter's owner closes it)."""
        if self._own_limiter:
            self.limiter.close()

    async def ptr(self, ip: str) -> Answer:
        return await self.query(dns.reversename.from_address(ip).to_text(omit_final_dot=True), "PTR")

    async def addresses(self, name: str, *, urgent: bool = False) -> tuple[Answer, Answer]:
        """A and AAAA of a name, asked concurrently."""
        a, aaaa = await asyncio.gather(
            self.query(name, "A", urgent=urgent), self.query(name, "AAAA", urgent=urgent)
        )
        return a, aaaa

    async def _query(self, name: str, rdtype: str, dnssec: bool, urgent: bool = False) -> Answer:
        try:
            qname = dns.name.from_text(name)
            qtype = dns.rdatatype.from_text(rdtype)
        except (dns.exception.DNSException, ValueError) as exc:
            return Answer(name, rdtype, "ERROR", error=f"invalid query: {exc}")
        message = dns.message.make_query(qname, qtype, want_dnssec=dnssec)
        message.flags |= dns.flags.AD if dnssec else 0
        last = Answer(name, rdtype, "TIMEOUT", error="no nameserver answered")
        async with contextlib.nullcontext() if urgent else self.limiter.slots:
            for ns in self.nameservers:
                for _attempt in range(self.tries):
                    # Queries give up a little before the run's deadline, so that a check can still report
                    # which name timed out instead of being cut off by the scanner's deadline.
                    timeout = self.deadline.cap(
                        self.query_timeout, margin=min(0.5, self.deadline.seconds / 20)
                    )
                    if timeout <= 0:
                        return Answer(name, rdtype, "TIMEOUT", error="the run's deadline was reached")
                    await self.limiter.throttle()
                    self.sent += 1
                    try:
                        response = await self.limiter.udp.query(message, ns, timeout)
                    except dns.exception.Timeout:
                        error = f"no answer from {ns} within {timeout:.1f}s"
                        last = Answer(name, rdtype, "TIMEOUT", error=error)
                        continue
                    except (OSError, dns.exception.DNSException, EOFError) as exc:
                        last = Answer(name, rdtype, "ERROR", error=f"{ns}: {type(exc).__name__}: {exc}")
                        break
                    answer = self._read(name, rdtype, qname, qtype, response)
                    if answer.rcode in ("SERVFAIL", "REFUSED"):
                        last = answer
                        break  # try the next nameserver, as a stub resolver does
                    return answer
        return last

    @staticmethod
    def _read(
        name: str,
        rdtype: str,
        qname: dns.name.Name,
        qtype: dns.rdatatype.RdataType,
        response: dns.message.Message,
    ) -> Answer:
        rcode = dns.rcode.to_text(response.rcode())
        ad = bool(response.flags & dns.flags.AD)
        if rcode not in ("NOERROR", "NXDOMAIN"):
            error = f"the nameserver answered {rcode}"
            return Answer(name, rdtype, rcode, error=error, ad=ad, response=response)
        # Follow the CNAME chain inside the answer section, as a stub resolver does.
        current, cnames = qname, list[str]()
        for _ in range(16):
            rrset = response.get_rrset(response.answer, current, dns.rdataclass.IN, qtype)
            if rrset is not None:
                return Answer(name, rdtype, "NOERROR", list(rrset), ad=ad, cnames=cnames, response=response)
            cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                break
            current = next(iter(cname)).target
            cnames.append(current.to_text(omit_final_dot=True))
        if rcode == "NXDOMAIN":
            return Answer(name, rdtype, "NXDOMAIN", ad=ad, cnames=cnames, response=response)
        return Answer(name, rdtype, "NODATA", ad=ad, cnames=cnames, response=response)

    def sync_resolver(self) -> BridgeResolver:
        """A blocking resolver for pyspf and checkdmarc (run in worker threads) that uses this run's layer.

        Call it from the event loop's thread (a check's `run`), before handing it to a worker thread.
        """
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        return BridgeResolver(self)


class BridgeResolver(dns.resolver.Resolver):
    """`dns.resolver.Resolver` whose `resolve()` is answered by the run's async `Dns` from another thread.

    Libraries that accept a Resolver object (checkdmarc) or a lookup function built on one (pyspf, through
    mxprobe.checks.spf) then share the run's nameservers, cache, deadline and query count. Must be called from
    a worker thread, never from the event loop's own thread. `asked` lists every (name, type) the library
    asked, in order, so a check can show those answers as evidence (they are cache hits by then).
    """

    def __init__(self, client: Dns) -> None:
        super().__init__(configure=False)
        self._client = client
        self.nameservers = [ns.host for ns in client.nameservers]
        self.port = client.nameservers[0].port
        self.timeout = self.lifetime = client.deadline.remaining()
        self.asked: list[tuple[str, str]] = []

    def resolve(
        self,
        qname: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str = dns.rdatatype.A,
        rdclass: dns.rdataclass.RdataClass | str = dns.rdataclass.IN,
        tcp: bool = False,
        source: str | None = None,
        raise_on_no_answer: bool = True,
        source_port: int = 0,
        lifetime: float | None = None,
        search: bool | None = None,
    ) -> dns.resolver.Answer:
        name = qname.to_text(omit_final_dot=True) if isinstance(qname, dns.name.Name) else str(qname)
        type_text = rdtype if isinstance(rdtype, str) else dns.rdatatype.to_text(rdtype)
        self.asked.append((name.rstrip(".").lower(), type_text.upper()))
        loop = self._client.loop
        if loop is None:
            raise _no_nameservers(name, type_text, "the run's DNS layer has not started")
        future = asyncio.run_coroutine_threadsafe(self._client.query(name, type_text), loop)
        try:
            answer = future.result(timeout=self._client.deadline.remaining() + 1.0)
        except TimeoutError:
            future.cancel()
            raise dns.resolver.LifetimeTimeout(timeout=self._client.deadline.seconds, errors=[]) from None  # type: ignore[no-untyped-call]
        qn = dns.name.from_text(name)
        if answer.rcode == "TIMEOUT":
            raise dns.resolver.LifetimeTimeout(timeout=self._client.query_timeout, errors=[])  # type: ignore[no-untyped-call]
        if answer.rcode == "NXDOMAIN":
            raise dns.resolver.NXDOMAIN(qnames=[qn], responses={qn: answer.response})  # type: ignore[no-untyped-call]
        if answer.failed or answer.response is None:
            raise _no_nameservers(name, type_text, answer.error or answer.rcode)
        if answer.rcode == "NODATA" and raise_on_no_answer:
            raise dns.resolver.NoAnswer(response=answer.response)  # type: ignore[no-untyped-call]
        return dns.resolver.Answer(
            qn,
            dns.rdatatype.from_text(type_text),
            dns.rdataclass.IN,
            answer.response,  # type: ignore[arg-type]
        )


def _no_nameservers(name: str, rdtype: str, why: str) -> dns.resolver.NoNameservers:
    """dnspython's "all nameservers failed": it formats `request.question`, so it needs a real request."""
    request = dns.message.make_query(name, rdtype)
    return dns.resolver.NoNameservers(request=request, errors=[("", False, 0, why, None)])  # type: ignore[no-untyped-call]
