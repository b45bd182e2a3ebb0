"""A generator of Postfix logs with known contents, shared by tests/test_maillog.py and the log benchmark.

`write_postfix_log(out, lines)` writes exactly `lines` lines the way a busy Postfix host logs them: for each
message the smtpd connect, cleanup, qmgr, one delivery attempt (sent, deferred or bounced, with one of the
replies below and its variable parts varied: recipients, IPs, queue ids, Gmail trace ids) and the removal,
plus NOQUEUE rejects between connect and disconnect lines; and it returns what a correct summary must count
(`Expected`): records per status, per cause and per destination domain, and the first and last time per
cause.

The causes are the catalogue's for these replies (each is a real server's text); if the catalogue changes
a cause, the test that compares fails and says which.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

DOMAINS = [f"dest{n}.test" for n in range(1, 21)] + ["gmail.test", "yahoo.test", "163.test"]
SENDER_IP = "203.0.113.9"


@dataclass
class Expected:
    lines: int = 0
    records: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)
    domains: dict[str, Counter[str]] = field(default_factory=dict)  # domain -> status -> count
    first: dict[str, str] = field(default_factory=dict)  # cause -> time of its first record
    last: dict[str, str] = field(default_factory=dict)
    inbound: Counter[str] = field(default_factory=Counter)  # cause -> inbound rejects (not failures)


@dataclass(frozen=True)
class Outcome:
    """One kind of delivery attempt: the log's status, the cause the catalogue gives, how it is logged."""

    status: str  # sent | deferred | bounced
    cause: str  # "" for sent
    weight: int
    dsn: str
    text: Callable[[random.Random, str, str, str], str]  # (rng, recipient, mx, mx ip) -> status text


def _trace(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (
        "".join(rng.choices(alphabet, k=13))
        + "si"
        + str(rng.randrange(10**6, 10**7))
        + "."
        + str(rng.randrange(99))
    )


OUTCOMES = (
    Outcome("sent", "", 50, "2.0.0", lambda r, rcpt, mx, ip: f"250 2.0.0 Ok: queued as {_qid(r)}"),
    Outcome("deferred", "greylist", 12, "4.2.0", lambda r, rcpt, mx, ip: (
        f"host {mx}[{ip}] said: 450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see "
        f"http://postgrey.schweikert.ch/help/{rcpt.partition('@')[2]}.html (in reply to RCPT TO command)")),
    Outcome("bounced", "recipient", 10, "5.1.1", lambda r, rcpt, mx, ip: (
        f"host {mx}[{ip}] said: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual "
        "mailbox table (in reply to RCPT TO command)")),
    Outcome("deferred", "ptr", 8, "4.7.0", lambda r, rcpt, mx, ip: (
        f"host {mx}[{ip}] said: 421-4.7.0 [{SENDER_IP}      15] The IP address sending this message does not "
        "have a PTR record, or the corresponding forward DNS entry does not point to the sending IP. To "
        "protect our users from spam, mail sent from your IP address has been temporarily rate limited. "
        "For more information, go to 421 4.7.0  https://support.google.com/mail/?p=IPReverseDNS "
        f"{_trace(r)} - gsmtp (in reply to end of DATA command)")),
    Outcome("bounced", "blocklist", 6, "5.7.1", lambda r, rcpt, mx, ip: (
        f"host {mx}[{ip}] said: 554 5.7.1 Service unavailable; Client host [{SENDER_IP}] blocked using "
        f"zen.spamhaus.org; https://www.spamhaus.org/query/ip/{SENDER_IP} (in reply to RCPT TO command)")),
    Outcome("deferred", "reputation", 5, "4.7.0", lambda r, rcpt, mx, ip: (
        f"host {mx}[{ip}] said: 421 4.7.0 [TSS04] Messages from {SENDER_IP} temporarily deferred due to "
        f"unexpected volume or user complaints - 4.16.55.{r.randrange(9)}; see "
        "https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)")),
    Outcome("deferred", "network", 5, "4.4.1", lambda r, rcpt, mx, ip: (
        f"connect to {mx}[{ip}]:25: Connection timed out")),
    Outcome("bounced", "spf", 3, "5.0.0", lambda r, rcpt, mx, ip: (
        f"host {mx}[{ip}] said: 550 MI:SPF mx{r.randrange(30)},QsCowAD{_qid(r)}--.{r.randrange(99999)}S2 "
        f"{r.randrange(10**9, 2 * 10**9)} http://mail.163.com/help/help_spam_16.htm?ip={SENDER_IP}&hostid="
        f"mx{r.randrange(30)}&time={r.randrange(10**9, 2 * 10**9)} (in reply to RCPT TO command)")),
    Outcome("deferred", "mailbox", 1, "4.2.2", lambda r, rcpt, mx, ip: (
        f"host {mx}[{ip}] said: 452 4.2.2 The email account that you tried to reach is over quota. Please "
        f"direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp {_trace(r)} - gsmtp "
        "(in reply to RCPT TO command)")),
)  # fmt: skip
REJECT_CAUSE = "ptr"  # NOQUEUE: reject ... cannot find your reverse hostname


def _qid(rng: random.Random) -> str:
    return "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz", k=12))


def _ip(rng: random.Random) -> str:
    return f"198.51.100.{rng.randrange(1, 255)}"


def _time(at: datetime) -> str:
    return f"{at:%b} {at.day:>2} {at:%H:%M:%S}"


def write_postfix_log(out: TextIO, lines: int, *, seed: int = 5, noise: bool = True) -> Expected:
    """Write exactly `lines` lines of Postfix log to `out`; return what they hold.

    `noise=False` writes only the lines that carry a delivery record (the benchmark's worst case).
    """
    rng = random.Random(seed)
    outcomes = list(OUTCOMES)
    weights = [o.weight for o in outcomes]
    expected = Expected()
    at = datetime(2025, 3, 3, 0, 0, 0)

    def record(status: str, cause: str, domain: str, when: str) -> None:
        expected.records += 1
        expected.statuses[status] += 1
        if status == "rejected":
            expected.inbound[cause] += 1
            return
        expected.domains.setdefault(domain, Counter())[status] += 1
        if cause:
            expected.causes[cause] += 1
            expected.first.setdefault(cause, when)
            expected.last[cause] = when

    written = 0
    while written < lines:
        at += timedelta(seconds=rng.randrange(0, 3))
        now = _time(at)
        head = f"{now} mx1 postfix"
        qid, pid = _qid(rng), rng.randrange(1000, 99999)
        domain = rng.choice(DOMAINS)
        rcpt = f"{rng.choice(('ann', 'bo', 'cy', 'di', 'ed'))}.{rng.randrange(100000)}@{domain}"
        client = _ip(rng)
        if rng.randrange(12) == 0:
            episode = [
                (f"{head}/smtpd[{pid}]: connect from unknown[{client}]", None),
                (f"{head}/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[{client}]: 450 4.7.1 Client host "
                 f"rejected: cannot find your reverse hostname, [{client}]; from=<news@{client}.example> "
                 f"to=<{rcpt}> proto=ESMTP helo=<[{client}]>", ("rejected", REJECT_CAUSE, domain)),
                (f"{head}/smtpd[{pid}]: disconnect from unknown[{client}] ehlo=1 mail=1 rcpt=0/1 quit=1 "
                 "commands=3/4", None),
            ]  # fmt: skip
        else:
            outcome = rng.choices(outcomes, weights)[0]
            mx, mx_ip = f"mx{rng.randrange(1, 4)}.{domain}", _ip(rng)
            relay = "none" if outcome.cause == "network" else f"{mx}[{mx_ip}]:25"
            delivery = (
                f"{head}/smtp[{pid + 1}]: {qid}: to=<{rcpt}>, relay={relay}, delay=1.{rng.randrange(9)}, "
                f"delays=0.1/0/0.{rng.randrange(9)}/0.2, dsn={outcome.dsn}, status={outcome.status} "
                f"({outcome.text(rng, rcpt, mx, mx_ip)})"
            )
            status = "delivered" if outcome.status == "sent" else outcome.status
            app = f"app.bounce.test[10.0.0.{rng.randrange(2, 50)}]"
            episode = [
                (f"{head}/smtpd[{pid}]: connect from {app}", None),
                (f"{head}/smtpd[{pid}]: {qid}: client={app}", None),
                (f"{head}/cleanup[{pid + 2}]: {qid}: message-id=<{qid}@app.bounce.test>", None),
                (f"{head}/qmgr[812]: {qid}: from=<news@bounce.test>, size={rng.randrange(900, 90000)}, "
                 "nrcpt=1 (queue active)", None),
                (delivery, (status, outcome.cause, domain)),
                (f"{head}/qmgr[812]: {qid}: removed", None),
                (f"{head}/smtpd[{pid}]: disconnect from {app} ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
                 None),
            ]  # fmt: skip
        for line, fact in episode:
            if written == lines:
                break
            if fact is None and not noise:
                continue
            out.write(line + "\n")
            written += 1
            if fact is not None:
                record(*fact, now)
    expected.lines = written
    return expected
