"""Where the declarative knowledge (`checks/`) lives, for a source checkout and for an installed wheel.

The wheel carries the top-level `checks/` folder as `mxprobe/_data/checks`; an editable install or a source
checkout reads the top-level folder itself. Both read the same files, so no data is duplicated in code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def data_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "checks", here.parent / "checks"):
        if (candidate / "replies").is_dir():
            return candidate
    raise FileNotFoundError(
        "mxprobe's data folder (checks/) is missing: reinstall mxprobe "
        "(a wheel must contain mxprobe/_data/checks)"
    )


def data_file(name: str) -> Path:
    """Path of one data file, e.g. `data_file("dnsbl.toml")`."""
    return data_dir() / name
