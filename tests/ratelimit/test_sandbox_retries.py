"""Retries against the sandbox's seeded faults, through the blocking and the asyncio client.

The sandbox's rate limit is off (``rate_limit=0``) and the client's budget high, so only the
injected faults decide; ``sleep=False`` policies keep the backoff out of the run time.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from ratelimit_helpers import (
    BALANCE_PATH,
    MARKET_TIME,
    MODES,
    ORDER_PATH,
    PRICE_PATH,
    ConfigFor,
    Mode,
    SandboxFactory,
    balance,
    buy,
    price,
    run_calls,
    start_sandbox,
)

from stock_manager.adapters.broker.kis import (
    KISAmbiguousOutcomeError,
    KISRateLimitError,
    KISResponse,
    KISServerError,
    RetryPolicy,
)

FAST = 1000.0  # requests/s: the client's budget never waits in these tests


def injected(stats: dict[str, Any]) -> int:
    """Faults that made one attempt fail (latency only slows an attempt down)."""
    return sum(count for kind, count in stats["faults"].items() if kind != "latency")


@pytest.mark.parametrize("mode", MODES)
def test_injected_egw00201_is_retried_and_succeeds(
    mode: Mode, sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = start_sandbox(sandbox_factory, "real")
    sandbox.set_faults(PRICE_PATH, rate_limit_rate=0.5, seed=11)
    config = config_for(sandbox, rate_limit_per_second=FAST)
    outcomes = run_calls(
        mode, config, [price()] * 20, retry_policy=RetryPolicy(max_retries=12, sleep=False)
    )
    assert all(isinstance(o, KISResponse) and o["rt_cd"] == "0" for o in outcomes), outcomes
    stats = sandbox.stats()
    assert stats["rate_limited"] == stats["faults"]["rate_limit"] > 0
    assert stats["requests"][PRICE_PATH] == 20 + stats["rate_limited"]


@pytest.mark.parametrize("mode", MODES)
def test_retries_stop_at_the_bound_with_the_last_error(
    mode: Mode, sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = start_sandbox(sandbox_factory, "real")
    config = config_for(sandbox, rate_limit_per_second=FAST)
    policy = RetryPolicy(max_retries=2, sleep=False)

    sandbox.set_faults(PRICE_PATH, rate_limit_rate=1.0)
    [limited] = run_calls(mode, config, [price()], retry_policy=policy)
    assert isinstance(limited, KISRateLimitError) and limited.code == "EGW00201"
    assert sandbox.stats()["requests"][PRICE_PATH] == 3  # the first attempt and 2 retries

    sandbox.set_faults(PRICE_PATH, error_rate=1.0)
    [failed] = run_calls(mode, config, [price()], retry_policy=policy)
    assert isinstance(failed, KISServerError) and failed.code in ("EGW00001", "EGW00002")
    assert sandbox.stats()["requests"][PRICE_PATH] == 6


def test_retries_back_off_for_real_when_sleeping_is_on(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = start_sandbox(sandbox_factory, "real")
    sandbox.set_faults(PRICE_PATH, error_rate=1.0)
    config = config_for(sandbox, rate_limit_per_second=FAST, max_retries=2, retry_max_wait=0.5)
    [failed] = run_calls("sync", config, [price()])  # the policy from the config: it sleeps
    assert isinstance(failed, KISServerError)
    assert 2 <= sandbox.stats()["requests"][PRICE_PATH] <= 3  # max_wait may cut it short


@pytest.mark.parametrize("mode", MODES)
def test_2000_gets_under_10_percent_faults_all_succeed(
    mode: Mode, sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = start_sandbox(sandbox_factory, "real")
    faults = {
        "error_rate": 0.025,
        "rate_limit_rate": 0.02,
        "drop_before_rate": 0.02,
        "drop_after_rate": 0.02,
        "garble_rate": 0.02,
    }
    sandbox.set_faults(PRICE_PATH, **faults, seed=5)  # type: ignore[arg-type]
    sandbox.set_faults(BALANCE_PATH, **faults)  # type: ignore[arg-type]
    config = config_for(sandbox, rate_limit_per_second=FAST)
    calls = [price(), balance(config)] * 1000
    # A call fails only if 9 attempts in a row hit a fault: about 1e-9 per call.
    policy = RetryPolicy(max_retries=8, sleep=False)
    outcomes = run_calls(mode, config, calls, workers=4, retry_policy=policy)
    failures = [o for o in outcomes if not isinstance(o, KISResponse)]
    assert not failures, failures[:5]
    assert all(o["rt_cd"] == "0" for o in outcomes)
    stats = sandbox.stats()
    assert set(stats["faults"]) >= {"error", "rate_limit", "drop_before", "drop_after", "garble"}
    assert all(stats["faults"][kind] > 0 for kind in ("error", "drop_after", "garble"))
    assert injected(stats) > 100  # about 10% of the ~2,200 attempts
    attempts = stats["requests"][PRICE_PATH] + stats["requests"][BALANCE_PATH]
    assert attempts == 2000 + injected(stats)  # every fault cost exactly one more attempt


@pytest.mark.parametrize("mode", MODES)
def test_300_orders_under_dropped_replies_never_duplicate(
    mode: Mode, sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = start_sandbox(sandbox_factory, "paper", market_time=MARKET_TIME)
    sandbox.set_faults(ORDER_PATH, drop_after_rate=0.15, seed=3)
    config = config_for(sandbox, rate_limit_per_second=FAST)
    quantities = range(1, 301)  # ORD_QTY tells the orders apart
    started = datetime.now(UTC)
    outcomes = run_calls(
        mode,
        config,
        [buy(config, quantity) for quantity in quantities],
        workers=4,
        retry_policy=RetryPolicy(max_retries=3, sleep=False),
    )
    placed = {q for q, o in zip(quantities, outcomes, strict=True) if isinstance(o, KISResponse)}
    lost = {
        q: o
        for q, o in zip(quantities, outcomes, strict=True)
        if isinstance(o, KISAmbiguousOutcomeError)
    }
    assert placed | set(lost) == set(quantities), "every order either placed or ambiguous"
    assert lost  # the faults did drop replies

    stats = sandbox.stats()
    recorded = Counter(int(order["body"]["ORD_QTY"]) for order in stats["orders"])
    assert set(recorded.values()) == {1}  # zero duplicates
    assert set(recorded) == set(quantities)  # a dropped reply still placed its order
    assert len(lost) == stats["faults"]["drop_after"]
    assert stats["requests"][ORDER_PATH] == 300  # nothing was resent

    for quantity, error in lost.items():
        assert error.body is not None and error.body["ORD_QTY"] == str(quantity)
        assert error.path == ORDER_PATH and error.tr_id == "VTTC0012U"
        assert started <= error.sent_at <= datetime.now(UTC)
        assert "orders.reconcile" in error.hint
        assert config.app_secret not in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_orders_rejected_with_egw00201_are_retried_and_placed_once(
    mode: Mode, sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = start_sandbox(sandbox_factory, "paper", market_time=MARKET_TIME)
    sandbox.set_faults(ORDER_PATH, rate_limit_rate=0.3, seed=8)
    config = config_for(sandbox, rate_limit_per_second=FAST)
    quantities = range(1, 101)
    outcomes = run_calls(
        mode,
        config,
        [buy(config, quantity) for quantity in quantities],
        workers=4,
        retry_policy=RetryPolicy(max_retries=12, sleep=False),
    )
    assert all(isinstance(o, KISResponse) for o in outcomes), outcomes
    stats = sandbox.stats()
    assert stats["rate_limited"] > 0
    recorded = Counter(int(order["body"]["ORD_QTY"]) for order in stats["orders"])
    assert recorded == Counter(quantities)  # each placed exactly once
    assert stats["requests"][ORDER_PATH] == 100 + stats["rate_limited"]
