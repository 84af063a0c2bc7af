"""The request budget seam: the client calls :meth:`RateLimiter.acquire` right before sending a
request that counts against KIS's per-second limit (every gateway call; not OAuth or hashkey).

:class:`UnlimitedRateLimiter` never waits. A limiter that keeps one budget per (environment,
app key) shared by threads, tasks and clients implements the same two methods.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["RateLimiter", "UnlimitedRateLimiter"]


@runtime_checkable
class RateLimiter(Protocol):
    """Blocks (or awaits) until one more request may be sent."""

    def acquire(self) -> None:
        """Wait, in a thread, until a request may be sent."""

    async def aacquire(self) -> None:
        """Wait, in a task, until a request may be sent."""


class UnlimitedRateLimiter:
    """A limiter that never waits (for tests, and until a real budget is configured)."""

    def acquire(self) -> None:
        """Return at once."""

    async def aacquire(self) -> None:
        """Return at once."""

    def __repr__(self) -> str:
        return "UnlimitedRateLimiter()"
