"""Chinese one-line summaries of the most common check outcomes, read from the checks' details (the facts),
for the text report in Chinese. The checks' own summaries are English data; where no sentence here fits,
the English summary is shown as it is (the report never guesses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId


def _ptr(check: CheckResult, d: Any) -> str | None:
    if check.status == Status.FAIL and not d.get("names"):
        rcode = check.evidence[0].rcode if check.evidence else "NXDOMAIN"
        return f"{d['ip']} 没有PTR记录（{rcode}）：Gmail（550 5.7.25）、Postfix、网易和QQ会拒收"
    return None


def _fcrdns(check: CheckResult, d: Any) -> str | None:
    if check.status == Status.SKIP and d.get("ip") and not d.get("names"):
        return f"{d['ip']} 没有可正向确认的PTR名称（见 ptr）"
    return None


_HELO_KEY = "helo"  # not a check id: the key of HeloDetails


def _helo(check: CheckResult, d: Any) -> str | None:
    if check.status == Status.SKIP and not d.get(_HELO_KEY):
        return "不知道HELO名称：请用 --helo 指定（默认取IP的PTR名称）"
    return None


def _spf(check: CheckResult, d: Any) -> str | None:
    mailfrom = d.get("mailfrom") or {}
    if check.status == Status.FAIL and mailfrom.get("result") == "fail":
        domain, ip = mailfrom.get("domain"), d.get("ip")
        return f"MAIL FROM {domain}：SPF {mailfrom.get('result')}（发信IP {ip} 未获授权）"
    return None


def _dnsbl(check: CheckResult, d: Any) -> str | None:
    zones = [z for z in d.get("zones", []) if isinstance(z, dict)]
    listed = [str(z.get("zone")) for z in zones if z.get("status") == "listed"]
    if check.status == Status.FAIL and listed:
        return f"{d.get('ip')} 被 {len(listed)} 个黑名单列入（共查询 {len(zones)} 个）：{'、'.join(listed)}"
    if check.status == Status.PASS and zones:
        return f"{d.get('ip')} 未被列入（查询了 {len(zones)} 个黑名单）"
    return None


_SUMMARIES: dict[str, Callable[[CheckResult, Any], str | None]] = {
    CheckId.PTR: _ptr,
    CheckId.FCRDNS: _fcrdns,
    CheckId.HELO: _helo,
    CheckId.SPF: _spf,
    CheckId.DNSBL: _dnsbl,
}


def summary(check: CheckResult) -> str:
    """The check's summary in Chinese when a sentence here fits its outcome, else its own."""
    make = _SUMMARIES.get(check.id)
    try:
        found = make(check, check.details) if make is not None else None
    except (KeyError, TypeError, AttributeError):  # details of another shape: say what the check said
        found = None
    return found or check.summary
