"""The request budget: one word, *rate limiter*, for what keeps a key under KIS's per-second limit.

:mod:`.base` holds the :class:`RateLimiter` protocol and its :class:`Permit`; :mod:`.local` the
:class:`LocalRateLimiter` (one process); :mod:`.redis` the :class:`RedisRateLimiter` (every
process of an app key, through Redis) and :mod:`.fallback` the :class:`FallbackRateLimiter` that
answers a Redis outage with a local share; :mod:`.shared` hands out one limiter per key
(:func:`shared_rate_limiter`), which is what the clients use unless given ``rate_limiter=``.

>>> from stock_manager.adapters.broker.kis.ratelimit import LocalRateLimiter
>>> client = KISRestClient(config, rate_limiter=LocalRateLimiter(5))
"""

from __future__ import annotations

from .base import Permit, RateLimiter, UnlimitedRateLimiter
from .fallback import FallbackRateLimiter
from .local import LocalRateLimiter
from .redis import RedisRateLimiter
from .shared import BudgetKey, RateLimiterRegistry, shared_rate_limiter

__all__ = [
    "BudgetKey",
    "FallbackRateLimiter",
    "LocalRateLimiter",
    "Permit",
    "RateLimiter",
    "RateLimiterRegistry",
    "RedisRateLimiter",
    "UnlimitedRateLimiter",
    "shared_rate_limiter",
]
