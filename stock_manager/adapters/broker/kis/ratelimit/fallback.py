"""``FallbackRateLimiter``: the Redis-shared rate limiter, and a local share while Redis is out.

The limiter :func:`~.shared.create_rate_limiter` builds when ``redis_url`` is set. It has
three modes, each switch made without ever letting the processes of one app key together
exceed KIS's limit, provided no more than ``1 / share`` of them run (4 at the default 0.25):

* ``redis``: every request takes a slot of the shared :class:`~.redis.RedisRateLimiter`.
* ``local`` (Redis failed): a fresh :class:`~.local.LocalRateLimiter` at
  ``rate x share``. Its first request waits until two periods plus ``settle`` seconds after
  the failure, because callers of other processes may still hold slots granted by Redis just
  before (a slot lets its caller send up to a period later) and the failure hid them.
* ``grace`` (a probe found Redis again): requests take a local slot *and* a Redis one for
  ``probe_interval`` + a period + ``settle`` seconds. Every other process probes within one
  ``probe_interval``, so by the time this one drops its local share, the others have stopped
  sending on local limiters alone and everything they send is counted in Redis.

Redis failures never reach the caller; a shared slot not found within ``max_wait`` does,
as :class:`KISRateLimitError` (nothing sent), and whatever ends a wait (that, a cancellation)
gives back the local slot already taken. Outage warnings come from the shared
:class:`~.._redis_link.RedisLink` (once per outage per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from .._redis_link import RedisLink, shared_link
from ..config import domain_digest
from ..errors import KISRedisUnavailableError
from ..redaction import logger
from .base import Permit, handle_issued_by
from .local import LocalRateLimiter, slots_for
from .redis import RedisRateLimiter

if TYPE_CHECKING:
    from ..config import KISConfig
    from .shared import BudgetKey

__all__ = ["FallbackRateLimiter", "budget_name", "redis_rate_limiter"]

Mode = Literal["redis", "local", "grace"]


@dataclass(frozen=True)
class _FallbackPermits:
    """The handle of a :class:`FallbackRateLimiter` permit: the permits it took underneath.

    ``local`` is the local limiter that issued ``local_permit`` (the mode may have moved on,
    and dropped that limiter, by the time the permit comes back).
    """

    issuer: FallbackRateLimiter
    local: LocalRateLimiter | None
    local_permit: Permit | None
    shared_permit: Permit | None


class _Route(NamedTuple):
    local: LocalRateLimiter | None
    gate: float  # no local request before this (clock)
    shared: bool


class FallbackRateLimiter:
    """``shared`` while Redis answers; a local limiter at ``local_rate`` while it does not."""

    def __init__(
        self,
        shared: RedisRateLimiter,
        *,
        local_rate: float,
        settle: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.local_rate = local_rate
        self.settle = settle
        self._clock = clock
        self._lock = threading.Lock()
        self._mode: Mode = "redis"
        self._local: LocalRateLimiter | None = None
        self._gate = 0.0
        self._grace_until = 0.0

    @property
    def link(self) -> RedisLink:
        """The Redis link whose health decides the mode."""
        return self.shared.link

    @property
    def mode(self) -> Mode:
        """``"redis"``, ``"local"`` or ``"grace"`` (both, on the way back to Redis)."""
        with self._lock:
            self._route_locked()
            return self._mode

    # -- the RateLimiter interface -------------------------------------------------------------

    def acquire(self) -> Permit:
        """Block this thread until a request may be sent."""
        while True:
            if self.link.probe_due():
                self.link.available()
            route = self._route()
            local_permit = None
            if route.local is not None:
                pause = route.gate - self._clock()
                if pause > 0:
                    time.sleep(pause)
                local_permit = route.local.acquire()
            if not route.shared:
                return self._permit(route, local_permit, None)
            try:
                shared_permit = self.shared.acquire()
            except BaseException as exc:
                # Cancelled, timed out or Redis gone: the local slot must not leak (a leaked
                # one is never released, and later callers would wait for it forever).
                if route.local is not None and local_permit is not None:
                    route.local.release(local_permit)
                if not isinstance(exc, KISRedisUnavailableError):
                    raise
                continue  # the link is down now: the next route is local
            return self._permit(route, local_permit, shared_permit)

    async def aacquire(self) -> Permit:
        """Wait in this task until a request may be sent."""
        while True:
            if self.link.probe_due():
                await asyncio.to_thread(self.link.available)
            route = self._route()
            local_permit = None
            if route.local is not None:
                pause = route.gate - self._clock()
                if pause > 0:
                    await asyncio.sleep(pause)
                local_permit = await route.local.aacquire()
            if not route.shared:
                return self._permit(route, local_permit, None)
            try:
                shared_permit = await self.shared.aacquire()
            except BaseException as exc:
                # Cancelled, timed out or Redis gone: the local slot must not leak (a leaked
                # one is never released, and later callers would wait for it forever).
                if route.local is not None and local_permit is not None:
                    route.local.release(local_permit)
                if not isinstance(exc, KISRedisUnavailableError):
                    raise
                continue
            return self._permit(route, local_permit, shared_permit)

    def release(self, permit: Permit) -> None:
        """The request of ``permit`` is over: give its slots back."""
        handle = handle_issued_by(permit, _FallbackPermits, self)
        if handle is None:
            return
        if handle.local is not None and handle.local_permit is not None:
            handle.local.release(handle.local_permit)
        # While the link is down the slot is unreachable; Redis reclaims it after hold_limit.
        if handle.shared_permit is not None and self.link.up:
            with contextlib.suppress(KISRedisUnavailableError):
                self.shared.release(handle.shared_permit)

    async def arelease(self, permit: Permit) -> None:
        """The request of ``permit`` is over (Redis is called from a worker thread)."""
        handle = handle_issued_by(permit, _FallbackPermits, self)
        if handle is None:
            return
        if handle.local is not None and handle.local_permit is not None:
            handle.local.release(handle.local_permit)
        if handle.shared_permit is not None and self.link.up:
            with contextlib.suppress(KISRedisUnavailableError):
                await self.shared.arelease(handle.shared_permit)

    # -- modes ---------------------------------------------------------------------------------

    def _route(self) -> _Route:
        with self._lock:
            return self._route_locked()

    def _route_locked(self) -> _Route:
        now, up = self._clock(), self.link.up
        if self._mode != "local" and not up:
            self._go_local(now)
        elif self._mode == "local" and up:
            self._mode = "grace"
            self._grace_until = now + self.link.probe_interval + self.shared.period + self.settle
        elif self._mode == "grace" and now >= self._grace_until:
            self._mode, self._local = "redis", None
            logger.info("request budget %s: back on the budget shared in Redis", self.shared.name)
        local = self._local if self._mode != "redis" else None
        return _Route(local, self._gate, self._mode != "local")

    def _go_local(self, now: float) -> None:
        self._mode = "local"
        self._local = LocalRateLimiter(self.local_rate, margin=self.shared.margin)
        self._gate = now + 2 * self.shared.period + self.settle
        logger.info(
            "request budget %s: %g requests/s from this process while Redis is unavailable",
            self.shared.name,
            self.local_rate,
        )

    def _permit(
        self, route: _Route, local_permit: Permit | None, shared_permit: Permit | None
    ) -> Permit:
        return Permit(_FallbackPermits(self, route.local, local_permit, shared_permit))

    def __repr__(self) -> str:
        return f"FallbackRateLimiter({self.shared!r}, local_rate={self.local_rate:g})"


def budget_name(key: BudgetKey) -> str:
    """The Redis name of a shared rate limiter: environment, app-key fingerprint, digest of the
    base URL."""
    domain = domain_digest(key.base_url)
    return f"{key.environment.lower()}-{key.app_key_fingerprint.lower()}-{domain}"


def redis_rate_limiter(key: BudgetKey, config: KISConfig) -> FallbackRateLimiter:
    """The rate limiter for ``config.redis_url``: shared in Redis, a local share as fallback."""
    rate = config.requests_per_second
    # A permit lives through its caller's sleep (at most a period, 1/rate below 1/s) and one
    # HTTP exchange (connect, write, read); past that its process is presumed gone.
    hold_limit = 2 * max(1.0, 1 / rate) + config.connect_timeout + 3 * config.timeout + 10.0
    # KISConfig refused a rate below MIN_SHARED_RATE with redis_url set. A caller waits at
    # most retry_max_wait for a slot, and at least a few periods (a queue of a few rounds is
    # normal): a limiter held by others past that fails the call, unsent, instead of hanging it.
    _, period = slots_for(rate)
    shared = RedisRateLimiter(
        shared_link(config),
        budget_name(key),
        rate,
        hold_limit=hold_limit,
        max_wait=max(config.retry_max_wait, 5 * period),
    )
    return FallbackRateLimiter(shared, local_rate=rate * config.redis_fallback_share)
