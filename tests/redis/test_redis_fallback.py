"""Redis unavailable: the local store and a local share of the budget, one warning without the
URL's password, and back to Redis once a probe finds it again (in one process; the
multi-process outage is in test_redis_processes.py)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis_helpers import RedisConfig
from redis_server import RedisServer

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.adapters.broker.kis._redis_link import RedisLink, import_redis
from stock_manager.adapters.broker.kis.ratelimit import FallbackRateLimiter, RedisRateLimiter
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    FallbackTokenStore,
    FileTokenStore,
    RedisTokenStore,
    TokenEntry,
    TokenKey,
)
from stock_manager.sandbox import KISSandbox

PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
KEY = TokenKey(ACCESS_TOKEN, "paper", "http://127.0.0.1:1", "0123456789abcdef")
SandboxFactory = Any


def entry(value: str) -> TokenEntry:
    now = datetime.now(UTC)
    return TokenEntry(ACCESS_TOKEN, now, value, now + timedelta(hours=1))


def fallback_store(url: str, directory: Any) -> FallbackTokenStore:
    return FallbackTokenStore(
        RedisTokenStore(RedisLink(url, probe_interval=0.5)), FileTokenStore(directory)
    )


def wait_until(condition: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_store_falls_back_to_the_file_and_returns_to_redis(
    redis_server: RedisServer, redis_db: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The URL carries a password; the logs may only ever show host and port.
    url = f"redis://:hunter2-not-logged@127.0.0.1:{redis_server.port}/0"
    redis_db.config_set("requirepass", "hunter2-not-logged")
    store = fallback_store(url, tmp_path / "tokens")
    store.save(KEY, entry("saved-while-redis-was-up"))
    assert store.shared.load(KEY).value == "saved-while-redis-was-up"  # type: ignore[union-attr]

    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        # The token mirrored locally is still found; new saves and the lock go local.
        assert store.load(KEY).value == "saved-while-redis-was-up"  # type: ignore[union-attr]
        with store.lock(KEY, timeout=5) as lease:
            assert lease.save(entry("saved-during-the-outage")) is True
        assert store.load(KEY).value == "saved-during-the-outage"  # type: ignore[union-attr]
        assert store.discard(KEY, "saved-during-the-outage") is True
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per operation
    assert f"127.0.0.1:{redis_server.port}" in caplog.text
    assert "hunter2" not in caplog.text
    assert not store.using_redis

    redis_server.start()  # empty: the password again, as a restarted Redis would have it
    with import_redis().Redis(port=redis_server.port) as admin:
        admin.config_set("requirepass", "hunter2-not-logged")
    assert wait_until(store.link.available)  # a probe, at most every probe_interval
    tombstone = store.load(KEY)  # Redis has nothing yet: the local copy answers
    assert tombstone is not None and tombstone.is_tombstone
    store.save(KEY, entry("saved-after-the-return"))
    assert store.shared.load(KEY).value == "saved-after-the-return"  # type: ignore[union-attr]


def test_a_budget_runs_on_a_local_share_and_returns_through_a_grace_period(
    redis_server: RedisServer, redis_url: str
) -> None:
    link = RedisLink(redis_url, probe_interval=0.5)
    budget = FallbackRateLimiter(RedisRateLimiter(link, "fallback", 20), local_rate=5)
    budget.release(budget.acquire())
    assert budget.mode == "redis"

    redis_server.stop()
    started = time.monotonic()
    permit = budget.acquire()  # never an error: the local share, after the settling wait
    assert time.monotonic() - started >= 2.0  # two periods and the settle time
    assert budget.mode == "local"
    budget.release(permit)

    def mode_after_a_request() -> str:
        budget.release(budget.acquire())
        return budget.mode

    redis_server.start()
    assert wait_until(lambda: mode_after_a_request() != "local")
    assert budget.mode == "grace"  # both budgets for a while, then Redis alone
    assert wait_until(lambda: mode_after_a_request() == "redis")


def test_clients_keep_calling_without_redis_and_reuse_the_mirrored_token(
    sandbox_factory: SandboxFactory,
    redis_server: RedisServer,
    redis_config: RedisConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sb: KISSandbox = sandbox_factory("paper", rate_limit=0)
    config = redis_config(sb, rate_limit_per_second=50)
    with KISRestClient(config) as client:
        client.make_request("GET", api_id="inquire-price", params=PRICE)
    assert sb.stats()["tokens_issued"] == 1

    redis_server.stop()
    with (
        caplog.at_level(logging.WARNING, logger="stock_manager"),
        KISRestClient(config) as restarted,  # a new client: nothing in memory
    ):
        for _ in range(3):
            restarted.make_request("GET", api_id="inquire-price", params=PRICE)
    assert sb.stats()["tokens_issued"] == 1  # found in the local mirror, not reissued
    assert "unavailable" in caplog.text


@pytest.mark.anyio
async def test_the_async_client_keeps_calling_without_redis(
    sandbox_factory: SandboxFactory, redis_server: RedisServer, redis_config: RedisConfig
) -> None:
    sb: KISSandbox = sandbox_factory("paper", rate_limit=0)
    redis_server.stop()
    async with AsyncKISRestClient(redis_config(sb, rate_limit_per_second=50)) as client:
        for _ in range(3):
            await client.make_request("GET", api_id="inquire-price", params=PRICE)
        assert client.rate_limiter.mode == "local"  # type: ignore[attr-defined]
    assert sb.stats()["tokens_issued"] == 1
