"""The command line's edges: every bad value or impossible combination is one line on stderr and exit 2,
before anything is sent; the JSON keys are the contract's."""

from __future__ import annotations

import json

import pytest
from servers.dns import DnsServer
from typer.testing import CliRunner

import mxprobe
from mxprobe.cli import app

HEALTHY = ["example.com", "--ip", "192.0.2.20"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ip", "fe80::1%eth0"], "without its zone"),
        (["--ip", "0.0.0.0"], "not a unicast address"),
        (["--ip", "224.0.0.1"], "not a unicast address"),
        (["--ip", "::"], "not a unicast address"),
        (["", "--ip", "192.0.2.20"], "empty name"),
        ([*HEALTHY, "--timeout", "nan"], "--timeout"),
        ([*HEALTHY, "--timeout", "inf"], "--timeout"),
        ([*HEALTHY, "--timeout", "0"], "--timeout"),
        ([*HEALTHY, "--smtp-timeout", "-1"], "--smtp-timeout"),
        ([*HEALTHY, "--rate", "nan"], "--rate"),
        ([*HEALTHY, "--check", "smtp"], "needs a handshake"),
        ([*HEALTHY, "--check", "tls"], "needs a handshake"),
        (["--ip", "192.0.2.20", "--check", "dmarc"], "needs a sending DOMAIN"),
        ([*HEALTHY, "--check", "nope"], "unknown check"),
        ([*HEALTHY, "--tls"], "--tls apply to the SMTP handshake"),
        ([*HEALTHY, "--relay-test", "--auth", "me"], "--auth, --relay-test apply"),
        ([*HEALTHY, "--mx", ""], "invalid --mx"),
        ([*HEALTHY, "--helo", "[2001:db8::1]"], "[IPv6:2001:db8::1]"),
        ([*HEALTHY, "--dqs-key", "abc\n"], "LF"),
        ([*HEALTHY, "--dnsbl", "bad zone"], "--dnsbl"),
        ([*HEALTHY, "--bogus"], "No such option: --bogus"),
        ([*HEALTHY, "--port", "0"], "--port"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_nothing_sent(
    dns_server: DnsServer, args: list[str], fragment: str
) -> None:
    code, out, err = run(*args, "--nameserver", dns_server.address)
    assert code == 2, (out, err)
    assert fragment in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert dns_server.queries == []


def test_an_ipv4_mapped_address_is_checked_as_ipv4(dns_server: DnsServer) -> None:
    code, out, _ = run("--ip", "::ffff:192.0.2.20", "--json", "--nameserver", dns_server.address)
    assert json.loads(out)["target"]["ip"] == "192.0.2.20"
    assert dns_server.count("20.2.0.192.in-addr.arpa", "PTR") >= 1
    assert code in (0, 1, 3)


def test_the_json_keys_are_the_contracts(dns_server: DnsServer) -> None:
    _, out, _ = run(*HEALTHY, "--json", "--nameserver", dns_server.address)
    data = json.loads(out)
    assert set(data) == {"version", "target", "verdict", "checks", "elapsed_ms"}
    assert set(data["target"]) == {"domain", "ip", "ip_source", "helo", "from"}
    assert data["target"]["ip_source"] == "given"


async def test_without_a_sending_ip_the_ip_checks_say_why(dns_server: DnsServer) -> None:
    report = await mxprobe.probe("example.com", nameservers=[dns_server.address], discover_ip=False)
    data = report.to_dict()
    assert data["target"]["ip"] is None and data["target"]["ip_source"] is None
    skipped = {c["id"]: c["summary"] for c in data["checks"] if c["status"] == "skip"}
    assert {"ptr", "fcrdns", "helo", "dnsbl", "spf"} <= set(skipped)
    assert "give --ip" in skipped["ptr"]


def test_bare_mxprobe_shows_the_help() -> None:
    code, _, err = run()
    assert code == 2
    assert "Usage:" in err and "explain" in err


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"only": ["nonexistent"]}, "unknown check"),
        ({"only": "ptr"}, "takes a list"),
        ({"dkim_selectors": "s1"}, "takes a list"),
        ({"to": "a@example.net"}, "take lists"),
        ({"nameservers": "127.0.0.1:53"}, "take lists"),
        ({"timeout": -1}, "--timeout"),
        ({"dnsbl_zones": ["bad zone"]}, "--dnsbl"),
        ({"colour": True}, "unexpected keyword"),
    ],
)
async def test_the_python_api_checks_its_input_like_the_cli(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(mxprobe.InputError, match=fragment):
        await mxprobe.probe("example.com", ip="192.0.2.20", **kwargs)  # type: ignore[arg-type]


async def test_a_run_where_every_check_was_skipped_is_inconclusive(dns_server: DnsServer) -> None:
    report = await mxprobe.probe(
        "example.com", nameservers=[dns_server.address], only=["ptr"], discover_ip=False
    )
    assert [c.status.value for c in report.checks] == ["skip"]
    assert report.verdict == "inconclusive"
    assert int(report.exit_code) == 3
