"""Defaults that follow the user: every option from the environment and from a config file.

One rule names the variables: `MXPROBE_` and the option's long flag in capitals, dashes as underscores
(`--nameserver` → `MXPROBE_NAMESERVER`, `--dqs-key` → `MXPROBE_DQS_KEY`, `--lang` → `MXPROBE_LANG`). A
repeatable option takes several values separated by white space (`MXPROBE_NAMESERVER="127.0.0.1 ::1"`); a
flag takes 1/0, true/false, yes/no.

The config file is TOML: `config.toml` in the platform's user config directory (`~/.config/mxprobe/` on
Linux, through platformdirs), or the file `--config FILE` / `MXPROBE_CONFIG` names (`MXPROBE_CONFIG=""`: no
file). Keys are the long flags without dashes (`nameserver = ["127.0.0.1:5353"]`, `dqs-key = "..."`,
`timeout = 10`); top-level keys apply to every command that has the option, a `[probe]`, `[explain]` or
`[codes]` table to that command only. `password = "..."` gives the `--auth` password.

Precedence: flag, then environment, then file, then the built-in default (click's own order for envvar and
default_map). Where each setting came from is kept for the report; secret values are never shown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mxprobe.errors import InputError

ENV_PREFIX = "MXPROBE_"
CONFIG_ENV = "MXPROBE_CONFIG"
SECRETS = frozenset({"dqs_key", "abusix_key", "password"})  # never shown, in any output
MAX_CONFIG_BYTES = 1024 * 1024
_NOT_SETTINGS = frozenset({"help", "config", "version"})


class Param(Protocol):
    """A click/typer parameter, as far as this module reads it (typer vendors its own click)."""

    name: str | None
    opts: list[str]
    multiple: bool
    envvar: str | list[str] | None
    param_type_name: str


def _is_option(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def env_name(flag: str) -> str:
    """`--dqs-key` → `MXPROBE_DQS_KEY`: the one rule for every option."""
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def _long_flag(param: Param) -> str | None:
    flags = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return flags[0] if flags else None


def attach_env(command: Any) -> None:
    """Give each option of `command` its MXPROBE_* variable (click then reads it, below the flag)."""
    for param in command.params:
        flag = _long_flag(param)
        if _is_option(param) and flag and param.name not in ("help", "version"):
            param.envvar = env_name(flag)


@dataclass
class Loaded:
    path: Path | None = None
    default_map: dict[str, dict[str, Any]] = field(default_factory=dict)
    password: str | None = None


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """`config.toml` in the user config directory. On Linux that is the XDG rule platformdirs follows
    ($XDG_CONFIG_HOME when it is an absolute path, else ~/.config), said here: importing platformdirs costs
    every run a few ms (issue 14). Elsewhere (macOS, Windows, Android) platformdirs decides."""
    env = os.environ if environ is None else environ
    if sys.platform == "linux" and "ANDROID_DATA" not in env:
        base = env.get("XDG_CONFIG_HOME", "")
        return (
            Path(base if os.path.isabs(base) else os.path.expanduser("~/.config")) / "mxprobe" / "config.toml"
        )
    import platformdirs

    return Path(platformdirs.user_config_dir("mxprobe")) / "config.toml"


def _given_config(args: list[str]) -> str | None:
    """`--config FILE` or `--config=FILE` among the arguments, before any command parses them."""
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config":
            if index + 1 >= len(args):
                raise InputError("--config needs a FILE")
            return args[index + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
    return None


def find(args: list[str], environ: Mapping[str, str] | None = None) -> tuple[Path | None, bool]:
    """The config file to read and whether the user named it (a named file must exist)."""
    env = os.environ if environ is None else environ
    given = _given_config(args)
    if given is None and CONFIG_ENV in env:
        given = env[CONFIG_ENV]
    if given is not None:
        return (Path(given), True) if given.strip() else (None, False)
    path = default_path(env)
    return (path, False) if path.is_file() else (None, False)


def load(args: list[str], commands: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Loaded:
    """Read the config file (if any) into click's default_map, one table per command."""
    path, named = find(args, environ)
    if path is None or str(path) == os.devnull:  # `--config /dev/null`: no file, on purpose
        return Loaded()
    try:
        if path.is_dir() or (path.exists() and not path.is_file()):
            raise InputError(f"--config {path}: not a regular file")
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if named:
            raise InputError(f"--config {path}: no such file") from None
        return Loaded()
    except OSError as exc:
        raise InputError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError(f"config {path} is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"config {path} is not valid TOML: {exc}") from None
    return _to_default_map(path, data, commands)


def _params(command: Any) -> dict[str, Param]:
    """Each option by its config key: the long flag without dashes, with `_` accepted for `-`."""
    out: dict[str, Param] = {}
    for param in command.params:
        flag = _long_flag(param)
        if _is_option(param) and flag and param.name not in _NOT_SETTINGS:
            out[flag[2:]] = param
    return out


def _value(path: Path, key: str, param: Param, value: Any) -> Any:
    if param.multiple:
        value = [value] if isinstance(value, str | int | float) else value
        if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
            raise InputError(f"config {path}: {key} takes a list of values")
        return [str(v) for v in value]
    if isinstance(value, dict | list):
        raise InputError(f"config {path}: {key} takes one value, not a {type(value).__name__}")
    return value


def _to_default_map(path: Path, data: dict[str, Any], commands: Mapping[str, Any]) -> Loaded:
    loaded = Loaded(path=path)
    tables = {name: _params(command) for name, command in commands.items()}
    top = {k: v for k, v in data.items() if not (isinstance(v, dict) and k in commands)}
    password = top.pop("password", None)
    if password is not None and not isinstance(password, str):
        raise InputError(f"config {path}: password takes a string")
    loaded.password = password
    for key in top:
        if not any(key.replace("_", "-") in params for params in tables.values()):
            raise InputError(
                f"config {path}: unknown setting {key!r} (keys are long flags: nameserver, timeout)"
            )
    for name, params in tables.items():
        section = data.get(name, {})
        merged = {**top, **(section if isinstance(section, dict) else {})}
        for key, value in merged.items():
            param = params.get(key.replace("_", "-"))
            if param is None:
                if key in section:
                    raise InputError(f"config {path}: [{name}] has no setting {key!r}")
                continue
            assert param.name is not None
            loaded.default_map.setdefault(name, {})[param.name] = _value(path, key, param, value)
    return loaded


@dataclass(frozen=True)
class Origin:
    source: str  # "flag" | "env" | "config"
    where: str = ""  # the variable or the file

    def to_dict(self) -> dict[str, str]:
        data = {"source": self.source}
        if self.source == "env":
            data["variable"] = self.where
        elif self.source == "config":
            data["file"] = self.where
        return data


def origins(ctx: Any, config: Path | None) -> dict[str, Origin]:
    """Where each option that is not a default came from, by the option's long flag name."""
    out: dict[str, Origin] = {}
    for param in ctx.command.params:
        flag = _long_flag(param)
        if param.name is None or param.name in _NOT_SETTINGS or not flag:
            continue
        source = getattr(ctx.get_parameter_source(param.name), "name", "")
        if source == "COMMANDLINE":
            out[flag[2:]] = Origin("flag")
        elif source == "ENVIRONMENT":
            out[flag[2:]] = Origin("env", env_name(flag))
        elif source == "DEFAULT_MAP":
            out[flag[2:]] = Origin("config", str(config) if config else "")
    return out


def describe(found: Mapping[str, Origin], names: Iterable[str] | None = None) -> list[str]:
    """`nameserver from MXPROBE_NAMESERVER`: the settings that did not come from the command line."""
    wanted = set(names) if names is not None else None
    return [
        f"{name} from {origin.where or origin.source}"
        for name, origin in found.items()
        if origin.source != "flag" and (wanted is None or name in wanted)
    ]
