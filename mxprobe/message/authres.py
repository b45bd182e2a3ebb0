"""The receiver's authentication verdict: Authentication-Results (RFC 8601), ARC-Authentication-Results
(RFC 8617 §4.1.1) and Received-SPF (RFC 7208 §9.1), and which of them to believe.

Anyone can write an Authentication-Results field (RFC 8601 §7.1): only those the receiving organisation added
are its verdict. A field is trusted when (1) it sits above the first Received line written outside the
receiver (the receiver adds its block next to its border hop: above it at Microsoft and Yahoo, below it at
Gmail and QQ and under Postfix milters), and (2) its authserv-id belongs to the receiving organisation (the
same organisation as the receiver's `by` hosts; Microsoft 365 writes no authserv-id at all). The topmost such
field names the trusted authserv-id; further fields with that id in the same block are merged (one milter a
method), but a method already reported above is not taken again from a lower copy: a receiver that did not
strip a forged field (RFC 8601 §5) still wrote its own copy on top.

Parsing removes comments before splitting, so `;` or `dkim=pass` inside a comment or a quoted string cannot
fool it; keywords compare case-insensitively (Gmail's `p=REJECT`, Microsoft's `SoftFail`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mxprobe.message.fields import Field, Message
from mxprobe.message.received import Chain, organisation
from mxprobe.message.shapes import AuthResultDict


class Method(enum.StrEnum):
    """Authentication methods of RFC 8601 (IANA registry): spelt like some check ids, but they are not."""

    SPF = "spf"  # not a check id
    DKIM = "dkim"  # not a check id
    DMARC = "dmarc"  # not a check id
    ARC = "arc"


AUTHENTICATION = (Method.SPF, Method.DKIM, Method.DMARC)
METHODS = {
    *Method,
    "iprev",
    "auth",
    "compauth",
    "dkim-adsp",
    "dkim-atps",
    "domainkeys",
    "sender-id",
    "bimi",
    "vbr",
    "rrvs",
    "smime",
    "dnswl",
    "x-ptr",
}
# An earlier hop's results kept under another name: evidence, never the receiver's verdict (Microsoft-handled
# mail, Google Groups).
HEADER = "Authentication-Results"
UPSTREAM = ("authentication-results-original", "x-original-authentication-results")
Token = tuple[str, str]  # (kind, text): word | quoted | semi | comment


@dataclass
class AuthResult:
    authserv_id: str
    method: str
    result: str
    reason: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    header: str = "Authentication-Results"
    index: int = 0  # the field's position (0 = topmost)
    trusted: bool = False
    why: str = ""

    def prop(self, *names: str) -> str:
        return next((self.properties[n] for n in names if self.properties.get(n)), "")

    def to_dict(self) -> AuthResultDict:
        return {
            "authserv_id": self.authserv_id,
            "trusted": self.trusted,
            "method": self.method,
            "result": self.result,
            "reason": self.reason or self.comment,
            "properties": self.properties,
            "header": self.header,
            "why": self.why,
        }


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif ch == ";":
            out.append(("semi", ";"))
            i += 1
        elif ch == "(":
            depth, j = 1, i + 1
            while j < n and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 2 if text[j] == "\\" else 1
            out.append(("comment", text[i + 1 : j - 1].strip()))
            i = j
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(("quoted", text[i + 1 : j].replace("\\", "")))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n;("':
                j += 1
            out.append(("word", text[i:j]))
            i = j
    return out


def _segments(tokens: list[Token]) -> list[list[Token]]:
    """Split at `;`, and also where a new `method=` starts without one (lenient writers)."""
    out: list[list[Token]] = [[]]
    for kind, text in tokens:
        if kind == "semi":
            out.append([])
            continue
        key = text.partition("=")[0].partition("/")[0].lower()
        starts = kind == "word" and "=" in text and key in METHODS
        if starts and any(k == "word" and "=" in t for k, t in out[-1]):
            out.append([])
        out[-1].append((kind, text))
    return [s for s in out if s]


def _resinfo(segment: list[Token], authserv_id: str) -> AuthResult | None:
    words = iter(range(len(segment)))
    result: AuthResult | None = None
    comments: list[str] = []
    pending = ""
    for i in words:
        kind, text = segment[i]
        if kind == "comment":
            comments.append(text)
            continue
        if kind == "quoted" and pending and result is not None:
            _put(result, pending, text)
            pending = ""
            continue
        key, eq, value = text.partition("=")
        if not eq:
            continue
        if result is None:
            result = AuthResult(authserv_id, key.partition("/")[0].lower(), value.lower())
        elif value:
            _put(result, key, value)
        else:
            pending = key
    if result is not None:
        result.comment = "; ".join(comments)
    return result


def _put(result: AuthResult, key: str, value: str) -> None:
    if key.lower() == "reason":
        result.reason = value
    else:
        result.properties[key.lower()] = value


def parse(value: str, *, header: str = "Authentication-Results", index: int = 0) -> list[AuthResult]:
    """Every result of one field; the authserv-id is "" when the field has none (Microsoft 365)."""
    segments = _segments(_tokens(value))
    if not segments:
        return []
    head = [t for k, t in segments[0] if k == "word"]
    authserv_id = ""
    if head and "=" not in head[0]:
        authserv_id = head[0].lower()
        segments = segments[1:]
    out = []
    for segment in segments:
        found = _resinfo(segment, authserv_id)
        if found is not None and found.method != "none":
            found.header, found.index = header, index
            out.append(found)
    return out


def parse_received_spf(f: Field) -> AuthResult | None:
    """`Received-SPF: pass (comment) client-ip=...; envelope-from=...; helo=...` as an spf result."""
    tokens = _tokens(f.value)
    words = [t for k, t in tokens if k in ("word", "quoted")]
    if not words or "=" in words[0]:
        return None
    result = AuthResult("", Method.SPF, words[0].lower(), header="Received-SPF", index=f.index)
    result.comment = "; ".join(t for k, t in tokens if k == "comment")
    for word in words[1:]:
        key, eq, val = word.partition("=")
        if eq:
            result.properties[key.lower()] = val.rstrip(";")
    result.authserv_id = result.properties.get("receiver", "")
    return result


def arc_instance(value: str) -> tuple[int | None, str]:
    """`i=N; rest` of an ARC field: (N, rest); (None, value) when the instance tag is missing or bad."""
    head, semi, rest = value.partition(";")
    key, eq, number = head.strip().partition("=")
    if semi and eq and key.strip().lower() == "i" and number.strip().isdigit():
        return int(number.strip()), rest
    return None, value


def _owner(r: AuthResult, chain: Chain, hosts: set[str]) -> bool:
    """Whether an authserv-id belongs to the receiving organisation."""
    if not r.authserv_id:
        return chain.receiver == "Microsoft"  # Microsoft 365 writes A-R without an authserv-id
    return r.authserv_id in hosts or (bool(chain.receiver) and organisation(r.authserv_id) == chain.receiver)


def judge(message: Message, chain: Chain) -> tuple[list[AuthResult], str, str]:
    """Every A-R and Received-SPF result with its trust decision; the trusted authserv-id and why."""
    results: list[AuthResult] = []
    for f in message.fields:
        if f.key == "authentication-results":
            results.extend(parse(f.value, index=f.index))
        elif f.key == "received-spf" and (spf := parse_received_spf(f)) is not None:
            results.append(spf)
        elif f.key in UPSTREAM:
            results.extend(parse(f.value, header=f.name, index=f.index))
    hosts = {h.by for h in chain.hops if h.by and h.side in ("receiver", "border")}
    if chain.border is None:
        for r in results:
            r.why = "no Received line shows where the message entered the receiver: nothing can be trusted"
        return results, "", "no border hop found in the Received chain"
    inside = [r for r in results if r.index < chain.sender_start]
    top = next((r for r in inside if r.header == HEADER and _owner(r, chain, hosts)), None)
    seen: dict[str, int] = {}
    for r in results:
        _decide(r, top, chain, seen)
    if top is None:
        return (
            results,
            "",
            f"no Authentication-Results of the receiving organisation ({chain.receiver or '?'})",
        )
    shown = top.authserv_id or "(none: Microsoft 365 writes no authserv-id)"
    why = (
        f"topmost Authentication-Results of {chain.receiver or 'the receiver'}, above the first Received "
        f"line written outside it (border hop by {chain.border.by})"
    )
    return results, shown, why


def _decide(r: AuthResult, top: AuthResult | None, chain: Chain, seen: dict[str, int]) -> None:
    if r.header.lower() in UPSTREAM:
        r.why = "an earlier hop's results kept under another name: evidence, not the receiver's verdict"
        return
    if r.index >= chain.sender_start:
        r.why = "below the receiver's border hop: added before the message reached the receiver (a claim)"
        return
    if r.header == "Received-SPF":
        r.trusted = top is not None or chain.receiver != ""
        r.why = "next to the receiver's border hop" if r.trusted else "no receiver identified"
        return
    if top is None or r.authserv_id != top.authserv_id:
        r.why = f"authserv-id {r.authserv_id or '(none)'} is not the receiver's: another party's result"
        return
    key = r.method
    if key in seen and seen[key] != r.index:
        r.why = f"a lower copy of {key}= with the receiver's id: the receiver's own copy is above it"
        return
    seen[key] = r.index
    r.trusted = True
    r.why = "added by the receiving organisation"
