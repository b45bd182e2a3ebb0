"""The published JSON Schemas (mxprobe/schema/*.json, `mxprobe schema NAME`) hold for the real outputs.

Each command runs end to end through the CLI against the loopback servers; its --json output is validated
with jsonschema. The shipped files are what tests/schema_build.py builds from the TypedDicts that produce the
JSON, so a change of a type without the schema (or the reverse) fails here.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import schema_build
from dnschecks import HEALTHY_IP
from jsonschema import Draft202012Validator, ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from servers.dns import DnsServer
from servers.smtp import postfix_like
from typer.testing import CliRunner

from mxprobe.cli import app
from mxprobe.commands.schema import available, schema_text

GOOD_SMTP_IP = "127.0.0.11"  # tests/zones/smtp.test.zone: PTR mail.smtp.test, forward-confirmed


def schemas() -> dict[str, dict[str, Any]]:
    return {name: json.loads(schema_text(name)) for name in available()}


def validator(name: str) -> Draft202012Validator:
    """A validator of one schema that resolves references into the others (explain -> probe)."""
    found = schemas()
    registry: Registry[Any] = Registry().with_resources(
        (f"{n}.json", Resource.from_contents(s)) for n, s in found.items()
    )
    registry = registry.with_resources((s["$id"], Resource.from_contents(s)) for s in found.values())
    return Draft202012Validator(found[name], registry=registry)


def cli(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(argv))
    return result.exit_code, result.stdout


# ------------------------------------------------------------------------------------------ the files


@pytest.mark.parametrize("name", sorted(schema_build.BUILDERS))
def test_the_shipped_schema_is_the_one_the_types_build(name: str) -> None:
    assert schema_text(name) == schema_build.text(schema_build.BUILDERS[name]()), (
        f"mxprobe/schema/{name}.json is stale: run .venv/bin/python tests/schema_build.py"
    )


def test_every_shipped_schema_is_a_valid_schema() -> None:
    assert {"probe", "explain", "codes"} <= set(available())
    for name, schema in schemas().items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"].endswith("2020-12/schema"), name


def test_the_schema_command_prints_the_file() -> None:
    code, out = cli("schema", "probe")
    assert code == 0 and json.loads(out) == schemas()["probe"]
    code, out = cli("schema", "--list")
    assert code == 0 and out.split() == available()
    code, _ = cli("schema", "weather")
    assert code == 2


def test_every_check_module_with_details_types_them() -> None:
    """The details of these checks are TypedDicts (the others say what they hold in their docstrings)."""
    typed = {
        "ptr",
        "fcrdns",
        "helo",
        "spf",
        "spf-record",
        "dmarc",
        "dkim",
        "mx",
        "mta-sts",
        "tls-rpt",
        "dnssec",
        "dane",
    }
    assert typed <= set(schema_build.details_types())


# ---------------------------------------------------------------------------------------- real outputs


def probe_json(server: DnsServer, *args: str) -> dict[str, Any]:
    code, out = cli(*args, "--nameserver", server.address, "--json")
    assert code in (0, 1, 3), out
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.mark.parametrize(
    "args",
    [
        ("example.com", "--ip", HEALTHY_IP),  # every DNS check; the blocklists on the test zones
        ("example.com", "--ip", "192.0.2.13", "--helo", "a.multi.sender.test"),  # warnings
        ("spf-broken.sender.test", "--ip", "192.0.2.11"),  # failures: no PTR, a broken SPF record
        ("nxdomain.sender.test", "--ip", "192.0.2.20", "--check", "mx", "--check", "spf-record"),
    ],
    ids=["healthy", "warnings", "failures", "nxdomain"],
)
def test_the_probe_report_validates(dns_server: DnsServer, args: tuple[str, ...]) -> None:
    data = probe_json(dns_server, *args)
    validator("probe").validate(data)
    assert data["checks"] and all(c["details"] for c in data["checks"])


def test_a_probe_with_a_handshake_validates(dns_server: DnsServer, smtp_server: Any) -> None:
    server = smtp_server(postfix_like(reject="hostname"))
    data = probe_json(
        dns_server,
        "smtp.test",
        "--ip",
        GOOD_SMTP_IP,
        "--to",
        "user@dest.test",
        "--mx",
        f"127.0.0.1:{server.port}",
    )
    validator("probe").validate(data)
    assert "smtp" in data and {c["id"] for c in data["checks"]} >= {"smtp", "tls"}


def test_a_probe_where_dns_fails_validates(dns_server: DnsServer) -> None:
    dns_server.set_fault("20.2.0.192.in-addr.arpa.", "notimp")
    data = probe_json(dns_server, "example.com", "--ip", HEALTHY_IP, "--check", "ptr", "--check", "fcrdns")
    validator("probe").validate(data)
    assert [c["status"] for c in data["checks"]] == ["error", "error"]
    assert "error" in data["checks"][0]["details"]


def test_each_line_of_a_pool_validates(dns_server: DnsServer) -> None:
    """`mxprobe --ip CIDR --json` prints the probe report of each address, one a line."""
    checks = ["--check", "ptr", "--check", "fcrdns", "--check", "helo"]
    code, out = cli("--ip", "192.0.2.16/30", "--json", "--nameserver", dns_server.address, *checks)
    assert code in (0, 1, 3), out
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(d["target"]["ip"] for d in lines) == [f"192.0.2.{n}" for n in range(16, 20)]
    for data in lines:
        validator("probe").validate(data)


def test_the_schema_is_not_vacuous(dns_server: DnsServer) -> None:
    data = probe_json(dns_server, "example.com", "--ip", HEALTHY_IP, "--check", "ptr", "--check", "mx")
    check = validator("probe")
    check.validate(data)
    for path, value in [
        (("verdict",), "okay"),
        (("checks", 0, "status"), "ok"),
        (("checks", 0, "details", "count"), "one"),  # ptr: an integer
        (("checks", 1, "details", "hosts"), [{"host": "mx.example.com"}]),  # mx: addresses missing
        (("checks", 0, "evidence", 0, "answer"), "mail.example.com"),
    ]:
        broken = copy.deepcopy(data)
        node: Any = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ValidationError):
            check.validate(broken)


def test_explain_json_validates(dns_server: DnsServer) -> None:
    replies = [
        "550 5.7.25 The IP address sending this message does not have a PTR record",
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred",
        "250 2.0.0 OK",
        "599 nothing anyone knows",
    ]
    check = validator("explain")
    for reply in replies:
        code, out = cli("explain", reply, "--json")
        assert code in (0, 1), out
        for line in out.splitlines():
            check.validate(json.loads(line))
    code, out = cli(
        "explain", replies[0], "--json", "--check", "--ip", HEALTHY_IP, "--nameserver", dns_server.address
    )
    data = json.loads(out.splitlines()[0])
    check.validate(data)
    assert [c["id"] for c in data["check"]] == ["ptr", "fcrdns"]


@pytest.mark.parametrize(
    "args",
    [
        ("--file", "tests/data/bounces/postfix-550-two-recipients.eml"),  # one object per failed recipient
        ("--file", "tests/data/bounces/exim-defer.eml"),
        ("--file", "tests/data/logs/postfix.log"),  # one object per distinct failure, with its log record
        ("--file", "tests/data/logs/exim.log", "--summary"),  # one summary object
    ],
    ids=["bounce", "delay", "log", "summary"],
)
def test_explain_json_of_files_validates(args: tuple[str, ...]) -> None:
    code, out = cli(
        "explain", *[str(schema_build.ROOT / a) if a.startswith("tests/") else a for a in args], "--json"
    )
    assert code in (0, 1), out
    text = out.strip()
    objects = (
        [json.loads(text)] if text.startswith("{\n") else [json.loads(line) for line in text.splitlines()]
    )
    assert objects
    for data in objects:
        validator("explain").validate(data)


@pytest.mark.parametrize("name", ["netease", "outlook", "qq", "yahoo"])
def test_the_report_on_a_delivered_message_validates(name: str) -> None:
    """Offline (no --check): what the receiver recorded, read from the message alone."""
    code, out = cli(
        "explain", "--file", str(schema_build.ROOT / "tests" / "data" / "messages" / f"{name}.eml"), "--json"
    )
    assert code in (0, 1, 3), out
    data = json.loads(out)
    assert data["kind"] == "message"
    validator("message").validate(data)
    validator("explain").validate(data)


def test_codes_json_validates() -> None:
    code, out = cli("codes", "--json")
    assert code == 0
    entries = json.loads(out)
    assert len(entries) > 100
    validator("codes").validate(entries)
