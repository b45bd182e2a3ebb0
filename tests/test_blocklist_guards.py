"""The blocklist promises a user relies on, each pinned so that removing its guard fails a test:

- no `pass` when a list most receivers use (data: `major = true`, Spamhaus ZEN and DBL) gave no answer;
- no listing unless the list's test points hold;
- a list key (the Spamhaus DQS key) never reaches the output in any form a server may echo it back.

Every test runs the real code against a DNS server on loopback serving the enabled lists of checks/dnsbl.toml.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from typing import Any, cast

import pytest
from servers.dns import ZONES_DIR, DnsServer, FaultKind
from test_schema import validator
from zones.blocklists import DQS_KEY, REAL_LISTS, catalogue_zones, options, records

from mxprobe import blocklists
from mxprobe.cli import main
from mxprobe.errors import ExitCode
from mxprobe.report import Report
from mxprobe.scanner import build_target, run

MakeServer = Callable[..., DnsServer]
CLEAN_IP, LISTED_IP = "198.51.100.10", "198.51.100.20"
SUPPORT = [ZONES_DIR / "reverse.zone", ZONES_DIR / "dbl.test.zone"]  # PTRs and names for the dbl check
ZEN = "Spamhaus ZEN (SBL + CSS + XBL + PBL)"


def check_of(report: Report, check: str) -> dict[str, Any]:
    result = report.check(check)
    assert result is not None
    return cast(dict[str, Any], result.to_dict())


def test_the_lists_most_receivers_use_are_marked_major_with_a_reason() -> None:
    major = {z.zone: z for z in blocklists.catalogue().zones if z.major}
    assert set(major) == {"zen.spamhaus.org", "dbl.spamhaus.org"}
    assert all(z.major_reason and z.enabled for z in major.values())


# -- a major list without an answer -------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["servfail", "refused", "drop"])
async def test_spamhaus_down_makes_dnsbl_an_error_not_a_pass(
    make_dns_server: MakeServer, fault: FaultKind
) -> None:
    server = make_dns_server(catalogue_zones(), faults={"*.spamhaus.org.": fault})
    report = await run(build_target(ip=CLEAN_IP), options(server, check="dnsbl", only=False))
    data = check_of(report, "dnsbl")
    assert data["status"] == "error", data["summary"]
    assert data["summary"].startswith(f"could not check {CLEAN_IP} on {ZEN}, a list most receivers use (")
    assert "other blocklists that answered" in data["summary"]
    assert report.verdict == "inconclusive"
    by_zone = records(report, "dnsbl")
    assert by_zone["zen.spamhaus.org"]["status"] == "error"
    assert by_zone["bl.spamcop.net"]["status"] == "clean"  # the other lists still answered, and say so


def test_spamhaus_down_gives_exit_3_on_the_cli(
    make_dns_server: MakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_dns_server(catalogue_zones(), faults={"*.spamhaus.org.": "servfail"})
    with pytest.raises(SystemExit) as exited:
        main(["--ip", CLEAN_IP, "--nameserver", server.address, "--check", "dnsbl", "--json"])
    assert exited.value.code == ExitCode.INCONCLUSIVE
    report = json.loads(capsys.readouterr().out)
    validator("probe").validate(report)  # the published JSON Schema holds the dnsbl details exactly
    (check,) = report["checks"]
    assert check["status"] == "error"
    assert "Spamhaus ZEN" in check["summary"]


async def test_a_listing_still_fails_when_spamhaus_is_down(make_dns_server: MakeServer) -> None:
    """A listing on a healthy list is a fact: the missing major list does not hide it."""
    zones = catalogue_zones()
    zones["bl.spamcop.net."] += "20.100.51.198 A 127.0.0.2\n"
    server = make_dns_server(zones, faults={"*.spamhaus.org.": "servfail"})
    report = await run(build_target(ip=LISTED_IP), options(server, check="dnsbl", only=False))
    data = check_of(report, "dnsbl")
    assert data["status"] == "fail"
    assert "bl.spamcop.net" in data["summary"] and "could not be checked" in data["summary"]


async def test_spamhaus_dbl_down_makes_dbl_an_error_not_a_pass(make_dns_server: MakeServer) -> None:
    server = make_dns_server([catalogue_zones(), *SUPPORT], faults={"*.spamhaus.org.": "servfail"})
    target = build_target("clean.example", ip="198.51.100.31", helo="mx.clean.example")
    report = await run(target, options(server, check="dbl", only=False))
    data = check_of(report, "dbl")
    assert data["status"] == "error", data["summary"]
    assert data["summary"].startswith(
        "could not check clean.example and mx.clean.example on Spamhaus Domain Blocklist (DBL), a list most "
        "receivers use (no answer: dbl.spamhaus.org)"
    )
    assert data["summary"].endswith("other blocklists that answered")


async def test_a_minor_list_down_still_passes(make_dns_server: MakeServer) -> None:
    """The rule is about the major lists only: one small list down is noted, not a reason for no verdict."""
    server = make_dns_server(catalogue_zones(), faults={"*.bl.spamcop.net.": "servfail"})
    report = await run(build_target(ip=CLEAN_IP), options(server, check="dnsbl", only=False))
    data = check_of(report, "dnsbl")
    assert data["status"] == "pass"
    assert "1 could not be checked (no answer: bl.spamcop.net)" in data["summary"]


async def test_the_fix_names_the_resolver_the_user_gave(make_dns_server: MakeServer) -> None:
    """A user who gave --nameserver is not told to give --nameserver: the fix names theirs as refused."""
    server = make_dns_server(REAL_LISTS / "refusing")
    report = await run(build_target(ip=LISTED_IP), options(server, "zen.spamhaus.org", check="dnsbl"))
    fix = check_of(report, "dnsbl")["fix"]
    assert fix.startswith(f"Some lists refuse your resolver ({server.address})")
    assert "--dqs-key KEY" in fix


# -- no listing without the test points ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "status"),
    [
        ("", "error"),  # the listed test point is missing: the list proves nothing, listings included
        ("2.0.0.127 A 127.0.0.2\n1.0.0.127 A 127.0.0.2\n", "broken"),  # it lists everything
    ],
)
async def test_no_listing_unless_the_test_points_hold(
    make_dns_server: MakeServer, points: str, status: str
) -> None:
    server = make_dns_server({"guard.test.": f"20.100.51.198 A 127.0.0.2\n{points}"})
    report = await run(build_target(ip=LISTED_IP), options(server, "guard.test", check="dnsbl"))
    record = records(report, "dnsbl")["guard.test"]
    assert record["status"] == status
    assert check_of(report, "dnsbl")["status"] == "error"


async def test_a_listing_counts_when_the_test_points_hold(make_dns_server: MakeServer) -> None:
    server = make_dns_server({"guard.test.": "20.100.51.198 A 127.0.0.2\n2.0.0.127 A 127.0.0.2\n"})
    report = await run(build_target(ip=LISTED_IP), options(server, "guard.test", check="dnsbl"))
    assert records(report, "dnsbl")["guard.test"]["status"] == "listed"


async def test_an_info_code_is_not_a_listing(make_dns_server: MakeServer) -> None:
    """Mailspike answers a neutral reputation (127.0.0.15) for unlisted addresses: that is not a listing."""
    server = make_dns_server({"rep.mailspike.net.": "2.0.0.127 A 127.0.0.2\n20.100.51.198 A 127.0.0.15\n"})
    report = await run(build_target(ip=LISTED_IP), options(server, "rep.mailspike.net", check="dnsbl"))
    record = records(report, "dnsbl")["rep.mailspike.net"]
    assert (record["status"], record["meaning"]) == ("clean", "Mailspike: neutral reputation (not a listing)")
    assert check_of(report, "dnsbl")["status"] == "pass"


async def test_a_broken_list_stays_broken_when_the_subject_query_fails(make_dns_server: MakeServer) -> None:
    server = make_dns_server(
        {"guard.test.": "1.0.0.127 A 127.0.0.2\n2.0.0.127 A 127.0.0.2\n"},
        faults={"20.100.51.198.guard.test.": "servfail"},
    )
    report = await run(build_target(ip=LISTED_IP), options(server, "guard.test", check="dnsbl"))
    assert records(report, "dnsbl")["guard.test"]["status"] == "broken"


async def test_more_errors_than_answers_is_an_error_not_a_pass(make_dns_server: MakeServer) -> None:
    """One clean answer against two lists without one says more about the resolver than about the IP."""
    server = make_dns_server(
        {"ok.test.": "2.0.0.127 A 127.0.0.2\n", "down1.test.": "", "down2.test.": ""},
        faults={"*.down1.test.": "servfail", "*.down2.test.": "servfail"},
    )
    zones = ("ok.test", "down1.test", "down2.test")
    report = await run(build_target(ip=CLEAN_IP), options(server, *zones, check="dnsbl"))
    data = check_of(report, "dnsbl")
    assert data["status"] == "error"
    assert data["summary"].startswith(f"could not check {CLEAN_IP}: 2 of 3 blocklists gave no usable answer")


# -- the key never reaches the output ------------------------------------------------------------------------


def key_forms(key: str) -> list[str]:
    """Every form a server may echo a key in."""
    raw = key.encode()
    forms = [key, key.upper(), key.capitalize(), key[3:15], key[-10:].upper(), raw.hex(), raw.hex().upper()]
    forms += [urllib.parse.quote(key), "".join(f"%{b:02X}" for b in raw), "".join(f"%{b:02x}" for b in raw)]
    forms += ["".join(f"\\{b:03d}" for b in raw)]
    for prefix in (b"", b"u", b"us", b"user:"):
        encoded = base64.b64encode(prefix + raw).decode()
        forms += [encoded, encoded.rstrip("="), base64.urlsafe_b64encode(prefix + raw).decode().rstrip("=")]
    return forms


def leaks(text: str, key: str) -> list[str]:
    """The key forms found in text, and any run of 8 key characters in any case."""
    found = [form for form in key_forms(key)[5:] if form in text]
    lower = text.lower()
    found += [key[i : i + 8] for i in range(len(key) - 7) if key[i : i + 8] in lower]
    return found


def echoing_zones() -> dict[str, str]:
    """Every enabled list with the DQS key, ZEN's DQS zone listing LISTED_IP with a TXT reason that echoes
    the key in every form, token-embedded."""
    zones = catalogue_zones(keys={"dqs": DQS_KEY})
    echoes = " ".join(f"k={form};" for form in key_forms(DQS_KEY)).replace("\\", "\\\\")  # zone escapes
    zones[f"{DQS_KEY}.zen.dq.spamhaus.net."] += (
        f'20.100.51.198 A 127.0.0.4\n20.100.51.198 TXT "listed, query was {echoes}"\n'
    )
    return zones


@pytest.mark.parametrize("fmt", [["--json"], []])
def test_the_dqs_key_never_appears_in_any_form(
    make_dns_server: MakeServer, capsys: pytest.CaptureFixture[str], fmt: list[str]
) -> None:
    server = make_dns_server(echoing_zones())
    argv = [
        "--ip",
        LISTED_IP,
        "--nameserver",
        server.address,
        "--check",
        "dnsbl",
        "--dqs-key",
        DQS_KEY.upper(),
    ]
    with pytest.raises(SystemExit) as exited:
        main([*argv, *fmt])
    out, err = capsys.readouterr()
    assert exited.value.code == ExitCode.FAILED, out + err
    assert server.count(f"20.100.51.198.{DQS_KEY}.zen.dq.spamhaus.net.", "TXT") >= 1  # the echo was read
    assert leaks((out + err).replace("\\\\", "\\"), DQS_KEY) == []  # JSON doubles a backslash


def test_the_redactor_masks_every_form() -> None:
    redact = blocklists.Redactor([DQS_KEY])
    for form in key_forms(DQS_KEY):
        masked = redact(f"before{form}after and {form}")
        assert leaks(masked, DQS_KEY) == [], (form, masked)
    assert redact("127.0.0.2 listed on zen.spamhaus.org") == "127.0.0.2 listed on zen.spamhaus.org"


ABUSIX_KEY = "abusixtestkey0000000000000"


def test_the_abusix_key_asks_the_abusix_zones_and_never_shows(
    make_dns_server: MakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = f"{ABUSIX_KEY}.combined.mail.abusix.zone."
    server = make_dns_server(
        {zone: f'2.0.0.127 A 127.0.0.2\n20.100.51.198 A 127.0.0.4\n20.100.51.198 TXT "key {ABUSIX_KEY}"\n'}
    )
    argv = ["--ip", LISTED_IP, "--nameserver", server.address, "--check", "dnsbl", "--json"]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--abusix-key", ABUSIX_KEY])  # every other list: not served here, so not usable
    out, err = capsys.readouterr()
    assert exited.value.code == ExitCode.FAILED, out + err
    assert server.count(f"20.100.51.198.{zone}", "A") == 1
    (check,) = json.loads(out)["checks"]
    listed = [r for r in check["details"]["zones"] if r["status"] == "listed"]
    assert [r["zone"] for r in listed] == ["<abusix-key>.combined.mail.abusix.zone"]
    assert leaks(out + err, ABUSIX_KEY) == []
