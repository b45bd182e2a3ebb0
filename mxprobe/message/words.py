"""The fixed words of the delivered-message text report, in English and Chinese (the same keys in both; a
test checks it). Values are `str.format` templates; Chinese uses full-width punctuation. Values that came
from the message (names, addresses, results, header text) are filled in verbatim."""

from __future__ import annotations

import re

_EN = {
    "message": "Message  {id}", "no-id": "(no Message-ID)",
    "who": "  From {sender}  Return-Path <{path}>  Date {date}",
    "path": "Path (oldest first)", "no-date": "no date", "local": "(local)", "with": " with {protocol}",
    "entered": "  ← entered the receiver here",
    "forged": " (the receiver noted: reverse name may be forged)",
    "no-received": "  no Received line",
    "delivering": "  delivering IP {ip}, HELO {helo}, reverse name {ptr} (receiver: {receiver})",
    "none-recorded": "none recorded",
    "auth": "Authentication (trusted authserv-id: {who}: {why})", "none": "none",
    "method": "method", "then": "receiver then", "now": "mxprobe now",
    "aligned": ", aligned", "not-aligned": ", NOT aligned with From", "bits": ", {bits}-bit {type}",
    "unsigned": "none (not signed)", "arc-sets": "{valid} ({n} sets: {sealers})",
    "note": "    note: {text}", "untrusted": "  untrusted: {header} {id} {method}={result}: {why}",
    "no-id-short": "(no id)",
    "differ": "Then and now differ", "difference": "  {what}: {then} then, {now} now: {cause}",
    "spam": "Spam verdict", "score": " score {score}", "no-header": "(no header)",
    "not-receivers": " [not the receiver's]", "no-spam": "  no spam verdict header",
    "checks": "Checks of the delivering IP and the domains",
    "fixes": "What to fix", "no-fixes": "Nothing to fix in authentication", "note-line": "note: {text}",
    "then-failed": "The receiver recorded {methods} as failed: run again with --check to see what holds now "
    "and what to fix.",
    "fix-body": "DKIM d={d}: the body changed after signing. Sign last (after footers and re-encoding); a "
    "list or gateway that edits mail should ARC-seal it.",
    "fix-key": "DKIM d={d}: publish the key at {s}._domainkey.{d} or sign with a current one ({reason}).",
    "fix-align": "DKIM: sign with d={domain} (or a domain aligned with it): d={d} does not count for DMARC.",
    "fix-spf": "SPF: {domain} does not authorise {ip}: add it to the SPF record, or send through a host it "
    "lists.",
    "fix-dmarc": "DMARC: publish a record at _dmarc.{domain}.", "your-domain": "your domain",
    "check-fix": "{id}: {fix}", "paren": " ({text})", "sep": ", ", "colon": ": ",
}  # fmt: skip

_ZH = {
    "message": "邮件  {id}", "no-id": "（没有Message-ID）",
    "who": "  发件人 {sender}  Return-Path <{path}>  日期 {date}",
    "path": "投递路径（从最早的一跳开始）", "no-date": "无日期", "local": "（本地）",
    "with": "，协议 {protocol}",
    "entered": "  ← 在此进入收件方",
    "forged": "（收件方注明：反向解析名可能是伪造的）",
    "no-received": "  没有 Received 行",
    "delivering": "  投递IP {ip}，HELO {helo}，反向解析名 {ptr}（收件方：{receiver}）",
    "none-recorded": "未记录",
    "auth": "身份验证（可信的 authserv-id：{who}：{why}）", "none": "无",
    "method": "方法", "then": "收件方当时", "now": "mxprobe 现在",
    "aligned": "，已对齐", "not-aligned": "，与发件人（From）未对齐", "bits": "，{bits}位 {type}",
    "unsigned": "无（未签名）", "arc-sets": "{valid}（{n} 组：{sealers}）",
    "note": "    注：{text}", "untrusted": "  不可信：{header} {id} {method}={result}：{why}",
    "no-id-short": "（无id）",
    "differ": "当时与现在不同", "difference": "  {what}：当时 {then}，现在 {now}：{cause}",
    "spam": "垃圾邮件判定", "score": " 分数 {score}", "no-header": "（无头字段）",
    "not-receivers": "［不是收件方的］", "no-spam": "  没有垃圾邮件判定头字段",
    "checks": "投递IP与相关域名的检查",
    "fixes": "需要修复", "no-fixes": "身份验证无需修复", "note-line": "注：{text}",
    "then-failed": "收件方记录 {methods} 未通过：请加 --check 再运行，查看现在的结果和修复方法。",
    "fix-body": "DKIM d={d}：签名后正文被改动。请最后签名（在添加页脚和重新编码之后）；"
    "会修改邮件的邮件列表或网关应加ARC封印。",
    "fix-key": "DKIM d={d}：在 {s}._domainkey.{d} 发布公钥，或用有效的密钥签名（{reason}）。",
    "fix-align": "DKIM：请用 d={domain}（或与之对齐的域名）签名：d={d} 不计入DMARC。",
    "fix-spf": "SPF：{domain} 没有授权 {ip}：请把它加入SPF记录，或通过记录中列出的主机发信。",
    "fix-dmarc": "DMARC：在 _dmarc.{domain} 发布记录。", "your-domain": "您的域名",
    "check-fix": "{id}：{fix}", "paren": "（{text}）", "sep": "，", "colon": "：",
}  # fmt: skip

TABLES = {"en": _EN, "zh": _ZH}

# Fixed sentences the message modules write into the report (notes, why a result is trusted, "not checked"),
# as patterns: said again in Chinese with the facts they name; any other sentence is shown as written.
_SENTENCES_ZH = [
    (r"not checked", "未检查"),
    (r"add --check to verify DKIM, SPF and DMARC now and to check the delivering IP \(uses DNS\)",
     "加上 --check 可立即重新验证DKIM、SPF和DMARC，并检查投递IP（需要DNS）"),
    (r"no Authentication-Results of the receiving organisation \((?P<who>.*)\)",
     "没有收件方组织（{who}）写入的 Authentication-Results"),
    (r"topmost Authentication-Results of (?P<who>.*), above the first Received line written outside it "
     r"\(border hop by (?P<by>.*)\)",
       "{who} 写入的最上方的 Authentication-Results，位于外部写入的第一条 Received 行之上"
     "（边界跳由 {by} 写入）"),
    (r"no Received line shows which IP handed the message to the receiver",
     "没有 Received 行说明是哪个IP把邮件交给收件方的"),
    (r"the receiver's spf=pass is a best guess: the MAIL FROM domain publishes no SPF record",
     "收件方的 spf=pass 只是推测：MAIL FROM 域名没有发布SPF记录"),
    (r"headers only \(no body\): DKIM body hashes cannot be checked",
     "只有头部（没有正文）：无法检查DKIM正文哈希"),
    (r"no Return-Path field: MAIL FROM (?P<found>\S+) taken from the receiver's smtp\.mailfrom",
     "没有 Return-Path 字段：MAIL FROM {found} 取自收件方的 smtp.mailfrom"),
    (r"added by the receiving organisation", "由收件方组织添加"),
    (r"an earlier hop's results kept under another name: evidence, not the receiver's verdict",
     "之前一跳的结果以其他名称保留：只是证据，不是收件方的判定"),
    (r"below the receiver's border hop: added before the message reached the receiver \(a claim\)",
     "位于收件方边界跳之下：在邮件到达收件方之前添加（只是声称）"),
    (r"authserv-id (?P<id>.*) is not the receiver's: another party's result",
     "authserv-id {id} 不属于收件方：是第三方的结果"),
    (r"no receiver identified", "未识别出收件方"),
    (r"\(none: Microsoft 365 writes no authserv-id\)", "（无：Microsoft 365 不写 authserv-id）"),
    (r"the receiver did not apply the domain's DMARC policy to this failure .*",
     "收件方没有对这次失败执行该域名的DMARC策略（本地例外：转发、ARC、信誉）"),
    (r"the receiver quarantined the message for failing DMARC \(Gmail: delivered to Spam\)",
     "收件方因DMARC失败隔离了邮件（Gmail：投递到垃圾邮件箱）"),
    (r"the receiver's verdict was to reject", "收件方的判定是拒收"),
    (r"Microsoft 365 delivered it as spam instead of rejecting it \(override of p=reject\)",
     "Microsoft 365 没有拒收，而是作为垃圾邮件投递（覆盖了 p=reject）"),
    (r"the policy's pct= sampled this failure out: (?P<what>\w+) was not applied",
     "策略的 pct= 抽样跳过了这次失败：未执行 {what}"),
]  # fmt: skip
_COMPILED = [(re.compile(p), t) for p, t in _SENTENCES_ZH]


def said(lang: str, text: str) -> str:
    """A fixed sentence of the message modules in `lang` (as written when no pattern here matches)."""
    if lang != "zh":
        return text
    for pattern, template in _COMPILED:
        if match := pattern.fullmatch(text):
            return template.format(**match.groupdict())
    return text


def word(lang: str, key: str, **facts: object) -> str:
    """The phrase `key` in `lang` (English for another language), filled with `facts`."""
    return TABLES.get(lang, _EN)[key].format(**facts)
