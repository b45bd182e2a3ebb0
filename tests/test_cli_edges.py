"""The command line's edges: every bad value or impossible combination is one line on stderr and exit 2,
before anything is sent; the JSON keys are the contract's."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

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
        # issue 9 item 6: input edges
        ([*HEALTHY, "--nameserver", "127.0.0.1:²"], "--nameserver"),
        ([*HEALTHY, "--mx", "127.0.0.1:²", "--to", "a@dest.test"], "port must be 1-65535"),
        ([*HEALTHY, "--rate", "1e-320"], "--rate"),
        ([*HEALTHY, "--check", ""], "--check needs check ids"),
        ([*HEALTHY, "--check", " , "], "--check needs check ids"),
        ([*HEALTHY, "--mx", "0.0.0.0", "--to", "a@dest.test"], "not a unicast address"),
        (["xn--zz.test", "--ip", "192.0.2.20"], "not valid punycode"),
        ([*HEALTHY, "--helo", "xn--zz.example"], "not valid punycode"),
        ([*HEALTHY, "--lang", "fr"], "--lang"),
        ([*HEALTHY, "--format", "pdf"], "--format"),
        (["codez"], "did you mean 'mxprobe codes'"),
        (["help"], "did you mean 'mxprobe --help'"),
        (["exlpain", "550 x"], "did you mean 'mxprobe explain'"),
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
    contract = {"version", "target", "verdict", "checks", "elapsed_ms"}
    assert contract <= set(data) <= contract | {"started_at", "resolver", "settings", "plan"}
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


# ---------------------------------------------------------------------------------- issue 12 item 7, 9


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MXPROBE_", "LC_"))}
    return env | {"LANG": "en_US.UTF-8", "MXPROBE_CONFIG": "", "PYTHONIOENCODING": "utf-8"}


def mxprobe_argv(server: DnsServer, *args: str) -> list[str]:
    return [sys.executable, "-m", "mxprobe", *args, "--nameserver", server.address]


NO_PTR = ["example.com", "--ip", "198.51.100.20", "--check", "ptr"]  # exit 1


def test_version_short_and_long() -> None:
    for flag in ("-V", "--version"):
        code, out, _ = run(flag)
        assert code == 0 and out == f"mxprobe {mxprobe.__version__}\n"


def test_shell_completion_completes_commands_and_flags() -> None:
    env = subprocess_env() | {
        "_MXPROBE_COMPLETE": "complete_bash",
        "COMP_WORDS": "mxprobe co",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mxprobe"], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.split() == ["codes"]
    env |= {"COMP_WORDS": "mxprobe example.com --dqs", "COMP_CWORD": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "mxprobe"], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.split() == ["--dqs-key"]
    argv = [sys.executable, "-m", "mxprobe", "--show-completion", "bash"]
    done = subprocess.run(argv, env=subprocess_env(),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0 and "_mxprobe_completion" in done.stdout


def test_a_full_disk_is_one_line_and_exit_4(dns_server: DnsServer) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(mxprobe_argv(dns_server, *NO_PTR), stdout=full, stderr=subprocess.PIPE,
                              env=subprocess_env(), text=True, check=False, timeout=60)  # fmt: skip
    assert done.returncode == 4
    assert done.stderr == "mxprobe: error: cannot write the report: No space left on device\n"


def test_a_closed_stdout_is_one_line_and_exit_4(dns_server: DnsServer) -> None:
    command = " ".join(shlex.quote(a) for a in mxprobe_argv(dns_server, *NO_PTR)) + " >&-"
    done = subprocess.run(["sh", "-c", command], capture_output=True, env=subprocess_env(), text=True,
                          check=False, timeout=60)  # fmt: skip
    assert done.returncode == 4
    assert done.stderr == "mxprobe: error: cannot write the report: standard output is closed\n"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_closed_pipe_ends_quietly_with_the_runs_own_exit_code(dns_server: DnsServer, fmt: str) -> None:
    proc = subprocess.Popen(mxprobe_argv(dns_server, *NO_PTR, "--format", fmt), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=subprocess_env())  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| head -0`: the reader is gone before the report is written
    assert proc.wait(timeout=60) == 1
    with proc.stderr:
        assert proc.stderr.read() == b""


@pytest.mark.parametrize(("encoding", "lang"), [("ascii", "en"), ("latin-1", "zh"), ("ascii", "zh")])
def test_a_terminal_encoding_without_the_symbols_gets_ascii(
    dns_server: DnsServer, encoding: str, lang: str
) -> None:
    env = subprocess_env() | {"PYTHONIOENCODING": encoding}
    done = subprocess.run(mxprobe_argv(dns_server, *NO_PTR, "--lang", lang), capture_output=True, env=env,
                          check=False, timeout=60)  # fmt: skip
    assert done.returncode == 1 and done.stderr == b""
    out = done.stdout.decode(encoding)
    assert " x ptr" in out and "✖" not in out
    assert "20.100.51.198.in-addr.arpa. PTR mail.example.com." in out


@pytest.mark.parametrize(
    "args",
    [["explain", "550 5.1.1 user unknown"], ["codes"], ["schema"], ["--help"], ["probe", "--help"], ["-V"]],
)
def test_every_command_reports_a_full_disk_in_one_line(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "mxprobe", *args], stdout=full, stderr=subprocess.PIPE,
                              env=subprocess_env(), text=True, check=False, timeout=60)  # fmt: skip
    assert done.returncode == 4
    assert done.stderr == "mxprobe: error: cannot write the report: No space left on device\n"


def test_explain_into_a_closed_pipe_keeps_its_exit_code() -> None:
    replies = "550 5.1.1 user unknown\n" * 3000  # more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "mxprobe", "explain", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env())  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stdin.write(replies.encode())
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    with proc.stderr:
        assert proc.stderr.read() == b""
