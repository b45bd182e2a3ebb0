"""The handshake for people: the servers tried, the transcript (C:/S: lines), TLS, the outcome and its proof.

Everything the server said is untrusted text: it goes into `rich.text.Text` objects (never parsed as
markup, so a reply holding `[bold]` prints as is), and characters a terminal would act on (escape
sequences, other controls) are shown as `\\x1b`-style escapes.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from mxprobe.render import clean
from mxprobe.smtp.result import Candidate, SmtpResult, Step

OUTCOME_STYLE = {
    "accepted": "bold green",
    "deferred": "bold yellow",
    "rejected": "bold red",
    "error": "bold magenta",
}
_CODE_STYLE = {"2": "green", "3": "cyan", "4": "yellow", "5": "red"}


def render_smtp(console: Any, result: SmtpResult) -> None:
    console.print(Text.assemble(("SMTP handshake with ", "bold"), clean(result.where())))
    for candidate in result.mx_candidates:
        console.print(
            Text(clean(_candidate(candidate)), style="dim" if candidate.status == "not tried" else "")
        )
    if result.source or result.helo:
        origin = f"  from {result.source or 'the default address'}"
        if result.source_reason:
            origin += f" ({result.source_reason})"
        if result.helo:
            origin += f", HELO {result.helo}"
        console.print(Text(clean(origin), style="dim"))
    for step in result.steps:
        _step(console, result, step)
    _tls(console, result)
    _verdict(console, result)


def _candidate(candidate: Candidate) -> str:
    """`mx NAME (preference N) [ADDRESS]  STATUS: reason`, each part only when it says something."""
    line = f"  mx {candidate.host}"
    if candidate.preference is not None:
        line += f" (preference {candidate.preference})"
    if candidate.address is not None and candidate.address != candidate.host:
        line += f" [{candidate.address}]"
    line += f"  {candidate.status}"
    return f"{line}: {candidate.reason}" if candidate.reason else line


def _step(console: Any, result: SmtpResult, step: Step) -> None:
    ms = f"  ({step.elapsed_ms:.0f} ms)"
    if step.step == "connect":
        if not step.fault:
            console.print(Text(f"  connected{ms}", style="dim"))
    elif step.command:
        unsent = ("  (not sent)", "dim") if not step.sent else ""
        relay = ("  (relay test)", "dim") if step.step == "relay-test" else ""
        console.print(Text.assemble(("  C: ", "dim"), clean(step.command), relay, unsent))
    if step.text:
        style = _CODE_STYLE.get(str(step.code)[0], "")
        lines = step.text.split("\n")
        for i, line in enumerate(lines):
            suffix = (ms, "dim") if i == len(lines) - 1 else ""
            console.print(Text.assemble(("  S: ", "dim"), (clean(line), style), suffix))
    if step.error:
        console.print(Text.assemble((f"  ✖ {step.step}: ", "red"), clean(step.error), (ms, "dim")))
    if step.note:
        console.print(Text.assemble(("  ! ", "yellow"), clean(step.note)))
    explanation = step.explanation
    if explanation is not None and (step.refused or step.step == "auth"):
        console.print(Text(f"     meaning: {clean(explanation.meaning.en)}", style="italic"))
        if step.diagnosis:
            style = "bold" if step.confirmed_by else ""
            console.print(Text(f"     → {clean(step.diagnosis)}", style=style))


def _tls(console: Any, result: SmtpResult) -> None:
    tls = result.tls
    if tls is None or not tls.offered:
        return
    if tls.established:
        console.print(Text(clean(f"  TLS: {tls.version} {tls.cipher} ({tls.mode})"), style="bold"))
        facts = [
            ("subject", tls.subject),
            ("names", ", ".join(tls.sans)),
            ("issuer", tls.issuer),
            ("valid", f"{tls.not_before[:10]} to {tls.not_after[:10]}" if tls.not_after else ""),
        ]
        for key, value in facts:
            if value:
                console.print(Text(clean(f"    {key}: {value}")))
        if tls.verified:
            console.print(Text(clean(f"    ✔ valid for {tls.hostname}"), style="green"))
        for problem in tls.problems:
            console.print(Text(clean(f"    ✖ {problem}"), style="red"))
        if tls.unchecked:
            console.print(Text(clean(f"    ? {tls.unchecked}"), style="magenta"))
    if tls.error:
        console.print(Text(clean(f"  TLS: {tls.error}"), style="red"))


def _verdict(console: Any, result: SmtpResult) -> None:
    line = Text.assemble(("  outcome: ", "bold"), (result.outcome.upper(), OUTCOME_STYLE[result.outcome]))
    if result.cause:
        line.append(f"  cause {result.cause}")
    if result.confirmed_by:
        line.append(f", confirmed by {result.confirmed_by}", style="bold")
    console.print(line)
    if result.diagnosis:
        console.print(Text(f"  {clean(result.diagnosis)}"))
    if result.auth is not None:
        mech = result.auth.get("mechanism")
        state = "accepted" if result.auth.get("accepted") else "refused" if mech else "not tried"
        console.print(Text(clean(f"  auth: {result.auth['user']} {mech or ''} {state}".replace("  ", " "))))
    if result.relay_test is not None:
        style = "bold red" if result.relay_test.get("verdict") == "open" else ""
        console.print(Text(clean(f"  relay test: {result.relay_test['summary']}"), style=style))
    for note in result.notes:
        console.print(Text(clean(f"  note: {note}"), style="dim"))
