"""Issue 12 item 6: reports to hand over. `--format md|html` are self-contained (verdict, plan, evidence with
the exact queries and answers, resolver, time); html parses with no error, holds no script and no external
asset, and escapes what servers said; `-o FILE` writes any format; several domains give one report each."""

from __future__ import annotations

import json
from pathlib import Path

import html5lib
import pytest
from clirun import json_lines, run_cli
from servers.dns import DnsServer

from mxprobe.model import CheckResult, Evidence, Status
from mxprobe.registry import CheckId
from mxprobe.render.html import render_html
from mxprobe.render.md import render_md
from mxprobe.report import Report
from mxprobe.service.plan import build
from mxprobe.service.probe import RunInfo
from mxprobe.target import Target

TYPICAL = ["example.com", "--ip", "198.51.100.20", "--dnsbl", "zen.bl.test", "--dnsbl-only",
           "--check", "ptr,spf,dnsbl"]  # fmt: skip
HOSTILE = '<script>alert(1)</script><img src="http://evil.example/x.png">'


def hostile_report() -> Report:
    fix = f"Ask them to publish `1.2.0.192.in-addr.arpa. PTR mail.example.com.` {HOSTILE}"
    evidence = [Evidence("1.2.0.192.in-addr.arpa PTR", [HOSTILE], "NOERROR")]
    check = CheckResult(CheckId.PTR, Status.FAIL, f"no PTR {HOSTILE}", {"ip": "192.0.2.1"}, evidence, fix=fix)
    return Report(Target(domain="example.com", ip="192.0.2.1", ip_source="given"), [check], 12.0)


def parse_strict(page: str) -> None:
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(page)
    assert not parser.errors, parser.errors


def test_html_escapes_everything_and_has_no_script_or_asset(tmp_path: Path) -> None:
    report = hostile_report()
    out = tmp_path / "r.html"
    with out.open("w", encoding="utf-8") as f:
        render_html([(report, build(report))], RunInfo("2026-01-01T00:00:00Z", ["127.0.0.1:53"], "flag"), f)
    page = out.read_text()
    parse_strict(page)
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    tags = {element.tag for element in tree.iter()}
    assert not tags & {"script", "img", "link", "iframe", "object"}, tags
    assert not [e for e in tree.iter() if set(e.attrib) & {"src", "href", "onerror"}]
    assert "&lt;script&gt;" in page and "1.2.0.192.in-addr.arpa. PTR mail.example.com." in page
    assert "2026-01-01T00:00:00Z" in page and "127.0.0.1:53" in page


def test_markdown_escapes_what_servers_said() -> None:
    import io

    report = hostile_report()
    out = io.StringIO()
    render_md([(report, build(report))], RunInfo("2026-01-01T00:00:00Z", ["127.0.0.1:53"], "flag"), out)
    text = out.getvalue()
    assert "<script>" not in text.replace("`<script>", "")  # only inside code spans, never as markup
    assert "`1.2.0.192.in-addr.arpa. PTR mail.example.com.`" in text
    assert "`1.2.0.192.in-addr.arpa PTR`" in text  # the exact query, as evidence


@pytest.mark.parametrize("fmt", ["html", "md", "json", "text"])
def test_output_file_any_format(dns_server: DnsServer, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"
    result = run_cli(*TYPICAL, "--nameserver", dns_server.address, "--format", fmt, "-o", str(target))
    assert result.exit_code == 1 and result.stdout == ""
    written = target.read_text(encoding="utf-8")
    assert "20.100.51.198.in-addr.arpa" in written  # the evidence's query or the plan's record
    if fmt == "html":
        parse_strict(written)
        assert "<script" not in written and dns_server.address in written
    if fmt == "json":
        assert json.loads(written)["plan"][0]["actor"] == "blocklist"


def test_an_output_file_that_cannot_be_written_is_bad_input(dns_server: DnsServer, tmp_path: Path) -> None:
    result = run_cli(*TYPICAL, "--nameserver", dns_server.address, "-o", str(tmp_path / "no" / "dir.txt"))
    assert result.exit_code == 2 and "cannot write -o" in result.stderr
    assert dns_server.queries == []


def test_several_domains_give_one_report_each_as_json_lines(dns_server: DnsServer, tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# senders\nbounce.test\n\nexample.com\n")
    args = ["example.com", "mx-null.sender.test", "--domain-file", str(listing), "--ip", "192.0.2.20"]
    result = run_cli(*args, "--check", "mx", "--json", "--nameserver", dns_server.address)
    reports = json_lines(result.stdout)
    assert [r["target"]["domain"] for r in reports] == ["example.com", "mx-null.sender.test", "bounce.test"]
    assert result.exit_code == 1  # one failed
    text = run_cli(*args, "--check", "mx", "--nameserver", dns_server.address).stdout
    assert text.count("verdict: ") == 3


def test_format_and_json_must_agree(dns_server: DnsServer) -> None:
    result = run_cli(*TYPICAL, "--json", "--format", "md", "--nameserver", dns_server.address)
    assert result.exit_code == 2 and "do not go together" in result.stderr
    result = run_cli(*TYPICAL, "--format", "csv", "--nameserver", dns_server.address)
    assert result.exit_code == 2 and "for a pool" in result.stderr


def test_a_pool_writes_csv_to_a_file(dns_server: DnsServer, tmp_path: Path) -> None:
    target = tmp_path / "pool.csv"
    args = ["--ip", "198.51.100.16/30", "--check", "ptr", "--format", "csv", "-o", str(target)]
    result = run_cli(*args, "--nameserver", dns_server.address)
    assert result.exit_code == 1 and result.stdout == ""
    rows = target.read_text().splitlines()
    assert rows[0] == "ip,ptr,fcrdns,helo,listed-on,verdict"
    assert [row.split(",")[0] for row in rows[1:]] == [f"198.51.100.{n}" for n in (16, 17, 18, 19)]


def test_explain_writes_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "explained.txt"
    result = run_cli("explain", "550 5.1.1 user unknown", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text().startswith("550 5.1.1 user unknown\n")
    assert run_cli("explain", "550 x", "-o", str(tmp_path / "no" / "x")).exit_code == 2


def test_a_bad_line_of_the_domain_file_is_named_before_any_query(
    dns_server: DnsServer, tmp_path: Path
) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("example.com\n\nbad domain\n")
    result = run_cli("--domain-file", str(listing), "--ip", "192.0.2.20", "--nameserver", dns_server.address)
    assert result.exit_code == 2 and "--domain-file line 3: invalid domain" in result.stderr
    assert dns_server.queries == []
