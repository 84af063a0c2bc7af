"""One rate limiter per (environment, base URL, app key) per process.

KIS limits each app key, not each client: two clients, sixteen threads and a dozen tasks using
one key must draw from one limiter. :func:`shared_rate_limiter` returns the same
:class:`~.base.RateLimiter` object for every configuration with the same
:class:`BudgetKey`; the clients call it unless given ``rate_limiter=`` explicitly.

>>> shared_rate_limiter(config) is shared_rate_limiter(other_config_same_key)
True

Which backend a new limiter gets is decided by :func:`create_rate_limiter`: a process-local
:class:`~.local.LocalRateLimiter` at ``config.requests_per_second``, or with
``redis_url`` one shared by every process through Redis; a registry can be built with another
factory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..config import KISConfig
from ..redaction import get_logger
from .base import RateLimiter
from .local import LocalRateLimiter

__all__ = [
    "BudgetKey",
    "RateLimiterFactory",
    "RateLimiterRegistry",
    "create_rate_limiter",
    "default_registry",
    "shared_rate_limiter",
]

logger = get_logger("stock_manager.kis.ratelimit")


@dataclass(frozen=True)
class BudgetKey:
    """Whose rate limiter: the domain (environment and base URL) and the app key's fingerprint.

    ``str(key)`` is safe to log and to use as a shared-store key: it holds the SHA-256
    fingerprint of the app key, never the key.
    """

    environment: str
    base_url: str
    app_key_fingerprint: str

    @classmethod
    def for_config(cls, config: KISConfig) -> BudgetKey:
        """The rate limiter ``config`` draws from (:class:`KISConfigError` without an app key)."""
        return cls(
            environment=config.environment,
            base_url=config.rest_base_url.rstrip("/").lower(),
            app_key_fingerprint=config.app_key_fingerprint,
        )

    def __str__(self) -> str:
        return f"{self.environment}:{self.base_url}:{self.app_key_fingerprint}"


#: Builds the limiter of a key seen for the first time.
RateLimiterFactory = Callable[[BudgetKey, KISConfig], RateLimiter]


def create_rate_limiter(key: BudgetKey, config: KISConfig) -> RateLimiter:
    """The default backend: a process-local limiter at ``config.requests_per_second``; with
    ``redis_url``, one shared through Redis by every process (:mod:`.fallback`)."""
    if config.redis_url is not None:
        # Imported only when chosen: redis-py is an optional dependency.
        from .fallback import redis_rate_limiter  # noqa: PLC0415

        return redis_rate_limiter(key, config)
    return LocalRateLimiter(config.requests_per_second)


class RateLimiterRegistry:
    """Hands out one limiter per :class:`BudgetKey`, creating it on first use. Thread-safe.

    The first configuration to ask for a key sets its rate; a later one asking for another
    rate gets the same limiter (two limiters for one key would together exceed KIS's limit) and
    a warning.
    """

    def __init__(self, factory: RateLimiterFactory = create_rate_limiter) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._limiters: dict[BudgetKey, tuple[RateLimiter, float]] = {}

    def get(self, config: KISConfig) -> RateLimiter:
        """The limiter shared by every client configured with ``config``'s key and domain."""
        key = BudgetKey.for_config(config)
        rate = config.requests_per_second
        with self._lock:
            entry = self._limiters.get(key)
            if entry is None:
                limiter = self._factory(key, config)
                self._limiters[key] = (limiter, rate)
                logger.debug("request budget %s: %g/s (%r)", key, rate, limiter)
                return limiter
        limiter, first_rate = entry
        if rate != first_rate:
            logger.warning(
                "request budget %s already runs at %g/s; rate_limit_per_second=%g is ignored "
                "(one app key has one budget per process)",
                key,
                first_rate,
                rate,
            )
        return limiter

    def forget(self, config: KISConfig) -> bool:
        """Drop the limiter of ``config``'s key (the next client starts a fresh one)."""
        with self._lock:
            return self._limiters.pop(BudgetKey.for_config(config), None) is not None

    def clear(self) -> None:
        """Drop every limiter."""
        with self._lock:
            self._limiters.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._limiters)


default_registry = RateLimiterRegistry()


def shared_rate_limiter(config: KISConfig) -> RateLimiter:
    """The process-wide rate limiter for ``config``'s (environment, base URL, app key)."""
    return default_registry.get(config)
