"""The sandbox's sense of time, injectable so a test can let an hour pass in no time.

Everything in the sandbox that reads or waits for time (token lifetimes and the issue
interval, the per-key request window, order timestamps, latency faults) asks a
:class:`SandboxClock`. :class:`SystemClock` is the real one; :class:`ManualClock` only moves
when told to (or when something sleeps on it), so a test of a 60 s interval or a 24 h token
takes microseconds. I/O deadlines (slow bodies, request heads) stay on real time: they bound
real sockets.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol

__all__ = ["ManualClock", "SandboxClock", "SystemClock"]


class SandboxClock(Protocol):
    """Monotonic time for intervals, wall time for what clients see, and an async sleep."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (intervals, windows)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (token claims, expiry, order times)."""
        ...

    async def async_sleep(self, seconds: float) -> None:
        """Wait ``seconds`` in the server's event loop."""
        ...


class SystemClock:
    """The real clocks: ``time.monotonic``, ``time.time`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    async def async_sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)``."""
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until :meth:`advance` (or a sleep on it) moves it. Thread-safe.

    Wall time starts at ``start`` (default: the real time now, so tokens look current) and
    monotonic time at 0; both move together. Sleeping advances the clock by the duration and
    returns at once, so code that waits on it runs at full speed in logical time. Usable as
    the ``clock``/``sleep`` of :class:`~stock_manager.sandbox.KISSandbox` and of a local rate
    limiter alike.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._wall_start = time.time() if start is None else float(start)
        self._elapsed = 0.0

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (a negative value is refused: time never goes back)."""
        if not seconds >= 0:
            raise ValueError(f"a clock only moves forward, not by {seconds!r} seconds")
        with self._lock:
            self._elapsed += seconds

    def monotonic(self) -> float:
        """Seconds advanced since the clock was made."""
        with self._lock:
            return self._elapsed

    def time(self) -> float:
        """The start time plus the seconds advanced."""
        with self._lock:
            return self._wall_start + self._elapsed

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` (a thread "sleeping" on this clock returns at once)."""
        self.advance(max(0.0, seconds))

    async def async_sleep(self, seconds: float) -> None:
        """Advance by ``seconds``, then let other tasks run once, as a real sleep would."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ManualClock(elapsed={self.monotonic():g}s)"
