"""What a message is when no recipient failed: a success report, a feedback report, an auto-reply.

Auto-replies are told by RFC 3834's `Auto-Submitted: auto-replied` (a mailer daemon's bounce carries it too,
so it counts only for a message that holds no failure and no bounce text), the de-facto `X-Autoreply`,
`X-Autorespond`, `Precedence: auto_reply` fields, and the subjects vacation responders write. Feedback reports
are `multipart/report; report-type=feedback-report` (RFC 5965), read receipts `report-type=
disposition-notification` (RFC 8098).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mxprobe.bounce.model import Kind

if TYPE_CHECKING:
    from email.message import Message

    from mxprobe.bounce.mime import Parts

_SUCCESS_ACTIONS = ("delivered", "relayed", "expanded")
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|automatische antwort|out of (?:the )?office"
    r"|autoreply|vacation|fuera de la oficina|absence|автоматический ответ"
    r"|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica"
    r"|resposta autom[aá]tica|автоответ|自动回复|自動回覆|自動応答|不在通知)",
    re.I,
)
_AUTO_PREFIX = re.compile(r"^\s*(?:auto|automatic reply|autoreply|автоответ)\s*:", re.I)


def without_failure(msg: Message, parts: Parts, other_actions: list[str], bounce_text: bool) -> Kind:
    """The kind of a message in which no recipient failed or was delayed."""
    if "feedback-report" in parts.report_types or msg.get_content_type() == "message/feedback-report":
        return Kind.FEEDBACK
    if "disposition-notification" in parts.report_types:
        return Kind.RECEIPT
    if any(action in _SUCCESS_ACTIONS for action in other_actions):
        return Kind.DELIVERY_REPORT
    if not bounce_text and _auto_reply(msg):
        return Kind.AUTO_REPLY
    return Kind.BOUNCE if bounce_text else Kind.MESSAGE


def _auto_reply(msg: Message) -> bool:
    auto = str(msg.get("auto-submitted", "")).strip().lower()
    subject = str(msg.get("subject", ""))
    return (
        auto.startswith("auto-replied")
        or any(name in msg for name in ("x-autoreply", "x-autorespond", "x-autoresponder"))
        or str(msg.get("precedence", "")).strip().lower() == "auto_reply"
        or bool(_AUTO_SUBJECT.match(subject) or _AUTO_PREFIX.match(subject))
    )
