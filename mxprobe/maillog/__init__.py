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

from mxprobe.maillog.records import (
    CACHE_SIZE,
    FAILURES,
    OUTBOUND,
    POSTFIX,
    REPLIES_PER_CAUSE,
    STATUSES,
    LogReader,
    Record,
    looks_like_log,
    parse_records,
)
from mxprobe.maillog.summary import CachedMatcher, Summary, record_reply

__all__ = [
    "CACHE_SIZE", "FAILURES", "OUTBOUND", "POSTFIX", "REPLIES_PER_CAUSE", "STATUSES", "CachedMatcher",
    "LogReader", "Record", "Summary", "looks_like_log", "parse_records", "record_reply",
]  # fmt: skip
