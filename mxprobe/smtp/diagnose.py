"""The join: each refusal of the handshake tied to the DNS check that proves (or fails to prove) its cause.

A receiver's reply names a cause ("cannot find your reverse hostname" is `ptr`); the catalogue lists the
checks that can prove that cause (`ptr`, `fcrdns`). When one of those checks failed in this run, the
refusal is *confirmed*, and the check's own evidence is quoted. When they all passed, the DNS is not the
explanation from where mxprobe stands, and the report says what else can be: the receiver saw another
sending IP, or an answer cached before a fix, or it keeps lists of its own.

The handshake also becomes two check results, so that it counts in the verdict like every other finding:

- `smtp`: pass when every recipient was accepted, fail when one was deferred or rejected (or the server
  relays for anyone under --relay-test), error when no server could be reached or the dialogue broke.
- `tls`: pass for STARTTLS (or --tls) with a certificate that verifies for the MX name; warn when STARTTLS
  is not offered or the certificate does not verify (expired, self-signed, another name, unknown issuer):
  most senders use TLS opportunistically and still deliver, but senders that enforce MTA-STS or DANE do not;
  fail when STARTTLS is offered but refused or its handshake fails, and, with --auth, for anything short of
  a verified certificate (a mail client refuses it, and mxprobe does not send the password). Error when the
  dialogue ended before EHLO could tell.
"""

from __future__ import annotations

import ipaddress
import re

from mxprobe import registry
from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import Cause, CheckId, Needs
from mxprobe.smtp import advice
from mxprobe.smtp.result import SmtpResult, Step

_ALTERNATIVES = (
    "the receiver may have seen another sending IP (NAT, a relay, another server of a pool), an answer "
    "cached before a fix (a DNS change takes up to the record's TTL to reach it), or it uses lists of its own"
)
# Which run of mxprobe gives the checks that did not run (by what the registry says they need).
_NEEDS: dict[Needs, str] = {"ip": "--ip", "domain": "the sending DOMAIN"}
_LITERAL = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
# The relay test in the smtp summary: a passed test is worth a word, not only a failed one.
_RELAY_VERDICTS = {
    "open": "FAILED: the server relays mail to example.net for anyone (an open relay)",
    "refused": "passed: relaying to example.net refused",
    "inconclusive": "inconclusive: the relay recipient was refused for another reason",
    "not judged": "not judged: an authenticated client may relay",
    "not tested": "not run: MAIL FROM was refused",
}


def join(result: SmtpResult, checks: list[CheckResult]) -> None:
    """Tie each refusal to the DNS checks, then append the `tls` and `smtp` check results to `checks`."""
    tls = tls_check(result)
    by_id = {c.id: c for c in [*checks, tls]}
    if _elsewhere(result):
        given = result.source_reason == "--source"
        why = "given with --source" if given else f"{result.ip} is not an address of this host"
        result.notes.append(
            f"the connection came from {result.source}, not --ip {result.ip} ({why}): the server judged "
            f"{result.source}, while the DNS checks are about {result.ip}; run mxprobe on {result.ip}, or "
            "give --source with the address to test from"
        )
    for step in result.steps:
        if step.step == "relay-test" and result.relay_test and result.relay_test["verdict"] == "refused":
            step.diagnosis = "the relay test: refused as it should be (no relaying for a stranger)"
        elif step.step == "starttls" and step.refused:  # the receiver's TLS: no check of the sender proves it
            step.diagnosis = advice.starttls_diagnosis(result, step)
        elif step.refused and step.explanation is not None:
            step.confirmed_by, step.diagnosis = _prove(step, by_id, result)
    verdict = result.verdict_step
    if verdict is not None and verdict.refused and result.outcome != "accepted":
        result.confirmed_by = verdict.confirmed_by
        result.diagnosis = verdict.diagnosis
    checks.append(smtp_check(result))
    checks.append(tls)


def _elsewhere(result: SmtpResult) -> bool:
    """The dialogue came from another address than --ip (not bound: not an address of this host)."""
    return bool(result.ip and result.source and result.source != result.ip)


def _misjudged(step: Step, result: SmtpResult) -> bool:
    """A refusal whose cause the checks about --ip would judge, from a dialogue that came from elsewhere."""
    wanted = step.explanation.checks if step.explanation is not None else ()
    return _elsewhere(result) and any((s := registry.spec(c)) is not None and s.about_ip for c in wanted)


def _seen(step: Step, result: SmtpResult) -> str:
    """Who the server judged, in words: the source address, and the IP its reply names when that differs
    from --ip (the reply's own word is the better evidence of what it looked at)."""
    named = []
    for literal in _LITERAL.findall(step.text):
        try:
            named.append(str(ipaddress.ip_address(literal)))
        except ValueError:
            continue
    other = next((ip for ip in named if ip != result.ip), None)
    if other is None:
        return f"{result.source}, the address the connection came from"
    if other == result.source:
        return f"{other} (it names [{other}] in its reply), the address the connection came from"
    return f"{other} (it names [{other}] in its reply; the connection came from {result.source})"


def _prove(step: Step, by_id: dict[str, CheckResult], result: SmtpResult) -> tuple[str | None, str]:
    explanation = step.explanation
    assert explanation is not None
    # The smtp check is this handshake, and the tls check is STARTTLS's own reply: neither proves the reply.
    own = {CheckId.SMTP, CheckId.TLS} if step.step == "starttls" else {CheckId.SMTP}
    named = dict.fromkeys([*explanation.checks, *registry.provers(explanation.cause)])  # in order, once
    wanted = [c for c in named if c not in own]
    if not wanted:
        return None, f"cause {explanation.cause}: no DNS check proves it. {explanation.advice.en}"
    if _misjudged(step, result):
        return None, (
            f"the server judged {_seen(step, result)}, not --ip {result.ip}: the DNS checks are about "
            f"{result.ip}, so they neither confirm nor clear this reply. Run mxprobe on {result.ip} (or "
            f"give --source {result.ip} where it is an address of the host), or give --ip {result.source} to "
            "check the address the server saw"
        )
    if explanation.cause == Cause.HELO and result.helo_literal:
        return _literal_helo(result, by_id)
    selected = result.selected
    ran = [by_id[i] for i in wanted if i in by_id and by_id[i].status != Status.SKIP]
    unrun = _unrun(wanted, by_id, selected)
    failed = next((c for c in ran if c.status == Status.FAIL), None)
    if failed is not None and not explanation.specific:
        # A reply known only by its code says nothing precise: a failed check is a lead, not a proof.
        return None, (
            f"the reply does not say why (known only by its code); a failed check that could explain it: "
            f"{failed.id}: {_gist(failed)}{_evidence(failed)}"
        )
    if failed is not None:
        return failed.id, f"confirmed by {failed.id}: {_gist(failed)}{_evidence(failed)}"
    if not ran:
        return None, f"not confirmed: {unrun}"
    broken = [c for c in ran if c.status == Status.ERROR]
    if broken:
        c = broken[0]
        return None, f"could not be confirmed: {c.id} could not run ({c.summary})"
    warned = [c for c in ran if c.status == Status.WARN]
    if warned:
        c = warned[0]
        return None, f"not confirmed: {c.id} only warns ({c.summary}); otherwise {_ALTERNATIVES}"
    passed = ", ".join(c.id for c in ran)
    also = f"; {unrun}" if unrun else ""
    return None, f"the DNS looks right from here ({passed} pass{also}): {_ALTERNATIVES}"


def _literal_helo(result: SmtpResult, by_id: dict[str, CheckResult]) -> tuple[str | None, str]:
    """EHLO sent the address literal because no HELO name was known: the PTR that would have named the
    host is the cause, and the helo check (which had no name to judge) cannot say it."""
    ptr = by_id.get(CheckId.PTR)
    why = f"the handshake announced the address literal {result.helo} because {result.ip} has no PTR name"
    fix = "publish a PTR name for the IP (with an A record back), or give --helo with the name your MTA sends"
    if ptr is not None and ptr.status == Status.FAIL:
        return CheckId.PTR, f"{why}: confirmed by ptr: {_gist(ptr)}{_evidence(ptr)}; {fix}"
    return None, f"{why} (and no --helo was given); {fix}"


def _unrun(wanted: list[str], by_id: dict[str, CheckResult], selected: list[str]) -> str:
    """Why the checks that could prove a cause gave no answer: left out by --check (the user can simply
    run them), not applicable to this target (the input they need), or skipped (their own reason)."""
    absent = [i for i in wanted if i not in by_id]
    left_out = [i for i in absent if selected and i not in selected]
    missing = [i for i in absent if i not in left_out]
    parts = []
    if left_out:
        if len(left_out) == len(wanted):
            parts.append(
                f"the {', '.join(left_out)} check(s) were not selected with --check; run without --check "
                "to confirm the cause"
            )
        else:
            parts.append(f"{', '.join(left_out)} not selected with --check")
    if missing:
        needs = sorted({_NEEDS.get(s.needs, "") for i in missing if (s := registry.spec(i))} - {""})
        hint = f" (give {' and '.join(needs)} to run them)" if needs else ""
        parts.append(f"the {', '.join(missing)} check(s) did not run{hint}")
    skipped = [by_id[i] for i in wanted if i in by_id and by_id[i].status == Status.SKIP]
    parts.extend(f"{c.id} was skipped ({c.summary})" for c in skipped)
    return "; ".join(parts)


def _gist(check: CheckResult) -> str:
    """The finding of a check's summary, without the explanation some summaries append after a colon."""
    head, sep, _ = check.summary.partition(": ")
    return head if sep and len(head) >= 12 else check.summary


def _evidence(check: CheckResult) -> str:
    if not check.evidence:
        return ""
    ev = check.evidence[0]
    return f" ({ev.query} → {', '.join(ev.answer) if ev.answer else ev.rcode})"


def _step_evidence(result: SmtpResult, step: Step) -> Evidence:
    return Evidence(
        query=f"smtp {result.where()} {step.command or step.step}",
        answer=step.text.split("\n") if step.text else [],
        rcode="NOERROR" if step.code is not None else "ERROR",
        note=step.error,
    )


def _fix(result: SmtpResult, verdict: Step | None) -> str:
    """What to do about the step that decided the outcome: the reply's advice, or the fault's."""
    if verdict is not None and verdict.explanation is not None and verdict.refused:
        fix = verdict.explanation.advice.en
        if _misjudged(verdict, result):
            fix = (
                f"Test from {result.ip} first (run mxprobe there, or --source {result.ip}): this server "
                f"judged {result.source}. If it refuses {result.ip} too: {fix}"
            )
        return fix
    if verdict is not None and verdict.fault:
        return advice.fault_fix(result, verdict)
    return ""


def smtp_check(result: SmtpResult) -> CheckResult:
    """The handshake as one check result: what the receiver did with the recipients, and why."""
    where = result.where()
    verdict = result.verdict_step
    evidence = list(result.dns_evidence)
    if verdict is not None:
        evidence.append(_step_evidence(result, verdict))
    details = {
        "outcome": result.outcome,
        "host": result.host,
        "address": result.address,
        "port": result.port,
        "cause": result.cause,
        "confirmed_by": result.confirmed_by,
        "diagnosis": result.diagnosis,
    }
    fix = _fix(result, verdict)
    relay = result.relay_test
    relay_clause = ""
    if relay is not None:
        details["relay_test"] = relay["summary"]
        relay_clause = f"; relay test {_RELAY_VERDICTS[relay['verdict']]}"
    if result.outcome == "accepted":
        rcpts = [s.command.removeprefix("RCPT TO:") for s in result.steps if s.step == "rcpt"]
        what = ", ".join(rcpts) if rcpts else "MAIL FROM (no --to: RCPT not tested)"
        if relay is not None and relay["verdict"] == "open":
            return CheckResult(
                CheckId.SMTP,
                Status.FAIL,
                f"{where} is an open relay: it accepted a recipient it should not relay for",
                details,
                evidence + [_step_evidence(result, s) for s in result.steps if s.step == "relay-test"],
                "Restrict relaying to your own domains and authenticated clients (Postfix: "
                "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
                "reject_unauth_destination).",
            )
        return CheckResult(
            CheckId.SMTP, Status.PASS, f"{where} accepted {what}{relay_clause}", details, evidence
        )
    if result.outcome in ("deferred", "rejected"):
        if verdict is None:
            summary = result.diagnosis  # decided from the DNS alone: it names the domain
        elif verdict.refused:
            first = verdict.text.split("\n")[0]
            summary = f"{where} {result.outcome} {verdict.command or verdict.step}: {first}"
        else:
            summary = f"{where} {result.outcome} at {verdict.step}: {verdict.error}"
        if result.confirmed_by:
            summary += f" (confirmed by {result.confirmed_by})"
        return CheckResult(CheckId.SMTP, Status.FAIL, summary + relay_clause, details, evidence, fix)
    if verdict is None:
        summary = f"no SMTP server could be reached: {result.diagnosis or 'no address to try'}"
    elif result.host is None:  # no server greeted: the reason (one per server tried) is the diagnosis
        reason = result.diagnosis or verdict.error
        named = any(c.address and c.address in reason for c in result.mx_candidates)
        summary = f"no SMTP server answered{'' if named else f' at {where}'}: {reason}"
    else:
        summary = f"the dialogue with {where} failed at {verdict.step}: {verdict.error}"
    return CheckResult(CheckId.SMTP, Status.ERROR, summary + relay_clause, details, evidence, fix)


def tls_check(result: SmtpResult) -> CheckResult:
    """STARTTLS and the certificate, judged as the module docstring says."""
    tls = result.tls
    where = result.where()
    strict = result.auth is not None  # --auth: a mail client verifies, and a password is at stake
    if tls is None:
        why = "no SMTP server was reached" if result.host is None else "the dialogue ended before EHLO"
        return CheckResult(CheckId.TLS, Status.ERROR, f"STARTTLS not tested: {why}")
    details = tls.to_dict()
    if tls.established:
        facts = [tls.subject, tls.issuer, f"expires {tls.not_after}"]
        evidence = [Evidence(f"tls {where} certificate", facts, note="; ".join(tls.problems))]
    else:
        offered = " ".join(result.extensions) or "nothing"
        evidence = [Evidence(f"smtp {where} EHLO", [f"extensions: {offered}"], note=tls.error)]
    if tls.error:
        summary = f"STARTTLS with {where} failed: {tls.error}"
        return CheckResult(CheckId.TLS, Status.FAIL, summary, details, evidence, advice.tls_fix(result))
    if not tls.offered:
        return CheckResult(
            CheckId.TLS,
            Status.FAIL if strict else Status.WARN,
            f"{where} does not offer STARTTLS: mail to it travels in clear text",
            details,
            evidence,
            advice.no_starttls_fix(result),
        )
    if not tls.established:
        return CheckResult(
            CheckId.TLS, Status.ERROR, f"STARTTLS offered by {where} but not tried", details, evidence
        )
    head = f"{tls.version} {tls.cipher}".strip()
    if tls.verified:
        summary = f"{head}; certificate valid for {tls.hostname} until {tls.not_after[:10]}"
        return CheckResult(CheckId.TLS, Status.PASS, summary, details, evidence)
    if tls.verified is None:
        summary = f"{head}; the certificate could not be fully checked: {tls.unchecked}"
        return CheckResult(CheckId.TLS, Status.WARN, summary, details, evidence)
    return CheckResult(
        CheckId.TLS,
        Status.FAIL if strict else Status.WARN,
        f"{head}; the certificate does not verify: {'; '.join(tls.problems)}",
        details,
        evidence,
        "Install a certificate from a public CA (e.g. Let's Encrypt) that names the MX host, and renew it "
        "before it expires.",
    )
