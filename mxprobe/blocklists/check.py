"""One blocklist check (`dnsbl` for the sending IP, `dbl` for the sending domains): every selected zone
asked at once, then one verdict for the whole set.

The verdict (`verdict`), and why:

- `fail` when a healthy zone of severity "fail" lists a subject: a listing is a fact whatever else failed.
- `error` when a list the data marks `major` (Spamhaus ZEN and DBL: the lists most receivers consult) gave
  no usable answer (SERVFAIL, timeout, REFUSED, a refusal code, a missing test point, a broken zone), or
  when no zone could be used, or when more zones gave errors than usable answers. Never `pass` then: "clean
  on 42 lists" would be read as "clean", while the list that decides most refusals was not asked. `error`
  rather than `warn` because the question the check answers ("will receivers refuse this sender for a
  listing?") is then unanswered, and an unanswered check is `error` with the reason; the summary still says
  what the other lists answered, and the fix how to get the missing answer (own resolver, DQS key, retry).
- `warn` when only severity-"warn" zones list it, or when a minor zone refused the resolver or the resolver
  rewrites answers (the user can fix that).
- `pass` otherwise, counting the zones that could not be used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mxprobe.blocklists.engine import assess
from mxprobe.blocklists.records import STATUS_ORDER, ListDetails, Subject, ZoneOutcome, rank, unique
from mxprobe.blocklists.select import redactor, selected_zones
from mxprobe.blocklists.wording import (
    error_fix,
    error_reasons,
    joined,
    listing_fix,
    major_missing,
    short,
    trouble,
)
from mxprobe.errors import InputError
from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId

if TYPE_CHECKING:
    from mxprobe.checks import Context


async def check(
    ctx: Context, check_id: CheckId, kind: str, subjects: Sequence[Subject], notes: Sequence[str] = ()
) -> CheckResult:
    """Run one blocklist check; every string of the result has passed the key redactor."""
    options = ctx.options
    try:
        zones, key_notes = selected_zones(kind, options)
    except InputError as exc:
        return CheckResult(check_id, Status.ERROR, str(exc), fix="Correct the --dnsbl or key value.")
    redact = redactor(options)
    if not zones:
        return CheckResult(
            check_id,
            Status.SKIP,
            f"no {'IP' if kind == 'ip' else 'domain'} blocklist selected",
            details=ListDetails(notes=[*notes, *key_notes]),
        )
    outcomes = list(await asyncio.gather(*(assess(ctx.dns, zone, subjects, redact) for zone in zones)))
    resolver = ", ".join(str(ns) for ns in options.nameservers)
    status, summary, fix = verdict(kind, subjects, outcomes, resolver)
    statuses = [o.status for o in outcomes]
    records = sorted((r for o in outcomes for r in o.records), key=lambda r: rank(r.status))
    details: ListDetails = {}
    if kind == "ip":
        details["ip"] = subjects[0].text
    else:
        details["domains"] = {s.text: s.sources for s in subjects}
    details["counts"] = {s: statuses.count(s) for s in STATUS_ORDER}
    details["zones"] = [r.to_dict(redact) for r in records]
    if notes or key_notes:
        details["notes"] = [*notes, *key_notes]
    ranked = sorted(
        outcomes, key=lambda o: min((rank(r.status) for r in o.records), default=len(STATUS_ORDER))
    )
    evidence = [e for o in ranked for e in o.evidence]
    result = CheckResult(check_id, status, summary, details=details, evidence=evidence, fix=fix)
    return redact.deep(result)


def verdict(
    kind: str, subjects: Sequence[Subject], outcomes: Sequence[ZoneOutcome], resolver: str = ""
) -> tuple[Status, str, str]:
    """(status, summary, fix) for a set of zone outcomes; the rule is in the module docstring. `resolver`:
    the --nameserver given, for the fix."""
    used = [o for o in outcomes if o.status != "skipped"]
    listed = [r for o in used for r in o.records if r.status == "listed"]
    usable = [o for o in used if o.status in ("listed", "clean")]
    errors = [o for o in used if o.status == "error"]
    broken = [o for o in used if o.status == "broken"]
    serious = [r for r in listed if r.zone.severity == "fail"]
    missing = [o for o in used if o.zone.major and o.status in ("error", "broken")]
    problems = trouble(errors, broken)
    if serious or (listed and len(usable) >= len(errors) and usable and not missing):
        shown = serious or listed
        who, verb = joined([r.subject.text for r in shown])
        zones = ", ".join(unique(short(r) for r in shown))
        if serious:
            count = len(unique(r.zone.display for r in shown))
            summary = f"{who} {verb} listed on {count} of {len(usable)} blocklists"
        else:
            summary = f"{who} {verb} listed only on lists few receivers act on"
        return (Status.FAIL if serious else Status.WARN), f"{summary}: {zones}{problems}", listing_fix(listed)
    what, verb = joined([s.text for s in subjects])
    if not usable or len(errors) > len(usable):
        reasons = error_reasons(errors)
        summary = (
            f"could not check {what}: {len(errors) + len(broken)} of {len(used)} blocklists gave no usable "
            f"answer ({reasons or 'all broken'})"
        )
        return Status.ERROR, summary, error_fix(errors, resolver)
    if missing:
        others = [o for o in usable if not o.zone.major]
        return Status.ERROR, major_missing(what, verb, missing, others, listed), error_fix(errors, resolver)
    kinds = {k for o in errors for k in o.error_kinds}
    summary = f"{what} {verb} on none of the {len(usable)} blocklists that answered{problems}"
    if kinds & {"refused", "silent", "rewritten"}:
        return Status.WARN, summary, error_fix(errors, resolver)
    return Status.PASS, summary, ""
