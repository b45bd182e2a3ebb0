"""The `dnsbl` check against real DNS servers on loopback: the test lists of tests/zones/bl.test.zone,
copies of real lists (tests/zones/real-lists/) judged with the real data of checks/dnsbl.toml, and every
enabled zone of that file at once. Assertions are on what users see: status, summary, the JSON records."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
from servers.dns import ZONES_DIR, DnsServer, FaultKind
from zones.blocklists import DQS_KEY, REAL_LISTS, catalogue_zones, options, records

from mxprobe import blocklist_options, blocklists
from mxprobe.cli import main
from mxprobe.errors import ExitCode, InputError
from mxprobe.model import Status
from mxprobe.report import Report
from mxprobe.scanner import build_target, run

CLEAN_IP, LISTED_IP = "198.51.100.10", "198.51.100.20"
CLEAN_IP6, LISTED_IP6 = "2001:db8:bbbb::10", "2001:db8:bbbb::20"
MakeServer = Callable[..., DnsServer]
ENABLED_IP_ZONES = [z for z in blocklists.catalogue().zones if z.kind == "ip" and z.enabled and not z.key]


async def probe(server: DnsServer, ip: str, *zones: str, **extra: Any) -> Report:
    return await run(build_target(ip=ip), options(server, *zones, check="dnsbl", **extra))


def result(report: Report) -> dict[str, Any]:
    check = report.check("dnsbl")
    assert check is not None
    return cast(dict[str, Any], check.to_dict())


# -- the test lists of bl.test. ------------------------------------------------------------------------------


async def test_clean_ip_passes_on_healthy_lists(dns_server: DnsServer) -> None:
    report = await probe(dns_server, CLEAN_IP, "zen.bl.test", "clean.bl.test", "spam.bl.test")
    data = result(report)
    assert data["status"] == "pass"
    assert data["summary"] == f"{CLEAN_IP} is on none of the 3 blocklists that answered"
    assert {r["status"] for r in records(report, "dnsbl").values()} == {"clean"}
    assert report.exit_code == ExitCode.OK


async def test_listed_ip_fails_with_codes_reason_and_url(dns_server: DnsServer) -> None:
    report = await probe(dns_server, LISTED_IP, "zen.bl.test", "clean.bl.test")
    data = result(report)
    assert data["status"] == "fail"
    assert data["summary"] == f"{LISTED_IP} is listed on 1 of 2 blocklists: zen.bl.test"
    zen = records(report, "dnsbl")["zen.bl.test"]
    assert zen["status"] == "listed"
    assert zen["codes"] == ["127.0.0.2", "127.0.0.4"]
    assert zen["query"] == "20.100.51.198.zen.bl.test"
    assert zen["reason"].startswith("198.51.100.20 sent spam to our traps")
    assert zen["meaning"] == "listed (meaning unknown to mxprobe)"
    assert records(report, "dnsbl")["clean.bl.test"]["status"] == "clean"
    evidence = {e["query"]: e for e in data["evidence"]}
    assert evidence["20.100.51.198.zen.bl.test TXT"]["answer"][0].startswith("198.51.100.20 sent spam")
    assert evidence["1.0.0.127.zen.bl.test A"]["rcode"] == "NXDOMAIN"  # the canary that made it trusted
    assert dns_server.count("2.0.0.127.zen.bl.test.", "TXT") == 0  # a test point's reason is never asked
    assert "remove the listing" in data["fix"]
    assert report.exit_code == ExitCode.FAILED


async def test_refusal_code_is_an_error_never_a_listing(dns_server: DnsServer) -> None:
    report = await probe(dns_server, LISTED_IP, "refuse.bl.test", "clean.bl.test")
    refuse = records(report, "dnsbl")["refuse.bl.test"]
    assert refuse["status"] == "error"
    assert refuse["codes"] == ["127.255.255.254"]
    assert refuse["error"].startswith("refused (127.255.255.254): error code of the 127.255.255.0/24 range")
    data = result(report)
    assert data["status"] == "warn"  # the other list answered: the result stands, but is incomplete
    assert "1 could not be checked (refused the query: refuse.bl.test)" in data["summary"]
    assert "--nameserver" in data["fix"]


async def test_a_list_refusing_everything_is_inconclusive(dns_server: DnsServer) -> None:
    report = await probe(dns_server, LISTED_IP, "refuse.bl.test")
    data = result(report)
    assert data["status"] == "error"
    assert data["summary"].startswith(f"could not check {LISTED_IP}: 1 of 1 blocklists gave no usable answer")
    assert report.exit_code == ExitCode.INCONCLUSIVE


async def test_a_refusal_code_next_to_a_listing_code_wins(dns_server: DnsServer) -> None:
    report = await probe(dns_server, LISTED_IP, "mixed.bl.test", "clean.bl.test")
    assert records(report, "dnsbl")["mixed.bl.test"]["status"] == "error"
    assert result(report)["status"] == "warn"


async def test_a_list_that_lists_everything_is_broken_and_ignored(dns_server: DnsServer) -> None:
    report = await probe(dns_server, LISTED_IP, "world.bl.test", "clean.bl.test")
    world = records(report, "dnsbl")["world.bl.test"]
    assert world["status"] == "broken"
    assert world["error"].startswith("lists its test point 127.0.0.1")
    data = result(report)
    assert data["status"] == "pass"
    assert data["summary"].endswith("; 1 broken and ignored (world.bl.test)")


async def test_only_broken_lists_are_inconclusive(dns_server: DnsServer) -> None:
    data = result(await probe(dns_server, CLEAN_IP, "world.bl.test"))
    assert data["status"] == "error"
    assert "(all broken)" in data["summary"]


async def test_answers_outside_127_are_a_rewriting_resolver(dns_server: DnsServer) -> None:
    report = await probe(dns_server, CLEAN_IP, "rewrite.bl.test", "clean.bl.test")
    rewrite = records(report, "dnsbl")["rewrite.bl.test"]
    assert rewrite["status"] == "error"
    assert rewrite["codes"] == ["198.51.100.99"]
    assert "outside 127.0.0.0/8: your resolver rewrites NXDOMAIN" in rewrite["error"]
    data = result(report)
    assert data["status"] == "warn"
    assert "resolver that does not" in data["fix"]


async def test_a_list_without_its_test_point_proves_nothing(dns_server: DnsServer) -> None:
    report = await probe(dns_server, CLEAN_IP, "dead.bl.test", "zen.bl.test")
    dead = records(report, "dnsbl")["dead.bl.test"]
    assert dead["status"] == "error"
    assert dead["error"].startswith("did not list its test point 127.0.0.2 (NXDOMAIN): the list is down")
    data = result(report)
    assert data["status"] == "pass"  # one list down is noted, not a warning
    assert data["summary"].endswith(
        "1 could not be checked (dead.bl.test did not list its test point 127.0.0.2 (NXDOMAIN): "
        "the list is down or not answering your resolver)"
    )
    assert "refused" not in data["summary"]


@pytest.mark.parametrize(
    ("fault", "rcode", "said"),
    [("servfail", "SERVFAIL", "no answer"), ("refused", "REFUSED", "refused the query")],
)
async def test_servfail_and_refused_are_errors(
    dns_server: DnsServer, fault: FaultKind, rcode: str, said: str
) -> None:
    dns_server.set_fault("*.servfail.bl.test.", fault)
    report = await probe(dns_server, LISTED_IP, "servfail.bl.test", "zen.bl.test")
    broken = records(report, "dnsbl")["servfail.bl.test"]
    assert broken["status"] == "error"
    assert broken["error"].startswith(f"{rcode}: ")
    data = result(report)
    assert data["status"] == "fail"  # zen still lists it
    assert f"1 could not be checked ({said}: servfail.bl.test)" in data["summary"]


async def test_a_list_that_never_answers_times_out_within_the_deadline(dns_server: DnsServer) -> None:
    dns_server.set_fault("*.slow.bl.test.", "drop")
    started = time.monotonic()
    report = await probe(dns_server, CLEAN_IP, "slow.bl.test", "clean.bl.test")
    assert time.monotonic() - started < 4.0  # 2 tries x 0.5 s per query, all queries at once
    slow = records(report, "dnsbl")["slow.bl.test"]
    assert slow["status"] == "error"
    assert slow["error"].startswith("TIMEOUT: ")
    assert result(report)["status"] == "pass"


async def test_the_deadline_ends_a_run_whose_lists_never_answer(dns_server: DnsServer) -> None:
    dns_server.set_fault("*.slow.bl.test.", "drop")
    report = await probe(dns_server, CLEAN_IP, "slow.bl.test", timeout=0.8, query_timeout=5.0)
    data = result(report)
    assert data["status"] == "error"
    assert report.elapsed_ms < 2500


async def test_details_list_listed_then_broken_then_errors_with_the_useful_keys_first(
    dns_server: DnsServer,
) -> None:
    zones = ["clean.bl.test", "refuse.bl.test", "dead.bl.test", "world.bl.test", "rewrite.bl.test"]
    report = await probe(dns_server, LISTED_IP, *zones, "zen.bl.test", "spam.bl.test")
    data = result(report)
    shown = data["details"]["zones"]
    assert [(z["zone"], z["status"]) for z in shown] == [
        ("zen.bl.test", "listed"),
        ("spam.bl.test", "listed"),
        ("world.bl.test", "broken"),
        ("refuse.bl.test", "error"),
        ("dead.bl.test", "error"),
        ("rewrite.bl.test", "error"),
        ("clean.bl.test", "clean"),
    ]
    assert list(shown[0])[:7] == ["zone", "status", "codes", "meaning", "reason", "error", "url"]
    assert list(shown[0])[-1] == "ip"
    assert list(data["details"]["counts"]) == ["listed", "broken", "error", "clean", "skipped"]
    assert data["evidence"][0]["query"] == "20.100.51.198.zen.bl.test A"  # the listing, not a clean list


def test_text_report_shows_listings_first_on_short_lines(
    dns_server: DnsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    zones = ["clean.bl.test", "refuse.bl.test", "dead.bl.test", "world.bl.test", "rewrite.bl.test"]
    zones += ["zen.bl.test", "spam.bl.test"]
    argv = ["example.com", "--ip", LISTED_IP, "--nameserver", dns_server.address, "--check", "dnsbl"]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "-v", "--dnsbl-only", *(a for z in zones for a in ("--dnsbl", z))])
    assert exited.value.code == ExitCode.FAILED
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    items = [line for line in lines if line.startswith("- zone=")]
    assert [item.split(",")[:2] for item in items] == [
        ["- zone=zen.bl.test", " status=listed"],
        ["- zone=spam.bl.test", " status=listed"],
        ["- zone=world.bl.test", " status=broken"],
        ["- zone=refuse.bl.test", " status=error"],
        ["- zone=dead.bl.test", " status=error"],
        ["- zone=rewrite.bl.test", " status=error"],
    ]
    assert items[0].startswith("- zone=zen.bl.test, status=listed, codes=127.0.0.2, 127.0.0.4, meaning=")
    assert items[4].startswith(
        "- zone=dead.bl.test, status=error, error=did not list its test point 127.0.0.2"
    )
    assert any(line.startswith("… and 1 more (see --") for line in lines)
    evidence = [line for line in lines if line.startswith("evidence:")]
    assert evidence[0] == "evidence: 20.100.51.198.zen.bl.test A → 127.0.0.2, 127.0.0.4"


# -- IPv6 ----------------------------------------------------------------------------------------------------


async def test_ipv6_is_queried_in_nibble_form(dns_server: DnsServer) -> None:
    report = await probe(dns_server, LISTED_IP6, "v6.bl.test", "zen.bl.test")
    v6 = records(report, "dnsbl")["v6.bl.test"]
    assert v6["status"] == "listed"
    assert v6["query"] == "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.b.b.b.8.b.d.0.1.0.0.2.v6.bl.test"
    assert v6["reason"] == "2001:db8:bbbb::20 sent spam"
    assert records(report, "dnsbl")["zen.bl.test"]["codes"] == ["127.0.0.3"]
    canary = "2.0.0.0.0.0.f.7.f.f.f.f" + ".0" * 20 + ".v6.bl.test."
    assert dns_server.count(canary, "A") == 1
    assert dns_server.count("2.0.0.127.v6.bl.test.", "A") == 0  # the IPv6 test point, not the IPv4 one


async def test_an_unknown_list_without_an_ipv6_test_point_is_not_trusted_for_ipv6(
    dns_server: DnsServer,
) -> None:
    report = await probe(dns_server, CLEAN_IP6, "spam.bl.test", "v6.bl.test")
    spam = records(report, "dnsbl")["spam.bl.test"]
    assert spam["status"] == "error"
    assert spam["error"].startswith("did not list its test point ::ffff:7f00:2 (NXDOMAIN)")


async def test_a_list_whose_ipv6_half_lists_everything_is_broken_for_ipv6_only(dns_server: DnsServer) -> None:
    v6 = records(await probe(dns_server, CLEAN_IP6, "v6wild.bl.test"), "dnsbl")["v6wild.bl.test"]
    assert v6["status"] == "broken"
    assert v6["error"].startswith("lists its test point ::ffff:7f00:1")
    v4 = records(await probe(dns_server, CLEAN_IP, "v6wild.bl.test"), "dnsbl")["v6wild.bl.test"]
    assert v4["status"] == "clean"


async def test_an_ipv4_mapped_address_is_checked_as_ipv4(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "::ffff:198.51.100.20", "zen.bl.test")
    assert records(report, "dnsbl")["zen.bl.test"]["query"] == "20.100.51.198.zen.bl.test"
    assert result(report)["status"] == "fail"


# -- concurrency, cache, input -------------------------------------------------------------------------------


async def test_canaries_and_ip_queries_are_asked_at_once(make_dns_server: MakeServer) -> None:
    server = make_dns_server(ZONES_DIR / "bl.test.zone", delay=0.3)
    report = await probe(server, LISTED_IP, "zen.bl.test", "clean.bl.test", "spam.bl.test")
    check = report.check("dnsbl")
    assert check is not None and check.status == Status.FAIL
    # 9 A queries (3 lists x IP + 2 test points), then the TXT reasons: 2 round trips, not 11
    assert check.elapsed_ms < 0.3 * 3 * 1000
    sent = [q.at for q in server.queries if q.qname.endswith(".bl.test.") and q.qtype == "A"]
    assert len(sent) == 9
    assert max(sent) - min(sent) < 0.15


async def test_identical_queries_are_asked_once(dns_server: DnsServer) -> None:
    await probe(dns_server, LISTED_IP, "zen.bl.test", "zen.bl.test.", "ZEN.bl.test")
    assert dns_server.count("2.0.0.127.zen.bl.test.", "A") == 1
    assert dns_server.count("20.100.51.198.zen.bl.test.", "A") == 1


async def test_private_addresses_are_skipped_without_a_query(dns_server: DnsServer) -> None:
    data = result(await probe(dns_server, "10.1.2.3", "zen.bl.test"))
    assert data["status"] == "skip"
    assert "private, loopback or reserved" in data["summary"]
    assert not any(q.qname.endswith("bl.test.") for q in dns_server.queries)


async def test_no_zone_selected_is_a_skip(dns_server: DnsServer) -> None:
    data = result(await probe(dns_server, CLEAN_IP, "domain:list.dbl.test"))
    assert data["status"] == "skip"
    assert data["summary"] == "no IP blocklist selected"


@pytest.mark.parametrize("value", ["ftp:zen.bl.test", "bad zone.example", "a..b", "zone\r\n.example"])
def test_bad_dnsbl_values_are_input_errors(value: str) -> None:
    with pytest.raises(InputError):
        blocklist_options.parse_zone_option(value)


@pytest.mark.parametrize("value", ["", "key with spaces", "key.with.dots", "k" * 64, "ключ"])
def test_bad_dqs_keys_are_input_errors(value: str) -> None:
    with pytest.raises(InputError):
        blocklist_options.validate_key(value)


async def test_a_bad_dqs_key_makes_the_check_an_error_not_a_query(dns_server: DnsServer) -> None:
    data = result(await probe(dns_server, CLEAN_IP, "zen.bl.test", dqs_key="evil.example.com"))
    assert data["status"] == "error"
    assert data["summary"].startswith("invalid --dqs-key")
    assert not any(q.qname.endswith("bl.test.") for q in dns_server.queries)


# -- the real data, on copies of real zones ------------------------------------------------------------------


async def test_real_lists_meanings_and_removal_urls(make_dns_server: MakeServer) -> None:
    server = make_dns_server(REAL_LISTS)
    report = await probe(server, LISTED_IP, "zen.spamhaus.org", "bl.spamcop.net", "dnsbl-3.uceprotect.net")
    by_zone = records(report, "dnsbl")
    zen = by_zone["zen.spamhaus.org"]
    assert zen["status"] == "listed"
    assert zen["meaning"] == (
        "SBL: Spamhaus Blocklist, a verified spam source or spam operation; "
        "PBL (ISP maintained): an end-user address that should not send mail directly to MX"
    )
    assert zen["url"] == "https://check.spamhaus.org/results/?query=198.51.100.20"
    assert zen["reason"] == "https://check.spamhaus.org/sbl/query/SBL999999"
    assert by_zone["bl.spamcop.net"]["url"] == "https://www.spamcop.net/bl.shtml?198.51.100.20"
    assert by_zone["dnsbl-3.uceprotect.net"]["status"] == "clean"
    data = result(report)
    assert data["status"] == "fail"
    assert data["summary"] == (
        f"{LISTED_IP} is listed on 2 of 3 blocklists: zen.spamhaus.org (SBL, PBL (ISP maintained)), "
        "bl.spamcop.net (SpamCop)"
    )


async def test_a_listing_on_a_low_severity_list_only_warns(make_dns_server: MakeServer) -> None:
    server = make_dns_server(REAL_LISTS)
    report = await probe(server, "198.51.100.40", "zen.spamhaus.org", "dnsbl-3.uceprotect.net")
    assert records(report, "dnsbl")["dnsbl-3.uceprotect.net"]["severity"] == "warn"
    data = result(report)
    assert data["status"] == "warn"
    assert data["summary"].startswith("198.51.100.40 is listed only on lists few receivers act on")


async def test_real_ipv4_only_list_is_skipped_for_ipv6(make_dns_server: MakeServer) -> None:
    server = make_dns_server(REAL_LISTS)
    report = await probe(server, LISTED_IP6, "zen.spamhaus.org", "bl.spamcop.net")
    by_zone = records(report, "dnsbl")
    assert by_zone["bl.spamcop.net"]["status"] == "skipped"
    assert by_zone["bl.spamcop.net"]["note"] == "this list holds IPv4 addresses only"
    assert by_zone["zen.spamhaus.org"]["meaning"].startswith("CSS: Combined Spam Sources")
    assert not any("spamcop" in q.qname for q in server.queries)


async def test_spamhaus_public_resolver_refusal(make_dns_server: MakeServer) -> None:
    server = make_dns_server(REAL_LISTS / "refusing")
    report = await probe(server, LISTED_IP, "zen.spamhaus.org")
    zen = records(report, "dnsbl")["zen.spamhaus.org"]
    assert zen["status"] == "error"
    assert zen["error"].startswith("refused (127.255.255.254): the list refused your resolver (a public")
    assert zen["error"].endswith("use your own resolver or a Spamhaus DQS key (--dqs-key)")
    data = result(report)
    assert data["status"] == "error"
    assert "--dqs-key KEY" in data["fix"]


async def test_spamhaus_silent_says_what_was_seen_not_a_refusal(make_dns_server: MakeServer) -> None:
    """NXDOMAIN for the test point of a list that blocks public resolvers is likely, not proven, a refusal."""
    server = make_dns_server([REAL_LISTS / "bl.spamcop.net.zone", {"zen.spamhaus.org.": ""}])
    report = await probe(server, CLEAN_IP, "zen.spamhaus.org", "bl.spamcop.net")
    zen = records(report, "dnsbl")["zen.spamhaus.org"]
    assert zen["status"] == "error"
    assert zen["error"] == (
        "did not list its test point 127.0.0.2 (NXDOMAIN): this list refuses public and cloud resolvers, so "
        "it is probably not answering yours; use your own resolver or a Spamhaus DQS key (--dqs-key)"
    )
    data = result(report)
    assert data["status"] == "error"  # ZEN is the list most receivers use: without it, no verdict
    assert data["summary"] == (
        f"could not check {CLEAN_IP} on Spamhaus ZEN (SBL + CSS + XBL + PBL), a list most receivers use "
        "(zen.spamhaus.org did not list its test point 127.0.0.2 (NXDOMAIN): this list refuses public and "
        "cloud resolvers, so it is probably not answering yours); it is on none of the 1 other blocklists "
        "that answered"
    )
    assert "refused" not in data["summary"]
    assert "--dqs-key KEY" in data["fix"]


async def test_several_silent_lists_are_named_together(make_dns_server: MakeServer) -> None:
    silent = {
        f"{z}.": "" for z in ("zen.spamhaus.org", "sbl.spamhaus.org", "xbl.spamhaus.org", "pbl.spamhaus.org")
    }
    server = make_dns_server(silent)
    report = await probe(server, CLEAN_IP, *(z.rstrip(".") for z in silent))
    data = result(report)
    assert data["status"] == "error"
    assert data["summary"] == (
        f"could not check {CLEAN_IP}: 4 of 4 blocklists gave no usable answer (zen.spamhaus.org, "
        "sbl.spamhaus.org, xbl.spamhaus.org and 1 more did not list their test point 127.0.0.2 (NXDOMAIN): "
        "these lists refuse public and cloud resolvers, so they are probably not answering yours)"
    )


async def test_dqs_key_queries_dqs_zones_and_never_shows_the_key(make_dns_server: MakeServer) -> None:
    server = make_dns_server(REAL_LISTS)
    report = await probe(server, LISTED_IP, "zen.spamhaus.org", dqs_key=DQS_KEY.upper())
    zen = records(report, "dnsbl")["<dqs-key>.zen.dq.spamhaus.net"]
    assert zen["status"] == "listed"
    assert zen["meaning"] == "XBL: Exploits Blocklist, a hijacked or infected host (CBL data)"
    assert zen["query"] == "20.100.51.198.<key>.zen.dq.spamhaus.net"
    assert server.count(f"20.100.51.198.{DQS_KEY}.zen.dq.spamhaus.net.", "A") == 1
    assert not any(q.qname.endswith("zen.spamhaus.org.") for q in server.queries)
    assert DQS_KEY not in json.dumps(report.to_dict()).lower()


async def test_a_dead_zone_named_explicitly_is_guarded_by_its_canary(make_dns_server: MakeServer) -> None:
    server = make_dns_server([ZONES_DIR / "bl.test.zone", {"dnsbl.ahbl.org.": "* A 127.0.0.2"}])
    report = await probe(server, CLEAN_IP, "dnsbl.ahbl.org", "clean.bl.test")
    ahbl = records(report, "dnsbl")["dnsbl.ahbl.org"]
    assert ahbl["status"] == "broken"
    assert ahbl["name"] == "Abusive Hosts Blocking List (AHBL)"
    assert result(report)["status"] == "pass"


# -- every enabled zone of checks/dnsbl.toml -----------------------------------------------------------------


async def test_whole_catalogue_clean(make_dns_server: MakeServer) -> None:
    server = make_dns_server(catalogue_zones(), refuse_out_of_zone=True)
    report = await probe(server, CLEAN_IP, only=False)
    data = result(report)
    assert data["status"] == "pass", data["summary"]
    ipv4_zones = [z for z in ENABLED_IP_ZONES if z.ipv4]  # the IPv6-only list is skipped for an IPv4 address
    assert data["summary"] == f"{CLEAN_IP} is on none of the {len(ipv4_zones)} blocklists that answered"
    assert len(records(report, "dnsbl")) == len(ENABLED_IP_ZONES) >= 40
    asked = {q.qname for q in server.queries}
    dead = [z.zone for z in blocklists.catalogue().zones if not z.enabled]
    assert not [name for name in asked if any(name.endswith(f".{zone}.") for zone in dead)]


async def test_whole_catalogue_with_a_dqs_key_and_an_extra_zone(make_dns_server: MakeServer) -> None:
    zones = catalogue_zones(keys={"dqs": DQS_KEY})
    zones[f"{DQS_KEY}.authbl.dq.spamhaus.net."] += "20.100.51.198 A 127.0.0.20\n"
    server = make_dns_server([zones, ZONES_DIR / "bl.test.zone"])
    report = await probe(server, LISTED_IP, "zen.bl.test", only=False, dqs_key=DQS_KEY)
    by_zone = records(report, "dnsbl")
    assert by_zone["<dqs-key>.authbl.dq.spamhaus.net"]["meaning"].startswith("AuthBL")
    assert by_zone["zen.bl.test"]["status"] == "listed"
    assert "cbl.abuseat.org" not in by_zone  # with DQS it is the XBL query, asked once
    assert "zen.spamhaus.org" not in by_zone and "<dqs-key>.zen.dq.spamhaus.net" in by_zone
    assert result(report)["status"] == "fail"


def test_cli_json_on_the_whole_catalogue(
    make_dns_server: MakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    zones = catalogue_zones()
    zones["zen.spamhaus.org."] += (
        '20.100.51.198 A 127.0.0.4\n20.100.51.198 TXT "https://check.spamhaus.org/"\n'
    )
    server = make_dns_server(zones)
    argv = ["--ip", LISTED_IP, "--nameserver", server.address, "--check", "dnsbl", "--json"]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == ExitCode.FAILED
    out = json.loads(capsys.readouterr().out)
    (check,) = out["checks"]
    assert check["status"] == "fail"
    listed = [r for r in check["details"]["zones"] if r["status"] == "listed"]
    assert [(r["zone"], r["meaning"]) for r in listed] == [
        ("zen.spamhaus.org", "XBL: Exploits Blocklist, a hijacked or infected host (CBL data)")
    ]
    assert set(listed[0]) >= {"zone", "status", "codes", "meaning", "reason", "url", "error"}


def test_cli_exit_codes_with_only_the_given_lists(
    dns_server: DnsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--nameserver", dns_server.address, "--check", "dnsbl", "--dnsbl-only", "--json"]
    cases = [
        (CLEAN_IP, ["--dnsbl", "zen.bl.test"], ExitCode.OK, "pass"),
        (LISTED_IP, ["--dnsbl", "zen.bl.test"], ExitCode.FAILED, "fail"),
        (LISTED_IP, ["--dnsbl", "refuse.bl.test"], ExitCode.INCONCLUSIVE, "error"),
        (LISTED_IP, ["--dnsbl", "world.bl.test"], ExitCode.INCONCLUSIVE, "error"),
    ]
    for ip, zones, code, status in cases:
        with pytest.raises(SystemExit) as exited:
            main(["--ip", ip, *base, *zones])
        assert exited.value.code == code, zones
        (check,) = json.loads(capsys.readouterr().out)["checks"]
        assert check["status"] == status, zones
