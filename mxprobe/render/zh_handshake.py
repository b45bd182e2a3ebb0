"""Chinese summaries of the handshake results (smtp, tls), from their details; see render/zh.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId

_OUTCOMES = {"rejected": "拒收", "deferred": "暂缓接收（4xx）"}


def _where(d: Any) -> str:
    host, address = d.get("host"), d.get("address")
    if host and address and host != address:
        return f"{host}（{address}）"
    return str(host or address or "MX")


def _smtp(check: CheckResult, d: Any) -> str | None:
    outcome, where = d.get("outcome"), _where(d)
    if check.status == Status.PASS and outcome == "accepted":
        return f"{where} 接受了测试投递（未发送邮件正文）"
    if outcome == "accepted":
        return f"{where} 是开放中继：接受了本不应转发的收件人"
    if outcome in _OUTCOMES:
        _, sep, reply = check.summary.partition(": ")  # the server's own reply: a fact, kept verbatim
        said = f"：{reply}" if sep and reply[:1].isdigit() else "（见 -v）"
        return f"{where} {_OUTCOMES[outcome]}{said}"
    if check.status == Status.ERROR:
        return f"没有SMTP服务器应答（{where}，见 -v）"
    return None


def _tls(check: CheckResult, d: Any) -> str | None:
    if not d:
        return (
            "未测试STARTTLS：没有连上SMTP服务器，或对话在EHLO之前结束"
            if check.status == Status.ERROR
            else None
        )
    if d.get("offered") is False:
        return "服务器不支持STARTTLS：发往它的邮件以明文传输"
    if not d.get("established"):
        return "服务器提供STARTTLS，但握手失败或未尝试（见 -v）"
    head = f"{d.get('version')} {d.get('cipher')}"
    if d.get("verified"):
        return f"{head}；证书对 {d.get('hostname')} 有效，至 {str(d.get('not_after'))[:10]}"
    if d.get("verified") is None:
        return f"{head}；证书未能完全检查（见 -v）"
    return f"{head}；证书验证失败（过期、自签名或不含该主机名，见 -v）"


HANDSHAKE: dict[str, Callable[[CheckResult, Any], str | None]] = {CheckId.SMTP: _smtp, CheckId.TLS: _tls}
