"""``LocalRateLimiter``: one process's rate limiter, shared by its threads and tasks.

The limiter holds ``capacity`` slots (20 for 20/s). A request takes a slot; the slot rests for
``period`` seconds (1.0 for 20/s) counted from the *reply* to that request, then serves the next
one. KIS sees at most ``capacity`` arrivals in any ``period``-long window whatever the latency,
GIL or scheduling delays between taking a slot and the bytes leaving: two requests that used
the same slot arrive at least one period apart, because the first arrived before its reply and
the second left after its slot's rest. The cost is one round trip per slot and period.

Waiting never polls: a caller takes the slot that rests least (or, when every slot has a
request in flight, queues and is handed the next released slot, first come first served), then
sleeps once until that slot's rest is over. Threads sleep with ``sleep`` (``time.sleep``);
tasks with ``async_sleep`` (``asyncio.sleep``), and are woken across threads with
``call_soon_threadsafe``, so threads and tasks on any loops share one limiter. ``clock``,
``sleep`` and ``async_sleep`` are injectable so a test can let periods pass without waiting.

Why not a library: pyrate-limiter and limits count a request when it is admitted, and neither
can count from the reply; an admission-time window trips EGW00201 when requests reach the
server late. ``python -m benchmarks.rate_limit --limiter all`` compares them against the
sandbox's real window; the figures of the last run are in ``benchmarks/results/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple

from .base import Permit, handle_issued_by

__all__ = ["LocalRateLimiter", "slots_for"]


class _Grant(NamedTuple):
    slot: int
    generation: int
    free_at: float


@dataclass(frozen=True)
class _LocalSlot:
    """The handle of a :class:`LocalRateLimiter` permit: which slot, taken which time."""

    issuer: LocalRateLimiter
    slot: int
    generation: int  # a stale permit of the slot's previous holder frees nothing


class _Waiter:
    """A caller queued for the next released slot; ``wake`` is called once it is granted."""

    __slots__ = ("grant", "wake")

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self.grant: _Grant | None = None


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


def slots_for(rate: float, window: float = 1.0) -> tuple[int, float]:
    """(capacity, period in seconds) of a limit of ``rate`` per ``window``: ``floor(rate x
    window)`` slots (at least 1), each resting ``capacity / rate`` seconds. One rule for the
    local and the Redis rate limiter."""
    capacity = max(1, math.floor(rate * window + 1e-9))
    return capacity, capacity / rate


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class LocalRateLimiter:
    """At most ``rate`` requests per second, counted from each request's reply.

    The server's window is ``window`` seconds (KIS: 1.0). ``capacity`` is ``floor(rate *
    window)`` slots (at least 1) and ``period`` is ``capacity / rate`` seconds, so an integer
    rate gives exactly N requests in any second and 0.5 gives one request per two seconds.
    ``margin`` adds seconds to every rest, for a server that might count a request after it
    has answered it (KIS does not: the arrival is what counts). ``clock`` (monotonic seconds),
    ``sleep`` and ``async_sleep`` default to the real ones.
    """

    def __init__(
        self,
        rate: float,
        *,
        window: float = 1.0,
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not _positive(rate):
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if not _positive(window):
            raise ValueError(f"window must be a positive number of seconds, not {window!r}")
        if not (margin == 0 or _positive(margin)):
            raise ValueError(f"margin must be a non-negative number of seconds, not {margin!r}")
        self.rate = float(rate)
        self.capacity, self.period = slots_for(self.rate, window)
        self.margin = float(margin)
        self._clock = clock
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._generations = itertools.count()
        self._lock = threading.Lock()
        self._start = clock()
        # Slots are made on first use (a huge rate must not cost a huge heap up front): slots
        # below _made exist, in _idle or _busy; the others have never been used.
        self._made = 0
        self._idle: list[tuple[float, int]] = []
        self._busy: dict[int, int] = {}  # slot -> generation of its outstanding permit
        self._waiters: deque[_Waiter] = deque()

    # -- the RateLimiter interface -------------------------------------------------------------

    def acquire(self) -> Permit:
        """Block this thread until a request may be sent."""
        grant = self._take(None)  # the common case: a slot is there, no event needed
        if grant is None:
            event = threading.Event()
            waiter = _Waiter(event.set)
            grant = self._take(waiter)
        if grant is None:
            try:
                event.wait()
            except BaseException:
                self._abandon(waiter)
                raise
            grant = self._granted(waiter)
        delay = grant.free_at - self._clock()
        if delay > 0:
            try:
                self._sleep(delay)
            except BaseException:
                self._give_back(grant)
                raise
        return self._permit(grant)

    async def aacquire(self) -> Permit:
        """Wait in this task, without blocking the event loop, until a request may be sent."""
        grant = self._take(None)
        if grant is None:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()

            def wake() -> None:
                loop.call_soon_threadsafe(_settle, future)

            waiter = _Waiter(wake)
            grant = self._take(waiter)
        if grant is None:
            try:
                await future
            except BaseException:  # cancelled: leave the queue, or pass the slot on
                self._abandon(waiter)
                raise
            grant = self._granted(waiter)
        delay = grant.free_at - self._clock()
        if delay > 0:
            try:
                await self._async_sleep(delay)
            except BaseException:
                self._give_back(grant)
                raise
        return self._permit(grant)

    def release(self, permit: Permit) -> None:
        """The request of ``permit`` is over: its slot rests for one period from now."""
        free_at = self._clock() + self.period + self.margin
        handle = handle_issued_by(permit, _LocalSlot, self)
        if handle is None:
            return
        with self._lock:
            if self._busy.get(handle.slot) != handle.generation:
                return  # released already
            del self._busy[handle.slot]
            self._hand_over(handle.slot, free_at)

    async def arelease(self, permit: Permit) -> None:
        """The request of ``permit`` is over (never blocks: the bookkeeping is in memory)."""
        self.release(permit)

    # -- bookkeeping (every method below that touches state holds the lock) --------------------

    def _take(self, waiter: _Waiter | None) -> _Grant | None:
        """The least-rested free slot, or None (after queueing ``waiter``, if given)."""
        with self._lock:
            if self._made < self.capacity:  # a never-used slot rests least of all
                self._made += 1
                return self._reserve(self._made - 1, self._start)
            if not self._idle:
                if waiter is not None:
                    self._waiters.append(waiter)
                return None
            free_at, slot = heapq.heappop(self._idle)
            return self._reserve(slot, free_at)

    def _reserve(self, slot: int, free_at: float) -> _Grant:
        generation = next(self._generations)
        self._busy[slot] = generation
        return _Grant(slot, generation, free_at)

    def _hand_over(self, slot: int, free_at: float) -> None:
        """Give a free slot to the longest-waiting caller, else back to the idle heap."""
        while self._waiters:
            waiter = self._waiters.popleft()
            waiter.grant = self._reserve(slot, free_at)
            try:
                waiter.wake()
            except RuntimeError:  # its event loop is closed: nobody is waiting any more
                del self._busy[slot]
                waiter.grant = None
                continue
            return
        heapq.heappush(self._idle, (free_at, slot))

    @staticmethod
    def _granted(waiter: _Waiter) -> _Grant:
        if waiter.grant is None:  # pragma: no cover - woken only after a grant
            raise RuntimeError("rate limiter woke a waiter without a slot")
        return waiter.grant

    def _abandon(self, waiter: _Waiter) -> None:
        """A queued caller gave up (cancelled, interrupted): drop it or pass its slot on."""
        with self._lock:
            grant = waiter.grant
            if grant is None:
                # Absent only if it was handed a slot whose wake failed, and skipped.
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                return
            if self._busy.get(grant.slot) == grant.generation:
                del self._busy[grant.slot]
                self._hand_over(grant.slot, grant.free_at)

    def _give_back(self, grant: _Grant) -> None:
        """A slot taken but never used keeps its rest time and goes to the next caller."""
        with self._lock:
            if self._busy.get(grant.slot) == grant.generation:
                del self._busy[grant.slot]
                self._hand_over(grant.slot, grant.free_at)

    def _permit(self, grant: _Grant) -> Permit:
        return Permit(_LocalSlot(self, grant.slot, grant.generation), granted_at=self._clock())

    @property
    def in_flight(self) -> int:
        """Slots taken and not yet released (including callers sleeping on a taken slot)."""
        with self._lock:
            return len(self._busy)

    def __repr__(self) -> str:
        return (
            f"LocalRateLimiter(rate={self.rate:g}, capacity={self.capacity}, "
            f"period={self.period:g}s, margin={self.margin:g}s)"
        )
