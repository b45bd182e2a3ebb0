"""The one way every test server runs: its own event loop in a background thread.

Why a thread and not the test's event loop: pyspf and checkdmarc are synchronous and block the calling
thread while they wait for an answer; a server sharing that thread would never answer. A server on its own
loop serves sync tests, async tests and code running in `asyncio.to_thread` alike.

Writing a new server: subclass `BackgroundServer`, implement `_open()` (bind the listeners, set `self.port`)
and `_close()` (close the listeners). Run per-request work through `self.spawn(coro)` and the body of a
connection handler through `await self.converse(coro)`, so `stop()` can cancel it: nothing outlives `stop()`,
not even a tarpit sleeping forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class BackgroundServer:
    """Lifecycle shared by the DNS and SMTP servers: `start()`, `stop()`, context manager, `.host`/`.port`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- to implement ----------------------------------------------------------------------------------------
    async def _open(self) -> None:
        """Bind the listeners (in the server's loop) and set `self.port` to the real port."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Close the listeners; tasks made by `spawn` are cancelled afterwards by the base class."""
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name=f"{type(self).__name__}", daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError(f"{type(self).__name__} did not start within {START_TIMEOUT} s")
        if failure:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"{type(self).__name__} did not stop within {STOP_TIMEOUT} s")
        self._thread = self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the server's loop (call from that loop) and cancel it on `stop()`."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def converse(self, coro: Coroutine[Any, Any, Any]) -> None:
        """The body of an `asyncio.start_server` handler. asyncio's own handler task must not be cancelled
        (Python 3.11 logs a spurious traceback for it), so the work runs in a task of ours that `stop()`
        cancels."""
        with contextlib.suppress(asyncio.CancelledError):
            await self.spawn(coro)

    # -- the thread ------------------------------------------------------------------------------------------
    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # handed to start(), which re-raises it in the caller's thread
                failure.append(exc)
                return
            finally:
                ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        await self._close()
        while self._tasks:  # a cancelled handler may still spawn cleanup work; drain until quiet
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if others:  # asyncio's connection handlers, now returning since their work was cancelled
            await asyncio.wait(others, timeout=STOP_TIMEOUT / 2)
        await asyncio.sleep(0)  # let transports run their close callbacks before the loop closes
