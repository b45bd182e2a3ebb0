"""Finding SMTP replies in free text: one reply, a bounce message, a mail log, or stdin with a reply a line.

Everything downstream (the catalogue matcher, bounce and log summaries) starts from a `Reply`, so this module
knows nothing about the catalogue. It decides where a reply starts, what its code, enhanced code and text are,
and which following lines belong to it: `550-` continuation lines, and the indented lines a bounce message
wraps a long reply into.

Where a reply starts: a three-digit code 2xx-5xx standing alone (after the start, white space or punctuation
such as `(`, `;`, `'`, but not after a letter, digit, `.`, `:`, `=`, `/`, `@` or `#`, so that times, IP
addresses, ports, `delay=300` and URLs never count) and followed by a space, a `-` or the end of the line.
When a line holds several, the first one followed by an enhanced status code of the same class wins
(`said: 550 5.1.1 ...`), else the first one.

Only the first `MAX_LINE` characters of a line are scanned, and a reply keeps at most `MAX_LINE` characters
of text: a 1 MB line costs what a 4 KiB one does, and memory stays flat whatever the input.

What a reply names (`named_ip`, `named_domain`, `named_helo`) is here too: the suggested commands of
`mxprobe explain` and the targets of `explain --check` read the reply's text the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

MAX_LINE = 4096

_START = re.compile(
    r"(?<![\w.:/=@#+\-])([2-5][0-9][0-9])(?:(-)|[ \t]+|$)(?:([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![\w.\-]))?"
)
# `_START` with an enhanced code of the reply's class (`550 5.1.1`), and with any enhanced code.
_PAIRED = re.compile(r"(?<![\w.:/=@#+\-])([2-5])[0-9][0-9](?:-|[ \t]+)\1\.[0-9]{1,3}\.[0-9]{1,3}(?![\w.\-])")
_WITH_ENHANCED = re.compile(
    r"(?<![\w.:/=@#+\-])[2-5][0-9][0-9](?:-|[ \t]+)[245]\.[0-9]{1,3}\.[0-9]{1,3}(?![\w.\-])"
)
_STATUS_CODE = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")
_BARE_CODE = re.compile(r"[2-5][0-9][0-9]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_WORD = re.compile(r"[A-Za-z]{2}|[^\W\d_\x00-\x7f]{2}")
# A line that begins with a reply code: a continuation line of a multi-line reply, or a reply of its own.
_LEADING = re.compile(r"[ \t]*([2-5][0-9][0-9])(-|[ \t]|$)")
# What Postfix appends to a reply it quotes (`... (in reply to RCPT TO command)`, in a log with the record's
# closing parenthesis after it): the sender's words, not the receiver's.
_IN_REPLY_TO = re.compile(r"\s*\(in reply to [^()]{1,40}\)\)?\s*$", re.I)


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply as found in text.

    `text` is what follows the code and enhanced code, every line joined with a space, the repeated
    `550-5.7.26` prefixes of continuation lines and Postfix's `(in reply to ... command)` removed; `raw` is
    the reply as found, from its code on, lines joined with a newline.
    """

    code: int
    enhanced: str
    text: str
    raw: str


def parse_reply(text: str) -> Reply | None:
    """The first SMTP reply in `text` (a reply, a log line, a pasted bounce), or None when it holds none.

    A text that is a reply code alone (`550`, what a server may send with no words) is that reply; inside
    longer text a code needs words after it (see `_shaped`)."""
    bare = text.strip()
    if len(bare) == 3 and _BARE_CODE.fullmatch(bare):
        return Reply(code=int(bare), enhanced="", text="", raw=bare)
    lines = text.splitlines()
    if len(lines) == 1:
        return parse_line(lines[0])  # the same reply, without the machinery for continuation lines
    for _, reply in iter_replies(lines):
        return reply
    return None


def parse_line(line: str) -> Reply | None:
    """The reply in one line (a log line): `parse_reply` without the multi-line machinery, for speed.

    A line that starts with its reply (`550 5.1.1 ...`, as logs quote them) is read without a search.
    """
    part = line[:MAX_LINE].rstrip("\r\n")
    found = _START.match(part)
    if found is None or found.group(3) != found.group(1)[0]:
        found = _find_start(part)
        if found is None:
            return None
    code, enhanced = found.group(1), _enhanced(found)
    text = _reply_text(part[found.end() :].strip(), code, enhanced)
    return Reply(code=int(code), enhanced=enhanced, text=text, raw=part[found.start() :].strip())


def status_reply(status: str, text: str, *, transient: bool) -> Reply:
    """A stand-in reply for a failure that got none (a timeout, a refused connection): its RFC 3463 status.

    Bounces and logs report such failures with a status code only (`dsn=4.4.1`, `Status: 5.4.4`) and a
    reason in words. The code is RFC 5321's catch-all of the class (451 local error, 554 transaction
    failed), so the catalogue explains the failure by its status code, then by the reason's words.
    """
    enhanced = status if _STATUS_CODE.fullmatch(status) else ""
    code = 451 if (enhanced[:1] == "4" if enhanced else transient) else 554
    return Reply(code=code, enhanced=enhanced, text=text, raw=text)


def reply_start(line: str) -> int | None:
    """Where the reply in `line` starts (the index of its code), or None: what precedes it is context."""
    found = _find_start(line[:MAX_LINE])
    return None if found is None else found.start()


def iter_replies(lines: Iterable[str]) -> Iterator[tuple[str, Reply]]:
    """Each reply found in `lines`, with the line(s) that carried it (joined with a newline)."""
    return ReplyScanner().scan(lines)


@dataclass
class ReplyScanner:
    """Streams replies out of lines and counts the lines that carried none (for "skipped N lines").

    A reply is yielded once the line after it shows that it is complete, so at most one reply is held.
    """

    lines: int = 0  # non-blank lines read
    used: int = 0  # non-blank lines that were part of a reply
    binary: int = 0  # lines holding a NUL character: the input is probably not text
    start: int = 0  # index (0-based, blank lines included) of the first line of the reply last yielded

    @property
    def skipped(self) -> int:
        return self.lines - self.used

    def scan(self, lines: Iterable[str]) -> Iterator[tuple[str, Reply]]:
        current: _Pending | None = None
        current_start = 0
        for index, line in enumerate(lines):
            part = line[:MAX_LINE].rstrip("\r\n")
            blank = not part.strip()
            if not blank:
                self.lines += 1
                if "\x00" in part:
                    self.binary += 1
            if current is not None:
                if not blank and current.absorb(part):
                    self.used += 1
                    continue
                self.start = current_start
                yield current.finish()
                current = None
            if not blank and (found := _find_start(part)) is not None:
                self.used += 1
                current, current_start = _Pending(part, found), index
        if current is not None:
            self.start = current_start
            yield current.finish()


def _enhanced(start: re.Match[str]) -> str:
    return f"{start.group(3)}.{start.group(4)}.{start.group(5)}" if start.group(3) else ""


def _find_start(line: str) -> re.Match[str] | None:
    """The first code followed by an enhanced code of its class, else the first code with any enhanced code
    or with words after it. Linear: searches in C and at most one `_shaped` call, never a loop over the
    matches (a 4 KiB line of `550 550 ...` costs what a short one does)."""
    has_enhanced = _STATUS_CODE.search(line) is not None
    paired = _PAIRED.search(line) if has_enhanced else None
    if paired is not None:
        return _START.match(line, paired.start())
    first = _START.search(line)
    if first is None or first.group(3) is not None or _shaped(line, first):
        return first  # no word after the first code: none after a later one either
    enhanced = _WITH_ENHANCED.search(line, first.end()) if has_enhanced else None
    return None if enhanced is None else _START.match(line, enhanced.start())


def _shaped(line: str, start: re.Match[str]) -> bool:
    """Whether a code without an enhanced status code starts a reply: words follow it, and the line is text.

    Noise (random bytes, a binary file) holds three-digit numbers between spaces; a reply's text is words.
    The line must hold no control character but a tab, at most a quarter of it replacement characters (bytes
    that were not UTF-8), and the text after the code a word: two ASCII letters in a row, or two letters of
    another script (`用户不存在`). A code followed by an enhanced code needs no more.
    """
    if _CONTROL.search(line) is not None or line.count("\ufffd") * 4 > len(line):
        return False
    return _WORD.search(line, start.end()) is not None


@dataclass
class _Pending:
    """A reply whose following lines may still belong to it."""

    line: str
    start: re.Match[str]
    code: str = field(init=False)
    enhanced: str = field(init=False)
    open: bool = field(init=False)  # the last line seen ended its code with `-`: more lines are announced
    lines: list[str] = field(init=False)
    raw: list[str] = field(init=False)
    texts: list[str] = field(init=False)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        m = self.start
        self.code = m.group(1)
        self.enhanced = _enhanced(m)
        self.open = m.group(2) == "-"
        self.lines = [self.line]
        self.raw = [self.line[m.start() :].strip()]
        self.texts = [self.line[m.end() :].strip()]
        self.size = len(self.line)

    def absorb(self, line: str) -> bool:
        """Take `line` when it continues this reply: `550-...`/`550 ...` after `550-`, or an indented fold."""
        lead = _LEADING.match(line)
        if lead is not None:
            if lead.group(1) != self.code or not self.open:
                return False
            self.open = lead.group(2) == "-"
            text = line[lead.end() :].strip()
            if self.enhanced and text.startswith(self.enhanced):
                text = text[len(self.enhanced) :].strip()
        elif line[:1] in (" ", "\t"):
            text = line.strip()
        else:
            return False
        if self.size < MAX_LINE:
            self.lines.append(line)
            self.raw.append(line.strip())
            self.texts.append(text[: MAX_LINE - self.size])
            self.size += len(line) + 1
        return True

    def finish(self) -> tuple[str, Reply]:
        text = _reply_text(" ".join(t for t in self.texts if t), self.code, self.enhanced)
        reply = Reply(code=int(self.code), enhanced=self.enhanced, text=text, raw="\n".join(self.raw))
        return "\n".join(self.lines), reply


def _reply_text(text: str, code: str, enhanced: str) -> str:
    text = _strip_repeats(text, code, enhanced)
    if "(in reply to " in text or "(IN REPLY TO " in text:
        text = _IN_REPLY_TO.sub("", text)
    return _strip_unbalanced(text)


def _strip_unbalanced(text: str) -> str:
    """Drop a closing `'`, `"` or `>` that nothing in the reply opened: the quote around it in Exchange's
    `Remote Server returned '550 ...'` or `<mx #550 ...>`, not the server's words (`<a@b>` stays)."""
    while text and text[-1] in "'\">":
        last = text[-1]
        if last == ">" and text.count("<") >= text.count(">"):
            break
        if last != ">" and text.count(last) > 1:  # its own quotes, or an apostrophe (`it's 'spam'`)
            break
        text = text[:-1].rstrip()
    return text


def _strip_repeats(text: str, code: str, enhanced: str) -> str:
    """Remove the `550-5.7.26 ` prefixes that multi-line replies repeat, on their own lines or flattened."""
    if f"{code}-" not in text and not (enhanced and f"{code} {enhanced}" in text):
        return text
    return _repeat_prefix(code, enhanced).sub("", text).strip()


@lru_cache(maxsize=256)
def _repeat_prefix(code: str, enhanced: str) -> re.Pattern[str]:
    r"""The repeated prefix, compiled once. The code comes first and the "at the start or after white space"
    test after it (`(?<=(?<!\S)550)`): a pattern that starts with a literal is scanned for it fast."""
    start = rf"{code}(?<=(?<!\S){code})"
    if enhanced:
        e = re.escape(enhanced)
        return re.compile(rf"{start}(?:-(?:{e}(?!\S))?|[ \t]+{e}(?!\S))[ \t]*")
    return re.compile(rf"{start}-[ \t]*")


# ------------------------------------------------------------------------------ what a reply names

_IPV4 = re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.IGNORECASE)
_BRACKETED_DOMAIN = re.compile(
    r"\[(?:[^\]@\s]+@)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,63})\]", re.I
)
# ASCII only: in Chinese text an address follows a full-width colon or a word with no space in between.
EMAIL = re.compile(r"[a-z0-9._%+=-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+", re.I | re.A)
# The sender's domain, where a reply or a log line says whose it is: Postfix's `from=<a@b>`, policyd-spf's and
# Exim's SPF links (`id=a@b`, `identity=b`), Gmail's "Unauthenticated email from example.com", Gmail's "The
# MAIL FROM domain [example.com]" and Microsoft's "sending domain [example.com]".
_SENDER = re.compile(
    r"(?:\bfrom=<|[?;&]id=|[?;&]identity=|\bemail from\s+|\bmail from domain\s+\[?|\bsending domain\s+\[?)"
    r"(?:[^<>@;&\s]*@)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+)",
    re.I | re.A,
)
# An address a reply names as the recipient (Postfix `<a@b>: Recipient address rejected`, `to=<a@b>`,
# `RCPT TO:<a@b>`) is not the sender's.
_RECIPIENT_MARKS = re.compile(r"(?:to=|to:)\s*<?$", re.I)
_HELO = re.compile(r"\bhelo=<([^<>\s]+)>", re.I)
# What introduces the sender's address in a reply: `[`, or "IP", "client", "host", "from", "address".
_NAMED = re.compile(r"(?:\[|\b(?:ip(?:v[46])?|client|host|from|address)\s*[:=]?\s*\[?)$", re.I)


def named_ip(text: str) -> str | None:
    """The IP address a reply names as the sender's, canonical, or None.

    Only an address that can send mail counts: loopback (127/8, which holds the DNSBL return codes such as
    `127.0.0.2` quoted after the list's name), unspecified, multicast, link-local and reserved ones are
    skipped. An address in brackets (`[192.0.2.1]`) or after "IP", "client", "host", "from" or "address" is
    preferred to one elsewhere in the text; among equals, the first.
    """
    import ipaddress

    best: tuple[bool, int, str] | None = None
    for pattern in (_IPV4, _IPV6):
        for m in pattern.finditer(text):
            try:
                ip = ipaddress.ip_address(m.group(0))
            except ValueError:
                continue
            if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local or ip.is_reserved:
                continue
            candidate = (_NAMED.search(text, max(0, m.start() - 24), m.start()) is None, m.start(), str(ip))
            if best is None or candidate < best:
                best = candidate
    return None if best is None else best[2]


def _domain(name: str) -> str | None:
    """`name` in lower case if it can be a domain (at most 253 characters, labels of at most 63), else None:
    a reply's text is the sender's to choose, and a 5000-character "domain" is never worth showing."""
    name = name.lower()
    return name if len(name) <= 253 and all(len(label) <= 63 for label in name.split(".")) else None


def address(text: str) -> str | None:
    """The first mail address in `text` that can be one (local part <= 64, domain <= 253 characters)."""
    for m in EMAIL.finditer(text):
        local, _, domain = m.group(0).rpartition("@")
        if len(local) <= 64 and _domain(domain):
            return m.group(0)
    return None


def bracketed_domain(text: str) -> str | None:
    """A domain the reply quotes in brackets, as Gmail and Microsoft quote the sender's (`[example.com]`)."""
    m = _BRACKETED_DOMAIN.search(text)
    return _domain(m.group(1)) if m else None


def named_domain(text: str) -> str | None:
    """The sending domain a reply names: `from=<a@b>`, an SPF link's `id=`, a bracketed `[domain]`."""
    m = _SENDER.search(text)
    return _domain(m.group(1)) if m else bracketed_domain(text)


def named_address_domain(text: str) -> str | None:
    """The domain of the first address in a reply that it does not name as the recipient, or None."""
    for m in EMAIL.finditer(text):
        before = text[max(0, m.start() - 8) : m.start()]
        after = text[m.end() : m.end() + 30].lower()
        if _RECIPIENT_MARKS.search(before) or "recipient address" in after:
            continue
        return _domain(m.group(0).rpartition("@")[2])
    return None


def named_helo(text: str) -> str | None:
    """The HELO name a log line records (`helo=<mail.example.com>`), or None."""
    m = _HELO.search(text)
    return m.group(1) if m else None
