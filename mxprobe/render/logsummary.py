"""`explain --summary` of a mail log, for people: the counts, a table by cause and one by destination domain,
in English or Chinese, at any width (mxprobe/render/table.py), timestamps in one format; or one JSON object.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from mxprobe.registry import Cause
from mxprobe.render import clean
from mxprobe.render.layout import join_parts, output_width, wrap
from mxprobe.render.table import when, write_table

SUMMARY_DOMAINS = 20  # rows of the domain table (JSON has them all)

_WORDS: dict[str, dict[str, str]] = {
    "en": {"head": "mail log: {lines} lines, {records} delivery records ({mtas})",
           "skipped": ", {n} other lines skipped",
           "inbound": "inbound rejects: {n} (mail from others refused by this server: {causes}), not counted "
                      "as failures below",
           "by-cause": "failures by cause ({n})", "by-domain": "failures by destination domain{more}",
           "top": ", the top {n} of {m}", "sep": ", "},
    "zh": {"head": "邮件日志：{lines} 行，{records} 条投递记录（{mtas}）",
           "skipped": "，跳过其他 {n} 行",
           "inbound": "入站拒收：{n}（本服务器拒收的他人邮件：{causes}），不计入下面的失败",
           "by-cause": "按原因统计的失败（{n}）", "by-domain": "按收件域名统计的失败{more}",
           "top": "，前 {n} 个（共 {m} 个）", "sep": "，"},
}  # fmt: skip
# The delivery statuses (mxprobe/maillog/records.py STATUSES) as the summary's readers say them.
_STATUS_NAMES = {"zh": {"delivered": "已投递", "deferred": "延迟", "bounced": "退信", "rejected": "拒收"}}
_CAUSE_NAMES: dict[str, dict[str, str]] = {"zh": {
    Cause.PTR: "PTR反向解析", Cause.HELO: "HELO", Cause.SPF: "SPF", Cause.DKIM: "DKIM", Cause.DMARC: "DMARC",
    Cause.BLOCKLIST: "黑名单", Cause.REPUTATION: "信誉", Cause.RATE: "频率限制", Cause.CONTENT: "内容",
    Cause.SIZE: "大小", Cause.RECIPIENT: "收件人", Cause.MAILBOX: "邮箱", Cause.SENDER: "发件人",
    Cause.RELAY: "中继", Cause.AUTH: "认证", Cause.TLS: "TLS", Cause.PROTOCOL: "协议",
    Cause.GREYLIST: "灰名单",
    Cause.POLICY: "策略", Cause.NETWORK: "网络", Cause.LOOP: "邮件环路", Cause.SERVER: "服务器",
    Cause.NONE: "无",
}}  # fmt: skip


def _cause(name: str, lang: str) -> str:
    """A cause id as the summary's readers say it (the id itself in English, and in JSON)."""
    return _CAUSE_NAMES.get(lang, {}).get(name, name)


_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"cause": ("cause", "count", "share", "first seen", "last seen", "most frequent reply"),
           "domain": ("domain", "failed", "share", "delivered", "deferred", "bounced", "first seen",
                      "last seen", "top cause")},
    "zh": {"cause": ("原因", "次数", "占比", "首次", "最近", "最常见的应答"),
           "domain": ("域名", "失败", "占比", "已投递", "延迟", "退信", "首次", "最近", "主要原因")},
}  # fmt: skip


def _percent(part: float, whole: float = 1.0) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _abbreviate(text: str, width: int) -> str:
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def write_summary(data: dict[str, Any], out: TextIO, *, as_json: bool = False, lang: str = "en") -> None:
    """A mail log's summary: the counts, a table by cause and one by domain, or one JSON object."""
    if as_json:
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    w = _WORDS.get(lang, _WORDS["en"])
    columns = _COLUMNS.get(lang, _COLUMNS["en"])
    width = output_width(out)
    records = data["records"]
    mtas = w["sep"].join(f"{name} {count:,}" for name, count in data["mtas"].items())
    head = w["head"].format(lines=f"{data.get('lines', records):,}", records=f"{records:,}", mtas=mtas)
    head += w["skipped"].format(n=f"{data['skipped']:,}") if data.get("skipped") else ""
    names = _STATUS_NAMES.get(lang, {})
    share = "{name} {n} ({p})" if lang != "zh" else "{name} {n}（{p}）"
    statuses = [
        share.format(name=names.get(name, name), n=f"{n:,}", p=_percent(n, records))
        for name, n in data["statuses"].items()
    ]
    lines = wrap(head, width, "", "  ") + ["  " + line for line in join_parts(statuses, width - 2, hang="")]
    inbound = data["inbound_rejects"]
    if inbound["count"]:
        causes = w["sep"].join(f"{_cause(name, lang)} {n:,}" for name, n in inbound["causes"].items())
        lines += wrap(w["inbound"].format(n=f"{inbound['count']:,}", causes=causes), width, "  ", "    ")
    out.write("\n".join(lines) + "\n")
    if data["causes"]:
        out.write("\n" + w["by-cause"].format(n=f"{data['failed']:,}") + "\n")
        rows: list[tuple[str, ...]] = [
            (_cause(c["cause"], lang), f"{c['count']:,}", _percent(c["share"]), when(c["first_seen"]),
             when(c["last_seen"]),
             f"{_abbreviate(c['top_reply']['reply'], 90)} ({c['top_reply']['count']:,})")
            for c in data["causes"]
        ]  # fmt: skip
        write_table(out, columns["cause"], rows, indent="  ")
    failing = [d for d in data["domains"] if d["failed"]]
    if failing:
        shown = failing[:SUMMARY_DOMAINS]
        more = w["top"].format(n=len(shown), m=len(failing)) if len(failing) > len(shown) else ""
        out.write("\n" + w["by-domain"].format(more=more) + "\n")
        rows = [
            (clean(d["domain"]) or "-", f"{d['failed']:,}", _percent(d["share"]), f"{d['delivered']:,}",
             f"{d['deferred']:,}", f"{d['bounced']:,}", when(d["first_seen"]), when(d["last_seen"]),
             _cause(d["top_cause"], lang))
            for d in shown
        ]  # fmt: skip
        write_table(out, columns["domain"], rows, indent="  ")
