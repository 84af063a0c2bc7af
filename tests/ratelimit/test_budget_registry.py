"""One budget per (environment, base URL, app key): the registry and the clients' use of it."""

from __future__ import annotations

import logging

import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISConfig,
    KISConfigError,
    KISRestClient,
)
from stock_manager.adapters.broker.kis.ratelimit import (
    BudgetKey,
    LocalRateLimiter,
    RateLimiterRegistry,
    UnlimitedRateLimiter,
    shared_rate_limiter,
)
from stock_manager.adapters.broker.kis.ratelimit.shared import default_registry

KEY_A = "A" * 36
KEY_B = "B" * 36


def config(**values: object) -> KISConfig:
    values.setdefault("kis_app_key", KEY_A)
    values.setdefault("kis_app_secret", "s" * 180)
    values.setdefault("base_url", "http://127.0.0.1:9")
    return KISConfig(_env_file=None, **values)


def test_one_key_one_budget() -> None:
    registry = RateLimiterRegistry()
    first = registry.get(config())
    assert registry.get(config()) is first
    assert registry.get(config(base_url="http://127.0.0.1:9/")) is first  # same domain
    assert isinstance(first, LocalRateLimiter)
    assert (first.capacity, first.period) == (2, 1.0)  # paper default


def test_other_key_environment_or_domain_other_budget() -> None:
    registry = RateLimiterRegistry()
    base = registry.get(config())
    others = [
        registry.get(config(kis_app_key=KEY_B)),
        registry.get(config(environment="real")),
        registry.get(config(base_url="http://127.0.0.1:10")),
    ]
    assert all(other is not base for other in others)
    assert len({id(o) for o in others}) == 3
    assert len(registry) == 4
    real = others[1]
    assert isinstance(real, LocalRateLimiter) and real.capacity == 20


def test_configured_rate_and_a_conflicting_one(caplog: pytest.LogCaptureFixture) -> None:
    registry = RateLimiterRegistry()
    limiter = registry.get(config(rate_limit_per_second=5))
    assert isinstance(limiter, LocalRateLimiter) and limiter.capacity == 5
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        again = registry.get(config(rate_limit_per_second=50))
    assert again is limiter  # two budgets for one key would together exceed KIS's limit
    assert "already runs at 5/s" in caplog.text
    assert KEY_A not in caplog.text  # the key is never logged, only its fingerprint


def test_key_is_a_fingerprint_and_factory_is_pluggable() -> None:
    made: list[BudgetKey] = []

    def factory(key: BudgetKey, cfg: KISConfig) -> UnlimitedRateLimiter:
        made.append(key)
        return UnlimitedRateLimiter()

    registry = RateLimiterRegistry(factory)
    registry.get(config(environment="real"))
    registry.get(config(environment="real"))
    assert len(made) == 1
    key = made[0]
    assert key.app_key_fingerprint == config().app_key_fingerprint
    assert str(key) == f"real:http://127.0.0.1:9:{key.app_key_fingerprint}"
    assert KEY_A not in str(key)
    assert registry.forget(config(environment="real"))
    registry.clear()
    assert len(registry) == 0


def test_a_budget_needs_an_app_key() -> None:
    with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
        RateLimiterRegistry().get(KISConfig(_env_file=None))


def test_clients_of_one_key_share_the_process_budget() -> None:
    one, two = config(kis_app_key="C" * 36), config(kis_app_key="C" * 36)
    try:
        with KISRestClient(one) as a, KISRestClient(two) as b:
            aio = AsyncKISRestClient(two)
            assert a.rate_limiter is b.rate_limiter is aio.rate_limiter
            assert a.rate_limiter is shared_rate_limiter(one)
            with KISRestClient(config(kis_app_key="D" * 36)) as other:
                assert other.rate_limiter is not a.rate_limiter
    finally:
        default_registry.forget(one)
        default_registry.forget(config(kis_app_key="D" * 36))


def test_an_explicit_limiter_wins_and_keyless_clients_still_construct() -> None:
    mine = UnlimitedRateLimiter()
    with KISRestClient(config(), rate_limiter=mine) as client:
        assert client.rate_limiter is mine
    with KISRestClient(KISConfig(_env_file=None)) as catalog_only:
        assert catalog_only.get_tr_id("order-cash", variant="buy") == "VTTC0012U"
