"""The whole run's time budget: every query and connection asks it how long it may still take."""

from __future__ import annotations

import time


class Deadline:
    """`seconds` from now. `cap()` shortens a step's own timeout so that it ends before the run does."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.at = self.start + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def cap(self, timeout: float, margin: float = 0.0) -> float:
        """`timeout`, shortened so that it ends `margin` seconds before the deadline."""
        return min(timeout, self.remaining() - margin)

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.start) * 1000
