"""The query engine: asks one zone about its subjects and its RFC 5782 test points at once, reads each answer
with the zone's data, and judges every (zone, subject) pair. The rules, and why:

- A listing is an A record inside 127.0.0.0/8 (RFC 5782). An answer outside it is a resolver rewriting
  NXDOMAIN (ISP redirection, captive portal, DNS filter): `error`, never `listed`, or every rewriting resolver
  would blocklist everyone.
- A refusal code (Spamhaus 127.255.255.252/254/255, URIBL/SURBL 127.0.0.1, DBL 127.0.1.255) means the list
  did not answer the question: `error` with what to change (own resolver, DQS key), never `listed`. Counting
  these as listings is the most reported DNSBL-checker bug (pydnsbl #27, mox #354).
- SERVFAIL, REFUSED, timeouts: `error` for that zone. Only a refusal code or REFUSED is called a refusal: a
  list that refuses public resolvers but answered NXDOMAIN for its test point is reported as exactly that,
  with the likely cause, because a guess stated as fact sends the user after the wrong problem.
- Every zone is health-checked in the same run with its test points, asked concurrently with the real
  queries (only the verdict waits for them; their TXT is never asked): the "listed" point (127.0.0.2,
  ::ffff:7f00:2, TEST) must be listed, or the zone's answers prove nothing, listings included (a list
  blocking our resolver often answers NXDOMAIN to everything, or a list squatted after its death answers
  anything); the "clean" point (127.0.0.1, ::ffff:7f00:1, INVALID) must not be, or the zone lists the world
  (an expired domain under a squatter's wildcard: AHBL, SpamCannibal, MegaRBL): `broken`, not used.
- Test points are asked with `shared=True`: the DNS layer asks them once per run, and once per pool through
  the pool's parent cache, however many subjects are asked about.
- Evidence is built only for what the report shows: every subject's answers, and the test points when they
  decide something (a listing, or a zone not used).
"""

from __future__ import annotations

import asyncio
import ipaddress
import weakref
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from mxprobe.blocklists.data import IPV6_TEST_CLEAN, IPV6_TEST_LISTED, LOOPBACK_NET, Zone
from mxprobe.blocklists.records import Asked, Health, Reading, Record, Subject, ZoneOutcome, unique
from mxprobe.blocklists.wording import WHY_SILENT
from mxprobe.model import Evidence

if TYPE_CHECKING:
    from mxprobe.blocklists.redact import Redactor
    from mxprobe.dns import Answer, Dns

# Addresses no list holds: querying them tells the user nothing (and 127.0.0.x would hit the test points).
UNLISTABLE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


# -- queries -------------------------------------------------------------------------------------------------


def plain_ip(ip: str) -> str:
    """An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the IPv4 address a receiver sees and lists."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def unlistable(ip: str) -> str:
    """Why no list can hold this address ("" when it is a public address worth asking about)."""
    address = ipaddress.ip_address(plain_ip(ip))
    net = next((n for n in UNLISTABLE_NETS if address.version == n.version and address in n), None)
    if net is None:
        return ""
    return f"{ip} is a private, loopback or reserved address (in {net}); blocklists hold public addresses"


@lru_cache(maxsize=1024)
def reversed_ip(ip: str) -> tuple[int, str]:
    """(address family, the labels a DNSBL wants): octets or IPv6 nibbles reversed (RFC 5782 2.4).

    Cached: every zone of a run asks it for the same address and the same test points."""
    address = ipaddress.ip_address(ip)
    pointer = address.reverse_pointer
    return address.version, pointer.removesuffix(".in-addr.arpa").removesuffix(".ip6.arpa")


def domain_names(name: str, zone: Zone) -> list[str]:
    """The names to ask a domain list: the name itself, plus its parents (down to two labels) when the list
    holds registered domains only and is not wildcarded (URIBL), so `mail.example.com` finds `example.com`."""
    labels = name.lower().rstrip(".").split(".")
    if zone.wildcard:
        return [".".join(labels)]
    return [".".join(labels[i:]) for i in range(max(1, len(labels) - 1))]


def read(zone: Zone, answer: Answer) -> Reading:
    """Interpret a list's A answer with the zone's data. Refusals and rewrites are checked before listings."""
    if answer.failed:
        return Reading("failed", error=f"{answer.rcode}: {answer.error or 'no answer'}")
    addresses = tuple(str(r.address) for r in answer.records if hasattr(r, "address")) if answer.ok else ()
    if not addresses:
        return Reading("clean")
    outside = [a for a in addresses if not _loopback(a)]
    if outside:
        return Reading(
            "rewritten",
            addresses,
            error=f"answered {', '.join(outside)}, outside 127.0.0.0/8: your resolver rewrites NXDOMAIN "
            "answers (ISP redirection, captive portal or DNS filter), this is not a listing",
        )
    refusals = [(a, m) for a in addresses if (m := zone.refusals.match(a))]
    if refusals:
        code, meaning = refusals[0]
        return Reading(
            "refused", addresses, tuple(m for _, m in refusals), error=f"refused ({code}): {meaning}"
        )
    listings = unique(zone.meaning(a) for a in addresses if not zone.info.match(a))
    if listings:
        return Reading("listed", addresses, listings)
    return Reading("clean", addresses, unique(m for a in addresses if (m := zone.info.match(a))))


def _loopback(address: str) -> bool:
    """Inside 127.0.0.0/8 (A rdata is canonical dotted decimal, so the prefix says it; else it is parsed)."""
    if address.startswith("127.") and address.count(".") == 3:
        return True
    try:
        return ipaddress.ip_address(address) in LOOPBACK_NET
    except ValueError:
        return False


# -- one zone ------------------------------------------------------------------------------------------------


async def _ask(dns: Dns, zone: Zone, name: str, test_point: bool = False) -> Asked:
    """One A query; a listing's TXT reason is asked as soon as its A answer is in, not after the canaries.

    A test point's answer is the same for every probed IP, so a pool asks it once for all (`shared`); its
    TXT would only say "test", so it is not asked (one query less per zone, on every run).
    """
    answer = await dns.query(name, "A", shared=test_point)
    reading = read(zone, answer)
    txt = await dns.query(name, "TXT") if reading.outcome == "listed" and not test_point else None
    return Asked(name, answer, reading, txt)


def _test_points(zone: Zone, family: int) -> tuple[str, str, str, str]:
    """(listed point, clean point, their query names) for the family asked (ip zones) or for domains."""
    if zone.kind == "domain":
        listed, clean = zone.test_listed, zone.test_clean
        return listed, clean, f"{listed}.{zone.qzone}", f"{clean}.{zone.qzone}"
    listed, clean = (
        (zone.test_listed, zone.test_clean) if family == 4 else (IPV6_TEST_LISTED, IPV6_TEST_CLEAN)
    )
    return listed, clean, f"{reversed_ip(listed)[1]}.{zone.qzone}", f"{reversed_ip(clean)[1]}.{zone.qzone}"


def _failure_kind(asked: Asked) -> str:
    """The error kind of an answer that is no answer: only a refusal code or REFUSED is a refusal."""
    outcome = asked.reading.outcome
    if outcome == "failed":
        return "refused" if asked.answer.rcode == "REFUSED" else "dns"
    return outcome


def _health(zone: Zone, points: tuple[str, str], listed: Asked, clean: Asked) -> Health | None:
    """What the zone's test points say against trusting it, or None when they hold."""
    listed_point, clean_point = points
    if clean.reading.outcome == "listed":
        return Health(
            "broken",
            "",
            f"lists its test point {clean_point}, which no working list does: the zone is dead or lists "
            "everything (a wildcard); not used",
        )
    for asked, point in ((clean, clean_point), (listed, listed_point)):
        if asked.reading.outcome in ("refused", "rewritten"):
            return Health("error", asked.reading.outcome, asked.reading.error)
        if asked.reading.outcome == "failed":
            message = f"its health check ({point}) got no answer: {asked.reading.error}"
            return Health("error", _failure_kind(asked), message)
    if listed.reading.outcome == "listed":
        return None
    seen = ", ".join(listed.reading.codes) or listed.answer.rcode
    head = f"did not list its test point {listed_point} ({seen})"
    if zone.refuses_public_resolvers:
        advice = "use your own resolver" + (" or a Spamhaus DQS key (--dqs-key)" if zone.dqs else "")
        why = f"{WHY_SILENT[True][0]}; {advice}"
        return Health("error", "silent", f"{head}: {why}", listed_point, seen)
    return Health("error", "canary", f"{head}: {WHY_SILENT[False][0]}", listed_point, seen)


def _plans(zone: Zone, subjects: Sequence[Subject]) -> tuple[list[tuple[Subject, list[str]]], list[Record]]:
    """(subject, the names to ask) for each subject this zone can hold; a skipped record for the others."""
    records: list[Record] = []
    plans: list[tuple[Subject, list[str]]] = []
    for subject in subjects:
        if zone.kind == "ip":
            version, labels = reversed_ip(subject.text)
            if (version == 4 and not zone.ipv4) or (version == 6 and not zone.ipv6):
                note = f"this list holds IPv{10 - version} addresses only"
                records.append(Record(zone, subject, "skipped", note=note))
                continue
            plans.append((subject, [f"{labels}.{zone.qzone}"]))
        else:
            names = [f"{n}.{zone.qzone}" for n in domain_names(subject.text, zone)]
            fitting = [n for n in names if len(n) <= 253]
            if not fitting:
                records.append(Record(zone, subject, "skipped", note="the name is too long to ask this list"))
                continue
            plans.append((subject, fitting))
    return plans, records


# Test point answers already read, per DNS scope (a pool's parent client, or a run's own): a pool reads each
# once, and its IPs then need no task and no await for them.
_POINTS: weakref.WeakKeyDictionary[Dns, dict[tuple[str, str], Asked]] = weakref.WeakKeyDictionary()


async def _ask_all(dns: Dns, zone: Zone, points: tuple[str, str], names: list[str]) -> list[Asked]:
    """The two test points' answers, then one per name: all asked at once (the test points only once per
    DNS scope); a single name is awaited directly, without a task."""
    scope = dns.parent or dns
    known = _POINTS.setdefault(scope, {})
    keys = [(zone.kind, point) for point in points]
    if all(key in known for key in keys):
        canaries = [known[key] for key in keys]
        if len(names) == 1:
            return [*canaries, await _ask(dns, zone, names[0])]
        return [*canaries, *await asyncio.gather(*(_ask(dns, zone, n) for n in names))]
    asked = await asyncio.gather(
        *(_ask(dns, zone, point, test_point=True) for point in points), *(_ask(dns, zone, n) for n in names)
    )
    for key, answer in zip(keys, asked[:2], strict=True):
        known[key] = answer
    return asked


async def assess(dns: Dns, zone: Zone, subjects: Sequence[Subject], redact: Redactor) -> ZoneOutcome:
    """Ask one zone about every subject, with its test points, all at once; then judge."""
    family = reversed_ip(subjects[0].text)[0] if zone.kind == "ip" and subjects else 4
    plans, records = _plans(zone, subjects)
    if not plans:
        return ZoneOutcome(zone, records, [])
    listed_point, clean_point, listed_name, clean_name = _test_points(zone, family)
    names = list(dict.fromkeys(n for _, group in plans for n in group))
    asked = await _ask_all(dns, zone, (listed_name, clean_name), names)
    canary_listed, canary_clean, by_name = asked[0], asked[1], {a.name: a for a in asked[2:]}
    health = _health(zone, (listed_point, clean_point), canary_listed, canary_clean)
    evidence: list[Evidence] = []

    def show(a: Asked, note: str = "") -> None:
        evidence.append(_evidence(a.answer, redact, note))
        if a.txt is not None:
            evidence.append(_evidence(a.txt, redact, "the list's reason"))

    for subject, group in plans:
        mine = [by_name[n] for n in group]
        for a in mine:
            show(a)
        records.append(_judge(zone, subject, mine, health))
    if health is not None or any(r.status == "listed" for r in records):
        show(canary_listed, f"test point {listed_point}: must be listed")
        show(canary_clean, f"test point {clean_point}: must not be listed")
    return ZoneOutcome(zone, records, evidence, health)


def _judge(zone: Zone, subject: Subject, asked: list[Asked], health: Health | None) -> Record:
    record = Record(zone, subject, "clean", query=asked[0].name if asked else "")
    if health is not None and health.status == "broken":
        record.status, record.error = "broken", health.message
        return record
    listed = [a for a in asked if a.reading.outcome == "listed"]
    failed = [a for a in asked if a.reading.outcome in ("refused", "rewritten", "failed")]
    if failed:
        first = failed[0]
        record.status, record.query, record.error_kind = "error", first.name, _failure_kind(first)
        record.error, record.codes = first.reading.error, list(first.reading.codes)
        return record
    if health is not None:
        record.status, record.error_kind, record.error = health.status, health.kind, health.message
        return record
    if listed:
        record.status, record.query = "listed", listed[0].name
        record.codes = list(unique(c for a in listed for c in a.reading.codes))
        record.meaning = "; ".join(unique(m for a in listed for m in a.reading.meanings))
        reasons = [t for a in listed if a.txt is not None and a.txt.ok for t in a.txt.texts]
        record.reason = "; ".join(unique(reasons))
        if len(listed) == 1 and listed[0].name != asked[0].name:
            record.note = f"listed as {listed[0].name.removesuffix('.' + zone.qzone)}"
        return record
    infos = [m for a in asked for m in a.reading.meanings]
    record.meaning = "; ".join(unique(infos))
    return record


def _evidence(answer: Answer, redact: Redactor, note: str) -> Evidence:
    item = answer.evidence(note)
    item.query = redact(item.query)
    item.note = redact(item.note)
    return item
