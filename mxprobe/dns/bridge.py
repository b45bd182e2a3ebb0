"""`BridgeResolver`: the run's DNS layer behind the blocking `dns.resolver.Resolver` API, for pyspf and
checkdmarc (which run in worker threads). Imported only when one of those libraries runs: `dns.resolver`
pulls in `dns.query` and its HTTP stack."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.resolver

if TYPE_CHECKING:
    from mxprobe.dns.client import Dns


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
        response = answer.response
        if answer.rcode == "NXDOMAIN":
            raise dns.resolver.NXDOMAIN(qnames=[qn], responses={qn: response})  # type: ignore[no-untyped-call]
        if answer.failed or response is None:
            raise _no_nameservers(name, type_text, answer.error or answer.rcode)
        if answer.rcode == "NODATA" and raise_on_no_answer:
            raise dns.resolver.NoAnswer(response=response)  # type: ignore[no-untyped-call]
        return dns.resolver.Answer(
            qn,
            dns.rdatatype.from_text(type_text),
            dns.rdataclass.IN,
            response,  # type: ignore[arg-type]
        )


def _no_nameservers(name: str, rdtype: str, why: str) -> dns.resolver.NoNameservers:
    """dnspython's "all nameservers failed": it formats `request.question`, so it needs a real request."""
    request = dns.message.make_query(name, rdtype)
    return dns.resolver.NoNameservers(request=request, errors=[("", False, 0, why, None)])  # type: ignore[no-untyped-call]
