"""Chinese one-line summaries of the check outcomes, read from the checks' details (the facts), for the
report in Chinese. The checks' own summaries are English data; where no sentence here fits, the English
summary is shown as it is (the report never guesses). Names, addresses and records stay verbatim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId

Maker = Callable[[CheckResult, Any], str | None]
SEP = "；"
_ROLES = {"sending domain": "发信域名", "MX": "MX"}
_BULK = "Gmail、Yahoo和微软要求批量发信方发布"


def _role(role: str) -> str:
    if role in _ROLES:
        return _ROLES[role]
    if role.startswith("sending and recipient domain"):
        return "发信及收件域名"
    return "收件域名" if role.startswith("recipient domain") else role


def _failed(check: CheckResult, d: Any) -> str | None:
    """Any check's `error`: the lookup that got no answer, as its evidence names it."""
    if check.status != Status.ERROR or not check.evidence:
        return None
    ev = check.evidence[-1]
    return f"{ev.query} 查询失败（{ev.rcode or '无应答'}）：无法判断，请重试或检查解析器"


_NEEDS = {  # by the registry's `Needs` of the check
    "ip": "没有发信IP可查（请用 --ip 指定）",
    "domain": "没有发信域名可查（请给出 DOMAIN）",
    "smtp": "没有进行SMTP握手（请用 --to 或 --mx 指定）",  # not a check id: a Needs value
}


def _not_run(check: CheckResult) -> str | None:
    """Any check skipped for want of its input (no details): what to give, from the registry's `needs`."""
    from mxprobe.registry import spec

    found = spec(check.id)
    if check.status != Status.SKIP or check.details or found is None:
        return None
    return _NEEDS.get(found.needs)


def _ptr(check: CheckResult, d: Any) -> str | None:
    names = d.get("names") or []
    if check.status == Status.FAIL and not names:
        rcode = check.evidence[0].rcode if check.evidence else "NXDOMAIN"
        return f"{d['ip']} 没有PTR记录（{rcode}）：Gmail（550 5.7.25）、Postfix、网易和QQ会拒收"
    if check.status == Status.PASS and names:
        return f"{d['ip']} 的PTR名称：{'、'.join(names)}"
    if names:
        return f"{d['ip']} 的PTR名称 {'、'.join(names)} 看起来像动态地址或不规范，收件方可能拒收"
    return None


def _fcrdns(check: CheckResult, d: Any) -> str | None:
    names = [n["name"] for n in d.get("names") or []]
    if check.status == Status.SKIP and d.get("ip") and not names:
        return f"{d['ip']} 没有可正向确认的PTR名称（见 ptr）"
    if check.status == Status.PASS:
        return f"{d['ip']} 的PTR名称 {'、'.join(names)} 正向解析回到该IP（已正向确认）"
    if check.status == Status.FAIL:
        return f"{d['ip']} 的PTR名称 {'、'.join(names)} 没有解析回该IP：收件方视为未确认的反向解析"
    return None


_HELO_KEY = "helo"  # not a check id: the key of HeloDetails


def _helo(check: CheckResult, d: Any) -> str | None:
    helo = d.get(_HELO_KEY)
    if check.status == Status.SKIP and not helo:
        return "不知道HELO名称：请用 --helo 指定（默认取IP的PTR名称）"
    if check.status == Status.PASS and helo:
        return f"HELO {helo} 可解析，指向发信IP"
    if check.status == Status.WARN and helo:
        return f"HELO {helo} 没有指向发信IP {d.get('ip', '')}：部分收件方会拒收或扣分"
    if check.status == Status.FAIL and helo:
        return f"HELO {helo} 不是可解析的主机名：Postfix等会拒收（reject_unknown_helo_hostname）"
    return None


def _spf(check: CheckResult, d: Any) -> str | None:
    mailfrom = d.get("mailfrom") or {}
    result, domain, ip = mailfrom.get("result"), mailfrom.get("domain"), d.get("ip")
    if not result:
        return None
    said = {
        "fail": f"（发信IP {ip} 未获授权）",
        "softfail": f"（发信IP {ip} 未获授权，软失败）",
        "pass": f"（发信IP {ip} 已获授权）",
        "neutral": "（既不允许也不拒绝）",
        "none": "（没有SPF记录）",
        "permerror": "（SPF记录有误，永久错误）",
        "temperror": "（DNS临时错误）",
    }.get(str(result), "")
    return f"MAIL FROM {domain}：SPF {result}{said}"


def _spf_record(check: CheckResult, d: Any) -> str | None:
    domain, record = d.get("domain"), d.get("record")
    lookups, void = d.get("dns_lookups"), d.get("void_dns_lookups")
    if check.status == Status.PASS and record:
        return f"{record}（DNS查询 {lookups}/10 次，空查询 {void}/2 次）"
    if d.get("invalid"):
        return f"{domain} 的SPF记录无法读取（{d['invalid']}）：收件方不把它当作SPF"
    if check.status == Status.FAIL and d.get("error") is not None:
        if (lookups or 0) > 10:
            why = f"需要 {lookups} 次DNS查询（上限10次）"
        elif (void or 0) > 2:
            why = f"空查询 {void} 次（上限2次）"
        else:
            why = "记录有错误（详见 -v）"
        return f"{domain} 的SPF记录已损坏：{why}；收件方得到 permerror，DMARC计为失败"
    if record is None and check.status == Status.WARN:
        return f"{domain} 没有SPF记录：收件方得到 SPF none，{_BULK}SPF"
    if record and check.status in (Status.WARN, Status.FAIL):
        problems = []
        if d.get("all") == "pass":
            problems.append("+all 授权互联网上的任何IP以该域名发信")
        elif d.get("all") == "neutral":
            problems.append("记录以 ?all 结尾（或没有 all）：未列出的发信方得到 neutral，没有保护")
        if " ptr" in f" {record}":
            problems.append("使用了 RFC 7208 §5.5 已弃用的 ptr 机制：慢、不可靠，部分收件方忽略")
        if len(d.get("warnings") or []) > len(problems):
            problems.append(f"另有 {len(d['warnings'])} 条警告（见 -v）")
        return f"{record}：{SEP.join(problems)}" if problems else None
    return None


def _dmarc(check: CheckResult, d: Any) -> str | None:
    domain, tags = d.get("domain"), d.get("tags") or {}
    if not d.get("record") and check.status == Status.WARN:
        return (
            f"{domain} 没有DMARC记录（上级域名也没有）：Gmail和Yahoo要求批量发信方（每天5000封以上）"
            "发布DMARC，微软以 550 5.7.515 拒收"
        )
    if check.status == Status.FAIL and d.get("record"):
        return f"{domain} 的DMARC记录无效（收件方忽略它，等同没有DMARC）：{d['record']}"
    if not tags:
        return None
    policy = " ".join(f"{k}={tags[k]}" for k in ("p", "sp", "adkim", "aspf") if k in tags)
    if check.status == Status.PASS:
        return f"策略 {policy}"
    problems = []
    if tags.get("p") == "none":
        problems.append("p=none 表示DMARC未强制执行")
    if not tags.get("rua"):
        problems.append("没有 rua（收不到汇总报告）")
    if len(d.get("warnings") or []) > len(problems):
        problems.append(f"另有 {len(d['warnings'])} 条警告（见 -v）")
    return f"策略 {policy}：{SEP.join(problems)}"


def _dkim(check: CheckResult, d: Any) -> str | None:
    keys, domain = d.get("keys") or [], d.get("domain")
    if not keys and check.status == Status.WARN:
        if d.get("selectors_source") == "given":
            return f"{domain} 在指定的 {d.get('selectors_tried')} 个选择器下没有DKIM公钥"
        return f"在 {domain} 的 {d.get('selectors_tried')} 个常见选择器下没有找到DKIM公钥"
    if not keys:
        return None
    shown = "、".join(f"{k['selector']}：{k.get('bits')}位 {k.get('key_type')}" for k in keys[:3])
    problems = sum(1 for k in keys if k.get("status") != "pass")
    align = d.get("alignment") or {}
    tail = f"；d={align['d']} 与发件人 {domain} 对齐（adkim={align.get('adkim')}）" if align.get("d") else ""
    if check.status == Status.PASS:
        return shown + tail
    return f"{shown}；{problems} 个公钥有问题（见 -v）"


_MX_KEY = "mx"  # not a check id: the key of MxDetails


def _mx(check: CheckResult, d: Any) -> str | None:
    domain, mx, hosts = d.get("domain"), d.get(_MX_KEY) or [], d.get("hosts") or []
    listing = "，".join(r.rstrip(".") for r in mx)
    if check.status == Status.PASS and mx:
        return f"{domain} 的MX：{listing}"
    if d.get("null_mx"):
        return f"{domain} 发布了空MX（RFC 7505）：声明不收邮件，收件方拒收其发出的邮件（550 5.7.27）"
    if d.get("implicit_mx"):
        return (
            f"{domain} 没有MX记录，发给它的邮件投递到其地址（{'、'.join(d['implicit_mx'])}）"
            "（RFC 5321 §5.1 允许），但收件方更信任发布了MX的域名"
        )
    if check.status == Status.FAIL and not mx and "hosts" not in d and _MX_KEY not in d:
        return f"{domain} 不存在（NXDOMAIN）：收件方拒收来自不存在域名的邮件（Postfix：550 5.1.8）"
    if check.status == Status.FAIL and not mx:
        return f"{domain} 既没有MX也没有A/AAAA记录：无法回复或退信，Postfix会拒收（550 5.1.8）"
    bare = [h["host"] for h in hosts if not h.get("addresses")]
    if check.status == Status.FAIL and bare:
        return f"{domain} 的MX主机都没有地址（{'、'.join(bare)}）：回复和退信无法投递"
    if check.status == Status.WARN and mx:
        return f"{domain} 的MX：{listing}；有MX主机是别名（CNAME）、没有地址或指向无法投递的地址（见 -v）"
    return None


def _blocklists(check: CheckResult, d: Any) -> str | None:
    zones = [z for z in d.get("zones", []) if isinstance(z, dict)]
    subject = d.get("ip") or "、".join(d.get("domains") or {})
    listed = [str(z.get("zone")) for z in zones if z.get("status") == "listed"]
    failed = sum(1 for z in zones if z.get("status") == "error")
    tail = f"；{failed} 个无法查询（见 -v）" if failed and zones else ""
    if check.status == Status.FAIL and listed:
        return f"{subject} 被 {len(listed)} 个黑名单列入（共查询 {len(zones)} 个）：{'、'.join(listed)}{tail}"
    if check.status == Status.PASS and zones:
        return f"{subject} 未被列入（查询了 {len(zones)} 个黑名单）{tail}"
    if check.status == Status.ERROR and zones:
        return f"无法检查 {subject}：{failed}/{len(zones)} 个黑名单没有可用应答（多拒绝公共解析器，见 -v）"
    return None


_POLICY = {CheckId.MTA_STS: "MTA-STS", CheckId.TLS_RPT: "TLS-RPT"}
_ABSENT = {CheckId.MTA_STS: "发信方可不经TLS投递", CheckId.TLS_RPT: "发往它的TLS故障无人报告"}


def _receiver(check: CheckResult, d: Any) -> str | None:
    kind, parts = _POLICY[CheckId(check.id)], []
    for entry in d.get("domains") or []:
        head = f"{entry['domain']}（{_role(entry['role'])}）"
        status = Status(entry["status"])
        if not entry.get("published") and status == Status.SKIP:
            parts.append(f"{head}：没有{kind}记录（{_ABSENT[CheckId(check.id)]}）")
        elif status == Status.PASS:
            policy = entry.get("policy") or {}
            mode = f"，mode={policy['mode']}" if policy.get("mode") else ""
            rua = f"，报告发往 {'、'.join(entry['rua'])}" if entry.get("rua") else ""
            parts.append(f"{head}：已发布{kind}记录{mode}{rua}")
        else:
            parts.append(f"{head}：{kind}有问题（见 -v 与修复建议）")
    return SEP.join(parts) or None


_DNSSEC_STATES = {
    "validated": "已签名，解析器已验证", "signed": "已签名（解析器不验证，已在此检查信任链）",
    "signed-unverified": "已签名（有DS和DNSKEY），但无法验证", "unsigned": "未签名",
    "bogus": "DNSSEC损坏（bogus）", "unknown": "无法检查",
}  # fmt: skip


def _dnssec(check: CheckResult, d: Any) -> str | None:
    parts = []
    for i, z in enumerate(d.get("zones") or []):
        where = z["name"] if z["zone"] == z["name"] else f"{z['name']}（区域 {z['zone']}）"
        state = _DNSSEC_STATES[z["state"]]
        why = f"{z['zone']} 的上级没有DS记录" if z["state"] == "unsigned" else "见 -v"
        parts.append(f"{'发信域名' if i == 0 else 'MX'} {where}：{state}（{why}）")
    return SEP.join(parts) or None


def _dane(check: CheckResult, d: Any) -> str | None:
    hosts = d.get("hosts") or []
    if not hosts:
        return "没有可查TLSA记录的MX主机名（--mx 给的是地址）" if check.status == Status.SKIP else None
    if all(not h.get("tlsa") for h in hosts) and check.status != Status.ERROR:
        return f"{'、'.join(h['host'] for h in hosts)} 没有TLSA记录：未使用DANE（发信方使用机会性TLS）"
    parts = []
    for h in hosts:
        if h.get("matched"):
            parts.append(f"{h['name']}：证书与 {len(h['matched'])} 条TLSA记录匹配")
        elif h.get("tlsa"):
            parts.append(f"{h['name']}：{len(h['tlsa'])} 条TLSA记录，状态 {h['status']}（见 -v）")
    return SEP.join(parts) or None


_SUMMARIES: dict[str, Maker] = {
    CheckId.PTR: _ptr,
    CheckId.FCRDNS: _fcrdns,
    CheckId.HELO: _helo,
    CheckId.SPF: _spf,
    CheckId.SPF_RECORD: _spf_record,
    CheckId.DMARC: _dmarc,
    CheckId.DKIM: _dkim,
    CheckId.MX: _mx,
    CheckId.DNSBL: _blocklists,
    CheckId.DBL: _blocklists,
    CheckId.MTA_STS: _receiver,
    CheckId.TLS_RPT: _receiver,
    CheckId.DNSSEC: _dnssec,
    CheckId.DANE: _dane,
}


def translated(check: CheckResult) -> str | None:
    """The check's summary in Chinese, or None when no sentence here fits its outcome."""
    from mxprobe.render.zh_handshake import HANDSHAKE

    make = _SUMMARIES.get(check.id) or HANDSHAKE.get(check.id)
    try:
        found = make(check, check.details) if make is not None else None
        return found or _failed(check, check.details) or _not_run(check)
    except (KeyError, TypeError, AttributeError, ValueError):  # details of another shape
        return None


def summary(check: CheckResult) -> str:
    """The check's summary in Chinese when a sentence here fits its outcome, else its own."""
    return translated(check) or check.summary
