"""Folders of bounces: `explain --file` repeated, a directory, a maildir, an mbox read as a stream, in one
process; `--summary` on bounces; the line reader of every input (CR-only, CRLF, LF; bounded lines)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mxprobe import inputs
from mxprobe.cli import app

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "bounces" / "corpus"
ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"}


def run(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=ENGLISH)


def records(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_several_files_in_one_run_each_result_names_its_file() -> None:
    a, b = CORPUS / "qmail-1.eml", CORPUS / "gmail-1.eml"
    result = run("explain", "--file", str(a), "--file", str(b), "--json")
    assert result.exit_code == 0, result.output
    files = [r["bounce"]["file"] for r in records(result)]
    assert files[0] == str(a) and files[-1] == str(b)


def test_a_directory_a_maildir_and_their_non_failures(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    shutil.copy(CORPUS / "exim-1.eml", maildir / "cur" / "1741770902.M1P1.host:2,S")
    shutil.copy(CORPUS / "kind-auto-reply-2.eml", maildir / "new" / "1741770903.M2P2.host")
    shutil.copy(CORPUS / "postfix-1.eml", maildir / "tmp" / "1741770904.M3P3.host")  # being written: skipped
    (maildir / ".hidden").write_text("x")
    result = run("explain", "--file", str(maildir), "--json")
    assert result.exit_code == 0, result.output
    found = records(result)
    kinds = [r.get("kind") or r["bounce"]["kind"] for r in found]
    assert kinds[-1] == "auto-reply" and set(kinds[:-1]) == {"bounce"}
    assert not any("1741770904" in (r.get("file") or r["bounce"]["file"]) for r in found)


def test_a_folder_summary_counts_by_cause_domain_and_reporting_mta(tmp_path: Path) -> None:
    for path in CORPUS.glob("*.eml"):
        shutil.copy(path, tmp_path / path.name)
    result = run("explain", "--file", str(tmp_path), "--summary", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["messages"] == len(list(CORPUS.glob("*.eml")))
    assert data["kinds"]["bounce"] > 100 and data["kinds"]["auto-reply"] == 2
    assert sum(c["count"] for c in data["causes"]) == data["recipients"]
    assert {"domain", "count", "share", "top_cause"} <= set(data["domains"][0])
    assert data["reporting_mtas"] and data["recipients"] >= 180
    text = run("explain", "--file", str(tmp_path), "--summary")
    assert "failed recipients by cause" in text.stdout and "by reporting MTA" in text.stdout


def test_a_single_bounce_summary() -> None:
    result = run("explain", "--summary", "--json", "-", input=(CORPUS / "exim-2.eml").read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recipients"] == 2


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_an_mbox_is_streamed_with_any_line_ends(tmp_path: Path, eol: bytes) -> None:
    names = ["exim-1.eml", "kind-feedback-4.eml", "qmail-2.eml"]
    parts = [(CORPUS / n).read_bytes().replace(b"\r\n", b"\n") for n in names]
    mbox = b"".join(b"From MAILER-DAEMON Wed Mar 12 10:15:02 2025\n" + p + b"\n" for p in parts)
    path = tmp_path / "bounces.mbox"
    path.write_bytes(mbox.replace(b"\n", eol))
    result = run("explain", "--file", str(path), "--json")
    assert result.exit_code == 0, result.output
    found = records(result)
    kinds = [r.get("kind") or r["bounce"]["kind"] for r in found]
    assert kinds == ["bounce", "feedback", "bounce", "bounce"]  # qmail-2 names two recipients
    assert "3 messages read" in result.stderr


def test_an_empty_directory_is_one_error_line(tmp_path: Path) -> None:
    result = run("explain", "--file", str(tmp_path))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


@pytest.mark.parametrize(("chunk", "eol"), [(1, b"\r\n"), (7, b"\r"), (65536, b"\n"), (2, b"\r\n")])
def test_lines_agree_whatever_the_line_ends_and_chunking(chunk: int, eol: bytes) -> None:
    text = [b"first", b"", b"third line", b"x" * 50]

    class Slow(io.BytesIO):
        def read1(self, size: int | None = -1, /) -> bytes:
            return super().read1(min(size or chunk, chunk))

    data = eol.join(text) + eol
    assert list(inputs.lines(Slow(data))) == [t + b"\n" for t in text]


def test_a_long_line_is_cut_and_its_rest_dropped() -> None:
    data = b"a" * 100_000 + b"\r" + b"next\n"
    assert list(inputs.lines(io.BytesIO(data), limit=1000)) == [b"a" * 1000 + b"\n", b"next\n"]


def test_a_cr_only_log_is_read_line_by_line() -> None:
    log = (DATA / "logs" / "postfix.log").read_bytes()
    lf = run("explain", "--json", "-", input=log)
    cr = run("explain", "--json", "-", input=log.replace(b"\n", b"\r"))
    assert lf.stdout == cr.stdout and lf.stdout


def test_a_cr_only_log_summary_is_the_lf_summary() -> None:
    log = (DATA / "logs" / "postfix.log").read_bytes()
    lf = run("explain", "--summary", "--json", "-", input=log)
    cr = run("explain", "--summary", "--json", "-", input=log.replace(b"\n", b"\r"))
    crlf = run("explain", "--summary", "--json", "-", input=log.replace(b"\n", b"\r\n"))
    assert lf.exit_code == 0 and lf.stdout == cr.stdout == crlf.stdout
