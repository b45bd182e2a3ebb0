"""The scanner's promises: a check past the run's deadline, or one that raises, is `error`, never `pass`.

The checks here are throwaway ones (tests/servers/throwaway.py) added through `mxprobe.registry.register`,
run by the scanner exactly as the built-in ones are. Each test fails when its branch of
`mxprobe.scanner._run_one` reports anything but `error` (mutating either branch to `Status.PASS` was tried
by hand: both tests fail).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Literal

import pytest
from servers import throwaway
from servers.dns import DnsServer

from mxprobe import registry
from mxprobe.dns import parse_nameserver
from mxprobe.errors import ExitCode
from mxprobe.model import CheckResult, Status
from mxprobe.options import Options, validated
from mxprobe.registry import CheckSpec
from mxprobe.report import Report
from mxprobe.scanner import build_target, run

Mode = Literal["fail", "pass", "slow", "raise"]


@pytest.fixture
def canary() -> Iterator[None]:
    undo = registry.register(CheckSpec(throwaway.ID, "servers.throwaway", "ip", about_ip=True))
    yield
    undo()


async def probe(dns: DnsServer, mode: Mode, monkeypatch: pytest.MonkeyPatch, timeout: float = 5.0) -> Report:
    monkeypatch.setattr(throwaway, "MODE", mode)
    options = validated(
        Options(nameservers=[parse_nameserver(dns.address)], only=["canary", "ptr"], timeout=timeout)
    )
    return await run(build_target(ip="192.0.2.20", helo="mail.example.com"), options)


def canary_of(report: Report) -> CheckResult:
    found = report.check("canary")
    assert found is not None
    return found


@pytest.mark.usefixtures("canary")
async def test_a_check_past_the_deadline_is_an_error(
    dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    report = await probe(dns_server, "slow", monkeypatch, timeout=0.5)
    elapsed = time.monotonic() - started
    check = canary_of(report)

    assert (check.status, check.summary) == (Status.ERROR, "did not finish within the run's deadline (0.5s)")
    assert "--timeout" in check.fix
    assert elapsed < 2.0  # the slow check was cut at the deadline, not awaited to its end
    assert [(c.id, c.status) for c in report.checks] == [("ptr", Status.PASS), ("canary", Status.ERROR)]
    assert (report.verdict, report.exit_code) == ("inconclusive", ExitCode.INCONCLUSIVE)


@pytest.mark.usefixtures("canary")
async def test_a_check_that_raises_is_an_error(
    dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = await probe(dns_server, "raise", monkeypatch)
    check = canary_of(report)

    assert check.status == Status.ERROR
    assert check.summary == "internal error: RuntimeError: the canary fell off its perch"
    assert [c.id for c in report.checks] == ["ptr", "canary"]  # the others still ran and reported
    assert (report.verdict, report.exit_code) == ("inconclusive", ExitCode.INCONCLUSIVE)


@pytest.mark.usefixtures("canary")
@pytest.mark.parametrize(("mode", "status"), [("pass", Status.PASS), ("fail", Status.FAIL)])
async def test_a_check_that_finishes_keeps_its_own_status(
    dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch, mode: Mode, status: Status
) -> None:
    """The control: the branches above are what turns the throwaway check into an error."""
    report = await probe(dns_server, mode, monkeypatch)
    assert canary_of(report).status == status
    assert canary_of(report).elapsed_ms >= 0
