"""dmarc: the DMARC policy that applies to the sending domain (checkdmarc, with the RFC 9989 tree walk).

Gmail and Yahoo require a DMARC record (p=none is enough) from senders of 5,000+ messages a day, Microsoft
refuses them without one (550 5.7.515). So a missing record or `p=none` is a warning; an invalid record
(receivers ignore it: the domain is unprotected and counts as having none) is a failure. The policy of a
subdomain without its own record comes from the organizational domain (`sp=`), found by the tree walk.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from mxprobe.checks import lookup_failed
from mxprobe.checks.libdns import call_checkdmarc, prefetch_dmarc, unique_evidence
from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.dns import Answer

TAGS = ("p", "sp", "pct", "rua", "ruf", "adkim", "aspf", "np", "fo")
BULK = (
    "Gmail and Yahoo require DMARC from bulk senders (5,000+ a day), Microsoft refuses them with 550 5.7.515"
)


class DmarcDetails(TypedDict):
    domain: str
    record: NotRequired[str | None]
    location: NotRequired[str | None]  # the domain whose _dmarc record applies (a parent when inherited)
    warnings: NotRequired[list[str]]
    tags: NotRequired[dict[str, Any]]  # the tags of TAGS the record sets, as written
    error: NotRequired[str | None]


def _is_dmarc(text: str) -> bool:
    return text.replace(" ", "").lower().startswith("v=dmarc1")


def _dmarc_answers(answers: list[Answer]) -> list[Answer]:
    return [a for a in answers if a.name.lower().startswith("_dmarc.") and a.rdtype == "TXT"]


def _tag_text(value: Any) -> Any:
    """Report URIs come as dicts; show them as the record writes them."""
    if isinstance(value, list):
        return [f"{v['scheme']}:{v['address']}" if isinstance(v, dict) else v for v in value]
    return value


async def run(ctx: Context) -> CheckResult:
    domain = ctx.target.domain
    if domain is None:
        return CheckResult(CheckId.DMARC, Status.SKIP, "no sending domain (give DOMAIN)")
    own, _ = await asyncio.gather(ctx.dns.query(f"_dmarc.{domain}", "TXT"), prefetch_dmarc(ctx.dns, domain))
    if own.failed:
        details = DmarcDetails(domain=domain)
        return lookup_failed(CheckId.DMARC, own, f"_dmarc.{domain}", "cannot read its DMARC record", details)
    result, answers = await call_checkdmarc(ctx, "checkdmarc.dmarc", "check_dmarc", domain)
    walked = _dmarc_answers([own, *answers])
    evidence = unique_evidence(walked)
    details = DmarcDetails(
        domain=domain,
        record=result.get("record"),
        location=result.get("location"),
        warnings=list(result.get("warnings", [])),
    )
    if not result.get("valid"):
        return _invalid(domain, result, walked, details, evidence)
    return _judge(domain, result, details, evidence)


def _invalid(
    domain: str, result: dict[str, Any], walked: list[Answer], details: DmarcDetails, evidence: list[Evidence]
) -> CheckResult:
    """checkdmarc found no valid record: a lookup failed (error), there is none (warn), or it is broken."""
    found = any(_is_dmarc(t) for a in walked for t in a.texts)
    failed = next((a for a in walked if a.failed), None)
    if failed is not None:
        return CheckResult(
            CheckId.DMARC,
            Status.ERROR,
            f"a lookup of the DMARC tree walk failed ({failed.name} TXT: {failed.rcode})",
            details,
            evidence,
            f"Retry, or check the nameservers of {failed.name.removeprefix('_dmarc.')}.",
        )
    details["error"] = result.get("error")
    if not found:
        return CheckResult(
            CheckId.DMARC,
            Status.WARN,
            f"{domain} has no DMARC record (nor does any parent domain): {BULK}",
            details,
            evidence,
            f'Publish `_dmarc.{domain}. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"`, '
            "read the reports, then move to p=quarantine and p=reject.",
        )
    return CheckResult(
        CheckId.DMARC,
        Status.FAIL,
        f"the DMARC record of {domain} is invalid: {result.get('error')} (receivers ignore it: "
        "the domain is treated as having no DMARC)",
        details,
        evidence,
        f"Publish exactly one valid record at _dmarc.{domain}, e.g. "
        f'`_dmarc.{domain}. TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{domain}"`.',
    )


def _policy_fix(location: str, result: dict[str, Any]) -> str:
    """p=none: raise it once the aggregate reports say so; without rua there are no reports to read yet (the
    record to publish keeps the tags the record gave, not checkdmarc's defaults, and adds rua)."""
    given = result.get("tags", {}).items()
    tags = {t: _tag_text(v["value"]) for t, v in given if t in TAGS and v.get("explicit", True)}
    raise_it = f"raise the policy at _dmarc.{location} to p=quarantine, then p=reject."
    passes = "your own mail passes SPF or DKIM aligned"
    if "rua" in tags:
        return f"Once the aggregate reports (rua) show that {passes}, {raise_it}"
    rua = f"rua=mailto:dmarc-reports@{location}"
    record = "; ".join(["v=DMARC1", *(f"{t}={v}" for t, v in tags.items()), rua])
    return (
        f'The record asks for no aggregate reports (no rua): add one, `_dmarc.{location}. TXT "{record}"`, '
        f"read the reports for a few weeks, and once they show that {passes}, {raise_it}"
    )


def _judge(
    domain: str, result: dict[str, Any], details: DmarcDetails, evidence: list[Evidence]
) -> CheckResult:
    """The verdict on a valid record: its policy for the domain (inherited or its own) and the warnings."""
    tags = {t: _tag_text(v["value"]) for t, v in result.get("tags", {}).items() if t in TAGS}
    details["tags"] = tags
    location = result.get("location") or domain
    inherited = location != domain
    policy = tags.get("sp", tags.get("p")) if inherited else tags.get("p")
    where = f" (inherited from {location})" if inherited else ""
    summary = f"p={tags.get('p')}" + "".join(
        f" {t}={tags[t]}" for t in ("sp", "pct", "adkim", "aspf") if t in tags
    )
    problems = list(details.get("warnings", []))
    if policy == "none" and not any("none" in w for w in problems):  # checkdmarc usually says it already
        problems.insert(0, f"the policy for {domain} is none{where}: monitoring only, nothing is refused")
    if problems:
        return CheckResult(
            CheckId.DMARC,
            Status.WARN,
            f"{summary}{where}: " + "; ".join(problems),
            details,
            evidence,
            _policy_fix(location, result) if policy == "none" else f"Review the record at _dmarc.{location}.",
        )
    return CheckResult(CheckId.DMARC, Status.PASS, f"{summary}{where}", details, evidence)
