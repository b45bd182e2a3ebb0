"""The shape of the code: no import cycle, small modules and functions, and one registry of checks.

- The imports of every module of `mxprobe/` (at run time: `if TYPE_CHECKING:` blocks excluded, imports inside
  functions included) form no cycle.
- No module is over 450 lines, no function over 60 (measured on the AST, `def` to its last line).
- A string constant equal to a check id appears only in `mxprobe/registry.py`: everything else uses the
  enums (`CheckId.PTR`, `Cause.SPF`). A line that carries a constant of another vocabulary that happens to be
  spelt like a check id (an SPF mechanism `mx`, an MTA-STS policy key) says so with `# not a check id`.
- A check added through `mxprobe.registry.register` alone runs (scanner), renders (text and JSON), takes part
  in `--check` validation and joins a refusal of the handshake (smtp/diagnose).
"""

from __future__ import annotations

import ast
import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from servers import throwaway
from servers.dns import DnsServer
from servers.smtp import postfix_like

from mxprobe import registry
from mxprobe.dns import parse_nameserver
from mxprobe.errors import InputError
from mxprobe.options import Options, validated
from mxprobe.registry import Cause, CheckSpec
from mxprobe.render.report import render_json, render_text
from mxprobe.report import Report
from mxprobe.scanner import build_target, run
from mxprobe.smtp import SmtpResult

PACKAGE = Path(__file__).resolve().parent.parent / "mxprobe"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
EXEMPT = "# not a check id"
CHECK_IDS = frozenset(str(s.id) for s in registry.checks())
NO_PTR = "127.0.0.10"  # tests/zones/smtp.test.zone: no PTR record


def modules() -> dict[str, Path]:
    """Every module of mxprobe/ by its dotted name (a package by its own name, not `pkg.__init__`)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = modules()


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that runs when the module (or its functions) run: not those under `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _type_checking_only(child):
            yield from (n for stmt in child.orelse for n in [stmt, *_runtime_nodes(stmt)])
            continue
        yield child
        yield from _runtime_nodes(child)


def _resolve(name: str) -> str | None:
    """The mxprobe module an imported name is (a module, or the module that defines it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [f"{base}.{a.name}" for a in node.names]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# ------------------------------------------------------------------------------------- the module graph


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_are_resolved_to_modules() -> None:
    assert "mxprobe.registry" in imports_of("mxprobe.model")
    assert "mxprobe.checks" in imports_of("mxprobe.checks.ptr")  # Context, from the package itself


def test_no_import_cycle() -> None:
    graph = {m: imports_of(m) for m in MODULES}
    assert cycles(graph) == []


# ------------------------------------------------------------------------------------------------ sizes


def test_no_module_over_the_line_cap() -> None:
    long = {
        m: n
        for m, p in MODULES.items()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_over_the_line_cap() -> None:
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{module}:{node.lineno} {node.name} ({size} lines)")
    assert long == []


# ------------------------------------------------------------------------------------- one registry


def check_id_literals(path: Path) -> list[str]:
    """Each string constant equal to a check id (or a cause spelt like one), as `path:line 'id'`."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    shown = path.relative_to(PACKAGE.parent) if path.is_relative_to(PACKAGE.parent) else path
    found = []
    for node in ast.walk(ast.parse(text)):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if node.value in CHECK_IDS and EXEMPT not in lines[node.lineno - 1]:
            found.append(f"{shown}:{node.lineno} {node.value!r}")
    return sorted(found)


def test_the_literal_finder_finds_literals(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'x = {"ptr": 1}\ny = "dkim"  # not a check id: a test\nz = f"ptr {x}"\nw = "spf-records"\n'
    )
    assert [line.rsplit(" ", 1)[1] for line in check_id_literals(sample)] == ["'ptr'"]


def test_check_ids_are_spelt_only_in_the_registry() -> None:
    found = [hit for m, p in MODULES.items() if m != "mxprobe.registry" for hit in check_id_literals(p)]
    assert found == []


def test_the_registry_lists_each_check_once_with_its_module() -> None:
    specs = registry.checks()
    assert len({s.id for s in specs}) == len(specs) == len(registry.CheckId)
    for s in specs:
        assert (s.module is None) == s.in_handshake, s.id
        if s.module is not None:
            assert (PACKAGE / "checks" / f"{s.module}.py").is_file(), s.id
    assert [s.id for s in specs if s.in_handshake] == [registry.CheckId.SMTP, registry.CheckId.TLS]


def test_register_refuses_a_taken_id_and_undo_restores() -> None:
    before = registry.checks()
    with pytest.raises(ValueError, match="already registered"):
        registry.register(CheckSpec(registry.CheckId.PTR, "ptr", "ip"))
    undo = registry.register(CheckSpec(throwaway.ID, "servers.throwaway", "ip"))
    assert registry.spec("canary") is not None
    assert [s.id for s in registry.checks()][-3:] == ["canary", "smtp", "tls"]  # before the handshake's
    undo()
    assert registry.checks() == before


# ------------------------------------------------------------------------- a check added by the registry


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> Iterator[CheckSpec]:
    """The throwaway check, registered for one test: about the IP, proving a PTR refusal."""
    monkeypatch.setattr(throwaway, "MODE", "fail")
    spec = CheckSpec(throwaway.ID, "servers.throwaway", "ip", about_ip=True, proves=frozenset({Cause.PTR}))
    undo = registry.register(spec)
    yield spec
    undo()


def options(dns: DnsServer, *checks: str, **kw: Any) -> Options:
    base: dict[str, Any] = {"timeout": 10.0, "smtp_timeout": 3.0}
    return validated(Options(nameservers=[parse_nameserver(dns.address)], only=list(checks), **(base | kw)))


async def test_a_registered_check_runs_and_renders(canary: CheckSpec, dns_server: DnsServer) -> None:
    target = build_target(ip=NO_PTR, helo="mail.smtp.test")
    report = await run(target, options(dns_server, "canary", "ptr"))

    assert [(c.id, c.status) for c in report.checks] == [("ptr", "fail"), ("canary", "fail")]
    assert report.exit_code == 1
    text, data = rendered(report)
    assert "canary" in text and throwaway.SUMMARY in text and "Feed the canary." in text
    assert data["checks"][1] == {
        "id": "canary",
        "status": "fail",
        "summary": throwaway.SUMMARY,
        "details": {"ip": NO_PTR},
        "evidence": [{"query": f"canary {NO_PTR}", "answer": ["tweet"], "rcode": "NOERROR"}],
        "fix": "Feed the canary.",
        "elapsed_ms": data["checks"][1]["elapsed_ms"],
    }


def rendered(report: Report) -> tuple[str, dict[str, Any]]:
    text, raw = io.StringIO(), io.StringIO()
    with redirect_stdout(text):
        render_text(report)
    with redirect_stdout(raw):
        render_json(report)
    data: dict[str, Any] = json.loads(raw.getvalue())
    return text.getvalue(), data


def test_a_registered_check_runs_in_a_pool_when_it_says_so() -> None:
    from mxprobe.pool import pool_options

    before = pool_options(Options(), None).only
    undo = registry.register(CheckSpec(throwaway.ID, "servers.throwaway", "ip", about_ip=True, in_pool=True))
    try:
        assert pool_options(Options(), None).only == [*before, "canary"]
    finally:
        undo()
    assert "spf" in pool_options(Options(), "a@example.com").only  # a domain check about the IP


def test_an_unregistered_check_is_bad_input() -> None:
    with pytest.raises(InputError, match="unknown check id"):
        validated(Options(only=["canary"]))


async def test_a_registered_check_joins_the_handshake(
    canary: CheckSpec, dns_server: DnsServer, smtp_server: Any
) -> None:
    """A refusal of cause ptr (Postfix: cannot find your hostname) is confirmed by the check that proves
    ptr, although no catalogue entry names it."""
    server = smtp_server(postfix_like(reject="hostname"))
    target = build_target("smtp.test", ip=NO_PTR, to=["user@dest.test"], mx=f"127.0.0.1:{server.port}")
    report = await run(target, options(dns_server, "canary"))
    smtp = report.smtp

    assert isinstance(smtp, SmtpResult)
    assert (smtp.outcome, smtp.cause, smtp.confirmed_by) == ("deferred", "ptr", "canary")
    assert smtp.diagnosis.startswith(f"confirmed by canary: {throwaway.SUMMARY}")
