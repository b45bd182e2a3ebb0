"""spf-record: the SPF record of the sending domain as a record (checkdmarc), not as a verdict for one IP.

`spf` says what receivers conclude for this IP; this check finds what breaks the record for every sender:
syntax errors, more than 10 DNS-querying terms or 2 void lookups (RFC 7208 §4.6.4: a permerror, which DMARC
reads as a fail), includes that do not exist, `+all` (anyone may send as the domain), `?all` or no `all`
(unlisted senders get "neutral": no protection), the deprecated `ptr` mechanism (RFC 7208 §5.5).
checkdmarc is imported in the worker thread on first use (0.3 s of import time that `mxprobe explain` and
`--ip` runs should not pay).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from mxprobe.checks import lookup_failed
from mxprobe.checks.libdns import call_checkdmarc, prefetch_spf, unique_evidence
from mxprobe.checks.spf import garbled_spf, spf_record
from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer

LOOKUP_LIMIT = 10
VOID_LIMIT = 2
ALL_PROBLEMS = {  # parsed["all"] -> (status, problem, fix)
    "pass": (
        Status.FAIL,
        "+all authorizes every IP address on the internet to send as the domain",
        "Replace +all with -all after listing your senders (ip4:, ip6:, include:).",
    ),
    "neutral": (
        Status.WARN,
        "the record ends in ?all (or has no all): unlisted senders get neutral, no protection",
        "End the record with -all (or ~all while you check that every sender is listed).",
    ),
}


def _mechanisms(parsed: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every mechanism of a parsed record, those of its includes and redirect included."""
    for mechanism in parsed.get("mechanisms", []):
        yield mechanism
        if isinstance(mechanism.get("parsed"), dict):
            yield from _mechanisms(mechanism["parsed"])
    redirect = parsed.get("redirect")
    if isinstance(redirect, dict) and isinstance(redirect.get("parsed"), dict):
        yield from _mechanisms(redirect["parsed"])


def _failed_lookup(answers: list[Answer]) -> Answer | None:
    """A lookup the analysis relied on that got no answer (the obsolete SPF type aside, as in checkdmarc)."""
    return next((a for a in answers if a.failed and a.rdtype != "SPF"), None)


class SpfRecordDetails(TypedDict):
    domain: str
    record: str | None
    dns_lookups: NotRequired[int | None]
    void_dns_lookups: NotRequired[int | None]
    all: NotRequired[str | None]  # the `all` qualifier's result: "fail", "softfail", "neutral", "pass"
    warnings: NotRequired[list[str]]
    invalid: NotRequired[str]  # a TXT record meant as SPF that receivers cannot read as one: why
    error: NotRequired[str | None]


async def run(ctx: Context) -> CheckResult:
    domain = ctx.target.domain
    if domain is None:
        return CheckResult(CheckId.SPF_RECORD, Status.SKIP, "no sending domain (give DOMAIN)")
    prefetched = asyncio.ensure_future(prefetch_spf(ctx.dns, domain))  # the whole tree, while we read the top
    txt = await ctx.dns.query(domain, "TXT")
    if txt.failed:
        prefetched.cancel()
        return lookup_failed(
            CheckId.SPF_RECORD,
            txt,
            domain,
            "cannot read its SPF record",
            SpfRecordDetails(domain=domain, record=None),
        )
    record = spf_record(txt)
    if record is None:
        prefetched.cancel()
        return _no_record(domain, txt, ctx.target.ip)
    await prefetched
    result, answers = await call_checkdmarc(ctx, "checkdmarc.spf", "check_spf", domain)
    return _judge(domain, record, result, unique_evidence([txt, *answers]), _failed_lookup(answers))


def _no_record(domain: str, txt: Answer, ip: str | None) -> CheckResult:
    """No TXT record starts with `v=spf1` (the answer was NOERROR, NXDOMAIN or NODATA: lookups that failed
    are errors before this): none at all, or one that non-ASCII characters keep receivers from reading."""
    details = SpfRecordDetails(domain=domain, record=None)
    garbled = garbled_spf(txt)
    if garbled is not None:
        details["invalid"] = garbled
        return CheckResult(
            CheckId.SPF_RECORD,
            Status.FAIL,
            f"the SPF record of {domain} is invalid: {garbled}; receivers do not read it as SPF "
            "(RFC 7208 §4.5) and get SPF none",
            details,
            [txt.evidence()],
            "Retype the record in plain ASCII (a space, not a no-break space; straight quotes only).",
        )
    term = (f"ip6:{ip}" if ":" in ip else f"ip4:{ip}") if ip else "mx"  # not a check id: an SPF mechanism
    return CheckResult(
        CheckId.SPF_RECORD,
        Status.WARN,
        f"{domain} has no SPF record"
        + (" (the domain does not exist)" if txt.rcode == "NXDOMAIN" else "")
        + ": receivers get SPF none, and Gmail, Yahoo and Microsoft require SPF for bulk senders",
        details,
        [txt.evidence()],
        f'Publish `{domain}. TXT "v=spf1 {term} -all"` listing every host that sends as {domain}.',
    )


def _judge(
    domain: str, record: str, result: dict[str, Any], evidence: list[Evidence], failed: Answer | None
) -> CheckResult:
    """The verdict on checkdmarc's analysis of the record (and of every include and redirect)."""
    details = SpfRecordDetails(
        domain=domain,
        record=result.get("record") or record,
        dns_lookups=result.get("dns_lookups"),
        void_dns_lookups=result.get("void_dns_lookups"),
        all=result.get("parsed", {}).get("all"),
        warnings=list(result.get("warnings", [])),
    )
    if failed is not None:
        return CheckResult(
            CheckId.SPF_RECORD,
            Status.ERROR,
            f"a lookup the SPF analysis needs failed ({failed.name} {failed.rdtype}: {failed.rcode})",
            details,
            evidence,
            f"Retry, or check the nameservers of {failed.name}: receivers with the same failure defer (4xx).",
        )
    if not result.get("valid"):
        details["error"] = result.get("error")
        return CheckResult(
            CheckId.SPF_RECORD,
            Status.FAIL,
            f"the SPF record of {domain} is broken: {str(result.get('error')).rstrip('.')} (receivers get "
            "permerror, which DMARC counts as a fail)",
            details,
            evidence,
            _repair(domain, record, result),
        )
    problems = _problems(details, result)
    lookups, void = details.get("dns_lookups"), details.get("void_dns_lookups")
    counts = f"{lookups}/{LOOKUP_LIMIT} DNS lookups, {void}/{VOID_LIMIT} void"
    if not problems:
        return CheckResult(CheckId.SPF_RECORD, Status.PASS, f"{record} ({counts})", details, evidence)
    return CheckResult(
        CheckId.SPF_RECORD,
        Status.FAIL if any(status is Status.FAIL for status, _, _ in problems) else Status.WARN,
        f"{record}: " + "; ".join(problem for _, problem, _ in problems),
        details,
        evidence,
        " ".join(fix for _, _, fix in problems if fix)
        or f"Review the SPF record of {domain} (warnings above).",
    )


def _problems(details: SpfRecordDetails, result: dict[str, Any]) -> list[tuple[Status, str, str]]:
    problems: list[tuple[Status, str, str]] = []
    qualifier = details.get("all")
    if qualifier in ALL_PROBLEMS:
        problems.append(ALL_PROBLEMS[qualifier])
    mechanisms = _mechanisms(result.get("parsed", {}))
    ptr = [m.get("value") for m in mechanisms if m.get("mechanism") == "ptr"]  # not a check id: a mechanism
    if ptr:
        problems.append(
            (
                Status.WARN,
                f"it uses the ptr mechanism (ptr:{ptr[0]}), which RFC 7208 §5.5 deprecates: slow, "
                "unreliable, ignored by some receivers",
                "Replace ptr with the ip4:/ip6: addresses of your mail servers.",
            )
        )
    return problems + [(Status.WARN, w, "") for w in details.get("warnings", [])]


def _repair(domain: str, record: str, result: dict[str, Any]) -> str:
    """What to change in a record that receivers evaluate to permerror."""
    if (result.get("dns_lookups") or 0) > LOOKUP_LIMIT:
        how = (
            f"it needs {result['dns_lookups']} DNS lookups: replace include/a/mx terms by the ip4:/ip6: "
            f"ranges they stand for, or drop unused includes, until at most {LOOKUP_LIMIT} remain"
        )
    elif (result.get("void_dns_lookups") or 0) > VOID_LIMIT:
        how = "remove the terms that name domains without records (more than 2 void lookups)"
    elif result.get("record") is None:
        how = "merge the v=spf1 records into one (a domain may publish only one)"
    else:
        how = f"correct it ({str(result.get('error')).rstrip('.')})"
    return f'Repair `{domain}. TXT "{record}"`: {how}.'
