"""One delivered message, end to end: read what the receiver recorded, verify again now, run the checks.

The DNS part has two halves that run at once, each with the run's deadline: the verification now (DKIM and ARC
with dkimpy, SPF with pyspf, DMARC) on one `mxprobe.dns.Dns`, and the checks of the delivering IP and the
message's domains through `mxprobe.scanner.run` (ptr, fcrdns, helo and dnsbl on the IP and HELO of the border
hop; spf-record, dmarc and dkim for the From and Return-Path domains): the same check objects as
`mxprobe DOMAIN --ip IP --helo HELO`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from mxprobe import target as validate
from mxprobe.checks import Context
from mxprobe.dns import Deadline, Dns
from mxprobe.errors import InputError
from mxprobe.message import arc as arc_module
from mxprobe.message import offline, policy, verify
from mxprobe.message.fields import Message
from mxprobe.message.report import MessageReport
from mxprobe.model import CheckResult
from mxprobe.options import Options
from mxprobe.registry import CheckId
from mxprobe.target import Target

IP_CHECKS = (CheckId.PTR, CheckId.FCRDNS, CheckId.HELO, CheckId.DNSBL)
DOMAIN_CHECKS = (CheckId.SPF_RECORD, CheckId.DMARC, CheckId.DKIM)


def _valid(check: object, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(check(value))  # type: ignore[operator]
    except InputError:
        return None


Now = tuple[list[verify.Signature], policy.SpfNow, policy.DmarcNow]


async def _now(message: Message, chain_arc: arc_module.Arc, ctx: Context) -> Now:
    """DKIM, ARC, SPF and DMARC verified again on `ctx.dns` (the ARC result is set on `chain_arc`)."""
    client, t = ctx.dns, ctx.target
    evidence = await verify.prefetch_keys(client, message)
    signatures = await asyncio.to_thread(verify.verify_all, message.raw, message, client.sync_resolver())
    for sig in signatures:
        found = evidence.get(f"{sig.s}._domainkey.{sig.d}".lower())
        sig.evidence = [found] if found is not None else []
    await asyncio.to_thread(verify.verify_arc, message.raw, chain_arc, client.sync_resolver())
    broken = [e for e in evidence.values() if e.rcode in ("TIMEOUT", "SERVFAIL", "REFUSED", "ERROR")]
    if chain_arc.chain_valid == "fail" and broken:
        chain_arc.chain_valid = "temperror"
    spf = await policy.spf_now(ctx, t.ip, t.mail_from or "", t.helo)
    return signatures, spf, await policy.dmarc_now(ctx, t.domain or "", spf, signatures)


async def _checks(options: Options, t: Target, selectors: dict[str, list[str]]) -> list[CheckResult]:
    from mxprobe.scanner import build_target
    from mxprobe.scanner import run as scan

    runs = []
    if t.ip or t.domain:
        only = [*(IP_CHECKS if t.ip else ()), *(DOMAIN_CHECKS if t.domain else ())]
        opts = replace(
            options,
            only=[str(c) for c in only],
            discover_ip=False,
            dkim_selectors=selectors.get(t.domain or "", []),
        )
        runs.append(scan(build_target(t.domain, ip=t.ip, helo=t.helo), opts))
    other = t.mail_from.rpartition("@")[2] if t.mail_from else ""
    if other and other != t.domain:
        opts = replace(
            options,
            only=[str(c) for c in DOMAIN_CHECKS],
            discover_ip=False,
            dkim_selectors=selectors.get(other, []),
        )
        runs.append(scan(build_target(other), opts))
    reports = await asyncio.gather(*runs)
    return [c for r in reports for c in r.checks]


async def analyse(message: Message, options: Options) -> MessageReport:
    """The whole report. `options` carries the nameservers and the deadline (--nameserver, --timeout)."""
    seen = offline.read(message)
    who, border = seen.identity, seen.chain.border
    t = Target(
        domain=_valid(validate.domain, who.from_domain),
        ip=_valid(validate.ip, border.from_ip if border else None),
        helo=_valid(validate.helo, border.from_helo if border else None),
        mail_from=_valid(validate.address, who.return_path) or "",
    )
    selectors: dict[str, list[str]] = {}
    for f in message.all("DKIM-Signature"):
        tags = dict(p.strip().partition("=")[::2] for p in f.value.split(";"))
        d, s = tags.get("d", "").strip().lower(), tags.get("s", "").strip()
        if d and _valid(validate.domain, s):
            selectors.setdefault(d, []).append(s)
    client = Dns(
        options.nameservers or None, deadline=Deadline(options.timeout), query_timeout=options.query_timeout
    )
    try:
        ctx = Context(target=t, dns=client, options=options)
        now, checks = await asyncio.gather(_now(message, seen.arc, ctx), _checks(options, t, selectors))
    finally:
        client.close()
    signatures, spf, dmarc = now
    trusted = [r for r in seen.results if r.trusted]
    differences = policy.differences(trusted, spf, signatures, dmarc, seen.arc.chain_valid)
    return seen.report(spf, signatures, dmarc, differences=differences, checks=checks)
