"""Issue 12: the report a person acts on. The typical failing probe (no PTR, SPF fail, one listing) fits in
40 lines at 80 columns with no token split, its plan names the parties and the exact records, `-v` brings
the evidence back, and the same holds at 200 columns and in Chinese. Run as a subprocess, as a user runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from typing import Any

import pytest
from servers.dns import DnsServer

LISTED_IP = "198.51.100.20"  # no PTR, listed on zen.bl.test, not in example.com's SPF
TYPICAL = ["example.com", "--ip", LISTED_IP, "--dnsbl", "zen.bl.test", "--dnsbl-only",
           "--check", "ptr,fcrdns,helo,spf,spf-record,dmarc,mx,dnsbl"]  # fmt: skip
PTR_RECORD = "20.100.51.198.in-addr.arpa. PTR mail.example.com."


def cells(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in line)


def mxprobe(
    server: DnsServer, *args: str, columns: int = 80, lang: str = "en_US.UTF-8", **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MXPROBE_", "LC_"))}
    environ |= {
        "COLUMNS": str(columns),
        "LANG": lang,
        "MXPROBE_CONFIG": "",
        "PYTHONIOENCODING": "utf-8",
        **env,
    }
    argv = [sys.executable, "-m", "mxprobe", *args, "--nameserver", server.address]
    return subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=60, check=False)


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("lang", ["en_US.UTF-8", "zh_CN.UTF-8"])
def test_the_typical_failing_probe_fits_and_acts(dns_server: DnsServer, columns: int, lang: str) -> None:
    done = mxprobe(dns_server, *TYPICAL, columns=columns, lang=lang)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) <= 40, done.stdout
    assert all(cells(line) <= columns for line in lines), [line for line in lines if cells(line) > columns]
    assert f"    {PTR_RECORD}" in done.stdout  # whole, on its own line
    assert f"mail.example.com. A {LISTED_IP}" in done.stdout
    assert 'example.com. TXT ( "v=spf1 ip4:198.51.100.20 ' in done.stdout or (
        f'example.com. TXT "v=spf1 ip4:{LISTED_IP} ip4:192.0.2.20 ip6:2001:db8:2::10 mx -all"' in done.stdout
    )
    assert "hostmaster@infra.test" in done.stdout  # the reverse zone's SOA names the IP's operator
    for placeholder in ("YOUR_", "<your-domain>", "RECIPIENT"):
        assert placeholder not in done.stdout
    assert "evidence" not in done.stdout.lower() or "-v" in done.stdout
    if lang.startswith("zh"):
        assert "怎么办" in done.stdout and "结论" in done.stdout and "的所有者" in done.stdout
    else:
        assert "What to do" in done.stdout and "verdict: FAIL" in done.stdout
        order = [done.stdout.index(x) for x in ("Blocklist zen.bl.test", f"The owner of {LISTED_IP}")]
        assert order == sorted(order)  # a listing refuses at the connection: it comes first


def test_verbose_restores_the_evidence(dns_server: DnsServer) -> None:
    done = mxprobe(dns_server, *TYPICAL, "-v")
    assert "evidence: 20.100.51.198.in-addr.arpa PTR → NXDOMAIN" in done.stdout
    assert "evidence: 20.100.51.198.zen.bl.test A → 127.0.0.2, 127.0.0.4" in done.stdout
    assert all(cells(line) <= 80 or " " not in line.strip() for line in done.stdout.splitlines())


def test_quiet_prints_only_the_verdict(dns_server: DnsServer) -> None:
    done = mxprobe(dns_server, *TYPICAL, "-q")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [done.stdout.strip()] and done.stdout.startswith("verdict: FAIL  (")


def test_lang_flag_and_env(dns_server: DnsServer) -> None:
    assert "怎么办" in mxprobe(dns_server, *TYPICAL, "--lang", "zh").stdout
    assert "怎么办" in mxprobe(dns_server, *TYPICAL, MXPROBE_LANG="zh").stdout
    assert "What to do" in mxprobe(dns_server, *TYPICAL, "--lang", "en", lang="zh_CN.UTF-8").stdout
    bad = mxprobe(dns_server, *TYPICAL, "--lang", "fr")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--lang" in bad.stderr


def test_dmarc_without_rua_speaks_of_adding_aggregate_reports(dns_server: DnsServer) -> None:
    """Issue 12 item 8: p=none and no rua: there are no reports to read yet, the fix adds them."""
    done = mxprobe(dns_server, "smtp.test", "--check", "dmarc", "--format", "json")
    [check] = json.loads(done.stdout)["checks"]
    assert check["status"] == "warn"
    assert "no aggregate reports (no rua)" in check["fix"]
    assert '`_dmarc.smtp.test. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@smtp.test"`' in check["fix"]
    plan = mxprobe(dns_server, "smtp.test", "--check", "dmarc", columns=200).stdout
    assert '_dmarc.smtp.test. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@smtp.test"' in plan


def test_a_user_who_gave_nameserver_is_not_told_to_give_nameserver(dns_server: DnsServer) -> None:
    """Issue 12 item 8: every list refuses or is silent through the test resolver; the plan names it."""
    done = mxprobe(dns_server, "--ip", "192.0.2.20", "--check", "dnsbl")
    assert done.returncode == 3
    plan = done.stdout.split("What to do", 1)[1]
    assert f"Your resolver ({dns_server.address})" in " ".join(plan.split())
    assert "run mxprobe with --nameserver" not in plan


def test_both_languages_have_every_sentence() -> None:
    from mxprobe.words import TABLES

    assert set(TABLES["en"]) == set(TABLES["zh"])
    for key, text in TABLES["zh"].items():  # Chinese punctuation is full-width (the facts filled in aside)
        assert not re.search(r"[,;:()]", re.sub(r"\{[^}]*\}", "", text)), key


def test_chinese_check_lines_come_from_the_facts(dns_server: DnsServer) -> None:
    done = mxprobe(dns_server, *TYPICAL, lang="zh_CN.UTF-8")
    assert f"{LISTED_IP} 没有PTR记录（NXDOMAIN）" in done.stdout
    assert f"{LISTED_IP} 被 1 个黑名单列入" in done.stdout
    assert "结论：失败（" in done.stdout
    assert f"在 example.com 的SPF记录中授权 {LISTED_IP}：" in done.stdout


def test_a_refusal_proved_by_a_check_is_planned_once_and_the_receivers_part_is_theirs(
    dns_server: DnsServer, smtp_server: Any
) -> None:
    from clirun import run_cli
    from servers.smtp import postfix_like

    server = smtp_server(postfix_like(reject="reverse_hostname"))
    args = ["smtp.test", "--ip", "127.0.0.10", "--to", "user@dest.test", "--mx", f"127.0.0.1:{server.port}"]
    result = run_cli(*args, "--check", "ptr", "--nameserver", dns_server.address, env={"COLUMNS": "80"})
    out = result.stdout
    plan = out.split("What to do", 1)[1]
    assert "PTR mail.smtp.test." in plan and "You (your mail server" not in plan  # the 450 is the PTR's
    assert "The receiver 127.0.0.1" in plan and "postmaster@dest.test" in plan  # no STARTTLS: theirs
    transcript = out.split("SMTP handshake with", 1)[1].split("What to do", 1)[0]
    assert "  S: 250 2.1.0 Ok  (" in transcript  # the server's text as sent, spacing included
    assert all(cells(line) <= 80 for line in out.splitlines())


async def _mail_twice(cmd: Any) -> None:
    await cmd.session.send("250 2.1.0 Ok\n250 2.1.0 Ok")  # one stale extra reply: the server's protocol fault


@pytest.mark.parametrize("fault", ["protocol", "starttls-454", "no-starttls"])
def test_the_receivers_handshake_faults_are_planned_for_the_receiver(
    dns_server: DnsServer, smtp_server: Any, fault: str
) -> None:
    """A server that breaks SMTP, refuses STARTTLS with 454 or offers none: only its postmaster can act."""
    from clirun import run_cli
    from servers.smtp import ScriptedSmtpServer

    scripts: dict[str, dict[str, Any]] = {
        "protocol": {"mail": _mail_twice},
        "starttls-454": {"offer_starttls": True},  # no TLS context: "454 4.7.0 TLS not available ..."
        "no-starttls": {},
    }
    server = smtp_server(ScriptedSmtpServer(**scripts[fault]))
    args = ["smtp.test", "--ip", "127.0.0.10", "--to", "user@dest.test", "--mx", f"127.0.0.1:{server.port}"]
    result = run_cli(*args, "--check", "ptr", "--nameserver", dns_server.address, "--format", "json")
    plan = json.loads(result.stdout)["plan"]
    handshake = {a["check"]: g["actor"] for g in plan for a in g["actions"] if a["check"] in ("smtp", "tls")}
    assert handshake and set(handshake.values()) == {"receiver"}, plan
