"""Delivery records out of Postfix, Exim and Sendmail log lines (see mxprobe/maillog/__init__.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mxprobe.replies import MAX_LINE, parse_line

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
RUN = re.compile(r"[0-9@][^\s<>\[\](){}'\",;]*")
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
