"""mx: the sending domain can receive mail: replies and bounces to MAIL FROM must reach it.

Receivers check this before accepting: Postfix's `reject_unknown_sender_domain` refuses a MAIL FROM domain
with neither MX nor address (550 5.1.8 Domain not found; 450 when DNS fails), Yahoo answers 451/554. A null MX
(RFC 7505, `0 .`) declares that the domain accepts no mail, and RFC 7505 §4.2 tells receivers to refuse mail
from it (550 5.7.27). Without an MX, RFC 5321 §5.1 falls back to the domain's A/AAAA: it works, but many
operators treat it as a sign of a domain not set up for mail.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from mxprobe.checks import lookup_failed
from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer


class MxHost(TypedDict):
    host: str
    addresses: list[str]


class MxDetails(TypedDict):
    domain: str
    mx: NotRequired[list[str]]  # the MX records as text, by preference
    implicit_mx: NotRequired[list[str]]  # no MX: the domain's own addresses (RFC 5321 §5.1)
    null_mx: NotRequired[bool]
    hosts: NotRequired[list[MxHost]]
    error: NotRequired[str]


def _unroutable(addresses: list[str]) -> list[str]:
    """Addresses no sender can deliver to (loopback, unspecified): a parked or half-configured MX."""
    return [
        a for a in addresses if ipaddress.ip_address(a).is_loopback or ipaddress.ip_address(a).is_unspecified
    ]


async def _fallback(ctx: Context, domain: str, mx: Answer) -> CheckResult:
    """No MX records: RFC 5321 §5.1's implicit MX (the domain's own A/AAAA)."""
    a, aaaa = await ctx.dns.addresses(domain)
    evidence = [mx.evidence(), a.evidence(), aaaa.evidence()]
    addresses = a.texts + aaaa.texts
    details = MxDetails(domain=domain, mx=[], implicit_mx=addresses)
    if addresses:
        return CheckResult(
            CheckId.MX,
            Status.WARN,
            f"{domain} has no MX record; mail to it goes to its address ({', '.join(addresses)}) as RFC 5321 "
            "§5.1 allows, but receivers trust domains that publish an MX",
            details,
            evidence,
            f"Publish an MX record: `{domain}. MX 10 mail.{domain}.` (with an A record for that host).",
        )
    if a.failed or aaaa.failed:
        return CheckResult(
            CheckId.MX,
            Status.ERROR,
            f"{domain} has no MX record and its A/AAAA lookup failed: cannot tell whether it receives mail",
            details,
            evidence,
            "Retry, or check the resolver (--nameserver) and the domain's nameservers.",
        )
    return CheckResult(
        CheckId.MX,
        Status.FAIL,
        f"{domain} has neither MX nor A/AAAA records: nothing can reply or bounce to it, and Postfix's "
        "reject_unknown_sender_domain refuses it (550 5.1.8 Sender address rejected: Domain not found)",
        details,
        evidence,
        f"Publish an MX record for {domain} pointing at a host that receives its mail, e.g. "
        f"`{domain}. MX 10 mail.{domain}.`",
    )


async def run(ctx: Context) -> CheckResult:
    domain = ctx.target.domain
    if domain is None:
        return CheckResult(CheckId.MX, Status.SKIP, "no sending domain (give DOMAIN)")
    mx = await ctx.dns.query(domain, "MX")
    if mx.failed:
        details = MxDetails(domain=domain)
        return lookup_failed(CheckId.MX, mx, domain, "cannot tell whether it receives mail", details)
    if mx.rcode == "NXDOMAIN":
        return CheckResult(
            CheckId.MX,
            Status.FAIL,
            f"{domain} does not exist (NXDOMAIN): receivers refuse mail from a domain that does not exist "
            "(Postfix reject_unknown_sender_domain: 550 5.1.8 Domain not found; Yahoo 451/554)",
            MxDetails(domain=domain),
            [mx.evidence()],
            f"Register {domain} or send from a domain that exists.",
        )
    if not mx.ok:
        return await _fallback(ctx, domain, mx)
    records = sorted(mx.records, key=lambda r: (r.preference, r.exchange.to_text()))
    if any(r.exchange.to_text() == "." for r in records):
        return _null_mx(domain, mx, records)
    return await _hosts(ctx, domain, mx, records)


def _null_mx(domain: str, mx: Answer, records: list[Any]) -> CheckResult:
    """RFC 7505: a null MX alone says the domain receives no mail; mixed with others it is an error."""
    alone = len(records) == 1
    return CheckResult(
        CheckId.MX,
        Status.FAIL if alone else Status.WARN,
        f"{domain} publishes a null MX (RFC 7505): it declares that it receives no mail, and receivers "
        "refuse mail from it (550 5.7.27)"
        if alone
        else f"{domain} mixes a null MX with other MX records, which RFC 7505 forbids: receivers may "
        "treat the domain as receiving no mail",
        MxDetails(domain=domain, mx=[r.to_text() for r in records], null_mx=True),
        [mx.evidence()],
        f"Remove `{domain}. MX 0 .` and publish the MX of the host that receives its mail.",
    )


async def _hosts(ctx: Context, domain: str, mx: Answer, records: list[Any]) -> CheckResult:
    """The MX hosts: each must have an address where mail can be delivered, and be no alias."""
    hosts = list(dict.fromkeys(r.exchange.to_text(omit_final_dot=True).lower() for r in records))
    lookups = await asyncio.gather(*(ctx.dns.addresses(h) for h in hosts))
    evidence: list[Evidence] = [mx.evidence()]
    rows: list[MxHost] = []
    no_address: list[str] = []
    failed: list[str] = []
    problems: list[str] = []
    for host, (a, aaaa) in zip(hosts, lookups, strict=True):
        addresses = a.texts + aaaa.texts
        evidence += [a.evidence(), aaaa.evidence()]
        rows.append(MxHost(host=host, addresses=addresses))
        if a.cnames or aaaa.cnames:
            problems.append(f"{host} is a CNAME (RFC 2181 §10.3: an MX must name a host, not an alias)")
        if bad := _unroutable(addresses):
            problems.append(f"{host} resolves to {', '.join(bad)}, where no one can deliver")
        if not addresses:
            (failed if a.failed or aaaa.failed else no_address).append(host)
    details = MxDetails(domain=domain, mx=[r.to_text() for r in records], hosts=rows)
    listing = ", ".join(f"{r.preference} {r.exchange.to_text(omit_final_dot=True)}" for r in records)
    if len(no_address) + len(failed) == len(hosts):
        if failed:
            return CheckResult(
                CheckId.MX,
                Status.ERROR,
                f"the address lookups of the MX hosts of {domain} failed ({', '.join(failed)})",
                details,
                evidence,
                "Retry, or check the resolver (--nameserver) and the MX hosts' nameservers.",
            )
        return CheckResult(
            CheckId.MX,
            Status.FAIL,
            f"no MX host of {domain} has an address ({', '.join(no_address)}): replies and bounces cannot be "
            "delivered, and receivers that verify the sender domain refuse it",
            details,
            evidence,
            f"Give {no_address[0]} an A/AAAA record, or point the MX of {domain} at a host that has one.",
        )
    if no_address:
        problems.append(f"{', '.join(no_address)} has no address (senders fall through to the next MX)")
    if failed:
        problems.append(f"the address lookup of {', '.join(failed)} failed")
    if problems:
        return CheckResult(
            CheckId.MX,
            Status.WARN,
            f"{domain} MX {listing}: " + "; ".join(problems),
            details,
            evidence,
            "Point every MX record at a host name with its own A/AAAA record (no CNAME, no unusable address)",
        )
    return CheckResult(CheckId.MX, Status.PASS, f"{domain} MX {listing}", details, evidence)
