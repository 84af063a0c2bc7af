"""RedisTokenStore against a real redis-server: entries, TTLs, discards, leases and fencing."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError, KISTokenStoreError
from stock_manager.adapters.broker.kis._redis_link import RedisLink
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    APPROVAL_KEY,
    RedisTokenStore,
    TokenEntry,
    TokenKey,
    make_token_store,
)

KEY = TokenKey(ACCESS_TOKEN, "paper", "http://127.0.0.1:1", "0123456789abcdef")


def entry(value: str = "token-value-one", lifetime: float = 3600) -> TokenEntry:
    now = datetime.now(UTC)
    return TokenEntry(ACCESS_TOKEN, now, value, now + timedelta(seconds=lifetime))


@pytest.fixture
def store(redis_url: str) -> RedisTokenStore:
    return RedisTokenStore(RedisLink(redis_url), lease_ttl=1.0)


def test_an_entry_round_trips_and_expires_with_its_token(
    store: RedisTokenStore, redis_db: Any
) -> None:
    assert store.load(KEY) is None
    saved = entry(lifetime=120)
    store.save(KEY, saved)

    assert store.load(KEY) == saved
    ttl = redis_db.pttl(store.entry_key(KEY))
    assert 110_000 < ttl <= 120_000
    stored = json.loads(redis_db.get(store.entry_key(KEY)))
    assert set(stored) == {"format", "kind", "token", "token_type", "expires_at", "issued_at"}


def test_kinds_and_keys_never_share_an_entry(store: RedisTokenStore) -> None:
    approval = TokenKey(APPROVAL_KEY, KEY.environment, KEY.base_url, KEY.app_key_fingerprint)
    real = TokenKey(ACCESS_TOKEN, "real", KEY.base_url, KEY.app_key_fingerprint)
    store.save(KEY, entry("paper-token-value"))
    store.save(real, entry("real-token-value"))
    assert store.load(approval) is None
    assert store.load(KEY).value == "paper-token-value"  # type: ignore[union-attr]
    assert store.load(real).value == "real-token-value"  # type: ignore[union-attr]


def test_discard_is_compare_and_delete_and_keeps_the_issuance_time(
    store: RedisTokenStore, redis_db: Any
) -> None:
    saved = entry("current-token-value")
    store.save(KEY, saved)

    assert store.discard(KEY, "some-older-token") is False
    assert store.load(KEY) == saved
    assert store.discard(KEY, "current-token-value") is True

    tombstone = store.load(KEY)
    assert tombstone is not None and tombstone.is_tombstone
    assert tombstone.issued_at == saved.issued_at
    assert redis_db.pttl(store.entry_key(KEY)) > 3_600_000  # a tombstone outlives the token
    assert store.discard(KEY, "current-token-value") is False


def test_a_damaged_entry_is_a_warning_and_no_entry(
    store: RedisTokenStore, redis_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    redis_db.set(store.entry_key(KEY), '{"format": 1, "kind": "access_token", "token": 12')
    with caplog.at_level(logging.WARNING):
        assert store.load(KEY) is None
    assert "damaged" in caplog.text and KEY.name in caplog.text


def test_the_lease_excludes_a_second_holder_until_released(store: RedisTokenStore) -> None:
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with store.lock(KEY, timeout=5):
            inside.set()
            time.sleep(0.3)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(5)
    with store.lock(KEY, timeout=5):
        order.append("second in")
    thread.join(5)
    assert order == ["first out", "second in"]


def test_a_live_holder_keeps_its_lease_past_the_ttl(store: RedisTokenStore) -> None:
    # lease_ttl is 1 s; the holder keeps it 2 s because the lease is renewed while held.
    inside = threading.Event()
    done = threading.Event()

    def holder() -> None:
        with store.lock(KEY, timeout=5):
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(5)
    try:
        with (
            pytest.raises(KISTokenStoreError, match="not released within"),
            store.lock(KEY, timeout=2.0),
        ):
            pass
    finally:
        done.set()
        thread.join(5)


def test_a_crashed_holders_lease_expires(store: RedisTokenStore, redis_db: Any) -> None:
    # A holder that died: its lease was taken and is never renewed nor released.
    redis_db.set(store.lease_key(KEY), "a-dead-holder", nx=True, px=400)
    started = time.monotonic()
    with store.lock(KEY, timeout=5) as lease:
        waited = time.monotonic() - started
        assert lease.save(entry("after-the-crash")) is True
    assert waited >= 0.2  # it did wait for the dead holder's lease
    assert store.load(KEY).value == "after-the-crash"  # type: ignore[union-attr]
    assert redis_db.exists(store.lease_key(KEY)) == 0  # released


def test_a_holder_whose_lease_expired_cannot_overwrite_a_newer_token(
    store: RedisTokenStore, redis_db: Any
) -> None:
    with store.lock(KEY, timeout=5) as slow:
        # The slow holder stalls past its lease (as if paused or cut off): the lease is gone...
        redis_db.delete(store.lease_key(KEY))
        # ...and a newer holder takes it and saves its token.
        with store.lock(KEY, timeout=5) as newer:
            assert newer.save(entry("the-newer-token")) is True
        assert slow.save(entry("the-stale-token")) is False
    assert store.load(KEY).value == "the-newer-token"  # type: ignore[union-attr]


def test_releasing_never_deletes_another_holders_lease(
    store: RedisTokenStore, redis_db: Any
) -> None:
    with store.lock(KEY, timeout=5):
        redis_db.set(store.lease_key(KEY), "someone-else")  # ours expired; someone took it
    assert redis_db.get(store.lease_key(KEY)) == "someone-else"


def test_redis_url_selects_redis_in_front_of_the_configured_store(redis_url: str) -> None:
    config = KISConfig(_env_file=None, redis_url=redis_url, token_store="memory")
    chosen = make_token_store(config)
    assert type(chosen).__name__ == "FallbackTokenStore"
    assert type(chosen.shared).__name__ == "RedisTokenStore"  # type: ignore[attr-defined]
    assert type(chosen.local).__name__ == "MemoryTokenStore"  # type: ignore[attr-defined]
    assert chosen.shared.lease_ttl == config.redis_lease_ttl  # type: ignore[attr-defined]


def test_without_redis_py_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # what a missing package looks like
    config = KISConfig(_env_file=None, redis_url="redis://127.0.0.1:6379/0")
    with pytest.raises(KISConfigError, match=r"pip install 'stock-manager\[redis\]'"):
        make_token_store(config)


def test_a_url_that_is_not_redis_is_a_config_error() -> None:
    with pytest.raises(KISConfigError, match="not a Redis URL"):
        RedisLink("http://127.0.0.1:6379/0")


@pytest.mark.parametrize(
    "knob", [{"redis_fallback_share": 0}, {"redis_fallback_share": 1.5}, {"redis_lease_ttl": 0}]
)
def test_the_redis_knobs_are_validated(knob: dict[str, float]) -> None:
    with pytest.raises(KISConfigError, match=next(iter(knob))):
        KISConfig(_env_file=None, **knob)
