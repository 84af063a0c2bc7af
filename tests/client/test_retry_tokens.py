"""RetryPolicy and the in-memory token managers (no network)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from stock_manager.adapters.broker.kis import (
    AccessToken,
    KISConfig,
    KISConnectError,
    KISInvalidTokenError,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis.protocol import build_hashkey_request
from stock_manager.adapters.broker.kis.tokens import AsyncTokenManager, TokenManager

CONFIG = KISConfig(_env_file=None, kis_app_key="k" * 36, kis_app_secret="s" * 180)
REQUEST = build_hashkey_request(CONFIG, b"{}")


def make_token(value: str, lifetime: timedelta = timedelta(hours=24)) -> AccessToken:
    now = datetime.now(UTC)
    return AccessToken(value=value, expires_at=now + lifetime, issued_at=now)


# -- RetryPolicy -------------------------------------------------------------------------------


def test_delay_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap / 2  # jittered over the whole range, not a constant
    assert RetryPolicy(sleep=False).delay(5) == 0


def test_should_retry_is_bounded_by_attempts_and_time() -> None:
    policy = RetryPolicy(max_retries=2, max_wait=10)
    refused = KISConnectError("refused")
    assert policy.should_retry(REQUEST, refused, 0, 0.0)
    assert policy.should_retry(REQUEST, refused, 1, 9.9)
    assert not policy.should_retry(REQUEST, refused, 2, 0.0)
    assert not policy.should_retry(REQUEST, refused, 0, 10.0)


def test_policy_from_config_and_validation() -> None:
    config = KISConfig(_env_file=None, max_retries=7, retry_max_wait=4.5)
    policy = RetryPolicy.from_config(config, sleep=False)
    assert (policy.max_retries, policy.max_wait, policy.sleep) == (7, 4.5, False)
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


# -- AccessToken -------------------------------------------------------------------------------


def test_access_token_hides_its_value_and_needs_aware_times() -> None:
    issued = make_token("secret-token-value-123")
    assert "secret-token-value-123" not in repr(issued)
    assert issued.authorization == "Bearer secret-token-value-123"
    assert not issued.expires_within(60)
    assert issued.expires_within(25 * 3600)
    with pytest.raises(ValueError, match="timezone-aware"):
        AccessToken(value="v", expires_at=datetime(2030, 1, 1), issued_at=datetime.now(UTC))


# -- TokenManager ------------------------------------------------------------------------------


def test_token_is_issued_once_and_reused() -> None:
    issued: list[AccessToken] = []

    def issue() -> AccessToken:
        issued.append(make_token(f"token-{len(issued)}-value"))
        return issued[-1]

    manager = TokenManager(issue, refresh_margin=600)
    first = manager.get()
    assert manager.get() is first
    assert manager.current is first
    assert len(issued) == 1


def test_token_is_refreshed_within_the_margin() -> None:
    tokens = iter(
        [make_token("short-lived-token", timedelta(minutes=5)), make_token("fresh-token")]
    )
    manager = TokenManager(lambda: next(tokens), refresh_margin=600)
    assert manager.get().value == "short-lived-token"  # no token: issue whatever comes
    assert manager.get().value == "fresh-token"  # the first expires within 10 minutes


def test_concurrent_first_calls_issue_one_token() -> None:
    calls = 0
    lock = threading.Lock()

    def issue() -> AccessToken:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.05)
        return make_token("shared-token-value")

    manager = TokenManager(issue)
    barrier = threading.Barrier(16)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(manager.get().value)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == 1
    assert seen == ["shared-token-value"] * 16


def test_invalidate_drops_only_the_current_token() -> None:
    tokens = iter([make_token("token-a-value"), make_token("token-b-value")])
    manager = TokenManager(lambda: next(tokens))
    a = manager.get()
    assert not manager.invalidate("some-other-token")
    assert manager.current is a
    assert manager.invalidate(a.value)
    b = manager.get()
    assert b.value == "token-b-value"
    assert not manager.invalidate(a.value)  # a late failure with the old token changes nothing
    assert manager.current is b


def test_revoke_calls_the_revoker_and_forgets_the_token() -> None:
    revoked: list[str] = []
    manager = TokenManager(lambda: make_token("revocable-token"), lambda t: revoked.append(t.value))
    assert not manager.revoke()
    manager.get()
    assert manager.revoke()
    assert revoked == ["revocable-token"]
    assert manager.current is None


def test_revoke_forgets_a_token_kis_no_longer_knows() -> None:
    def revoker(_: AccessToken) -> None:
        raise KISInvalidTokenError("EGW00121", "유효하지 않은 token 입니다.")

    manager = TokenManager(lambda: make_token("unknown-token"), revoker)
    manager.get()
    assert manager.revoke()
    assert manager.current is None


def test_revoke_keeps_the_token_when_kis_could_not_be_reached() -> None:
    def revoker(_: AccessToken) -> None:
        raise KISConnectError("refused")

    manager = TokenManager(lambda: make_token("kept-token"), revoker)
    manager.get()
    with pytest.raises(KISConnectError):
        manager.revoke()
    assert manager.current is not None


def test_async_manager_issues_once_for_concurrent_tasks() -> None:
    calls = 0

    async def issue() -> AccessToken:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        return make_token(f"async-token-{calls}")

    revoked: list[str] = []

    async def revoke(issued: AccessToken) -> None:
        revoked.append(issued.value)

    async def scenario() -> None:
        manager = AsyncTokenManager(issue, revoke)
        values = await asyncio.gather(*(manager.get() for _ in range(32)))
        assert {v.value for v in values} == {"async-token-1"}
        assert not await manager.invalidate("other-token")
        assert await manager.invalidate("async-token-1")
        assert (await manager.get()).value == "async-token-2"
        assert await manager.revoke()
        assert revoked == ["async-token-2"]
        assert manager.current is None

    asyncio.run(scenario())
    assert calls == 2
