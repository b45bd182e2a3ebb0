"""Where a report goes and what happens when it cannot get there.

- `-o FILE`: the file is opened before the run starts (a path that cannot be written is bad input, exit 2,
  nothing sent) and written in UTF-8.
- standard output: a reader that stops early (`| head -1`) is no error of the run: the rest goes nowhere and
  the exit code stays the run's. A full disk (`> /dev/full`), a closed stdout (`>&-`) or another write error
  is one line on stderr and exit 4 (`ExitCode.OUTPUT`).
- a terminal whose encoding cannot show ✔ or Chinese (PYTHONIOENCODING=ascii, latin-1): the marks fall back to
  ASCII and other characters it cannot encode are shown as `?`, never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from mxprobe.errors import InputError, OutputError
from mxprobe.render.layout import can_encode, choose_symbols


class _Closed(io.TextIOBase):
    """Stands for a standard output that was closed before the process started (`>&-`)."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OutputError(9, "standard output is closed")

    def isatty(self) -> bool:
        return False


class _Guarded(io.TextIOBase):
    """Standard output for every command: a closed pipe is swallowed (the rest goes to /dev/null and the run
    keeps its exit code), any other write error becomes an OutputError (one line, exit 4). The error is
    kept: a caller that swallows it (click probes the stream with a write it wraps in `except Exception`)
    meets it again at the next write and at exit, instead of writing on into /dev/null with exit 0."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.failed: OutputError | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(self._inner.encoding)

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    def write(self, text: str) -> int:
        return self._guard(lambda: self._inner.write(text), len(text))

    def flush(self) -> None:
        if self.failed is not None:  # told once, at exit (finish_stdout); fd 1 is /dev/null by now
            with contextlib.suppress(OSError, ValueError):
                self._inner.flush()
            return
        self._guard(self._inner.flush, 0)

    def _guard(self, action: Callable[[], object], done: int) -> int:
        if self.failed is not None:
            raise OutputError(self.failed.errno, self.failed.strerror)
        try:
            result = action()
        except BrokenPipeError:
            discard_stdout()
            return done
        except OSError as exc:
            discard_stdout()
            self.failed = OutputError(exc.errno or 5, exc.strerror or str(exc))
            raise OutputError(self.failed.errno, self.failed.strerror) from None
        return result if isinstance(result, int) else done


def prepare_streams() -> None:
    """Called once at start: a closed stdout becomes a stream whose writes fail cleanly, an open one is
    guarded (above); an encoding that cannot show the report's characters gets `?` and ASCII marks."""
    if sys.stderr is not None and isinstance(sys.stderr, io.TextIOWrapper):
        sys.stderr.reconfigure(errors="backslashreplace")
    out = sys.stdout
    if isinstance(out, io.TextIOWrapper) and not can_encode(out, "✔✖→…•中"):
        out.reconfigure(errors="replace")
    choose_symbols(out)
    sys.stdout = _Closed() if out is None else _Guarded(out)


def discard_stdout() -> None:
    """After a broken pipe: what is still to be written goes to /dev/null, not to a traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


def open_output(path: str | None) -> TextIO | None:
    """The file `-o` names, opened for writing now (before the run); None for standard output."""
    if path is None:
        return None
    if not path.strip():
        raise InputError("-o needs a file name")
    try:
        return Path(path).open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise InputError(f"cannot write -o {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def writing(out: TextIO) -> Iterator[TextIO]:
    """Write to `out`, then flush: a broken pipe ends quietly, any other write error is an OutputError."""
    try:
        yield out
        out.flush()
    except BrokenPipeError:
        if out is sys.stdout:
            discard_stdout()
            return
        raise OutputError(32, "the output pipe was closed") from None
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(exc.errno or 5, exc.strerror or str(exc)) from None


def finish_stdout() -> str | None:
    """The last flush of stdout at exit: None when it went well, else the reason it failed."""
    out = sys.stdout
    if out is None or isinstance(out, _Closed):
        return None
    if isinstance(out, _Guarded) and out.failed is not None:
        return str(out.failed.strerror or out.failed)
    try:
        out.flush()
    except BrokenPipeError:
        discard_stdout()
    except (OSError, ValueError) as exc:
        discard_stdout()
        return str(getattr(exc, "strerror", None) or exc)
    return None
