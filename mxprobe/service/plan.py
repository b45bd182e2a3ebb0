"""The "What to do" of a report: one deduplicated plan, grouped by who must act, most urgent first.

Receivers refuse at the connection for a listing or a missing PTR, at HELO, at MAIL FROM (SPF), then after
DATA (DMARC, DKIM): actions are ordered so (failures before warnings before checks that could not run), and
each group (the blocklists, the owner of the sending IP, the DNS host of a domain, the receiver, you) comes
where its most urgent action is. Records to publish are taken whole from the checks' fixes (the text between
backquotes that is a zone line), so the plan shows exactly what the checks computed; names come from the run
(the IP, the domain, the reverse zone's SOA, the list and its removal page), never placeholders.

Builds data only: `mxprobe.render.plan` draws it, the JSON carries it as `plan`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TypedDict

from mxprobe.model import CheckResult, Status
from mxprobe.registry import Cause, CheckId
from mxprobe.report import Report
from mxprobe.words import say


class Actor(enum.StrEnum):
    BLOCKLIST = "blocklist"
    IP_OWNER = "ip-owner"
    DNS_HOST = "dns-host"
    RECEIVER = "receiver"
    YOU = "you"


# The order in which a receiver would refuse: connection (lists, PTR), HELO, MAIL FROM, after DATA.
REFUSAL_ORDER = (
    CheckId.DNSBL, CheckId.PTR, CheckId.FCRDNS, CheckId.HELO, CheckId.SPF, CheckId.SPF_RECORD,
    CheckId.DMARC, CheckId.DKIM, CheckId.DBL, CheckId.MX, CheckId.SMTP, CheckId.TLS, CheckId.DANE,
    CheckId.MTA_STS, CheckId.TLS_RPT, CheckId.DNSSEC,
)  # fmt: skip
_STATUS_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.ERROR: 2}
_DNS_CHECKS = {
    CheckId.SPF, CheckId.SPF_RECORD, CheckId.DMARC, CheckId.DKIM, CheckId.MX, CheckId.MTA_STS,
    CheckId.TLS_RPT, CheckId.DNSSEC, CheckId.DANE, CheckId.FCRDNS,
}  # fmt: skip
_LISTS = {CheckId.DNSBL, CheckId.DBL}
_RECEIVER_CAUSES = {
    Cause.SERVER,
    Cause.RECIPIENT,
    Cause.MAILBOX,
    Cause.POLICY,
    Cause.RATE,
    Cause.GREYLIST,
    Cause.SIZE,
    Cause.LOOP,
}
_QUOTED = re.compile(r"`([^`]+)`")
_ZONE_LINE = re.compile(r"^\S+\.\s+(?:\d+\s+)?(?:IN\s+)?[A-Z][A-Z0-9]*\s+\S.*$")
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")  # "e.g. unbound" is no sentence end


class ActionDict(TypedDict):
    check: str
    status: str
    text: str
    records: list[str]
    links: list[str]


class GroupDict(TypedDict):
    """One item of the JSON key `plan`: who must act, and what."""

    actor: str  # blocklist | ip-owner | dns-host | receiver | you
    who: str
    contact: str
    actions: list[ActionDict]


@dataclass(frozen=True)
class Action:
    check: str  # the check id whose result asks for it
    status: Status
    text: str  # what to do, in the run's language; records are quoted in it between backquotes
    records: tuple[str, ...] = ()  # zone lines to publish exactly as given
    links: tuple[str, ...] = ()  # lookup / removal pages

    def to_dict(self) -> ActionDict:
        return {"check": self.check, "status": self.status.value, "text": self.text,
                "records": list(self.records), "links": list(self.links)}  # fmt: skip


@dataclass
class Group:
    actor: Actor
    who: str  # the party, named from the run: "zen.spamhaus.org", "the DNS host of example.com", ...
    contact: str = ""  # how to reach them when the run knows (the reverse zone's SOA, postmaster@)
    actions: list[Action] = field(default_factory=list)

    def to_dict(self) -> GroupDict:
        return {"actor": self.actor.value, "who": self.who, "contact": self.contact,
                "actions": [a.to_dict() for a in self.actions]}  # fmt: skip


def records_in(text: str) -> tuple[str, ...]:
    """The zone lines quoted in a fix (`name. TYPE data`), in order, each once."""
    found = [m.group(1).strip() for m in _QUOTED.finditer(text)]
    return tuple(dict.fromkeys(r for r in found if _ZONE_LINE.match(r)))


def _rank(check: CheckResult) -> tuple[int, int]:
    order = REFUSAL_ORDER.index(CheckId(check.id)) if check.id in REFUSAL_ORDER else len(REFUSAL_ORDER)
    return _STATUS_ORDER.get(check.status, 3), order


class _Builder:
    def __init__(self, report: Report, lang: str, nameservers: list[str]) -> None:
        self.report = report
        self.lang = lang
        self.nameservers = nameservers
        self.groups: dict[tuple[Actor, str], Group] = {}
        self.seen: set[str] = set()

    def add(self, actor: Actor, who: str, action: Action, contact: str = "") -> None:
        key = action.text if not action.records else "\n".join(action.records)
        if key in self.seen:
            return  # ptr and fcrdns both ask for the same PTR: once is enough
        self.seen.add(key)
        group = self.groups.setdefault((actor, who), Group(actor, who, contact))
        group.contact = group.contact or contact
        group.actions.append(action)

    def domain_host(self, records: tuple[str, ...]) -> str:
        """The DNS host who publishes `records`: the sending domain's, or the one of the record's zone."""
        domain = self.report.target.domain
        owner = records[0].split()[0].rstrip(".").lower() if records else ""
        if domain and (not owner or owner == domain or owner.endswith("." + domain)):
            return domain
        return owner.split(".", 1)[-1] if owner.count(".") > 1 else owner or (domain or "")

    def check(self, check: CheckResult) -> None:
        check_id = CheckId(check.id) if check.id in CheckId.__members__.values() else None
        if check_id in (CheckId.SMTP, CheckId.TLS) and self._receivers(check):
            self.handshake(check)
        elif check.status == Status.ERROR:
            self.add(Actor.YOU, "", Action(check.id, check.status, self._error_fix(check)))
        elif check_id == CheckId.PTR:
            self.ptr(check)
        elif check_id in _LISTS:
            self.listings(check)
        elif check_id in (CheckId.SMTP, CheckId.TLS):
            self.handshake(check)
        elif check.fix:
            records = records_in(check.fix)
            if check_id in _DNS_CHECKS or (check_id == CheckId.HELO and records):
                who = self.domain_host(records)
                text = self._spf_text(records) if check_id == CheckId.SPF else check.fix
                self.add(Actor.DNS_HOST, who, Action(check.id, check.status, text, records))
            else:
                self.add(Actor.YOU, "", Action(check.id, check.status, check.fix, records))

    def ptr(self, check: CheckResult) -> None:
        ip = str(check.details.get("ip", self.report.target.ip or ""))
        zone = check.details.get("reverse_zone") or {}
        contact = say(self.lang, "sep").join(
            say(self.lang, f"soa-{key}", value=zone[key])
            for key in ("zone", "primary", "contact")
            if zone.get(key)
        )
        records = records_in(check.fix)
        ptr = next((r for r in records if " PTR " in f" {r} "), "")
        if not ptr:
            self.add(Actor.IP_OWNER, ip, Action(check.id, check.status, check.fix, records), contact)
            return
        text = say(self.lang, "set-ptr", ip=ip)
        self.add(Actor.IP_OWNER, ip, Action(check.id, check.status, text, (ptr,)), contact)
        name = ptr.split()[-1].rstrip(".")
        address = f"{name}. {'AAAA' if ':' in ip else 'A'} {ip}"
        text = say(self.lang, "confirm-ptr", name=name, ip=ip)
        self.add(
            Actor.DNS_HOST, self.domain_host((address,)), Action(check.id, check.status, text, (address,))
        )

    def listings(self, check: CheckResult) -> None:
        listed = [
            z for z in check.details.get("zones", []) if isinstance(z, dict) and z.get("status") == "listed"
        ]
        for zone in listed:
            subject = str(zone.get("domain") or zone.get("ip") or self.report.target.ip or "")
            meaning = str(zone.get("reason") or zone.get("meaning") or "")
            why = say(self.lang, "why", why=meaning) if meaning else ""
            links = (str(zone["url"]),) if zone.get("url") else ()
            how = say(self.lang, "delist-link" if links else "delist-nolink")
            text = say(self.lang, "delist", subject=subject, why=why, how=how)
            name = str(zone.get("name") or "")
            who = (
                f"{zone.get('zone', '')} ({name})"
                if name and name != zone.get("zone")
                else str(zone.get("zone"))
            )
            self.add(Actor.BLOCKLIST, who, Action(check.id, check.status, text, (), links))
        if not listed and check.fix:
            self.add(Actor.YOU, "", Action(check.id, check.status, self._error_fix(check)))

    def handshake(self, check: CheckResult) -> None:
        """The handshake's advice: nothing more when a DNS check already proved the refusal (its own action is
        in the plan); the receiver's when its reply says the fault is theirs; else yours."""
        smtp = self.report.smtp
        if not check.fix:
            return
        cause = getattr(smtp, "cause", None) if check.id == CheckId.SMTP else None
        proof = getattr(smtp, "confirmed_by", None) if check.id == CheckId.SMTP else None
        if proof and any(c.id == proof and c.status in _STATUS_ORDER for c in self.report.checks):
            return
        if cause in _RECEIVER_CAUSES or self._receivers(check) or "postmaster" in check.fix.lower():
            host = str(getattr(smtp, "host", "") or "")
            domain = str(getattr(smtp, "domain", "") or "")
            contact = f"postmaster@{domain}" if domain else ""
            self.add(Actor.RECEIVER, host or domain, Action(check.id, check.status, check.fix), contact)
        else:
            self.add(Actor.YOU, "", Action(check.id, check.status, check.fix, records_in(check.fix)))

    def _receivers(self, check: CheckResult) -> bool:
        """A fault of the receiving server itself: it broke the SMTP protocol (a reply out of step, mixed
        codes, not SMTP, too long) or its TLS failed. Its fix names the receiver's postmaster, whatever the
        status (a protocol fault leaves the smtp check in error, not failed)."""
        from mxprobe.smtp.result import OUT_OF_STEP, TLS  # the handshake ran: mxprobe.smtp is loaded

        smtp = self.report.smtp
        step = smtp.verdict_step if smtp is not None and smtp.host is not None else None
        if not check.fix or step is None:
            return False
        return step.fault in OUT_OF_STEP or step.fault == TLS

    def _spf_text(self, records: tuple[str, ...]) -> str:
        """`Authorize 198.51.100.20 in the SPF record of example.com:` above the record the check computed."""
        ip = self.report.target.ip
        spf = [r for r in records if " TXT " in f" {r} " and "v=spf1" in r]
        if len(spf) != 1 or not ip:
            return " ".join(f"`{r}`" for r in records)
        return say(self.lang, "authorize-spf", ip=ip, domain=spf[0].split()[0].rstrip("."))

    def _error_fix(self, check: CheckResult) -> str:
        """The check's advice; a user who already gave --nameserver is not told to give --nameserver."""
        fix = check.fix or say(self.lang, "retry", check=check.id)
        if not self.nameservers or "--nameserver" not in fix:
            return fix
        kept = [s for s in _SENTENCES.split(fix) if "--nameserver" not in s]
        kept.insert(0, say(self.lang, "own-resolver", nameservers=", ".join(self.nameservers)))
        return " ".join(kept)


def build(report: Report, lang: str = "en", nameservers: list[str] | None = None) -> list[Group]:
    """The plan of `report`: groups of actions, the group of the most urgent action first."""
    builder = _Builder(report, lang, nameservers or [])
    flagged = [c for c in report.checks if c.status in _STATUS_ORDER]
    for check in sorted(flagged, key=_rank):
        builder.check(check)
    return list(builder.groups.values())
