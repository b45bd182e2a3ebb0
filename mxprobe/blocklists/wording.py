"""The words of the blocklist checks: summaries, the reasons a list gave no usable answer, and the fixes.

Each sentence says what was observed, then the likely cause said as likely, then what to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mxprobe.blocklists.records import Record, ZoneOutcome, unique

# Why a list may leave its test point unlisted: a likely cause, said as such. (record error, summary for one
# zone, summary for several); the summary drops what "could not be checked" already says.
_REFUSES_PUBLIC = "this list refuses public and cloud resolvers, so it is probably not answering yours"
WHY_SILENT = {
    True: (
        _REFUSES_PUBLIC,
        _REFUSES_PUBLIC,
        "these lists refuse public and cloud resolvers, so they are probably not answering yours",
    ),
    False: (
        "the list is down or not answering your resolver, so its 'not listed' proves nothing",
        "the list is down or not answering your resolver",
        "these lists are down or not answering your resolver",
    ),
}


def joined(names: Iterable[str]) -> tuple[str, str]:
    """("a", "is"), ("a and b", "are"), ("a, b and c", "are"): the subject of a summary sentence."""
    items = list(unique(names))
    if len(items) == 1:
        return items[0], "is"
    return f"{', '.join(items[:-1])} and {items[-1]}", "are"


def short(record: Record) -> str:
    """`zone (SBL, PBL)`: the labels before ':' of the meanings; the full meanings are in the details."""
    labels = [part.split(":")[0] for part in record.meaning.split("; ") if ":" in part]
    subject = f" for {record.subject.text}" if record.zone.kind == "domain" else ""
    return f"{record.zone.display}{subject}" + (f" ({', '.join(unique(labels))})" if labels else "")


def _names(items: Iterable[str]) -> list[str]:
    return list(unique(items))


def trouble(errors: Sequence[ZoneOutcome], broken: Sequence[ZoneOutcome]) -> str:
    parts = []
    if errors:
        parts.append(f"{len(errors)} could not be checked ({error_reasons(errors)})")
    if broken:
        names = ", ".join(_names(o.zone.display for o in broken))
        parts.append(f"{len(broken)} broken and ignored ({names})")
    return "; " + "; ".join(parts) if parts else ""


_KIND_TEXT = {
    "refused": "refused the query",
    "rewritten": "answers rewritten by your resolver",
    "dns": "no answer",
}


def error_reasons(errors: Sequence[ZoneOutcome]) -> str:
    """The zones that gave no usable answer, grouped by what was seen. A zone whose listed test point was
    missing is said as such ("did not list its test point 127.0.0.2 (NXDOMAIN)"), with the likely cause."""
    by_kind: dict[tuple[str, str], list[ZoneOutcome]] = {}
    for outcome in errors:
        health = outcome.health
        if health is not None and health.kind in ("silent", "canary"):
            by_kind.setdefault((health.kind, health.seen), []).append(outcome)
            continue
        for kind in sorted(outcome.error_kinds) or ["dns"]:
            by_kind.setdefault((kind, ""), []).append(outcome)
    parts = []
    for (kind, seen), group in by_kind.items():
        zones = [o.zone.display for o in group]
        names = ", ".join(zones[:3]) + (f" and {len(zones) - 3} more" if len(zones) > 3 else "")
        if kind not in ("silent", "canary"):
            parts.append(f"{_KIND_TEXT.get(kind, kind)}: {names}")
            continue
        one = len(zones) == 1
        names = joined(zones)[0] if len(zones) <= 3 else names
        points = _names(o.health.point for o in group if o.health is not None)
        what = f"test point {points[0]}" if len(points) == 1 else "test points"
        why = WHY_SILENT[kind == "silent"][1 if one else 2]
        parts.append(f"{names} did not list {'its' if one else 'their'} {what} ({seen}): {why}")
    return "; ".join(parts)


def listing_fix(listed: Sequence[Record]) -> str:
    links = "; ".join(unique(f"{r.zone.display}: {r.url or 'see the list'}" for r in listed))
    return (
        "Find and fix why you were listed first (the reason and the meaning say: a compromised host or "
        "account, an open relay, mail to spam traps, a dynamic address sending directly to MX), then ask "
        f"each list to remove the listing: {links}"
    )


def error_fix(errors: Sequence[ZoneOutcome], resolver: str = "") -> str:
    """What to change when lists gave no usable answer. `resolver`: the --nameserver the user gave ("" for
    the system's), named so that the advice is not "use --nameserver" to someone who already did."""
    kinds = {k for o in errors for k in o.error_kinds}
    advice = []
    if kinds & {"refused", "silent"}:
        if resolver:
            advice.append(
                f"Some lists refuse your resolver ({resolver}), as they refuse public and cloud ones: point "
                "--nameserver at your own recursive resolver instead (one you run, e.g. unbound on this "
                "host, not a shared or forwarding one); for Spamhaus a free Data Query Service key works "
                "through any resolver (--dqs-key KEY)."
            )
        else:
            advice.append(
                "Some lists refuse public and cloud resolvers (8.8.8.8, 1.1.1.1, cloud DNS): run mxprobe "
                "with --nameserver pointing at your own recursive resolver (e.g. unbound on this host); for "
                "Spamhaus a free Data Query Service key works through any resolver (--dqs-key KEY)."
            )
    if "rewritten" in kinds:
        which = f"Your resolver ({resolver})" if resolver else "Your resolver"
        advice.append(
            f"{which} rewrites NXDOMAIN answers (ISP redirection, captive portal, DNS filter): use "
            "--nameserver with a resolver that does not."
        )
    if kinds & {"dns", "canary"}:
        advice.append(
            "Some lists did not answer: retry later or raise --timeout; one that keeps failing may be down."
        )
    return " ".join(advice)


def major_missing(
    what: str,
    verb: str,
    missing: Sequence[ZoneOutcome],
    others: Sequence[ZoneOutcome],
    listed: Sequence[Record],
) -> str:
    """The summary when a list most receivers use gave no usable answer: that first, then what the other
    lists said, so "clean on 42 lists" is never read without the list that was not asked."""
    zones = joined(o.zone.name for o in missing)[0]
    errors = [o for o in missing if o.status == "error"]
    broken = [o for o in missing if o.status == "broken"]
    why = "; ".join(
        [
            *([error_reasons(errors)] if errors else []),
            *(["broken: lists its clean test point"] if broken else []),
        ]
    )
    head = (
        f"could not check {what} on {zones}, {'a list' if len(missing) == 1 else 'lists'} most receivers use"
    )
    if listed:
        tail = f"listed only on lists few receivers act on: {', '.join(unique(short(r) for r in listed))}"
    else:
        tail = f"on none of the {len(others)} other blocklists that answered"
    tail = f"{'it is' if verb == 'is' else 'they are'} {tail}"
    return f"{head} ({why}); {tail}"
