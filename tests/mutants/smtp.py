"""Mutants of the SMTP dialogue's guard lines: no command written while unread data waits, no command on a
closed connection. (mutmut covers the rest of exchange.py, scrub.py and the reply parser: see the docstring
of tests/test_smtp_wire.py.)"""

from __future__ import annotations

from mutants.runner import Mutant

EXCHANGE = "mxprobe/smtp/exchange.py"
TESTS = ["tests/test_smtp_wire.py", "tests/test_smtp_handshake.py", "tests/test_smtp_faults.py"]

MUTANTS = [
    Mutant(
        "exchange: data waiting before a command ignored",
        EXCHANGE,
        "waiting = self.conn.waiting()",
        "waiting = b''",
        TESTS,
    ),
    Mutant(
        "exchange: a closed connection not noticed",
        EXCHANGE,
        "if not waiting and not self.conn.closed:",
        "if not waiting:",
        TESTS,
    ),
]
