"""`mxprobe explain --check`: the checks a reply's cause points to, run on the IP and domain the reply or the
bounce names, against the loopback DNS server (tests/zones/: 192.0.2.11 has no PTR, 192.0.2.20 is healthy,
bounce.test's SPF allows only 192.0.2.20). The exit code says whether the cause is confirmed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from servers.dns import DnsServer
from typer.testing import CliRunner

from mxprobe.cli import app
from mxprobe.service import explain_check

BOUNCES = Path(__file__).parent / "data" / "bounces"
KEYS = ["input", "code", "enhanced", "tag", "class", "phase", "meaning", "cause", "checks", "advice", "entry",
        "specific"]  # fmt: skip
CHECK_KEYS = ["id", "status", "summary", "details", "evidence", "fix", "elapsed_ms"]
ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}
NO_PTR_IP = "192.0.2.11"


@pytest.fixture(autouse=True)
def _no_public_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding this host's public IP would leave loopback: here the host has none, unless a test says."""

    async def nothing(deadline: object) -> None:
        return None

    monkeypatch.setattr("mxprobe.sourceip.discover", nothing)


def run(server: DnsServer, *args: str, input: bytes | str | None = None) -> Any:
    flags = ["--check", "--nameserver", server.address, "--timeout", "5"]
    return CliRunner().invoke(app, ["explain", *args, *flags], input=input, env=ENGLISH)


def json_lines(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def checks(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in obj["check"]}


def test_postfix_dsn_for_a_no_rdns_deferral_shows_the_ptr_evidence(dns_server: DnsServer) -> None:
    """The acceptance of issue 5: cause ptr for the recipient, and the PTR evidence of the IP it names."""
    result = run(dns_server, "--file", str(BOUNCES / "postfix-421-no-rdns.eml"), "--json")
    assert result.exit_code == 1, result.output
    [obj] = json_lines(result)
    assert list(obj) == [*KEYS, "bounce", "check"]
    assert obj["bounce"]["recipient"] == "bob@dest.test" and obj["cause"] == "ptr"
    found = checks(obj)
    assert list(found) == ["ptr", "fcrdns"]
    ptr = found["ptr"]
    assert list(ptr) == CHECK_KEYS and ptr["status"] == "fail"
    assert ptr["evidence"] == [{"query": "11.2.0.192.in-addr.arpa PTR", "answer": [], "rcode": "NXDOMAIN"}]
    assert dns_server.count("11.2.0.192.in-addr.arpa.", "PTR") >= 1


def test_the_human_output_shows_the_evidence_under_the_explanation(dns_server: DnsServer) -> None:
    result = run(dns_server, "--file", str(BOUNCES / "postfix-421-no-rdns.eml"))
    assert result.exit_code == 1
    text = result.stdout
    block, _, checked = text.partition("  checked    ptr, fcrdns\n")
    assert "  cause      ptr" in block and "recipient  bob@dest.test" in block
    assert checked.startswith(f"✖ ptr: {NO_PTR_IP} has no PTR record (NXDOMAIN)")
    assert "    evidence: 11.2.0.192.in-addr.arpa PTR → NXDOMAIN" in checked
    assert "\x1b[" not in text


def test_a_reply_naming_a_healthy_ip_is_not_confirmed(dns_server: DnsServer) -> None:
    result = run(dns_server, "421 Refused. You have no reverse DNS entry [192.0.2.20]", "--json")
    assert result.exit_code == 0, result.output
    [obj] = json_lines(result)
    assert {k: v["status"] for k, v in checks(obj).items()} == {"ptr": "pass", "fcrdns": "pass"}


def test_an_ip_in_words_is_found(dns_server: DnsServer) -> None:
    result = run(
        dns_server, f"550 5.7.25 rejected: no PTR record for mail from your IP {NO_PTR_IP}", "--json"
    )
    assert result.exit_code == 1
    assert checks(json_lines(result)[0])["ptr"]["status"] == "fail"


def test_a_reply_that_names_no_ip_could_not_be_checked(dns_server: DnsServer) -> None:
    result = run(dns_server, "421 Refused. You have no reverse DNS entry", "--json")
    assert result.exit_code == 3
    [obj] = json_lines(result)
    assert [(c["id"], c["status"]) for c in obj["check"]] == [("ptr", "skip"), ("fcrdns", "skip")]
    assert "no sending IP known" in obj["check"][0]["summary"]
    assert obj["check"][0]["fix"] == "give it with --ip IP"
    assert dns_server.queries == []


def test_a_cause_no_dns_check_proves_runs_nothing(dns_server: DnsServer) -> None:
    result = run(dns_server, "550 5.1.1 <bob@dest.test>: Recipient address rejected: User unknown", "--json")
    assert result.exit_code == 0
    [obj] = json_lines(result)
    assert obj["cause"] == "recipient" and obj["check"] == []
    human = run(dns_server, "550 5.1.1 <bob@dest.test>: Recipient address rejected: User unknown")
    assert "  checked  nothing: no DNS check proves this cause" in human.stdout
    assert dns_server.queries == []


def test_the_bounce_sender_domain_and_the_named_ip_are_checked_together(dns_server: DnsServer) -> None:
    """Gmail's 5.7.26 in a pasted Postfix bounce names the IP and [bounce.test]: SPF fails for that IP."""
    result = run(dns_server, "--file", str(BOUNCES / "postfix-text-paste.txt"), "--json")
    assert result.exit_code == 1, result.output
    [obj] = json_lines(result)
    found = checks(obj)
    assert obj["cause"] == "dmarc"
    assert (found["spf"]["status"], found["dmarc"]["status"]) == ("fail", "pass")
    assert "203.0.113.77" in json.dumps(found["spf"])
    assert dns_server.count("_dmarc.bounce.test.", "TXT") >= 1


def test_each_target_is_checked_once(dns_server: DnsServer) -> None:
    replies = "\n".join(
        [
            f"450 4.7.1 Client host rejected: cannot find your reverse hostname, [{NO_PTR_IP}]",
            f"421 4.7.25 Client host rejected: cannot find your hostname, [{NO_PTR_IP}]",
            "421 Refused. You have no reverse DNS entry [192.0.2.20]",
        ]
    )
    result = run(dns_server, "-", "--json", input=replies)
    assert result.exit_code == 1
    objects = json_lines(result)
    assert [checks(o)["ptr"]["status"] for o in objects] == ["fail", "fail", "pass"]
    assert dns_server.count("11.2.0.192.in-addr.arpa.", "PTR") == 1


def test_targets_are_capped(dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_check, "MAX_TARGETS", 1)
    replies = "421 Refused. You have no reverse DNS entry [192.0.2.20]\n" * 2 + (
        f"421 Refused. You have no reverse DNS entry [{NO_PTR_IP}]\n"
    )
    result = run(dns_server, "-", "--json", input=replies)
    assert result.exit_code == 3  # the third reply could not be checked
    assert [len(o["check"]) for o in json_lines(result)] == [2, 2, 0]
    assert "checked the first 1 targets; 1 replies naming others were not checked" in result.stderr


def test_a_server_that_does_not_answer_is_inconclusive(make_dns_server: Any) -> None:
    server = make_dns_server(faults={"*.2.0.192.in-addr.arpa.": "servfail"})
    result = run(server, f"421 Refused. You have no reverse DNS entry [{NO_PTR_IP}]", "--json")
    assert result.exit_code == 3, result.output
    assert checks(json_lines(result)[0])["ptr"]["status"] == "error"


def test_without_check_nothing_is_asked(dns_server: DnsServer) -> None:
    result = CliRunner().invoke(
        app, ["explain", "--file", str(BOUNCES / "postfix-421-no-rdns.eml"), "--json"], env=ENGLISH
    )
    assert result.exit_code == 0
    assert list(json.loads(result.stdout)) == [*KEYS, "bounce"]
    assert dns_server.queries == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["550 x", "--nameserver", "127.0.0.1"], "--nameserver, --timeout, --ip"),
        (["550 x", "--timeout", "3"], "are for --check"),
        (["550 x", "--ip", "192.0.2.1"], "are for --check"),
        (["550 x", "--check", "--nameserver", "ns.example"], "invalid --nameserver"),
        (["550 x", "--check", "--nameserver", "127.0.0.1:²"], "--nameserver"),
        (["550 x", "--check", "--timeout", "0"], "--timeout takes seconds"),
        (["550 x", "--check", "--timeout", "nan"], "--timeout takes seconds"),
        (["550 x", "--check", "--timeout", "inf"], "--timeout takes seconds"),
        (["550 x", "--check", "--timeout", "1e309"], "--timeout takes seconds"),
        (["550 x", "--check", "--ip", "0.0.0.0"], "--ip"),
        (["550 x", "--check", "--helo", "bad name"], "HELO"),
        (["550 x", "--check", "--from", "nobody"], "--from"),
        (["550 x", "--check", "--domain", "xn--zz.test"], "punycode"),
    ],
    ids=[
        "nameserver-alone",
        "timeout-alone",
        "ip-alone",
        "bad-nameserver",
        "unicode-port",
        "zero-timeout",
        "nan-timeout",
        "inf-timeout",
        "huge-timeout",
        "unspecified-ip",
        "bad-helo",
        "bad-from",
        "bad-punycode",
    ],
)
def test_bad_check_flags(args: list[str], fragment: str, dns_server: DnsServer) -> None:
    result = CliRunner().invoke(app, ["explain", *args], env=ENGLISH)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("mxprobe: error: ") and fragment in line
    assert dns_server.queries == []


def test_a_reply_naming_only_a_domain_checks_that_domain_and_never_looks_up_this_host(
    dns_server: DnsServer,
) -> None:
    """A DMARC refusal names the domain, not the IP: dmarc/spf-record run on it, and no "who am I" lookup
    leaves for the internet (the loopback guard would fail the test)."""
    reply = "550 5.7.26 Unauthenticated email from bounce.test is not accepted due to domain's DMARC policy"
    result = run(dns_server, reply, "--json")
    [obj] = json_lines(result)
    assert obj["cause"] == "dmarc"
    found = checks(obj)
    assert "dmarc" in found
    assert found["dmarc"]["details"]["domain"] == "bounce.test"
    assert dns_server.count("_dmarc.bounce.test.", "TXT") >= 1


def test_a_ptr_refusal_checks_the_ip_given_with_ip(dns_server: DnsServer) -> None:
    """Issue 12's acceptance: the pasted reply names no IP, --ip gives it: ptr and fcrdns run for it."""
    result = run(dns_server, "421 Refused. You have no reverse DNS entry", "--ip", NO_PTR_IP, "--json")
    assert result.exit_code == 1, result.output
    [obj] = json_lines(result)
    assert {k: v["status"] for k, v in checks(obj).items()} == {"ptr": "fail", "fcrdns": "skip"}
    assert dns_server.count("11.2.0.192.in-addr.arpa.", "PTR") >= 1


def test_the_domain_given_fills_the_fix(dns_server: DnsServer) -> None:
    """--from names the sending domain: the PTR to ask for is mail.DOMAIN, not a placeholder."""
    args = ["--ip", NO_PTR_IP, "--from", "bounces@example.com", "--json"]
    result = run(dns_server, "421 Refused. You have no reverse DNS entry", *args)
    fix = checks(json_lines(result)[0])["ptr"]["fix"]
    assert "PTR mail.example.com." in fix and "<your-domain>" not in fix


def test_without_a_named_ip_this_hosts_public_ip_is_checked(
    dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def found(deadline: object) -> tuple[str, str]:
        return NO_PTR_IP, "local address"

    monkeypatch.setattr("mxprobe.sourceip.discover", found)
    result = run(dns_server, "421 Refused. You have no reverse DNS entry", "--json")
    assert result.exit_code == 1
    assert checks(json_lines(result)[0])["ptr"]["status"] == "fail"
    assert f"checked this host's public IP {NO_PTR_IP} (found by local address)" in result.stderr


def test_a_helo_refusal_checks_the_helo_it_names_never_the_ptr_name(dns_server: DnsServer) -> None:
    """Issue 9: the HELO check runs on the name the reply quotes; without one it says what to give."""
    named = "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"
    result = run(dns_server, named, "--ip", "192.0.2.20", "--json")
    helo = checks(json_lines(result)[0]).get("helo")
    assert helo is not None and helo["details"].get("helo") == "localhost"
    unnamed = "550 5.7.1 Helo command rejected: Host not found"
    result = run(dns_server, unnamed, "--ip", "192.0.2.20", "--json")
    helo = checks(json_lines(result)[0])["helo"]
    assert helo["status"] == "skip" and helo["fix"] == "give it with --helo NAME"
    assert result.exit_code == 3
