"""A command's flags declared as data: one `Flag` per option, turned into the signature typer reads.

A command with thirty flags written as thirty annotated parameters is one 170-line function; as a table it
is data, and the command's body stays a few lines (`def probe(ctx, **given)`). The signature built here is
exactly what typer would read from the written-out parameters (`Annotated[type, typer.Option(...)]`), so
`--help`, completion, the MXPROBE_* variables and the config file see the same options.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Flag:
    name: str  # the Python name the body receives
    type: Any
    default: Any
    info: Any  # typer.Option(...) or typer.Argument(...)


def option(
    name: str,
    type_: Any,
    default: Any,
    *decls: str,
    metavar: str | None = None,
    panel: str | None = None,
    help: str,
) -> Flag:
    info = typer.Option(*decls, metavar=metavar, help=help, rich_help_panel=panel, show_default=False)
    return Flag(name, type_, default, info)


def argument(name: str, type_: Any, default: Any, *, metavar: str, help: str) -> Flag:
    return Flag(name, type_, default, typer.Argument(metavar=metavar, help=help, show_default=False))


def with_flags(flags: Sequence[Flag]) -> Callable[[F], F]:
    """Give `func(ctx, **given)` the signature of its flags: typer reads __signature__ and __annotations__."""

    def apply(func: F) -> F:
        ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
        keyword = inspect.Parameter.KEYWORD_ONLY
        params = [ctx] + [
            inspect.Parameter(f.name, keyword, default=f.default, annotation=Annotated[f.type, f.info])
            for f in flags
        ]
        func.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
        func.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return func

    return apply
