"""Delivered messages: what the receiver recorded, what holds now, and what is wrong with the sending IP.

Input is a message as saved from a mailbox ("Show original" in Gmail, "View message source" in Outlook,
Thunderbird, Apple Mail; `.eml`) or its headers pasted alone. The modules, one job each:

- fields: the header fields in order, within limits; received: the Received chain and the border hop;
- authres: Authentication-Results / Received-SPF and which to trust; arc: the ARC sets;
- spam: spam verdict headers explained from checks/spam-headers.toml;
- verify: DKIM and ARC verified again with dkimpy; policy: SPF and DMARC now, then-vs-now differences;
- report: the MessageReport and its JSON; run: the orchestration; render: the text; cli: the explain hook.

Importing this package is cheap (`detect` needs only `re`): `explain` calls it on every stream.
"""

from __future__ import annotations

import re

__all__ = ["detect"]

# Fields only a transported message carries (trace, authentication, filters): a draft or a note without them
# is not a delivered message.
_TRACE = re.compile(
    r"^(?:received|authentication-results|arc-seal|arc-authentication-results|dkim-signature|received-spf"
    r"|x-forefront-antispam-report|x-spam-status|x-spamd-result|x-received|delivered-to|return-path)[ \t]*:",
    re.I | re.M,
)


def detect(head: str) -> bool:
    """Whether the header block at the start of `head` (the first 64 KiB) holds a trace or authentication
    field. Called after `bounce` said the input is a mail message that reports no failure (`Kind.MESSAGE`)."""
    text = head.replace("\r\n", "\n")
    block = text.split("\n\n", 1)[0]
    return bool(_TRACE.search(block))
