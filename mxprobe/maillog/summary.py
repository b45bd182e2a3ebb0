"""Matching log replies through a cache, and the summary of a log by cause and destination domain."""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mxprobe.catalogue import Catalogue, Explanation
from mxprobe.maillog.records import (
    CACHE_SIZE,
    FAILURES,
    OUTBOUND,
    REPLIES_PER_CAUSE,
    RUN,
    STATUSES,
    Key,
    LogReader,
    Record,
)
from mxprobe.replies import MAX_LINE, Reply, parse_line, status_reply

# ------------------------------------------------------------------------------------------ matching


class CachedMatcher:
    """The catalogue's `match` behind an LRU keyed by the reply with its variable parts replaced.

    Sound because the key keeps what the matcher reads: the code, the enhanced code, and the text in lower
    case (the matcher ignores case) but for runs holding a digit or an `@`; and such a run is kept when a
    catalogue pattern or tag spells it out whole (`[TSS04]`, `ipv6`, `rfc.5321`). (A pattern piece that
    ends inside a longer variable run, `ipv6` in `xipv6`, would be lost: the catalogue has none.) The key
    also holds the provider markers found in the context (the relay host), which the matcher reads too.
    The cached explanation carries the `input` and `text` of the first reply matched with that key:
    callers that show a reply use their own text.
    """

    def __init__(self, catalogue: Catalogue, size: int = CACHE_SIZE) -> None:
        self._catalogue = catalogue
        self._size = size
        self._cache: OrderedDict[Key, Explanation] = OrderedDict()
        protected: set[str] = set()  # runs a catalogue pattern or tag spells out: kept in the key
        for entry in catalogue.entries:
            for text in (entry.pattern, entry.tag):
                protected.update(RUN.findall(text.lower()[::-1]))
        self._protected = frozenset(protected)
        self._markers: dict[str, tuple[str, ...]] = {}  # by relay host: a log names few, thousands of times
        self.hits = 0
        self.misses = 0

    def _keep(self, run: re.Match[str]) -> str:
        return run[0] if run[0] in self._protected else "#"

    def key(self, reply: Reply, context: str = "") -> Key:
        """(code, enhanced code, the text reversed in lower case with its variable runs replaced by `#`,
        the provider markers in `context`)."""
        text = RUN.sub(self._keep, reply.text[:MAX_LINE].lower()[::-1])
        markers = self._markers.get(context)
        if markers is None:
            if len(self._markers) >= self._size:
                self._markers.clear()
            markers = self._markers[context] = self._catalogue.markers_in(context)
        return reply.code, reply.enhanced, text, markers

    def match(self, reply: Reply, context: str = "") -> tuple[Key, Explanation]:
        key = self.key(reply, context)
        cache = self._cache
        found = cache.get(key)
        if found is not None:
            self.hits += 1
            cache.move_to_end(key)
            return key, found
        self.misses += 1
        found = self._catalogue.match(reply, context=context)
        cache[key] = found
        if len(cache) > self._size:
            cache.popitem(last=False)
        return key, found


def record_reply(record: Record) -> Reply:
    """The record's SMTP reply, or a stand-in from its status code when the line carried none."""
    found = parse_line(record.reply) if record.reply else None
    if found is not None:
        return found
    return status_reply(record.dsn, record.reply, transient=record.status == "deferred")


# ------------------------------------------------------------------------------------------- summary


@dataclass
class _Seen:
    count: int = 0
    first: str = ""
    last: str = ""

    def see(self, time: str) -> None:
        self.count += 1
        if not self.first:
            self.first = time
        self.last = time


@dataclass
class _CauseStats(_Seen):
    # normalised reply -> [count, example reply as written, catalogue entry, specific]
    replies: dict[tuple[int, str, str], list[Any]] = field(default_factory=dict)

    def add_reply(self, key: tuple[int, str, str], record: Record, exp: Explanation) -> None:
        counted = self.replies.get(key)
        if counted is not None:
            counted[0] += 1
            return
        if len(self.replies) >= REPLIES_PER_CAUSE:
            keep = sorted(self.replies.items(), key=lambda kv: -kv[1][0])[: REPLIES_PER_CAUSE // 2]
            self.replies = dict(keep)
        self.replies[key] = [1, record.reply or f"(no reply) {record.dsn}".strip(), exp.entry, exp.specific]


@dataclass
class _DomainStats(_Seen):
    statuses: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)


@dataclass
class _InboundStats(_Seen):
    causes: Counter[str] = field(default_factory=Counter)


class Summary:
    """Counts of a log's delivery records by status, cause and destination domain."""

    def __init__(self, catalogue: Catalogue, cache_size: int = CACHE_SIZE) -> None:
        self.matcher = CachedMatcher(catalogue, cache_size)
        self.statuses: Counter[str] = Counter()
        self.mtas: Counter[str] = Counter()
        self.causes: dict[str, _CauseStats] = {}
        self.domains: dict[str, _DomainStats] = {}
        self.inbound = _InboundStats()
        self.records = 0

    def add(self, record: Record) -> None:
        self.records += 1
        self.statuses[record.status] += 1
        self.mtas[record.mta] += 1
        if record.status == "rejected":  # someone else's mail refused here: not the user's failure
            self.inbound.see(record.time)
            self.inbound.causes[self.matcher.match(record_reply(record), record.relay)[1].cause] += 1
            return
        domain = self.domains.get(record.domain)
        if domain is None:
            domain = self.domains[record.domain] = _DomainStats(first=record.time)
        domain.count += 1  # _Seen.see, inline: this runs for every line of a log
        domain.last = record.time
        domain.statuses[record.status] += 1
        if record.status == "delivered":
            return
        key, exp = self.matcher.match(record_reply(record), record.relay)
        domain.causes[exp.cause] += 1
        cause = self.causes.get(exp.cause)
        if cause is None:
            cause = self.causes[exp.cause] = _CauseStats()
        cause.see(record.time)
        cause.add_reply(key[:3], record, exp)  # one reply whatever the relay it came from

    def add_all(self, records: Iterable[Record]) -> Summary:
        for record in records:
            self.add(record)
        return self

    def to_dict(self, reader: LogReader | None = None) -> dict[str, Any]:
        """The summary as JSON-ready data: the same figures the table shows."""
        failed = sum(self.statuses[s] for s in FAILURES)
        causes = []
        for name, stats in sorted(self.causes.items(), key=lambda kv: (-kv[1].count, kv[0])):
            count, example, entry, specific = max(stats.replies.values(), key=lambda r: r[0])
            causes.append(
                {
                    "cause": name,
                    "count": stats.count,
                    "share": _share(stats.count, failed),
                    "first_seen": stats.first,
                    "last_seen": stats.last,
                    "top_reply": {"reply": example, "count": count, "entry": entry, "specific": specific},
                }
            )
        domains: list[dict[str, Any]] = []
        for name, d in self.domains.items():
            domain_failed = sum(d.statuses[s] for s in FAILURES)
            domains.append(
                {
                    "domain": name,
                    "records": d.count,
                    **{s: d.statuses[s] for s in OUTBOUND},
                    "failed": domain_failed,
                    "share": _share(domain_failed, failed),
                    "top_cause": d.causes.most_common(1)[0][0] if d.causes else "",
                    "causes": dict(d.causes.most_common()),
                    "first_seen": d.first,
                    "last_seen": d.last,
                }
            )
        domains.sort(key=lambda d: (-d["failed"], -d["records"], d["domain"]))
        data: dict[str, Any] = {}
        if reader is not None:
            data.update(lines=reader.lines, skipped=reader.skipped)
        data.update(
            records=self.records,
            mtas=dict(self.mtas.most_common()),
            statuses={s: self.statuses[s] for s in STATUSES},
            failed=failed,
            causes=causes,
            domains=domains,
            inbound_rejects={
                "count": self.inbound.count,
                "first_seen": self.inbound.first,
                "last_seen": self.inbound.last,
                "causes": dict(self.inbound.causes.most_common()),
            },
        )
        return data


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
