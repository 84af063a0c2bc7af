"""``RedisRateLimiter``: one app key's rate limiter, shared through Redis by every process.

The same slots as :class:`~.local.LocalRateLimiter`, kept in Redis: ``capacity`` slots
(20 for 20/s), each resting ``period`` seconds counted from the *reply* to its last request.
That is what keeps KIS's window (N arrivals in any second) safe whatever the latency between
taking a slot and the request's arrival: two requests on one slot arrive at least a period
apart. Times are Redis's own clock (``TIME`` inside the scripts), so the machines' clocks do
not matter; a caller only ever sleeps for a duration Redis computed.

* **acquire**: one atomic script takes the idle slot that rests least and answers how long
  its rest still lasts; the caller sleeps that once. When every slot is taken (a request in
  flight, or a caller sleeping before its send), the script answers when to look again: the
  earliest moment a taken slot can be used (so waiters do not poll while every slot sleeps),
  else ``poll_interval``. A slot freed by a reply rests a full period, so a waiter that finds
  it a poll later has lost nothing.
* **release**: a script puts the slot back, resting from now (Redis's now: after the reply).
* A taken slot not released within ``hold_limit`` (its process died) is reclaimed, resting
  from the reclaim. A limiter whose keys vanished (Redis restarted or flushed) is recreated
  under a new *epoch*; a process that knew the old one recreates it rested for a period, and
  permits of the old epoch are ignored on release.
* Every process follows the limiter Redis holds, whatever rate it runs (a mismatch is warned
  about once), unless it is no sane limiter at all: malformed, a capacity outside 1..100000, a
  period outside 1 ms..1 h, or a rate below :data:`~..config.MIN_SHARED_RATE`. Only then does
  the acquiring process replace it with its own, rested for a period, with a warning. (Two
  processes of different sane rates must not replace each other's limiter: each replacement
  wipes the other's busy slots, and the limit could be exceeded.)
  No caller waits more than ``max_wait`` for a slot; past it :class:`KISRateLimitError`
  says so, and nothing was sent.

Keys (hash-tagged for Redis Cluster): ``<prefix>:{budget-<name>}:meta|idle|busy|grants``,
where ``<name>`` holds the environment, the app key's fingerprint and a digest of the base
URL; never the key (the ``budget-`` in the keys is kept: renaming it would orphan live state).
The Lua scripts are in :mod:`._redis_scripts`. Every Redis failure raises
:class:`~.._redis_link.KISRedisUnavailableError`; :mod:`.fallback` turns it into a local limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from .._redis_link import DEFAULT_PREFIX, RedisLink, RedisReplyError, ScriptArg
from ..config import MIN_SHARED_RATE
from ..errors import KISRateLimitError, KISRedisUnavailableError
from ..redaction import logger
from ._redis_scripts import ACQUIRE, RELEASE
from .base import Permit, handle_issued_by
from .local import slots_for

__all__ = ["RedisRateLimiter"]


class _Answer(NamedTuple):
    slot: int  # -1: no slot free
    generation: int
    wait: float  # seconds: until the slot may be used, or until looking again
    epoch: str


@dataclass(frozen=True)
class _RedisSlot:
    """The handle of a :class:`RedisRateLimiter` permit: its slot under one epoch of the
    shared state (a permit of a vanished epoch frees nothing)."""

    issuer: RedisRateLimiter
    slot: int
    generation: int
    epoch: str


class _Reply(NamedTuple):
    slot: int
    generation: int
    wait_ms: int
    capacity: int
    period_ms: int
    epoch: str
    replaced: bool  # the shared limiter was implausible and this call replaced it with ours


def _parse_acquire(reply: Any) -> _Reply:
    """The acquire script's answer; another shape raises :class:`RedisReplyError` (the link
    makes it an outage, logged as an error)."""
    try:
        slot, generation, wait_ms, capacity, period_ms, epoch, replaced = reply
        return _Reply(
            int(slot),
            int(generation),
            int(wait_ms),
            int(capacity),
            int(period_ms),
            _text(epoch),
            int(replaced) == 1,
        )
    except (TypeError, ValueError):
        raise RedisReplyError(
            f"the acquire script answered a {type(reply).__name__}, not 7 integers and an epoch"
        ) from None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class RedisRateLimiter:
    """At most ``rate`` requests per second for every process sharing ``name`` in Redis.

    ``window``/``margin`` as for :class:`~.local.LocalRateLimiter`. ``hold_limit``
    bounds how long a permit may stay out (sleep before sending plus the request) before its
    slot is presumed lost with its process; keep it above the HTTP timeout.
    """

    def __init__(
        self,
        link: RedisLink,
        name: str,
        rate: float,
        *,
        window: float = 1.0,
        margin: float = 0.0,
        hold_limit: float = 60.0,
        max_wait: float = 30.0,
        poll_interval: float = 0.02,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        for label, value in (
            ("rate", rate),
            ("window", window),
            ("hold_limit", hold_limit),
            ("max_wait", max_wait),
        ):
            if not (isinstance(value, int | float) and 0 < value < math.inf):
                raise ValueError(f"{label} must be a positive number, not {value!r}")
        if rate < MIN_SHARED_RATE:
            # Slower than the floor, this limiter would be replaced by every other process.
            raise ValueError(f"rate must be at least {MIN_SHARED_RATE:g}/s, not {rate!r}")
        if not name or not name.replace("-", "").isalnum():
            raise ValueError("a budget name is letters, digits and dashes")
        self.link = link
        self.name = name
        self.rate = float(rate)
        self.capacity, self.period = slots_for(self.rate, window)
        self.margin = float(margin)
        self.hold_limit = float(hold_limit)
        self.max_wait = float(max_wait)
        self.poll_interval = poll_interval
        base = f"{prefix}:{{budget-{name}}}"
        self.keys = [f"{base}:meta", f"{base}:idle", f"{base}:busy", f"{base}:grants"]
        self._period_ms = math.ceil(self.period * 1000)
        self._key_ttl_ms = int(max(3600.0, 2 * (self.hold_limit + self.period)) * 1000)
        self._acquire_script = link.client.register_script(ACQUIRE)
        self._release_script = link.client.register_script(RELEASE)
        self._epoch: str | None = None
        self._shared = (self.capacity, self._period_ms)  # what Redis last said it runs
        self._warned_mismatch = False
        self._lock = threading.Lock()

    # -- the RateLimiter interface -------------------------------------------------------------

    def acquire(self) -> Permit:
        """Block this thread until a request may be sent, at most ``max_wait`` seconds
        (then :class:`KISRateLimitError`: nothing was sent)."""
        deadline = time.monotonic() + self.max_wait
        while True:
            answer = self._take()
            pause = self._pause_before(answer, deadline)
            if pause is None:
                if answer.slot >= 0:
                    self._give_back(answer)
                raise self._timed_out()
            if answer.slot < 0:
                time.sleep(pause)
                continue
            if answer.wait > 0:
                try:
                    time.sleep(answer.wait)
                except BaseException:
                    self._give_back(answer)
                    raise
            return self._permit(answer)

    async def aacquire(self) -> Permit:
        """Wait in this task until a request may be sent, at most ``max_wait`` seconds (then
        :class:`KISRateLimitError`); Redis calls run in worker threads."""
        deadline = time.monotonic() + self.max_wait
        while True:
            taking = asyncio.ensure_future(asyncio.to_thread(self._take))
            try:
                answer = await asyncio.shield(taking)
            except asyncio.CancelledError:
                # The script may still grant a slot after we were cancelled: hand it back then.
                taking.add_done_callback(self._give_back_later)
                raise
            pause = self._pause_before(answer, deadline)
            if pause is None:
                if answer.slot >= 0:
                    _in_thread(self._give_back, answer)
                raise self._timed_out()
            if answer.slot < 0:
                await asyncio.sleep(pause)
                continue
            if answer.wait > 0:
                try:
                    await asyncio.sleep(answer.wait)
                except BaseException:
                    _in_thread(self._give_back, answer)
                    raise
            return self._permit(answer)

    def _pause_before(self, answer: _Answer, deadline: float) -> float | None:
        """How long to sleep once ``answer`` is in (until the slot rests, or before looking
        again); None when that would pass the deadline."""
        remaining = deadline - time.monotonic()
        if answer.wait <= remaining:
            return answer.wait
        if answer.slot < 0 and remaining > 0:
            return remaining  # one last look at the deadline
        return None

    def _timed_out(self) -> KISRateLimitError:
        return KISRateLimitError(
            "EGW00201",
            f"no request slot of the budget {self.name} shared in Redis at {self.link.address} "
            f"within {self.max_wait:g} s (it runs {self._shared_rate()}); the request was not "
            "sent",
        )

    def _shared_rate(self) -> str:
        with self._lock:
            capacity, period_ms = self._shared
        return f"{capacity} requests per {period_ms} ms"

    def release(self, permit: Permit) -> None:
        """The request of ``permit`` is over: its slot rests for one period from now."""
        handle = handle_issued_by(permit, _RedisSlot, self)
        if handle is not None:
            self._release(handle.slot, handle.generation, handle.epoch, used=True)

    async def arelease(self, permit: Permit) -> None:
        """The request of ``permit`` is over (the script runs in a worker thread)."""
        await asyncio.to_thread(self.release, permit)

    # -- Redis ---------------------------------------------------------------------------------

    def _take(self) -> _Answer:
        known = self._epoch
        args: list[ScriptArg] = [
            self.capacity,
            self._period_ms,
            int(self.hold_limit * 1000),
            self._key_ttl_ms,
            uuid.uuid4().hex[:16],
            1 if known is not None else 0,
            max(1, int(self.poll_interval * 1000)),
            repr(MIN_SHARED_RATE),
        ]
        # A reply of another shape is a broken Redis (an outage); a bug of ours is not.
        reply = self.link.run_and_parse(
            lambda r: self._acquire_script(keys=self.keys, args=args, client=r), _parse_acquire
        )
        self._note(reply)
        return _Answer(reply.slot, reply.generation, max(0, reply.wait_ms) / 1000, reply.epoch)

    def _release(self, slot: int, generation: int, epoch: str, *, used: bool) -> None:
        args: list[ScriptArg] = [slot, generation, epoch, int(used), math.ceil(self.margin * 1000)]
        self.link.run(lambda r: self._release_script(keys=self.keys, args=args, client=r))

    def _give_back(self, answer: _Answer) -> None:
        """A slot taken but never used keeps its rest and goes to the next caller."""
        # If Redis fails, the slot is reclaimed after hold_limit (or went with Redis's state).
        with contextlib.suppress(KISRedisUnavailableError):
            self._release(answer.slot, answer.generation, answer.epoch, used=False)

    def _give_back_later(self, taking: asyncio.Future[_Answer]) -> None:
        if taking.cancelled() or taking.exception() is not None:
            return
        answer = taking.result()
        if answer.slot >= 0:
            _in_thread(self._give_back, answer)

    def _note(self, reply: _Reply) -> None:
        """Warn when the shared limiter was reset, or runs at another rate than ours."""
        epoch, capacity, period_ms = reply.epoch, reply.capacity, reply.period_ms
        with self._lock:
            previous, self._epoch = self._epoch, epoch
            self._shared = (capacity, period_ms)
            mismatch = (capacity, period_ms) != (self.capacity, self._period_ms)
            warn_mismatch = mismatch and not self._warned_mismatch
            self._warned_mismatch = self._warned_mismatch or mismatch
        if reply.replaced:
            logger.warning(
                "request budget %s in Redis at %s was not a sane budget (malformed, or a rate "
                "below %g/s); it was replaced by ours, %d requests per %d ms",
                self.name,
                self.link.address,
                MIN_SHARED_RATE,
                self.capacity,
                self._period_ms,
            )
        elif previous is not None and previous != epoch:
            logger.warning(
                "request budget %s: its state in Redis at %s was lost (restart or flush); "
                "it starts again, rested for one period",
                self.name,
                self.link.address,
            )
        if warn_mismatch:
            logger.warning(
                "request budget %s in Redis runs %d requests per %d ms, set by another "
                "process; this one asked for %d per %d ms and follows the shared one",
                self.name,
                capacity,
                period_ms,
                self.capacity,
                self._period_ms,
            )

    def _permit(self, answer: _Answer) -> Permit:
        return Permit(_RedisSlot(self, answer.slot, answer.generation, answer.epoch))

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter({self.name}, rate={self.rate:g}, capacity={self.capacity}, "
            f"period={self.period:g}s, redis={self.link.address})"
        )


def _in_thread(function: Any, *args: Any) -> None:
    """Run a short Redis call without blocking an event loop or waiting for it."""
    threading.Thread(
        target=function, args=args, name="kis-rate-limit-give-back", daemon=True
    ).start()
