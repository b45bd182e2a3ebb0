"""Commands out, replies in, each exchange recorded as a `Step`: the only place a command leaves mxprobe.

Hard rules, each enforced here:
- Nothing but the verbs of `VERBS` is ever written (DATA and BDAT are not in it: the message of a probe is
  never sent), one line each, with no CR, LF or NUL inside; the answers to AUTH challenges are base64 only.
- A reply must answer its command: data that arrived before a command was written (a reply to nothing), a
  3xx to anything but AUTH (354 asks for a message, and DATA is never sent), a reply to QUIT that is not
  221, or a reply whose lines carry different codes is a protocol fault (`unexpected`, `bad-reply`), kept
  with what arrived; nothing more is written to that server, and no verdict is read from its replies. The
  one exception is a 421 sent unasked: RFC 5321 §3.8 lets a server close with it at any time.
- Every wait is bounded by `min(--smtp-timeout, what the run's deadline leaves)`; QUIT's 221 is awaited for
  `QUIT_GRACE` at most, as it changes nothing.
- A step's time runs from the write of its command to the read of its reply (several commands written at
  once share the start).
- Every reply is stored as the server sent it, scrubbed of the AUTH password (`Secrets.scrub`): escaping it
  is the renderers' job.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from mxprobe.replies import Reply as Parsed
from mxprobe.replies import parse_reply
from mxprobe.smtp.result import HELO, SmtpResult, Step
from mxprobe.smtp.scrub import Secrets
from mxprobe.smtp.wire import Connection, ReadError, Reply, decode

if TYPE_CHECKING:
    from mxprobe.catalogue import Explanation
    from mxprobe.checks import Context

VERBS = frozenset({"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "QUIT"})
SLOW_REPLY = 2.0  # seconds: a slower reply is reported as a delay (tarpit)
QUIT_GRACE = 0.3  # seconds QUIT's 221 is waited for
_421 = re.compile(r"421(?:[ -]|$)")
_ANSWER = re.compile(r"[A-Za-z0-9+/]*={0,2}|\*")  # an answer to a 334 challenge (RFC 4954)
_ON_FAULT = {"disconnected": "the server closed the connection instead of replying"}


class Exchange:
    """The steps of one connection and the means to add to them."""

    def __init__(self, ctx: Context, result: SmtpResult, secrets: Secrets) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.result = result
        self.secrets = secrets
        self.steps: list[Step] = []
        self.conn: Connection | None = None
        self.last_reply: Reply | None = None  # as received, unscrubbed: for the EHLO keywords, never shown

    # -- budget and recording -------------------------------------------------------------------------------
    def budget(self) -> float:
        return min(self.options.smtp_timeout, self.ctx.dns.deadline.remaining())

    def deadline_cut(self, timeout: float) -> str:
        """When the run's deadline, not --smtp-timeout, bounded a wait: the words that name it ("" if not)."""
        if timeout >= self.options.smtp_timeout:
            return ""
        return f"the run's deadline ({self.ctx.dns.deadline.seconds:g} s) ended the wait; raise --timeout"

    def begin(self, name: str, command: str = "") -> Step:
        step = Step(name, command=command)
        self.steps.append(step)
        return step

    def fail(self, step: Step, fault: str, error: str, started: float | None = None) -> None:
        """Record why `step` got no usable reply; with no `started`, the command was never sent."""
        if started is not None:
            step.elapsed_ms = (time.monotonic() - started) * 1000
        elif step.command:
            step.sent = False
        step.fault, step.error = fault, error

    def record(self, step: Step, reply: Reply, started: float) -> None:
        step.elapsed_ms = max(reply.received - started, 0.0) * 1000
        step.code, step.text = reply.code, self.secrets.scrub(reply.text)
        parsed = parse_reply(step.text)
        if parsed is not None:
            step.enhanced = parsed.enhanced
            if reply.code >= 400 or step.step == "auth":  # a 250 needs no explaining; AUTH's 334 and 235 do
                step.explanation = _explain(parsed, step.text)
        if step.elapsed_ms > SLOW_REPLY * 1000:
            step.note = (
                f"the reply took {step.elapsed_ms / 1000:.1f} s: the server delays this client "
                "(a tarpit slows down clients it distrusts)"
            )

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.closed

    def close(self) -> None:
        if self.conn is not None:
            self.conn.abort()

    # -- commands -------------------------------------------------------------------------------------------
    async def command(self, name: str, line: str, *, shown: str | None = None, secret: bool = False) -> Step:
        """Send one command line and record its reply."""
        [step] = await self.pipeline([(name, line)], shown=shown, secret=secret)
        return step

    async def pipeline(
        self, commands: list[tuple[str, str]], *, shown: str | None = None, secret: bool = False
    ) -> list[Step]:
        """Write the commands in one write (PIPELINING, RFC 2920; a single command is a group of one), then
        read each reply into its own step, in order. Stops reading at the first fault."""
        lines = [line for _, line in commands]
        for line in lines:
            guard(line, secret=secret)
        steps = [self.begin(name, shown if shown is not None else line) for name, line in commands]
        timeout = self.budget()
        if timeout <= 0:
            for step in steps:
                self.fail(
                    step, "deadline", f"not sent: the run's deadline ({self.deadline_seconds:g}s) was reached"
                )
            return steps
        if not await self.clear(steps[0]):
            for step in steps[1:]:
                step.sent = False
            return steps
        assert self.conn is not None
        try:
            written = self.conn.write(lines)
        except OSError as exc:
            for step in steps:
                self.fail(step, "disconnected", f"not sent: the connection failed ({exc})")
            self.close()
            return steps
        for i, step in enumerate(steps):
            limit = QUIT_GRACE if step.step == "quit" else None
            # After a 421 the server hangs up (RFC 5321 §3.8): the commands after it get no reply.
            if not await self.read(step, written, limit) or step.code == 421:
                for rest in steps[i + 1 :]:
                    rest.note = f"no reply: the dialogue ended at {step.step}"
                break
        return steps

    @property
    def deadline_seconds(self) -> float:
        return self.ctx.dns.deadline.seconds

    async def clear(self, step: Step) -> bool:
        """Before `step`'s command is written: the connection must be open with nothing unread. What did
        arrive unasked is recorded on the step (a 421 as its reply, anything else as a fault)."""
        assert self.conn is not None
        await self.conn.settle()
        waiting = self.conn.waiting()
        if not waiting and not self.conn.closed:
            return True
        step.sent = False
        if not waiting:
            before = self.steps[self.steps.index(step) - 1] if len(self.steps) > 1 else None
            after = (
                "its greeting"
                if before is None or before.step == "banner"
                else f"its reply to {_verb(before)}"
            )
            self.fail(step, "disconnected", f"not sent: the server had closed the connection after {after}")
            return False
        lines = [decode(x) for x in waiting.split(b"\n") if x.strip()][:20]
        if lines and _421.match(lines[0]):  # RFC 5321 §3.8: a server may close with 421 at any time
            with_code = [x for x in lines if _421.match(x)]
            self.record(step, Reply(421, with_code, time.monotonic()), time.monotonic())
            step.note = f"the server sent this 421 unasked, before {step.command or step.step} was written"
        else:
            step.text = self.secrets.scrub("\n".join(lines))
            first = self.secrets.scrub(lines[0] if lines else "")[:80]
            self.fail(
                step,
                "unexpected",
                f"not sent: the server sent '{first}' ({len(waiting)} bytes) before this command, when no "
                "reply was due: its replies and this client's commands are out of step, so no reply can be "
                "trusted to answer the command it follows",
            )
        self.close()
        return False

    async def read(self, step: Step, written: float, limit: float | None = None) -> bool:
        """Read the reply to `step`'s command, written at `written`. False when the dialogue cannot go on."""
        assert self.conn is not None
        timeout = self.budget() if limit is None else min(self.budget(), limit)
        try:
            reply = await self.conn.read_reply(timeout)
        except ReadError as exc:
            if (
                step.step == "quit"
                and exc.fault in ("timeout", "disconnected")
                and not (exc.lines or exc.tail)
            ):
                step.elapsed_ms = (time.monotonic() - written) * 1000
                why = (
                    f"no 221 within {timeout:.1f} s" if exc.fault == "timeout" else "the server closed first"
                )
                step.note = f"{why}: not waited for (QUIT ends the session either way)"
                return False
            self.read_failed(step, exc, timeout, written)
            self.close()
            return False
        self.record(step, reply, written)
        self.last_reply = reply
        if reply.code == 421:  # the server closes after it (RFC 5321 §3.8): nothing more is written
            self.close()
        misfit = _misfit(step.step, reply.code)
        if misfit:
            first = step.text.split("\n")[0][:80]
            why = (
                f"'{first}' does not answer {_verb(step)} ({misfit}): the server's replies are out of step "
                "with the commands, so those above may answer other commands than they follow; nothing more "
                "was sent"
            )
            step.fault, step.error = "unexpected", why
            step.explanation = None
            self.close()
            return False
        return True

    def read_failed(self, step: Step, exc: ReadError, timeout: float, started: float) -> None:
        """A reply that could not be read, in words, on its step."""
        if exc.fault in ("not-smtp", "bad-reply"):
            step.text = self.secrets.scrub("\n".join(exc.lines))
        if exc.fault == "not-smtp":
            self.fail(step, "not-smtp", self._not_smtp(step, exc), started)
        elif exc.fault == "bad-reply":
            codes = ", ".join(dict.fromkeys(line[:3] for line in exc.lines))
            self.fail(step, "bad-reply", f"the lines of this reply carry different codes ({codes}): RFC 5321 "
                      "§4.2.1 gives a reply one code, so what it means is unknown", started)  # fmt: skip
        elif exc.fault == "too-long":
            self.fail(step, "too-long", _TOO_LONG, started)
        elif exc.fault == "timeout":
            cut = "" if exc.lines or exc.tail else self.deadline_cut(timeout)
            fault, text = (
                ("deadline", f"{_no(step, timeout)}: {cut}") if cut else self._slow(step, exc, timeout)
            )
            self.fail(step, fault, text, started)
        elif exc.lines or exc.tail:
            self.fail(step, "disconnected", "the server closed the connection in the middle of its reply "
                      f"('{self._first(exc)}')", started)  # fmt: skip
        elif step.step == "banner":
            self.fail(step, "disconnected", "the server closed the connection before its greeting", started)
        else:
            reason = f" ({exc.reason})" if exc.reason and "closed" not in exc.reason else ""
            self.fail(step, "disconnected", _ON_FAULT["disconnected"] + reason, started)

    def _first(self, exc: ReadError) -> str:
        return self.secrets.scrub(exc.lines[0] if exc.lines else exc.tail)[:60]

    def _not_smtp(self, step: Step, exc: ReadError) -> str:
        # The controls are the evidence, kept as sent for JSON (renderers escape them).
        shown = self.secrets.scrub(exc.lines[-1] if exc.lines else "")[:80]
        if step.step != "banner":
            return (
                f"not an SMTP reply: '{shown}' (RFC 5321 §4.2: three digits, 2xx to 5xx, then a space or '-')"
            )
        hint = ""
        if shown.upper().startswith("HTTP/"):
            hint = " (an HTTP server)"
        elif shown[:1] in ("\x15", "\x16"):
            hint = " (a TLS server: try --tls)"
        return f"not an SMTP server: it answered '{shown}'{hint}"

    def _slow(self, step: Step, exc: ReadError, timeout: float) -> tuple[str, str]:
        """A reply that did not end in time: nothing at all, a line that never ends, or more lines."""
        head = f"no complete reply within {timeout:.1f} s"
        first = self._first(exc)
        if len(exc.lines) > 2 and all(line[3:4] == "-" for line in exc.lines):
            return "too-long", (
                f"{head}: {len(exc.lines)} lines arrived, each announcing another ('{first}' ...), and never "
                "a last one: a multi-line reply that never ends"
            )
        wait = "; raise --smtp-timeout to wait longer"
        if exc.lines:
            return (
                "timeout",
                f"{head}: {len(exc.lines)} line(s) arrived ('{first}'), never the last one{wait}",
            )
        if exc.tail:
            return "timeout", (
                f"{head}: {exc.size} bytes arrived without a line end ('{first}'): the server sends its "
                f"reply a little at a time, as a tarpit does{wait}"
            )
        if step.step == "banner":
            return "timeout", self._silent(timeout)
        return "timeout", _no(step, timeout)

    def _silent(self, timeout: float) -> str:
        text = (
            f"no greeting within {timeout:.1f} s: the server accepted the connection and stayed silent "
            "(a tarpit delays clients it distrusts, or the server is busy); raise --smtp-timeout to wait"
        )
        if self.result.port == 465 and not self.options.tls:
            text += "; port 465 expects TLS from the first byte: add --tls"
        return text


_TOO_LONG = (
    "the reply is longer than this client accepts (8192 bytes a line, 32 KB a reply): an over-long line, or "
    "a multi-line reply that never ends; RFC 5321 limits a reply line to 512 bytes"
)


def guard(line: str, *, secret: bool = False) -> None:
    """Refuse any line that is not one allowed command (or, with `secret`, one answer to a challenge)."""
    if any(c in line for c in "\r\n\0"):
        raise ValueError("refusing to send a line with CR, LF or NUL inside: one command is one line")
    if secret:  # base64 only, and not a word a lax server could take for a verb it must never get
        if _ANSWER.fullmatch(line) is None or line[:4].upper() in ("DATA", "BDAT"):
            raise ValueError("refusing to send an AUTH answer that is not base64, or reads as DATA/BDAT")
        return
    verb = line.split(" ", 1)[0].upper()
    if verb not in VERBS:
        raise ValueError(f"refusing to send {verb[:20]!r}: the probe never goes past RCPT")


# The replies that answer each command when it succeeds or asks for more (RFC 5321 §4.3.2, RFC 4954 §4);
# any 4xx or 5xx may refuse any of them, except QUIT, answered 221 (or 421 by a server going down).
_ANSWERS: dict[str, tuple[int, ...]] = {
    "banner": (220,),
    "ehlo": (250,),
    HELO: (250,),
    "starttls": (220,),
    "auth": (235, 334),
    "mail": (250,),
    "rcpt": (250, 251, 252),
    "relay-test": (250, 251, 252),
    "quit": (221, 421),
}


def _misfit(step: str, code: int) -> str:
    """Why `code` cannot answer the command of `step` ("" when it can)."""
    expected = _ANSWERS.get(step, ())
    if code in expected or (400 <= code < 600 and step != "quit"):
        return ""
    if code == 354:
        return "354 asks for the message, and answers DATA only (never sent)"
    if code // 100 == 3:
        return f"a {code} (go on) answers no command but DATA and AUTH"
    wanted = " or ".join(str(c) for c in expected)
    return f"{_verb_of(step)} is answered with {wanted}" + ("" if step == "quit" else " or an error")


def _verb_of(step: str) -> str:
    return "the greeting" if step == "banner" else "RCPT" if step == "relay-test" else step.upper()


def _verb(step: Step) -> str:
    return step.command.split(" ")[0].upper() if step.command and step.step != "auth" else step.step.upper()


def _no(step: Step, timeout: float) -> str:
    return f"no {'greeting' if step.step == 'banner' else 'reply'} within {timeout:.1f} s"


def _explain(reply: Parsed, text: str) -> Explanation | None:
    from mxprobe import catalogue

    try:
        return catalogue.match(reply, text)
    except catalogue.CatalogueError:
        return None
