"""The loopback guard: every `connect`, `connect_ex` and `sendto` of a socket, and every name lookup
through the C library (`getaddrinfo`, `gethostbyname`, `gethostbyaddr`), is checked. Allowed: 127.0.0.0/8 and
::1 on ports >= 1024 (test servers only listen on free high ports), unix sockets, IP literals and `localhost`
in lookups. Anything else raises `LeftLoopbackError` (an OSError, so the code under test fails the way it
fails on a dead network, never hangs) AND fails the test at teardown even if the error was swallowed: a probe
that silently asked the system resolver (a loopback stub on port 53 included) cannot pass. asyncio and
dnspython end in these same socket calls. A test that means to trip it:
`with network_guard.expect_violation(): ...`.

Installed for the whole session by the autouse fixtures `network_guard` and `_stay_on_loopback` (conftest.py).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest


class LeftLoopbackError(OSError):
    """A test tried to reach something other than a loopback test server."""


class LoopbackGuard:
    def __init__(self) -> None:
        self._violations: list[str] = []
        self._lock = threading.Lock()

    def check_destination(self, sock: socket.socket, address: Any, call: str) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            return  # unix sockets, socketpairs
        host, port = address[0], address[1]
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            if host != "localhost":
                self._violate(f"{call}({host!r}, {port}): a host name, resolved outside the test servers")
            return
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_loopback:
            self._violate(f"{call}({host}, {port}): not a loopback address")
        elif 0 < port < 1024:
            self._violate(f"{call}({host}, {port}): a system service (resolver, MTA ...), not a test server")

    def check_lookup(self, host: str | bytes | None, call: str, *, literal_ok: bool = True) -> None:
        text = host.decode() if isinstance(host, bytes) else host
        if text in (None, "", "localhost"):
            return
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            self._violate(f"{call}({text!r}): a DNS lookup through the system resolver")
            return
        if not literal_ok and not ip.is_loopback:
            self._violate(f"{call}({text!r}): a reverse lookup through the system resolver")

    def _violate(self, what: str) -> None:
        with self._lock:
            self._violations.append(what)
        raise LeftLoopbackError(f"test left loopback: {what}")

    def take(self) -> list[str]:
        with self._lock:
            taken, self._violations = self._violations, []
        return taken

    def assert_clean(self) -> None:
        """Fail (at teardown) if anything left loopback since the last call, even if it was swallowed."""
        left = self.take()
        if left:
            pytest.fail("the test left loopback:\n  " + "\n  ".join(left), pytrace=False)

    @contextlib.contextmanager
    def expect_violation(self) -> Iterator[list[str]]:
        """For tests of the guard: the block must trip it; its violations are handed over, not reported."""
        self.assert_clean()
        caught: list[str] = []
        yield caught
        caught += self.take()
        assert caught, "the loopback guard did not trip"

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        sock_cls: Any = socket.socket
        saved_methods = {name: getattr(sock_cls, name) for name in ("connect", "connect_ex", "sendto")}
        saved_functions = {
            name: getattr(socket, name)
            for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr")
        }

        def connect(sock: socket.socket, address: Any) -> Any:
            self.check_destination(sock, address, "connect")
            return saved_methods["connect"](sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            self.check_destination(sock, address, "connect_ex")
            return saved_methods["connect_ex"](sock, address)

        def sendto(sock: socket.socket, data: Any, *args: Any) -> Any:
            self.check_destination(sock, args[-1], "sendto")
            return saved_methods["sendto"](sock, data, *args)

        def lookup(name: str, *, literal_ok: bool = True) -> Callable[..., Any]:
            def wrapper(host: Any, *args: Any, **kwargs: Any) -> Any:
                self.check_lookup(host, name, literal_ok=literal_ok)
                return saved_functions[name](host, *args, **kwargs)

            return wrapper

        sock_cls.connect, sock_cls.connect_ex, sock_cls.sendto = connect, connect_ex, sendto
        for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
            setattr(socket, name, lookup(name))
        socket.gethostbyaddr = lookup("gethostbyaddr", literal_ok=False)
        try:
            yield
        finally:
            for name, method in saved_methods.items():
                setattr(sock_cls, name, method)
            for name, function in saved_functions.items():
                setattr(socket, name, function)
