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
    OUTPUT = 4  # the output could not be written (a full disk, a closed standard output); the run was done
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class InputError(ValueError):
    """Bad user input. The CLI prints `mxprobe: error: <message>` on one line and exits 2.

    Raised at the edge (argument validation), before any query or connection is made.
    """


class OutputError(OSError):
    """The report could not be written (ENOSPC, EBADF, EIO): one line on stderr, exit 4."""
