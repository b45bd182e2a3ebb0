"""Sending-IP pools (`mxprobe --ip CIDR`, `--ip-file`): per-IP results, the summary, the rate cap, bad input.

The pool 203.0.113.0/26 is generated here with known states, so every expectation is computed from the same
rules that wrote the zone: no PTR for every 4th address, a PTR that does not point back for i % 8 == 3, and a
listing on the test blocklist for i % 16 == 5.
"""

from __future__ import annotations

import csv
import io
import json
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from servers.dns import DnsServer
from typer.testing import CliRunner

from mxprobe import pool
from mxprobe.cli import app
from mxprobe.dns import parse_nameserver
from mxprobe.options import Options

POOL = "203.0.113.0/26"
BLOCKLIST = "poolbl.test"
HOSTS = range(64)  # every address of the CIDR: the network and broadcast addresses send mail too


def has_ptr(i: int) -> bool:
    return i % 4 != 0


def confirmed(i: int) -> bool:
    return has_ptr(i) and i % 8 != 3


def listed(i: int) -> bool:
    return i % 16 == 5


def pool_zones(size: int = 64) -> dict[str, str]:
    reverse, forward, blocklist = [], [], ["2.0.0.127 A 127.0.0.2"]
    for i in range(size):
        if has_ptr(i):
            reverse.append(f"{i} PTR mta{i}.pool.test.")
            forward.append(f"mta{i} A 203.0.113.{200 if i % 8 == 3 else i}")
        if listed(i):
            blocklist.append(f"{i}.113.0.203 A 127.0.0.2")
            blocklist.append(f'{i}.113.0.203 TXT "203.0.113.{i} listed for the pool test"')
    return {
        "113.0.203.in-addr.arpa.": "\n".join(reverse),
        "pool.test.": "\n".join(forward),
        f"{BLOCKLIST}.": "\n".join(blocklist),
    }


@pytest.fixture
def pool_dns(make_dns_server: Callable[..., DnsServer]) -> DnsServer:
    return make_dns_server(pool_zones())


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def pool_args(server: DnsServer, *extra: str) -> list[str]:
    return ["--nameserver", server.address, "--dnsbl", BLOCKLIST, "--dnsbl-only", "--timeout", "10", *extra]


def test_pool_json_lines_one_object_per_ip_with_the_right_verdicts(pool_dns: DnsServer) -> None:
    code, out, _ = run("--ip", POOL, "--json", *pool_args(pool_dns))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # some addresses fail
    assert len(rows) == len(HOSTS)
    by_ip = {row["target"]["ip"]: {c["id"]: c["status"] for c in row["checks"]} for row in rows}
    assert set(by_ip) == {f"203.0.113.{i}" for i in HOSTS}
    for i in HOSTS:
        checks = by_ip[f"203.0.113.{i}"]
        assert checks["ptr"] == ("pass" if has_ptr(i) else "fail"), i
        if has_ptr(i):
            assert checks["fcrdns"] == ("pass" if confirmed(i) else "fail"), i
        assert checks["dnsbl"] == ("fail" if listed(i) else "pass"), i
    assert {row["target"]["ip_source"] for row in rows} == {"pool"}


def test_pool_summary_counts_and_groups_failures(pool_dns: DnsServer) -> None:
    code, out, _ = run("--ip", POOL, *pool_args(pool_dns))
    assert code == 1
    assert f"{len(HOSTS)} IPs checked" in out
    no_ptr = sum(1 for i in HOSTS if not has_ptr(i))
    assert f"{no_ptr} IPs: 203.0.113." in out  # the no-PTR group, with its addresses
    listed_count = sum(1 for i in HOSTS if listed(i))
    dnsbl_line = next(line for line in out.splitlines() if line.startswith("dnsbl:"))
    assert f"{listed_count} IPs" in dnsbl_line


def test_canaries_are_asked_once_for_the_whole_pool(pool_dns: DnsServer) -> None:
    run("--ip", "203.0.113.0/28", "--json", *pool_args(pool_dns))
    assert pool_dns.count(f"2.0.0.127.{BLOCKLIST}", "A") == 1
    assert pool_dns.count(f"5.113.0.203.{BLOCKLIST}", "A") == 1


def test_rate_cap_is_respected_at_the_server(pool_dns: DnsServer) -> None:
    rate = 10
    started = time.monotonic()
    _, out, _ = run("--ip", "203.0.113.0/29", "--json", "--rate", str(rate), *pool_args(pool_dns))
    elapsed = time.monotonic() - started
    assert len(out.splitlines()) == 8
    stamps = sorted(q.at for q in pool_dns.queries)
    assert len(stamps) > rate  # enough queries to make the cap bite
    # In every one-second window the server saw at most `rate` queries (+1 for the window's edge).
    for first, at in enumerate(stamps):
        window = sum(1 for s in stamps[first:] if s < at + 1.0)
        assert window <= rate + 1
    assert elapsed >= (len(stamps) - 1) / rate * 0.9


def test_ip_file_mixed_families_with_junk_lines_counts_skips(pool_dns: DnsServer, tmp_path: Path) -> None:
    pool_file = tmp_path / "ips.txt"
    pool_file.write_text(
        "# new pool\n203.0.113.1\n\nnot-an-ip\n203.0.113.4/31  # two more\n"
        "2001:db8::1\n999.1.1.1\n\x00\xff\n",
        encoding="utf-8",
    )
    code, out, err = run("--ip-file", str(pool_file), "--json", *pool_args(pool_dns))
    ips = Counter(json.loads(line)["target"]["ip"] for line in out.splitlines())
    assert ips == Counter({"203.0.113.1": 1, "203.0.113.4": 1, "203.0.113.5": 1, "2001:db8::1": 1})
    assert "skipped line 4: 'not-an-ip'" in err
    assert "skipped line 7" in err
    assert "Traceback" not in err
    assert code in (1, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ip", "10.0.0.0/19"], "the limit is 4096"),
        (["--ip", "203.0.113.0/33"], "is not an IP address or CIDR"),
        (["--ip", "203.0.113.0/24\r\nQUIT"], "CR character"),
        (["--ip-file", "/nonexistent/ips.txt"], "cannot read --ip-file"),
        (["--ip", "2001:db8::/100"], "the limit is 4096"),
    ],
)
def test_bad_pool_input_is_one_line_and_exit_2(dns_server: DnsServer, args: list[str], message: str) -> None:
    code, _, err = run(*args, "--nameserver", dns_server.address)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert dns_server.queries == []  # nothing was sent


def test_a_mixed_ipv4_ipv6_file_gives_a_summary_not_a_traceback(
    dns_server: DnsServer, tmp_path: Path
) -> None:
    pool_file = tmp_path / "mixed.txt"
    pool_file.write_text("192.0.2.11\n2001:db8:2::99\n192.0.2.20\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--ip-file", str(pool_file), "--check", "ptr", "--nameserver", dns_server.address]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "3 IPs checked" in result.stdout
    no_ptr = next(line for line in result.stdout.splitlines() if line.startswith("ptr:"))
    assert no_ptr.endswith("192.0.2.11, 2001:db8:2::99")  # IPv4 first, then IPv6


def test_several_ip_options_make_a_pool(pool_dns: DnsServer) -> None:
    code, out, _ = run("--ip", "203.0.113.1", "--ip", "203.0.113.2", "--json", *pool_args(pool_dns))
    assert sorted(json.loads(line)["target"]["ip"] for line in out.splitlines()) == [
        "203.0.113.1",
        "203.0.113.2",
    ]
    assert code in (0, 1)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--to", "a@dest.test"], "--to do not apply to a pool"),
        (["--helo", "mail.example.com"], "--helo do not apply to a pool"),
        (["example.com"], "DOMAIN do not apply to a pool"),
        (["--check", "dkim"], "--check dkim needs a sending DOMAIN"),
    ],
)
def test_options_that_do_not_apply_to_a_pool_are_refused(
    dns_server: DnsServer, extra: list[str], fragment: str
) -> None:
    code, _, err = run("--ip", "203.0.113.0/30", *extra, "--nameserver", dns_server.address)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1, err
    assert dns_server.queries == []


def test_a_low_rate_cap_slows_the_pool_but_times_nothing_out(pool_dns: DnsServer) -> None:
    """Each IP's deadline covers its queries at the capped rate: waiting in the queue is not a timeout."""
    args = ["--nameserver", pool_dns.address, "--dnsbl", BLOCKLIST, "--dnsbl-only", "--timeout", "2"]
    _, out, _ = run("--ip", "203.0.113.4/30", "--json", "--rate", "5", *args)
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4
    assert all(c["status"] != "error" for row in rows for c in row["checks"]), rows


# -- every address, in input order ---------------------------------------------------------------------------


def test_a_cidr_covers_every_address_network_and_broadcast_included(pool_dns: DnsServer) -> None:
    code, out, _ = run("--ip", "203.0.113.8/29", "--json", *pool_args(pool_dns))
    assert [json.loads(line)["target"]["ip"] for line in out.splitlines()] == [
        f"203.0.113.{i}" for i in range(8, 16)
    ]
    assert code in (0, 1)


def test_json_lines_keep_the_input_order_when_early_answers_are_slow(
    make_dns_server: Callable[..., DnsServer], tmp_path: Path
) -> None:
    """The first addresses answer last (their PTR is slowed down): the output is still in input order."""
    slow = {f"{i}.113.0.203.in-addr.arpa.": 0.6 - 0.1 * i for i in range(1, 5)}
    server = make_dns_server(pool_zones(), delays=slow)
    order = [1, 2, 3, 4, 9, 7, 6, 2001, 10]
    pool_file = tmp_path / "ips.txt"
    pool_file.write_text(
        "\n".join("2001:db8::1" if i == 2001 else f"203.0.113.{i}" for i in order), encoding="utf-8"
    )
    _, out, _ = run("--ip-file", str(pool_file), "--json", *pool_args(server))
    seen = [json.loads(line)["target"]["ip"] for line in out.splitlines()]
    assert seen == ["2001:db8::1" if i == 2001 else f"203.0.113.{i}" for i in order]


def test_csv_one_row_per_ip_in_input_order(pool_dns: DnsServer) -> None:
    code, out, _ = run("--ip", "203.0.113.0/28", "--format", "csv", *pool_args(pool_dns))
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["ip", "ptr", "fcrdns", "helo", "listed-on", "verdict"]
    assert [r[0] for r in rows[1:]] == [f"203.0.113.{i}" for i in range(16)]
    by_ip = {r[0]: r for r in rows[1:]}
    assert by_ip["203.0.113.5"][1:] == ["mta5.pool.test", "pass", by_ip["203.0.113.5"][3], BLOCKLIST, "fail"]
    assert by_ip["203.0.113.4"][1] == ""  # no PTR
    assert by_ip["203.0.113.3"][2] == "fail"  # the PTR does not point back
    assert code == 1


def test_csv_cells_from_dns_cannot_become_formulas(make_dns_server: Callable[..., DnsServer]) -> None:
    zones = {"113.0.203.in-addr.arpa.": "1 PTR =cmd\\124calc.pool.test.", "pool.test.": ""}
    server = make_dns_server(zones)
    _, out, _ = run("--ip", "203.0.113.1", "--ip", "203.0.113.2", "--format", "csv", *pool_args(server))
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[1][0] == "203.0.113.1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row), rows


# -- bounded, validated input -------------------------------------------------------------------------------


def test_ip_file_dev_zero_is_one_line_exit_2_and_bounded_memory(
    make_dns_server: Callable[..., DnsServer],
) -> None:
    """Without the line bound, reading /dev/zero grows without end: the address-space cap makes that fail."""
    dns_server = make_dns_server({})

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run(
        [sys.executable, "-m", "mxprobe", "--ip-file", "/dev/zero", "--nameserver", dns_server.address],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=cap_memory,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        == "mxprobe: error: --ip-file line 1 is longer than 1024 bytes: not a list of IP addresses"
    )
    assert dns_server.queries == []


def test_a_long_line_is_refused_before_any_query(dns_server: DnsServer, tmp_path: Path) -> None:
    pool_file = tmp_path / "ips.txt"
    pool_file.write_text("203.0.113.1\n" + "1" * 5000 + "\n", encoding="utf-8")
    code, _, err = run("--ip-file", str(pool_file), "--nameserver", dns_server.address)
    assert code == 2
    assert "--ip-file line 2 is longer than 1024 bytes" in err
    assert dns_server.queries == []


def test_a_bad_line_41_is_skipped_before_any_query_and_no_result_is_lost(
    dns_server: DnsServer, tmp_path: Path
) -> None:
    lines = [f"192.0.2.{i}" for i in range(1, 41)] + ["192.0.2.999"] + [f"192.0.2.{i}" for i in range(41, 45)]
    pool_file = tmp_path / "ips.txt"
    pool_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan = pool.prepare([], pool_file, None, Options(nameservers=[parse_nameserver(dns_server.address)]))
    assert plan.input.skipped == ["line 41: '192.0.2.999'"]
    assert dns_server.queries == []  # known before the first query
    code, out, err = run(
        "--ip-file", str(pool_file), "--check", "ptr", "--json", "--nameserver", dns_server.address
    )
    assert "skipped line 41: '192.0.2.999'" in err
    assert [json.loads(line)["target"]["ip"] for line in out.splitlines()] == [
        line for line in lines if line != "192.0.2.999"
    ]
    assert code in (1, 3)


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_lf_crlf_and_cr_files_give_the_same_pool(dns_server: DnsServer, tmp_path: Path, end: str) -> None:
    pool_file = tmp_path / "ips.txt"
    pool_file.write_bytes(end.join(["# pool", "203.0.113.1", "", "203.0.113.4/31  # two", "bad"]).encode())
    plan = pool.prepare([], pool_file, None, Options(nameservers=[parse_nameserver(dns_server.address)]))
    assert plan.addresses == ["203.0.113.1", "203.0.113.4", "203.0.113.5"]
    assert plan.input.skipped == ["line 5: 'bad'"]


def test_junk_lines_are_counted_not_kept(dns_server: DnsServer, tmp_path: Path) -> None:
    pool_file = tmp_path / "ips.txt"
    pool_file.write_text("203.0.113.1\n" + "junk\n" * 5000, encoding="utf-8")
    plan = pool.prepare([], pool_file, None, Options(nameservers=[parse_nameserver(dns_server.address)]))
    assert plan.input.skipped_count == 5000 and len(plan.input.skipped) == pool.MAX_SKIPPED


# -- time: --timeout under --rate, Ctrl-C -------------------------------------------------------------------


def test_a_rate_too_low_for_the_timeout_is_refused_before_any_query(dns_server: DnsServer) -> None:
    code, _, err = run("--ip", "203.0.113.0/30", *pool_args(dns_server), "--rate", "0.5", "--timeout", "2")
    assert code == 2
    assert "--rate 0.5 is too low for --timeout 2" in err
    assert len(err.strip().splitlines()) == 1
    assert dns_server.queries == []


def test_under_a_rate_cap_each_ip_keeps_its_timeout(pool_dns: DnsServer) -> None:
    """A list that never answers, and a rate at which one IP's queries need most of --timeout: every IP's
    run still ends within --timeout (queue wait included), the deadline is not stretched to fit the rate."""
    pool_dns.set_fault(f"*.{BLOCKLIST}.", "drop")
    started = time.monotonic()
    _, out, _ = run(
        "--ip", "203.0.113.4/31", "--json", "--rate", "5", *pool_args(pool_dns)[:-2], "--timeout", "2"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 2
    assert all(row["elapsed_ms"] <= 2000 + 300 for row in rows), [row["elapsed_ms"] for row in rows]
    assert {c["status"] for row in rows for c in row["checks"] if c["id"] == "dnsbl"} == {"error"}
    assert time.monotonic() - started < 2 * 2 + 3


def test_ctrl_c_on_a_text_pool_prints_what_is_done_and_exits_130(
    make_dns_server: Callable[..., DnsServer],
) -> None:
    """Half of the pool answers at once, the other half hangs: SIGINT prints the summary of the done half."""
    slow = {f"{i}.113.0.203.in-addr.arpa.": 60.0 for i in range(8, 16)}
    server = make_dns_server(pool_zones(), delays=slow)
    args = ["--ip", "203.0.113.0/28", *pool_args(server)[:-2], "--timeout", "60", "--check", "ptr"]
    with subprocess.Popen(
        [sys.executable, "-m", "mxprobe", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        deadline = time.monotonic() + 20
        while server.count(qtype="PTR") < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the fast half is answered
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "8 IPs checked of 16 (interrupted)" in out
    assert "interrupted: 8 of 16 IPs checked" in err
    assert "Traceback" not in err


def test_the_text_summary_speaks_chinese(pool_dns: DnsServer, capsys: pytest.CaptureFixture[str]) -> None:
    from mxprobe.commands.pool import run_pool_command

    options = Options(
        nameservers=[parse_nameserver(pool_dns.address)],
        dnsbl_zones=[BLOCKLIST],
        dnsbl_only=True,
        concurrency=100,
    )
    code = run_pool_command(["203.0.113.0/29"], None, None, options, output="text", lang="zh")
    out = capsys.readouterr().out
    assert code == 1
    assert "已检查 8 个IP" in out
    assert "结论：" in out
