"""The one list of checks and the vocabularies every part of mxprobe agrees on.

A check is declared here once: its id, what it needs to run, whether its answer depends on the sending IP,
whether a pool runs it, whether it is a result of the SMTP handshake rather than a module of
`mxprobe/checks/`, and which causes of a refusal it can prove. The scanner, the pool, the join of a handshake
with the checks, `explain --check` and the validation of `--check` all read this module; nothing else lists
check ids. Ids are contracts (the JSON output, users' scripts and the catalogue files use them): add freely,
never rename one.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mxprobe.checks import Context
    from mxprobe.model import CheckResult


class CheckId(enum.StrEnum):
    PTR = "ptr"
    FCRDNS = "fcrdns"
    HELO = "helo"
    SPF = "spf"
    SPF_RECORD = "spf-record"
    DMARC = "dmarc"
    DKIM = "dkim"
    DNSBL = "dnsbl"
    DBL = "dbl"
    MX = "mx"
    SMTP = "smtp"
    TLS = "tls"
    MTA_STS = "mta-sts"
    TLS_RPT = "tls-rpt"
    DNSSEC = "dnssec"
    DANE = "dane"


class Cause(enum.StrEnum):
    """Why a receiver refused mail: the vocabulary of the catalogue, the README and the JSON output."""

    PTR = "ptr"
    HELO = "helo"
    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"
    BLOCKLIST = "blocklist"
    REPUTATION = "reputation"
    RATE = "rate"
    CONTENT = "content"
    SIZE = "size"
    RECIPIENT = "recipient"
    MAILBOX = "mailbox"
    SENDER = "sender"
    RELAY = "relay"
    AUTH = "auth"
    TLS = "tls"
    PROTOCOL = "protocol"
    GREYLIST = "greylist"
    POLICY = "policy"
    NETWORK = "network"
    LOOP = "loop"
    SERVER = "server"
    NONE = "none"


class Status(enum.StrEnum):
    """Outcome of one check. `error` means the check could not run: it is never a pass."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


# What a check requires: "ip" checks run for `mxprobe --ip IP` alone, "domain" checks need a sending domain,
# "smtp" checks need a handshake target (--to or --mx).
Needs = Literal["ip", "domain", "smtp"]
CheckRun = Callable[["Context"], Awaitable["CheckResult"]]


@dataclass(frozen=True)
class CheckSpec:
    id: CheckId
    # The module whose `async def run(ctx)` is the check: a bare name is `mxprobe.checks.<module>`, a dotted
    # name is imported as given (a test's throwaway check). None for the results of the handshake itself.
    module: str | None
    needs: Needs
    about_ip: bool = False  # its answer depends on the sending IP: it proves nothing about another address
    in_pool: bool = False  # a pool (`mxprobe --ip CIDR`) runs it for every address
    in_handshake: bool = False  # a result of the SMTP handshake (smtp.join appends it), not a check module
    # The causes of which its failure confirms *any* refusal: the join asks it for every reply of such a
    # cause, besides the checks the reply's catalogue entry names (which may be more precise: an IP listing
    # or a domain listing, for cause blocklist).
    proves: frozenset[Cause] = frozenset()

    def load(self) -> CheckRun:
        if self.module is None:
            raise LookupError(f"{self.id} is a result of the SMTP handshake, not a check module")
        name = self.module if "." in self.module else f"mxprobe.checks.{self.module}"
        run: CheckRun = importlib.import_module(name).run
        return run


def _spec(
    check_id: CheckId, module: str | None, needs: Needs, proves: tuple[Cause, ...] = (), **flags: bool
) -> CheckSpec:
    return CheckSpec(check_id, module, needs, proves=frozenset(proves), **flags)


_CHECKS: list[CheckSpec] = [
    _spec(CheckId.PTR, "ptr", "ip", (Cause.PTR,), about_ip=True, in_pool=True),
    _spec(CheckId.FCRDNS, "fcrdns", "ip", (Cause.PTR,), about_ip=True, in_pool=True),
    _spec(CheckId.HELO, "helo", "ip", (Cause.HELO,), about_ip=True, in_pool=True),
    # A listing proves a blocklist refusal only for the kind of list the reply names (IP or domain): the
    # catalogue entry says which, so neither proves every refusal of cause blocklist.
    _spec(CheckId.DNSBL, "dnsbl", "ip", about_ip=True, in_pool=True),
    # spf needs a domain and is about the IP: SPF of *this* IP (a pool runs it when given a MAIL FROM)
    _spec(CheckId.SPF, "spf", "domain", (Cause.SPF,), about_ip=True),
    _spec(CheckId.SPF_RECORD, "spf_record", "domain", (Cause.SPF,)),
    _spec(CheckId.DMARC, "dmarc", "domain", (Cause.DMARC,)),
    _spec(CheckId.DKIM, "dkim", "domain", (Cause.DKIM,)),
    _spec(CheckId.MX, "mx", "domain"),
    _spec(CheckId.DBL, "dbl", "domain"),
    _spec(CheckId.MTA_STS, "mta_sts", "domain"),
    _spec(CheckId.TLS_RPT, "tls_rpt", "domain"),
    _spec(CheckId.DNSSEC, "dnssec", "domain"),
    _spec(CheckId.DANE, "dane", "smtp"),
    _spec(CheckId.SMTP, None, "smtp", in_handshake=True),
    _spec(CheckId.TLS, None, "smtp", (Cause.TLS,), in_handshake=True),
]


def checks() -> tuple[CheckSpec, ...]:
    """Every check, in the order of the report (the handshake's results last, as the join appends them)."""
    return tuple(_CHECKS)


def spec(check_id: str) -> CheckSpec | None:
    return next((s for s in _CHECKS if s.id == check_id), None)


def register(new: CheckSpec) -> Callable[[], None]:
    """Add a check (after the others of its kind: before the handshake's results); returns the undo."""
    if spec(new.id) is not None:
        raise ValueError(f"check id {new.id!r} is already registered")
    first_handshake = next((i for i, s in enumerate(_CHECKS) if s.in_handshake), len(_CHECKS))
    _CHECKS.insert(len(_CHECKS) if new.in_handshake else first_handshake, new)

    def undo() -> None:
        if new in _CHECKS:
            _CHECKS.remove(new)

    return undo


def provers(cause: str) -> tuple[CheckId, ...]:
    """The checks whose failure confirms any refusal of this cause, in report order."""
    return tuple(s.id for s in _CHECKS if cause in s.proves)
