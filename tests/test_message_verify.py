"""`mxprobe explain --check` on a delivered message: DKIM, ARC, SPF and DMARC verified again against the
loopback DNS server (keys published by `messaging.zones()`), the receiver's verdict compared, the delivering
IP checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dkim
import pytest
from messaging import GOOD_RESULTS, OTHER_IP, SENDER_IP, core, gmail, good, key, sign, submitted, zones
from servers.dns import DnsServer
from typer.testing import CliRunner

from mxprobe.cli import app

ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}


@pytest.fixture
def server(make_dns_server: Callable[..., DnsServer]) -> DnsServer:
    return make_dns_server([zones()])


def explain(server: DnsServer, data: bytes, *args: str) -> Any:
    flags = ["--check", "--nameserver", server.address, "--timeout", "8"]
    return CliRunner().invoke(app, ["explain", "-", *flags, *args], input=data, env=ENGLISH)


def report(server: DnsServer, data: bytes) -> tuple[int, dict[str, Any]]:
    result = explain(server, data, "--json")
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def test_a_good_message_passes_then_and_now(server: DnsServer) -> None:
    code, obj = report(server, good())
    assert obj["kind"] == "message"
    [sig] = obj["now"]["dkim"]
    assert (sig["result"], sig["body_hash"], sig["header_signature"], sig["key_bits"]) == (
        "pass",
        "pass",
        "pass",
        2048,
    )
    assert sig["d"] == "msg.test" and sig["s"] == "sel1" and sig["aligned"] is True
    assert obj["now"]["spf"]["result"] == "pass" and obj["now"]["dmarc"]["result"] == "pass"
    assert obj["now"]["dmarc"]["policy"] == "reject"
    assert obj["delivering"] == {"ip": SENDER_IP, "helo": "mail.msg.test", "ptr": "mail.msg.test",
                                 "receiver": "Google", "by": "mx.google.com"}  # fmt: skip
    assert obj["differences"] == [] and code == 0, obj


def test_one_byte_of_body_changed_fails_the_body_hash_now_and_names_the_cause(server: DnsServer) -> None:
    data = good().replace(b"see you tomorrow", b"see you tomorroW")
    code, obj = report(server, data)
    [sig] = obj["now"]["dkim"]
    assert (sig["result"], sig["body_hash"], sig["header_signature"]) == ("fail", "fail", "pass")
    assert sig["reason"] == "body hash did not verify"
    [diff] = obj["differences"]
    assert diff["method"] == "dkim" and diff["then"] == "pass" and diff["now"].startswith("fail (body hash")
    assert "changed after" in diff["likely_cause"]
    assert obj["now"]["dmarc"]["result"] == "pass"  # SPF still passes aligned
    assert code == 1
    text = explain(server, data).stdout
    assert "fail (body hash did not verify)" in text and "Then and now differ" in text


@pytest.mark.parametrize(
    ("selector", "reason"),
    [("gone", "no key for signature (key record missing)"), ("old", "key revoked (empty p=)")],
    ids=["missing-key", "revoked-key"],
)
def test_a_missing_or_revoked_key_is_a_permerror_and_says_why(
    server: DnsServer, selector: str, reason: str
) -> None:
    data = gmail(submitted(sign(core(), selector=selector)), GOOD_RESULTS)
    code, obj = report(server, data)
    [sig] = obj["now"]["dkim"]
    assert (sig["result"], sig["reason"]) == ("permerror", reason)
    assert sig["evidence"][0]["query"] == f"{selector}._domainkey.msg.test TXT"
    [diff] = obj["differences"]
    assert "removed, revoked or rotated" in diff["likely_cause"]
    assert code == 1


def test_an_unaligned_d_passes_dkim_but_not_dmarc(server: DnsServer) -> None:
    results = ("dkim=pass header.i=@esp.test header.s=esp; spf=pass smtp.mailfrom=bounce@esp.test;"
               " dmarc=fail (p=REJECT sp=REJECT dis=QUARANTINE) header.from=msg.test")  # fmt: skip
    data = gmail(submitted(sign(core(), "esp.test", "esp", "esp"), "bounce@esp.test"), results)
    code, obj = report(server, data)
    [sig] = obj["now"]["dkim"]
    assert (sig["result"], sig["d"], sig["aligned"]) == ("pass", "esp.test", False)
    assert obj["now"]["spf"]["result"] == "pass" and obj["now"]["spf"]["aligned"] is False
    dmarc = obj["now"]["dmarc"]
    assert (dmarc["result"], dmarc["spf_aligned"], dmarc["dkim_aligned"], dmarc["disposition"]) == (
        "fail",
        False,
        False,
        "reject",
    )
    assert obj["differences"] == [] and code == 1
    assert any("quarantined the message" in n for n in obj["notes"])  # Gmail's dis=QUARANTINE
    assert [c["id"] for c in obj["checks"]].count("dmarc") == 2  # the From and the Return-Path domains
    text = explain(server, data).stdout
    assert "sign with d=msg.test" in text and "dmarc (esp.test)" in text and "dmarc (msg.test)" in text


def test_spf_fails_from_an_unlisted_ip(server: DnsServer) -> None:
    results = GOOD_RESULTS.replace("spf=pass", "spf=fail").replace("203.0.113.25", OTHER_IP)
    data = gmail(submitted(sign(core())), results, ip=OTHER_IP, helo="other.example.test", ptr="unknown")
    code, obj = report(server, data)
    assert obj["delivering"]["ip"] == OTHER_IP
    assert obj["now"]["spf"]["result"] == "fail" and obj["now"]["spf"]["mailfrom"]["domain"] == "msg.test"
    assert obj["now"]["dmarc"]["result"] == "pass"  # DKIM carries it
    checks = {c["id"]: c for c in obj["checks"]}
    assert checks["ptr"]["status"] == "fail"
    assert code == 1


def test_an_arc_sealed_message_forwarded_by_a_list(server: DnsServer) -> None:
    original = submitted(sign(core()))
    # The list checked the original, then added a footer and a subject tag: the author's DKIM breaks.
    arrived = b"Authentication-Results: lists.msg.test; dkim=pass header.d=msg.test; spf=pass\r\n" + original
    edited = arrived.replace(b"Subject: ", b"Subject: [team] ") + b"-- \r\nteam mailing list\r\n"
    seal = dkim.arc_sign(edited, b"list", b"lists.msg.test", key("list")[0], b"lists.msg.test")
    listed = b"".join(seal) + edited
    results = ("arc=pass (i=1 spf=pass spfdomain=msg.test dkim=pass dkdomain=msg.test dmarc=pass"
               " fromdomain=msg.test); dkim=fail header.i=@msg.test header.s=sel1; spf=pass"
               " smtp.mailfrom=alice@msg.test; dmarc=pass header.from=msg.test")  # fmt: skip
    code, obj = report(server, gmail(listed, results))
    assert obj["arc"]["chain_valid"] == "pass", obj["arc"]
    [arc_set] = obj["arc"]["sets"]
    assert (arc_set["instance"], arc_set["sealer"], arc_set["cv"]) == (1, "lists.msg.test", "none")
    [sig] = obj["now"]["dkim"]
    assert sig["result"] == "fail"
    assert code == 1


def test_headers_alone_cannot_check_the_body_hash(server: DnsServer) -> None:
    data = good().split(b"\r\n\r\n", 1)[0] + b"\r\n"
    code, obj = report(server, data)
    [sig] = obj["now"]["dkim"]
    assert (sig["result"], sig["body_hash"], sig["header_signature"]) == ("neutral", "not checked", "pass")
    assert any("headers only" in n for n in obj["notes"])
    assert obj["now"]["dmarc"]["result"] == "pass" and code == 0


def test_8bit_and_broken_mime_still_verify(server: DnsServer) -> None:
    body = ("Grüße, 你好\r\n--b1\r\nContent-Type: text/plain\r\n\r\nno closing boundary\r\n").encode()
    message = core(body).replace(b"text/plain; charset=utf-8", b'multipart/mixed; boundary="b1"')
    code, obj = report(server, gmail(submitted(sign(message)), GOOD_RESULTS))
    assert obj["now"]["dkim"][0]["result"] == "pass" and code == 0


def test_the_checks_of_the_delivering_ip_equal_the_probe_of_domain_ip_helo(server: DnsServer) -> None:
    _, obj = report(server, good())
    probe = CliRunner().invoke(
        app,
        ["msg.test", "--ip", SENDER_IP, "--helo", "mail.msg.test", "--json", "--nameserver", server.address,
         "--timeout", "8"],
        env=ENGLISH,
    )  # fmt: skip
    assert probe.stdout, probe.output
    probed = {c["id"]: c for c in json.loads(probe.stdout)["checks"]}
    mine = {c["id"]: c for c in obj["checks"]}
    for check_id in ("ptr", "fcrdns", "helo", "dnsbl", "spf-record", "dmarc", "dkim"):
        a, b = dict(mine[check_id]), dict(probed[check_id])
        a.pop("elapsed_ms"), b.pop("elapsed_ms")
        if check_id != "dkim":  # the probe guesses common selectors; the message names its own
            assert a == b, check_id
    assert mine["ptr"]["status"] == "pass" and mine["fcrdns"]["status"] == "pass"


def test_a_dns_failure_is_exit_3_not_a_pass(make_dns_server: Callable[..., DnsServer]) -> None:
    faults = {"sel1._domainkey.msg.test.": "servfail", "msg.test.": "servfail"}
    server = make_dns_server([zones()], faults=faults)
    data = gmail(submitted(sign(core())), GOOD_RESULTS)
    code, obj = report(server, data)
    [sig] = obj["now"]["dkim"]
    assert sig["result"] == "temperror" and sig["evidence"][0]["rcode"] == "SERVFAIL"
    assert obj["now"]["spf"]["result"] == "temperror" and obj["now"]["dmarc"]["result"] == "temperror"
    assert code == 3


def test_the_json_holds_to_the_published_schema(server: DnsServer) -> None:
    import test_schema

    _, obj = report(server, gmail(submitted(sign(core(), selector="old")), GOOD_RESULTS))
    test_schema.validator("message").validate(obj)
    assert list(obj)[:10] == ["kind", "message", "path", "delivering", "trusted_authserv_id", "trusted_why",
                              "receiver_results", "arc", "spam", "now"]  # fmt: skip


def test_a_signature_with_l_passes_but_says_what_is_unsigned(server: DnsServer) -> None:
    message = core()
    heads = [b"from", b"to", b"subject", b"date", b"message-id"]
    signature: bytes = dkim.sign(
        message, b"sel1", b"msg.test", key("sel1")[0], length=True, include_headers=heads
    )
    appended = signature + message + b"Click here: https://evil.test/\r\n"
    _, obj = report(server, gmail(submitted(appended), GOOD_RESULTS))
    [sig] = obj["now"]["dkim"]
    assert sig["result"] == "pass" and sig["l"] == len(b"Hello Bob,\r\nsee you tomorrow.\r\n")
    assert sig["body_length"] > sig["l"] and "unsigned" in sig["notes"][0]


def test_a_copy_saved_with_bare_line_feeds_still_verifies(server: DnsServer) -> None:
    code, obj = report(server, good().replace(b"\r\n", b"\n"))
    assert obj["now"]["dkim"][0]["result"] == "pass" and code == 0


def test_a_thunderbird_or_apple_mail_export_still_verifies(server: DnsServer) -> None:
    """An mbox `From ` line and Thunderbird's X-Mozilla-* fields on top: unsigned, outside the trace."""
    prefix = b"From - Mon Nov 30 18:00:10 2026\r\nX-Mozilla-Status: 0001\r\nX-Mozilla-Status2: 00800000\r\n"
    code, obj = report(server, prefix + good())
    assert obj["now"]["dkim"][0]["result"] == "pass" and obj["delivering"]["ip"] == SENDER_IP and code == 0
