"""ptr: the reverse DNS (PTR) name of the sending IP.

Receivers refuse or score mail from an IP without a PTR (Gmail `550 5.7.25`, Postfix
`reject_unknown_reverse_client_hostname`, NetEase and QQ), and treat names that look assigned to a dynamic or
residential line as "not a mail server" (Yahoo, Microsoft, Spamhaus PBL, Abusix, SpamRATS Dyna). A name that
is not a fully qualified domain name cannot be forward-confirmed at all. The heuristics' words live in
`checks/ptr-generic.toml`; the IP-digit forms depend on the IP and are found here.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, NotRequired, TypedDict

import dns.rdatatype
import dns.reversename

from mxprobe.checks import lookup_failed
from mxprobe.data import data_file
from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer

MAX_NAMES = 10  # names checked per IP, as pyspf's MAX_PTR: a longer PTR set is a misconfiguration anyway
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
NO_PTR_REFUSALS = (
    "Gmail refuses with 550 5.7.25 (no PTR record), Postfix with reject_unknown_reverse_client_hostname "
    "(450 4.7.25 Client host rejected: cannot find your reverse hostname), NetEase and QQ likewise"
)


@dataclass(frozen=True)
class GenericRules:
    keywords: frozenset[str]
    numbered: re.Pattern[str]
    second_level: frozenset[str]
    private_tlds: frozenset[str]


@cache
def rules() -> GenericRules:
    import tomllib  # only a PTR name to judge needs the rules

    with data_file("ptr-generic.toml").open("rb") as f:
        data = tomllib.load(f)
    words = "|".join(re.escape(w) for w in sorted(data["numbered"], key=len, reverse=True))
    return GenericRules(
        keywords=frozenset(data["keywords"]),
        numbered=re.compile(rf"(?<![a-z])(?:{words})-?\d+"),
        second_level=frozenset(data["second_level"]),
        private_tlds=frozenset(data["private_tlds"]),
    )


def ptr_names(answer: Answer) -> list[str]:
    """The PTR target names of an answer, lower case without the final dot, in answer order, at most 10."""
    return [t.rstrip(".").lower() for t in answer.texts][:MAX_NAMES] if answer.ok else []


def fqdn_problem(name: str) -> str | None:
    """Why `name` is not a fully qualified host name the internet can resolve; None when it is one."""
    name = name.rstrip(".").lower()
    labels = name.split(".")
    if len(labels) < 2:
        return f"{name!r} is a single label, not a fully qualified domain name"
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return f"{name!r} is not a valid host name (letters, digits and inner '-' only, labels of 1-63)"
    if labels[-1].isdigit():
        return f"{name!r} ends in a numeric label, which no top-level domain is"
    if labels[-1] in rules().private_tlds:
        return f"{name!r} ends in .{labels[-1]}, which exists only on private networks"
    return None


def _host_part(labels: list[str]) -> str:
    """The labels left of the registered domain (approximate: two labels, three under co.uk-style names)."""
    keep = 3 if len(labels) >= 3 and labels[-2] in rules().second_level else 2
    return ".".join(labels[:-keep])


def _ipv4_in_name(name: str, ip: ipaddress.IPv4Address) -> str | None:
    octets = list(ip.packed)
    compact = re.sub(r"[.\-_]", "", name)
    for order in (octets, octets[::-1]):
        for form, text in (("zero-padded", "".join(f"{o:03d}" for o in order)), ("hex", bytes(order).hex())):
            if text in compact:
                return f"{form} {text}"
    runs = re.findall(r"\d+", name)
    if str(int(ip)) in runs:
        return f"as one number {int(ip)}"
    found = Counter(int(r) for r in runs if len(r) <= 3) & Counter(octets)
    if sum(found.values()) >= 3:
        return "octets " + "-".join(r for r in runs if len(r) <= 3 and int(r) in octets)
    return None


def _ipv6_in_name(name: str, ip: ipaddress.IPv6Address) -> str | None:
    nibbles = ip.exploded.replace(":", "")
    interface_id = nibbles[16:]
    compact = re.sub(r"[.\-_:]", "", name)
    if nibbles in compact or nibbles[::-1] in compact:
        return "the whole address"
    if len(interface_id.lstrip("0")) >= 4 and interface_id in compact:
        return f"the interface id {interface_id}"
    fragments = [f for f in re.split(r"[.\-_:]+", name) if re.fullmatch(r"[0-9a-f]{1,4}", f)]
    if sum(1 for f in fragments if len(f) == 1) >= 16:
        return "nibble form"
    groups = [int(g, 16) for g in ip.exploded.split(":") if int(g, 16)]
    found = Counter(int(f, 16) for f in fragments) & Counter(groups)
    if len(groups) >= 2 and sum(found.values()) >= min(4, len(groups)):
        return "groups " + "-".join(f"{g:x}" for g in found.elements())
    return None


def generic_reasons(name: str, ip: str) -> list[str]:
    """Why a PTR name looks generic (dynamic, residential, ISP pool) rather than a mail server's own name."""
    name = name.rstrip(".").lower()
    address = ipaddress.ip_address(ip)
    reasons = []
    digits = (
        _ipv4_in_name(name, address)
        if isinstance(address, ipaddress.IPv4Address)
        else _ipv6_in_name(name, address)
    )
    if digits:
        reasons.append(f"it contains the IP address ({digits})")
    host = _host_part(name.split("."))
    hits = sorted(set(re.findall(r"[a-z]+", host)) & rules().keywords)
    if hits:
        reasons.append(
            "it contains " + ", ".join(repr(h) for h in hits) + ", words ISPs use for dynamic lines"
        )
    numbered = rules().numbered.search(host)
    if numbered and not digits:
        reasons.append(f"it is numbered like an ISP's address pool ({numbered.group(0)!r})")
    return reasons


def suggested_name(ctx: Context) -> str:
    """A name to propose for the PTR: the given HELO name when it is a proper one, else mail.<domain>."""
    helo, ip = ctx.target.helo, ctx.target.ip
    if (
        helo
        and ip
        and not ctx.helo_from_ptr
        and not helo.startswith("[")
        and fqdn_problem(helo) is None
        and not generic_reasons(helo, ip)
    ):
        return helo
    return f"mail.{ctx.target.domain}" if ctx.target.domain else "mail.<your-domain>"


class PtrDetails(TypedDict):
    ip: str
    reverse_name: str
    names: NotRequired[list[str]]  # the first MAX_NAMES, lower case, without the final dot
    count: NotRequired[int]  # how many PTR records the answer held (all of them, not only those shown)
    not_fqdn: NotRequired[dict[str, str]]  # name -> why it is not a fully qualified host name
    generic: NotRequired[dict[str, list[str]]]  # name -> why it looks generic
    error: NotRequired[str]  # the lookup failed: why
    reverse_zone: NotRequired[ReverseZone]  # the SOA that came with a negative answer: who runs the zone


class ReverseZone(TypedDict):
    """The reverse zone's SOA from the authority section (RFC 2308): the zone, its primary nameserver and
    the contact (RNAME as an address), which name the IP's operator for the plan."""

    zone: str
    primary: str
    contact: str


def reverse_zone(answer: Answer) -> ReverseZone | None:
    response = answer.response
    for rrset in response.authority if response is not None else []:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            soa = rrset[0]
            local, _, domain = soa.rname.to_text(omit_final_dot=True).replace("\\.", "\0").partition(".")
            contact = f"{local.replace(chr(0), '.')}@{domain}" if domain else local
            zone = rrset.name.to_text(omit_final_dot=True)
            return ReverseZone(zone=zone, primary=soa.mname.to_text(omit_final_dot=True), contact=contact)
    return None


async def run(ctx: Context) -> CheckResult:
    ip = ctx.target.ip
    if ip is None:
        return CheckResult(CheckId.PTR, Status.SKIP, "no sending IP to look up (give --ip)")
    answer = await ctx.dns.ptr(ip)
    reverse = dns.reversename.from_address(ip).to_text(omit_final_dot=True)
    details = PtrDetails(ip=ip, reverse_name=reverse)
    if answer.failed:
        return lookup_failed(
            CheckId.PTR,
            answer,
            ip,
            "cannot tell whether it has a reverse name",
            details,
            "Retry, or check the resolver (--nameserver) and the nameservers of the reverse zone "
            f"{reverse.split('.', 1)[1]} (run by the owner of the IP block).",
        )
    names = ptr_names(answer)
    details["names"], details["count"] = names, len(answer.records) if answer.ok else 0
    if not names and (zone := reverse_zone(answer)) is not None:
        details["reverse_zone"] = zone
    suggest = suggested_name(ctx)
    if not names:  # the answer was NXDOMAIN or NODATA: every other outcome failed above
        return CheckResult(
            CheckId.PTR,
            Status.FAIL,
            f"{ip} has no PTR record ({answer.rcode}): {NO_PTR_REFUSALS}",
            details,
            [answer.evidence()],
            fix=f"Ask the owner of {ip} (your ISP or hosting provider: they run the reverse zone; their "
            f"panel calls it 'reverse DNS' or 'rDNS') to publish `{reverse}. PTR {suggest}.`, and give "
            f"{suggest} an {'A' if ':' not in ip else 'AAAA'} record {ip} so that it is forward-confirmed.",
        )
    problems, fixes = _judge(ip, names, details, suggest)
    if problems:
        return CheckResult(
            CheckId.PTR,
            Status.WARN,
            f"{ip}: " + "; ".join(problems),
            details,
            [answer.evidence()],
            " ".join(fixes),
        )
    return CheckResult(CheckId.PTR, Status.PASS, f"{ip} → {names[0]}", details, [answer.evidence()])


def _judge(ip: str, names: list[str], details: PtrDetails, suggest: str) -> tuple[list[str], list[str]]:
    """The problems of a PTR set (several names, not fully qualified, generic) and their fixes."""
    problems: list[str] = []
    fixes: list[str] = []
    count = details.get("count", len(names))
    if count > 1:
        shown = ", ".join(names) + (f" and {count - len(names)} more" if count > len(names) else "")
        problems.append(f"{count} PTR records ({shown}): receivers pick one at random")
        more = f" and the {count - len(names)} more" if count > len(names) else ""
        fixes.append(
            f"Keep exactly one PTR record for {ip}: "
            f"ask the IP's owner to delete {', '.join(names[1:])}{more}."
        )
    not_fqdn = {name: reason for name in names if (reason := fqdn_problem(name))}
    if not_fqdn:
        details["not_fqdn"] = not_fqdn
        problems.extend(not_fqdn.values())
        fixes.append(f"Set the PTR to a fully qualified name in public DNS, e.g. {suggest}.")
    generic = {
        name: reasons for name in names if name not in not_fqdn and (reasons := generic_reasons(name, ip))
    }
    if generic:
        details["generic"] = generic
        problems.extend(f"{name} looks generic: {'; '.join(reasons)}" for name, reasons in generic.items())
        fixes.append(
            "Ask the IP's owner to change the PTR to a name of your own that identifies the mail server, "
            f"e.g. {suggest} (with an A/AAAA record back to {ip}); generic names are scored as dynamic space "
            "(Spamhaus PBL, Abusix 127.0.0.11, SpamRATS Dyna) and refused by Microsoft and Yahoo."
        )
    return problems, fixes
