"""Shared bits of the Redis tests (a plain module: conftest is not for importing)."""

from __future__ import annotations

from collections.abc import Callable

from stock_manager.adapters.broker.kis import KISConfig

__all__ = ["RedisConfig"]

#: The ``redis_config(**overrides)`` fixture's type: a KISConfig pointed at the test's Redis.
RedisConfig = Callable[..., KISConfig]
