"""The Python API the CLI is a thin layer over: `await probe(...)`, `probe_sync(...)`, `explain(text)`.

Every keyword of `probe` is a field of `mxprobe.Options` (or a part of the target), spelt out so that a type
checker sees a misspelt one; at run time a wrong keyword is an `InputError`, as a wrong flag is for the CLI.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from mxprobe.dns import Nameserver, parse_nameserver
from mxprobe.errors import InputError
from mxprobe.options import Options, validated
from mxprobe.report import Report
from mxprobe.scanner import ResultCallback, build_target, run

P = ParamSpec("P")
R = TypeVar("R")
_DEFAULTS = Options()


def _keywords_checked(func: Callable[P, R]) -> Callable[P, R]:
    """A call with a keyword `func` does not take raises InputError (exit 2 in the CLI), not TypeError."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InputError(f"{func.__name__}(): {exc}") from None
        return func(*args, **kwargs)

    return checked


def _listed(flag: str, value: Sequence[str]) -> list[str]:
    """A list option given as one string is a mistake to refuse: "s1" is not ["s", "1"]."""
    if isinstance(value, str):
        raise InputError(f"{flag} takes a list of strings, not str")
    return list(value)


def _nameservers(nameservers: Sequence[str | Nameserver], to: Sequence[str]) -> list[Nameserver]:
    """`nameservers` take "IP", "IP:PORT" or "[IPv6]:PORT" (empty: the system resolver)."""
    if isinstance(nameservers, str) or isinstance(to, str):
        raise InputError("nameservers= and to= take lists (['127.0.0.1:53'], ['a@example.net'])")
    return [ns if isinstance(ns, Nameserver) else parse_nameserver(ns) for ns in nameservers]


@_keywords_checked
async def probe(
    domain: str | None = None,
    *,
    ip: str | None = None,
    helo: str | None = None,
    mail_from: str | None = None,
    to: Sequence[str] = (),
    mx: str | None = None,
    nameservers: Sequence[str | Nameserver] = (),
    on_result: ResultCallback | None = None,
    timeout: float = _DEFAULTS.timeout,
    query_timeout: float = _DEFAULTS.query_timeout,
    concurrency: int = _DEFAULTS.concurrency,
    rate: float = _DEFAULTS.rate,
    strict: bool = False,
    only: Sequence[str] = (),
    discover_ip: bool = True,
    dnsbl_zones: Sequence[str] = (),
    dqs_key: str | None = None,
    abusix_key: str | None = None,
    dnsbl_only: bool = False,
    dkim_selectors: Sequence[str] = (),
    fetch: bool = False,
    https_port: int = _DEFAULTS.https_port,
    port: int = _DEFAULTS.port,
    smtp_timeout: float = _DEFAULTS.smtp_timeout,
    source: str | None = None,
    tls: bool = False,
    auth_user: str | None = None,
    auth_password: str | None = None,
    relay_test: bool = False,
) -> Report:
    """Probe a sending domain and/or IP; the keywords after `on_result` are `mxprobe.Options` fields."""
    opts = Options(
        nameservers=_nameservers(nameservers, to),
        timeout=timeout,
        query_timeout=query_timeout,
        concurrency=concurrency,
        rate=rate,
        strict=strict,
        only=_listed("--check", only),
        discover_ip=discover_ip,
        dnsbl_zones=_listed("--dnsbl", dnsbl_zones),
        dqs_key=dqs_key,
        abusix_key=abusix_key,
        dnsbl_only=dnsbl_only,
        dkim_selectors=_listed("--dkim-selector", dkim_selectors),
        fetch=fetch,
        https_port=https_port,
        port=port,
        smtp_timeout=smtp_timeout,
        source=source,
        tls=tls,
        auth_user=auth_user,
        auth_password=auth_password,
        relay_test=relay_test,
    )
    validated(opts)
    target = build_target(domain, ip=ip, helo=helo, mail_from=mail_from, to=to, mx=mx, port=opts.port)
    return await run(target, opts, on_result=on_result)


def probe_sync(domain: str | None = None, **kwargs: Any) -> Report:
    """`probe()` for code that has no event loop of its own (the same keywords)."""
    return asyncio.run(probe(domain, **kwargs))
