"""The hook `mxprobe explain` calls on a delivered message: read it, build the report, print it, exit code.

Without `--check` nothing touches the network (as for replies and bounces): the report shows what the receiver
recorded, and says that verifying now needs --check. With `--check`, DKIM, ARC, SPF and DMARC are verified
again and the checks of the delivering IP run, on the given nameservers (--nameserver) within --timeout.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

from mxprobe.errors import ExitCode, InputError
from mxprobe.message.fields import MAX_SIZE, parse
from mxprobe.message.render import render
from mxprobe.message.report import MessageReport
from mxprobe.options import Options

if TYPE_CHECKING:
    from mxprobe.dns import Nameserver

DEFAULT_TIMEOUT = 15.0


def report_of(
    data: bytes, *, check: bool, nameservers: list[Nameserver], timeout: float | None
) -> MessageReport:
    from mxprobe.message import offline, run

    message = parse(data)
    if not check:
        return offline.analyse(message)
    options = Options(nameservers=nameservers, timeout=DEFAULT_TIMEOUT if timeout is None else timeout)
    return asyncio.run(run.analyse(message, options))


def explain(
    data: bytes,
    name: str,
    *,
    cut: bool,
    as_json: bool,
    lang: str,
    check: bool,
    nameservers: list[Nameserver],
    timeout: float | None,
    folder: bool = False,
) -> ExitCode:
    """Print the report of the message in `data` (read from `name`); its exit code. `cut`: the input was
    longer than what was read, which a signed message cannot afford (its body hash covers every byte).
    `folder`: one of several inputs, so the report names its file (JSON key `file`, a first text line)."""
    if cut:
        raise InputError(
            f"{name} is larger than {MAX_SIZE // (1024 * 1024)} MiB: not a message mxprobe reads"
        )
    report = report_of(data, check=check, nameservers=nameservers, timeout=timeout)
    if as_json:
        shape = report.to_dict()
        if folder:
            shape["file"] = name
        sys.stdout.write(json.dumps(shape, ensure_ascii=False) + "\n")
    else:
        if folder:
            from mxprobe.render import clean

            sys.stdout.write(f"==> {clean(name)} <==\n")
        sys.stdout.write(render(report, lang) + ("\n" if folder else ""))
    return report.exit_code
