"""The dkim check against DKIM keys made by the tests and served by the loopback DNS server.

Zones: `auth.test.` and below (owned by these tests). Keys are generated at test time, so the zone text is
written here and served with `make_dns_server`; nothing secret or stale is committed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from servers.dns import DnsServer

from mxprobe.checks.dkim import common_selectors
from mxprobe.checks.dkim_key import parse_key
from mxprobe.cli import main
from mxprobe.model import Status
from mxprobe.options import Options
from mxprobe.report import Report
from mxprobe.scanner import build_target, run

SENDING_IP = "192.0.2.1"  # given, so the probe never looks for this host's public address


def _spki(public: Any) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    """p= values: RSA 2048/1024, a 512-bit RSA public key (cryptography refuses to generate one, so its
    modulus is random: a verifier reads only its size), an Ed25519 key (raw 32 bytes, RFC 8463)."""
    weak = rsa.RSAPublicNumbers(65537, secrets.randbits(512) | (1 << 511) | 1).public_key()
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    return {
        "rsa2048": _spki(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()),
        "rsa1024": _spki(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()),
        "rsa512": _spki(weak),
        "ed25519": base64.b64encode(
            ed.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode(),
    }


def _txt(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


@pytest.fixture
def auth_dns(make_dns_server: Callable[..., DnsServer], keys: dict[str, str]) -> DnsServer:
    """dkim.auth.test (DMARC adkim=s) with one selector per case; news.auth.test has no DMARC of its own."""
    dkim = {
        "s1": f"v=DKIM1; k=rsa; t=s; p={keys['rsa2048']}",
        "s1024": f"v=DKIM1; k=rsa; p={keys['rsa1024']}",
        "weak": f"v=DKIM1; k=rsa; p={keys['rsa512']}",
        "ed": f"v=DKIM1; k=ed25519; p={keys['ed25519']}",
        "revoked": "v=DKIM1; k=rsa; p=",
        "broken": f"v=DKIM1; p={keys['rsa2048']}; p={keys['rsa1024']}",
        "garbage": "v=DKIM1; this is not a tag list",
        "testing": f"v=DKIM1; t=y; p={keys['rsa2048']}",
        "sha1": f"v=DKIM1; h=sha1; p={keys['rsa2048']}",
        "badb64": "v=DKIM1; p=MIIB!!notbase64",
        "notemail": f"v=DKIM1; s=tlsrpt; p={keys['rsa2048']}",
    }
    lines = [f"{sel}._domainkey TXT {_txt(text)}" for sel, text in dkim.items()]
    lines += [
        "k2._domainkey CNAME dkim2.provider",
        f"dkim2.provider TXT {_txt('v=DKIM1; k=rsa; p=' + keys['rsa2048'])}",
    ]
    auth = "\n".join(
        [
            '_dmarc TXT "v=DMARC1; p=reject; adkim=r"',
            '_dmarc.dkim TXT "v=DMARC1; p=none; adkim=s"',
            f"google._domainkey.found TXT {_txt('v=DKIM1; k=rsa; p=' + keys['rsa2048'])}",
            f"selector1._domainkey.found TXT {_txt('v=DKIM1; p=')}",
            f"default._domainkey.edonly TXT {_txt('v=DKIM1; k=ed25519; p=' + keys['ed25519'])}",
            '*._domainkey.wild TXT "v=spf1 -all"',
            'none TXT "v=spf1 -all"',
            f"s1._domainkey.news TXT {_txt('v=DKIM1; p=' + keys['rsa2048'])}",
            f"default._domainkey.found2 TXT {_txt('v=DKIM1; p=' + keys['rsa512'])}",
            f"google._domainkey.found2 TXT {_txt('v=DKIM1; p=' + keys['rsa2048'])}",
            "$ORIGIN dkim.auth.test.",
            *lines,
        ]
    )
    return make_dns_server({"auth.test.": auth})


async def _probe(server: DnsServer, domain: str, *selectors: str, timeout: float = 10.0) -> Report:
    options = Options(
        nameservers=[_ns(server)], only=["dkim"], dkim_selectors=list(selectors), timeout=timeout
    )
    return await run(build_target(domain, ip=SENDING_IP), options)


def _ns(server: DnsServer) -> Any:
    from mxprobe.dns import parse_nameserver

    return parse_nameserver(server.address)


async def _dkim(server: DnsServer, domain: str, *selectors: str) -> Any:
    report = await _probe(server, domain, *selectors)
    result = report.check("dkim")
    assert result is not None
    return result


async def test_2048_bit_key_passes_with_size_flags_and_strict_alignment(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "s1")
    assert result.status == Status.PASS
    assert "s1: 2048-bit rsa" in result.summary
    assert "t=s" in result.summary
    assert "aligns with From: dkim.auth.test only (adkim=s)" in result.summary
    key = result.details["keys"][0]
    assert (key["bits"], key["key_type"], key["strict"], key["testing"]) == (2048, "rsa", True, False)
    assert result.details["alignment"]["adkim"] == "s"
    assert result.details["alignment"]["dmarc_record_at"] == "dkim.auth.test"
    assert [e.query for e in result.evidence][:1] == ["s1._domainkey.dkim.auth.test TXT"]


async def test_key_details_give_length_and_fingerprint_not_the_base64(
    auth_dns: DnsServer, keys: dict[str, str]
) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "s1")
    key = result.details["keys"][0]
    assert key["p_length"] == len(keys["rsa2048"])
    assert key["p_sha256"] == hashlib.sha256(base64.b64decode(keys["rsa2048"])).hexdigest()
    assert keys["rsa2048"] not in json.dumps(result.details)
    assert keys["rsa2048"] in result.evidence[0].answer[0]  # the record itself stays in the evidence


@pytest.mark.parametrize(
    ("pasted", "note"),
    [
        (
            "s1._domainkey",
            "--dkim-selector s1._domainkey read as selector s1 (record s1._domainkey.dkim.auth.test)",
        ),
        ("S1._domainkey.dkim.auth.test.", "read as selector s1 (record s1._domainkey.dkim.auth.test)"),
        (
            "s1._domainkey.other.test",
            "; the name given is under other.test, the domain checked is dkim.auth.test",
        ),
    ],
)
async def test_a_pasted_record_name_is_read_as_its_selector(
    auth_dns: DnsServer, pasted: str, note: str
) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", pasted)
    assert result.status == Status.PASS, result.summary
    assert result.summary.startswith("s1: 2048-bit rsa")
    assert note in result.details["notes"][0]
    assert "s1._domainkey.dkim.auth.test." in {q.qname for q in auth_dns.queries}
    assert not any("_domainkey._domainkey" in q.qname for q in auth_dns.queries)


async def test_512_bit_key_fails(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "weak")
    assert result.status == Status.FAIL
    assert "512-bit rsa" in result.summary
    assert "factored" in result.fix and "2048-bit RSA key" in result.fix


async def test_1024_bit_key_warns(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "s1024")
    assert result.status == Status.WARN
    assert result.details["keys"][0]["bits"] == 1024
    assert "2048" in result.fix


async def test_ed25519_alone_warns_that_many_receivers_cannot_verify_it(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "ed")
    assert result.status == Status.WARN
    assert result.details["keys"][0]["key_type"] == "ed25519"
    assert "only Ed25519" in result.summary


async def test_ed25519_next_to_rsa_passes(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "ed", "s1")
    assert result.status == Status.PASS
    assert {k["key_type"] for k in result.details["keys"]} == {"ed25519", "rsa"}


@pytest.mark.parametrize(
    ("selector", "words"),
    [
        ("revoked", "revoked (empty p=)"),
        ("broken", "duplicate tag"),
        ("garbage", "malformed tag"),
        ("sha1", "only SHA-1"),
        ("badb64", "not valid base64"),
        ("notemail", "not for email"),
    ],
)
async def test_unusable_given_key_fails(auth_dns: DnsServer, selector: str, words: str) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", selector)
    assert result.status == Status.FAIL, result.summary
    assert words in result.summary + result.fix
    (key,) = result.details["keys"]
    assert key["status"] == "fail"  # the key's details agree with the verdict ...
    assert words in " ".join(key["problems"])  # ... and name the problem
    assert "0-bit" not in result.summary


async def test_invalid_base64_is_said_in_the_summary(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "badb64")
    assert result.summary.startswith("badb64: p= is not valid base64 (15 characters): the key cannot be read")


async def test_testing_flag_warns(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "testing")
    assert result.status == Status.WARN
    assert "t=y" in result.summary
    assert result.details["keys"][0]["testing"] is True


async def test_missing_given_selector_fails_with_the_name_asked(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "nosuch")
    assert result.status == Status.FAIL
    assert "nosuch: no key" in result.summary
    assert any(
        e.query == "nosuch._domainkey.dkim.auth.test TXT" and e.rcode == "NXDOMAIN" for e in result.evidence
    )


async def test_selector_behind_a_cname_is_followed(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "dkim.auth.test", "k2")
    assert result.status == Status.PASS
    assert any("via CNAME dkim2.provider.dkim.auth.test" in e.note for e in result.evidence)


async def test_relaxed_alignment_from_the_parents_dmarc_record(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "news.auth.test", "s1")
    assert result.status == Status.PASS
    assert result.details["alignment"]["dmarc_record_at"] == "auth.test"
    assert "anywhere under auth.test (adkim=r)" in result.summary


async def test_common_selectors_are_all_asked_at_once_and_found_keys_reported(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "found.auth.test")
    selectors = common_selectors()
    assert len(selectors) >= 40 and {"google", "selector1", "selector2", "k1", "s1", "default"} <= set(
        selectors
    )
    asked = {q.qname for q in auth_dns.queries if q.qname.endswith("._domainkey.found.auth.test.")}
    assert asked == {f"{s}._domainkey.found.auth.test." for s in selectors}
    # a revoked selector next to a live one is normal key rotation, not a problem
    assert result.status == Status.PASS
    assert [k["selector"] for k in result.details["keys"]] == ["google", "selector1"]
    assert "selector1: revoked" in result.summary
    revoked = result.details["keys"][1]
    assert revoked["status"] == "skip" and revoked["revoked"] is True
    assert revoked["problems"][0].startswith("revoked (empty p=)")
    assert "revoked" not in result.fix
    assert result.details["selectors_source"] == "dkim-selectors.txt"


async def test_a_found_weak_key_fails_even_when_a_good_one_exists(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "found2.auth.test")
    assert result.status == Status.FAIL
    assert "512-bit" in result.summary


async def test_only_ed25519_found_warns(auth_dns: DnsServer) -> None:
    result = await _dkim(auth_dns, "edonly.auth.test")
    assert result.status == Status.WARN


@pytest.mark.parametrize("domain", ["none.auth.test", "wild.auth.test"])
async def test_no_selector_found_warns_and_says_how_to_find_it(auth_dns: DnsServer, domain: str) -> None:
    result = await _dkim(auth_dns, domain)
    assert result.status == Status.WARN
    assert "no DKIM key found" in result.summary
    assert "--dkim-selector" in result.fix and "s= tag" in result.fix
    assert result.details["keys"] == []  # a wildcard SPF TXT under _domainkey is not taken for a key


async def test_dns_failure_is_an_error_not_a_missing_key(
    make_dns_server: Callable[..., DnsServer], keys: dict[str, str]
) -> None:
    server = make_dns_server({"auth.test.": ""}, faults={"*._domainkey.down.auth.test.": "servfail"})
    result = await _dkim(server, "down.auth.test")
    assert result.status == Status.ERROR
    given = await _dkim(server, "down.auth.test", "s1")
    assert given.status == Status.ERROR
    assert "s1: no answer" in given.summary


async def test_a_revoked_key_found_alone_warns_in_its_details_too(
    make_dns_server: Callable[..., DnsServer],
) -> None:
    server = make_dns_server({"auth.test.": 'selector1._domainkey.gone TXT "v=DKIM1; k=rsa; p="'})
    result = await _dkim(server, "gone.auth.test")
    assert result.status == Status.WARN
    assert result.summary == "selector1: revoked (empty p=); no usable key"
    assert result.details["keys"][0]["status"] == "warn"


def test_parse_key_reads_notes_services_and_hashes() -> None:
    key = parse_key("x", "x._domainkey.a.test", "v=DKIM1; h=sha256:sha1; s=email; n=hello; p=")
    assert (
        key.revoked
        and key.hashes == ["sha256", "sha1"]
        and key.services == ["email"]
        and key.notes == "hello"
    )
    late = parse_key("x", "x._domainkey.a.test", "p=; v=DKIM1")
    assert late.status == Status.WARN and "first tag" in late.problems[0]
    wrong = parse_key("x", "x._domainkey.a.test", "v=DKIM2; p=")
    assert wrong.status == Status.FAIL


def test_cli_shows_key_size_flags_and_alignment(
    auth_dns: DnsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["dkim.auth.test", "--ip", SENDING_IP, "--nameserver", auth_dns.address, "--check", "dkim"]
    with pytest.raises(SystemExit) as good:
        main([*args, "--dkim-selector", "s1", "--json"])
    data = json.loads(capsys.readouterr().out)
    (check,) = data["checks"]
    assert (good.value.code, check["id"], check["status"]) == (0, "dkim", "pass")
    assert "2048-bit rsa, t=s" in check["summary"] and "adkim=s" in check["summary"]
    with pytest.raises(SystemExit) as weak:
        main([*args, "--dkim-selector", "weak"])
    text = capsys.readouterr().out
    assert weak.value.code == 1
    assert "512-bit" in text
