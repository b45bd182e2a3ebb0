"""The ARC chain of a message (RFC 8617): its sets as written, and the chain validated again now.

Each handler N adds a set ARC-Authentication-Results / ARC-Message-Signature / ARC-Seal with `i=N`
(§4.1); `cv=` on seal N says what handler N concluded about sets 1..N-1: `none` only at i=1, `pass` after,
`fail` ends the chain (§4.4, §5.2). Validation now (dkimpy's `arc_verify`, through the run's DNS layer) checks
the structure, the newest AMS against the message as saved, and every seal. `arc=pass` proves only that each
sealer signed what it passed on: whether the earliest results are believable depends on trusting every
sealer's `d=`, which the RFC leaves to the receiver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mxprobe.message import authres
from mxprobe.message.fields import Message
from mxprobe.message.shapes import ArcDict, ArcResult, ArcSetDict

MAX_INSTANCE = 50  # RFC 8617 §4.2.1


@dataclass
class ArcSet:
    instance: int
    sealer: str = ""  # d= of the ARC-Seal
    selector: str = ""
    cv: str = ""
    authserv_id: str = ""
    results: list[authres.AuthResult] = field(default_factory=list)
    seal_valid: bool | None = None  # now
    ams_valid: bool | None = None  # now

    def to_dict(self) -> ArcSetDict:
        return {
            "instance": self.instance,
            "sealer": self.sealer,
            "selector": self.selector,
            "cv": self.cv,
            "authserv_id": self.authserv_id,
            "results": [f"{r.method}={r.result}" for r in self.results],
            "seal_valid_now": self.seal_valid,
            "ams_valid_now": self.ams_valid,
        }


@dataclass
class Arc:
    sets: list[ArcSet]
    problems: list[str]  # structure, as written (RFC 8617 §5.2 step 2)
    chain_valid: ArcResult = "none"  # now
    reason: str = ""

    def to_dict(self) -> ArcDict:
        return {
            "chain_valid": self.chain_valid,
            "reason": self.reason,
            "problems": self.problems,
            "sets": [s.to_dict() for s in self.sets],
        }


def _tags(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in value.split(";"):
        key, eq, val = part.partition("=")
        if eq:
            out.setdefault(key.strip().lower(), "".join(val.split()))
    return out


def read(message: Message) -> Arc:
    """The sets as written, newest last, and what is wrong with their structure."""
    sets: dict[int, ArcSet] = {}
    counts: dict[tuple[int, str], int] = {}
    problems: list[str] = []
    for f in message.fields:
        if f.key not in ("arc-seal", "arc-message-signature", "arc-authentication-results"):
            continue
        number, rest = authres.arc_instance(f.value)
        if number is None or not 1 <= number <= MAX_INSTANCE:
            problems.append(f"{f.name} without a valid i= (1-{MAX_INSTANCE})")
            continue
        counts[(number, f.key)] = counts.get((number, f.key), 0) + 1
        arc_set = sets.setdefault(number, ArcSet(number))
        if f.key == "arc-seal":
            tags = _tags(f.value)
            arc_set.sealer, arc_set.selector, arc_set.cv = (
                tags.get("d", ""),
                tags.get("s", ""),
                tags.get("cv", ""),
            )
        elif f.key == "arc-authentication-results":
            arc_set.results = authres.parse(rest, header=f.name, index=f.index)
            arc_set.authserv_id = (
                arc_set.results[0].authserv_id if arc_set.results else rest.split(";")[0].strip()
            )
    ordered = [sets[n] for n in sorted(sets)]
    problems += _structure(ordered, counts)
    return Arc(ordered, problems)


def _structure(sets: list[ArcSet], counts: dict[tuple[int, str], int]) -> list[str]:
    problems = []
    for expected, arc_set in enumerate(sets, 1):
        if arc_set.instance != expected:
            problems.append(f"instance {expected} is missing")
            break
        for key in ("arc-seal", "arc-message-signature", "arc-authentication-results"):
            if counts.get((arc_set.instance, key), 0) != 1:
                problems.append(f"i={arc_set.instance} needs exactly one {key}")
        wanted = "none" if arc_set.instance == 1 else "pass"
        if arc_set.cv.lower() != wanted:
            problems.append(f"seal i={arc_set.instance} says cv={arc_set.cv or '?'} (expected cv={wanted})")
    return problems
