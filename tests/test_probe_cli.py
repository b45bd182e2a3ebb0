"""`mxprobe DOMAIN` end to end through the CLI: JSON schema, exit codes, --strict, bad input, broken DNS.

The DNS checks are selected with --check (the blocklist and DKIM checks have their own tests); the IP is
always given, since finding it would leave loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from dnschecks import HEALTHY_IP
from servers.dns import DnsServer
from typer.testing import CliRunner

from mxprobe.cli import app

DNS_CHECKS = ["ptr", "fcrdns", "helo", "spf", "spf-record", "dmarc", "mx"]
TOP_KEYS = {"version", "target", "verdict", "checks", "elapsed_ms"}
OPTIONAL_TOP_KEYS = {"notes", "smtp"}
RUN_KEYS = {"started_at", "resolver", "settings", "plan"}  # added by the CLI (issue 12): additive
CHECK_KEYS = {"id", "status", "summary", "details", "evidence", "fix", "elapsed_ms"}


def invoke(server: DnsServer, *args: str, checks: list[str] = DNS_CHECKS) -> Any:
    argv = [*args, "--nameserver", server.address]
    for check in checks:
        argv += ["--check", check]
    return CliRunner().invoke(app, argv)


def as_json(server: DnsServer, *args: str, checks: list[str] = DNS_CHECKS) -> tuple[int, dict[str, Any]]:
    result = invoke(server, *args, "--json", checks=checks)
    return result.exit_code, json.loads(result.stdout)


def test_a_healthy_sender_passes_every_dns_check_with_exit_0(dns_server: DnsServer) -> None:
    code, data = as_json(dns_server, "example.com", "--ip", HEALTHY_IP)
    assert code == 0
    assert data["verdict"] == "pass"
    assert [(c["id"], c["status"]) for c in data["checks"]] == [(c, "pass") for c in DNS_CHECKS]


def test_the_json_schema(dns_server: DnsServer) -> None:
    _, data = as_json(dns_server, "example.com", "--ip", HEALTHY_IP)
    assert TOP_KEYS | RUN_KEYS <= set(data) <= TOP_KEYS | OPTIONAL_TOP_KEYS | RUN_KEYS
    assert data["target"] == {
        "domain": "example.com",
        "ip": HEALTHY_IP,
        "ip_source": "given",
        "helo": "mail.example.com",
        "from": "postmaster@example.com",
    }
    assert isinstance(data["version"], str) and isinstance(data["elapsed_ms"], float | int)
    for check in data["checks"]:
        assert set(check) == CHECK_KEYS
        assert isinstance(check["details"], dict) and isinstance(check["fix"], str)
        for item in check["evidence"]:
            assert {"query", "answer", "rcode"} <= set(item) <= {"query", "answer", "rcode", "note"}
    ptr = next(c for c in data["checks"] if c["id"] == "ptr")
    assert ptr["evidence"] == [
        {"query": "20.2.0.192.in-addr.arpa PTR", "answer": ["mail.example.com."], "rcode": "NOERROR"}
    ]


def test_the_text_report(dns_server: DnsServer) -> None:
    result = invoke(dns_server, "mx-null.sender.test", "--ip", HEALTHY_IP, checks=["mx", "ptr"])
    assert result.exit_code == 1
    out = result.stdout
    assert "\x1b[" not in out  # no colour when not on a terminal
    assert "✖ mx" in out and "✔ ptr" in out
    assert "What to do" in out and "The DNS host of mx-null.sender.test" in out
    assert "\n         mx-null.sender.test. MX 0 .\n" in out  # the record alone on its line, exactly
    assert "evidence:" not in out  # evidence is for -v
    assert "verdict: FAIL" in out
    verbose = invoke(dns_server, "mx-null.sender.test", "--ip", HEALTHY_IP, "-v", checks=["mx", "ptr"]).stdout
    assert "fix: Remove `mx-null.sender.test. MX 0 .`" in verbose
    assert "evidence: mx-null.sender.test MX → 0 ." in verbose


@pytest.mark.parametrize(
    ("args", "checks", "code", "verdict"),
    [
        (["mx-null.sender.test"], ["mx"], 1, "fail"),
        (["dmarc-none.sender.test"], ["dmarc"], 0, "warn"),
        (["dmarc-none.sender.test", "--strict"], ["dmarc"], 1, "fail"),
        (["example.com", "--strict"], ["dmarc"], 0, "pass"),
    ],
)
def test_exit_codes(
    dns_server: DnsServer, args: list[str], checks: list[str], code: int, verdict: str
) -> None:
    exit_code, data = as_json(dns_server, *args, "--ip", HEALTHY_IP, checks=checks)
    assert (exit_code, data["verdict"]) == (code, verdict)


def test_a_failed_lookup_makes_the_run_inconclusive_with_exit_3(dns_server: DnsServer) -> None:
    dns_server.set_fault("_dmarc.example.com.", "servfail")
    code, data = as_json(dns_server, "example.com", "--ip", HEALTHY_IP)
    assert (code, data["verdict"]) == (3, "inconclusive")
    assert {c["id"]: c["status"] for c in data["checks"]}["dmarc"] == "error"


def test_a_fail_wins_over_an_error(dns_server: DnsServer) -> None:
    dns_server.set_fault("_dmarc.mx-null.sender.test.", "servfail")
    code, data = as_json(dns_server, "mx-null.sender.test", "--ip", HEALTHY_IP, checks=["mx", "dmarc"])
    assert (code, data["verdict"]) == (1, "fail")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["exa mple.com"], "white space"),
        (["example..com"], "empty label"),
        (["a" * 64 + ".example"], "longer than 63"),
        ([".".join(["a" * 60] * 5)], "longer than 253"),
        (["example.com\r\nRCPT TO:<victim@example.net>"], "CR"),
        (["example.com\nX"], "LF"),
        (["example.com\x00"], "NUL"),
        (["192.0.2.20"], "IP address, not a name"),
        (["[192.0.2.20]"], "IP address, not a name"),
        (["exa$mple.com"], "invalid characters"),
        (["example.com", "--ip", "192.0.2.300"], "not an IPv4 or IPv6 address"),
        (["example.com", "--ip", "mail.example.com"], "not an IPv4 or IPv6 address"),
        (["example.com", "--helo", "bad..helo"], "empty label"),
        (["example.com", "--helo", "mail.example.com\r\nQUIT"], "CR"),
        (["example.com", "--from", "no-at-sign"], "MAIL FROM"),
        (["example.com", "--nameserver", "dns.example.net"], "--nameserver"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_is_sent(
    dns_server: DnsServer, args: list[str], message: str
) -> None:
    if "--ip" not in args:
        args = [*args, "--ip", HEALTHY_IP]
    result = invoke(dns_server, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("mxprobe: error: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert dns_server.queries == []


def test_an_idn_domain_is_asked_in_punycode(dns_server: DnsServer) -> None:
    code, data = as_json(dns_server, "bücher.sender.test", "--ip", HEALTHY_IP, checks=["mx"])
    assert data["target"]["domain"] == "xn--bcher-kva.sender.test"
    assert dns_server.count("xn--bcher-kva.sender.test", "MX") == 1
    assert (code, data["checks"][0]["status"]) == (1, "fail")  # NXDOMAIN: the name is not in the zone


@pytest.mark.parametrize("domain", ["example.com.", "EXAMPLE.com", " example.com "])
def test_trailing_dot_and_case_are_normalised(dns_server: DnsServer, domain: str) -> None:
    code, data = as_json(dns_server, domain, "--ip", HEALTHY_IP, checks=["mx"])
    assert data["target"]["domain"] == "example.com"
    assert code == 0


def test_a_server_that_drops_everything_ends_by_the_deadline_with_exit_3(
    make_dns_server: Callable[..., DnsServer],
) -> None:
    server = make_dns_server(faults={"*.": "drop"})
    started = time.monotonic()
    code, data = as_json(server, "example.com", "--ip", HEALTHY_IP, "--timeout", "2")
    elapsed = time.monotonic() - started
    assert elapsed < 3.5, f"the run outlived its 2 s deadline by {elapsed - 2:.1f} s"
    assert (code, data["verdict"]) == (3, "inconclusive")
    statuses = {c["id"]: c["status"] for c in data["checks"]}
    assert statuses["ptr"] == "error" and statuses["spf-record"] == "error" and statuses["dmarc"] == "error"
    assert "fail" not in statuses.values() and "pass" not in statuses.values()
    assert server.count() > 0


@pytest.mark.parametrize("fault", ["servfail", "refused"])
def test_a_server_that_fails_every_query_gives_exit_3(
    make_dns_server: Callable[..., DnsServer], fault: str
) -> None:
    server = make_dns_server(faults={"*.": fault})
    code, data = as_json(server, "example.com", "--ip", HEALTHY_IP)
    assert (code, data["verdict"]) == (3, "inconclusive")
    ptr = next(c for c in data["checks"] if c["id"] == "ptr")
    assert ptr["status"] == "error" and ptr["evidence"][0]["rcode"] == fault.upper()
    assert {c["status"] for c in data["checks"]} <= {"error", "skip"}


def test_truncated_answers_are_read_over_tcp(dns_server: DnsServer) -> None:
    for name in ("example.com.", "_dmarc.example.com.", "20.2.0.192.in-addr.arpa."):
        dns_server.set_fault(name, "truncate_udp")
    code, data = as_json(dns_server, "example.com", "--ip", HEALTHY_IP)
    assert (code, data["verdict"]) == (0, "pass")
    for name, rdtype in (
        ("example.com", "TXT"),
        ("_dmarc.example.com", "TXT"),
        ("20.2.0.192.in-addr.arpa", "PTR"),
    ):
        assert dns_server.count(name, rdtype, "tcp") == 1


def test_python_m_mxprobe(dns_server: DnsServer) -> None:
    argv = [sys.executable, "-m", "mxprobe", "example.com", "--ip", HEALTHY_IP, "--json"]
    argv += ["--nameserver", dns_server.address, "--check", "ptr", "--check", "spf"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [(c["id"], c["status"]) for c in data["checks"]] == [("ptr", "pass"), ("spf", "pass")]
    assert dns_server.count("example.com", "TXT") == 1


def test_a_password_not_in_utf8_is_refused_in_one_line_before_any_query(
    dns_server: DnsServer, smtp_server: Any
) -> None:
    """MXPROBE_PASSWORD holding bytes of another encoding: exit 2, none of it shown, no DNS query, no SMTP."""
    import os

    server = smtp_server()
    env = {k: v for k, v in os.environb.items() if not k.startswith(b"MXPROBE_")}
    env |= {b"MXPROBE_CONFIG": b"", b"LANG": b"en_US.UTF-8", b"MXPROBE_PASSWORD": b"Geheim\xe4Wort"}
    mx = f"127.0.0.1:{server.port}"
    argv = [sys.executable, "-m", "mxprobe", "example.com", "--ip", HEALTHY_IP, "--auth", "user", "--to",
            "user@dest.test", "--mx", mx, "--nameserver", dns_server.address]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2 and done.stdout == b"", stderr
    assert stderr.startswith("mxprobe: error: ") and stderr.count("\n") == 1 and "UTF-8" in stderr
    assert b"Geheim" not in done.stderr and b"Wort" not in done.stderr
    assert dns_server.queries == [] and server.received == b""
