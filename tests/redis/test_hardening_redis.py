"""Issue 12, the Redis link, store and budget hardened (findings D8, D15, D16, D17, D18, D20).

* D8: a caller of the fallback budget in grace mode that is cancelled (or fails) while waiting
  for the shared slot gives its local slot back; later callers are not stuck behind it.
* D20: a shared budget left by a process at 0.01/s (or a stray ``period_ms``) is replaced, not
  followed; no caller waits for a slot longer than ``max_wait`` (then KISRateLimitError, nothing
  sent); a shared rate below the floor is a configuration error.
* D18: an endpoint answering every command with ``+OK`` (redis-py raises AttributeError on its
  HELLO) is an outage, answered by the local fallback, not an exception out of ``make_request``.
* D17: a Redis URL redis-py cannot build a client from is a KISConfigError naming redis_url,
  without the URL (nor its password) in the message or in the traceback's frames.
* D15/D16: a damaged entry in Redis (a token with CR/LF, ``"[" * 200000``) is a warning and no
  entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis_helpers import RedisConfig

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISConfigError,
    KISRateLimitError,
    KISRestClient,
)
from stock_manager.adapters.broker.kis._redis_link import RedisLink, shared_link
from stock_manager.adapters.broker.kis.errors import KISRedisUnavailableError
from stock_manager.adapters.broker.kis.ratelimit import (
    FallbackRateLimiter,
    RedisRateLimiter,
    shared_rate_limiter,
)
from stock_manager.adapters.broker.kis.ratelimit.redis import _parse_acquire
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    FallbackTokenStore,
    FileTokenStore,
    RedisTokenStore,
    TokenEntry,
    TokenKey,
)

KEY = TokenKey(ACCESS_TOKEN, "paper", "http://127.0.0.1:1", "0123456789abcdef")
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
PASSWORD = "hunter2-never-shown"
SandboxFactory = Any


def limiter(url: str, rate: float, **options: Any) -> RedisRateLimiter:
    """A budget named "hardening" on its own connection pool: another process, to Redis."""
    return RedisRateLimiter(RedisLink(url), "hardening", rate, **options)


def slot_count(redis_db: Any, budget: RedisRateLimiter) -> tuple[int, int]:
    _, idle, busy, _ = budget.keys
    return redis_db.zcard(idle), redis_db.zcard(busy)


def in_thread(function: Callable[[], Any], seconds: float) -> list[Any]:
    """Run ``function`` in a daemon thread for at most ``seconds``; [] if it did not finish."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(function()), daemon=True)
    worker.start()
    worker.join(seconds)
    return result


class Clock:
    """A monotonic clock a test can move forward (probe intervals, settling gates)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


# -- D8: the local slot of a grace-mode caller never leaks ---------------------------------


def grace_budget(url: str, *, max_wait: float) -> FallbackRateLimiter:
    """A fallback budget of 1/s (one local slot, one shared slot) brought into grace mode."""
    clock = Clock()
    link = RedisLink(url, probe_interval=10, clock=clock)
    shared = RedisRateLimiter(link, "hardening", 1, max_wait=max_wait)
    budget = FallbackRateLimiter(shared, local_rate=1, settle=0, clock=clock)
    link.mark_down(RuntimeError("a test outage"))
    assert budget.mode == "local"
    clock.offset += 11  # the probe is due and the local gate has passed
    assert link.available()
    assert budget.mode == "grace"
    return budget


@pytest.mark.anyio
async def test_a_grace_caller_cancelled_waiting_for_redis_gives_its_local_slot_back(
    redis_url: str,
) -> None:
    budget = grace_budget(redis_url, max_wait=30)
    other = limiter(redis_url, 1)
    held = other.acquire()  # another process holds the only shared slot
    waiting = asyncio.ensure_future(budget.aacquire())
    await asyncio.sleep(0.3)
    assert not waiting.done()  # it holds the local slot and waits for the shared one
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await asyncio.to_thread(other.release, held)
    # Before the fix the local slot leaked with the cancelled task: this waited forever.
    permit = await asyncio.wait_for(budget.aacquire(), 5)
    await budget.arelease(permit)


def test_a_grace_caller_whose_shared_wait_fails_gives_its_local_slot_back(
    redis_url: str,
) -> None:
    budget = grace_budget(redis_url, max_wait=0.3)
    other = limiter(redis_url, 1)
    held = other.acquire()
    with pytest.raises(KISRateLimitError):
        budget.acquire()  # the shared slot stays taken past max_wait
    other.release(held)
    granted = in_thread(budget.acquire, 5)
    assert granted, "the local slot leaked: the next caller waited forever"
    budget.release(granted[0])


# -- D20: no process's setting holds the others; every wait is bounded -----------------------


def test_a_budget_left_at_001_per_second_is_replaced_not_followed(
    redis_url: str, redis_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fast = limiter(redis_url, 20)
    fast.release(fast.acquire())
    # A budget of 1 request per 100 s, as a process configured at 0.01/s (an older version,
    # or one built without KISConfig) would leave it.
    redis_db.hset(fast.keys[0], mapping={"capacity": 1, "period_ms": 100_000})
    again = limiter(redis_url, 20)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        granted = in_thread(again.acquire, 5)
    assert granted, "a correctly configured process followed a budget of 1 per 100 s"
    assert time.monotonic() - started < 2.5  # rested one of its own periods (1 s), no more
    assert "was replaced" in caplog.text
    assert redis_db.hget(fast.keys[0], "capacity") == "20"
    again.release(granted[0])


def test_a_limiter_below_the_shared_floor_is_refused(redis_url: str) -> None:
    with pytest.raises(ValueError, match=r"at least 0\.1"):
        limiter(redis_url, 0.01)


@pytest.mark.parametrize(
    ("field", "value"),
    [("period_ms", "-5"), ("period_ms", "86400000"), ("capacity", "0"), ("capacity", "x")],
)
def test_a_nonsense_shared_budget_is_replaced(
    redis_url: str, redis_db: Any, field: str, value: str
) -> None:
    budget = limiter(redis_url, 20)
    budget.release(budget.acquire())
    redis_db.hset(budget.keys[0], field, value)  # a stray write, or another version's bug
    granted = in_thread(budget.acquire, 5)
    assert granted
    budget.release(granted[0])
    assert redis_db.hget(budget.keys[0], "capacity") == "20"
    assert redis_db.hget(budget.keys[0], "period_ms") == "1000"


def test_a_sane_budget_is_followed_however_far_from_ours(redis_url: str, redis_db: Any) -> None:
    first, second = limiter(redis_url, 0.2), limiter(redis_url, 20)  # 100 times apart
    first.release(first.acquire())
    permit = in_thread(second.acquire, 8)  # the slot rests 5 s: followed, not replaced
    assert permit
    second.release(permit[0])
    assert redis_db.hget(first.keys[0], "capacity") == "1"  # two sane settings: no fight
    assert redis_db.hget(first.keys[0], "period_ms") == "5000"


def test_processes_at_20_and_4_per_second_share_one_budget_without_a_fight(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: 20/s and 4/s were more than 4 times apart, so each acquire replaced the other's
    # budget (wiping its busy slots, resting a period, warning every time).
    fast, slow = limiter(redis_url, 20), limiter(redis_url, 4)
    fast.release(fast.acquire())  # the shared budget is 20 per second
    sends: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + 1.5

    def hammer(budget: RedisRateLimiter) -> None:
        while time.monotonic() < stop:
            permit = budget.acquire()
            with lock:
                sends.append(time.monotonic())
            budget.release(permit)

    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        workers = [
            threading.Thread(target=hammer, args=(budget,), daemon=True)
            for budget in (fast, fast, slow, slow)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(10)
    assert not any(worker.is_alive() for worker in workers)
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "was replaced" in m]
    assert len([m for m in messages if "follows the shared one" in m]) == 1  # slow's, once
    sends.sort()
    busiest = max(sum(1 for t in sends if start <= t < start + 0.99) for start in sends)
    assert 10 <= busiest <= 20  # the shared budget, used and never exceeded


def test_no_caller_waits_for_a_slot_past_max_wait(redis_url: str, redis_db: Any) -> None:
    holder, waiter = limiter(redis_url, 1), limiter(redis_url, 1, max_wait=0.3)
    held = holder.acquire()
    started = time.monotonic()
    with pytest.raises(KISRateLimitError, match="not sent") as caught:
        waiter.acquire()
    assert 0.25 <= time.monotonic() - started < 2
    assert "hardening" in str(caught.value) and "1 requests per 1000 ms" in str(caught.value)
    assert slot_count(redis_db, holder) == (0, 1)  # the holder's slot only: nothing taken
    holder.release(held)


def test_a_slot_that_rests_past_max_wait_is_given_back_at_once(
    redis_url: str, redis_db: Any
) -> None:
    holder, waiter = limiter(redis_url, 1), limiter(redis_url, 1, max_wait=0.3)
    holder.release(holder.acquire())  # the only slot now rests a full second
    started = time.monotonic()
    with pytest.raises(KISRateLimitError):
        waiter.acquire()
    assert time.monotonic() - started < 0.25  # no pointless sleep before failing
    assert slot_count(redis_db, holder) == (1, 0)  # given back, not held until hold_limit


@pytest.mark.anyio
async def test_no_task_waits_for_a_slot_past_max_wait(redis_url: str) -> None:
    holder, waiter = limiter(redis_url, 1), limiter(redis_url, 1, max_wait=0.3)
    held = await holder.aacquire()
    with pytest.raises(KISRateLimitError):
        await asyncio.wait_for(waiter.aacquire(), 5)
    await holder.arelease(held)


def config_with_redis(url: str, **overrides: Any) -> KISConfig:
    values: dict[str, Any] = {
        "kis_app_key": "PS" + "a" * 34,
        "kis_app_secret": "s" * 180,
        "environment": "paper",
        "redis_url": url,
    }
    values.update(overrides)
    return KISConfig(_env_file=None, **values)


def test_a_shared_budget_below_the_floor_is_a_config_error(redis_url: str) -> None:
    with pytest.raises(KISConfigError, match=r"rate_limit_per_second=0\.01"):
        shared_rate_limiter(config_with_redis(redis_url, rate_limit_per_second=0.01))


def test_the_wait_bound_comes_from_the_config(redis_url: str) -> None:
    budget = shared_rate_limiter(config_with_redis(redis_url, retry_max_wait=7))
    assert isinstance(budget, FallbackRateLimiter)
    assert budget.shared.max_wait == 7


# -- D18: a Redis that speaks Redis badly is an outage -------------------------------------


@contextlib.contextmanager
def ok_to_everything() -> Iterator[str]:
    """A TCP server on loopback that answers every read with ``+OK``; yields its Redis URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def answer(connection: socket.socket) -> None:
        connection.settimeout(5)
        with connection, contextlib.suppress(OSError):
            while not stop.is_set() and connection.recv(65536):
                connection.sendall(b"+OK\r\n")

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()


def test_an_endpoint_answering_ok_to_everything_is_an_outage() -> None:
    with ok_to_everything() as url:
        link = RedisLink(url, probe_interval=60)
        with pytest.raises(KISRedisUnavailableError, match="unavailable"):
            link.run(lambda r: r.get("anything"))  # redis-py: AttributeError on HELLO's +OK
        assert not link.up
        assert not link.available()  # the probe is not due yet: no second attempt


def test_the_token_store_falls_back_from_an_ok_to_everything_endpoint(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    entry = TokenEntry(ACCESS_TOKEN, now, "token-value-123456", now + timedelta(hours=6))
    with ok_to_everything() as url:
        store = FallbackTokenStore(
            RedisTokenStore(RedisLink(url, probe_interval=60)), FileTokenStore(tmp_path)
        )
        with store.lock(KEY, 5) as lease:
            assert lease.save(entry)
        assert store.load(KEY) == entry
        assert not store.using_redis


def test_a_client_keeps_calling_when_redis_answers_ok_to_everything(
    sandbox_factory: SandboxFactory, redis_config: RedisConfig
) -> None:
    sb = sandbox_factory("paper", rate_limit=0)
    with ok_to_everything() as url:
        config = redis_config(sb, redis_url=url, rate_limit_per_second=50)
        with KISRestClient(config) as client:
            for _ in range(2):
                reply = client.make_request("GET", api_id="inquire-price", params=PRICE)
                assert reply["rt_cd"] == "0"
    assert sb.stats()["tokens_issued"] == 1


# -- D17: a URL redis-py cannot use ---------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["ssl_cert_reqs=bogus", "protocol=7", "socket_timeout=abc"], ids=lambda q: q
)
def test_a_redis_url_redis_py_cannot_use_is_a_config_error_without_the_url(query: str) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:1/0?{query}"
    with pytest.raises(KISConfigError, match="redis_url") as caught:
        shared_link(config_with_redis(url))
    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    traceback = caught.value.__traceback__
    library_frames = 0
    while traceback is not None:  # a debugger or rich traceback would show these
        frame = traceback.tb_frame
        if frame.f_code.co_filename != __file__:  # this test's own `url` is no leak
            library_frames += 1
            for name, local in frame.f_locals.items():
                assert PASSWORD not in repr(local), f"the password is in the local {name!r}"
        traceback = traceback.tb_next
    assert library_frames >= 2  # shared_link and RedisLink.__init__ were looked at


# -- D15/D16: a damaged entry in Redis ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("[" * 200_000, "larger than 65536 bytes"),
        ("[" * 60_000, "nested too deeply"),
        (
            '{"format":1,"kind":"access_token","token":"abc\\r\\ndef","token_type":"Bearer",'
            '"expires_at":"2999-01-01T00:00:00+00:00","issued_at":"2020-01-01T00:00:00+00:00"}',
            "not a credential",
        ),
    ],
    ids=["huge", "deep", "crlf"],
)
def test_a_damaged_entry_in_redis_is_a_warning_and_no_entry(
    redis_url: str, redis_db: Any, caplog: pytest.LogCaptureFixture, raw: str, problem: str
) -> None:
    store = RedisTokenStore(RedisLink(redis_url))
    redis_db.set(store.entry_key(KEY), raw)
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        assert store.load(KEY) is None  # no RecursionError, no token with a line break
    assert "is damaged" in caplog.text and problem in caplog.text
    assert store.link.up  # damage is not an outage


def test_an_oversized_entry_is_found_damaged_without_pulling_all_of_it(
    redis_url: str, redis_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisTokenStore(RedisLink(redis_url))
    redis_db.set(store.entry_key(KEY), "[" * 4_000_000)

    def sent_by_redis() -> int:
        return int(redis_db.info("stats")["total_net_output_bytes"])

    store.link.run(lambda r: r.ping())  # connected before counting
    before = sent_by_redis()
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        assert store.load(KEY) is None
    # Before: GET sent all 4 MB; now at most the limit and one byte, plus the INFO reply.
    assert sent_by_redis() - before < 200_000
    assert "larger than 65536 bytes" in caplog.text


# -- Review: a bug of our own parsers is no outage; a reply of the wrong shape is --------------


def test_a_reply_of_the_wrong_shape_is_an_outage_logged_as_an_error(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    link = RedisLink(redis_url, probe_interval=60)
    with (
        caplog.at_level(logging.WARNING, logger="stock_manager"),
        pytest.raises(KISRedisUnavailableError, match="wrong shape"),
    ):
        link.run_and_parse(lambda r: r.ping(), _parse_acquire)  # True, not the script's list
    assert not link.up
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "acquire script answered a bool" in errors[0].getMessage()


def test_a_bug_in_a_parser_propagates_and_is_no_outage(redis_url: str) -> None:
    link = RedisLink(redis_url, probe_interval=60)

    def buggy(reply: Any) -> int:
        return int(reply["count"])  # a bug of ours: PING's reply is no mapping

    # Before: a parser ran inside run, so its bug became an outage and a silent fallback.
    with pytest.raises(TypeError):
        link.run_and_parse(lambda r: r.ping(), buggy)
    assert link.up
