"""RedisRateLimiter against a real redis-server: slots shared by separate connections (as
separate processes would hold them), resting from the reply, reclaimed from dead holders."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from redis_helpers import RedisConfig

from stock_manager.adapters.broker.kis import KISRestClient
from stock_manager.adapters.broker.kis._redis_link import RedisLink
from stock_manager.adapters.broker.kis.ratelimit import (
    Permit,
    RedisRateLimiter,
    shared_rate_limiter,
)
from stock_manager.sandbox import KISSandbox

PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
SandboxFactory = Any


def limiter(url: str, rate: float = 4, **options: Any) -> RedisRateLimiter:
    """A budget named "test" on its own connection pool: another process, as far as Redis
    can tell."""
    return RedisRateLimiter(RedisLink(url), "test", rate, **options)


def slot_count(redis_db: Any, budget: RedisRateLimiter) -> tuple[int, int]:
    _, idle, busy, _ = budget.keys
    return redis_db.zcard(idle), redis_db.zcard(busy)


def test_two_holders_of_one_budget_share_its_slots(redis_url: str, redis_db: Any) -> None:
    first, second = limiter(redis_url), limiter(redis_url)
    permits = [first.acquire(), second.acquire(), first.acquire(), second.acquire()]
    assert slot_count(redis_db, first) == (0, 4)  # the capacity of 4/s, taken by both

    waited: list[float] = []

    def fifth() -> None:
        started = time.monotonic()
        second.release(second.acquire())
        waited.append(time.monotonic() - started)

    thread = threading.Thread(target=fifth)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()  # every slot has a request in flight: nothing to take
    released = time.monotonic()
    first.release(permits[0])
    thread.join(5)
    # The freed slot rests a full period (1 s) from the release before it serves again.
    assert waited and time.monotonic() - released >= 0.95
    for permit, owner in zip(permits[1:], (second, first, second), strict=True):
        owner.release(permit)
    assert slot_count(redis_db, first) == (4, 0)


def test_a_permit_released_twice_or_by_a_stranger_changes_nothing(
    redis_url: str, redis_db: Any
) -> None:
    budget = limiter(redis_url, rate=2)
    permit = budget.acquire()
    budget.release(Permit(("not", "ours")))
    assert slot_count(redis_db, budget) == (1, 1)
    budget.release(permit)
    budget.release(permit)
    assert slot_count(redis_db, budget) == (2, 0)


def test_a_dead_holders_slot_is_reclaimed_after_the_hold_limit(
    redis_url: str, redis_db: Any
) -> None:
    dead = limiter(redis_url, rate=1, hold_limit=0.5)
    dead.acquire()  # and its process dies: never released
    survivor = limiter(redis_url, rate=1, hold_limit=0.5)
    started = time.monotonic()
    survivor.release(survivor.acquire())
    # Reclaimed after the hold limit, then rested one period (1 s) from the reclaim.
    assert time.monotonic() - started >= 1.4
    assert slot_count(redis_db, survivor) == (1, 0)


def test_a_budget_lost_in_redis_starts_again_rested_with_a_warning(
    redis_url: str, redis_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    budget = limiter(redis_url, rate=3)
    old = budget.acquire()
    redis_db.flushdb()  # Redis restarted empty, or someone flushed it
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        started = time.monotonic()
        budget.release(budget.acquire())
    assert time.monotonic() - started >= 0.95  # rested: the old budget's sends are hidden
    assert "was lost" in caplog.text
    budget.release(old)  # a permit of the old epoch: ignored, the slots stay consistent
    assert sum(slot_count(redis_db, budget)) == 3
    assert slot_count(redis_db, budget) == (3, 0)


def test_another_rate_for_the_same_budget_follows_the_first_with_a_warning(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = limiter(redis_url, rate=5), limiter(redis_url, rate=20)
    first.release(first.acquire())
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        second.release(second.acquire())
    assert "5 requests per 1000 ms" in caplog.text


@pytest.mark.anyio
async def test_tasks_share_the_budget_and_a_cancelled_waiter_gives_its_slot_back(
    redis_url: str, redis_db: Any
) -> None:
    budget = limiter(redis_url, rate=2)
    first = await budget.aacquire()
    second = await budget.aacquire()
    await budget.arelease(first)  # this slot now rests for a second

    waiting = asyncio.ensure_future(budget.aacquire())
    await asyncio.sleep(0.2)  # it holds the resting slot, asleep until it may send
    assert slot_count(redis_db, budget) == (0, 2)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for _ in range(50):  # the give-back runs in a worker thread
        if slot_count(redis_db, budget) == (1, 1):
            break
        await asyncio.sleep(0.02)
    assert slot_count(redis_db, budget) == (1, 1)
    await budget.arelease(second)
    assert slot_count(redis_db, budget) == (2, 0)


def test_redis_url_makes_every_client_of_a_key_share_one_budget_in_redis(
    sandbox_factory: SandboxFactory, redis_config: RedisConfig
) -> None:
    # Two clients with their own Redis budgets (separate connections, as two processes
    # would have), 8 threads each, for 3 s against the sandbox's real limit of 20/s.
    sb: KISSandbox = sandbox_factory("real", rate_limit=None, issue_interval=0)
    config = redis_config(sb)
    assert type(shared_rate_limiter(config)).__name__ == "FallbackRateLimiter"
    budgets = [
        RedisRateLimiter(RedisLink(config.redis_url.get_secret_value()), "shared", 20)  # type: ignore[union-attr]
        for _ in range(2)
    ]
    clients = [KISRestClient(config, rate_limiter=budget) for budget in budgets]
    deadline = time.monotonic() + 3

    def work(client: KISRestClient) -> int:
        calls = 0
        while time.monotonic() < deadline:
            client.make_request("GET", api_id="inquire-price", params=PRICE)
            calls += 1
        return calls

    with ThreadPoolExecutor(16) as pool:
        calls = sum(pool.map(work, [client for client in clients for _ in range(8)]))
    for client in clients:
        client.close()
    stats = sb.stats()
    assert stats["rate_limited"] == 0
    assert 40 <= calls <= 20 * 4  # the limit's worth, not twice it
