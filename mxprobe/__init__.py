"""mxprobe: tells a mail sender why their mail is refused, and proves it.

Public API (everything the CLI does is reachable from here)::

    import mxprobe
    report = mxprobe.probe_sync("example.com", ip="192.0.2.10", nameservers=["127.0.0.1:5353"])
    print(report.verdict, [c.to_dict() for c in report.checks])
    print(mxprobe.explain("550 5.7.25 ... does not have a PTR record").cause)   # "ptr"

Names are imported lazily so that `mxprobe explain` starts without loading the DNS stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mxprobe.__about__ import __version__

if TYPE_CHECKING:
    from mxprobe.api import probe, probe_sync
    from mxprobe.catalogue import Explanation, explain
    from mxprobe.errors import ExitCode, InputError
    from mxprobe.model import CAUSES, CHECKS, CheckResult, Evidence, Status
    from mxprobe.options import Options
    from mxprobe.registry import Cause, CheckId
    from mxprobe.report import Report
    from mxprobe.target import Target

_EXPORTS = {
    "probe": "mxprobe.api",
    "probe_sync": "mxprobe.api",
    "explain": "mxprobe.catalogue",
    "Explanation": "mxprobe.catalogue",
    "ExitCode": "mxprobe.errors",
    "InputError": "mxprobe.errors",
    "CAUSES": "mxprobe.model",
    "CHECKS": "mxprobe.model",
    "CheckResult": "mxprobe.model",
    "Evidence": "mxprobe.model",
    "Status": "mxprobe.model",
    "Options": "mxprobe.options",
    "Cause": "mxprobe.registry",
    "CheckId": "mxprobe.registry",
    "Report": "mxprobe.report",
    "Target": "mxprobe.target",
}

__all__ = [
    "CAUSES",
    "CHECKS",
    "Cause",
    "CheckId",
    "CheckResult",
    "Evidence",
    "ExitCode",
    "Explanation",
    "InputError",
    "Options",
    "Report",
    "Status",
    "Target",
    "__version__",
    "explain",
    "probe",
    "probe_sync",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mxprobe' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
