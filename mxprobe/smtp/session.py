"""The live SMTP dialogue: what a real receiver says to this IP, step by step, up to RCPT and never further.

The dialogue is built on aiosmtplib's low level (`execute_command`), never on its high-level helpers: those
raise on the first refusal, and a refusal is exactly what this tool is here to capture. Every reply of every
code is recorded with its timing and the catalogue's explanation; every failure (refused, timeout, a
disconnect, a server that does not speak SMTP) becomes the reason of the step where it happened.

Hard rules, each enforced in one place:
- No DATA, ever: `_send` refuses any verb outside `_VERBS` (DATA and BDAT are not in it); the message of a
  probe is never sent.
- Every step is bounded by `min(--smtp-timeout, what the run's deadline leaves)`; `handshake` adds a last
  guard around the whole dialogue so that nothing outlives the deadline.
- The AUTH password never leaves `_Secrets`: what mxprobe sends with it (the AUTH argument, the answers to
  334 challenges) is recorded as `********`, and a reply or error that echoes it or one of its base64 forms
  as a whole token has that token replaced before it is stored. It is sent only over TLS whose certificate
  verifies: a password must not go to whoever answers.
- Every reply is stored as the server sent it (controls included; only undecodable bytes become U+FFFD):
  escaping it is the renderers' job, and JSON consumers get the exact text.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import aiosmtplib
import idna

from mxprobe import target as validate
from mxprobe.errors import InputError
from mxprobe.replies import parse_reply
from mxprobe.smtp.tls import TlsInfo, dialogue_context, examine_safely, read_session

if TYPE_CHECKING:
    from mxprobe.catalogue import Explanation
    from mxprobe.checks import Context

T = TypeVar("T")

# RCPT for --relay-test: a domain reserved for documentation (RFC 2606), so it is nobody's mail domain and no
# server should relay for it. It exists in the DNS, so a server that checks recipient domains before relaying
# still answers the relay question. Nothing is ever sent to it: the probe stops before DATA.
RELAY_TEST_ADDRESS = "mxprobe-relay-test@example.net"
SLOW_REPLY = 2.0  # seconds: a slower reply is reported as a delay (tarpit)
REDACTED = "********"
# A shorter password is no token worth hunting in replies: "x" would turn every "x" into a redaction,
# garbling the text and, by the gaps, telling the secret. What mxprobe itself sends is redacted whatever
# the length.
MIN_SCRUBBED = 4
_GRACE = 1.0  # seconds the last guard waits past the deadline before it cuts the dialogue
_VERBS = frozenset({"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "RSET", "QUIT"})
# Steps whose refusal decides the outcome (RCPT for --relay-test, RSET and QUIT do not).
DECIDING = ("banner", "ehlo", "helo", "auth", "mail", "rcpt")
# What the faults mean when no reply says it: the cause vocabulary of mxprobe.model.
FAULT_CAUSES = {
    "refused": "network",
    "timeout": "network",
    "unreachable": "network",
    "disconnected": "network",
    "deadline": "network",
    "not-smtp": "protocol",
    "too-long": "protocol",
    "smtputf8": "protocol",
    "tls": "tls",
    "auth": "auth",
}


@dataclass
class Step:
    """One exchange of the dialogue. `command` is what was sent (secrets replaced); `text` the whole reply."""

    step: str  # connect | banner | ehlo | helo | starttls | auth | mail | rcpt | relay-test | rset | quit
    command: str = ""
    code: int | None = None
    enhanced: str = ""
    text: str = ""  # every line of the reply with its code, as received
    elapsed_ms: float = 0.0
    explanation: Explanation | None = None
    fault: str = ""  # when no reply was read: refused | timeout | unreachable | disconnected | deadline | ...
    error: str = ""  # the fault in words, for people
    note: str = ""  # an observation that is not a failure (a slow greeting)
    sent: bool = True  # False when the command (still shown) was not sent: no time left, no connection ...
    confirmed_by: str | None = None  # set by join(): the failed check that proves this reply's cause
    diagnosis: str = ""  # set by join(): the sentence tying this reply to the DNS checks

    @property
    def refused(self) -> bool:
        return self.code is not None and self.code >= 400

    @property
    def cause(self) -> str | None:
        if self.explanation is not None and self.refused:
            return self.explanation.cause
        return FAULT_CAUSES.get(self.fault) if self.fault else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "command": self.command,
            "code": self.code,
            "enhanced": self.enhanced,
            "text": self.text,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "explanation": self.explanation.to_dict() if self.explanation is not None else None,
        }
        for key in ("fault", "error", "note", "diagnosis"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.confirmed_by:
            data["confirmed_by"] = self.confirmed_by
        if not self.sent:
            data["sent"] = False
        return data


@dataclass
class Candidate:
    """One address to try: an MX host (or the --mx given) and why it was not used, when it was not."""

    host: str
    preference: int | None
    address: str | None
    status: str = "not tried"  # connected | failed | skipped | not tried
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "preference": self.preference,
            "address": self.address,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class SmtpResult:
    """The handshake of one probe. `to_dict` is the `smtp` key of the JSON report."""

    port: int
    domain: str | None = None  # the recipient domain whose MX was looked up (None with --mx)
    mx_candidates: list[Candidate] = field(default_factory=list)
    host: str | None = None  # the server that answered: its MX name (or the --mx given)
    address: str | None = None
    ip: str | None = None  # --ip: the address the DNS checks are about
    source: str | None = None  # the local address the connection was made from
    source_reason: str = ""
    helo: str = ""
    helo_literal: bool = False  # no HELO name was known (no --helo, no PTR): EHLO sent the address literal
    tls: TlsInfo | None = None  # None: the dialogue ended before EHLO could tell
    extensions: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    outcome: str = "error"  # accepted | deferred | rejected | error
    cause: str | None = None
    confirmed_by: str | None = None
    diagnosis: str = ""
    auth: dict[str, Any] | None = None
    relay_test: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list, repr=False)  # --check: the checks the join may cite
    dns_evidence: list[Any] = field(
        default_factory=list, repr=False
    )  # mxprobe.model.Evidence of the MX lookup
    verdict_step: Step | None = field(default=None, repr=False)  # the step that decided the outcome

    def where(self) -> str:
        """The server the report is about, for sentences: the one that answered, else the only one tried,
        else the recipient domain's MX (or the --mx name, when it has several addresses)."""
        tried = {(c.host, c.address) for c in self.mx_candidates if c.status != "not tried"}
        if self.host is not None or len(tried) == 1:
            host, address = (self.host, self.address) if self.host is not None else tried.pop()
            if address is None:
                return f"{host}:{self.port}"
            literal = f"[{address}]" if ":" in address else address
            return f"{host} {literal}:{self.port}" if host != address else f"{literal}:{self.port}"
        if self.domain:
            return f"the MX of {self.domain}"
        hosts = sorted({c.host for c in self.mx_candidates})
        return f"{hosts[0]}:{self.port}" if len(hosts) == 1 else "the server"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mx_candidates": [c.to_dict() for c in self.mx_candidates],
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "source": self.source,
            "helo": self.helo,
            "tls": self.tls.to_dict() if self.tls is not None else None,
            "extensions": self.extensions,
            "steps": [s.to_dict() for s in self.steps],
            "outcome": self.outcome,
            "cause": self.cause,
            "confirmed_by": self.confirmed_by,
            "diagnosis": self.diagnosis,
            "auth": self.auth,
            "relay_test": self.relay_test,
            "notes": self.notes,
        }


# ------------------------------------------------------------------------------------------------- entry


async def handshake(ctx: Context) -> SmtpResult:
    """Talk to the recipient's MX (or --mx) as a sender would, stopping before DATA. Never raises for the
    network; raises InputError only for a --source this host cannot use, or recipients of several domains."""
    validate_recipients(ctx.target.to, ctx.target.mx)
    result = SmtpResult(port=ctx.target.port, ip=ctx.target.ip, selected=list(ctx.options.only))
    deadline = ctx.dns.deadline
    source = choose_source(ctx.options.source, ctx.target.ip)
    result.source, result.source_reason = source if source else (None, "")
    try:
        await asyncio.wait_for(_handshake(ctx, result), timeout=deadline.remaining() + _GRACE)
    except TimeoutError:
        ended = f"the run's deadline ({deadline.seconds:g} s) ended the wait; raise --timeout"
        _cut(result, "deadline", ended)
    except InputError:
        raise
    except Exception as exc:  # a bug here must cost the handshake, not the whole report
        _cut(result, "internal", f"internal error: {type(exc).__name__}: {exc}")
    settle(result)
    return result


def _cut(result: SmtpResult, fault: str, reason: str) -> None:
    """Name the step that was interrupted (the one still waiting for its reply), or add one."""
    last = result.steps[-1] if result.steps else None
    if last is not None and last.code is None and not last.fault:
        last.fault, last.error = fault, reason
    else:
        result.steps.append(Step(fault if result.steps else "connect", fault=fault, error=reason))


def validate_recipients(to: Sequence[str], mx: str | None) -> None:
    """Refuse recipients of several domains unless --mx names the one server for all of them.

    Each domain has its own MX, and a sender delivers to each separately: one dialogue cannot say what
    every receiver would answer, and reporting one domain's recipient as accepted by another's server
    would be false. A run per domain keeps the report (one server, one outcome) true, whatever the order
    of the arguments.
    """
    if mx:
        return
    domains = sorted({validate.domain_of(validate.address(r, "RCPT TO")) for r in to})
    if len(domains) > 1:
        raise InputError(
            f"--to has recipients at {', '.join(domains[:-1])} and {domains[-1]}, each domain with its own "
            "MX: run mxprobe once per domain, or give --mx to send them all to one server"
        )


def choose_source(given: str | None, sending_ip: str | None) -> tuple[str, str] | None:
    """The local address to bind: --source, else --ip when it is an address of this host (so a new sending IP
    is tested from itself), else none (the OS chooses)."""
    if given:
        address = validate.ip(given, "--source")
        if not _bindable(address):
            raise InputError(f"invalid --source {address}: not an address of this host")
        return address, "--source"
    if sending_ip and _bindable(sending_ip):
        return sending_ip, "--ip is an address of this host"
    return None


def _bindable(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


async def _handshake(ctx: Context, result: SmtpResult) -> None:
    candidates = await find_candidates(ctx, result)
    secrets = _Secrets(ctx.options.auth_user, ctx.options.auth_password)
    deadline = ctx.dns.deadline
    for candidate in candidates:
        if candidate.address is None or candidate.status != "not tried":
            continue
        if deadline.expired():
            candidate.reason = "the run's deadline was reached"
            continue
        other_family = result.source and (":" in result.source) != (":" in candidate.address)
        if other_family and result.source_reason == "--source":
            candidate.status, candidate.reason = "skipped", f"--source {result.source} is another IP family"
            continue
        session = _Session(ctx, result, candidate, secrets)
        result.steps = session.steps
        if await session.run():
            candidate.status = "connected"
            result.host, result.address = candidate.host, candidate.address
            return
        candidate.status = "failed"
        candidate.reason = next((s.error for s in reversed(session.steps) if s.error), "no SMTP greeting")
    tried = [c for c in result.mx_candidates if c.status in ("failed", "skipped") and c.address]
    if len(tried) > 1 and not result.diagnosis:  # one line per server tried, not only the last one's reason
        result.diagnosis = "; ".join(f"{c.host} [{c.address}]: {c.reason}" for c in tried)


# ---------------------------------------------------------------------------------------- MX resolution


async def find_candidates(ctx: Context, result: SmtpResult) -> list[Candidate]:
    """The addresses to try, in order: --mx, else the recipient domain's MX by preference (RFC 5321 §5.1),
    else its own A/AAAA. A domain that accepts no mail settles the result here (outcome rejected)."""
    t = ctx.target
    hosts: list[tuple[int | None, str]]
    if t.mx:
        hosts = [(None, t.mx)]
    else:
        domain = validate.domain_of(t.to[0])  # the only one: see validate_recipients
        result.domain = domain
        if domain.startswith("["):  # an address literal: user@[192.0.2.1]
            literal = validate.ip(domain, "recipient address literal")
            result.mx_candidates = [Candidate(domain, None, literal)]
            return result.mx_candidates
        found = await _mx_hosts(ctx, result, domain)
        if found is None:
            return []
        hosts = found
    result.mx_candidates, dns_failed = await _resolve(ctx, hosts)
    if any(c.address for c in result.mx_candidates):
        return result.mx_candidates
    reasons = "; ".join(f"{c.host}: {c.reason}" for c in result.mx_candidates)
    if t.mx or dns_failed:  # no verdict on the recipient: the DNS did not answer, or --mx is not a host
        result.diagnosis = (
            f"--mx {reasons}" if t.mx else f"no address for the MX of {result.domain} ({reasons})"
        )
    elif hosts == [(None, result.domain)]:
        _settle_early(
            result, "rejected", "recipient", f"{result.domain} has no MX and no address: it accepts no mail"
        )
    else:
        _settle_early(
            result, "rejected", "recipient", f"no MX host of {result.domain} has an address ({reasons})"
        )
    return result.mx_candidates


async def _mx_hosts(ctx: Context, result: SmtpResult, domain: str) -> list[tuple[int | None, str]] | None:
    answer = await ctx.dns.query(domain, "MX", urgent=True)
    result.dns_evidence.append(answer.evidence())
    if answer.rcode == "NXDOMAIN":
        _settle_early(
            result, "rejected", "recipient", f"the recipient domain {domain} does not exist (NXDOMAIN)"
        )
        return None
    if answer.failed:
        reason = answer.error or answer.rcode
        result.diagnosis = (
            f"the MX of {domain} could not be resolved ({answer.rcode}: {reason}); a sender would retry"
        )
        return None
    if not answer.ok:
        result.notes.append(f"{domain} has no MX record: its own address is used, as RFC 5321 §5.1 says")
        return [(None, domain)]
    records = sorted(
        (int(r.preference), r.exchange.to_text(omit_final_dot=True).lower()) for r in answer.records
    )
    real = [(pref, name) for pref, name in records if name not in (".", "")]
    if not real:
        _settle_early(
            result,
            "rejected",
            "recipient",
            f"{domain} publishes a null MX (RFC 7505): the domain accepts no mail",
        )
        return None
    if len(real) != len(records):
        result.notes.append(f"{domain} mixes a null MX with other MX records (RFC 7505 forbids it)")
    return [(pref, name) for pref, name in real]


async def _resolve(ctx: Context, hosts: list[tuple[int | None, str]]) -> tuple[list[Candidate], bool]:
    """Each host's addresses (IPv4 first: an IPv6 route is the likelier to be missing), asked at once; and
    whether the DNS failed to answer for one of them (then nothing may be concluded about the domain)."""
    dns_failed = False

    async def one(pref: int | None, host: str) -> list[Candidate]:
        try:
            ip = str(ipaddress.ip_address(host))
        except ValueError:
            pass
        else:
            return [Candidate(host, pref, ip)]
        a, aaaa = await ctx.dns.addresses(host, urgent=True)
        addresses = [*a.texts, *aaaa.texts]
        if addresses:
            return [Candidate(host, pref, address) for address in addresses]
        nonlocal dns_failed
        failed = next((x for x in (a, aaaa) if x.failed), None)
        dns_failed = dns_failed or failed is not None
        reason = (
            f"its address could not be resolved ({failed.rcode})"
            if failed
            else f"no A/AAAA record ({a.rcode})"
        )
        return [Candidate(host, pref, None, status="failed", reason=reason)]

    found = await asyncio.gather(*(one(pref, host) for pref, host in hosts))
    return [c for group in found for c in group], dns_failed


def _settle_early(result: SmtpResult, outcome: str, cause: str, diagnosis: str) -> None:
    result.outcome, result.cause, result.diagnosis = outcome, cause, diagnosis


# ---------------------------------------------------------------------------------------------- secrets


class _Secrets:
    """The AUTH credentials, and the scrubber that keeps the password out of everything recorded."""

    def __init__(self, user: str | None, password: str | None) -> None:
        self.user = user or ""
        self.password = password or ""
        forms = [self.password]
        if self.password:
            for raw in (f"\0{self.user}\0{self.password}", self.password):
                forms.append(base64.b64encode(raw.encode()).decode())
        wanted = sorted({f for f in forms if len(f) >= MIN_SCRUBBED}, key=len, reverse=True)
        # Whole tokens only: the secret next to a letter or digit is part of another word, not the secret.
        alternatives = "|".join(re.escape(f) for f in wanted)
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if wanted else None

    def plain(self) -> str:
        return base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()

    def scrub(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern is not None else text


# ---------------------------------------------------------------------------------------------- session


class _Session:
    """One connection to one address (plus one reconnection without STARTTLS when its handshake fails)."""

    def __init__(self, ctx: Context, result: SmtpResult, candidate: Candidate, secrets: _Secrets) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.result = result
        self.candidate = candidate
        self.secrets = secrets
        self.steps: list[Step] = []
        self.smtp: aiosmtplib.SMTP | None = None
        self.use_starttls = not ctx.options.tls
        self.retry_in_clear = False  # the STARTTLS handshake failed: reconnect without it
        self.last_reply: aiosmtplib.SMTPResponse | None = None
        self.tls_check: asyncio.Task[None] | None = None
        self.local = ""  # the local address of the connection

    # -- budget and recording -------------------------------------------------------------------------------
    def budget(self) -> float:
        return min(self.options.smtp_timeout, self.ctx.dns.deadline.remaining())

    def deadline_cut(self, timeout: float) -> str:
        """When the run's deadline, not --smtp-timeout, bounded a wait: the words that name it ("" if not),
        so that the advice names the option that would have let the wait go on."""
        if timeout >= self.options.smtp_timeout:
            return ""
        return f"the run's deadline ({self.ctx.dns.deadline.seconds:g} s) ended the wait; raise --timeout"

    def begin(self, name: str, command: str = "") -> Step:
        step = Step(name, command=command)
        self.steps.append(step)
        return step

    def record(self, step: Step, code: int, message: str, started: float) -> None:
        step.elapsed_ms = (time.monotonic() - started) * 1000
        lines = self.secrets.scrub(_printable(message)).split("\n")
        step.code = code
        step.text = "\n".join(
            f"{code}{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)
        )
        step.text = step.text.rstrip()
        reply = parse_reply(step.text) if 200 <= code <= 599 else None
        if reply is not None:
            step.enhanced = reply.enhanced
            if code >= 400 or step.step == "auth":  # a 250 needs no explaining; AUTH's 334 and 235 do
                step.explanation = _explain(reply, step.text)
        if step.elapsed_ms > SLOW_REPLY * 1000:
            step.note = (
                f"the reply took {step.elapsed_ms / 1000:.1f} s: the server delays this client "
                "(a tarpit slows down clients it distrusts)"
            )

    def fail(self, step: Step, fault: str, error: str, started: float | None = None) -> None:
        """Record why `step` got no reply; with no `started`, the command was never sent. `error` is this
        module's words; any server text quoted in it was scrubbed where it was quoted (only the server's text
        is: a password that is a word must not blank out the same word in mxprobe's own sentences)."""
        if started is not None:
            step.elapsed_ms = (time.monotonic() - started) * 1000
        elif step.command:
            step.sent = False
        step.fault, step.error = fault, error

    @property
    def connected(self) -> bool:
        return self.smtp is not None and self.smtp.is_connected

    # -- the dialogue ---------------------------------------------------------------------------------------
    async def run(self) -> bool:
        """The whole dialogue; True when a server answered with an SMTP greeting (any code)."""
        try:
            answered = await self._open()
            if answered and self.connected:
                await self._converse()
            if self.retry_in_clear:
                self._close()
                self.use_starttls = False
                self.result.notes.append(
                    "the STARTTLS handshake failed: reconnected without it, as opportunistic-TLS senders do"
                )
                if await self._open() and self.connected:
                    await self._converse()
            return answered
        finally:
            self._close()
            if self.tls_check is not None:
                await self.tls_check

    async def _open(self) -> bool:
        sock = await self._connect()
        if sock is None:
            return False
        self.local = sock.getsockname()[0]
        self.result.source = self.result.source or self.local
        self.smtp = aiosmtplib.SMTP(
            hostname=self.candidate.host,  # the TLS server name (SNI) with --tls: the MX name, not its IP
            local_hostname=_address_literal(self.local),  # never socket.getfqdn(): EHLO is sent from here
            timeout=self.options.smtp_timeout,
            use_tls=self.options.tls,
            start_tls=False,  # aiosmtplib's default would EHLO and STARTTLS on its own, unrecorded
            tls_context=dialogue_context(),
        )
        if self.options.tls:
            self.result.tls = TlsInfo(offered=True, mode="implicit", hostname=self.candidate.host)
        return await self._banner(sock)

    async def _connect(self) -> socket.socket | None:
        address, port = self.candidate.address or "", self.result.port
        step = self.begin("connect")
        timeout = self.budget()
        if timeout <= 0:
            self.fail(step, "deadline", "not tried: the run's deadline was reached")
            return None
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        started = time.monotonic()
        source = self.result.source if self.result.source_reason else None
        try:
            if source and (":" in source) == (family == socket.AF_INET6):
                sock.bind((source, 0))
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (address, port)), timeout)
        except TimeoutError:
            sock.close()
            cut = self.deadline_cut(timeout)
            if cut:
                text = f"no answer to the TCP connection to {address}:{port} within {timeout:.1f} s: {cut}"
                self.fail(step, "deadline", text, started)
            else:
                self.fail(step, "timeout", _connect_timeout_text(address, port, timeout), started)
            return None
        except OSError as exc:
            sock.close()
            self.fail(step, *_connect_error(exc, address, port, source), started)
            return None
        except BaseException:
            sock.close()
            raise
        step.elapsed_ms = (time.monotonic() - started) * 1000
        return sock

    async def _banner(self, sock: socket.socket) -> bool:
        assert self.smtp is not None
        step = self.begin("banner")
        timeout = self.budget()
        started = time.monotonic()
        if timeout <= 0:
            sock.close()
            self.fail(step, "deadline", "no time left for the greeting: the run's deadline was reached")
            return False
        try:
            reply = await self._bounded(self.smtp.connect(sock=sock, timeout=None), timeout)
        except aiosmtplib.SMTPConnectResponseError as exc:  # 421 / 554 greeting: an answer, and a refusal
            self.record(step, exc.code, exc.message, started)
            return True
        except _NoReply as exc:
            cut = "" if exc.partial else self.deadline_cut(timeout)
            if cut:
                self.fail(step, "deadline", f"no greeting within {timeout:.1f} s: {cut}", started)
            else:
                self.fail(step, exc.fault, exc.partial or self._silent_text(timeout), started)
            return False
        except aiosmtplib.SMTPResponseException as exc:  # a reply that is not SMTP at all
            self.fail(step, *_malformed(exc, self.secrets.scrub), started)
            return False
        except (aiosmtplib.SMTPConnectError, OSError) as exc:
            tls_error = _ssl_cause(exc)
            if tls_error is not None:
                step.step = "tls"
                self.fail(step, "tls", f"the TLS handshake failed: {tls_error}", started)
                if self.result.tls is not None:
                    self.result.tls.error = f"the TLS handshake failed: {tls_error}"
            else:
                self.fail(
                    step, "disconnected", "the server closed the connection before its greeting", started
                )
            return False
        self.record(step, reply.code, reply.message, started)
        if self.options.tls:
            self._tls_established()
        return True

    async def _bounded(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await a reply on this module's clock rather than aiosmtplib's, so that when it runs out the part of
        a reply that did arrive can still be told (a reply that never ends is not a silent server)."""
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if task in done:
                return task.result()
            partial = _partial_reply(self.smtp, timeout, self.secrets.scrub)
            task.cancel()
            await asyncio.wait({task})
            self._close()
            raise _NoReply(partial)
        finally:
            if not task.done():
                task.cancel()

    def _silent_text(self, timeout: float) -> str:
        text = (
            f"no greeting within {timeout:.1f} s: the server accepted the connection and stayed silent "
            "(a tarpit delays clients it distrusts, or the server is busy); raise --smtp-timeout to wait"
        )
        if self.result.port == 465 and not self.options.tls:
            text += "; port 465 expects TLS from the first byte: add --tls"
        return text

    async def _converse(self) -> None:
        # The default HELO (the IP's PTR name) is looked up by the scanner meanwhile: it is needed only now.
        helo = await self.ctx.helo()
        self.result.helo = helo or _address_literal(self.local)
        self.result.helo_literal = helo is None
        if not await self._ehlo():
            return await self._quit()
        if self.use_starttls and self._offers("starttls") and not await self._starttls():
            return await self._quit()
        if self.options.auth_user:
            await self._auth()
        if await self._mail():
            for rcpt in self.ctx.target.to:
                await self._rcpt(rcpt, "rcpt")
            if self.options.relay_test:
                await self._relay_test()
        elif self.options.relay_test:
            summary = "MAIL FROM was refused, so no RCPT could be tried"
            self.result.relay_test = {
                "address": RELAY_TEST_ADDRESS,
                "verdict": "not tested",
                "summary": summary,
            }
        if self.connected:
            await self._send("rset", "RSET")
        await self._quit()

    async def _quit(self) -> None:
        if self.connected:
            await self._send("quit", "QUIT")

    def _offers(self, extension: str) -> bool:
        return self.smtp is not None and self.smtp.supports_extension(extension)

    async def _send(self, name: str, line: str, *, shown: str | None = None, secret: bool = False) -> Step:
        """Send one command line and record its reply. The only place commands leave this program."""
        verb = line.split(" ", 1)[0].upper()
        if not secret and verb not in _VERBS:
            raise ValueError(f"refusing to send {verb!r}: the probe never goes past RCPT")
        step = self.begin(name, shown if shown is not None else line)
        timeout = self.budget()
        if timeout <= 0:
            self.fail(
                step,
                "deadline",
                f"not sent: the run's deadline ({self.ctx.dns.deadline.seconds:g}s) was reached",
            )
            return step
        if not self.connected or self.smtp is None:
            self.fail(
                step,
                "disconnected",
                "not sent: the server had closed the connection (a reply it sent while this client was not "
                "waiting for one, such as a 421, cannot be read)",
            )
            return step
        started = time.monotonic()
        try:
            reply = await self._bounded(self.smtp.execute_command(line.encode(), timeout=None), timeout)
        except _NoReply as exc:
            cut = "" if exc.partial else self.deadline_cut(timeout)
            if cut:
                self.fail(step, "deadline", f"no reply within {timeout:.1f} s: {cut}", started)
            else:
                self.fail(step, exc.fault, exc.partial or f"no reply within {timeout:.1f} s", started)
        except aiosmtplib.SMTPServerDisconnected:
            self.fail(step, "disconnected", "the server closed the connection instead of replying", started)
        except aiosmtplib.SMTPResponseException as exc:
            self.fail(step, *_malformed(exc, self.secrets.scrub), started)
            self._close()
        except OSError as exc:
            self.fail(step, "disconnected", f"the connection failed: {exc}", started)
            self._close()
        else:
            self.last_reply = reply
            self.record(step, reply.code, reply.message, started)
        return step

    async def _ehlo(self) -> bool:
        assert self.smtp is not None
        step = await self._send("ehlo", f"EHLO {self.result.helo}")
        if step.code in (500, 502):  # a server without ESMTP: HELO, as RFC 5321 §3.2 says
            step = await self._send("helo", f"HELO {self.result.helo}")
            if step.code == 250 and self.result.tls is None:
                self.result.tls = TlsInfo(offered=False, hostname=self.candidate.host)
            return step.code == 250
        if step.code != 250 or self.last_reply is None:
            return False
        self.smtp.last_ehlo_response = self.last_reply
        self.result.extensions = {k.upper(): v for k, v in self.smtp.esmtp_extensions.items()}
        if self.result.tls is None:
            self.result.tls = TlsInfo(offered=self._offers("starttls"), hostname=self.candidate.host)
        return True

    async def _starttls(self) -> bool:
        """STARTTLS, then EHLO again. False when the dialogue cannot go on on this connection."""
        assert self.smtp is not None and self.result.tls is not None
        info = self.result.tls
        info.mode = "starttls"
        step = self.begin("starttls", "STARTTLS")
        timeout = self.budget()
        if timeout <= 0:
            self.fail(step, "deadline", "not sent: the run's deadline was reached")
            return False
        started = time.monotonic()
        try:
            reply = await self.smtp.starttls(
                server_hostname=self.candidate.host, tls_context=dialogue_context(), timeout=timeout
            )
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code < 0:
                self.fail(step, *_malformed(exc, self.secrets.scrub), started)
                self._close()
                return False
            self.record(step, exc.code, exc.message, started)  # refused (454): the dialogue goes on in clear
            info.error = f"STARTTLS was refused: {step.text}"
            return True
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason = _ssl_cause(exc)
            if reason is not None:
                text = f"the TLS handshake failed: {reason}"
            elif isinstance(exc, aiosmtplib.SMTPTimeoutError):
                cut = self.deadline_cut(timeout)
                text = f"no reply to STARTTLS within {timeout:.1f} s" + (f": {cut}" if cut else "")
            else:
                text = "the server closed the connection after STARTTLS, before any TLS handshake"
            self.fail(step, "tls", text, started)
            info.error = step.error
            self._close()
            self.retry_in_clear = self.ctx.dns.deadline.remaining() > 0
            return False
        self.record(step, reply.code, reply.message, started)
        self._tls_established()
        return await self._ehlo()

    def _tls_established(self) -> None:
        assert self.smtp is not None and self.result.tls is not None
        read_session(self.result.tls, self.smtp.get_transport_info("ssl_object"))
        self.tls_check = asyncio.ensure_future(asyncio.to_thread(examine_safely, self.result.tls))

    async def _auth(self) -> None:
        user = self.secrets.user
        info = self.result.tls
        self.result.auth = {"user": user, "mechanism": None, "accepted": False}
        problem = ""
        if info is None or not info.established:
            problem = "not sent: the connection is not encrypted, and a password is never sent in clear text"
        else:
            if self.tls_check is not None:
                await self.tls_check
            if not info.verified:
                why = "; ".join(info.problems) or info.unchecked or "it could not be checked"
                problem = f"not sent: the server's certificate does not verify ({why})"
        methods = self.smtp.server_auth_methods if self.smtp is not None else []
        mechanism = next((m for m in ("plain", "login") if m in methods), None)
        if not problem and mechanism is None:
            offered = " ".join(methods).upper() or "nothing"
            problem = f"not sent: the server offers no AUTH PLAIN or LOGIN (it offers {offered})"
            if not methods and self.result.port == 25:
                problem += "; port 25 usually has no AUTH: submission is on port 587 (or 465 with --tls)"
        if problem:
            self.fail(self.begin("auth", "AUTH"), "auth", problem)
            return
        assert mechanism is not None
        self.result.auth["mechanism"] = mechanism.upper()
        if mechanism == "plain":
            step = await self._send(
                "auth", f"AUTH PLAIN {self.secrets.plain()}", shown=f"AUTH PLAIN {REDACTED}"
            )
        else:
            step = await self._send("auth", "AUTH LOGIN")
            for answer in (self.secrets.user, self.secrets.password):
                if step.code != 334:
                    break
                encoded = base64.b64encode(answer.encode()).decode()
                step = await self._send("auth", encoded, shown=REDACTED, secret=True)
        self.result.auth["accepted"] = step.code == 235

    def _wire(self, address: str) -> str | None:
        """An address as it goes on the wire: U-labels when the server offers SMTPUTF8, else ASCII (punycode)
        or None when the local part is not ASCII and the server cannot take it."""
        local, _, domain = address.rpartition("@")
        if self._offers("smtputf8"):
            with contextlib.suppress(idna.IDNAError):
                domain = idna.decode(domain) if "xn--" in domain else domain
            return f"{local}@{domain}"
        return address if local.isascii() else None

    async def _mail(self) -> bool:
        sender = self.ctx.target.mail_from or ""
        envelope = [sender, *self.ctx.target.to]
        wire = self._wire(sender) if sender else ""
        if wire is None:
            step = self.begin("mail", "MAIL FROM")
            self.fail(step, "smtputf8", _utf8_text(sender))
            return False
        utf8 = any(not (self._wire(a) or "").isascii() for a in envelope if a)
        step = await self._send("mail", f"MAIL FROM:<{wire}>" + (" SMTPUTF8" if utf8 else ""))
        return step.code == 250

    async def _rcpt(self, address: str, name: str) -> bool:
        wire = self._wire(address)
        if wire is None:
            step = self.begin(name, "RCPT TO")
            self.fail(step, "smtputf8", _utf8_text(address))
            return False
        step = await self._send(name, f"RCPT TO:<{wire}>")
        return step.code is not None and 200 <= step.code < 300

    async def _relay_test(self) -> None:
        accepted = await self._rcpt(RELAY_TEST_ADDRESS, "relay-test")
        step = self.steps[-1]
        report: dict[str, Any] = {"address": RELAY_TEST_ADDRESS, "code": step.code}
        if self.result.auth and self.result.auth.get("accepted"):
            report["verdict"] = "not judged"
            report["summary"] = "an authenticated client may relay: run --relay-test without --auth"
        elif accepted:
            report["verdict"] = "open"
            report["summary"] = f"OPEN RELAY: the server accepted a recipient at example.net ({step.text})"
        elif step.cause == "relay":
            report["verdict"] = "refused"
            report["summary"] = f"relaying refused, as it should be ({step.text})"
        else:
            report["verdict"] = "inconclusive"
            why = step.text or step.error
            report["summary"] = (
                f"the relay recipient was refused for another reason, so relaying was not shown: {why}"
            )
        self.result.relay_test = report

    def _close(self) -> None:
        """Drop the connection now: abort, not close, so no TLS shutdown lingers past the probe."""
        smtp = self.smtp
        if smtp is None:
            return
        transport = smtp.transport
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        smtp.close()


# ------------------------------------------------------------------------------------------------ words


class _NoReply(Exception):
    """No complete reply in time; `partial` describes what did arrive ("" when nothing did)."""

    def __init__(self, partial: str) -> None:
        super().__init__(partial)
        self.partial = partial
        self.fault = "too-long" if partial else "timeout"  # a reply that never ends breaks the protocol


def _partial_reply(smtp: aiosmtplib.SMTP | None, timeout: float, scrub: Callable[[str], str]) -> str:
    """What arrived of an unfinished reply. aiosmtplib keeps it in a private buffer and has no public way to
    show it; when that buffer is not there (another version), the caller says "no reply" instead."""
    buffer = getattr(smtp.protocol if smtp is not None else None, "_buffer", None)
    if not buffer:
        return ""
    data = bytes(buffer)
    lines = data.split(b"\n")
    first = scrub(lines[0].decode("utf-8", "replace").rstrip("\r"))[:60]  # whole, then cut
    if len(lines) > 2 and all(line[3:4] == b"-" for line in lines[:-1]):
        return (
            f"no complete reply within {timeout:.1f} s: {len(lines) - 1} lines arrived, each announcing "
            f"another ('{first}' ...), and never a last one: a multi-line reply that never ends"
        )
    return (
        f"no complete reply within {timeout:.1f} s: {len(data)} bytes arrived without a line end ('{first}')"
    )


def _explain(reply: Any, text: str) -> Explanation | None:
    from mxprobe import catalogue

    try:
        return catalogue.match(reply, text)
    except catalogue.CatalogueError:
        return None


def _address_literal(address: str) -> str:
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _connect_timeout_text(address: str, port: int, timeout: float) -> str:
    return (
        f"no answer to the TCP connection to {address}:{port} within {timeout:.1f} s: the packets are "
        "dropped on the way. Outbound port 25 is often blocked by the network or cloud provider (most clouds "
        "and home ISPs block it by default); test from a network that allows it, or ask the provider to lift "
        "the block"
    )


def _connect_error(exc: OSError, address: str, port: int, source: str | None) -> tuple[str, str]:
    code = exc.errno
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return "refused", (
            f"connection refused by {address}:{port}: no SMTP server listens there, or a firewall rejects it"
        )
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return (
            "unreachable",
            f"{address} is unreachable from here ({exc.strerror}); is this IP family routed?",
        )
    if code == errno.EADDRNOTAVAIL and source:
        return "unreachable", f"cannot connect from {source}: {exc.strerror}"
    return "unreachable", f"cannot connect to {address}:{port}: {exc.strerror or exc}"


def _printable(text: str) -> str:
    """aiosmtplib keeps undecodable bytes as surrogates, which no output can encode: make them U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _malformed(exc: aiosmtplib.SMTPResponseException, scrub: Callable[[str], str]) -> tuple[str, str]:
    message = _printable(str(exc.message))
    if "too long" in message.lower():
        return "too-long", (
            "the reply is longer than this client accepts (8192 bytes a line, 32 KB a reply): an over-long "
            "line, or a multi-line reply that never ends; RFC 5321 limits a reply line to 512 bytes"
        )
    # Only the line end goes: the controls are the evidence, kept as sent for JSON (renderers escape them).
    shown = scrub(message.split(":", 1)[-1].removeprefix(" ").rstrip("\r\n"))  # whole, then cut
    hint = ""
    if shown.upper().startswith("HTTP/"):
        hint = " (an HTTP server)"
    elif shown[:1] in ("\x15", "\x16"):
        hint = " (a TLS server: try --tls)"
    return "not-smtp", f"not an SMTP server: it answered '{shown[:80]}'{hint}"


def _ssl_cause(exc: BaseException) -> str | None:
    """The TLS error behind an exception aiosmtplib raised, if that is what it is."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return getattr(seen, "reason", None) or str(seen)
        if isinstance(seen, aiosmtplib.SMTPTimeoutError) and "upgrading" in str(seen):
            return "no TLS handshake within the timeout"
        if isinstance(seen, aiosmtplib.SMTPServerDisconnected) and "upgrading" in str(seen):
            return "the server reset the connection during the TLS handshake"
        seen = seen.__cause__ or seen.__context__
    return None


def _utf8_text(address: str) -> str:
    return (
        f"not sent: <{address}> has a non-ASCII local part and the server does not offer SMTPUTF8 "
        "(RFC 6531): a sender must bounce it"
    )


def settle(result: SmtpResult) -> None:
    """The outcome from the transcript: a refusal before RCPT (AUTH included: with --auth it is what is
    tested) decides it, 4xx deferred and 5xx rejected; else the recipients' replies do (the worst of them)."""
    if result.outcome != "error" or result.cause:  # settled before any connection (null MX, NXDOMAIN)
        return
    deciding = [s for s in result.steps if s.step in DECIDING]
    failures = [s for s in deciding if s.refused or s.fault]
    rcpts = [s for s in deciding if s.step == "rcpt"]
    gate = next((s for s in failures if s.step in ("banner", "ehlo", "helo", "auth", "mail")), None)
    verdict: Step | None = None
    if gate is not None:
        result.outcome, verdict = _fate(gate), gate
    elif rcpts:
        fates = [_fate(s) for s in rcpts]
        result.outcome = next((f for f in ("rejected", "deferred", "error") if f in fates), "accepted")
        if result.outcome != "accepted":
            verdict = rcpts[fates.index(result.outcome)]
    elif any(s.step == "mail" and s.code == 250 for s in deciding):
        result.outcome = "accepted"
        result.notes.append("no recipient given (--to): RCPT was not tested")
    else:
        verdict = next((s for s in reversed(result.steps) if s.fault), None)
    result.verdict_step = verdict
    if result.outcome != "accepted" and verdict is not None:
        result.cause = verdict.cause
        result.diagnosis = result.diagnosis or verdict.error


def _fate(step: Step) -> str:
    if step.fault == "smtputf8":
        return "rejected"
    if step.code is None:
        return "error"
    return {2: "accepted", 3: "accepted", 4: "deferred"}.get(step.code // 100, "rejected")
