"""What a reply means, as the catalogue tells it: the `Explanation` (the JSON contract of `mxprobe explain`)
and how one is made from a catalogue entry, or from the reply's class when no entry fits.

`mxprobe.catalogue` finds the entry; this module only shapes the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mxprobe.catalogue_load import Entry, Text
from mxprobe.model import REPLY_CLASSES
from mxprobe.registry import Cause
from mxprobe.replies import Reply

__all__ = ["ENHANCED_CLASSES", "Explanation", "from_entry", "unknown"]

_SUBJECT_CAUSES = {
    "1": Cause.RECIPIENT,
    "2": Cause.MAILBOX,
    "3": Cause.SERVER,
    "4": Cause.NETWORK,
    "5": Cause.PROTOCOL,
    "6": Cause.CONTENT,
    "7": Cause.POLICY,
}
ENHANCED_CLASSES = {"2": "success", "4": "transient", "5": "permanent"}
# Wording for codes the catalogue does not know. Kept here, not in checks/: it is about the code's class, the
# one thing known when every catalogue lookup failed. (meaning en, meaning zh, advice en, advice zh)
_LOOK_IT_UP = (
    "This reply is not in mxprobe's catalogue: read its text, and the receiver's postmaster pages.",
    "该应答不在mxprobe的目录中：请阅读应答原文及收件方的邮件管理员（postmaster）说明。",
)
_UNKNOWN = {
    "success": ("A success reply: the server did what was asked.", "成功应答：服务器已完成所请求的操作。",
                "Nothing to do.", "无需处理。"),
    "intermediate": ("An intermediate reply: the server waits for more input from the client.",
                     "中间应答：服务器在等待客户端继续发送。", "Nothing to do: the dialogue goes on.",
                     "无需处理：会话会继续。"),
    "transient": ("A transient failure: the server refused for now; the sender retries later.",
                  "临时性失败：服务器暂时拒绝，发送方稍后会重试。", *_LOOK_IT_UP),
    "permanent": ("A permanent failure: the server refused; retrying the same message will not help.",
                  "永久性失败：服务器拒绝接收，重发同一封信不会成功。", *_LOOK_IT_UP),
}  # fmt: skip


@dataclass(slots=True)
class Explanation:
    """What one reply means. `to_dict` is the JSON contract of `mxprobe explain --json`.

    `code` is None for a failure reported in words only (a line of the sender's own MTA, prose of a bounce).
    """

    input: str
    code: int | None
    enhanced: str
    tag: str
    class_: str
    phase: tuple[str, ...]
    meaning: Text
    cause: str
    checks: tuple[str, ...]
    advice: Text
    entry: str  # "" when no catalogue entry matched
    specific: bool
    text: str = field(default="", repr=False)  # the reply's own text, for renderers; not part of the JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "code": self.code,
            "enhanced": self.enhanced,
            "tag": self.tag,
            "class": self.class_,
            "phase": list(self.phase),
            "meaning": self.meaning.to_dict(),
            "cause": self.cause,
            "checks": list(self.checks),
            "advice": self.advice.to_dict(),
            "entry": self.entry,
            "specific": self.specific,
        }


def from_entry(entry: Entry, reply: Reply, shown: str, tag: str, *, specific: bool) -> Explanation:
    return Explanation(
        input=shown,
        code=reply.code,
        enhanced=reply.enhanced,
        tag=tag,
        class_=REPLY_CLASSES[str(reply.code)[0]],
        phase=entry.phase,
        meaning=entry.meaning,
        cause=entry.cause,
        checks=entry.checks,
        advice=entry.advice,
        entry=entry.id,
        specific=specific,
        text=reply.text,
    )


def unknown(reply: Reply, shown: str) -> Explanation:
    class_ = REPLY_CLASSES[str(reply.code)[0]]
    cause: str
    if class_ in ("success", "intermediate"):
        cause = Cause.NONE
    elif reply.enhanced:
        cause = _SUBJECT_CAUSES.get(
            reply.enhanced.split(".")[1], Cause.SERVER if class_ == "transient" else Cause.POLICY
        )
    else:
        cause = Cause.SERVER if class_ == "transient" else Cause.POLICY
    meaning_en, meaning_zh, advice_en, advice_zh = _UNKNOWN[class_]
    return Explanation(
        input=shown,
        code=reply.code,
        enhanced=reply.enhanced,
        tag="",
        class_=class_,
        phase=("ANY",),
        meaning=Text(meaning_en, meaning_zh),
        cause=str(cause),
        checks=(),
        advice=Text(advice_en, advice_zh),
        entry="",
        specific=False,
        text=reply.text,
    )
