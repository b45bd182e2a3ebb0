"""The addresses to try for a handshake: --mx, else the recipient domain's MX hosts by preference (RFC 5321
§5.1), else the domain's own address. A domain that accepts no mail (NXDOMAIN, null MX, no address at all)
settles the result here, before any connection."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from mxprobe import target as validate
from mxprobe.registry import Cause
from mxprobe.smtp.result import Candidate, SmtpResult

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer, Deadline


Hosts = list[tuple[int | None, str]]
FINISH_GRACE = 0.5  # seconds the answers still out may take once a server has answered
_WARMING: set[asyncio.Task[None]] = set()  # held until done (the loop keeps only weak references)


def prefetch(ctx: Context) -> None:
    """Start the recipient domain's MX lookup, and its hosts' addresses, now: the scanner calls this at
    t = 0, before it looks for the sending IP; the handshake's own queries then find them in flight or
    answered (the run's DNS client asks each question once)."""
    if ctx.target.mx or not ctx.target.to:
        return
    task = asyncio.ensure_future(_warm(ctx))
    _WARMING.add(task)
    task.add_done_callback(_WARMING.discard)


async def _warm(ctx: Context) -> None:
    try:
        domain = validate.domain_of(ctx.target.to[0])
        if domain.startswith("["):
            return
        answer = await ctx.dns.query(domain, "MX", urgent=True)
        hosts = [r.exchange.to_text(omit_final_dot=True) for r in answer.records] if answer.ok else [domain]
        await asyncio.gather(*(ctx.dns.addresses(h, urgent=True) for h in hosts if h not in (".", "")))
    except Exception:
        return  # only a head start: the handshake asks again, and reports what fails


async def find_hosts(ctx: Context, result: SmtpResult) -> Addresses | None:
    """The hosts to try, their addresses asked at once: --mx, else the recipient domain's MX by preference
    (RFC 5321 §5.1), else its own address. None when the result is settled here (no mail accepted, or the
    DNS did not answer)."""
    t = ctx.target
    hosts: Hosts
    if t.mx:
        hosts = [(None, t.mx)]
    else:
        domain = validate.domain_of(t.to[0])  # the only one: see validate_recipients
        result.domain = domain
        if domain.startswith("["):  # an address literal: user@[192.0.2.1]
            hosts = [(None, validate.ip(domain, "recipient address literal"))]
            return Addresses(ctx, hosts, names=[domain])
        found = await _mx_hosts(ctx, result, domain)
        if found is None:
            return None
        hosts = found
    return Addresses(ctx, hosts)


class Addresses:
    """Each host's A and AAAA, all asked at once and handed out in preference order (IPv4 first: an IPv6
    route is the likelier to be missing) as soon as each answer is in: the first connection waits for the
    first address, not for every answer."""

    def __init__(self, ctx: Context, hosts: Hosts, names: list[str] | None = None) -> None:
        self.hosts = hosts
        self.names = names or [host for _, host in hosts]
        self.lookups = [_lookups(ctx, host) for _, host in hosts]
        self.made: dict[tuple[int, str], Candidate] = {}

    async def each(self, result: SmtpResult) -> AsyncGenerator[Candidate, None]:
        for i, (pref, _) in enumerate(self.hosts):
            for lookup in self.lookups[i]:
                for address in _texts(await lookup):
                    candidate = self.made.setdefault((i, address), Candidate(self.names[i], pref, address))
                    result.mx_candidates.append(candidate)
                    yield candidate

    async def finish(self, result: SmtpResult, deadline: Deadline) -> bool:
        """Every server in order into `result.mx_candidates` (the answers still out get `FINISH_GRACE`; a
        server whose answer is not in by then is listed without an address); True when the DNS failed to
        answer for one (then nothing may be said of the domain)."""
        pending = {lookup for lookups in self.lookups for lookup in lookups if not lookup.done()}
        if pending:
            await asyncio.wait(pending, timeout=max(min(FINISH_GRACE, deadline.remaining()), 0.0))
        listed: list[Candidate] = []
        dns_failed = False
        for i, (pref, _) in enumerate(self.hosts):
            if not all(lookup.done() for lookup in self.lookups[i]):
                listed.append(Candidate(self.names[i], pref, None))
                continue
            answers = [lookup.result() for lookup in self.lookups[i]]
            addresses = [a for answer in answers for a in _texts(answer)]
            if addresses:
                listed += [self.made.get((i, a)) or Candidate(self.names[i], pref, a) for a in addresses]
                continue
            dns = [x for x in answers if not isinstance(x, str)]
            failed = next((x for x in dns if x.failed), None)
            dns_failed = dns_failed or failed is not None
            reason = (
                f"its address could not be resolved ({failed.rcode})"
                if failed is not None
                else f"no A/AAAA record ({dns[0].rcode})"
            )
            listed.append(Candidate(self.names[i], pref, None, status="failed", reason=reason))
        result.mx_candidates = listed
        return dns_failed


def _lookups(ctx: Context, host: str) -> list[asyncio.Future[Answer | str]]:
    try:
        literal = str(ipaddress.ip_address(host))
    except ValueError:
        return [asyncio.ensure_future(ctx.dns.query(host, rdtype, urgent=True)) for rdtype in ("A", "AAAA")]
    done: asyncio.Future[Answer | str] = asyncio.get_running_loop().create_future()
    done.set_result(literal)
    return [done]


def _texts(answer: Answer | str) -> list[str]:
    return [answer] if isinstance(answer, str) else list(answer.texts)


def no_address(ctx: Context, result: SmtpResult, addresses: Addresses, dns_failed: bool) -> None:
    """No server of the recipient had an address: why, and whether that settles the result."""
    reasons = "; ".join(f"{c.host}: {c.reason}" for c in result.mx_candidates)
    if ctx.target.mx or dns_failed:  # no verdict on the recipient: the DNS did not answer, or --mx is no host
        result.diagnosis = (
            f"--mx {reasons}" if ctx.target.mx else f"no address for the MX of {result.domain} ({reasons})"
        )
    elif addresses.hosts == [(None, result.domain)]:
        _settle_early(
            result,
            "rejected",
            Cause.RECIPIENT,
            f"{result.domain} has no MX and no address: it accepts no mail",
        )
    else:
        _settle_early(
            result, "rejected", Cause.RECIPIENT, f"no MX host of {result.domain} has an address ({reasons})"
        )


async def _mx_hosts(ctx: Context, result: SmtpResult, domain: str) -> list[tuple[int | None, str]] | None:
    answer = await ctx.dns.query(domain, "MX", urgent=True)
    result.dns_evidence.append(answer.evidence())
    if answer.rcode == "NXDOMAIN":
        _settle_early(
            result, "rejected", Cause.RECIPIENT, f"the recipient domain {domain} does not exist (NXDOMAIN)"
        )
        return None
    if answer.failed:
        reason = answer.error or answer.rcode
        result.diagnosis = (
            f"the MX of {domain} could not be resolved ({answer.rcode}: {reason}); a sender would retry"
        )
        return None
    if not answer.ok:
        result.notes.append(f"{domain} has no MX record: its own address is used, as RFC 5321 §5.1 says")
        return [(None, domain)]
    records = sorted(
        (int(r.preference), r.exchange.to_text(omit_final_dot=True).lower()) for r in answer.records
    )
    real = [(pref, name) for pref, name in records if name not in (".", "")]
    if not real:
        _settle_early(
            result,
            "rejected",
            Cause.RECIPIENT,
            f"{domain} publishes a null MX (RFC 7505): the domain accepts no mail",
        )
        return None
    if len(real) != len(records):
        result.notes.append(f"{domain} mixes a null MX with other MX records (RFC 7505 forbids it)")
    return [(pref, name) for pref, name in real]


def _settle_early(result: SmtpResult, outcome: str, cause: str, diagnosis: str) -> None:
    result.outcome, result.cause, result.diagnosis = outcome, cause, diagnosis
