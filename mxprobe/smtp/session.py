"""The live SMTP handshake: what a real receiver says to this IP, step by step, up to RCPT and never further.

`handshake(ctx)` finds the addresses to try (`mx`), then holds a dialogue (`dialogue.Session`) with each in
turn until one greets. The parts, one job each:

- `mx`: the recipient domain's MX hosts and their addresses;
- `wire`: the connection (TCP, TLS) and the reading of replies from bytes this package owns;
- `exchange`: commands out and replies in, each recorded as a `Step`: the only place a command is written
  (the verb allow-list: never DATA), where replies that answer no command are caught;
- `secure`: STARTTLS and AUTH; `scrub`: the password kept out of everything recorded;
- `dialogue`: the order of the commands (PIPELINING when offered);
- `result`: the transcript and the outcome.

Every step is bounded by `min(--smtp-timeout, what the run's deadline leaves)`; `handshake` adds a last
guard around the whole dialogue so that nothing outlives the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mxprobe import target as validate
from mxprobe.errors import InputError
from mxprobe.smtp.dialogue import Session
from mxprobe.smtp.mx import find_hosts, no_address
from mxprobe.smtp.result import Candidate, SmtpResult, Step, settle
from mxprobe.smtp.scrub import Secrets

if TYPE_CHECKING:
    from mxprobe.checks import Context

_GRACE = 1.0  # seconds the last guard waits past the deadline before it cuts the dialogue


async def handshake(ctx: Context) -> SmtpResult:
    """Talk to the recipient's MX (or --mx) as a sender would, stopping before DATA. Never raises for the
    network; raises InputError only for a --source this host cannot use, recipients of several domains, or
    an AUTH password that is not UTF-8."""
    validate_recipients(ctx.target.to, ctx.target.mx)
    secrets = Secrets(ctx.options.auth_user, ctx.options.auth_password)  # refuses a password not in UTF-8
    result = SmtpResult(port=ctx.target.port, ip=ctx.target.ip, selected=list(ctx.options.only))
    result.sender_domain, result.recipients, result.mx_given = (
        ctx.target.domain,
        list(ctx.target.to),
        ctx.target.mx,
    )
    if secrets.withholds_lines:
        result.notes.append(
            "the AUTH password is short: every server line that holds it (in any case or encoding) is shown "
            "as ******** whole, since a gap in a line would tell it"
        )
    deadline = ctx.dns.deadline
    source = choose_source(ctx.options.source, ctx.target.ip)
    result.source, result.source_reason = source if source else (None, "")
    try:
        await asyncio.wait_for(_handshake(ctx, result, secrets), timeout=deadline.remaining() + _GRACE)
    except TimeoutError:
        ended = f"the run's deadline ({deadline.seconds:g} s) ended the wait; raise --timeout"
        _cut(result, "deadline", ended)
    except InputError:
        raise
    except Exception as exc:  # a bug here must cost the handshake, not the whole report
        _cut(result, "internal", f"internal error: {type(exc).__name__}: {secrets.scrub(str(exc))}")
    settle(result)
    return result


def _cut(result: SmtpResult, fault: str, reason: str) -> None:
    """Name the step that was interrupted (the one still waiting for its reply), or add one."""
    last = result.steps[-1] if result.steps else None
    if last is not None and last.code is None and not last.fault:
        last.fault, last.error = fault, reason
    else:
        result.steps.append(Step(fault if result.steps else "connect", fault=fault, error=reason))


def validate_recipients(to: Sequence[str], mx: str | None) -> None:
    """Refuse recipients of several domains unless --mx names the one server for all of them.

    Each domain has its own MX, and a sender delivers to each separately: one dialogue cannot say what
    every receiver would answer, and reporting one domain's recipient as accepted by another's server
    would be false. A run per domain keeps the report (one server, one outcome) true, whatever the order
    of the arguments.
    """
    if mx:
        return
    domains = sorted({validate.domain_of(validate.address(r, "RCPT TO")) for r in to})
    if len(domains) > 1:
        raise InputError(
            f"--to has recipients at {', '.join(domains[:-1])} and {domains[-1]}, each domain with its own "
            "MX: run mxprobe once per domain, or give --mx to send them all to one server"
        )


def choose_source(given: str | None, sending_ip: str | None) -> tuple[str, str] | None:
    """The local address to bind: --source, else --ip when it is an address of this host (so a new sending IP
    is tested from itself), else none (the OS chooses)."""
    if given:
        address = validate.ip(given, "--source")
        if not _bindable(address):
            raise InputError(f"invalid --source {address}: not an address of this host")
        return address, "--source"
    if sending_ip and _bindable(sending_ip):
        return sending_ip, "--ip is an address of this host"
    return None


def _bindable(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


async def _handshake(ctx: Context, result: SmtpResult, secrets: Secrets) -> None:
    addresses = await find_hosts(ctx, result)
    if addresses is None:
        return
    async with contextlib.aclosing(addresses.each(result)) as candidates:
        async for candidate in candidates:
            if await _try(ctx, result, candidate, secrets):
                break
    dns_failed = await addresses.finish(result, ctx.dns.deadline)
    if not any(c.address for c in result.mx_candidates):
        no_address(ctx, result, addresses, dns_failed)
    tried = [c for c in result.mx_candidates if c.status in ("failed", "skipped") and c.address]
    if len(tried) > 1 and not result.diagnosis:  # one line per server tried, not only the last one's reason
        result.diagnosis = "; ".join(f"{c.host} [{c.address}]: {c.reason}" for c in tried)


async def _try(ctx: Context, result: SmtpResult, candidate: Candidate, secrets: Secrets) -> bool:
    """One address; True when a server greeted (the dialogue is then the result's)."""
    assert candidate.address is not None
    if ctx.dns.deadline.expired():
        candidate.reason = "the run's deadline was reached"
        return False
    other_family = result.source and (":" in result.source) != (":" in candidate.address)
    if other_family and result.source_reason == "--source":
        candidate.status, candidate.reason = "skipped", f"--source {result.source} is another IP family"
        return False
    session = Session(ctx, result, candidate, secrets)
    result.steps = session.steps
    if await session.run():
        candidate.status = "connected"
        result.host, result.address = candidate.host, candidate.address
        return True
    candidate.status = "failed"
    candidate.reason = next((s.error for s in reversed(session.steps) if s.error), "no SMTP greeting")
    return False
