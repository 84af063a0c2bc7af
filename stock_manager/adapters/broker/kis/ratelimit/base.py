"""The rate limiter seam: what a rate limiter must do for the clients.

KIS counts requests per app key (20 per second on the real domain, 2 on paper) and answers
``EGW00201`` past that. The clients take a :class:`Permit` from a :class:`RateLimiter` right
before sending a request that counts (every gateway call; not OAuth or hashkey) and give it
back as soon as the reply, or the failure, is in::

    permit = limiter.acquire()          # or: await limiter.aacquire()
    try:
        response = send(request)
    finally:
        limiter.release(permit)         # or: await limiter.arelease(permit)

Releasing on the reply rather than on the send is what makes the limiter safe whatever the
latency: the request reached KIS, if it did, before its reply came back, so a slot that is
reused one window after the reply can never put N + 1 arrivals into one of KIS's seconds.

Implementations: :class:`UnlimitedRateLimiter` (never waits),
:class:`~.local.LocalRateLimiter` (one process), and :class:`~.redis.RedisRateLimiter` with
:class:`~.fallback.FallbackRateLimiter` (several processes, through Redis) behind the same four
methods. :mod:`.shared` hands out one shared limiter per (environment, base URL, app key).

A permit's ``handle`` is a small frozen dataclass of the limiter kind that issued it, naming
that limiter; :func:`handle_issued_by` is the one check a limiter makes before it trusts a
permit handed back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["IssuedHandle", "Permit", "RateLimiter", "UnlimitedRateLimiter", "handle_issued_by"]


@dataclass(frozen=True, eq=False)
class Permit:
    """One request's place in a rate limiter, from ``acquire()`` until ``release()``.

    ``handle`` is the limiter's own bookkeeping (its slot, generation, ...); callers only hand
    the permit back. ``granted_at`` is when it was granted, on the issuing limiter's clock
    (``time.monotonic()`` unless the limiter was given another).
    """

    handle: Hashable
    granted_at: float = field(default_factory=time.monotonic)


@runtime_checkable
class RateLimiter(Protocol):
    """A limit on requests, shared by every thread and task that holds it.

    ``acquire``/``aacquire`` wait until one more request may be sent and return its
    :class:`Permit`; ``release``/``arelease`` say the request is over (reply received, or failed)
    and must be called exactly once per permit, whatever happened. ``aacquire``/``arelease``
    never block the event loop. Releasing a permit twice, or one of another limiter, is a no-op.
    """

    def acquire(self) -> Permit:
        """Wait, in a thread, until a request may be sent."""
        ...

    async def aacquire(self) -> Permit:
        """Wait, in a task, until a request may be sent."""
        ...

    def release(self, permit: Permit) -> None:
        """The request of ``permit`` is over (from a thread)."""
        ...

    async def arelease(self, permit: Permit) -> None:
        """The request of ``permit`` is over (from a task)."""
        ...


class IssuedHandle(Protocol):
    """A permit handle that names the limiter which issued it."""

    @property
    def issuer(self) -> object:
        """The limiter that granted the permit (compared by identity)."""
        ...


_Handle = TypeVar("_Handle", bound=IssuedHandle)


def handle_issued_by(permit: Permit, kind: type[_Handle], issuer: object) -> _Handle | None:
    """``permit``'s handle if ``issuer`` granted it as a ``kind``, else None.

    Releasing a permit of another limiter (or a made-up one) must be a no-op, never a slot
    freed by mistake; this is the one place that decides whether a permit is ours.
    """
    handle = permit.handle
    if isinstance(handle, kind) and handle.issuer is issuer:
        return handle
    return None


class UnlimitedRateLimiter:
    """A limiter that never waits (for tests and for servers without a limit)."""

    def __init__(self) -> None:
        self._numbers = itertools.count()

    def acquire(self) -> Permit:
        """Return a permit at once."""
        return Permit(next(self._numbers))

    async def aacquire(self) -> Permit:
        """Return a permit at once."""
        return Permit(next(self._numbers))

    def release(self, permit: Permit) -> None:
        """Nothing to give back."""

    async def arelease(self, permit: Permit) -> None:
        """Nothing to give back."""

    def __repr__(self) -> str:
        return "UnlimitedRateLimiter()"
