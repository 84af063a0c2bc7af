"""TokenManager and AsyncTokenManager against stores, with KIS played by plain functions.

The sandbox tests cover the same rules over HTTP; these pin down the decisions (when to wait,
how long, what to adopt) exactly, with a fake clock and a recording sleep.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from token_helpers import make_token

from stock_manager.adapters.broker.kis import (
    AccessToken,
    KISConfig,
    KISConfigError,
    KISTokenIssueThrottledError,
    KISTokenStoreError,
)
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    AsyncTokenManager,
    MemoryTokenStore,
    TokenEntry,
    TokenKey,
    TokenLease,
    TokenManager,
)

KEY = TokenKey(ACCESS_TOKEN, "paper", "http://127.0.0.1:1", "00ff00ff00ff00ff")


def throttled() -> KISTokenIssueThrottledError:
    return KISTokenIssueThrottledError(
        "EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)", status_code=403
    )


class Clock:
    """A settable clock; ``sleep`` advances it and records the pause."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class FakeKIS:
    """Plays tokenP: hands out the planned outcomes in order, then fresh tokens."""

    def __init__(self, *plan: AccessToken | Exception, delay: float = 0.0) -> None:
        self.plan = list(plan)
        self.calls = 0
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self) -> AccessToken:
        with self.lock:
            self.calls += 1
            outcome = self.plan.pop(0) if self.plan else make_token(f"fresh-token-{self.calls}")
        time.sleep(self.delay)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def issue(self) -> AccessToken:
        await asyncio.sleep(self.delay)
        with self.lock:
            self.calls += 1
            outcome = self.plan.pop(0) if self.plan else make_token(f"fresh-token-{self.calls}")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class CountingStore(MemoryTokenStore):
    """A memory store that counts every call, to prove the hot path makes none."""

    def __init__(self) -> None:
        super().__init__()
        self.counts = {"load": 0, "save": 0, "discard": 0, "lock": 0}

    def load(self, key: TokenKey) -> TokenEntry | None:
        self.counts["load"] += 1
        return super().load(key)

    def save(self, key: TokenKey, entry: TokenEntry) -> None:
        self.counts["save"] += 1
        super().save(key, entry)

    def discard(self, key: TokenKey, value: str) -> bool:
        self.counts["discard"] += 1
        return super().discard(key, value)

    def lock(self, key: TokenKey, timeout: float) -> AbstractContextManager[TokenLease]:
        self.counts["lock"] += 1
        return super().lock(key, timeout)


def stored(token: AccessToken) -> TokenEntry:
    return TokenEntry(ACCESS_TOKEN, token.issued_at, token.value, token.expires_at)


def manager(kis: FakeKIS, store: MemoryTokenStore, clock: Clock, **options: float) -> TokenManager:
    settings: dict[str, float] = {"issue_interval": 1.0, "max_wait": 10.0, **options}
    return TokenManager(kis, store=store, key=KEY, clock=clock, sleep=clock.sleep, **settings)


# -- hot and cold paths ------------------------------------------------------------------------


def test_the_hot_path_does_no_store_io_and_takes_no_lock() -> None:
    store = CountingStore()
    kis = FakeKIS()
    tokens = manager(kis, store, Clock())
    first = tokens.get()
    after_first = dict(store.counts)
    assert after_first == {"load": 1, "save": 1, "discard": 0, "lock": 1}
    for _ in range(1000):
        assert tokens.get() is first
    assert store.counts == after_first
    assert kis.calls == 1


def test_a_token_another_process_stored_is_adopted() -> None:
    store = MemoryTokenStore()
    theirs = make_token("their-token-value")
    store.save(KEY, stored(theirs))
    kis = FakeKIS()
    assert manager(kis, store, Clock()).get() == theirs
    assert kis.calls == 0


def test_a_refresh_adopts_a_fresher_stored_token() -> None:
    store = MemoryTokenStore()
    clock = Clock()
    kis = FakeKIS(make_token("old-token-value", timedelta(hours=1)))
    tokens = manager(kis, store, clock, refresh_margin=600)
    assert tokens.get().value == "old-token-value"
    store.save(KEY, stored(make_token("newer-token-value")))  # another process refreshed
    clock.now += timedelta(minutes=55)  # now within the margin of the old one
    assert tokens.get().value == "newer-token-value"
    assert kis.calls == 1


def test_the_key_is_resolved_on_first_use() -> None:
    config = KISConfig(_env_file=None, token_store="memory")  # no app key: catalog-only use
    tokens = TokenManager.from_config(config, FakeKIS(), store=MemoryTokenStore())
    with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
        tokens.get()


# -- EGW00133 ----------------------------------------------------------------------------------


def test_a_refusal_waits_until_the_interval_after_the_last_known_issuance(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryTokenStore()
    clock = Clock()
    # A tombstone: the last token was issued 0.4 s ago and then discarded.
    store.save(KEY, TokenEntry(ACCESS_TOKEN, clock.now - timedelta(seconds=0.4)))
    kis = FakeKIS(throttled(), make_token("after-the-wait"))
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        token = manager(kis, store, clock, issue_interval=1).get()
    assert token.value == "after-the-wait"
    assert clock.sleeps == [pytest.approx(0.6)]
    assert kis.calls == 2
    assert "EGW00133" in caplog.text and "waiting 0.6 s" in caplog.text
    entry = store.load(KEY)
    assert entry is not None and entry.value == "after-the-wait"


def test_a_refusal_with_no_known_issuance_waits_one_interval() -> None:
    clock = Clock()
    kis = FakeKIS(throttled())
    assert manager(kis, MemoryTokenStore(), clock, issue_interval=2.5).get().value
    assert clock.sleeps == [2.5]


def test_a_token_stored_during_the_wait_is_adopted() -> None:
    store = MemoryTokenStore()
    clock = Clock()
    theirs = make_token("stored-while-waiting")

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        store.save(KEY, stored(theirs))  # the party that got the token saved it meanwhile

    kis = FakeKIS(throttled())
    tokens = TokenManager(kis, store=store, key=KEY, clock=clock, sleep=sleep, issue_interval=1)
    assert tokens.get() == theirs
    assert kis.calls == 1


def test_a_second_refusal_is_raised_after_one_wait() -> None:
    clock = Clock()
    kis = FakeKIS(throttled(), throttled())
    with pytest.raises(KISTokenIssueThrottledError) as caught:
        manager(kis, MemoryTokenStore(), clock).get()
    assert caught.value.code == "EGW00133"
    assert kis.calls == 2 and len(clock.sleeps) == 1  # never spins


def test_a_wait_beyond_max_wait_is_raised_at_once() -> None:
    clock = Clock()
    kis = FakeKIS(throttled())
    with pytest.raises(KISTokenIssueThrottledError) as caught:
        manager(kis, MemoryTokenStore(), clock, issue_interval=60, max_wait=5).get()
    assert clock.sleeps == []
    assert kis.calls == 1
    assert any("token_max_wait=5" in note for note in caught.value.__notes__)


def test_a_refused_early_refresh_keeps_the_valid_token_without_waiting() -> None:
    clock = Clock()
    short = make_token("short-lived-token", timedelta(minutes=5))
    kis = FakeKIS(short, throttled(), make_token("later-token"))
    tokens = manager(kis, MemoryTokenStore(), clock, issue_interval=30, refresh_margin=600)
    assert tokens.get() == short
    clock.now += timedelta(seconds=10)
    assert tokens.get() == short  # refresh refused: still valid, so keep it
    assert clock.sleeps == []
    for _ in range(50):  # no retry storm: the hot path serves it until the interval passes
        assert tokens.get() == short
    assert kis.calls == 2
    clock.now += timedelta(seconds=31)
    assert tokens.get().value == "later-token"
    assert kis.calls == 3


# -- invalidate and revoke ---------------------------------------------------------------------


def test_many_threads_failing_with_one_token_cause_one_reissue() -> None:
    store = MemoryTokenStore()
    kis = FakeKIS(make_token("token-one"), delay=0.01)
    tokens = manager(kis, store, Clock())
    old = tokens.get()
    barrier = threading.Barrier(32)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        tokens.invalidate(old.value)
        seen.append(tokens.get().value)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert kis.calls == 2
    assert seen == ["fresh-token-2"] * 32
    entry = store.load(KEY)
    assert entry is not None and entry.value == "fresh-token-2"


class BrokenDiscardStore(MemoryTokenStore):
    def discard(self, key: TokenKey, value: str) -> bool:
        raise KISTokenStoreError("the store is unreachable")


def test_a_rejected_token_is_never_adopted_again_from_a_lagging_store(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = BrokenDiscardStore()
    kis = FakeKIS(make_token("rejected-token"))
    tokens = manager(kis, store, Clock())
    tokens.get()
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        assert tokens.invalidate("rejected-token")
    assert "could not drop the rejected token" in caplog.text
    assert tokens.get().value == "fresh-token-2"  # the store still says "rejected-token"
    assert not tokens.invalidate("rejected-token")


def test_revoke_finds_the_stored_token_and_tombstones_it() -> None:
    store = MemoryTokenStore()
    theirs = make_token("stored-token-to-revoke", age=5)
    store.save(KEY, stored(theirs))
    revoked: list[str] = []
    tokens = TokenManager(
        FakeKIS(), lambda token: revoked.append(token.value), store=store, key=KEY
    )
    assert tokens.current is None
    assert tokens.peek() == theirs
    assert tokens.revoke()
    assert revoked == ["stored-token-to-revoke"]
    grave = store.load(KEY)
    assert grave is not None and grave.is_tombstone and grave.issued_at == theirs.issued_at
    assert tokens.peek() is None
    assert not tokens.revoke()


# -- Redis-readiness: leases -------------------------------------------------------------------


class LostLease:
    def save(self, entry: TokenEntry) -> bool:
        return False  # a fenced store refusing a holder whose lease expired


class FencedStore(MemoryTokenStore):
    @contextmanager
    def lock(self, key: TokenKey, timeout: float) -> Iterator[TokenLease]:
        yield LostLease()


def test_a_refused_save_keeps_the_token_in_memory(caplog: pytest.LogCaptureFixture) -> None:
    store = FencedStore()
    kis = FakeKIS()
    tokens = manager(kis, store, Clock())
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        token = tokens.get()
    assert "lock was lost" in caplog.text
    assert store.load(KEY) is None  # the slow holder did not overwrite anything
    assert tokens.get() is token and kis.calls == 1


def test_a_lock_never_released_is_a_typed_error() -> None:
    store = MemoryTokenStore()
    taken, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.lock(KEY, 1):
            taken.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    taken.wait(5)
    try:
        tokens = TokenManager(FakeKIS(), store=store, key=KEY, lock_timeout=0.1)
        with pytest.raises(KISTokenStoreError, match="not released"):
            tokens.get()
    finally:
        release.set()
        thread.join(5)


# -- asyncio -----------------------------------------------------------------------------------


def async_manager(kis: FakeKIS, store: MemoryTokenStore, clock: Clock) -> AsyncTokenManager:
    return AsyncTokenManager(
        kis.issue, store=store, key=KEY, clock=clock, sleep=clock.asleep, issue_interval=1
    )


@pytest.mark.anyio
async def test_async_tasks_share_one_issuance_and_one_reissue() -> None:
    store = CountingStore()
    kis = FakeKIS(delay=0.01)
    tokens = async_manager(kis, store, Clock())
    first = await asyncio.gather(*(tokens.get() for _ in range(64)))
    assert {token.value for token in first} == {"fresh-token-1"}
    counts = dict(store.counts)
    await asyncio.gather(*(tokens.get() for _ in range(100)))
    assert store.counts == counts  # hot path: no store I/O

    async def fail_and_retry() -> str:
        await tokens.invalidate("fresh-token-1")
        return (await tokens.get()).value

    assert set(await asyncio.gather(*(fail_and_retry() for _ in range(32)))) == {"fresh-token-2"}
    assert kis.calls == 2


@pytest.mark.anyio
async def test_async_refusal_waits_then_adopts_or_issues() -> None:
    store = MemoryTokenStore()
    clock = Clock()
    store.save(KEY, TokenEntry(ACCESS_TOKEN, clock.now - timedelta(seconds=0.25)))
    kis = FakeKIS(throttled(), make_token("async-after-wait"))
    tokens = async_manager(kis, store, clock)
    assert (await tokens.get()).value == "async-after-wait"
    assert clock.sleeps == [pytest.approx(0.75)]
    assert (await tokens.peek()) is not None
    revoked: list[str] = []

    async def revoke(token: AccessToken) -> None:
        revoked.append(token.value)

    other = AsyncTokenManager(kis.issue, revoke, store=store, key=KEY)
    assert await other.revoke()  # found in the store, though this manager never held it
    assert revoked == ["async-after-wait"]
    assert await other.peek() is None


class PlainLock:
    """A lock context manager that is an object, not a generator (as a Redis lease would be):
    nothing releases it by accident when it is garbage collected."""

    def __init__(self, lock: threading.Lock, timeout: float) -> None:
        self.lock, self.timeout = lock, timeout

    def __enter__(self) -> TokenLease:
        if not self.lock.acquire(timeout=self.timeout):
            raise KISTokenStoreError("not released in time")
        return LostLease()

    def __exit__(self, *exc_info: object) -> None:
        self.lock.release()


class PlainLockStore(MemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.the_lock = threading.Lock()

    def lock(self, key: TokenKey, timeout: float) -> AbstractContextManager[TokenLease]:
        return PlainLock(self.the_lock, timeout)


@pytest.mark.anyio
async def test_a_task_cancelled_while_waiting_for_the_lock_does_not_leak_it() -> None:
    store = PlainLockStore()
    store.the_lock.acquire()  # another holder
    tokens = AsyncTokenManager(FakeKIS().issue, store=store, key=KEY, lock_timeout=5)
    waiting = asyncio.create_task(tokens.get())
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    del waiting
    store.the_lock.release()  # the worker thread now gets the lock after all...
    await asyncio.sleep(0.3)  # ...and the cancelled task's clean-up gives it back
    assert store.the_lock.acquire(timeout=0.5)
    store.the_lock.release()
    assert (await asyncio.wait_for(tokens.get(), 5)).value == "fresh-token-1"
