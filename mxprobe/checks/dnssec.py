"""dnssec: is the sending domain's zone signed, and the zone of the recipient's MX? Is the signing intact?

A zone whose parent publishes a DS record but whose keys or signatures do not match it is *bogus*: every
validating resolver (Google Public DNS, Cloudflare, most ISPs, many receivers' own) answers SERVFAIL for it,
so receivers cannot see the sender's SPF, DKIM or DMARC and refuse its mail as coming from a domain that does
not resolve. An unsigned zone costs a sender nothing at the big receivers; it only means DANE cannot be used
for mail *to* that domain.

Evidence, best first: the AD bit of a validating resolver (the queries set DO and AD). A resolver that does
not validate never sets AD; then the chain one level down from the parent is checked here with dnspython's
DNSSEC code: a DS at the parent must match a DNSKEY, whose signatures over the DNSKEY set and the SOA must
verify. That trusts the DS as the resolver relayed it (no walk from the root), which the report says.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TypedDict

import dns.dnssec
import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from mxprobe.checks import Context
from mxprobe.checks.receiver import mx_hosts
from mxprobe.dns import Answer
from mxprobe.model import CheckResult, Evidence, Status, worst
from mxprobe.registry import CheckId

# Zone states, from the strongest evidence to none
VALIDATED = "validated"  # the resolver set AD
SIGNED = "signed"  # DS -> DNSKEY -> SOA signatures verified here (the resolver does not validate)
UNVERIFIED = "signed-unverified"  # DS and DNSKEY present, but the signatures could not be checked here
UNSIGNED = "unsigned"  # no DS at the parent: validating resolvers treat the zone as insecure
BOGUS = "bogus"  # a DS the keys or signatures do not live up to
UNKNOWN = "unknown"  # the DNS did not answer

_STATUS = {
    VALIDATED: Status.PASS,
    SIGNED: Status.PASS,
    UNVERIFIED: Status.WARN,
    UNSIGNED: Status.SKIP,
    BOGUS: Status.FAIL,
    UNKNOWN: Status.ERROR,
}


@dataclass
class ZoneSecurity:
    """The DNSSEC state of the zone holding `name`, with the answers it rests on."""

    name: str
    zone: str
    state: str
    reason: str
    ad: bool = False
    ds: list[str] = field(default_factory=list)
    dnskeys: int = 0
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def secure(self) -> bool:
        """Would a validating sender trust records of this zone (so DANE applies)?"""
        return self.state in (VALIDATED, SIGNED)

    def to_dict(self) -> ZoneDetails:
        return ZoneDetails(
            name=self.name,
            zone=self.zone,
            state=self.state,
            reason=self.reason,
            ad=self.ad,
            ds=self.ds,
            dnskeys=self.dnskeys,
        )


class ZoneDetails(TypedDict):
    name: str
    zone: str  # the apex of the zone holding the name
    state: str  # validated, signed, signed-unverified, unsigned, bogus, unknown
    reason: str
    ad: bool
    ds: list[str]
    dnskeys: int


class DnssecDetails(TypedDict):
    zones: list[ZoneDetails]  # the sending domain's zone, then the first MX host's


def _zone_of(name: str, soa: Answer) -> str:
    """The apex: the owner of the SOA in the answer (name is the apex) or in the authority section."""
    if soa.records:
        return soa.name
    response = soa.response
    if response is not None:
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                return str(rrset.name.to_text(omit_final_dot=True)).lower()
    return name


async def zone_security(ctx: Context, name: str) -> ZoneSecurity:
    """Find the zone of `name` and judge its signing (see the module docstring for the evidence used)."""
    soa = await ctx.dns.query(name, "SOA", dnssec=True)
    if soa.failed:
        reason = f"{name} SOA: {soa.error or soa.rcode}"
        if soa.rcode == "SERVFAIL":
            reason += " (a validating resolver answers SERVFAIL when the zone's DNSSEC is broken)"
        return ZoneSecurity(name, name, UNKNOWN, reason, evidence=[soa.evidence()])
    zone = _zone_of(name, soa)
    ds, dnskey, apex_soa = await asyncio.gather(
        ctx.dns.query(zone, "DS", dnssec=True),
        ctx.dns.query(zone, "DNSKEY", dnssec=True),
        ctx.dns.query(zone, "SOA", dnssec=True),
    )
    result = ZoneSecurity(
        name,
        zone,
        UNKNOWN,
        "",
        ad=apex_soa.ad or dnskey.ad,
        ds=ds.texts,
        dnskeys=len(dnskey.records),
        evidence=[apex_soa.evidence(), ds.evidence(), dnskey.evidence()],
    )
    for answer in (ds, dnskey, apex_soa):
        if answer.failed:
            result.reason = f"{answer.name} {answer.rdtype}: {answer.error or answer.rcode}"
            return result
    if not ds.records:
        result.state = UNSIGNED
        result.reason = f"no DS record for {zone} at its parent"
        if dnskey.records:
            result.reason += ": it publishes DNSKEY records, but validating resolvers treat it as unsigned"
        return result
    if result.ad:
        result.state, result.reason = VALIDATED, "the resolver validated the answers (AD bit set)"
        return result
    result.state, result.reason = _check_chain(zone, ds, dnskey, apex_soa)
    return result


def _signature(
    response: dns.message.Message | None, name: dns.name.Name, covers: int
) -> dns.rrset.RRset | None:
    if response is None:
        return None
    return response.get_rrset(
        response.answer, name, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.RdataType(covers)
    )


def _check_chain(zone: str, ds: Answer, dnskey: Answer, soa: Answer) -> tuple[str, str]:
    """DS -> DNSKEY -> signatures, checked here because the resolver does not validate (it set no AD)."""
    origin = dns.name.from_text(zone)
    if not dnskey.records:
        return BOGUS, f"the parent publishes a DS for {zone}, but {zone} has no DNSKEY record"
    matched = dns.rrset.RRset(origin, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    for key in dnskey.records:
        for record in ds.records:
            try:
                if dns.dnssec.make_ds(origin, key, record.digest_type, validating=True) == record:
                    matched.add(key)
            except (ValueError, dns.exception.UnsupportedAlgorithm, dns.exception.DeniedByPolicy):
                continue
    if not matched:
        return BOGUS, f"no DNSKEY of {zone} matches the DS record at its parent"
    keys = dns.rrset.from_rdata_list(origin, 0, dnskey.records)
    steps = (("DNSKEY", dnskey, {origin: matched}), ("SOA", soa, {origin: keys}))
    for label, answer, keyring in steps:
        sig = _signature(answer.response, origin, dns.rdatatype.from_text(label))
        if not answer.records or sig is None:
            return (
                UNVERIFIED,
                f"DS and DNSKEY present, but the resolver returned no signature over the {label}",
            )
        try:
            dns.dnssec.validate(dns.rrset.from_rdata_list(origin, 0, answer.records), sig, dict(keyring))
        except dns.exception.ValidationFailure as exc:
            return BOGUS, f"the signature over the {label} of {zone} does not verify: {exc}"
        except dns.exception.UnsupportedAlgorithm as exc:
            return UNVERIFIED, f"the {label} signature uses an algorithm that cannot be checked here: {exc}"
    return SIGNED, (
        "the resolver does not validate (no AD bit), so validation by the resolver was not possible; checked "
        "here: the parent's DS matches a DNSKEY whose signatures over the DNSKEY set and the SOA verify"
    )


async def run(ctx: Context) -> CheckResult:
    domain = ctx.target.domain
    if domain is None:
        return CheckResult(CheckId.DNSSEC, Status.SKIP, "no sending domain given")
    hosts, mx_evidence = await mx_hosts(ctx)
    names = list(dict.fromkeys([domain, *hosts[:1]]))
    zones = await asyncio.gather(*(zone_security(ctx, n) for n in names))
    evidence = [e for z in zones for e in z.evidence] + mx_evidence
    details = DnssecDetails(zones=[z.to_dict() for z in zones])
    status = worst([_STATUS[z.state] for z in zones])
    summary = "; ".join(_describe(z, role="sending domain" if z.name == domain else "MX") for z in zones)
    fix = " ".join(_FIX[z.state].format(zone=z.zone) for z in zones if _FIX.get(z.state))
    return CheckResult(CheckId.DNSSEC, status, summary, details, evidence, fix=fix)


def _describe(z: ZoneSecurity, role: str) -> str:
    where = z.name if z.zone == z.name else f"{z.name} (zone {z.zone})"
    text = {
        VALIDATED: "signed and validated by the resolver",
        SIGNED: "signed; the resolver does not validate, chain checked here",
        UNVERIFIED: "signed (DS and DNSKEY present); validation was not possible",
        UNSIGNED: "not signed",
        BOGUS: "DNSSEC broken (bogus)",
        UNKNOWN: "could not be checked",
    }[z.state]
    return f"{role} {where}: {text} ({z.reason})"


_FIX = {
    BOGUS: (
        "{zone} is bogus: validating resolvers answer SERVFAIL for it, so receivers cannot read its SPF, "
        "DKIM and DMARC. Re-sign the zone, or publish DNSKEYs matching the DS at the registrar (or drop it)."
    ),
    UNKNOWN: "The DNS did not answer for {zone}: check --nameserver and --timeout.",
    UNVERIFIED: "Use a validating resolver (--nameserver) to have {zone}'s signatures checked.",
}
