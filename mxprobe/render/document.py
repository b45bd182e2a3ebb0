"""The whole report as data: the JSON document (`--format json`), and what md and html are drawn from.

The keys of `Report.to_dict()` are the contract; the run's own facts (`started_at`, `resolver`,
`settings`) and the `plan` are added next to them, never in their place.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from mxprobe.report import Report
from mxprobe.service.plan import Group
from mxprobe.service.probe import RunInfo


def report_dict(report: Report, info: RunInfo, plan: list[Group]) -> dict[str, Any]:
    data: dict[str, Any] = dict(report.to_dict())
    for key, value in info.to_dict().items():
        data.setdefault(key, value)
    data.setdefault("plan", [group.to_dict() for group in plan])
    return data


def write_json(data: dict[str, Any], out: TextIO, *, lines: bool = False) -> None:
    """One indented object, or one object a line (JSON Lines: several domains in one run)."""
    if lines:
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
