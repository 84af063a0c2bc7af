"""Shared budgets against the sandbox's real per-key limit, counted by the sandbox.

The sandbox admits at most N requests per app key in any 1.0 s (by arrival) and counts every
EGW00201 in ``stats()["rate_limited"]``; retries are off here, so a request over the limit would
also fail the call. A rate of 10/s keeps each test to a couple of seconds.
"""

from __future__ import annotations

import threading
from typing import Any

from ratelimit_helpers import (
    PRICE_PATH,
    Call,
    ConfigFor,
    SandboxFactory,
    price,
    run_calls,
    start_sandbox,
)

from stock_manager.adapters.broker.kis import KISConfig, KISRateLimitError, KISResponse, RetryPolicy
from stock_manager.adapters.broker.kis.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    shared_rate_limiter,
)
from stock_manager.sandbox import KISSandbox

NO_RETRY = RetryPolicy(max_retries=0)
RATE = 10


def in_parallel(*jobs: tuple[str, KISConfig, list[Call], RateLimiter | None]) -> list[Any]:
    """Run each (mode, config, calls, limiter) job in its own thread, with its own client."""
    results: list[list[Any]] = [[] for _ in jobs]
    barrier = threading.Barrier(len(jobs))

    def run(index: int) -> None:
        mode, config, calls, limiter = jobs[index]
        barrier.wait()
        results[index] = run_calls(
            mode,  # type: ignore[arg-type]
            config,
            calls,
            workers=3,
            retry_policy=NO_RETRY,
            rate_limiter=limiter,
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return [outcome for batch in results for outcome in batch]


def limited_sandbox(factory: SandboxFactory) -> KISSandbox:
    return start_sandbox(factory, "real", rate_limit=RATE)


def test_two_clients_with_one_key_share_one_budget(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = limited_sandbox(sandbox_factory)
    one = config_for(sandbox, rate_limit_per_second=RATE)
    two = config_for(sandbox, rate_limit_per_second=RATE)
    assert shared_rate_limiter(one) is shared_rate_limiter(two)
    calls = [price()] * 12
    # A blocking client in threads and an asyncio client in tasks, 24 requests in all: each
    # alone would fit its own budget at once; together they must wait for each other.
    outcomes = in_parallel(("sync", one, calls, None), ("async", two, calls, None))
    assert all(isinstance(o, KISResponse) for o in outcomes), outcomes
    stats = sandbox.stats()
    assert stats["rate_limited"] == 0
    assert stats["requests"][PRICE_PATH] == 24


def test_separate_budgets_for_one_key_would_trip_the_limit(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    """The control for the test above: the sandbox does see two unshared budgets."""
    sandbox = limited_sandbox(sandbox_factory)
    config = config_for(sandbox, rate_limit_per_second=RATE)
    calls = [price()] * RATE
    outcomes = in_parallel(
        ("sync", config, calls, LocalRateLimiter(RATE)),
        ("sync", config, calls, LocalRateLimiter(RATE)),
    )
    rejected = [o for o in outcomes if isinstance(o, KISRateLimitError)]
    assert rejected
    assert sandbox.stats()["rate_limited"] == len(rejected)


def test_two_keys_have_separate_budgets(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sandbox = limited_sandbox(sandbox_factory)
    first = config_for(sandbox, rate_limit_per_second=RATE)
    key, secret, account = sandbox.register_app()
    second = config_for(
        sandbox,
        kis_app_key=key,
        kis_app_secret=secret,
        account_no=account,
        rate_limit_per_second=RATE,
    )
    a, b = shared_rate_limiter(first), shared_rate_limiter(second)
    assert a is not b
    calls = [price()] * RATE
    outcomes = in_parallel(("sync", first, calls, None), ("async", second, calls, None))
    assert all(isinstance(o, KISResponse) for o in outcomes), outcomes
    assert sandbox.stats()["rate_limited"] == 0
    # Each key spent only its own budget: both limiters are idle and whole again.
    assert isinstance(a, LocalRateLimiter) and isinstance(b, LocalRateLimiter)
    assert a.in_flight == b.in_flight == 0
