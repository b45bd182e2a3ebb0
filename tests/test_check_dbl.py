"""The `dbl` check: the sending domain, the HELO name and the PTR name against domain lists served on
loopback (tests/zones/dbl.test.zone, copies of real lists in tests/zones/real-lists/, and every enabled domain
list of checks/dnsbl.toml). The rules are the dnsbl check's; these tests prove the domain side of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from servers.dns import ZONES_DIR, DnsServer
from zones.blocklists import DQS_KEY, REAL_LISTS, catalogue_zones, options, records

from mxprobe import blocklists
from mxprobe.errors import ExitCode
from mxprobe.report import Report
from mxprobe.scanner import build_target, run

MakeServer = Callable[..., DnsServer]
CLEAN_IP = "198.51.100.31"  # PTR mx.clean.example
POOL_IP = "198.51.100.30"  # PTR host30.dynpool.example, whose domain list.dbl.test lists
SUPPORT = [ZONES_DIR / "reverse.zone", ZONES_DIR / "dbl.test.zone"]  # the PTRs, for servers of real lists


async def probe(
    server: DnsServer, domain: str, *zones: str, ip: str = CLEAN_IP, helo: str | None = None, **extra: Any
) -> Report:
    target = build_target(domain, ip=ip, helo=helo or f"mx.{domain}")
    return await run(target, options(server, *zones, check="dbl", **extra))


def result(report: Report) -> dict[str, Any]:
    check = report.check("dbl")
    assert check is not None
    return cast(dict[str, Any], check.to_dict())


async def test_clean_names_pass(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "clean.example", "domain:list.dbl.test")
    data = result(report)
    assert data["status"] == "pass"
    assert data["details"]["domains"] == {
        "clean.example": ["domain", "from"],
        "mx.clean.example": ["helo", "ptr"],
    }
    assert (
        data["summary"] == "clean.example and mx.clean.example are on none of the 1 blocklists that answered"
    )
    assert {r["status"] for r in records(report, "dbl").values()} == {"clean"}


async def test_listed_sending_domain_fails(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "spammy.example", "domain:list.dbl.test", helo="mx.clean.example")
    listed = records(report, "dbl")["list.dbl.test spammy.example"]
    assert listed["status"] == "listed"
    assert listed["sources"] == ["domain", "from"]
    assert listed["reason"] == "spammy.example advertised in spam"
    assert listed["codes"] == ["127.0.0.2"]
    data = result(report)
    assert data["status"] == "fail"
    assert (
        data["summary"] == "spammy.example is listed on 1 of 1 blocklists: list.dbl.test for spammy.example"
    )
    assert report.exit_code == ExitCode.FAILED


async def test_a_helo_name_is_found_through_its_registered_domain(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "clean.example", "domain:list.dbl.test", helo="mail.spammy.example")
    helo = records(report, "dbl")["list.dbl.test mail.spammy.example"]
    assert helo["status"] == "listed"
    assert helo["sources"] == ["helo"]
    assert helo["query"] == "spammy.example.list.dbl.test"
    assert helo["note"] == "listed as spammy.example"
    assert result(report)["status"] == "fail"


async def test_the_ptr_domain_is_checked(dns_server: DnsServer) -> None:
    report = await probe(
        dns_server, "clean.example", "domain:list.dbl.test", ip=POOL_IP, helo="mx.clean.example"
    )
    ptr = records(report, "dbl")["list.dbl.test host30.dynpool.example"]
    assert ptr["status"] == "listed"
    assert ptr["sources"] == ["ptr"]
    assert ptr["reason"] == "dynamic address pool"
    assert result(report)["status"] == "fail"


async def test_an_address_literal_helo_is_not_asked(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "clean.example", "domain:list.dbl.test", helo=f"[{CLEAN_IP}]")
    assert "[198.51.100.31]" not in result(report)["details"]["domains"]


async def test_uribl_refusal_is_an_error_never_a_listing(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "spammy.example", "domain:uribl.dbl.test", "domain:list.dbl.test")
    refused = [r for r in records(report, "dbl").values() if r["zone"] == "uribl.dbl.test"]
    assert refused and {r["status"] for r in refused} == {"error"}
    assert refused[0]["error"] == (
        "refused (127.0.0.1): the list refused your resolver (too many queries, or a public resolver): "
        "use your own resolver"
    )
    data = result(report)
    assert data["status"] == "fail"  # list.dbl.test still lists spammy.example
    assert "refused the query: uribl.dbl.test" in data["summary"]


async def test_a_domain_list_that_lists_everything_is_broken(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "clean.example", "domain:world.dbl.test", "domain:list.dbl.test")
    world = records(report, "dbl")["world.dbl.test clean.example"]
    assert world["status"] == "broken"
    assert world["error"].startswith("lists its test point invalid")
    assert result(report)["status"] == "pass"


async def test_a_domain_list_without_its_test_point_proves_nothing(dns_server: DnsServer) -> None:
    report = await probe(dns_server, "clean.example", "domain:quiet.dbl.test")
    quiet = records(report, "dbl")["quiet.dbl.test clean.example"]
    assert quiet["error"].startswith("did not list its test point test (NXDOMAIN): the list is down")
    assert result(report)["status"] == "error"


async def test_details_put_listings_first_and_name_the_domain_next_to_the_zone(dns_server: DnsServer) -> None:
    zones = ["domain:quiet.dbl.test", "domain:world.dbl.test", "domain:list.dbl.test"]
    report = await probe(dns_server, "spammy.example", *zones, helo="mx.clean.example")
    shown = result(report)["details"]["zones"]
    assert [(z["zone"], z["domain"], z["status"]) for z in shown] == [
        ("list.dbl.test", "spammy.example", "listed"),
        ("world.dbl.test", "spammy.example", "broken"),
        ("world.dbl.test", "mx.clean.example", "broken"),
        ("quiet.dbl.test", "spammy.example", "error"),
        ("quiet.dbl.test", "mx.clean.example", "error"),
        ("list.dbl.test", "mx.clean.example", "clean"),
    ]
    assert list(shown[0])[:8] == ["zone", "domain", "status", "codes", "meaning", "reason", "error", "url"]
    assert "ip" not in shown[0]


async def test_silent_domain_lists_with_different_test_points(make_dns_server: MakeServer) -> None:
    server = make_dns_server([{"multi.uribl.com.": "", "multi.surbl.org.": ""}, *SUPPORT])
    report = await probe(server, "clean.example", "domain:multi.uribl.com", "domain:multi.surbl.org")
    data = result(report)
    assert data["status"] == "error"
    assert data["summary"].endswith(
        "(multi.uribl.com and multi.surbl.org did not list their test points (NXDOMAIN): these lists refuse "
        "public and cloud resolvers, so they are probably not answering yours)"
    )
    error = records(report, "dbl")["multi.uribl.com clean.example"]["error"]
    assert error.startswith("did not list its test point test.uribl.com (NXDOMAIN): this list refuses public")


async def test_ip_lists_are_not_asked_about_domains(dns_server: DnsServer) -> None:
    data = result(await probe(dns_server, "clean.example", "zen.bl.test"))
    assert data["status"] == "skip"
    assert data["summary"] == "no domain blocklist selected"


# -- the real data, on copies of real zones ------------------------------------------------------------------


async def test_spamhaus_dbl_codes_and_wildcard(make_dns_server: MakeServer) -> None:
    server = make_dns_server([REAL_LISTS, *SUPPORT])
    report = await probe(server, "abused.example", "domain:dbl.spamhaus.org", helo="mail.spammy.example")
    by_name = records(report, "dbl")
    abused = by_name["dbl.spamhaus.org abused.example"]
    assert abused["meaning"] == "DBL: abused legitimate domain (spam)"
    assert abused["url"] == "https://check.spamhaus.org/results/?query=abused.example"
    helo = by_name["dbl.spamhaus.org mail.spammy.example"]
    assert helo["query"] == "mail.spammy.example.dbl.spamhaus.org"  # DBL is wildcarded: the name as is
    assert helo["meaning"] == "DBL: low-reputation domain (spam)"
    assert server.count("spammy.example.dbl.spamhaus.org.", "A") == 0
    assert result(report)["status"] == "fail"


async def test_spamhaus_dbl_ip_query_error_code_is_not_a_listing(make_dns_server: MakeServer) -> None:
    server = make_dns_server([REAL_LISTS, *SUPPORT])
    report = await probe(server, "weird.example", "domain:dbl.spamhaus.org", helo="mx.clean.example")
    weird = records(report, "dbl")["dbl.spamhaus.org weird.example"]
    assert weird["status"] == "error"
    assert (
        weird["error"]
        == "refused (127.0.1.255): an IP address was queried against a domain list (DBL error code)"
    )
    data = result(report)
    assert data["status"] == "error"  # the only list could not answer for one of the names
    assert data["summary"].endswith("gave no usable answer (refused the query: dbl.spamhaus.org)")


async def test_uribl_bitmask_meanings(make_dns_server: MakeServer) -> None:
    server = make_dns_server([REAL_LISTS, *SUPPORT])
    report = await probe(server, "grey.example", "domain:multi.uribl.com", helo="www.spammy.example")
    by_name = records(report, "dbl")
    assert by_name["multi.uribl.com grey.example"]["meaning"] == "URIBL grey: domain of bulk mail senders"
    helo = by_name["multi.uribl.com www.spammy.example"]
    assert helo["meaning"] == "URIBL black: domain seen in spam"
    assert helo["note"] == "listed as spammy.example"


async def test_real_uribl_refusal(make_dns_server: MakeServer) -> None:
    server = make_dns_server([REAL_LISTS / "refusing", *SUPPORT])
    report = await probe(server, "spammy.example", "domain:multi.uribl.com")
    assert {r["status"] for r in records(report, "dbl").values()} == {"error"}
    data = result(report)
    assert data["status"] == "error"
    assert "own recursive resolver" in data["fix"]


async def test_dqs_dbl_hides_the_key(make_dns_server: MakeServer) -> None:
    server = make_dns_server([REAL_LISTS, *SUPPORT])
    report = await probe(server, "clean.example", "domain:dbl.spamhaus.org", dqs_key=DQS_KEY)
    assert {r["zone"] for r in records(report, "dbl").values()} == {"<dqs-key>.dbl.dq.spamhaus.net"}
    assert server.count(f"dbltest.com.{DQS_KEY}.dbl.dq.spamhaus.net.", "A") == 1
    assert result(report)["status"] == "pass"
    assert DQS_KEY not in json.dumps(report.to_dict())


async def test_whole_catalogue_of_domain_lists(make_dns_server: MakeServer) -> None:
    server = make_dns_server([catalogue_zones(), *SUPPORT])
    report = await probe(server, "clean.example", only=False)
    enabled = [z for z in blocklists.catalogue().zones if z.kind == "domain" and z.enabled and not z.key]
    data = result(report)
    assert data["status"] == "pass", data["summary"]
    assert data["details"]["counts"]["clean"] == len(enabled)
    assert not any("sorbs" in q.qname or "ahbl" in q.qname for q in server.queries)
