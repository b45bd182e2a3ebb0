"""The message report as text: the path hop by hop, the authentication table (receiver then / mxprobe now),
the spam verdict explained, the checks of the delivering IP, then what to fix. Every value that came from
the message is cleaned of control characters before it reaches the terminal."""

from __future__ import annotations

from mxprobe.message.authres import AUTHENTICATION, Method
from mxprobe.message.offline import NOT_CHECKED
from mxprobe.message.report import MessageReport
from mxprobe.message.verify import Signature
from mxprobe.message.words import said, word
from mxprobe.model import Status
from mxprobe.render import clean, zh, zh_fix
from mxprobe.render.layout import cells

MARKS = {Status.PASS: "✔", Status.WARN: "!", Status.FAIL: "✖", Status.ERROR: "?", Status.SKIP: "-"}
_GOOD = {"pass", "none", "bestguesspass"}


def _path(report: MessageReport, lang: str) -> list[str]:
    lines = [word(lang, "path")]
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
        when = hop.at.strftime("%Y-%m-%d %H:%M:%S %z") if hop.at else word(lang, "no-date")
        mark = word(lang, "entered") if hop.side == "border" else ""
        mark += word(lang, "forged") if hop.may_be_forged else ""
        protocol = word(lang, "with", protocol=hop.protocol) if hop.protocol else ""
        sep = word(lang, "sep")
        lines.append(
            f"  {n}. {client or word(lang, 'local')} → {hop.by or '?'}{protocol}{sep}{when}{delay}{mark}"
        )
    if len(lines) == 1:
        lines.append(word(lang, "no-received"))
    border = report.chain.border
    if border is not None:
        ptr = border.from_ptr or word(lang, "none-recorded")
        lines.append(
            word(lang, "delivering", ip=border.from_ip, helo=border.from_helo or "?", ptr=ptr,
                 receiver=report.chain.receiver or "?")
        )  # fmt: skip
    return lines


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` display columns (a Chinese character takes two)."""
    return text + " " * max(width - cells(text), 1)


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


def _signature(sig: Signature, lang: str) -> str:
    size = word(lang, "bits", bits=sig.key_bits, type=sig.key_type) if sig.key_bits else ""
    align = "" if sig.aligned is None else word(lang, "aligned" if sig.aligned else "not-aligned")
    why = word(lang, "paren", text=sig.reason) if sig.result != "pass" else ""
    return f"{sig.result}{why}: d={sig.d} s={sig.s} {sig.algorithm}{size}{align}"


def _auth(report: MessageReport, lang: str) -> list[str]:
    who = said(lang, report.trusted_id) or word(lang, "none")
    lines = [
        word(lang, "auth", who=who, why=said(lang, report.trusted_why)),
        f"  {_pad(word(lang, 'method'), 7)}{_pad(word(lang, 'then'), 34)}{word(lang, 'now')}",
    ]
    spf = report.spf
    lines.append(
        f"  {Method.SPF:<7}{_then(report, Method.SPF)[:33]:<34}{said(lang, spf.result)}"
        + word(
            lang, "paren", text=f"MAIL FROM {spf.domain or '?'}{word(lang, 'aligned') if spf.aligned else ''}"
        )
    )
    now = [_signature(s, lang) for s in report.dkim] or [word(lang, "unsigned")]
    lines.append(f"  {Method.DKIM:<7}{_then(report, Method.DKIM)[:33]:<34}{now[0]}")
    lines += [f"  {'':<41}{n}" for n in now[1:]]
    dmarc = report.dmarc
    policy = f", p={dmarc.policy}" if dmarc.policy else ""
    lines.append(
        f"  {Method.DMARC:<7}{_then(report, Method.DMARC)[:33]:<34}{said(lang, dmarc.result)}{policy}"
    )
    arc = report.arc
    if arc.sets or _then(report, "arc") != "-":
        sealers = word(lang, "sep").join(s.sealer or "?" for s in arc.sets)
        sets = word(lang, "arc-sets", valid=said(lang, arc.chain_valid), n=len(arc.sets), sealers=sealers)
        lines.append(f"  {'arc':<7}{_then(report, 'arc')[:33]:<34}{sets}")
    for sig in report.dkim:
        lines += [word(lang, "note", text=said(lang, n)) for n in sig.notes]
    for r in report.results:
        if not r.trusted:
            lines.append(
                word(lang, "untrusted", header=r.header, id=r.authserv_id or word(lang, "no-id-short"),
                     method=r.method, result=r.result, why=said(lang, r.why))
            )  # fmt: skip
    return lines


def _spam(report: MessageReport, lang: str) -> list[str]:
    lines = [word(lang, "spam")]
    for v in report.spam:
        score = word(lang, "score", score=f"{v.score:g}") if v.score is not None else ""
        head = v.header or word(lang, "no-header")
        trust = "" if v.trusted else word(lang, "not-receivers")
        lines.append(f"  {head}: {v.verdict}{score}{trust}")
        meaning = v.meaning()
        text = (meaning["zh"] if lang == "zh" else "") or meaning["en"]
        if text:
            lines.append(f"    {text}")
    if len(lines) == 1:
        lines.append(word(lang, "no-spam"))
    return lines


def _fixes(report: MessageReport, lang: str) -> list[str]:
    fixes: list[str] = []
    for sig in report.dkim:
        if sig.body_hash == "fail":
            fixes.append(word(lang, "fix-body", d=sig.d))
        elif sig.result == "permerror" and "key" in sig.reason:
            fixes.append(word(lang, "fix-key", d=sig.d, s=sig.s, reason=sig.reason))
        elif sig.result == "pass" and sig.aligned is False and not report.dmarc.dkim_aligned:
            fixes.append(word(lang, "fix-align", domain=report.identity.from_domain, d=sig.d))
    if report.spf.result in ("fail", "softfail", "neutral", "permerror"):
        fixes.append(word(lang, "fix-spf", domain=report.spf.domain, ip=report.spf.ip))
    if report.dmarc.result == "none":
        fixes.append(word(lang, "fix-dmarc", domain=report.identity.from_domain or word(lang, "your-domain")))
    flagged = [c for c in report.checks if c.fix and c.status in (Status.FAIL, Status.WARN)]
    fixes += [word(lang, "check-fix", id=c.id, fix=zh_fix.fix(c) if lang == "zh" else c.fix) for c in flagged]
    return list(dict.fromkeys(fixes))


_FAILED = ("fail", "softfail", "permerror")  # results that cost a message its place in the inbox


def _failed_then(report: MessageReport, lang: str) -> list[str]:
    """Without --check nothing holds "now": what the receiver failed is then not "nothing to fix"."""
    if any(now.result != NOT_CHECKED for now in (report.spf, report.dmarc)):
        return []
    failed = sorted({r.method for r in report.trusted if r.method in AUTHENTICATION and r.result in _FAILED})
    return [word(lang, "then-failed", methods=word(lang, "sep").join(failed))] if failed else []


def render(report: MessageReport, lang: str = "en") -> str:
    who = report.identity
    lines = [
        word(lang, "message", id=who.message_id or word(lang, "no-id")),
        word(lang, "who", sender=who.from_display or "-", path=who.return_path, date=who.date or "-"),
        "",
    ]
    lines += [*_path(report, lang), "", *_auth(report, lang), ""]
    if report.differences:
        lines.append(word(lang, "differ"))
        lines += [
            word(lang, "difference", what=d["what"], then=d["then"], now=d["now"], cause=d["likely_cause"])
            for d in report.differences
        ]
        lines.append("")
    lines += [*_spam(report, lang), ""]
    if report.checks:
        lines.append(word(lang, "checks"))
        ids = [c.id for c in report.checks]
        for c in report.checks:
            domain = c.details.get("domain") if ids.count(c.id) > 1 else None
            label = c.id + word(lang, "paren", text=domain) if domain else c.id
            summary = zh.summary(c) if lang == "zh" else c.summary
            lines.append(f"  {MARKS.get(c.status, '?')} {label}{word(lang, 'colon')}{summary}")
        lines.append("")
    fixes = _fixes(report, lang)
    fixes = fixes or _failed_then(report, lang)
    lines.append(word(lang, "fixes" if fixes else "no-fixes"))
    lines += [f"  - {f}" for f in fixes]
    lines += [word(lang, "note-line", text=said(lang, n)) for n in report.notes]
    return "\n".join(clean(line) for line in lines) + "\n"
