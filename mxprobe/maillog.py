"""Mail logs: delivery records out of Postfix, Exim and Sendmail logs, and their summary by cause and domain.

One pass over the lines, memory flat in the size of the log: a line is read, recognised and counted, then
dropped. The summary keeps counters per status, cause and destination domain, the first and last time seen
(as written in the log: logs are in time order, so no date parsing), and per cause the replies met most
often, with one example each (their number is bounded: when a cause has too many different replies, the
rarest are forgotten, which can only undercount a reply that was rare when it was forgotten).

What is recognised (each line tested with `in` first, so the many lines that are none of these cost little):
- Postfix delivery agents: `QUEUEID: to=<rcpt>, relay=host[ip]:port, ..., dsn=X.Y.Z, status=sent|deferred|
  bounced (text)`; the reply is what follows `said:` or `refused to talk to me:`, without Postfix's
  `(in reply to ... command)`; a failure without a reply (a timeout) is explained by its dsn.
- Postfix smtpd and postscreen rejects: `NOQUEUE: reject: RCPT from host[ip]: 450 4.7.1 ...; from=<a>
  to=<b> ...` (the status is `rejected`; the relay is the client that was refused).
- Exim: `** rcpt ... SMTP error from remote mail server after ...: 550 ...` (bounced), `== rcpt ... defer
  (...)` (deferred), `=>`/`->` (delivered).
- Sendmail: `QUEUEID: to=<rcpt>, ..., relay=..., dsn=X.Y.Z, stat=Sent|Deferred: ...|reason`.
- Inbound rejects of Exim (`H=host [ip] F=<a> rejected RCPT <b>: reason`) and Sendmail (`ruleset=check_rcpt,
  arg1=<b>, relay=host [ip], reject=550 ...`): status `rejected`, like Postfix's NOQUEUE rejects.

A `rejected` record is mail from someone else that this server refused, not a failure of the user's own
mail: the summary counts such records apart (`inbound_rejects`), out of the failures, causes and domains.

Speed: replies are matched through `CachedMatcher`, an LRU keyed by the reply with its variable parts
(addresses, IPs, numbers, ids) replaced, so a log's thousands of copies of one reply are matched once.

The relay host is given to the matcher as context: a provider's entry whose words other servers send too
(Gmail's "Try again later, closing connection") counts only when a marker of that provider occurs, and the
relay (`gmail-smtp-in.l.google.com`) is often where it does.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mxprobe.catalogue import Catalogue, Explanation
from mxprobe.replies import MAX_LINE, Reply, parse_line, status_reply

POSTFIX = "postfix"
STATUSES = ("delivered", "deferred", "bounced", "rejected")
OUTBOUND = STATUSES[:3]  # the user's own mail; `rejected` is other people's mail this server refused
FAILURES = ("deferred", "bounced")
CACHE_SIZE = 4096  # distinct normalised replies kept matched
REPLIES_PER_CAUSE = 256  # distinct normalised replies counted per cause

_SYSLOG_TIME = r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}"
_ISO_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
_PREFIX = rf"(?P<time>{_SYSLOG_TIME}|{_ISO_TIME}) \S+ "
_POSTFIX = r"postfix[\w.-]*(?:/[\w.-]+)*\[[0-9]+\]: "
_POSTFIX_DELIVERY = re.compile(
    _PREFIX + _POSTFIX + r"(?P<qid>[0-9A-Za-z]+): to=<(?P<rcpt>[^>]*)>,.*? relay=(?P<relay>[^,]*),"
    r".*? dsn=(?P<dsn>[0-9.]+), status=(?P<status>[a-z]+)"
    r"(?: \((?:host \S+ (?:said|refused to talk to me): )?(?P<text>.*)\))?"
)
_POSTFIX_REJECT = re.compile(
    _PREFIX + _POSTFIX + r"(?P<qid>[0-9A-Za-z]+): (?:milter-)?reject: (?P<cmd>[A-Z][A-Z-]*) from "
    r"(?P<client>[^\s:]*?\[[^\]]*\]|[^\s:]+)(?::[0-9]+)?: (?P<text>.*)"
)
_POSTFIX_STATUS = {"sent": "delivered", "deferred": "deferred", "bounced": "bounced"}
_ENVELOPE = re.compile(r";? from=<(?P<from>[^>]*)>,? to=<(?P<to>[^>]*)>")
_EXIM_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?: [+-][0-9]{4})?"
_EXIM = re.compile(
    rf"(?:(?P<time>{_EXIM_TIME})|(?P<stime>{_SYSLOG_TIME}|{_ISO_TIME}) \S+ exim[\w.-]*(?:\[[0-9]+\])?:)"
    r"(?: \[[0-9]+\])? (?P<qid>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) (?P<flag>\*\*|==|=>|->) "
    r"(?P<rcpt>[^\s:]+):?(?P<rest>.*)"
)
_EXIM_STATUS = {"**": "bounced", "==": "deferred", "=>": "delivered", "->": "delivered"}
_EXIM_HOST = re.compile(r" H=(\S+) \[([^\]]+)\]")
_EXIM_SMTP_ERROR = "SMTP error from remote mail server after "
# `defer (110): Connection timed out`: a positive number is the errno of a connection that failed, which
# Postfix and RFC 3463 call 4.4.1 (no answer from host); negative ones are Exim's own (-44: an SMTP 4xx).
_EXIM_ERRNO = re.compile(r" defer \([1-9][0-9]*\)")
_SENDMAIL = re.compile(
    _PREFIX + r"sendmail\[[0-9]+\]: (?P<qid>[0-9A-Za-z]+): to=(?P<rcpt>.+?), .*?dsn=(?P<dsn>[0-9.]+), "
    r"stat=(?P<stat>.*)"
)
_SENDMAIL_REJECT = re.compile(
    _PREFIX + r"sendmail\[[0-9]+\]: (?P<qid>[0-9A-Za-z]+): (?:ruleset=(?P<ruleset>[\w]+), )?"
    r"(?:arg1=(?P<arg>[^,]*), )?.*?reject=(?P<text>.*)"
)
_EXIM_REJECT = re.compile(
    rf"(?:(?P<time>{_EXIM_TIME})|(?P<stime>{_SYSLOG_TIME}|{_ISO_TIME}) \S+ exim[\w.-]*(?:\[[0-9]+\])?:)"
    r"(?: \[[0-9]+\])?(?: [0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})?"
    r"(?: H=(?P<host>\S+)(?: \([^)]*\))? \[(?P<ip>[^\]]+)\](?::[0-9]+)?)?.*? (?:temporarily )?rejected "
    r"(?P<cmd>[A-Z]+|connection)(?: <(?P<rcpt>[^>]*)>)?[^:]*: (?P<text>.*)"
)
_SENDMAIL_RELAY = re.compile(r", relay=([^,]*)")
_ADDRESS = re.compile(r"<?([^<>,\s]+@[^<>,\s]+?)>?(?=,|$)")
_LOG_LINE = re.compile(rf"(?:{_SYSLOG_TIME}|{_ISO_TIME}|{_EXIM_TIME}) ")
# What varies between copies of one reply: runs of text holding a digit or an `@` (addresses, IPs, queue ids,
# Gmail's trace ids). Matched on the reversed text, so that a run starts at a digit (a fast scan) and takes
# the whole word before it: `si1234567.12` in `abcsi1234567.12` reversed is `21.7654321iscba`.
_RUN = re.compile(r"[0-9@][^\s<>\[\](){}'\",;]*")
# A reply as the cache knows it: code, enhanced code, normalised text, provider markers around it.
Key = tuple[int, str, str, tuple[str, ...]]


@dataclass(slots=True)
class Record:
    """One delivery attempt as the log line tells it; `reply` is "" when the line carries no SMTP reply."""

    time: str
    queue_id: str
    recipient: str
    domain: str  # the recipient's domain, lower case
    relay: str  # the other side: the receiving host (deliveries) or the refused client (rejects)
    relay_ip: str
    status: str  # one of STATUSES
    reply: str
    dsn: str  # the status code the MTA logged ("" when none)
    mta: str  # postfix | exim | sendmail


def looks_like_log(head: str) -> bool:
    """Whether most of the first non-blank lines of a text start with a log timestamp."""
    lines = [line for line in head.splitlines()[:200] if line.strip()][:50]
    hits = sum(1 for line in lines if _LOG_LINE.match(line))
    return hits > 0 and hits * 2 >= len(lines)


def parse_records(line: str) -> list[Record]:
    """The delivery records of one log line (several for a Sendmail line with several recipients)."""
    if " status=" in line:
        record = _postfix_delivery(line)
        return [record] if record is not None else []
    if "reject: " in line:
        record = _postfix_reject(line)
        return [record] if record is not None else []
    if " stat=" in line:
        return _sendmail(line)
    if " reject=" in line:
        record = _sendmail_reject(line)
        return [record] if record is not None else []
    if "rejected " in line:
        record = _exim_reject(line)
        return [record] if record is not None else []
    if " ** " in line or " == " in line or " => " in line or " -> " in line:
        record = _exim(line)
        return [record] if record is not None else []
    return []


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _relay(text: str) -> tuple[str, str]:
    """`mx.example.net[192.0.2.1]:25` -> (`mx.example.net`, `192.0.2.1`); Postfix's `none` -> ("", "")."""
    name, _, rest = text.partition("[")
    name = name.rstrip(".")
    return "" if name == "none" else name, rest.partition("]")[0]


def _postfix_delivery(line: str) -> Record | None:
    m = _POSTFIX_DELIVERY.match(line)
    if m is None:
        return None
    status = _POSTFIX_STATUS.get(m["status"])
    if status is None:  # address verification probes, expired messages: no delivery
        return None
    reply = m["text"] or ""
    tail = reply.rfind(" (in reply to ")
    if tail > 0:
        reply = reply[:tail]
    relay, relay_ip = _relay(m["relay"])
    rcpt = m["rcpt"]
    return Record(
        m["time"], m["qid"], rcpt, _domain(rcpt), relay, relay_ip, status, reply, m["dsn"], "postfix"
    )


def _postfix_reject(line: str) -> Record | None:
    m = _POSTFIX_REJECT.match(line)
    if m is None:
        return None
    text = m["text"]
    envelope = _ENVELOPE.search(text)
    rcpt = ""
    if envelope is not None:
        rcpt = envelope["to"]
        text = text[: envelope.start()]
    else:
        text = text.partition("; proto=")[0]
    client, client_ip = _relay(m["client"])
    return Record(
        m["time"], m["qid"], rcpt, _domain(rcpt), client, client_ip, "rejected", text, "", "postfix"
    )


def _exim_reject(line: str) -> Record | None:
    m = _EXIM_REJECT.match(line)
    if m is None:
        return None
    host = m["host"] or ""
    rcpt = m["rcpt"] or ""
    return Record(
        m["time"] or m["stime"], "", rcpt, _domain(rcpt), host.strip("()"), m["ip"] or "", "rejected",
        m["text"].strip(), "", "exim",
    )  # fmt: skip


def _sendmail_reject(line: str) -> Record | None:
    m = _SENDMAIL_REJECT.match(line)
    if m is None:
        return None
    rcpt = ""
    if m["ruleset"] == "check_rcpt" and m["arg"]:
        found = _ADDRESS.search(m["arg"])
        rcpt = found[1] if found else ""
    relay_match = _SENDMAIL_RELAY.search(line[: m.start("text")])
    relay, relay_ip = _sendmail_relay(relay_match[1]) if relay_match else ("", "")
    return Record(
        m["time"], m["qid"], rcpt, _domain(rcpt), relay, relay_ip, "rejected", m["text"], "", "sendmail"
    )


def _sendmail_relay(text: str) -> tuple[str, str]:
    """`mx.example.net. [192.0.2.1]` (or `[192.0.2.1]`) -> (`mx.example.net`, `192.0.2.1`)."""
    return _relay(text.replace(". [", "[").replace(" [", "[").partition(" (")[0])


def _exim(line: str) -> Record | None:
    m = _EXIM.match(line)
    if m is None:
        return None
    rest = m["rest"]
    host = _EXIM_HOST.search(rest)
    error = rest.find(_EXIM_SMTP_ERROR)
    status = _EXIM_STATUS[m["flag"]]
    dsn = ""
    if status == "delivered":
        reply = rest.partition(' C="')[2].rstrip('"')  # the receiver's 250, when logged
    elif error >= 0:  # `SMTP error from remote mail server after RCPT TO:<a@b>: 550 ...`
        reply = rest[error + len(_EXIM_SMTP_ERROR) :]
        found = parse_line(reply)
        reply = reply[reply.index(found.raw[:3]) :] if found is not None else reply
    elif ": " in rest:  # `defer (110): Connection timed out`
        reply = rest.rpartition(": ")[2].strip()
        dsn = "4.4.1" if status == "deferred" and _EXIM_ERRNO.search(rest) else ""
    else:  # `** a@b: Unrouteable address` (the colon went with the address)
        reply = rest.strip() if "=" not in rest else ""
    rcpt = m["rcpt"]
    return Record(
        m["time"] or m["stime"],
        m["qid"],
        rcpt,
        _domain(rcpt),
        host[1] if host else "",
        host[2] if host else "",
        status,
        reply,
        dsn,
        "exim",
    )


def _sendmail(line: str) -> list[Record]:
    m = _SENDMAIL.match(line)
    if m is None:
        return []
    stat, dsn = m["stat"], m["dsn"]
    if stat.startswith("Sent"):
        status = "delivered"
    elif stat.startswith("Deferred") or dsn.startswith("4"):
        status = "deferred"
    else:
        status = "bounced"
    reply = stat.removeprefix("Deferred: ") if status != "delivered" else stat
    relay_match = _SENDMAIL_RELAY.search(line)
    relay, relay_ip = _sendmail_relay(relay_match[1]) if relay_match else ("", "")
    return [
        Record(m["time"], m["qid"], rcpt, _domain(rcpt), relay, relay_ip, status, reply, dsn, "sendmail")
        for rcpt in _ADDRESS.findall(m["rcpt"])
    ]


# ------------------------------------------------------------------------------------------- reading


@dataclass
class LogReader:
    """Streams the records of a log and counts the lines that held none (for "skipped N lines")."""

    lines: int = 0  # non-blank lines read
    used: int = 0  # lines that held a record

    @property
    def skipped(self) -> int:
        return self.lines - self.used

    def records(self, lines: Iterable[str]) -> Iterator[Record]:
        for line in lines:
            if not line or line.isspace():
                continue
            self.lines += 1
            found = parse_records(line[:MAX_LINE].rstrip("\r\n"))
            if found:
                self.used += 1
                yield from found


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
                protected.update(_RUN.findall(text.lower()[::-1]))
        self._protected = frozenset(protected)
        self._markers: dict[str, tuple[str, ...]] = {}  # by relay host: a log names few, thousands of times
        self.hits = 0
        self.misses = 0

    def _keep(self, run: re.Match[str]) -> str:
        return run[0] if run[0] in self._protected else "#"

    def key(self, reply: Reply, context: str = "") -> Key:
        """(code, enhanced code, the text reversed in lower case with its variable runs replaced by `#`,
        the provider markers in `context`)."""
        text = _RUN.sub(self._keep, reply.text[:MAX_LINE].lower()[::-1])
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
