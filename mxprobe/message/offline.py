"""What a message says without asking DNS: the path, the receiver's results, ARC as written, the spam verdict.

This is the whole report without `--check` (nothing touches the network), and the first half of it with.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass

from mxprobe.message import arc as arc_module
from mxprobe.message import authres, policy, received, spam, verify
from mxprobe.message.fields import Message, address, decoded
from mxprobe.message.report import Identity, MessageReport
from mxprobe.message.shapes import DifferenceDict, NotChecked
from mxprobe.model import CheckResult

NOT_CHECKED: NotChecked = "not checked"
HINT = "add --check to verify DKIM, SPF and DMARC now and to check the delivering IP (uses DNS)"


@dataclass
class Seen:
    """The parts read from the headers alone."""

    identity: Identity
    chain: received.Chain
    results: list[authres.AuthResult]
    trusted_id: str
    trusted_why: str
    arc: arc_module.Arc
    spam: list[spam.Verdict]
    notes: list[str]

    def report(
        self,
        spf: policy.SpfNow,
        dkim: list[verify.Signature],
        dmarc: policy.DmarcNow,
        *,
        differences: list[DifferenceDict] | None = None,
        checks: list[CheckResult] | None = None,
        notes: list[str] | None = None,
    ) -> MessageReport:
        """The report: what the headers say, with what holds now (or "not checked")."""
        return MessageReport(
            identity=self.identity,
            chain=self.chain,
            results=self.results,
            trusted_id=self.trusted_id,
            trusted_why=self.trusted_why,
            arc=self.arc,
            spam=self.spam,
            spf=spf,
            dkim=dkim,
            dmarc=dmarc,
            differences=differences or [],
            checks=checks or [],
            notes=self.notes if notes is None else notes,
        )


def identity(message: Message) -> Identity:
    sender = message.first("From")
    path = message.first("Return-Path")
    name, addr = email.utils.parseaddr(sender.value if sender else "")
    return Identity(
        from_=address(sender.value) if sender else "",
        from_display=f"{decoded(name)} <{addr}>" if name and addr else message.text("From"),
        return_path=address(path.value) if path else "",
        message_id=message.text("Message-ID"),
        date=message.text("Date"),
        subject=message.text("Subject")[:200],
    )


def _mail_from(who: Identity, results: list[authres.AuthResult], notes: list[str]) -> None:
    """No Return-Path (QQ, headers copied without it): the MAIL FROM the receiver recorded, if it did."""
    recorded = next((r.prop("smtp.mailfrom") for r in results if r.trusted and r.prop("smtp.mailfrom")), "")
    found = address(recorded) or (
        f"postmaster@{recorded.lower()}" if "@" not in recorded and "." in recorded else ""
    )
    if found:
        who.return_path = found
        notes.append(f"no Return-Path field: MAIL FROM {found} taken from the receiver's smtp.mailfrom")


_DISPOSITION = re.compile(r"\bdis=(\w+)", re.I)
DISPOSITIONS = {
    "none": "the receiver did not apply the domain's DMARC policy to this failure (a local override: "
    "forwarding, ARC, reputation)",
    "quarantine": "the receiver quarantined the message for failing DMARC (Gmail: delivered to Spam)",
    "reject": "the receiver's verdict was to reject",
    "oreject": "Microsoft 365 delivered it as spam instead of rejecting it (override of p=reject)",
    "o.reject": "Microsoft 365 delivered it as spam instead of rejecting it (override of p=reject)",
    "pct.quarantine": "the policy's pct= sampled this failure out: quarantine was not applied",
    "pct.reject": "the policy's pct= sampled this failure out: reject was not applied",
}


def disposition(results: list[authres.AuthResult]) -> str:
    """What the receiver did about a DMARC failure (Gmail `dis=`, Microsoft `action=`), "" when unsaid."""
    for r in results:
        if r.trusted and r.method == authres.Method.DMARC and r.result == "fail":
            said = _DISPOSITION.search(r.comment)
            key = (said.group(1) if said else r.properties.get("action", "")).lower()
            if key in DISPOSITIONS:
                return DISPOSITIONS[key]
    return ""


def read(message: Message) -> Seen:
    chain = received.chain(message.fields)
    results, trusted_id, why = authres.judge(message, chain)
    notes = list(message.notes)
    who = identity(message)
    if message.first("Return-Path") is None:
        _mail_from(who, results, notes)
    if any(r.trusted and "best guess record" in r.comment for r in results):
        notes.append("the receiver's spf=pass is a best guess: the MAIL FROM domain publishes no SPF record")
    if did := disposition(results):
        notes.append(did)
    if chain.border is None:
        notes.append("no Received line shows which IP handed the message to the receiver")
    return Seen(
        who,
        chain,
        results,
        trusted_id,
        why,
        arc_module.read(message),
        spam.verdicts(message, chain.sender_start, chain.receiver),
        notes,
    )


def analyse(message: Message) -> MessageReport:
    seen = read(message)
    seen.arc.chain_valid = NOT_CHECKED
    signatures = [verify.describe(v, i)[0] for i, v in enumerate(verify.signature_values(message))]
    border = seen.chain.border
    spf = policy.SpfNow(NOT_CHECKED, seen.identity.return_path_domain, border.from_ip if border else None)
    dmarc = policy.DmarcNow(NOT_CHECKED, seen.identity.from_domain)
    return seen.report(spf, signatures, dmarc, notes=[*seen.notes, HINT])
