"""The guards of the README's core promises that a review once removed while the whole suite still passed:
a check past the deadline or raising is `error`, never `pass`; nothing outside the allowed verbs reaches an
SMTP server; a DNS datagram that does not answer the query is ignored."""

from __future__ import annotations

from mutants.runner import Mutant

MUTANTS = [
    Mutant(
        "scanner: a check past the deadline reported as pass",
        "mxprobe/scanner.py",
        '            Status.ERROR,\n            f"did not finish within',
        '            Status.PASS,\n            f"did not finish within',
        ["tests/test_scanner.py"],
    ),
    Mutant(
        "scanner: a check that raises reported as pass",
        "mxprobe/scanner.py",
        'CheckResult(spec.id, Status.ERROR, f"internal error',
        'CheckResult(spec.id, Status.PASS, f"internal error',
        ["tests/test_scanner.py"],
    ),
    Mutant(
        "smtp: the verb allow-list deleted",
        "mxprobe/smtp/exchange.py",
        "    if verb not in VERBS:\n        raise",
        "    if False:\n        raise",
        ["tests/test_smtp_wire.py"],
    ),
    Mutant(
        "dns: the response test deleted",
        "mxprobe/dns/wire.py",
        "    if len(reply) < 12 or reply[:2] != query[:2]:\n        return False",
        "    return len(reply) >= 12",
        ["tests/test_dns_transport.py"],
    ),
]
