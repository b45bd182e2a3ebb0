"""The Python API the CLI is a thin layer over: `await probe(...)`, `probe_sync(...)`, `explain(text)`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from mxprobe.dns import Nameserver, parse_nameserver
from mxprobe.errors import InputError
from mxprobe.options import Options, validated
from mxprobe.report import Report
from mxprobe.scanner import ResultCallback, build_target, run


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
    **options: Any,
) -> Report:
    """Probe a sending domain and/or IP. Keyword `options` are the fields of `mxprobe.Options`.

    `nameservers` take "IP", "IP:PORT" or "[IPv6]:PORT"; empty means the system resolver. Raises
    `mxprobe.InputError` for invalid input before anything is sent.
    """
    try:
        opts = Options(**options)
    except TypeError as exc:  # an unknown keyword: say which, as the CLI does for an unknown flag
        raise InputError(f"probe(): {exc}") from None
    if isinstance(nameservers, str) or isinstance(to, str):
        raise InputError("nameservers= and to= take lists (['127.0.0.1:53'], ['a@example.net'])")
    opts.nameservers = [ns if isinstance(ns, Nameserver) else parse_nameserver(ns) for ns in nameservers]
    validated(opts)
    target = build_target(domain, ip=ip, helo=helo, mail_from=mail_from, to=to, mx=mx, port=opts.port)
    return await run(target, opts, on_result=on_result)


def probe_sync(domain: str | None = None, **kwargs: Any) -> Report:
    """`probe()` for code that has no event loop of its own."""
    return asyncio.run(probe(domain, **kwargs))
