"""The spam verdict headers a receiver added, each explained from `checks/spam-headers.toml`.

Microsoft: `X-Forefront-Antispam-Report` (`SCL`, `SFV`, `CAT`, `IPV`, `DIR` ...),
`X-MS-Exchange-Organization-SCL` and the `BCL` of `X-Microsoft-Antispam` (Microsoft Learn, "Anti-spam message
headers"). Exchange's header firewall removes `X-MS-Exchange-Organization-*` fields arriving from outside, so
those are the receiver's; a report marked `DIR:OUT`, or renamed `...-Untrusted`, is the sender's own tenant's
outbound scan. SpamAssassin (and amavis): `X-Spam-Status` / `X-Spam-Flag` / `X-Spam-Score`, with the rules in
`tests=`. rspamd: `X-Spamd-Result` (score and symbols), `X-Rspamd-Action`, `X-Spam`. Gmail and Yahoo add none.
Other headers (SpamAssassin, rspamd) are the receiver's only above its border hop, like
Authentication-Results."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mxprobe.data import data_file
from mxprobe.message.fields import Field, Message
from mxprobe.message.shapes import MeaningDict, SpamDict, SpamVerdict
from mxprobe.registry import Cause

DATA_FILE = "spam-headers.toml"
FAMILIES = ("microsoft", "spamassassin", "rspamd", "gmail", "yahoo")
VERDICTS: tuple[SpamVerdict, ...] = ("blocked", "spam", "bypassed", "not-spam", "info")  # most telling first
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SA_STATUS = re.compile(r"^\s*(yes|no)\b", re.I)
_SA_SCORE = re.compile(r"\b(?:score|hits)=(-?\d+(?:\.\d+)?)", re.I)
_SA_TESTS = re.compile(r"\btests=\[?([^\]]*?)\]?(?:\s+\w+=|$)", re.I)
_RSPAMD_SCORE = re.compile(r"\[\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)\s*\]")
_RSPAMD_SYMBOL = re.compile(r"([A-Z][A-Z0-9_]+)\((-?\d+(?:\.\d+)?)\)")


class SpamDataError(ValueError):
    """checks/spam-headers.toml is broken: a packaging bug, reported in one line."""


@dataclass(frozen=True)
class Entry:
    id: str
    family: str
    key: str
    values: tuple[str, ...]
    verdict: str
    cause: str
    en: str
    zh: str
    source: str


@dataclass
class Verdict:
    header: str
    verdict: SpamVerdict
    score: float | None
    entries: list[tuple[str, Entry]] = field(default_factory=list)  # (what matched, entry)
    trusted: bool = True
    note: str = ""

    def meaning(self) -> MeaningDict:
        en = " ".join(e.en for _, e in self.entries)
        zh = "".join(e.zh for _, e in self.entries)
        return {"en": (en + (f" {self.note}" if self.note else "")).strip(), "zh": zh}

    def to_dict(self) -> SpamDict:
        return {
            "header": self.header,
            "verdict": self.verdict,
            "score": self.score,
            "meaning": self.meaning(),
            "trusted": self.trusted,
            "explained": [
                {"id": e.id, "matched": what, "cause": e.cause or None, "source": e.source}
                for what, e in self.entries
            ],
        }


def _entry(raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise SpamDataError(f"{where}: not a table")
    meaning = raw.get("meaning")
    values = raw.get("values")
    text = {k: raw.get(k) for k in ("id", "family", "key", "verdict", "source", "reviewed")}
    if any(not isinstance(v, str) or not v for v in text.values()):
        raise SpamDataError(f"{where}: needs id, family, key, verdict, source and reviewed")
    if not isinstance(meaning, dict) or not all(isinstance(meaning.get(k), str) for k in ("en", "zh")):
        raise SpamDataError(f"{where}: needs meaning = {{ en, zh }}")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise SpamDataError(f"{where}: needs a list of values")
    if raw["family"] not in FAMILIES or raw["verdict"] not in VERDICTS:
        raise SpamDataError(f"{where}: unknown family or verdict")
    cause = raw.get("cause", "")
    if cause and cause not in set(Cause):
        raise SpamDataError(f"{where}: cause {cause!r} is not a cause id")
    return Entry(
        raw["id"],
        raw["family"],
        raw["key"],
        tuple(v.upper() for v in values),
        raw["verdict"],
        str(cause),
        meaning["en"],
        meaning["zh"],
        raw["source"],
    )


@cache
def entries() -> tuple[Entry, ...]:
    try:
        with data_file(DATA_FILE).open("rb") as f:
            document = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpamDataError(f"{DATA_FILE}: cannot read: {exc}") from exc
    found = [_entry(raw, f"{DATA_FILE}: entry #{i}") for i, raw in enumerate(document.get("entry", []), 1)]
    if len({e.id for e in found}) != len(found):
        raise SpamDataError(f"{DATA_FILE}: duplicate entry id")
    return tuple(found)


def lookup(family: str, key: str, value: str) -> Entry | None:
    wanted = value.strip().upper()
    return next((e for e in entries() if e.family == family and e.key == key and wanted in e.values), None)


def _explain(v: Verdict, family: str, key: str, value: str, label: str) -> None:
    found = lookup(family, key, value)
    if found is not None and all(e.id != found.id for _, e in v.entries):
        v.entries.append((label, found))


def _settle(v: Verdict) -> Verdict:
    shown = [e.verdict for _, e in v.entries]
    v.verdict = next((x for x in VERDICTS if x in shown), "unknown")
    return v


def _number(text: str) -> float | None:
    m = _NUMBER.search(text)
    return float(m.group()) if m else None


def _forefront(f: Field) -> Verdict:
    pairs = dict(p.split(":", 1) for p in f.value.split(";") if ":" in p)
    pairs = {k.strip().upper(): v.strip() for k, v in pairs.items()}
    v = Verdict(f.name, "unknown", _number(pairs.get("SCL", "")))
    for key in ("DIR", "SFV", "CAT", "IPV", "SCL"):
        if key in pairs:
            _explain(v, "microsoft", key, pairs[key], f"{key}:{pairs[key]}")
    if pairs.get("SRV", "").upper() == "BULK":
        _explain(v, "microsoft", "CAT", "BULK", "SRV:BULK")
    if f.key.endswith("-untrusted") or pairs.get("DIR", "").upper() == "OUT":
        v.trusted = False
        v.note = "This copy is not the recipient's verdict (renamed -Untrusted or DIR:OUT)."
    return _settle(v)


def _spamassassin(f: Field) -> Verdict:
    v = Verdict(f.name, "unknown", _number(m.group(1)) if (m := _SA_SCORE.search(f.value)) else None)
    if f.key == "x-spam-score":
        v.score = _number(f.value)
        return v
    status = _SA_STATUS.match(f.value)
    if status is not None:
        _explain(v, "spamassassin", "status", status.group(1), f"{f.name}: {status.group(1)}")
    tests = _SA_TESTS.search(f.value)
    for test in re.split(r"[,\s]+", tests.group(1)) if tests else []:
        name = test.partition("=")[0].strip()
        if name:
            _explain(v, "spamassassin", "tests", name, name)
    return _settle(v)


def _rspamd(f: Field) -> Verdict:
    v = Verdict(f.name, "unknown", None)
    if f.key == "x-rspamd-action":
        _explain(v, "rspamd", "action", f.value.strip().lower(), f.value.strip())
    elif f.key == "x-spamd-result":
        score = _RSPAMD_SCORE.search(f.value)
        v.score = float(score.group(1)) if score else None
        for symbol in _RSPAMD_SYMBOL.finditer(f.value):
            _explain(v, "rspamd", "symbol", symbol.group(1), symbol.group(0))
    elif f.key == "x-spam":
        _explain(
            v, "rspamd", "action", "add header" if f.value.strip().lower() == "yes" else "no action", f.value
        )
    return _settle(v)


_READERS = {
    "x-forefront-antispam-report": _forefront,
    "x-forefront-antispam-report-untrusted": _forefront,
    "x-spam-status": _spamassassin,
    "x-spam-flag": _spamassassin,
    "x-spam-score": _spamassassin,
    "x-spamd-result": _rspamd,
    "x-rspamd-action": _rspamd,
    "x-spam": _rspamd,
}
_RECEIVER_ONLY = ("x-forefront-antispam-report", "x-ms-exchange-organization-scl", "x-microsoft-antispam")


def _microsoft_number(f: Field, key: str, label: str) -> Verdict:
    text = (
        f.value
        if key == "SCL"
        else next(
            (p.split(":", 1)[1] for p in f.value.split(";") if p.strip().upper().startswith("BCL:")), ""
        )
    )
    v = Verdict(f.name, "unknown", _number(text))
    if v.score is not None:
        _explain(v, "microsoft", key, str(int(v.score)), f"{label}:{int(v.score)}")
    return _settle(v)


def verdicts(message: Message, sender_start: int, receiver: str) -> list[Verdict]:
    """Each spam header explained, in header order; Gmail's and Yahoo's "no header" said when it applies."""
    out: list[Verdict] = []
    for f in message.fields:
        if f.key == "x-ms-exchange-organization-scl":
            found = _microsoft_number(f, "SCL", "SCL")
        elif f.key == "x-microsoft-antispam":
            found = _microsoft_number(f, "BCL", "BCL")
            if found.score is None:
                continue
        elif f.key in _READERS:
            found = _READERS[f.key](f)
        else:
            continue
        if f.key not in _RECEIVER_ONLY and f.index >= sender_start:
            found.trusted = False
            found.note = "Added before the message reached the receiver: a claim, not its verdict."
        out.append(found)
    if not any(v.trusted for v in out) and receiver in ("Google", "Yahoo"):
        family = "gmail" if receiver == "Google" else "yahoo"
        none = Verdict("", "unknown", None)
        _explain(none, family, "none", "none", "none")
        out.append(none)
    return out
