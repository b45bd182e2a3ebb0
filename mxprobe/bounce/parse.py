"""One message in, its failed recipients out: a report's fields first, the words of the text second.

With a delivery-status report there is one result per failed recipient: its fields (the text part only
completes them). Without one, each recipient the text names gets one result: the reply that explains it
best (a permanent failure before a delay, a reply whose text names the cause before a generic one), or the
words written about it when it got no reply. A bounce that names no recipient at all gets one result for the
recipient its headers name (`X-Failed-Recipients`, the returned message's `To`), from its words.

The sending IP, for `explain --check`: the IP the reply itself names (`[192.0.2.1]`: what the receiver saw),
else the first hop of the returned message's Received headers that came from outside private ranges and was
not an authenticated submission. None rather than a wrong guess.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from mxprobe.bounce import kinds
from mxprobe.bounce.mime import Parts, headers, html_text, normalised, read_parts, subject
from mxprobe.bounce.model import HEAD, Bounce, FailedRecipient, Format, Kind, find_format, marker
from mxprobe.bounce.report import first_word, from_block, inline_report, value
from mxprobe.bounce.text import EMAIL, Found, is_daemon, prose_failure, scan_text
from mxprobe.catalogue import Catalogue
from mxprobe.replies import MAX_LINE, Reply, named_ip, status_reply

if TYPE_CHECKING:
    from email.message import Message

MAX_FORWARDS = 3  # a bounce forwarded inside a forward ...: attached messages looked into
# How most mail systems introduce the copy of the returned message in a text bounce (lower case, leading
# dashes and spaces removed): what follows is the user's, never a reply or a recipient.
_RETURNED_MARKERS = (
    "original message follows", "original message headers", "original message -", "original message--",
    "below this line is a copy of the message", "this is a copy of the message",
    "returned message", "undelivered message follows", "message header follows", "原始邮件", "原邮件",
)  # fmt: skip
_CONTEXT = 2000  # characters of a text bounce read for a failure whose own words name no cause
_RECEIVED_FROM = re.compile(r"^\s*from\s+(.*?)\s+by\s", re.I | re.S)
_RECEIVED_IP = re.compile(r"\[(?:ipv6:)?([0-9a-f.:]+)\]|\(([0-9a-f.:]{7,})\)", re.I)
_AUTHENTICATED = re.compile(r"\bwith\s+(?:utf8)?(?:e?smtps?a|lmtps?a)\b", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status|failure|failed|has failed|notification)|returned mail"
    r"|failure notice|mail delivery|non[- ]?remis|unzustellbar|nicht zustellbar|no entregado|non recapitato"
    r"|не доставлено|退信|未送達|配信不能|could not be delivered|delivery problem|nondeliverable",
    re.I,
)
_DELAY_WORDS = re.compile(
    r"not yet been delivered|(?:hasn't|has not) been delivered yet|still being retried|delayed"
    r"|will be retried|will (?:keep|continue) trying|will retry|continue to be attempted|delivery incomplete"
    r"|warning:",
    re.I,
)
# Where mail comes from inside an organisation: a hop from these is not the sending IP the receiver saw.
_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "::1/128", "::/128", "fc00::/7", "fe80::/10",
    )
)  # fmt: skip


def parse(data: bytes, catalogue: Catalogue, *, _depth: int = 0) -> Bounce:
    """Read one message (bytes as received or saved, .eml; any line ends); never raises for bad input.

    A bounce forwarded as an attachment (a user sends it on to a helpdesk) is read from the attached
    message: the forwarder's words around it are not the failure.
    """
    msg, parts = read_parts(normalised(data))
    forwarded = _forwarded(parts) if _depth < MAX_FORWARDS else None
    if forwarded is not None:
        inner = parse(forwarded, catalogue, _depth=_depth + 1)
        if inner.recipients:
            inner.notes.append("the bounce was forwarded inside another message: read the attached bounce")
            return inner
    notification = "\n".join(parts.texts or [html_text(h) for h in parts.html])
    if not parts.dsn:  # a report written inline: its fields are the report, what follows the returned message
        notification, blocks, rest = inline_report(notification)
        parts.dsn.extend(blocks)
        if rest.strip():
            parts.returned.append(headers(rest.lstrip()))
    per_message = next((b for b in parts.dsn if "reporting-mta" in b), {})
    title = subject(msg)
    fmt = find_format(f"{title}\n{notification[:HEAD]}")
    if not parts.returned:  # a text bounce quotes the returned message after a marker
        notification, returned_lines = _split_returned(notification, fmt.returned if fmt else ())
        if returned_lines:
            parts.returned.append(headers("\n".join(returned_lines)))
    sender = _sender(msg, per_message, parts.returned)
    bounce = Bounce(
        format=fmt.id if fmt is not None else "rfc3464" if parts.dsn else "unknown",
        structured=False,
        reporting_mta=value(per_message.get("reporting-mta", "")) or _reporter(notification, fmt),
        sender=sender,
        sending_ip=_received_ip(parts.returned),
        origin=_from_domain(msg),
    )
    bounce_text = bool(fmt or parts.dsn or _BOUNCE_SUBJECT.search(title) or _from_daemon(msg))
    found = _failures(parts, notification, bounce, bounce_text=bounce_text)
    if not bounce.structured and found:
        _add_listed(found, msg)
    head = f"{title}\n{notification[:_CONTEXT]}"
    delay_notice = bool(_DELAY_WORDS.search(head))
    replied = bounce.skipped < bounce.lines  # some line carried a reply (`250 Ok` is no failure)
    fallback = not found and not replied and bounce_text and not parts.dsn and not parts.report_types
    if fallback:
        found = _from_words(msg, parts, notification, delay_notice)
    _explain_all(bounce, found, catalogue, notification[:_CONTEXT], delay_notice=delay_notice)
    if (
        fallback
        and bounce.recipients
        and not (bounce.recipients[0].explanation.specific or found[""][0].status)
    ):
        bounce.recipients.clear()  # words that name no cause in a message that names no recipient
    if {"feedback-report", "disposition-notification"} & set(parts.report_types):
        bounce.recipients.clear()  # a complaint (RFC 5965), a read receipt (RFC 8098): no failure
    bounce.kind = _kind(bounce, msg, parts, bounce_text, delay_notice)
    if bounce.kind == Kind.DELAY:  # a delay notice: only a reason the receiver named is explained
        bounce.delayed = [r.recipient for r in bounce.recipients]
        bounce.recipients = [r for r in bounce.recipients if r.explanation.specific]
    _notes(bounce, parts)
    return bounce


def _add_listed(found: dict[str, list[Found]], msg: Message) -> None:
    """Every address of Exim's `X-Failed-Recipients` is a failed recipient, told in the text or not."""
    from email.utils import getaddresses

    for _, address in getaddresses([str(msg.get("x-failed-recipients", ""))[:MAX_LINE]]):
        if "@" in address and address.lower() not in found:
            found[address.lower()] = [prose_failure(address, "")]


def _from_words(msg: Message, parts: Parts, notification: str, delay_notice: bool) -> dict[str, list[Found]]:
    """A bounce that names no recipient: one failure, for the recipient its headers name, from its words."""
    words = "\n".join(line for line in notification.split("\n") if line.strip())
    if not words:
        return {}
    return {"": [prose_failure(_named_recipient(msg, parts, notification), words, transient=delay_notice)]}


def _explain_all(
    bounce: Bounce, found: dict[str, list[Found]], catalogue: Catalogue, context: str, *, delay_notice: bool
) -> None:
    """One result per recipient: the failure that explains it best."""
    for failures in found.values():
        for failure in failures:
            if delay_notice and failure.reply is None and not failure.status and not bounce.structured:
                failure.action = "delayed"
        candidates = [_explained(f, catalogue, bounce, context) for f in _distinct(failures)]
        bounce.recipients.append(max(candidates, key=_rank))


def _failures(
    parts: Parts, notification: str, bounce: Bounce, *, bounce_text: bool
) -> dict[str, list[Found]]:
    """The failures found, by recipient (lower case)."""
    excluded = {bounce.sender.lower()} if bounce.sender else set()
    recipients = [b for b in parts.dsn if "final-recipient" in b or "original-recipient" in b]
    from_text, scanner = scan_text(notification, excluded, words=bounce_text)
    bounce.lines, bounce.skipped = scanner.lines, scanner.skipped
    found: dict[str, list[Found]] = {}
    if recipients:
        bounce.structured = True
        for block in recipients:
            failure = from_block(block)
            if failure is None:
                bounce.other_actions.append(first_word(block.get("action", "")) or "unknown")
                continue
            found.setdefault(failure.recipient.lower(), []).append(failure)
        _fill_from_text(found, from_text)
        for failures in found.values():
            del failures[1:]  # a report: its recipient's own block, once
    else:
        for failure in from_text:
            found.setdefault(failure.recipient.lower(), []).append(failure)
    return found


def _kind(bounce: Bounce, msg: Message, parts: Parts, bounce_text: bool, delay_notice: bool) -> Kind:
    """A report says by its actions whether it is a delay notice; a text bounce by its words (a bounce
    that gave up quotes the last, temporary, reply)."""
    if bounce.recipients:
        if any(r.action == "failed" for r in bounce.recipients):
            return Kind.BOUNCE
        return Kind.DELAY if bounce.structured or delay_notice else Kind.BOUNCE
    return kinds.without_failure(msg, parts, bounce.other_actions, bounce_text)


def _notes(bounce: Bounce, parts: Parts) -> None:
    if parts.too_deep:
        bounce.notes.append("its MIME parts are nested too deeply: read as plain text")
    if parts.defects:
        defects = ", ".join(sorted(set(parts.defects)))
        bounce.notes.append(f"the message is truncated or its MIME is broken ({defects}): read what is there")


def _rank(failure: FailedRecipient) -> tuple[bool, bool, bool]:
    """Which of a recipient's replies explains it: a failure before a delay, words that name the cause."""
    return failure.action == "failed", failure.explanation.specific, failure.smtp_reply


def _from_domain(msg: Message) -> str:
    from email.utils import parseaddr

    return parseaddr(str(msg.get("from", ""))[:MAX_LINE])[1].rpartition("@")[2].lower()


def _from_daemon(msg: Message) -> bool:
    from email.utils import parseaddr

    return is_daemon(parseaddr(str(msg.get("from", "")))[1])


def _named_recipient(msg: Message, parts: Parts, notification: str) -> str:
    """The recipient a bounce names: Exim's X-Failed-Recipients, else the one address its words name, else
    the returned message's To."""
    from email.utils import getaddresses

    candidates = [str(msg.get("x-failed-recipients", ""))]
    sender = _sender(msg, {}, parts.returned).lower()
    named = {a.lower() for a in EMAIL.findall(notification[:_CONTEXT]) if not is_daemon(a)} - {sender}
    if len(named) == 1:
        candidates.append(named.pop())
    candidates += [str(h.get("to", "")) for h in parts.returned]
    for candidate in candidates:
        for _, address in getaddresses([candidate]):
            if "@" in address:
                return address
    return ""


def _forwarded(parts: Parts) -> bytes | None:
    """An attached message that is itself a bounce (a report, or sent by a mailer daemon), when the message
    holds no report of its own; None otherwise (a bounce's attached message is the user's returned mail)."""
    if parts.dsn:
        return None
    for inner in parts.attached:
        if inner.get_content_type() == "multipart/report" or _from_daemon(inner):
            try:
                return inner.as_bytes()
            except (LookupError, UnicodeError, ValueError, RecursionError):
                continue
    return None


def _sender(msg: Message, per_message: dict[str, str], returned: list[Message]) -> str:
    """The original sender: the bounce's To, else Postfix's X-Postfix-Sender, else the returned From."""
    from email.utils import getaddresses

    candidates = [str(msg.get("to", "")), value(per_message.get("x-postfix-sender", ""))]
    for found in returned:
        candidates += [str(found.get("return-path", "")), str(found.get("from", ""))]
    for candidate in candidates:
        for _, address in getaddresses([candidate]):
            if "@" in address and not is_daemon(address):
                return address
    return ""


def _split_returned(text: str, markers: tuple[str, ...]) -> tuple[str, list[str]]:
    """The notification, and the lines of the returned message quoted after the format's marker (or, in
    a short line, one of the markers most mail systems write)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = marker(line[:MAX_LINE])
        if stripped and (
            any(stripped.startswith(m) for m in markers)
            or (len(stripped) < 60 and stripped.startswith(_RETURNED_MARKERS))
        ):
            rest = lines[index + 1 :]
            while rest and not rest[0].strip():
                rest = rest[1:]
            return "\n".join(lines[:index]), rest
    return text, []


def _reporter(text: str, fmt: Format | None) -> str:
    if fmt is None or fmt.reporter is None:
        return ""
    m = fmt.reporter.search(text[:HEAD])
    return m.group("host").rstrip(".") if m else ""


def _received_ip(returned: list[Message]) -> str | None:
    """The first hop, newest first, from outside private ranges and not an authenticated submission."""
    for found in returned:
        for header in found.get_all("received", []):
            text = " ".join(str(header)[:MAX_LINE].split())
            m = _RECEIVED_FROM.match(text)
            if m is None or _AUTHENTICATED.search(text):
                continue
            for ip_match in _RECEIVED_IP.finditer(m.group(1)):
                try:
                    ip = ipaddress.ip_address(ip_match.group(1) or ip_match.group(2))
                except ValueError:
                    continue
                if not any(ip in net for net in _INTERNAL if net.version == ip.version):
                    return str(ip)
    return None


def _fill_from_text(found: dict[str, list[Found]], from_text: list[Found]) -> None:
    """Complete delivery-status recipients from the text part: the reply of one whose Diagnostic-Code holds
    none, the whole reply of one whose Diagnostic-Code was cut short. Replies only the text part has (a
    Sendmail transcript's `<<< 503 Need RCPT`) are not failures of their own."""
    by_recipient: dict[str, list[Found]] = {}
    words: dict[str, str] = {}  # what the text says of a recipient that got no reply
    for failure in from_text:
        if failure.reply is not None:
            by_recipient.setdefault(failure.recipient.lower(), []).append(failure)
        else:
            words.setdefault(failure.recipient.lower(), failure.diagnostic)
    for key, failures in found.items():
        for failure in failures:
            if failure.reply is None and not failure.diagnostic:
                failure.diagnostic = words.get(key, "")
            for quoted in by_recipient.get(key, []):
                assert quoted.reply is not None
                if failure.reply is None or _extends(quoted.reply, failure.reply):
                    failure.reply, failure.diagnostic = quoted.reply, quoted.diagnostic
                    failure.remote_mta = failure.remote_mta or quoted.remote_mta
                    break


def _extends(longer: Reply, shorter: Reply) -> bool:
    """`longer` is `shorter` with more text (a Diagnostic-Code cut short by a truncated message)."""
    a, b = _comparable(longer.text), _comparable(shorter.text)
    return (
        (longer.code, longer.enhanced) == (shorter.code, shorter.enhanced)
        and len(a) > len(b)
        and a.startswith(b)
    )


def _distinct(failures: list[Found]) -> list[Found]:
    """One failure per distinct reply: the same code, enhanced code and text (one a prefix of the other)."""
    kept: list[tuple[tuple[int, str], str, Found]] = []
    for failure in failures:
        reply = failure.reply
        key = (reply.code, reply.enhanced) if reply is not None else (0, failure.status)
        text = _comparable(reply.text if reply is not None else failure.diagnostic)
        for index, (other_key, other_text, other) in enumerate(kept):
            if other_key == key and (text.startswith(other_text) or other_text.startswith(text)):
                if len(text) > len(other_text):
                    failure.status = failure.status or other.status
                    failure.remote_mta = failure.remote_mta or other.remote_mta
                    kept[index] = (key, text, failure)
                break
        else:
            kept.append((key, text, failure))
    return [failure for _, _, failure in kept]


def _comparable(text: str) -> str:
    text = " ".join(text.lower().split())
    cut = text.rfind("(in reply to ")
    if cut > 0:
        text = text[:cut]
    return text.rstrip(" .;:)'\"")


def _explained(failure: Found, catalogue: Catalogue, bounce: Bounce, context: str) -> FailedRecipient:
    """`context`: the bounce's words, read for a failure without a reply whose own words and status name no
    cause."""
    reply = failure.reply
    named = None  # an IP in the receiver's own words; the sender's words name the receiver's IP
    if reply is None:
        transient = failure.action == "delayed"
        reply = status_reply(failure.status, failure.diagnostic, transient=transient)
        shown = failure.diagnostic or f"status {failure.status}"
    else:
        shown = failure.diagnostic or reply.raw
        named = named_ip(reply.text)
    explanation = catalogue.match(reply, shown[:MAX_LINE])
    generic = failure.status[2:] in ("", "0.0")  # no status, or `5.0.0`: the status names no cause either
    if failure.reply is None and not explanation.specific and generic and context:
        words = " ".join(context.split())[:MAX_LINE]
        wider = catalogue.match(status_reply(failure.status, words, transient=transient), shown[:MAX_LINE])
        if wider.specific:
            explanation = wider
    return FailedRecipient(
        recipient=failure.recipient,
        action=failure.action,
        status=failure.status or reply.enhanced,
        remote_mta=failure.remote_mta,
        diagnostic=shown,
        explanation=explanation,
        sending_ip=named or bounce.sending_ip,
        smtp_reply=failure.reply is not None,
    )
