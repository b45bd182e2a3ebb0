"""pyspf and checkdmarc on the run's DNS layer, with a record of every query they asked.

Both libraries are synchronous and return conclusions, not the answers behind them. They run in worker threads
on `Dns.sync_resolver()` (same nameservers, cache and deadline as the rest of the run), which notes what
they asked: afterwards the checks read each asked query back from the run's cache, to show it as
evidence and to refuse a conclusion that rests on a failed lookup (a SERVFAIL that checkdmarc reads as "no
record" must be `error`, not "missing").
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

import dns.name
import dns.nameserver
import dns.rdataclass
import dns.rdatatype
import dns.resolver

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer, Dns
    from mxprobe.model import Evidence


async def answers_of(client: Dns, asked: Iterable[tuple[str, str]]) -> list[Answer]:
    """The run's answers to the queries a library asked, in order, once each (cache hits: nothing is sent)."""
    unique = list(dict.fromkeys(asked))
    return list(await asyncio.gather(*(client.query(name, rdtype) for name, rdtype in unique)))


_MX = "mx"  # not a check id: the SPF mechanism (RFC 7208 §5.4)
PREFETCH_BUDGET = 40  # at most this many SPF records walked ahead of a library (RFC 7208 allows 10 lookups)


def _term_target(term: str, current: str) -> str | None:
    """The domain of an SPF mechanism (`a:host/24` -> host; `mx` -> the current domain); None for macros."""
    _, colon, rest = term.partition(":")
    target = rest.split("/", 1)[0] if colon else current
    return None if "%" in target or not target else target


async def prefetch_spf(client: Dns, domain: str) -> None:
    """Ask, concurrently, the queries an SPF evaluation of `domain` will make, so that the synchronous
    libraries (pyspf, checkdmarc), which walk includes one after another, find every answer in the cache.

    The walk follows include/redirect and asks a/mx/exists targets as soon as each record is read, so its
    time is the depth of the include tree, not the number of lookups. Macros (`%{i}`) cannot be expanded
    ahead of time and are left to the library. Nothing here decides anything: it only warms the cache.
    """
    budget = [PREFETCH_BUDGET]

    async def addresses(name: str) -> None:
        await asyncio.gather(client.query(name, "A"), client.query(name, "AAAA"))

    async def exchanges(name: str) -> None:
        answer = await client.query(name, "MX")
        hosts = [r.exchange.to_text(omit_final_dot=True) for r in answer.records][:10]
        await asyncio.gather(*(addresses(h) for h in hosts if h))

    async def walk(name: str, depth: int) -> None:
        if depth > 10 or budget[0] <= 0:
            return
        budget[0] -= 1
        # checkdmarc also asks the obsolete SPF type and the CNAME of every name it reads a record from: asked
        # beside the TXT, but the walk goes on as soon as the TXT is in.
        side.extend(asyncio.ensure_future(client.query(name, t)) for t in ("SPF", "CNAME"))
        answer = await client.query(name, "TXT")
        record = next(
            (t for t in answer.texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")), None
        )
        if record is None:
            return
        jobs: list[Awaitable[object]] = []
        for raw in record.split()[1:]:
            term = raw.lstrip("+-~?")
            low = term.lower()
            if low.startswith("redirect=") and "%" not in term:
                jobs.append(walk(term[9:], depth + 1))
            elif low.startswith("include:") and "%" not in term:
                jobs.append(walk(term[8:], depth + 1))
            elif (low == "a" or low.startswith(("a:", "a/"))) and (target := _term_target(term, name)):
                jobs.append(addresses(target))
            elif (low == _MX or low.startswith((f"{_MX}:", f"{_MX}/"))) and (
                target := _term_target(term, name)
            ):
                jobs.append(exchanges(target))
            elif low.startswith("exists:") and (target := _term_target(term, name)):
                jobs.append(client.query(target, "A"))
        await asyncio.gather(*jobs)

    side: list[asyncio.Future[Answer]] = []
    await walk(domain, 0)
    await asyncio.gather(*side)


async def prefetch_dmarc(client: Dns, domain: str) -> None:
    """Ask at once the `_dmarc` names a DMARC lookup of `domain` may walk (RFC 9989 tree walk, up to the
    TLD), instead of one after another as checkdmarc does."""
    labels = domain.split(".")
    names = [f"_dmarc.{'.'.join(labels[i:])}" for i in range(len(labels))]
    await asyncio.gather(*(client.query(n, t) for n in names for t in ("TXT", "CNAME")))


def unique_evidence(answers: Iterable[Answer]) -> list[Evidence]:
    """Evidence of each distinct query once, in first-seen order."""
    seen: dict[tuple[str, str], Evidence] = {}
    for answer in answers:
        seen.setdefault((answer.name.lower(), answer.rdtype), answer.evidence())
    return list(seen.values())


def _import_checkdmarc(module: str) -> Any:
    """Import a checkdmarc module (0.3 s, so in the worker thread) with its answer cache turned off.

    checkdmarc keeps a process-global DNS cache whose key ignores the nameserver: a second probe (another
    --nameserver, or the same server with new data) would read the first probe's answers. The run's own
    layer already asks each query once, so the cache is replaced by one whose entries expire at once; every
    checkdmarc call in the process then asks the run's layer. Idempotent, and no lock is needed, so the
    spf-record and dmarc checks still run in parallel.
    """
    loaded = importlib.import_module(module)
    utils: Any = importlib.import_module("checkdmarc.utils")
    if utils.DNS_CACHE.max_age != 0:
        utils.DNS_CACHE = type(utils.DNS_CACHE)(max_len=1, max_age_seconds=0)
    return loaded


async def call_checkdmarc(
    ctx: Context, module: str, function: str, domain: str, **kwargs: Any
) -> tuple[dict[str, Any], list[Answer]]:
    """Run `checkdmarc.<module>.<function>(domain)` on the run's DNS layer: its result and the answers used.

    Both `nameservers=` and `resolver=` are passed (dependencies.md 2): the resolver carries every lookup of
    the functions used here; the nameservers cover code paths that take only `nameservers=`, so that nothing
    ever reaches the system resolver.
    """
    resolver = ctx.dns.sync_resolver()
    nameservers = [dns.nameserver.Do53Nameserver(ns.host, ns.port) for ns in ctx.dns.nameservers]

    def call() -> dict[str, Any]:
        func = getattr(_import_checkdmarc(module), function)
        result: dict[str, Any] = func(
            domain,
            nameservers=nameservers,
            resolver=resolver,
            timeout=max(ctx.dns.deadline.remaining(), 0.1),
            retries=0,
            **kwargs,
        )
        return result

    result = await asyncio.to_thread(call)
    return result, await answers_of(ctx.dns, resolver.asked)
