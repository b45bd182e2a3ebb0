"""`mxprobe schema [NAME]`: print the JSON Schema of a command's --json output (mxprobe/schema/NAME.json).

The schemas are files of the package: `probe` (the report of `mxprobe DOMAIN --json`), `explain` (each line
of `mxprobe explain --json`), `codes` (`mxprobe codes --json`), and any other the package ships.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from typing import Annotated

import typer

from mxprobe.errors import InputError


def available() -> list[str]:
    """The names of the schemas the package ships, sorted."""
    folder = files("mxprobe").joinpath("schema")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def schema_text(name: str) -> str:
    names = available()
    if name not in names:
        raise InputError(f"no schema {name!r}; known: {', '.join(names)}")
    return files("mxprobe").joinpath("schema", f"{name}.json").read_text(encoding="utf-8")


def schema(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="probe, explain, codes (or another the package ships).")
    ] = "probe",
    list_: Annotated[bool, typer.Option("--list", help="List the names of the schemas.")] = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of a command's --json output."""
    if list_:
        sys.stdout.write("".join(f"{n}\n" for n in available()))
        return
    sys.stdout.write(schema_text(name.strip().lower()))
