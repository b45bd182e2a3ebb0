"""The message report as text: the path hop by hop, the authentication table (receiver then / mxprobe now),
the spam verdict explained, the checks of the delivering IP, then what to fix. Every value that came from
the message is cleaned of control characters before it reaches the terminal."""

from __future__ import annotations

from mxprobe.message.authres import Method
from mxprobe.message.report import MessageReport
from mxprobe.message.verify import Signature
from mxprobe.model import Status
from mxprobe.render import clean

MARKS = {Status.PASS: "✔", Status.WARN: "!", Status.FAIL: "✖", Status.ERROR: "?", Status.SKIP: "-"}
_GOOD = {"pass", "none", "bestguesspass"}


def _path(report: MessageReport) -> list[str]:
    lines = ["Path (oldest first)"]
    for n, hop in enumerate(report.chain.travelled(), 1):
        client = " ".join(
            x
            for x in (
                hop.from_helo,
                f"({hop.from_ptr})" if hop.from_ptr else "",
                f"[{hop.from_ip}]" if hop.from_ip else "",
            )
            if x
        )
        delay = f" +{hop.delay_s:g}s" if hop.delay_s is not None else ""
        when = hop.at.strftime("%Y-%m-%d %H:%M:%S %z") if hop.at else "no date"
        mark = "  ← entered the receiver here" if hop.side == "border" else ""
        mark += " (the receiver noted: reverse name may be forged)" if hop.may_be_forged else ""
        lines.append(
            f"  {n}. {client or '(local)'} → {hop.by or '?'}"
            f"{' with ' + hop.protocol if hop.protocol else ''}, {when}{delay}{mark}"
        )
    if len(lines) == 1:
        lines.append("  no Received line")
    border = report.chain.border
    if border is not None:
        lines.append(
            f"  delivering IP {border.from_ip}, HELO {border.from_helo or '?'}, "
            f"reverse name {border.from_ptr or 'none recorded'} (receiver: {report.chain.receiver or '?'})"
        )
    return lines


def _then(report: MessageReport, method: str) -> str:
    found = [r for r in report.trusted if r.method == method and r.header == "Authentication-Results"]
    if not found:
        found = [r for r in report.trusted if r.method == method]
    return (
        ", ".join(
            r.result
            + (f" ({r.reason or r.comment})" if r.result not in _GOOD and (r.reason or r.comment) else "")
            for r in found
        )
        or "-"
    )


def _signature(sig: Signature) -> str:
    size = f", {sig.key_bits}-bit {sig.key_type}" if sig.key_bits else ""
    align = "" if sig.aligned is None else (", aligned" if sig.aligned else ", NOT aligned with From")
    why = f" ({sig.reason})" if sig.result != "pass" else ""
    return f"{sig.result}{why}: d={sig.d} s={sig.s} {sig.algorithm}{size}{align}"


def _auth(report: MessageReport) -> list[str]:
    who = report.trusted_id or "none"
    lines = [
        f"Authentication (trusted authserv-id: {who}: {report.trusted_why})",
        f"  {'method':<7}{'receiver then':<34}mxprobe now",
    ]
    spf = report.spf
    lines.append(
        f"  {Method.SPF:<7}{_then(report, Method.SPF)[:33]:<34}{spf.result} (MAIL FROM {spf.domain or '?'}"
        f"{', aligned' if spf.aligned else ''})"
    )
    now = [_signature(s) for s in report.dkim] or ["none (not signed)"]
    lines.append(f"  {Method.DKIM:<7}{_then(report, Method.DKIM)[:33]:<34}{now[0]}")
    lines += [f"  {'':<41}{n}" for n in now[1:]]
    dmarc = report.dmarc
    policy = f", p={dmarc.policy}" if dmarc.policy else ""
    lines.append(f"  {Method.DMARC:<7}{_then(report, Method.DMARC)[:33]:<34}{dmarc.result}{policy}")
    arc = report.arc
    if arc.sets or _then(report, "arc") != "-":
        lines.append(
            f"  {'arc':<7}{_then(report, 'arc')[:33]:<34}{arc.chain_valid} ({len(arc.sets)} sets: "
            f"{', '.join(s.sealer or '?' for s in arc.sets)})"
        )
    for sig in report.dkim:
        lines += [f"    note: {n}" for n in sig.notes]
    for r in report.results:
        if not r.trusted:
            lines.append(
                f"  untrusted: {r.header} {r.authserv_id or '(no id)'} {r.method}={r.result}: {r.why}"
            )
    return lines


def _spam(report: MessageReport, lang: str) -> list[str]:
    lines = ["Spam verdict"]
    for v in report.spam:
        score = f" score {v.score:g}" if v.score is not None else ""
        head = v.header or "(no header)"
        trust = "" if v.trusted else " [not the receiver's]"
        lines.append(f"  {head}: {v.verdict}{score}{trust}")
        meaning = v.meaning()
        text = (meaning["zh"] if lang == "zh" else "") or meaning["en"]
        if text:
            lines.append(f"    {text}")
    if len(lines) == 1:
        lines.append("  no spam verdict header")
    return lines


def _fixes(report: MessageReport) -> list[str]:
    fixes: list[str] = []
    for sig in report.dkim:
        if sig.body_hash == "fail":
            fixes.append(
                f"DKIM d={sig.d}: the body changed after signing. Sign last (after footers and "
                "re-encoding); a list or gateway that edits mail should ARC-seal it."
            )
        elif sig.result == "permerror" and "key" in sig.reason:
            fixes.append(
                f"DKIM d={sig.d}: publish the key at {sig.s}._domainkey.{sig.d} or sign with a current one "
                f"({sig.reason})."
            )
        elif sig.result == "pass" and sig.aligned is False and not report.dmarc.dkim_aligned:
            fixes.append(
                f"DKIM: sign with d={report.identity.from_domain} (or a domain aligned with it): "
                f"d={sig.d} does not count for DMARC."
            )
    if report.spf.result in ("fail", "softfail", "neutral", "permerror"):
        fixes.append(
            f"SPF: {report.spf.domain} does not authorise {report.spf.ip}: add it to the SPF record, "
            "or send through a host it lists."
        )
    if report.dmarc.result == "none":
        fixes.append(f"DMARC: publish a record at _dmarc.{report.identity.from_domain or 'your domain'}.")
    fixes += [f"{c.id}: {c.fix}" for c in report.checks if c.fix and c.status in (Status.FAIL, Status.WARN)]
    return list(dict.fromkeys(fixes))


def render(report: MessageReport, lang: str = "en") -> str:
    who = report.identity
    lines = [
        f"Message  {who.message_id or '(no Message-ID)'}",
        f"  From {who.from_display or '-'}  Return-Path <{who.return_path}>  Date {who.date or '-'}",
        "",
    ]
    lines += [*_path(report), "", *_auth(report), ""]
    if report.differences:
        lines.append("Then and now differ")
        lines += [
            f"  {d['what']}: {d['then']} then, {d['now']} now: {d['likely_cause']}"
            for d in report.differences
        ]
        lines.append("")
    lines += [*_spam(report, lang), ""]
    if report.checks:
        lines.append("Checks of the delivering IP and the domains")
        ids = [c.id for c in report.checks]
        for c in report.checks:
            domain = c.details.get("domain") if ids.count(c.id) > 1 else None
            label = f"{c.id} ({domain})" if domain else c.id
            lines.append(f"  {MARKS.get(c.status, '?')} {label}: {c.summary}")
        lines.append("")
    fixes = _fixes(report)
    lines.append("What to fix" if fixes else "Nothing to fix in authentication")
    lines += [f"  - {f}" for f in fixes]
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(clean(line) for line in lines) + "\n"
