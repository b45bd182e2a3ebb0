"""helo: the HELO/EHLO name is an FQDN (or the address literal of the IP) that resolves to the IP.

RFC 5321 §4.1.1.1 requires an FQDN or an address literal. Receivers refuse the rest: Gmail `501 5.5.4`,
Postfix `reject_non_fqdn_helo_hostname` / `reject_invalid_helo_hostname` (504 5.5.2 / 501 5.5.2), NetEase
`550 MI:NHD`; and names that do not resolve: Postfix `reject_unknown_helo_hostname` (450 4.7.1).
A name that resolves elsewhere is only a warning: RFC 5321 §4.1.4 says a server MUST NOT refuse mail because
the HELO does not match the client, but spam filters score it. A HELO that differs from the PTR name is
allowed (a note, not a warning).
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import TYPE_CHECKING, NotRequired, TypedDict

from mxprobe.checks.fcrdns import forward
from mxprobe.checks.ptr import fqdn_problem, ptr_names, suggested_name
from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.checks.fcrdns import Forward


class HeloDetails(TypedDict):
    ip: str
    helo: NotRequired[str]
    source: NotRequired[str]  # where the name came from, when it is not the user's --helo
    addresses: NotRequired[list[str]]  # the A/AAAA records of the name
    ptr_names: NotRequired[list[str]]  # the PTR names of the IP, when the HELO name is not one of them


def _literal(ctx: Context, helo: str, ip: str, details: HeloDetails) -> CheckResult:
    literal = helo[1:-1].removeprefix("IPv6:")
    if ipaddress.ip_address(literal) == ipaddress.ip_address(ip):
        return CheckResult(
            CheckId.HELO,
            Status.PASS,
            f"HELO {helo} is the address literal of the sending IP (valid; filters score an FQDN better)",
            details,
        )
    return CheckResult(
        CheckId.HELO,
        Status.FAIL,
        f"HELO {helo} names {literal}, but the mail comes from {ip}: receivers that compare them refuse it",
        details,
        fix=f"Send HELO [{ip}] or, better, a fully qualified name that resolves to {ip}, e.g. "
        f"{suggested_name(ctx)}.",
    )


async def run(ctx: Context) -> CheckResult:
    helo, ip = await ctx.helo(), ctx.target.ip
    if ip is None:
        return CheckResult(
            CheckId.HELO, Status.SKIP, "no sending IP to compare the HELO name with (give --ip)"
        )
    if helo is None:
        ptr = await ctx.dns.ptr(ip)
        why = f"the PTR lookup of {ip} failed ({ptr.rcode})" if ptr.failed else f"{ip} has no PTR name"
        literal = (
            f"; the handshake announces the address literal [{ip}]" if ctx.target.to or ctx.target.mx else ""
        )
        return CheckResult(
            CheckId.HELO,
            Status.SKIP,
            f"no HELO name known: give --helo (it defaults to the PTR name, and {why}){literal}",
            HeloDetails(ip=ip),
            [ptr.evidence()],
        )
    details = HeloDetails(helo=helo, ip=ip)
    if ctx.helo_from_ptr:
        details["source"] = f"the PTR name of {ip} (give --helo to test the name your MTA sends)"
    if helo.startswith("["):
        return _literal(ctx, helo, ip, details)
    problem = fqdn_problem(helo)
    if problem:
        return CheckResult(
            CheckId.HELO,
            Status.FAIL,
            f"HELO {problem}: Gmail refuses with 501 5.5.4, Postfix with reject_non_fqdn_helo_hostname "
            "(504 5.5.2 need fully-qualified hostname), NetEase with 550 MI:NHD",
            details,
            fix=f"Make the MTA send a fully qualified name (Postfix: smtp_helo_name = {suggested_name(ctx)}; "
            f"Exim: helo_data) and give that name an A/AAAA record {ip}.",
        )
    fwd, ptr = await asyncio.gather(forward(ctx.dns, helo, ip), ctx.dns.ptr(ip))
    evidence = fwd.evidence()
    details["addresses"] = fwd.addresses
    names = ptr_names(ptr)
    if names and helo not in names:
        details["ptr_names"] = names
        evidence.append(ptr.evidence())
    return _judge(helo, ip, fwd, details, evidence)


def _judge(helo: str, ip: str, fwd: Forward, details: HeloDetails, evidence: list[Evidence]) -> CheckResult:
    """The verdict on a fully qualified HELO name by where it points."""
    names = details.get("ptr_names", [])
    note = (
        f"; it differs from the PTR name {names[0]} (allowed by RFC 5321, some filters score it)"
        if names
        else ""
    )
    if fwd.outcome == "confirmed":
        return CheckResult(CheckId.HELO, Status.PASS, f"HELO {helo} → {ip}{note}", details, evidence)
    if fwd.outcome == "error":
        return CheckResult(
            CheckId.HELO,
            Status.ERROR,
            f"the address lookup of HELO {helo} failed ({fwd.error})",
            details,
            evidence,
            "Retry, or check the resolver (--nameserver) and the nameservers of the HELO name's zone.",
        )
    record = "A" if ":" not in ip else "AAAA"
    better = f" or send the PTR name {names[0]} as HELO" if names else ""
    if fwd.outcome == "no-address":
        return CheckResult(
            CheckId.HELO,
            Status.FAIL,
            f"{fwd.describe(ip)}: Postfix reject_unknown_helo_hostname refuses it "
            "(450 4.7.1 Helo command rejected: Host not found)",
            details,
            evidence,
            f"Add `{helo}. {record} {ip}`{better}.",
        )
    return CheckResult(
        CheckId.HELO,
        Status.WARN,
        f"{fwd.describe(ip)}: RFC 5321 forbids refusing mail for this, but spam filters score a HELO that "
        f"does not point back to the client{note}",
        details,
        evidence,
        f"Point {helo} at {ip} (`{helo}. {record} {ip}`){better}.",
    )
