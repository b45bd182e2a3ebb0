"""The scanner: one run = one DNS layer + one deadline; it starts every check at once and owns their timing.

Checks never outlive the deadline: each is awaited with the time the run has left, and one that is still
running then is reported as `error` (the run's deadline was reached), never as a pass. A check that raises is
reported as `error` with the exception's text: a bug in one check must not cost the user the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mxprobe import registry
from mxprobe import target as validate
from mxprobe.checks import Context
from mxprobe.dns import Deadline, Dns, Limiter
from mxprobe.errors import InputError
from mxprobe.model import CheckResult, Status
from mxprobe.options import Options
from mxprobe.registry import CheckSpec
from mxprobe.report import Report
from mxprobe.target import Target

if TYPE_CHECKING:
    from mxprobe.smtp import SmtpResult

ResultCallback = Callable[[CheckResult], None]


def build_target(
    domain: str | None = None,
    *,
    ip: str | None = None,
    helo: str | None = None,
    mail_from: str | None = None,
    to: Sequence[str] = (),
    mx: str | None = None,
    port: int = 25,
) -> Target:
    """Validate every user-given part of the target; raises InputError (exit 2) before anything is sent."""
    if domain is None and ip is None:
        raise InputError("give a sending DOMAIN, or --ip IP to check a sending IP")
    t = Target(port=port)
    if domain is not None:
        t.domain = validate.domain(domain)
    if ip is not None:
        t.ip = validate.ip(ip, "--ip")
        t.ip_source = "given"
    if helo is not None:
        t.helo = validate.helo(helo)
    if mail_from is not None:
        t.mail_from = validate.address(mail_from, "MAIL FROM")
    elif t.domain:
        t.mail_from = f"postmaster@{t.domain}"
    t.to = [validate.address(r, "RCPT TO") for r in to]
    if mx is not None:
        host, p = validate.host_port(mx, port)
        t.mx, t.port = host, p
    if len(t.to) > 1:
        from mxprobe.smtp import validate_recipients

        validate_recipients(t.to, t.mx)  # one dialogue per run: recipients of one domain, or --mx
    return t


def applicable(spec: CheckSpec, target: Target, options: Options) -> bool:
    """Whether the scanner starts this check (the handshake's own results come from the handshake)."""
    if spec.in_handshake or (options.only and spec.id not in options.only):
        return False
    if spec.needs == "ip":
        # With a domain, the IP checks always appear: as `skip` (saying why) when no sending IP was found.
        return target.ip is not None or target.domain is not None
    if spec.needs == "domain":
        return target.domain is not None
    return bool(target.to or target.mx)


def plan(target: Target, options: Options) -> list[CheckSpec]:
    """The checks a run starts. A check asked for with --check that cannot run on this target is bad input
    (exit 2), never a silent pass: `--check smtp` needs --to/--mx, `--check dmarc` a domain."""
    handshake = bool(target.to or target.mx)
    flags = {
        "--tls": options.tls,
        "--auth": options.auth_user is not None,
        "--relay-test": options.relay_test,
        "--source": options.source is not None,
    }
    given = [flag for flag, on in flags.items() if on]
    if given and not handshake:
        raise InputError(f"{', '.join(given)} apply to the SMTP handshake: give --to ADDRESS or --mx HOST")
    for check_id in options.only:
        spec = registry.spec(check_id)
        needs = spec.needs if spec is not None else None
        if needs == "smtp" and not handshake:  # not a check id: the Needs of a handshake
            raise InputError(f"--check {check_id} needs a handshake: give --to ADDRESS or --mx HOST")
        if needs == "domain" and target.domain is None:
            raise InputError(f"--check {check_id} needs a sending DOMAIN")
    return [s for s in registry.checks() if applicable(s, target, options)]


async def _run_one(spec: CheckSpec, ctx: Context, deadline: Deadline) -> CheckResult:
    """One check within the run's deadline: past it, or raising, it is `error` (never a pass)."""
    started = time.monotonic()
    try:
        run = spec.load()
        result = await asyncio.wait_for(run(ctx), timeout=max(deadline.remaining(), 0.001))
    except TimeoutError:
        result = CheckResult(
            spec.id,
            Status.ERROR,
            f"did not finish within the run's deadline ({deadline.seconds:g}s)",
            fix="Raise --timeout, or check that the nameserver answers (see --nameserver).",
        )
    except Exception as exc:  # a broken check must not take the report down with it
        result = CheckResult(spec.id, Status.ERROR, f"internal error: {type(exc).__name__}: {exc}")
    result.elapsed_ms = (time.monotonic() - started) * 1000
    return result


async def _find_ip(ctx: Context, notes: list[str]) -> None:
    """The sending IP when the user left it out: every IP check depends on it, so this comes first."""
    t = ctx.target
    if t.ip is None and t.domain and ctx.options.discover_ip:
        from mxprobe.sourceip import discover

        found = await discover(ctx.dns.deadline)
        if found is not None:
            t.ip, t.ip_source = found
            notes.append(f"sending IP {t.ip} found by {t.ip_source}")
        else:
            notes.append("could not find this host's public IP: give --ip to run the IP checks")


async def _default_helo(ctx: Context, notes: list[str]) -> None:
    """The HELO name when the user left it out: the PTR name of the IP, as most MTAs announce themselves.

    Runs beside the checks; only those that use the HELO name wait for it (`Context.helo()`).
    """
    t = ctx.target
    if t.helo is None and t.ip is not None:
        answer = await ctx.dns.ptr(t.ip)
        if answer.ok:
            t.helo = answer.texts[0].rstrip(".").lower()
            ctx.helo_from_ptr = True
            notes.append(f"HELO name {t.helo} is the PTR of {t.ip} (give --helo to test another)")


async def _checks_and_handshake(
    ctx: Context, specs: list[CheckSpec], on_result: ResultCallback | None
) -> tuple[list[CheckResult], SmtpResult | None]:
    """Every check at once, beside the handshake when there is a target; the join ties them together."""

    async def tracked(spec: CheckSpec) -> CheckResult:
        result = await _run_one(spec, ctx, ctx.dns.deadline)
        if on_result is not None:
            on_result(result)
        return result

    if ctx.target.to or ctx.target.mx:
        from mxprobe import smtp

        ctx.handshake = asyncio.ensure_future(smtp.handshake(ctx))  # dane and mta-sts judge its certificate
    results = list(await asyncio.gather(*(tracked(s) for s in specs)))
    if ctx.handshake is None:
        return results, None
    from mxprobe import smtp

    smtp_result = await ctx.handshake
    smtp.join(smtp_result, results)
    return results, smtp_result


async def run(
    target: Target,
    options: Options | None = None,
    *,
    on_result: ResultCallback | None = None,
    limiter: Limiter | None = None,
    parent: Dns | None = None,
) -> Report:
    """Run every applicable check concurrently (and the SMTP handshake when a target is given).

    `limiter` and `parent` let a pool of probes share one query budget and one cache of target-independent
    answers (see `mxprobe.dns.Dns`).
    """
    options = options or Options()
    specs = plan(target, options)
    deadline = Deadline(options.timeout)
    dns_client = Dns(
        options.nameservers or None,
        deadline=deadline,
        query_timeout=options.query_timeout,
        concurrency=options.concurrency,
        rate=options.rate,
        limiter=limiter,
        parent=parent,
    )
    try:
        ctx = Context(target=target, dns=dns_client, options=options)
        notes: list[str] = []
        if target.to and not target.mx:  # the recipient's MX, asked at t = 0 (the handshake's first hop)
            from mxprobe.smtp import prefetch

            prefetch(ctx)
        try:
            await asyncio.wait_for(_find_ip(ctx, notes), timeout=max(deadline.remaining(), 0.001))
        except TimeoutError:
            notes.append("the run's deadline was reached while finding the sending IP")
        ctx.helo_ready = asyncio.ensure_future(_default_helo(ctx, notes))
        results, smtp_result = await _checks_and_handshake(ctx, specs, on_result)
        # The default HELO is one PTR query, bounded by the deadline like every other: wait for it, so
        # that the report names the HELO name even when no check needed it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ctx.helo_ready, timeout=max(deadline.remaining(), 0.001))
        return Report(
            target=target,
            checks=results,
            elapsed_ms=deadline.elapsed_ms(),
            strict=options.strict,
            smtp=smtp_result,
            notes=notes,
        )
    finally:
        dns_client.close()  # its UDP sockets, unless a pool's limiter owns them
