"""Hand-picked mutants of the blocklist and pool guard lines: each must make a test fail (issue 9: every
promise pinned by a test that fails when its guard is removed).

Run on demand, not in CI: `.venv/bin/python tests/mutants/mutate_blocklists.py [--only TEXT]`. The
repository is copied to a temporary directory; each mutant is applied there (never in the working tree) and
the tests that hold the promise are run against the copy. Prints KILLED or SURVIVED per mutant, and exits 1
when one survived.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE, CHECK, REDACT = (
    "mxprobe/blocklists/engine.py",
    "mxprobe/blocklists/check.py",
    "mxprobe/blocklists/redact.py",
)
POOL, COMMAND = "mxprobe/pool.py", "mxprobe/commands/pool.py"
LIST_TESTS = ["tests/test_check_dnsbl.py", "tests/test_check_dbl.py", "tests/test_blocklist_guards.py"]
POOL_TESTS = ["tests/test_pool.py"]

# (file, guard as written, the guard removed or inverted, the tests that must catch it)
MUTANTS: list[tuple[str, str, str, list[str]]] = [
    (
        ENGINE,
        'if answer.failed:\n        return Reading("failed"',
        'if False:\n        return Reading("failed"',
        LIST_TESTS,
    ),
    (ENGINE, "outside = [a for a in addresses if not _loopback(a)]", "outside: list[str] = []", LIST_TESTS),
    (
        ENGINE,
        "refusals = [(a, m) for a in addresses if (m := zone.refusals.match(a))]",
        "refusals = []",
        LIST_TESTS,
    ),
    (ENGINE, "for a in addresses if not zone.info.match(a))", "for a in addresses)", LIST_TESTS),
    (ENGINE, 'if address.startswith("127.") and address.count(".") == 3:', "if True:", LIST_TESTS),
    (ENGINE, 'if clean.reading.outcome == "listed":', "if False:", LIST_TESTS),
    (ENGINE, 'if asked.reading.outcome in ("refused", "rewritten"):', "if False:", LIST_TESTS),
    (ENGINE, 'if asked.reading.outcome == "failed":', "if False:", LIST_TESTS),
    (
        ENGINE,
        'if listed.reading.outcome == "listed":\n        return None',
        "if True:\n        return None",
        LIST_TESTS,
    ),
    (ENGINE, 'if health is not None and health.status == "broken":', "if False:", LIST_TESTS),
    (ENGINE, "if failed:\n        first = failed[0]", "if False:\n        first = failed[0]", LIST_TESTS),
    (
        ENGINE,
        "if health is not None:\n        record.status, record.error_kind",
        "if False:\n        record.status, record.error_kind",
        LIST_TESTS,
    ),
    (
        CHECK,
        'missing = [o for o in used if o.zone.major and o.status in ("error", "broken")]',
        "missing = []",
        LIST_TESTS,
    ),
    (CHECK, "if not usable or len(errors) > len(usable):", "if not usable:", LIST_TESTS),
    (CHECK, "return redact.deep(result)", "return result", LIST_TESTS),
    (REDACT, "if self._b64 is not None:\n            text = self._b64.sub(MASK, text)", "pass", LIST_TESTS),
    (REDACT, "if len(key) <= FRAGMENT:", "if True:", LIST_TESTS),
    (
        REDACT,
        'return "|".join([*runs, re.escape(key.encode("ascii").hex())])',
        'return "|".join(runs)',
        LIST_TESTS,
    ),
    (
        REDACT,
        'return f"(?:{re.escape(c)}|%{code:02x}|\\\\\\\\{code:03d})"',
        "return re.escape(c)",
        LIST_TESTS,
    ),
    (REDACT, "return self._text.sub(MASK, text)", "return text", LIST_TESTS),
    (POOL, "        if len(pending) > MAX_LINE:", "        if False:", POOL_TESTS),
    (POOL, "if options.rate * options.timeout < per_ip:", "if False:", POOL_TESTS),
    (
        POOL,
        "while emitted in tasks and tasks[emitted].done():",
        "while any(t.done() for t in tasks.values()):",
        POOL_TESTS,
    ),
    (
        POOL,
        "return (str(address) for address in net)",
        "return (str(address) for address in net.hosts())",
        POOL_TESTS,
    ),
    (POOL, "if len(self.skipped) < MAX_SKIPPED:", "if True:", POOL_TESTS),
    (
        POOL,
        'return Options(**{**options.__dict__, "only": options.only or checks})',
        'probe = Options(**{**options.__dict__, "only": options.only or checks})\n'
        "    probe.timeout = max(probe.timeout, 2 * _queries_per_ip(probe) / (probe.rate or 1e9))\n"
        "    return probe",
        POOL_TESTS,
    ),
    (
        COMMAND,
        "except KeyboardInterrupt:\n            interrupted = True",
        "except ZeroDivisionError:\n            interrupted = True",
        POOL_TESTS,
    ),
]


def run(copy: Path, tests: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-x", "-q", *tests]
    return subprocess.run(
        command, cwd=copy, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the mutants whose guard contains this text")
    args = parser.parse_args(argv)
    survivors = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "mutants"))
        for path, guard, mutant, tests in MUTANTS:
            if args.only not in guard:
                continue
            target = copy / path
            original = target.read_text(encoding="utf-8")
            if original.count(guard) != 1:
                print(f"MISSING  {path}: {guard.splitlines()[0]} (the guard moved: update this list)")
                survivors += 1
                continue
            target.write_text(original.replace(guard, mutant), encoding="utf-8")
            try:
                done = run(copy, tests)
            finally:
                target.write_text(original, encoding="utf-8")
            failed = next((line for line in done.stdout.splitlines() if line.startswith("FAILED")), "")
            verdict = "KILLED  " if done.returncode else "SURVIVED"
            survivors += not done.returncode
            print(f"{verdict} {path}: {guard.splitlines()[0]}  {failed[:100]}")
    print(f"{survivors} survived")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
