"""Mutants of the blocklist and pool guard lines: no listing without the list's test points holding, refusal
codes and rewritten answers never listings, a major list that did not answer never a pass, keys redacted."""

from __future__ import annotations

from mutants.runner import Mutant

ENGINE, CHECK, REDACT = (
    "mxprobe/blocklists/engine.py",
    "mxprobe/blocklists/check.py",
    "mxprobe/blocklists/redact.py",
)
POOL, COMMAND = "mxprobe/pool.py", "mxprobe/commands/pool.py"
LIST_TESTS = ["tests/test_check_dnsbl.py", "tests/test_check_dbl.py", "tests/test_blocklist_guards.py"]
POOL_TESTS = ["tests/test_pool.py"]

# (file, guard as written, the guard removed or inverted, the tests that must catch it)
_TABLE: list[tuple[str, str, str, list[str]]] = [
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

MUTANTS = [Mutant(guard.splitlines()[0], path, guard, mutant, tests) for path, guard, mutant, tests in _TABLE]
