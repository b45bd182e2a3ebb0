"""Issue 12 item 5: defaults that follow the user. Every option from MXPROBE_<FLAG> and from the config file,
precedence flag > environment > file > default; the header and the JSON say which resolver answered, where
each setting came from, and when the run started; secrets never appear."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from servers.dns import DnsServer

from mxprobe import config

HEALTHY = ["example.com", "--ip", "192.0.2.20", "--check", "ptr"]
KEY = "Abcdef0123456789Secret"


def probe_json(*args: str, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    result = run_cli(*args, "--json", env={"MXPROBE_CONFIG": "", **env})
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_the_env_rule() -> None:
    assert config.env_name("--nameserver") == "MXPROBE_NAMESERVER"
    assert config.env_name("--dqs-key") == "MXPROBE_DQS_KEY"
    assert config.env_name("--smtp-timeout") == "MXPROBE_SMTP_TIMEOUT"


def test_mxprobe_nameserver_is_used_and_said(dns_server: DnsServer) -> None:
    code, data, _ = probe_json(*HEALTHY, env={"MXPROBE_NAMESERVER": dns_server.address})
    assert code == 0 and dns_server.count("20.2.0.192.in-addr.arpa", "PTR") >= 1
    assert data["resolver"] == {"nameservers": [dns_server.address], "source": "env"}
    assert data["settings"]["nameserver"] == {"source": "env", "variable": "MXPROBE_NAMESERVER"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["started_at"])
    text = run_cli(*HEALTHY, env={"MXPROBE_NAMESERVER": dns_server.address, "MXPROBE_CONFIG": ""}).stdout
    assert f"resolver {dns_server.address} (MXPROBE_NAMESERVER)" in text


def test_a_flag_wins_over_the_environment_which_wins_over_the_file(
    dns_server: DnsServer, tmp_path: Path
) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text('nameserver = ["127.0.0.1:9"]\ntimeout = 7\n[probe]\nstrict = true\n')
    env = {"MXPROBE_CONFIG": str(conf), "MXPROBE_TIMEOUT": "9"}
    result = run_cli(*HEALTHY, "--json", "--nameserver", dns_server.address, env=env)
    data = json.loads(result.stdout)
    assert data["resolver"]["nameservers"] == [dns_server.address]
    assert data["settings"]["nameserver"] == {"source": "flag"}
    assert data["settings"]["timeout"] == {"source": "env", "variable": "MXPROBE_TIMEOUT"}
    assert data["settings"]["strict"] == {"source": "config", "file": str(conf)}
    file_only = run_cli(*HEALTHY, "--json", "--config", str(conf), "--nameserver", dns_server.address)
    assert json.loads(file_only.stdout)["settings"]["timeout"] == {"source": "config", "file": str(conf)}


def test_a_bad_config_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for text, fragment in [("timeout = [", "not valid TOML"), ("colour = 1", "unknown setting 'colour'"),
                           ("[probe]\nnope = 1", "[probe] has no setting 'nope'")]:  # fmt: skip
        conf = tmp_path / "c.toml"
        conf.write_text(text)
        result = run_cli(*HEALTHY, "--config", str(conf))
        assert result.exit_code == 2 and fragment in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    missing = run_cli(*HEALTHY, "--config", str(tmp_path / "none.toml"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_the_dqs_key_from_the_environment_is_never_printed(dns_server: DnsServer, tmp_path: Path) -> None:
    env = {"MXPROBE_DQS_KEY": KEY, "MXPROBE_NAMESERVER": dns_server.address}
    _, data, err = probe_json(*HEALTHY, env=env)
    assert data["settings"]["dqs-key"] == {"source": "env", "variable": "MXPROBE_DQS_KEY"}
    text = run_cli(*HEALTHY, "-v", env={**env, "MXPROBE_CONFIG": ""})
    for shown in (json.dumps(data), err, text.stdout, text.stderr):
        assert KEY not in shown and KEY.lower() not in shown
    conf = tmp_path / "config.toml"
    conf.write_text(f'dqs-key = "{KEY}"\n')
    env = {"MXPROBE_CONFIG": str(conf)}
    result = run_cli(*HEALTHY, "--json", "--nameserver", dns_server.address, env=env)
    assert KEY.lower() not in result.stdout.lower()
    assert json.loads(result.stdout)["settings"]["dqs-key"]["source"] == "config"


def test_dev_null_is_no_config_and_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    import os

    assert run_cli("codes", "--tag", "MI:SPF", "--config", os.devnull).exit_code == 0
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run_cli("codes", "--config", str(fifo))
    assert result.exit_code == 2 and "not a regular file" in result.stderr


def test_a_config_language_applies_to_every_command(tmp_path: Path) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text('lang = "zh"\n')
    result = run_cli("explain", "550 5.1.1 user unknown", env={"MXPROBE_CONFIG": str(conf)})
    assert "含义" in result.stdout
    result = run_cli("explain", "550 5.1.1 user unknown", "--lang", "en", env={"MXPROBE_CONFIG": str(conf)})
    assert "meaning" in result.stdout


def test_defaults_meant_for_probes_are_no_error_elsewhere(dns_server: DnsServer) -> None:
    """MXPROBE_NAMESERVER and MXPROBE_IP are defaults for probes: explain without --check and a pool do not
    refuse them as misplaced flags (the same given on the command line are refused)."""
    env = {
        "MXPROBE_NAMESERVER": dns_server.address,
        "MXPROBE_IP": "192.0.2.1",
        "MXPROBE_HELO": "mail.example.com",
    }
    assert run_cli("explain", "550 5.1.1 user unknown", env=env).exit_code == 0
    assert run_cli("explain", "550 5.1.1 user unknown", "--ip", "192.0.2.1").exit_code == 2
    pool = run_cli("--ip", "198.51.100.16/31", "--check", "ptr", "--json", env=env)
    assert pool.exit_code == 1 and len(pool.stdout.splitlines()) == 2


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG rule is said directly on Linux only")
@pytest.mark.parametrize("xdg", [None, "", "  ", "/srv/conf", "relative/conf"])
def test_the_config_directory_is_the_one_platformdirs_names(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config.default_path() says the XDG rule itself (no platformdirs import at start-up): same answer."""
    import platformdirs

    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    if xdg is not None:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    expected = Path(platformdirs.user_config_dir("mxprobe")) / "config.toml"
    assert config.default_path() == expected
