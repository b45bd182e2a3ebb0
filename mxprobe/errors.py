"""Exit codes and the one exception type that turns bad input into a one-line message.

Exit codes are a contract documented in the README; scripts branch on them.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0  # nothing failed (warnings allowed unless --strict)
    FAILED = 1  # a check failed, or a recipient was deferred or rejected
    USAGE = 2  # bad input or usage: nothing was sent
    INCONCLUSIVE = 3  # a check could not run and none failed


class InputError(ValueError):
    """Bad user input. The CLI prints `mxprobe: error: <message>` on one line and exits 2.

    Raised at the edge (argument validation), before any query or connection is made.
    """
