"""checks/dnsbl.toml is reviewed data: every zone well formed, dead zones kept disabled with a date and a
reason, the refusal codes users trip over present, and the loader refusing malformed entries."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest

from mxprobe import blocklists
from mxprobe import target as validate
from mxprobe.blocklists import DataError, Zone

CATALOGUE = blocklists.catalogue()
ZONES = CATALOGUE.zones


def zone(name: str, kind: str = "ip") -> Zone:
    found = CATALOGUE.find(name, kind)
    assert found is not None, f"{name} ({kind}) is missing from checks/dnsbl.toml"
    return found


def test_at_least_40_enabled_ip_zones_without_a_key() -> None:
    assert len([z for z in ZONES if z.kind == "ip" and z.enabled and not z.key]) >= 40


def test_domain_lists_of_the_reference_are_present() -> None:
    for name in ("dbl.spamhaus.org", "multi.uribl.com", "multi.surbl.org", "{key}.zrd.dq.spamhaus.net"):
        assert zone(name, "domain").enabled


@pytest.mark.parametrize("entry", ZONES, ids=lambda z: f"{z.kind}:{z.zone}")
def test_every_zone_is_well_formed(entry: Zone) -> None:
    assert validate.domain(entry.zone.replace("{key}", "key"), "zone") == entry.zone.replace("{key}", "key")
    assert entry.name and entry.lists and entry.source
    assert entry.url.startswith(("https://", "http://"))
    if entry.enabled:
        assert entry.access, "an enabled zone says its terms of use"
        assert not entry.dead
    else:
        assert entry.reason
    if entry.kind == "ip":
        assert entry.ipv4 or entry.ipv6
    overlap = set(entry.codes.exact) & set(entry.refusals.exact)
    assert not overlap, "a code cannot be both a listing and a refusal"
    for code in entry.codes.exact:
        assert not entry.info.match(str(ipaddress.IPv4Address(code)))


@pytest.mark.parametrize("entry", [z for z in ZONES if z.dead], ids=lambda z: z.zone)
def test_dead_zones_are_disabled_with_a_date_and_a_reason(entry: Zone) -> None:
    assert not entry.enabled
    died = datetime.date.fromisoformat(entry.dead)
    assert datetime.date(2000, 1, 1) < died <= datetime.date.today()
    assert len(entry.reason) > 10


@pytest.mark.parametrize(
    "name",
    [
        "dnsbl.sorbs.net",
        "spam.dnsbl.sorbs.net",
        "dnsbl.ahbl.org",
        "dnsbl.njabl.org",
        "bl.spamcannibal.org",
        "rbl.megarbl.net",
        "bl.emailbasura.org",
        "dnsbl.burnt-tech.com",
        "combined.rbl.msrbl.net",
        "list.dsbl.org",
        "dnsbl.inps.de",
        "ubl.unsubscore.com",
        "ix.dnsbl.manitu.net",
    ],
)
def test_known_dead_lists_are_kept_dead(name: str) -> None:
    assert zone(name).dead and not zone(name).enabled


def test_dead_domain_lists_are_kept_dead() -> None:
    assert zone("rhsbl.sorbs.net", "domain").dead and zone("rhsbl.ahbl.org", "domain").dead


def test_spamhaus_refusal_codes_and_dqs_names() -> None:
    for name in ("zen.spamhaus.org", "sbl.spamhaus.org", "xbl.spamhaus.org", "pbl.spamhaus.org"):
        entry = zone(name)
        for code in ("127.255.255.252", "127.255.255.254", "127.255.255.255", "127.255.255.1"):
            assert entry.refusals.match(code), f"{name} {code}"
        assert entry.refuses_public_resolvers and entry.ipv6
        assert entry.dqs == "{key}." + name.replace("spamhaus.org", "dq.spamhaus.net")
    dbl = zone("dbl.spamhaus.org", "domain")
    assert dbl.refusals.match("127.0.1.255") and dbl.refusals.match("127.255.255.254")
    assert dbl.test_listed == "dbltest.com"
    assert zone("zen.spamhaus.org").meaning("127.0.0.11").startswith("PBL (Spamhaus maintained)")


def test_uri_lists_refuse_with_127_0_0_1_and_carry_their_test_points() -> None:
    uribl, surbl = zone("multi.uribl.com", "domain"), zone("multi.surbl.org", "domain")
    assert uribl.refusals.match("127.0.0.1") and surbl.refusals.match("127.0.0.1")
    assert (uribl.test_listed, surbl.test_listed) == ("test.uribl.com", "test.surbl.org")
    assert uribl.test_clean == surbl.test_clean == "invalid"
    assert (
        uribl.meaning("127.0.0.10")
        == "URIBL black: domain seen in spam; URIBL red: domain seen in recent spam, not yet reviewed"
    )


def test_keyed_zones_wait_for_their_key() -> None:
    """Abusix: the combined zones are used as soon as --abusix-key is given; the sub-lists they cover stay
    off (asking both would count one listing twice)."""
    abusix = {z.zone: z for z in ZONES if z.key == "abusix"}
    on = {name for name, z in abusix.items() if z.enabled}
    assert on == {"{key}.combined.mail.abusix.zone", "{key}.dblack.mail.abusix.zone"}
    assert all("--abusix-key" in abusix[name].reason for name in set(abusix) - on)
    assert zone("{key}.authbl.dq.spamhaus.net").enabled  # used as soon as --dqs-key is given


def test_ranges_match_narrowest_first() -> None:
    rep = zone("rep.mailspike.net")
    assert rep.meaning("127.0.0.10") == "Mailspike L5: worst reputation"
    assert rep.info.match("127.0.0.15") == "Mailspike: neutral reputation (not a listing)"
    assert rep.info.match("127.0.0.21") is None
    zrd = zone("{key}.zrd.dq.spamhaus.net", "domain")
    assert zrd.meaning("127.0.2.24").startswith("ZRD") and zrd.codes.match("127.0.2.25") is None


BASE = """
[refusal_set.s]
"127.255.255.254" = "refused"
[defaults.ip]
lists = "listed"
[defaults.domain]
lists = "listed"
"""


GOOD = {"zone": '"a.example"', "name": '"A"', "kind": '"ip"', "enabled": "true", "lists": '"x"'}


def entry(**fields: str) -> str:
    """A [[zone]] table: GOOD with fields replaced (a value of "" drops the field)."""
    merged = {**GOOD, **fields}
    return "[[zone]]\n" + "".join(f"{k} = {v}\n" for k, v in merged.items() if v)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (entry(colour='"red"'), "unknown field"),
        (entry(kind='"uri"'), "kind must be"),
        (entry(enabled="false"), "needs a reason"),
        (entry(codes='{"10.0.0.2" = "y"}'), "127.0.0.0/8"),
        (entry(codes='{"127.0.0.9-3" = "y"}'), "low-high"),
        (entry(refusal_sets='["t"]'), "unknown refusal set"),
        (entry(enabled='"yes"'), "enabled must be a bool"),
        (entry(zone='"{key}.a.example"'), "must say which key"),
        (entry(kind='"domain"', ipv6="true"), "ip zones only"),
        (entry(kind='"domain"', bits='{"1" = "y"}'), "powers of two"),
        (entry(zone=""), "missing zone"),
    ],
)
def test_the_loader_refuses_malformed_entries(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "dnsbl.toml"
    path.write_text(BASE + table, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        blocklists.load(path)


def test_the_loader_accepts_a_good_entry(tmp_path: Path) -> None:
    path = tmp_path / "dnsbl.toml"
    path.write_text(BASE + entry(refusal_sets='["s"]'), encoding="utf-8")
    (loaded,) = blocklists.load(path).zones
    assert loaded.refusals.match("127.255.255.254") == "refused"


def test_the_loader_refuses_a_zone_listed_twice(tmp_path: Path) -> None:
    path = tmp_path / "dnsbl.toml"
    path.write_text(BASE + entry() + entry(), encoding="utf-8")
    with pytest.raises(DataError, match="listed twice"):
        blocklists.load(path)
