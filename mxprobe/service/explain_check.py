"""`explain --check`: runs the DNS checks an explanation names, on the facts of the case, and keeps the
verdict. Prints nothing: the command renders what `run` returns and reports `capped` and `exit_code`.

The facts, in order of trust: what the user gave (`--ip`, `--helo`, `--from`, `--domain`), then what the
reply or the bounce names (the client IP in the reply, the original sender and the reporting MTA of a DSN),
then, for the sending IP only, this host's public IP (found as a probe finds it; said so in a note). A check
whose fact is unknown is `skip` with what to give; a HELO refusal checks the HELO name the reply names or
the one given, never the PTR name in its place. Each distinct target is checked once, and at most
`MAX_TARGETS` per run (a log names thousands of clients).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mxprobe.errors import ExitCode, InputError
from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId, checks

if TYPE_CHECKING:
    from mxprobe.catalogue import Explanation
    from mxprobe.dns import Nameserver

MAX_TARGETS = 16
MAX_SECONDS = 3600.0
DEFAULT_TIMEOUT = 15.0
_MISSING = {
    "ip": ("sending IP", "--ip IP"),
    "domain": ("sending domain", "--domain DOMAIN (or --from ADDRESS)"),
    "helo-name": ("HELO name", "--helo NAME"),
}


@dataclass
class Facts:
    """What the user told `explain --check` about the case (each validated; None: not given)."""

    ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None
    domain: str | None = None

    @classmethod
    def given(cls, ip: str | None, helo: str | None, mail_from: str | None, domain: str | None) -> Facts:
        from mxprobe import target

        address = None if mail_from is None else target.address(mail_from, "--from")
        sender_domain = target.domain(domain, "--domain") if domain is not None else None
        if sender_domain is None and address is not None:
            sender_domain = target.domain_of(address)
        return cls(
            ip=None if ip is None else target.ip(ip, "--ip"),
            helo=None if helo is None else target.helo(helo),
            mail_from=address,
            domain=sender_domain,
        )


def timeout_option(value: float | None) -> float:
    """--timeout of explain --check: seconds in (0, 3600]; nan, inf and 1e309 are typos (exit 2)."""
    if value is None:
        return DEFAULT_TIMEOUT
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise InputError(f"--timeout takes seconds between 0 and {MAX_SECONDS:g}")
    return value


@dataclass
class Checker:
    nameservers: list[Nameserver]
    timeout: float
    facts: Facts = field(default_factory=Facts)
    discover_ip: bool = True  # no IP given or named: check this host's public IP (said in a note)
    failed: bool = False
    inconclusive: bool = False
    capped: int = 0
    notes: list[str] = field(default_factory=list)
    _done: dict[tuple[Any, ...], list[CheckResult]] = field(default_factory=dict)
    _public: tuple[str, str] | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.failed:
            return ExitCode.FAILED
        return ExitCode.INCONCLUSIVE if self.inconclusive else ExitCode.OK

    def run(
        self, exp: Explanation, *, ip: str | None, domain: str | None, helo: str | None = None
    ) -> list[CheckResult]:
        """The checks of `exp` on the given facts, else the named ones (`ip`, `domain`, `helo`)."""
        needs = {s.id: s.needs for s in checks() if s.needs in ("ip", "domain")}
        wanted = [CheckId(c) for c in exp.checks if c in needs]
        if not wanted:
            return []
        f = self.facts
        target_ip = f.ip or _valid("ip", ip)
        target_domain = f.domain or _valid("domain", domain)
        target_helo = f.helo or _valid("helo-name", helo)
        if target_ip is None and any(_lacking(c, needs[c], None, "-", "-") == "ip" for c in wanted):
            target_ip = self.public_ip()
        runnable: list[tuple[CheckId, str | None]] = []
        missing: list[tuple[CheckId, str]] = []
        for check_id in wanted:
            lacking = _lacking(check_id, needs[check_id], target_ip, target_domain, target_helo)
            if lacking:
                missing.append((check_id, lacking))
            else:
                runnable.append((check_id, None))
        results: list[CheckResult] = []
        ids = [c for c, _ in runnable]
        if ids:
            # the domain goes along when known: a fix then names mail.DOMAIN, not a placeholder
            key = (target_ip, target_domain, target_helo, f.mail_from, tuple(ids))
            if key not in self._done:
                if len(self._done) >= MAX_TARGETS:
                    self.capped += 1
                    self.inconclusive = True
                    return []
                self._done[key] = self._probe(target_ip, target_domain, target_helo, ids)
            results = list(self._done[key])
        for check_id, lacking in missing:
            what, flag = _MISSING[lacking]
            results.append(
                CheckResult(check_id, Status.SKIP, f"not run: no {what} known", fix=f"give it with {flag}")
            )
        statuses = {r.status for r in results}
        self.failed |= Status.FAIL in statuses
        self.inconclusive |= bool(missing) or Status.ERROR in statuses
        return results

    def _probe(
        self, ip: str | None, domain: str | None, helo: str | None, ids: list[CheckId]
    ) -> list[CheckResult]:
        from mxprobe.options import Options
        from mxprobe.scanner import build_target, run

        only = [str(c) for c in ids]
        options = Options(nameservers=self.nameservers, timeout=self.timeout, only=only, discover_ip=False)
        mail_from = self.facts.mail_from if domain and self.facts.domain == domain else None
        import asyncio

        report = asyncio.run(run(build_target(domain, ip=ip, helo=helo, mail_from=mail_from), options))
        return [c for c in report.checks if c.id in ids]

    def public_ip(self) -> str | None:
        """This host's public IP, found once (the route, else DNS "who am I"), when the case names none."""
        if not self.discover_ip:
            return None
        if self._public is None:
            import asyncio

            from mxprobe.dns import Deadline
            from mxprobe.sourceip import discover

            found = asyncio.run(discover(Deadline(self.timeout)))
            self._public = found or ("", "")
            if found:
                self.notes.append(
                    f"the case names no sending IP: checked this host's public IP {found[0]} "
                    f"(found by {found[1]}); give --ip for another"
                )
        return self._public[0] or None

    def capped_note(self) -> str | None:
        if not self.capped:
            return None
        return (
            f"--check checked the first {MAX_TARGETS} targets; {self.capped} replies naming others were "
            "not checked"
        )


def _lacking(check_id: CheckId, needs: str, ip: object, domain: str | None, helo: str | None) -> str | None:
    """Which fact a check lacks: spf needs the IP and the domain, helo the HELO name (never the PTR's)."""
    if check_id == CheckId.HELO and not helo:
        return "helo-name"
    if (needs == "ip" or check_id == CheckId.SPF) and not ip:
        return "ip"
    if needs == "domain" and not domain:
        return "domain"
    return None


def _valid(kind: str, value: str | None) -> str | None:
    """What the text names, validated as the probe validates input; an invalid part is dropped."""
    from mxprobe import target

    if value is None:
        return None
    check = {"ip": target.ip, "domain": target.domain, "helo-name": target.helo}[kind]
    try:
        return str(check(value))
    except InputError:
        return None


def create(
    nameservers: list[str], timeout: float | None, facts: Facts, *, discover_ip: bool = True
) -> Checker:
    from mxprobe.dns import parse_nameserver

    return Checker([parse_nameserver(n) for n in nameservers], timeout_option(timeout), facts, discover_ip)


def for_reply(checker: Checker, exp: Explanation) -> list[CheckResult]:
    """The checks of a reply given as text or found in a line: the facts are the reply's own (the client IP,
    a domain in brackets or in an address, the HELO name a HELO refusal quotes)."""
    from mxprobe.replies import named_address_domain, named_domain, named_helo, named_ip

    domain = named_domain(exp.input) or named_address_domain(exp.text)
    helo = named_helo(exp.input) or quoted_helo(exp.text)
    return checker.run(exp, ip=named_ip(exp.text), domain=domain, helo=helo)


# The HELO name a refusal quotes: Postfix `<name>: Helo command rejected`, `HELO name 'name'`, `EHLO <name>`.
_QUOTED_HELO = (
    re.compile(r"<([^<>\s]{1,253})>:\s*Helo command rejected", re.I),
    re.compile(
        r"\b(?:HELO|EHLO)(?:/EHLO)?(?:\s+(?:name|hostname|argument|greeting))?\s*[:=]?\s*['\"<]([^'\"<>\s]{1,253})['\">]",
        re.I,
    ),
)


def quoted_helo(text: str) -> str | None:
    for pattern in _QUOTED_HELO:
        match = pattern.search(text[:2000])
        if match:
            return match.group(1)
    return None
