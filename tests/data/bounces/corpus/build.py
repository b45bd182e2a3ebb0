# ruff: noqa: E501  (data: reply texts and message layouts are kept whole, one a line)
"""Message builders for the bounce corpus (generate.py): the envelopes each mail system wraps a failure in.

Each builder takes the recipients' failures and returns a whole message (LF line ends; generate.py writes
some with CRLF or CR). The words are ours; the layout follows the format's public documentation or the
MTA's source, as SOURCES.md says per format.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

DATE = "Wed, 12 Mar 2025 10:15:02 +0100"


@dataclass
class Failure:
    rcpt: str
    reply: str  # the receiver's reply ("" when the failure has none)
    causes: tuple[str, ...]
    prose: str = ""  # the reporting system's own words (no reply)
    status: str = ""  # the DSN status
    remote: str = ""  # remote MTA host name
    ip: str = "198.51.100.20"
    action: str = "failed"
    diag_type: str = "smtp"


@dataclass
class Case:
    sender: str
    failures: list[Failure]
    mta: str = "mail.sender.example"
    subject: str = "Quarterly report"
    kind: str = "bounce"
    extra: dict[str, str] = field(default_factory=dict)


def returned(case: Case, *, body: bool = True) -> str:
    rcpts = ", ".join(f.rcpt for f in case.failures) or "friend@dest.example"
    head = (
        f"Return-Path: <{case.sender}>\n"
        f"Received: from client.sender.example (client.sender.example [203.0.113.45])\n"
        f"\tby {case.mta} (Postfix) with ESMTP id 4F1A22C0F3\n\tfor <{rcpts}>; {DATE}\n"
        f"From: Sam Sender <{case.sender}>\nTo: {rcpts}\nSubject: {case.subject}\nDate: {DATE}\n"
        f"Message-ID: <550.20250312091501.77@{case.sender.split('@')[1]}>\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\nContent-Length: 530\n"
    )
    text = "Hello,\n\nthe figures are attached; the 550 units and 421 boxes shipped on time.\n"
    return head + ("\n" + text if body else "")


def wrap(text: str, indent: str = "    ", width: int = 76) -> str:
    return "\n".join(textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent))


def fold(text: str) -> str:
    """A field value folded as MTAs fold Diagnostic-Code (continuation lines start with a space)."""
    return "\n ".join(textwrap.wrap(text, 70, break_long_words=False, break_on_hyphens=False)) or text


def dsn_fields(case: Case, reporting: str, *, remote_style: str = "plain") -> str:
    out = [f"Reporting-MTA: dns; {reporting}", f"Arrival-Date: {DATE}", ""]
    for f in case.failures:
        status = f.status or _status(f)
        out += [f"Final-Recipient: rfc822; {f.rcpt}", f"Original-Recipient: rfc822;{f.rcpt}",
                f"Action: {f.action}", f"Status: {status}"]  # fmt: skip
        if f.remote:
            remote = (
                f"{f.remote}. ({f.ip}, the server for the domain)" if remote_style == "gmail" else f.remote
            )
            out.append(f"Remote-MTA: dns; {remote}")
        diag = f.reply or f.prose
        if diag:
            out.append(f"Diagnostic-Code: {f.diag_type}; {fold(diag)}")
        out += [f"Last-Attempt-Date: {DATE}", ""]
    return "\n".join(out)


def _status(f: Failure) -> str:
    import re

    m = re.search(r"\b([45])\.(\d{1,3})\.(\d{1,3})\b", f.reply or f.prose)
    if m:
        return m.group(0)
    return "4.0.0" if f.action == "delayed" else "5.0.0"


def report(
    case: Case, frm: str, subject: str, text: str, reporting: str, *, boundary: str = "=_report_4F1A22C0F3",
    headers: str = "", rfc822: bool = True, remote_style: str = "plain", html: str = "",
) -> str:  # fmt: skip
    """A multipart/report (RFC 6522) with a delivery-status part (RFC 3464)."""
    top = (
        f"From: {frm}\nTo: {case.sender}\nSubject: {subject}\nDate: {DATE}\n{headers}"
        f"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n"
        f'\tboundary="{boundary}"\nAuto-Submitted: auto-replied\n\nThis is a MIME-encapsulated message.\n\n'
    )
    body = (
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}\n"
    )
    if html:
        body = (
            f'--{boundary}\nContent-Type: multipart/alternative; boundary="alt-{boundary}"\n\n'
            f"--alt-{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
            f"--alt-{boundary}\nContent-Type: text/html; charset=utf-8\n\n{html}\n--alt-{boundary}--\n"
        )
    status = f"--{boundary}\nContent-Type: message/delivery-status\n\n{dsn_fields(case, reporting, remote_style=remote_style)}\n"
    if rfc822:
        tail = f"--{boundary}\nContent-Type: message/rfc822\n\n{returned(case)}\n--{boundary}--\n"
    else:
        tail = f"--{boundary}\nContent-Type: text/rfc822-headers\n\n{returned(case, body=False)}\n--{boundary}--\n"
    return top + body + status + tail


def plain(case: Case, frm: str, subject: str, text: str, *, headers: str = "", charset: str = "utf-8") -> str:
    return (
        f"From: {frm}\nTo: {case.sender}\nSubject: {subject}\nDate: {DATE}\n{headers}MIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n{text}\n"
    )


def mixed(
    case: Case, frm: str, subject: str, text: str, *, headers: str = "", boundary: str = "b-mixed-77"
) -> str:
    """A text part and the returned message attached (message/rfc822), as many appliances send."""
    return (
        f"From: {frm}\nTo: {case.sender}\nSubject: {subject}\nDate: {DATE}\n{headers}MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n--{boundary}\n'
        f"Content-Type: text/plain; charset=utf-8\n\n{text}\n--{boundary}\nContent-Type: message/rfc822\n\n"
        f"{returned(case)}\n--{boundary}--\n"
    )
