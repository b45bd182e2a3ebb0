"""Fixtures for every test, and the guard that keeps the whole suite on loopback.

Servers (all real, on 127.0.0.1, see tests/servers/):
- `dns_server`: one DNS server for the session serving every tests/zones/*.zone; its query log, faults and
  delays are reset before and after each test. Point code at `dns_server.address` / `.nameserver`.
- `make_dns_server(zones=ZONES_DIR, **options)`: a fresh DnsServer for this test (custom zones, faults at
  construction, `refuse_out_of_zone`, a delay on every answer ...), stopped after the test.
- `smtp_server(server=None, **options)`: starts `server` (e.g. `postfix_like(reject="relay")`) or a
  `ScriptedSmtpServer(**options)`; `faulty_server(kind, **options)` starts a `FaultyServer`.
- `start_server(server)`: the same for any `BackgroundServer`.
- `pki`: a CA for the session (`pki.leaf(name)`, `pki.self_signed(name)`, `pki.leaf(name, expired=True)`).

The loopback guard (autouse, `servers.guard`): a test that reaches anything but a loopback test server
fails, even when the code under test swallowed the error. `network_guard.expect_violation()` is for tests of
the guard itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import dns.exception
import dns.message
import dns.query
import pytest
from servers.base import BackgroundServer
from servers.certs import TestPKI
from servers.dns import ZONES_DIR, DnsServer, ZoneSource
from servers.guard import LoopbackGuard
from servers.smtp import FaultKind, FaultyServer, ScriptedSmtpServer

ServerT = TypeVar("ServerT", bound=BackgroundServer)


@pytest.fixture(scope="session", autouse=True)
def network_guard() -> Iterator[LoopbackGuard]:
    guard = LoopbackGuard()
    with guard.installed():
        yield guard


@pytest.fixture(autouse=True)
def _stay_on_loopback(network_guard: LoopbackGuard) -> Iterator[None]:
    network_guard.take()  # a previous test's leftovers were reported there
    yield
    network_guard.assert_clean()


# -- servers -------------------------------------------------------------------------------------------------
@pytest.fixture
def start_server() -> Iterator[Callable[[ServerT], ServerT]]:
    with contextlib.ExitStack() as running:

        def start(server: ServerT) -> ServerT:
            server.start()
            running.callback(server.stop)
            return server

        yield start


@pytest.fixture(scope="session")
def _shared_dns_server(network_guard: LoopbackGuard) -> Iterator[DnsServer]:
    with DnsServer(ZONES_DIR) as server:
        yield server


def _settle(server: DnsServer) -> None:
    """Wait until the server has read every datagram sent to it so far.

    A query an earlier test sent just before it ended may still sit in the server's socket buffer; read after
    the next test cleared the log, it would show up as that test's query ("nothing was sent" would fail at
    random). The server reads its one UDP socket in order, so once a sentinel query is answered, everything
    sent before it has been read and logged.
    """
    query = dns.message.make_query("settle.invalid.", "A")
    with contextlib.suppress(dns.exception.DNSException, OSError):
        dns.query.udp(query, server.host, port=server.port, timeout=2.0)


@pytest.fixture
def dns_server(_shared_dns_server: DnsServer) -> Iterator[DnsServer]:
    _settle(_shared_dns_server)
    _shared_dns_server.reset()
    yield _shared_dns_server
    _shared_dns_server.reset()


@pytest.fixture
def make_dns_server(start_server: Callable[[DnsServer], DnsServer]) -> Callable[..., DnsServer]:
    def make(zones: ZoneSource | list[ZoneSource] = ZONES_DIR, **options: Any) -> DnsServer:
        return start_server(DnsServer(zones, **options))

    return make


@pytest.fixture
def smtp_server(
    start_server: Callable[[ScriptedSmtpServer], ScriptedSmtpServer],
) -> Callable[..., ScriptedSmtpServer]:
    def make(server: ScriptedSmtpServer | None = None, **options: Any) -> ScriptedSmtpServer:
        return start_server(server if server is not None else ScriptedSmtpServer(**options))

    return make


@pytest.fixture
def faulty_server(start_server: Callable[[FaultyServer], FaultyServer]) -> Callable[..., FaultyServer]:
    def make(kind: FaultKind, **options: Any) -> FaultyServer:
        return start_server(FaultyServer(kind, **options))

    return make


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(Path(tmp_path_factory.mktemp("pki")))
