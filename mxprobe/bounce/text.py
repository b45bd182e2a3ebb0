"""Failures in the words of a bounce: the text a mail system writes for people, read line by line.

Each SMTP reply belongs to the last recipient address named before it (the sender's and mailer daemons'
addresses excluded), each `host NAME[IP]` names its remote MTA, and a recipient named on a line of its own
whose failure carries no reply (Exchange's "Unknown Recipient", qmail's "Sorry, no mailbox here by that
name", "retry timeout exceeded") keeps the words that follow it: those words are its diagnostic.

Lines are read as they are, each cut to `MAX_LINE`; every pattern here is linear in the line's length (an
address is looked for only where a run of address characters starts), so a 32 MB bounce of 4 KiB lines
costs what its size says. Header lines quoted in the text (`Content-Length: 530`, `Message-ID: <550...>`)
are never read as replies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mxprobe.replies import MAX_LINE, Reply, ReplyScanner, reply_start

# An address, matched only where a run of its characters starts: linear however long the line.
EMAIL = re.compile(
    r"(?<![a-z0-9._%+=-])[a-z0-9._%+=-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]++)+", re.I | re.A
)
STATUS = re.compile(r"(?<![\d.])([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![\d.])")
_QMAIL_STATUS = re.compile(r"\(#([245]\.[0-9]{1,3}\.[0-9]{1,3})\)")
_REMOTE = re.compile(
    r"\b(?:host|connect to)\s++([a-z0-9][\w.-]*+)\s?\[((?:ipv6:)?[0-9a-f.:]++)\]"  # Postfix, Exim
    r"|^\s*+([0-9]{1,3}(?:\.[0-9]{1,3}){3}) does not like"  # qmail
    r"|\bconnected to ([0-9a-f.:]++) but",
    re.I,
)
_REMOTE_WORDS = ("host", "connect", "does not like")
# Postfix's line for a recipient that got no SMTP reply: `<bob@example.net>: connect to mx...: Connection
# refused`, `... Host or domain name not found. Name service error for name=...`.
_UNREACHED = re.compile(
    r"^\s*<([^<>\s@]+@[^<>\s]+)>(?:\s*\(expanded from [^)]*\))?:\s*"
    r"(?=.*(?:connect to|connection|timed out|host or domain name not found|name service error"
    r"|no route to host|network is unreachable|lost connection))",
    re.I,
)
_NO_DOMAIN = re.compile(r"host or domain name not found|host not found", re.I)
_EXCHANGE_HASH = re.compile(r"(?<=\s)#(?=[245][0-9][0-9] [245]\.)")  # `mx.example.net #550 5.1.1 ... ##`
DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
# Header fields quoted in a text (the returned message's, a part's): their numbers are never replies.
_QUOTED_HEADER = re.compile(
    r"(?:content-[\w-]*|message-id|in-reply-to|references|date|received|lines|mime-version|return-path|subject"
    r"|x-[\w-]*|arrival-date|last-attempt-date|dkim-signature|arc-[\w-]*|authentication-results"
    r"|list-[\w-]*|thread-[\w-]*|importance|priority|delivered-to|user-agent)[ \t]*:",
    re.I,
)
_CODE_IN_ID = re.compile(r"<(?=[2-5][0-9][0-9])")  # `<550.1234@host>`: a message id, not a reply
# What may precede a recipient's address on a line that names a failed recipient.
_RECIPIENT_LEAD = re.compile(
    r"(?:[:：]|\b(?:to|for|recipient|recipients|address|user|mailbox|destinataire|empf[aä]nger|destinatario"
    r"|収件人|收件人|宛先))[\s\"'<(]*$",
    re.I,
)
# What precedes an address that is not the failed recipient: the alias it was expanded from, the sender.
_ALIAS = re.compile(
    r"(?:\b(?:expanded|generated|forwarded|redirected)\s+from|\bmail\s+from|\bfrom=|envelope-from)\s*:?\s*[<(\"']*$",
    re.I,
)
PROSE_LINES = 6  # lines after a recipient read as its failure's words when it got no reply
_PROSE_CHARS = 1000
_NOT_RECIPIENT = re.compile(
    r"\s*(?:from|sender|reply-to|return-path|envelope-from|cc|bcc|发件人|發件人|寄件者|差出人|von|de|expéditeur)\s*[:：]",
    re.I,
)


def is_daemon(address: str) -> bool:
    return address.partition("@")[0].lower() in DAEMONS


@dataclass
class Found:
    """A failure before it is explained: `reply` is None when the bounce gave only a status or words."""

    recipient: str
    action: str
    status: str
    remote_mta: str
    diagnostic: str
    reply: Reply | None
    line: int = 0  # where it was found (text bounces): replies on adjacent lines are one reply


@dataclass
class _State:
    recipient: str = ""
    remote: str = ""
    owners: list[tuple[str, str]] = field(default_factory=list)  # (recipient, remote MTA) at each line
    status_only: list[Found] = field(default_factory=list)
    prose: dict[str, list[str]] = field(default_factory=dict)  # recipient -> its words (no reply)
    prose_for: str = ""
    prose_left: int = 0
    in_header: bool = False


def action_of(code: str) -> str:
    return "delayed" if code.startswith("4") else "failed"


def scan_text(text: str, excluded: set[str], *, words: bool = True) -> tuple[list[Found], ReplyScanner]:
    """Failures in the words of a bounce: each reply goes to the last recipient named before it; a
    recipient named on a line of its own that got no reply, with the words that follow it (`words`: only
    in a text known to be a bounce; `To: bob@...` in an ordinary message names no failure)."""
    state = _State()
    scanner = ReplyScanner()
    found: list[Found] = []
    lines = (
        _EXCHANGE_HASH.sub("", line[:MAX_LINE]) if "#" in line else line[:MAX_LINE]
        for line in text.split("\n")
    )
    answered: set[str] = set()
    for carried, reply in scanner.scan(_feed(lines, state, excluded)):
        recipient, remote = state.owners[scanner.start]
        answered.add(recipient.lower())
        if reply.code < 400:  # `250 2.0.0 Ok: queued` quoted in a text is no failure
            continue
        if not recipient:
            named = [a for a in EMAIL.findall(reply.text) if a.lower() not in excluded and not is_daemon(a)]
            recipient = named[0] if named else ""
        qmail = _QMAIL_STATUS.search(carried)
        status = reply.enhanced or (qmail.group(1) if qmail else "")
        found.append(
            Found(recipient, action_of(status or str(reply.code)), status, remote, carried.strip(), reply,
                  scanner.start)
        )  # fmt: skip
    found = _joined(found)
    found += [f for f in state.status_only if f.recipient.lower() not in answered]
    answered |= {f.recipient.lower() for f in state.status_only}
    named_only = not found  # no failure told at all: the recipients named are the failures, words or not
    for recipient, told in state.prose.items() if words else ():
        if (told or named_only) and recipient.lower() not in answered:
            found.append(prose_failure(recipient, " ".join(told)))
            answered.add(recipient.lower())
    return found, scanner


def prose_failure(recipient: str, words: str, *, remote: str = "", transient: bool = False) -> Found:
    """A failure told in words only: its status from the words (`5.1.1`, `#5.0.0`), when they give one."""
    words = " ".join(words.split())[:_PROSE_CHARS]
    status = next((m.group(0) for m in STATUS.finditer(words) if m.group(1) != "2"), "")
    action = action_of(status) if status else ("delayed" if transient else "failed")
    return Found(recipient, action, status, remote, words, None)


def _feed(lines: Iterator[str], state: _State, excluded: set[str]) -> Iterator[str]:
    for raw in lines:
        line = _unquoted(raw, state)
        lowered = line.lower()
        remote_words = any(w in lowered for w in _REMOTE_WORDS)
        # Where a reply starts matters only to a line that names something (the scanner finds it anyway):
        # a long line of bare numbers is searched once, not twice.
        needed = "@" in line or remote_words or state.prose_left or "(#" in line or line.lstrip()[:1] == "<"
        start = reply_start(line) if needed else None
        context = line if start is None else line[:start]
        if "@" in context:
            before = state.recipient
            _recipients(context, state, excluded)
            if start is None and state.recipient != before and line[:1] in (" ", "\t"):
                state.owners.append((state.recipient, state.remote))
                yield ""  # a new recipient's line ends the reply before it, however indented
        elif state.prose_left and line.strip() and start is None:
            state.prose[state.prose_for].append(line.strip())
            state.prose_left -= 1
        remote = _REMOTE.search(context) if remote_words else None
        if remote is not None:
            name, ip = remote.group(1), remote.group(2)
            state.remote = f"{name} [{ip}]" if name else (remote.group(3) or remote.group(4))
        state.owners.append((state.recipient, state.remote))
        if start is None and needed:
            _status_only(line, state)
        yield line


def _unquoted(line: str, state: _State) -> str:
    """The line as the reply scanner sees it: a quoted header field (and its folded lines) blanked."""
    if state.in_header and line[:1] in (" ", "\t"):
        return ""
    state.in_header = bool(_QUOTED_HEADER.match(line))
    if state.in_header:
        return ""
    return _CODE_IN_ID.sub("<#", line) if "<" in line else line


def _recipients(context: str, state: _State, excluded: set[str]) -> None:
    """The recipient named last in `context` takes the lines that follow; one named on a recipient line
    collects the words after it (its diagnostic, should it get no reply). An alias the recipient was
    expanded from (`(expanded from <a@b>)`, `(generated from a@b)`) is not a recipient of its own."""
    named = _owner(context, excluded)
    if named is None:
        return
    address, at = named
    if address.lower() != state.recipient.lower():
        state.recipient, state.remote = address, ""
    if state.prose_left and address == state.prose_for:  # named again in its own words
        state.prose[address].append(context.strip())
        state.prose_left -= 1
        return
    state.prose_left = 0
    lead = context[:at]
    bare = not lead.strip(" \t\"'<(*-•>")
    if (bare or _RECIPIENT_LEAD.search(lead[-60:])) and not _NOT_RECIPIENT.match(lead):
        words = state.prose.setdefault(address, [])
        rest = context[at + len(address) :].strip(" \t>)\"':")
        if rest and not EMAIL.search(rest):
            words.append(rest)
        state.prose_for, state.prose_left = address, PROSE_LINES


def _owner(context: str, excluded: set[str]) -> tuple[str, int] | None:
    """The last address in `context` that names a recipient, and where it starts."""
    for m in reversed(list(EMAIL.finditer(context))):
        address = m.group()
        if address.lower() in excluded or is_daemon(address):
            continue
        if _ALIAS.search(context, max(m.start() - 40, 0), m.start()):
            continue
        return address, m.start()
    return None


def _status_only(line: str, state: _State) -> None:
    qmail = _QMAIL_STATUS.search(line) if "(#" in line else None
    if qmail is not None and state.recipient:
        status = qmail.group(1)
        state.status_only.append(
            Found(state.recipient, action_of(status), status, state.remote, line.strip(), None)
        )
        return
    unreached = _UNREACHED.match(line)
    if unreached is not None:
        status = "5.4.4" if _NO_DOMAIN.search(line) else "4.4.1"
        state.status_only.append(Found(unreached[1], "failed", status, state.remote, line.strip(), None))


def _joined(found: list[Found]) -> list[Found]:
    """Replies of one recipient with the same codes on consecutive lines are one multi-line reply."""
    result: list[Found] = []
    for failure in found:
        last = result[-1] if result else None
        if (
            last is not None
            and last.reply is not None
            and failure.reply is not None
            and last.recipient == failure.recipient
            and (last.reply.code, last.reply.enhanced) == (failure.reply.code, failure.reply.enhanced)
            and failure.line <= last.line + last.diagnostic.count("\n") + 1
            and failure.reply.text not in last.reply.text
        ):
            reply = Reply(last.reply.code, last.reply.enhanced, f"{last.reply.text} {failure.reply.text}",
                          f"{last.reply.raw}\n{failure.reply.raw}")  # fmt: skip
            last.reply, last.diagnostic = reply, f"{last.diagnostic}\n{failure.diagnostic}"
            continue
        result.append(failure)
    return result
