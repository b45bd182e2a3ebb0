"""The one way the tests run the CLI in-process: typer's runner, in English, with a typed result.

Every test module that runs `mxprobe ...` in-process uses `run_cli` (and `json_lines` for JSON Lines output)
instead of defining its own helper, so that what the environment holds for a run (the locale, later the
user's MXPROBE_* settings) is decided in one place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from typer.testing import CliRunner, Result

from mxprobe.cli import app

ENGLISH = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8", "MXPROBE_CONFIG": ""}


def run_cli(*args: str, input: bytes | str | None = None, env: Mapping[str, str] | None = None) -> Result:
    """`mxprobe ARGS...` with stdin `input`, in English unless `env` says otherwise."""
    # The user's own MXPROBE_* settings and config file are not the test's (issue 12: they are read).
    mine: dict[str, str | None] = {k: None for k in os.environ if k.startswith("MXPROBE_")}
    return CliRunner().invoke(app, list(args), input=input, env={**mine, **ENGLISH, **(env or {})})


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """The objects of a JSON Lines output, one per non-empty line."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
