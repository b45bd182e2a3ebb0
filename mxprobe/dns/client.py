"""`Dns`, one run's DNS client (cache, retries, failover), and `Limiter`, what a command's clients share.

Why not `dns.asyncresolver.Resolver.resolve`: a diagnostic tool must tell NXDOMAIN from NODATA from SERVFAIL
from REFUSED from a timeout (a DNSBL that refuses us is *not* a clean answer), and the resolver folds the
last three into one exception. So each query goes out through `transport` and its reply is read here,
keeping the exact rcode: any rcode but NOERROR and NXDOMAIN is a failed lookup (`Answer.failed`), never
"no record".

Identical queries in one run are asked once: the cache holds the in-flight task, so concurrent checks that
need the same answer await the same query.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename

from mxprobe.dns import wire
from mxprobe.dns.answer import Answer
from mxprobe.dns.deadline import Deadline
from mxprobe.dns.nameserver import Nameserver, system_nameservers
from mxprobe.dns.transport import BadResponse, QueryTimeout, Reply, UdpTransport

if TYPE_CHECKING:
    from mxprobe.dns.bridge import BridgeResolver

DEFAULT_QUERY_TIMEOUT = 2.5  # seconds for one query to one nameserver (UDP, then TCP if truncated)
DEFAULT_TRIES = 2  # attempts per nameserver on timeout
MAX_CNAME_CHAIN = 16
MAX_IN_FLIGHT = 10_000  # whatever --concurrency says: message ids (16 bits a socket) must stay plentiful
_RCODES = {wire.NOERROR: "NOERROR", wire.NXDOMAIN: "NXDOMAIN"}


class Limiter:
    """What every Dns client of one command shares: queries in flight, queries per second (a pool of IPs
    shares one limiter, so `--concurrency` and `--rate` bound the whole run, not each IP), and the UDP
    sockets the queries go out on. `close()` it when the command ends."""

    def __init__(self, concurrency: int = 100, rate: float = 0.0) -> None:
        self.slots = asyncio.Semaphore(min(max(1, concurrency), MAX_IN_FLIGHT))
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


def rcode_name(value: int) -> str:
    """NOERROR, NXDOMAIN, NOTIMP, BADVERS, ...; `RCODE12` for a value without a name."""
    text = _RCODES.get(value) or dns.rcode.to_text(value)  # type: ignore[arg-type]
    return f"RCODE{text}" if text.isdigit() else text


def _build(name: str, rdtype: str, dnssec: bool) -> tuple[bytes, int]:
    """The query's wire form (id 0) and where its question ends; raises ValueError or DNSException."""
    qtype = dns.rdatatype.from_text(rdtype)
    query = None if dnssec else wire.build_query(name, qtype)
    if query is None:
        message = dns.message.make_query(dns.name.from_text(name), qtype, want_dnssec=dnssec)
        message.flags |= dns.flags.AD if dnssec else 0
        message.id = 0
        query = message.to_wire()
    return query, wire.question_end(query)


def read_reply(name: str, rdtype: str, reply: Reply) -> Answer:
    """The Answer a reply gives: its rcode, and the records of the type asked after any CNAME chain."""
    rcode = rcode_name(reply.rcode)
    ad = bool(reply.flags & wire.AD)
    if rcode not in ("NOERROR", "NXDOMAIN"):
        return Answer(name, rdtype, rcode, error=f"the nameserver answered {rcode}", ad=ad, wire=reply.data)
    response = reply.message
    if response is None:  # the lean path: no answer section
        return Answer(name, rdtype, "NODATA" if rcode == "NOERROR" else rcode, ad=ad, wire=reply.data)
    current, qtype, cnames = dns.name.from_text(name), dns.rdatatype.from_text(rdtype), list[str]()
    seen = {current}
    while True:
        rrset = response.get_rrset(response.answer, current, dns.rdataclass.IN, qtype)
        if rrset is not None:
            records = list(rrset)
            return Answer(name, rdtype, "NOERROR", records, ad=ad, cnames=cnames, response=response)
        cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is None:
            break
        current = next(iter(cname)).target
        cnames.append(current.to_text(omit_final_dot=True))
        if current in seen or len(cnames) > MAX_CNAME_CHAIN:
            chain = " -> ".join([name, *cnames])
            why = "a CNAME loop" if current in seen else f"a CNAME chain longer than {MAX_CNAME_CHAIN}"
            return Answer(
                name, rdtype, "ERROR", error=f"{why}: {chain}", ad=ad, cnames=cnames, response=response
            )
        seen.add(current)
    rcode = "NODATA" if rcode == "NOERROR" else rcode
    return Answer(name, rdtype, rcode, ad=ad, cnames=cnames, response=response)


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
            query, end = _build(name, rdtype, dnssec)
        except (dns.exception.DNSException, ValueError) as exc:
            return Answer(name, rdtype, "ERROR", error=f"invalid query: {exc}")
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
                        reply = await self.limiter.udp.exchange(query, end, ns, timeout)
                    except QueryTimeout as exc:
                        last = Answer(name, rdtype, "TIMEOUT", error=str(exc))
                        continue
                    except (OSError, EOFError, BadResponse) as exc:
                        last = Answer(name, rdtype, "ERROR", error=f"{ns}: {type(exc).__name__}: {exc}")
                        break
                    answer = read_reply(name, rdtype, reply)
                    if answer.failed:
                        last = answer
                        break  # SERVFAIL, REFUSED, NOTIMP...: the next nameserver, as a stub resolver does
                    return answer
        return last

    def sync_resolver(self) -> BridgeResolver:
        """A blocking resolver for pyspf and checkdmarc (run in worker threads) that uses this run's layer.

        Call it from the event loop's thread (a check's `run`), before handing it to a worker thread.
        """
        from mxprobe.dns.bridge import BridgeResolver  # dns.resolver: only when a library runs

        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        return BridgeResolver(self)
