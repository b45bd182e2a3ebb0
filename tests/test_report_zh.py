"""Issue 12: `LANG=zh_CN.UTF-8 mxprobe DOMAIN --ip IP` prints the report and the plan in Chinese. Every check
line and every plan line is said in Chinese from the checks' details (mxprobe/render/zh.py, zh_fix.py), names,
addresses and records verbatim; a line no template covers keeps the check's English (FALLBACKS lists those
cases, and they stay few). Run as a subprocess on the loopback servers, as a user runs it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from servers.dns import DnsServer
from test_report_plan import cells, mxprobe

from mxprobe.model import CheckResult, Status
from mxprobe.registry import CheckId
from mxprobe.render import zh, zh_fix

IP = "198.51.100.20"  # no PTR, listed on zen.bl.test
DNS_CHECKS = "ptr,fcrdns,helo,spf,spf-record,dmarc,dkim,dnsbl,dbl,mx,mta-sts,tls-rpt,dnssec"
# Domains whose outcomes, between them, take every DNS check through pass, warn, fail and skip.
DOMAINS = [
    "example.com",  # passes: spf-record, dmarc, dkim, mx
    "spammy.example",  # does not exist, listed on the domain list
    "dmarc-none.sender.test",
    "spf-toomany.sender.test",
    "spf-neutral.sender.test",
    "mx-cname.sender.test",
    "mx-null.sender.test",
    "mx-none-a.sender.test",
]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
ENGLISH = re.compile(r"\b[A-Za-z]{2,} [a-z]{2,} [a-z]{2,}\b")  # three words in a row: a sentence
LIST_REASON = re.compile(r"列入了 \S+（[^）]*）")  # the list's own reason (its TXT record), quoted verbatim
MARK = re.compile(r"^ \S (?P<id>[a-z-]+) +")

# (check id, status, English summary, details): the outcomes the Chinese report still says in English: a
# result whose details hold nothing a template could speak from (and no evidence to name a failed lookup).
FALLBACKS: list[tuple[str, Status, str, dict[str, Any]]] = [
    (CheckId.DKIM, Status.ERROR, "k1: no answer (SERVFAIL)", {"domain": "example.com", "keys": []}),
    (CheckId.MX, Status.ERROR, "the address lookups of the MX hosts of example.com failed (mx.example.com)",
     {"domain": "example.com"}),
]  # fmt: skip


def _probe(server: DnsServer, *args: str, columns: int = 80) -> list[str]:
    done = mxprobe(server, *args, "--lang", "zh", columns=columns, lang="zh_CN.UTF-8")
    assert done.returncode in (0, 1, 3), done.stderr
    return done.stdout.splitlines()


def _english(line: str) -> list[str]:
    return ENGLISH.findall(LIST_REASON.sub("", line))


def _plan(lines: list[str]) -> list[str]:
    start = lines.index("怎么办")
    end = next((i for i, line in enumerate(lines) if line.startswith("证据与细节")), len(lines))
    return [line for line in lines[start + 1 : end] if line.strip()]


def _is_record(line: str) -> bool:
    """A record or link line of the plan (indented under its action, published as it is)."""
    return line.startswith(" " * 9) or line.lstrip().startswith(('"', "https://", "http://"))


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_dns_check_line_and_plan_line_is_chinese(dns_server: DnsServer, domain: str) -> None:
    lines = _probe(dns_server, domain, "--ip", IP, "--helo", "mail.example.com", "--dnsbl", "zen.bl.test",
                   "--dnsbl", "domain:list.dbl.test", "--dnsbl-only", "--check", DNS_CHECKS)  # fmt: skip
    assert lines[0].startswith("mxprobe") and any(line.startswith("结论：") for line in lines)
    checks = [line for line in lines if MARK.match(line)]
    assert {m.group("id") for line in checks if (m := MARK.match(line))} == set(DNS_CHECKS.split(","))
    for line in checks:
        assert CJK.search(line) and not _english(line), line
    plan = _plan(lines)
    assert plan
    said = " ".join(line.strip() for line in plan if not _is_record(line))  # wrapped sentences whole
    assert not _english(said), said
    for line in plan:
        if line.lstrip().startswith(("•", "1.", "2.", "3.", "4.", "5.", "6.")):
            assert CJK.search(line), line
    assert all(cells(line) <= 80 for line in lines), [line for line in lines if cells(line) > 80]


def test_the_verbose_blocks_say_summary_and_fix_in_chinese(dns_server: DnsServer) -> None:
    lines = _probe(dns_server, "dmarc-none.sender.test", "--ip", IP, "--check", "spf-record,dmarc,mx", "-v")
    fixes = [line for line in lines if line.lstrip().startswith("修复：")]
    assert fixes and not any(line.lstrip().startswith("fix:") for line in lines)
    heads = [line for line in lines if re.match(r"^\S (dmarc|mx)：", line)]
    assert len(heads) == 2 and all(CJK.search(line.split("：", 1)[1]) for line in heads), heads


def test_the_handshake_lines_are_chinese(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server()
    lines = _probe(dns_server, "example.com", "--ip", IP, "--to", "user@dest.test", "--mx",
                   f"127.0.0.1:{server.port}", "--check", "smtp,tls,dane")  # fmt: skip
    checks = [line for line in lines if MARK.match(line)]
    assert {m.group("id") for line in checks if (m := MARK.match(line))} == {"smtp", "tls", "dane"}
    for line in checks:
        assert CJK.search(line) and not _english(line), line
    said = " ".join(line.strip() for line in _plan(lines) if not _is_record(line))
    assert "STARTTLS" in said and CJK.search(said) and not _english(said), said


@pytest.mark.parametrize(("check_id", "status", "summary", "details"), FALLBACKS)
def test_the_fallbacks_are_the_listed_few(
    check_id: str, status: Status, summary: str, details: dict[str, Any]
) -> None:
    """A case no template covers shows the check's own summary: these are all known, and few."""
    check = CheckResult(check_id, status, summary, details)
    assert zh.translated(check) is None and zh.summary(check) == summary
    assert len(FALLBACKS) <= 5


def test_a_fix_with_a_sentence_no_template_covers_stays_whole_in_english() -> None:
    fix = 'Publish `example.com. TXT "v=spf1 -all"` listing every host that sends as example.com. Call Bob.'
    assert zh_fix.translated(CheckId.SPF_RECORD, fix) is None
    check = CheckResult(CheckId.SPF_RECORD, Status.WARN, "x", {}, [], fix)
    assert zh_fix.fix(check) == fix  # never half-translated advice
    whole = CheckResult(CheckId.SPF_RECORD, Status.WARN, "x", {}, [], fix.rsplit(" Call", 1)[0])
    assert (
        zh_fix.fix(whole) == '发布 `example.com. TXT "v=spf1 -all"`，列出所有以 example.com 名义发信的主机。'
    )


def test_the_log_summary_names_statuses_and_causes_in_chinese(tmp_path: Any) -> None:
    from pathlib import Path

    from clirun import run_cli

    log = Path(__file__).parent / "data" / "logs" / "postfix.log"
    out = run_cli("explain", "--summary", "--file", str(log), "--lang", "zh").stdout
    assert "已投递 1（12.5%）  延迟 3（37.5%）  退信 2（25.0%）" in out and "灰名单" in out
    for word in ("delivered", "bounced", "greylist", "blocklist"):  # a quoted reply may say "deferred"
        assert word not in out


def test_the_delivered_message_report_is_chinese() -> None:
    from pathlib import Path

    from clirun import run_cli

    message = Path(__file__).parent / "data" / "messages" / "outlook.eml"
    out = run_cli("explain", "--file", str(message), "--lang", "zh").stdout
    for heading in ("投递路径（从最早的一跳开始）", "身份验证（可信的 authserv-id：", "垃圾邮件判定", "方法"):
        assert heading in out, out
    for english in ("Path (oldest first)", "Spam verdict", "not checked", "note:", "add --check"):
        assert english not in out, out


def test_the_message_words_have_the_same_keys_in_both_languages() -> None:
    from mxprobe.message.words import TABLES

    assert set(TABLES["en"]) == set(TABLES["zh"])
    for key, text in TABLES["zh"].items():
        assert not re.search(r"[(),;]|: ", text), (key, text)  # full-width punctuation only


def test_markdown_and_html_say_the_check_lines_in_chinese(dns_server: DnsServer) -> None:
    for fmt in ("md", "html"):
        args = (
            "mx-null.sender.test",
            "--ip",
            IP,
            "--check",
            "mx,spf-record",
            "--format",
            fmt,
            "--lang",
            "zh",
        )
        done = mxprobe(dns_server, *args, lang="zh_CN.UTF-8")
        assert "发布了空MX（RFC 7505）" in done.stdout and "没有SPF记录" in done.stdout, done.stdout
        assert "publishes a null MX" not in done.stdout
