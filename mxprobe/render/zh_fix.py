"""Chinese fixes: each check's English fix, sentence by sentence, said again in Chinese with its facts (names,
addresses, records between backquotes) kept verbatim. A fix with a sentence no template covers is shown in
English as it is (the report never drops advice); tests/test_report_zh.py lists those cases."""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from mxprobe.model import CheckResult
from mxprobe.registry import CheckId
from mxprobe.service.plan import Group

_N = r"(?P<{}>[^\s`();,']*[^\s`();,.'])"  # one name, address or URL (a final dot ends the sentence)
_REC = r"`(?P<rec>[^`]+)`"


def _n(name: str) -> str:
    return _N.format(name)


_RESOLVER = (
    "(?:The DNS did not answer|the DNS did not answer for some selectors)(?: for " + _n("zone") + r")?: "
    r"check --nameserver and --timeout(?:, then run again)?\.?",
    "DNS没有应答{zone?}：请检查 --nameserver 和 --timeout 后重试。",
)
_COMMON = [
    (r"Retry, or check the resolver \(--nameserver\) and the domain's nameservers\.",
     "请重试，或检查解析器（--nameserver）和该域名的权威服务器。"),
    (r"Retry, or check the nameservers of " + _n("zone") + r"(?:: receivers with the same failure defer "
     r"\(4xx\))?\.", "请重试，或检查 {zone} 的权威服务器（遇到同样故障的收件方会暂缓接收，4xx）。"),
    _RESOLVER,
    (r"(?P<zh>[\u2e80-\uffef][^。]*。)", "{zh}"),  # a sentence the plan already said in Chinese
]  # fmt: skip
_LISTS = [
    (r"Some lists refuse your resolver \((?P<ns>[^)]+)\), as they refuse public and cloud ones: .*?"
     r"\(--dqs-key KEY\)\.",
       "部分黑名单拒绝您的解析器（{ns}），就像拒绝公共和云解析器一样：请用 --nameserver "
     "指向您自己运行的递归解析器（例如本机的unbound，不要用共享或转发解析器）；Spamhaus可用免费的DQS密钥"
     "（--dqs-key KEY），通过任何解析器查询。"),
    (r"Some lists refuse public and cloud resolvers .*?\(--dqs-key KEY\)\.",
     "部分黑名单拒绝公共和云解析器（8.8.8.8、1.1.1.1、云DNS）：请用 --nameserver 指向您自己的递归解析器"
     "（例如本机的unbound）；Spamhaus可用免费的DQS密钥（--dqs-key KEY），通过任何解析器查询。"),
    (r"Your resolver(?: \((?P<ns>[^)]+)\))? rewrites NXDOMAIN answers .*?that does not\.",
     "您的解析器{ns?}会改写NXDOMAIN应答（ISP重定向、强制门户、DNS过滤）："
     "请用 --nameserver 换一个不改写的解析器。"),
    (r"Some lists did not answer: retry later or raise --timeout; one that keeps failing may be down\.",
     "部分黑名单没有应答：请稍后重试或加大 --timeout；一直失败的黑名单可能已停止服务。"),
    (r"Find and fix why you were listed first .*?, then ask each list to remove the listing: (?P<links>.*)$",
     "请先找到并消除被列入的原因（被入侵的主机或账号、开放中继、发往垃圾邮件陷阱的邮件、动态地址直接投递到MX），"
     "再请各黑名单移除：{links}"),
    (r"Correct the --dnsbl or key value\.", "请更正 --dnsbl 或密钥的值。"),
]  # fmt: skip
_FIXES: dict[str, list[tuple[str, str]]] = {
    CheckId.PTR: [
        (r"Ask the owner of " + _n("ip") + r" \(your ISP[^)]*\) to publish " + _REC + r", and give "
         + _n("name") + r" an (?P<t>A|AAAA) record " + _n("ip2") + r" so that it is forward-confirmed\.",
         "请 {ip} 的所有者（您的ISP或托管商：他们管理反向区域，"
         "控制面板中称为“反向解析”或“rDNS”）发布 `{rec}`，"
         "并为 {name} 添加 {t} 记录 {ip2}，使其能被正向确认。"),
        (r"Keep exactly one PTR record for " + _n("ip") + r": ask the IP's owner to delete "
         r"(?P<names>[^\s,]*[^\s,.](?:, [^\s,]*[^\s,.])*)"
         r"(?: and the \d+ more)?\.", "{ip} 只保留一条PTR记录：请IP所有者删除 {names}。"),
        (r"Set the PTR to a fully qualified name in public DNS, e.g\. " + _n("name") + r"\.",
         "请把PTR设为公共DNS中的完整主机名（FQDN），例如 {name}。"),
        (r"Ask the IP's owner to change the PTR to a name of your own .*? e\.g\. " + _n("name")
         + r" \(with an A/AAAA record back to " + _n("ip") + r"\); generic names .*? Yahoo\.",
         "请IP所有者把PTR改为能标识邮件服务器的自有名称，例如 {name}（并有指回 {ip} 的A/AAAA记录）；"
         "通用名称会被当作动态地址（Spamhaus PBL、Abusix、SpamRATS Dyna），微软和Yahoo会拒收。"),
    ],
    CheckId.FCRDNS: [
        (r"Add " + _REC + r" in the zone of " + _n("name") + r", or have the PTR of " + _n("ip")
         + r" changed to a name that resolves to it\.",
         "在 {name} 所在区域添加 `{rec}`，或把 {ip} 的PTR改为能解析回该IP的名称。"),
    ],
    CheckId.HELO: [
        (r"Send HELO \[" + _n("ip") + r"\] or, better, a fully qualified name that resolves to " + _n("ip2")
         + r", e\.g\. " + _n("name") + r"\.",
           "请发送 HELO [{ip}]，最好发送解析到 {ip2} 的完整主机名，例如 {name}。"),
        (r"Make the MTA send a fully qualified name \(Postfix: smtp_helo_name = " + _n("name")
         + r"; Exim: helo_data\) and give that name an A/AAAA record " + _n("ip") + r"\.",
         "让MTA发送完整主机名（Postfix：smtp_helo_name = {name}；Exim：helo_data），"
         "并为该名称添加A/AAAA记录 {ip}。"),
        (r"(?:Add|Point " + _n("hname") + r" at " + _n("ip") + r" \()" + _REC
         + r"\)?(?: or send the PTR name " + _n("pname") + r" as HELO)?\.",
         "添加 `{rec}`，使HELO名称指向发信IP{pname?}。"),
    ],
    CheckId.SPF: [
        (r"Authorize the IP in the SPF record of " + _n("domain") + r": " + _REC + r"\.",
         "在 {domain} 的SPF记录中授权该IP：`{rec}`。"),
        (r"Publish an SPF record for " + _n("domain") + r", e\.g\. " + _REC + r"\.",
         "为 {domain} 发布SPF记录，例如 `{rec}`。"),
        (r"Repair the SPF record of " + _n("domain") + r" \(.*?\); spf-record shows what is wrong\.",
         "修复 {domain} 的SPF记录（spf-record 一行说明了问题所在）。"),
        (r"A DNS lookup failed while evaluating " + _n("domain") + r"; receivers defer \(4xx\)\. "
         r"Check its nameservers\.",
           "评估 {domain} 时DNS查询失败，收件方会暂缓接收（4xx）：请检查其权威服务器。"),
        (r"Retype the SPF record of " + _n("domain") + r" in plain ASCII: .*?, so receivers ignore it\.",
         "请用纯ASCII重新输入 {domain} 的SPF记录（当前含有收件方无法读取的字符）。"),
    ],
    CheckId.SPF_RECORD: [
        (r"Publish " + _REC + r" listing every host that sends as " + _n("domain") + r"\.",
         "发布 `{rec}`，列出所有以 {domain} 名义发信的主机。"),
        (r"Replace \+all with -all after listing your senders \(ip4:, ip6:, include:\)\.",
         "列出您的全部发信方（ip4:、ip6:、include:）后，把 +all 改为 -all。"),
        (r"End the record with -all \(or ~all while you check that every sender is listed\)\.",
         "记录以 -all 结尾（在确认所有发信方都已列出之前可用 ~all）。"),
        (r"Replace ptr with the ip4:/ip6: addresses of your mail servers\.",
         "把 ptr 换成您邮件服务器的 ip4:/ip6: 地址。"),
        (r"Review the SPF record of " + _n("domain") + r" \(warnings above\)\.",
         "请检查 {domain} 的SPF记录（见上方警告）。"),
        (r"Retype the record in plain ASCII .*?\.", "请用纯ASCII重新输入该记录（普通空格，直引号）。"),
        (r"Repair " + _REC + r": it needs (?P<n>\d+) DNS lookups: .*? remain\.",
         "修复 `{rec}`：它需要 {n} 次DNS查询，请把 include/a/mx 换成对应的 ip4:/ip6: 地址段，"
         "或删除不用的 include，"
         "直到不超过10次。"),
        (r"Repair " + _REC + r": remove the terms that name domains without records .*?\.",
         "修复 `{rec}`：删除指向没有记录的域名的项（空查询超过2次）。"),
        (r"Repair " + _REC + r": merge the v=spf1 records into one .*?\.",
         "修复 `{rec}`：把多条 v=spf1 记录合并为一条（一个域名只能发布一条）。"),
        (r"Repair " + _REC + r": correct it \((?P<why>.*)\)\.$",
         "修复 `{rec}`：更正其中的错误（错误原文见 -v 的 error）。"),
    ],
    CheckId.DMARC: [
        (r"Publish " + _REC + r", read the reports, then move to p=quarantine and p=reject\.",
         "发布 `{rec}`，阅读汇总报告，再逐步改为 p=quarantine 和 p=reject。"),
        (r"Publish exactly one valid record at " + _n("name") + r", e\.g\. " + _REC + r"\.",
         "在 {name} 只发布一条有效记录，例如 `{rec}`。"),
        (r"Once the aggregate reports \(rua\) show that your own mail passes SPF or DKIM aligned, raise the "
         r"policy at " + _n("name") + r" to p=quarantine, then p=reject\.",
         "当汇总报告（rua）显示您自己的邮件通过对齐的SPF或DKIM后，把 {name} 的策略提高到 p=quarantine，"
         "再到 p=reject。"),
        (r"The record asks for no aggregate reports \(no rua\): add one, " + _REC
         + r", read the reports for a "
         r"few weeks, and once .*? raise the policy at " + _n("name") + r" to p=quarantine, then p=reject\.",
         "该记录没有要求汇总报告（没有 rua）：请加上，`{rec}`；阅读几周报告，"
         "确认您自己的邮件通过对齐的SPF或DKIM后，"
         "把 {name} 的策略提高到 p=quarantine，再到 p=reject。"),
        (r"Review the record at " + _n("name") + r"\.", "请检查 {name} 的记录。"),
    ],
    CheckId.DKIM: [
        (r"DKIM cannot be verified without the selector: .*? with a 2048-bit RSA key\.",
         "没有选择器就无法验证DKIM：打开该域名发出的一封邮件，找到 DKIM-Signature 头的 s= 标签，再用 "
         "--dkim-selector S 运行；如果邮件没有 DKIM-Signature，请用2048位RSA密钥配置DKIM签名。"),
        (r"no key at " + _n("name") + r": receivers fail every signature with s=" + _n("s")
         + r"; publish the "
         r"key, or check the s= tag of a DKIM-Signature you received",
         "{name} 没有公钥：s={s} 的签名全部失败；请发布公钥，或核对收到的 DKIM-Signature 的 s= 标签"),
        (r"generate a (?P<bits>\d+)-bit RSA key under a new selector, publish it, then switch signing",
         "在新选择器下生成 {bits} 位RSA密钥并发布，再切换签名"),
        (r"only Ed25519 keys: .*?\(RFC 8463\)",
         "只有Ed25519公钥：许多收件方尚不能验证，请同时用RSA-2048签名（RFC 8463）"),
        (r"revoked \(empty p=\): .*? current one",
         "已吊销（p= 为空）：用此选择器的签名全部失败，请改用有效的选择器"),
    ],
    CheckId.MX: [
        (r"Publish an MX record: " + _REC + r" \(with an A record for that host\)\.",
         "发布MX记录：`{rec}`（并为该主机添加A记录）。"),
        (r"Publish an MX record for " + _n("domain") + r" pointing at a host that receives its mail, e\.g\. "
         + _REC + r"\.?", "为 {domain} 发布指向其收信主机的MX记录，例如 `{rec}`。"),
        (r"Register " + _n("domain") + r" or send from a domain that exists\.",
         "注册 {domain}，或使用已存在的域名发信。"),
        (r"Remove " + _REC + r" and publish the MX of the host that receives its mail\.",
         "删除 `{rec}`，并发布实际收信主机的MX记录。"),
        (r"Give " + _n("host") + r" an A/AAAA record, or point the MX of " + _n("domain")
         + r" at a host that has one\.", "为 {host} 添加A/AAAA记录，或把 {domain} 的MX指向有地址的主机。"),
        (r"Point every MX record at a host name with its own A/AAAA record "
         r"\(no CNAME, no unusable address\)\.?",
         "让每条MX记录都指向有自己A/AAAA记录的主机名（不要CNAME，不要无法投递的地址）。"),
    ],
    CheckId.DNSSEC: [
        (_n("zone") + r" is bogus: .*? \(or drop it\)\.",
         "{zone} 的DNSSEC损坏：验证型解析器对其返回SERVFAIL，收件方读不到其SPF、DKIM和DMARC。请重新签名区域，"
         "或在注册商处发布与DS匹配的DNSKEY（或删除DS）。"),
        (r"Use a validating resolver \(--nameserver\) to have " + _n("zone") + r"'s signatures checked\.",
         "请使用验证型解析器（--nameserver）来检查 {zone} 的签名。"),
    ],
    CheckId.DANE: [
        (r"Sign the zone of " + _n("host") + r" with DNSSEC, or the TLSA records have no effect\.",
         "请用DNSSEC签名 {host} 所在区域，否则TLSA记录无效。"),
        (r"Publish DANE-EE records \(3 1 1 <SHA-256 of the key>\) at " + _n("name") + r"\.",
         "在 {name} 发布DANE-EE记录（3 1 1 <公钥的SHA-256>）。"),
        (r"Offer STARTTLS on " + _n("host") + r" with a certificate matching its TLSA records\.",
         "请在 {host} 上提供STARTTLS，并使用与其TLSA记录匹配的证书。"),
        (r"Publish a TLSA record for the certificate " + _n("host")
         + r" serves now .*?serve the one they name\.",
         "为 {host} 当前使用的证书发布TLSA记录（例如 3 1 1 <公钥的SHA-256>），在变更生效前保留旧记录；"
         "或改用记录所指的证书。"),
    ],
    CheckId.MTA_STS: [
        (r"Fix the record at " + _n("name") + r": v=STSv1; id=<1-32 letters or digits>",
         "修正 {name} 的记录：v=STSv1; id=<1-32个字母或数字>"),
        (r"Serve the policy at " + _n("url") + r" with a valid certificate \(RFC 8461 3\.3\)\.",
         "在 {url} 用有效证书提供策略文件（RFC 8461 3.3）。"),
        (r"Check that this host can reach HTTPS \(port 443\) and the DNS, then run again\.",
         "请确认本机能访问HTTPS（443端口）和DNS，然后重试。"),
        (r"Serve " + _n("url") + r" with HTTP 200, without redirects \(RFC 8461 3\.3\)\.",
         "{url} 应直接返回HTTP 200，不要重定向（RFC 8461 3.3）。"),
        (r"Shorten " + _n("url") + r"\.", "缩短 {url}（不超过64 KiB）。"),
        (r"Serve " + _n("url") + r" as text/plain \(RFC 8461 3\.2\)\.",
         "以 text/plain 提供 {url}（RFC 8461 3.2）。"),
        (r"Fix the policy at " + _n("url") + r"\.", "修正 {url} 的策略。"),
        (r"Add the MX hosts to the mx: lines of the MTA-STS policy of " + _n("domain")
         + r", or change the MX records\.", "把MX主机加入 {domain} 的MTA-STS策略的 mx: 行，或修改MX记录。"),
    ],
    CheckId.TLS_RPT: [
        (r"Fix the record at " + _n("name") + r": (?P<rec>v=TLSRPTv1; rua=\S+)", "修正 {name} 的记录：{rec}"),
    ],
}  # fmt: skip
_FIXES[CheckId.DNSBL] = _FIXES[CheckId.DBL] = _LISTS
_HOST = r"(?P<where>\S+?)"  # host:port or [address]:port, as the handshake names it
_FIXES[CheckId.TLS] = _FIXES[CheckId.SMTP] = [
    (r"Only the receiver can fix this: (?P<pm>.+?) must enable STARTTLS on " + _HOST + r" \(Postfix: "
     r"smtpd_tls_security_level = may\); until then mail to it travels in clear text\.",
     "只有收件方能修复：{pm} 必须在 {where} 上启用STARTTLS（Postfix：smtpd_tls_security_level = may）；"
     "在此之前，发往它的邮件以明文传输。"),
    (r"The problem is on the receiver's side: " + _HOST
     + r" offers STARTTLS and then (?:refuses it|fails the handshake) \(its certificate or key cannot be "
     r"used\)\. Tell (?P<pm>.+?)\. Until it is fixed, .*? check again with " + _REC + r"\.",
     "问题在收件方：{where} 提供STARTTLS却拒绝或握手失败（其证书或密钥不可用）。请告知 {pm}。修复之前，"
     "要求TLS的"
     "发信方（MTA-STS、DANE）会暂存发往它的邮件，其他发信方以明文投递；之后用 `{rec}` 再次检查。"),
    (r"Install a certificate from a public CA \(e\.g\. Let's Encrypt\) that names the MX host, and renew it "
     r"before it expires\.", "请安装公共CA（例如Let's Encrypt）签发、包含该MX主机名的证书，并在过期前续期。"),
    (r"The TLS handshake with " + _HOST + r" failed on the receiver's side: its operator must fix its "
     r"certificate or TLS settings\.",
       "与 {where} 的TLS握手在收件方一侧失败：须由其运维方修正证书或TLS设置。"),
    (r"Raise --timeout: the run's deadline ended the wait; then run " + _REC + r"\.",
     "请加大 --timeout（本次运行的时限结束了等待），然后运行 `{rec}`。"),
    (r"Use the submission port \(587, or 465 with --tls\) of a server whose certificate verifies\.",
     "请使用证书可验证的服务器的提交端口（587，或配合 --tls 使用465）。"),
]  # fmt: skip
for _check in (CheckId.MTA_STS, CheckId.TLS_RPT):
    _FIXES[_check].append(
        (
            r"Keep one (?P<v>\S+) record at " + _n("name") + r" \((?P<rfc>RFC \d+)\)\.",
            "在 {name} 只保留一条 {v} 记录（{rfc}）。",
        )
    )


@functools.cache
def _compiled(check_id: str) -> list[tuple[re.Pattern[str], str]]:
    """The patterns of one check, compiled on first use: an English run never pays for them."""
    return [(re.compile(p), t) for p, t in [*_FIXES.get(check_id, []), *_COMMON]]


_SEPARATOR = re.compile(r"[\s;]*")


_OPTIONAL = {"pname": "，或把PTR名称 {} 用作HELO"}


def _optional(name: str, facts: dict[str, str]) -> str:
    value = facts.get(name)
    return (_OPTIONAL.get(name, "（{}）").format(value)) if value else ""


def _fill(template: str, match: re.Match[str]) -> str:
    """The template with the match's groups; `{name?}` is dropped when the group did not take part."""
    facts = {k: v or "" for k, v in match.groupdict().items()}
    template = re.sub(r"\{(\w+)\?\}", lambda m: _optional(m.group(1), facts), template)
    return template.format(**facts)


def translated(check_id: str, fix: str) -> str | None:
    """`fix` (a check's English fix) in Chinese, or None when a sentence of it has no template here."""
    patterns = _compiled(check_id)
    out: list[str] = []
    pos = _SEPARATOR.match(fix).end()  # type: ignore[union-attr]
    while pos < len(fix):
        match = next((m for p, _ in patterns if (m := p.match(fix, pos))), None)
        if match is None:
            return None
        template = next(t for p, t in patterns if p.match(fix, pos) is not None)
        out.append(_fill(template, match))
        pos = _SEPARATOR.match(fix, match.end()).end()  # type: ignore[union-attr]
    return "".join(s if s.endswith("。") else s + "；" for s in out).rstrip("；") or None


def fix(check: CheckResult) -> str:
    """The check's fix in Chinese when every sentence of it has a template, else its own."""
    return (translated(check.id, check.fix) if check.fix else None) or check.fix


def plan(groups: list[Group], lang: str) -> list[Group]:
    """The plan with each action's text in `lang` (Chinese where every sentence has a template here)."""
    if lang != "zh":
        return groups
    return [
        replace(g, actions=[replace(a, text=translated(a.check, a.text) or a.text) for a in g.actions])
        for g in groups
    ]
