"""Apply one mutant at a time to a copy of the tree and run the tests that must catch it.

A mutant removes or weakens one guard line. It is "killed" when at least one of its tests fails; a survivor
is a promise no test holds. The working tree is never touched: the package, the tests, the data and the
project file are copied to a temporary folder first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]


class Mutant(NamedTuple):
    label: str
    path: str  # from the repository's root
    old: str  # the guard as written: must occur exactly once in `path`
    new: str  # the guard removed or weakened
    tests: list[str]  # the test files that hold the promise


@contextmanager
def copied_tree() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mxprobe-mutants-") as folder:
        tree = Path(folder)
        skip = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".pytest_cache", ".hypothesis")
        for part in ("mxprobe", "tests", "checks"):
            shutil.copytree(ROOT / part, tree / part, ignore=skip)
        shutil.copy(ROOT / "pyproject.toml", tree)
        yield tree


def killer(mutant: Mutant, tree: Path) -> str | None:
    """Apply `mutant` in `tree`, run its tests, restore: the first test that failed, or None (survived)."""
    target = tree / mutant.path
    original = target.read_text(encoding="utf-8")
    if original.count(mutant.old) != 1:
        raise SystemExit(f"mutant {mutant.label!r}: its guard is not found once in {mutant.path} (it moved)")
    target.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
    try:
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-rf", "-p", "no:cacheprovider", *mutant.tests]
        # The copy comes first on the path, before the editable install of the working tree.
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=900, check=False
        )
    finally:
        target.write_text(original, encoding="utf-8")
    if done.returncode == 0:
        return None
    failed = [line[7:].split(" - ")[0] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    return failed[0].split("::", 1)[-1] if failed else f"pytest exit {done.returncode}"


def run_all(mutants: Sequence[Mutant]) -> list[str]:
    """Run every mutant, printing one line each; the labels of the survivors."""
    survivors = []
    with copied_tree() as tree:
        for mutant in mutants:
            test = killer(mutant, tree)
            print(f"{'killed  ' if test else 'SURVIVED'}  {mutant.label[:60]:60} {test or ''}", flush=True)
            if test is None:
                survivors.append(mutant.label)
    print(
        f"{len(mutants) - len(survivors)} of {len(mutants)} mutants killed; survivors: {survivors or 'none'}"
    )
    return survivors
