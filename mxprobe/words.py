"""The words of the probe report and its plan, in English and Chinese (`--lang`, or the locale).

One table per language, the same keys in both (a test checks it); values are `str.format` templates filled
with the run's facts. Chinese uses full-width punctuation. The checks' own summaries and fixes are English
data; the frame around them, the verdict and the plan's sentences are said here.
"""

from __future__ import annotations

import os

LANGS = ("en", "zh")

_EN = {
    "verdict": "verdict",
    "verdict-line": "{label}: {word}  ({summary}; {seconds}s)", "sep": ", ", "ip-given": "given",
    "pass": "PASS", "warn": "WARN", "fail": "FAIL", "inconclusive": "INCONCLUSIVE",
    "count-pass": "{n} pass", "count-warn": "{n} warn", "count-fail": "{n} fail", "count-error": "{n} error",
    "count-skip": "{n} skip",
    "label-domain": "domain", "label-ip": "ip", "label-helo": "HELO", "label-from": "from",
    "resolver": "resolver", "system-resolver": "system", "started": "started",
    "setting-from": "{name} from {origin}",
    "what-to-do": "What to do",
    "nothing-to-do": "Nothing to fix: no check failed or warned.",
    "details-hint": "Evidence and details: -v; everything: --format json.",
    "who-blocklist": "Blocklist {who}",
    "who-ip-owner": "The owner of {who} (your ISP or hosting provider)",
    "who-dns-host": "The DNS host of {who}",
    "who-receiver": "The receiver {who}",
    "who-you": "You (your mail server's settings)",
    "contact-line": "contact: {contact}",
    "soa-zone": "reverse zone {value}", "soa-primary": "primary nameserver {value}",
    "soa-contact": "contact {value}",
    "set-ptr": "Set the PTR record (reverse DNS, 'rDNS' in their panel) of {ip}:",
    "confirm-ptr": "Give {name} the address {ip}, so that the PTR is forward-confirmed:",
    "authorize-spf": "Authorize {ip} in the SPF record of {domain}:",
    "delist": "Lists {subject}{why}. Find and stop the cause first (a compromised host or account, an open "
    "relay, mail to spam traps, a dynamic address sending straight to MX), then ask for removal{how}",
    "why": " ({why})",
    "delist-link": ":", "delist-nolink": " on the list's website.",
    "retry": "The {check} check could not run: retry, or raise --timeout.",
    "own-resolver": "Your resolver ({nameservers}) was refused or gave no answer: use a recursive resolver "
    "you run yourself (not a shared or public one) with --nameserver, or a Spamhaus DQS key "
    "(MXPROBE_DQS_KEY).",
    "evidence": "evidence", "fix": "fix", "fix-line": "fix: {fix}", "colon": ": ", "aside": " ({text})",
    "settings": "settings",
    "report-title": "mxprobe report",
    "checks": "Checks",
    "evidence-title": "Evidence",
    "query": "query", "answer": "answer", "status": "status", "check": "check", "summary": "summary",
    "more": "and {n} more (see --format json)",
}  # fmt: skip

_ZH = {
    "verdict": "结论",
    "verdict-line": "{label}：{word}（{summary}；{seconds}s）", "sep": "，", "ip-given": "已指定",
    "pass": "通过", "warn": "警告", "fail": "失败", "inconclusive": "无法判断",
    "count-pass": "{n} 项通过", "count-warn": "{n} 项警告", "count-fail": "{n} 项失败",
    "count-error": "{n} 项出错", "count-skip": "{n} 项跳过",
    "label-domain": "域名", "label-ip": "IP", "label-helo": "HELO", "label-from": "发件人",
    "resolver": "解析器", "system-resolver": "系统", "started": "开始于",
    "setting-from": "{name} 来自 {origin}",
    "what-to-do": "怎么办",
    "nothing-to-do": "无需修复：没有检查失败或警告。",
    "details-hint": "证据与细节：-v；全部内容：--format json。",
    "who-blocklist": "黑名单 {who}",
    "who-ip-owner": "{who} 的所有者（您的ISP或托管商）",
    "who-dns-host": "{who} 的DNS托管方",
    "who-receiver": "收件方 {who}",
    "who-you": "您自己（您的邮件服务器设置）",
    "contact-line": "联系方式：{contact}",
    "soa-zone": "反向区域 {value}", "soa-primary": "主域名服务器 {value}", "soa-contact": "联系人 {value}",
    "set-ptr": "为 {ip} 设置PTR记录（控制面板中称为“反向解析”或“rDNS”）：",
    "confirm-ptr": "为 {name} 添加地址 {ip}，使PTR能被正向确认：",
    "authorize-spf": "在 {domain} 的SPF记录中授权 {ip}：",
    "delist": "列入了 {subject}{why}。请先找到并消除原因（被入侵的主机或账号、开放中继、"
    "发往垃圾邮件陷阱的邮件、动态地址直接投递到MX），再申请移除{how}",
    "why": "（{why}）",
    "delist-link": "：", "delist-nolink": "（请到该黑名单的网站）。",
    "retry": "检查 {check} 未能运行：请重试，或加大 --timeout。",
    "own-resolver": "您的解析器（{nameservers}）被拒绝或没有应答：请用 --nameserver "
    "指定您自己运行的递归解析器（不要用共享或公共解析器），或使用Spamhaus DQS密钥（MXPROBE_DQS_KEY）。",
    "evidence": "证据", "fix": "修复", "fix-line": "修复：{fix}", "colon": "：", "aside": "（{text}）",
    "settings": "设置",
    "report-title": "mxprobe 报告",
    "checks": "检查",
    "evidence-title": "证据",
    "query": "查询", "answer": "应答", "status": "状态", "check": "检查", "summary": "摘要",
    "more": "另有 {n} 项（见 --format json）",
}  # fmt: skip

TABLES = {"en": _EN, "zh": _ZH}


def say(lang: str, key: str, **facts: object) -> str:
    """The sentence `key` in `lang` (English when the language has none), filled with `facts`."""
    table = TABLES.get(lang, _EN)
    return table.get(key, _EN[key]).format(**facts)


def locale_lang(environ: dict[str, str] | None = None) -> str:
    """`zh` when the locale (LC_ALL, else LC_MESSAGES, else LANG: POSIX precedence) is Chinese, else `en`."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
