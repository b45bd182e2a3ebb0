"""Builds the JSON Schemas mxprobe publishes (mxprobe/schema/*.json) from the types that produce the JSON.

The probe report's schema comes from the TypedDicts: `report.ReportDict`, `model.CheckDict`,
`model.EvidenceDict`, `target.TargetDict`, and each check module's `<Module>Details` (checks/ptr.py
`PtrDetails`, checks/spf_record.py `SpfRecordDetails` ...). A check without one gets an open object. The
explanation and catalogue-entry schemas are written out here. tests/test_schema.py fails when a shipped file
differs from what this builds; after changing a type, run `.venv/bin/python tests/schema_build.py`.
"""

from __future__ import annotations

import enum
import importlib
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, is_typeddict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mxprobe import registry  # noqa: E402
from mxprobe.model import CheckDict  # noqa: E402
from mxprobe.report import ReportDict  # noqa: E402

SCHEMA_DIR = ROOT / "mxprobe" / "schema"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]


def of_type(tp: Any, defs: dict[str, Schema]) -> Schema:
    """The JSON Schema of one annotation; TypedDicts go to `defs` under their class name."""
    origin = get_origin(tp)
    if origin in (NotRequired, Required):
        return of_type(get_args(tp)[0], defs)
    if tp is Any or tp is object:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if tp in simple:
        return {"type": simple[tp]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (Union, types.UnionType):
        return {"anyOf": [of_type(a, defs) for a in get_args(tp)]}
    if origin in (list, tuple) or (origin is not None and getattr(origin, "__name__", "") == "Sequence"):
        return {"type": "array", "items": of_type(get_args(tp)[0], defs)}
    if origin is dict or (origin is not None and getattr(origin, "__name__", "") == "Mapping"):
        return {"type": "object", "additionalProperties": of_type(get_args(tp)[1], defs)}
    if is_typeddict(tp):
        return typed_dict(tp, defs)
    raise TypeError(f"no JSON Schema for {tp!r}")


def typed_dict(td: Any, defs: dict[str, Schema], *, open_ended: bool = False) -> Schema:
    name = td.__name__
    if name not in defs:
        defs[name] = {}  # a placeholder against recursion
        hints = typing.get_type_hints(td, include_extras=True)
        defs[name] = {
            "type": "object",
            "properties": {key: of_type(hint, defs) for key, hint in hints.items()},
            "required": sorted(k for k, hint in hints.items() if _required(td, k, hint)),
            "additionalProperties": open_ended,
        }
        if td.__doc__ and not td.__doc__.startswith(f"{name}("):
            defs[name]["description"] = " ".join(td.__doc__.split())
    return {"$ref": f"#/$defs/{name}"}


def _required(td: Any, key: str, hint: Any) -> bool:
    """Python 3.11 computes __required_keys__ from `total=` alone when annotations are strings (`from
    __future__ import annotations`): the NotRequired/Required marks are read from the resolved hint."""
    if get_origin(hint) in (Required, NotRequired):
        return get_origin(hint) is Required
    return key in td.__required_keys__


def details_types() -> dict[str, Any]:
    """Check id -> the TypedDict of its details, by the naming convention `<Module>Details`."""
    found = {}
    for spec in registry.checks():
        if spec.module is None or "." in spec.module:
            continue
        module = importlib.import_module(f"mxprobe.checks.{spec.module}")
        name = "".join(part.title() for part in spec.module.split("_")) + "Details"
        if is_typeddict(getattr(module, name, None)):
            found[str(spec.id)] = getattr(module, name)
    return found


SMTP_RESULT: Schema = {
    "type": "object",
    "description": "The SMTP handshake (up to RCPT, never DATA): mxprobe.smtp.SmtpResult.to_dict().",
    "required": [
        "mx_candidates",
        "host",
        "address",
        "port",
        "tls",
        "steps",
        "outcome",
        "cause",
        "confirmed_by",
    ],
    "properties": {
        "outcome": {"enum": ["accepted", "deferred", "rejected", "error"]},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step", "command", "code", "enhanced", "text", "elapsed_ms", "explanation"],
            },
        },
        "port": {"type": "integer"},
        "cause": {"anyOf": [{"enum": [c.value for c in registry.Cause]}, {"type": "null"}]},
        "confirmed_by": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}


def probe_schema() -> Schema:
    defs: dict[str, Schema] = {}
    typed_dict(CheckDict, defs)
    checks = defs["CheckDict"]
    checks["properties"]["id"] = {
        "type": "string",
        "description": "a check id: " + ", ".join(registry.CheckId),
    }
    checks["allOf"] = [
        {
            "if": {"properties": {"id": {"const": check_id}}},
            "then": {"properties": {"details": typed_dict(td, defs)}},
        }
        for check_id, td in details_types().items()
    ]
    typed_dict(ReportDict, defs, open_ended=True)  # `--format json` adds the run's facts beside these keys
    defs["ReportDict"]["properties"]["smtp"] = {"$ref": "#/$defs/SmtpResult"}
    defs["SmtpResult"] = SMTP_RESULT
    return {
        "$schema": DRAFT,
        "$id": "https://github.com/mxprobe/mxprobe/blob/main/mxprobe/schema/probe.json",
        "title": "mxprobe probe report (mxprobe DOMAIN --json)",
        "$ref": "#/$defs/ReportDict",
        "$defs": dict(sorted(defs.items())),
    }


TEXT: Schema = {
    "type": "object",
    "required": ["en", "zh"],
    "properties": {"en": {"type": "string"}, "zh": {"type": "string"}},
    "additionalProperties": False,
}
CAUSE: Schema = {"enum": [c.value for c in registry.Cause]}
CLASS: Schema = {"enum": ["success", "intermediate", "transient", "permanent", "failure"]}
PHASES: Schema = {"type": "array", "items": {"type": "string"}}


def explain_schema() -> Schema:
    explanation = {
        "type": "object",
        "description": "One explained reply (catalogue.Explanation.to_dict), with the bounce's facts "
        "(bounce), the log record it came from (log) and the --check results (check) when there are any.",
        "required": [
            "input",
            "code",
            "enhanced",
            "tag",
            "class",
            "phase",
            "meaning",
            "cause",
            "checks",
            "advice",
            "entry",
            "specific",
        ],
        "properties": {
            "input": {"type": "string"},
            "code": {"type": ["integer", "null"], "minimum": 200, "maximum": 599},  # null: words only
            "enhanced": {"type": "string"},
            "tag": {"type": "string"},
            "class": CLASS,
            "phase": PHASES,
            "meaning": TEXT,
            "cause": CAUSE,
            "checks": {"type": "array", "items": {"type": "string"}},
            "advice": TEXT,
            "entry": {"type": "string"},
            "specific": {"type": "boolean"},
            "bounce": {"type": "object"},
            "log": {"type": "object"},
            "check": {"type": "array", "items": {"$ref": "probe.json#/$defs/CheckDict"}},
        },
    }
    return {
        "$schema": DRAFT,
        "$id": "https://github.com/mxprobe/mxprobe/blob/main/mxprobe/schema/explain.json",
        "title": "mxprobe explain --json: one object per line",
        "description": "An explained reply; or, for a message that is no delivery failure, an object with "
        "its kind; or, with --summary, one summary object.",
        "anyOf": [
            {"$ref": "#/$defs/Explanation"},
            {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
            {"type": "object", "not": {"required": ["input"]}},
        ],
        "$defs": {"Explanation": explanation},
    }


def codes_schema() -> Schema:
    entry = {
        "type": "object",
        "required": [
            "id",
            "code",
            "enhanced",
            "tag",
            "pattern",
            "phase",
            "class",
            "cause",
            "checks",
            "generic",
            "source",
            "meaning",
            "advice",
            "keywords",
            "markers",
            "file",
        ],
        "properties": {
            "id": {"type": "string"},
            "code": {"type": "integer"},
            "enhanced": {"type": "string"},
            "tag": {"type": "string"},
            "pattern": {"type": "string"},
            "phase": PHASES,
            "class": CLASS,
            "cause": CAUSE,
            "checks": {"type": "array", "items": {"enum": [str(s.id) for s in registry.checks()]}},
            "generic": {"type": "boolean"},
            "source": {"type": "string"},
            "meaning": TEXT,
            "advice": TEXT,
            "keywords": {"type": "array", "items": {"type": "string"}},
            "markers": {"type": "array", "items": {"type": "string"}},
            "file": {"type": "string"},
        },
    }
    return {
        "$schema": DRAFT,
        "$id": "https://github.com/mxprobe/mxprobe/blob/main/mxprobe/schema/codes.json",
        "title": "mxprobe codes --json: the catalogue entries",
        "type": "array",
        "items": {"$ref": "#/$defs/Entry"},
        "$defs": {"Entry": entry},
    }


def message_schema() -> Schema:
    """`mxprobe explain --json` on a delivered message (issue 13), from mxprobe/message/shapes.py; its check
    objects and evidence are the probe's (probe.json)."""
    from mxprobe.message.shapes import MessageReportDict

    defs: dict[str, Schema] = {}
    root = typed_dict(MessageReportDict, defs)
    for shared in ("CheckDict", "EvidenceDict"):
        defs.pop(shared)
    text_of = json.dumps(defs)
    for shared in ("CheckDict", "EvidenceDict"):
        text_of = text_of.replace(f'"#/$defs/{shared}"', f'"probe.json#/$defs/{shared}"')
    return {
        "$schema": DRAFT,
        "$id": "https://github.com/mxprobe/mxprobe/blob/main/mxprobe/schema/message.json",
        "title": "mxprobe explain --json on a delivered message: one object",
        **root,
        "$defs": json.loads(text_of),
    }


BUILDERS = {
    "probe": probe_schema,
    "explain": explain_schema,
    "codes": codes_schema,
    "message": message_schema,
}


def text(schema: Schema) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, build in BUILDERS.items():
        (SCHEMA_DIR / f"{name}.json").write_text(text(build()), encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}.json")
