"""LocalRateLimiter on its own: slots, rests counted from the release, waiting, cancellation.

Most tests run the limiter on a :class:`ManualClock`: its sleeps advance the clock instead of
waiting, so rests pass at once while threads and tasks still race for real. The properties
asserted are orderings and lower bounds (a slot is never reused before its rest is over), not
speed figures. Cancelling a task in the middle of a rest needs a real sleep: that test keeps
real time, with short windows.
"""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from stock_manager.adapters.broker.kis.ratelimit import (
    LocalRateLimiter,
    Permit,
    RateLimiter,
    UnlimitedRateLimiter,
)
from stock_manager.sandbox import ManualClock


def on_manual_clock(rate: float, clock: ManualClock, **options: float) -> LocalRateLimiter:
    """A limiter whose clock and sleeps are ``clock``: rests pass without waiting."""
    return LocalRateLimiter(
        rate, clock=clock.monotonic, sleep=clock.sleep, async_sleep=clock.async_sleep, **options
    )


def test_capacity_and_period_follow_the_rate() -> None:
    real = LocalRateLimiter(20)
    assert (real.capacity, real.period) == (20, 1.0)
    paper = LocalRateLimiter(2)
    assert (paper.capacity, paper.period) == (2, 1.0)
    slow = LocalRateLimiter(0.5)
    assert (slow.capacity, slow.period) == (1, 2.0)
    short = LocalRateLimiter(100, window=0.1)
    assert short.capacity == 10
    assert short.period == pytest.approx(0.1)
    assert "rate=20" in repr(real)
    assert isinstance(real, RateLimiter)
    assert isinstance(UnlimitedRateLimiter(), RateLimiter)


@pytest.mark.parametrize("rate", [0, -1, float("inf"), float("nan"), True, "20"])
def test_a_bad_rate_is_refused(rate: object) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        LocalRateLimiter(rate)  # type: ignore[arg-type]


def test_bad_window_or_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        LocalRateLimiter(20, window=0)
    with pytest.raises(ValueError, match="margin"):
        LocalRateLimiter(20, margin=-0.1)


def test_a_slot_rests_one_period_from_its_release_not_its_grant() -> None:
    clock = ManualClock()
    limiter = on_manual_clock(20, clock, window=0.1)  # 2 slots, 0.1 s rest
    first, second = limiter.acquire(), limiter.acquire()
    clock.advance(0.15)  # longer than a period: a limiter counting from the grant would be free
    released = clock.monotonic()
    limiter.release(first)
    third = limiter.acquire()  # must wait for first's slot: second's is still in flight
    assert third.granted_at >= released + limiter.period
    limiter.release(second)
    limiter.release(third)
    assert limiter.in_flight == 0


def test_when_every_slot_is_in_flight_a_caller_waits_for_a_release() -> None:
    clock = ManualClock()
    limiter = on_manual_clock(10, clock, window=0.1)  # 1 slot
    held = limiter.acquire()
    got: list[Permit] = []
    waiter = threading.Thread(target=lambda: got.append(limiter.acquire()))
    waiter.start()
    clock.advance(60)  # a minute of the limiter's time passes...
    waiter.join(0.3)  # ...and real time too, so a waiter woken by time alone would be done
    assert waiter.is_alive() and not got  # no release, no permit, however long it waits
    released = clock.monotonic()
    limiter.release(held)
    waiter.join(5)
    assert got and got[0].granted_at >= released + limiter.period


def test_release_is_idempotent_and_ignores_foreign_permits() -> None:
    limiter = LocalRateLimiter(10, window=0.1)
    permit = limiter.acquire()
    limiter.release(Permit("not ours"))
    limiter.release(UnlimitedRateLimiter().acquire())
    # Another local limiter's first permit names the same slot and generation: not ours either.
    limiter.release(LocalRateLimiter(10, window=0.1).acquire())
    assert limiter.in_flight == 1
    limiter.release(permit)
    limiter.release(permit)
    assert limiter.in_flight == 0
    again = limiter.acquire()
    limiter.release(permit)  # a stale permit must not free the slot's new holder
    assert limiter.in_flight == 1
    limiter.release(again)


def test_no_window_ever_holds_more_than_capacity_requests() -> None:
    """16 threads, random request durations: for every request, the requests whose
    [grant, release + period) span covers its grant number at most ``capacity``.

    The threads race for real; their request durations and the rests pass on the clock."""
    clock = ManualClock()
    limiter = on_manual_clock(40, clock, window=0.1)  # 4 slots, 0.1 s rest
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    rng = random.Random(5)
    durations = [rng.uniform(0, 0.02) for _ in range(16 * 6)]

    def work(index: int) -> None:
        for duration in durations[index::16]:
            permit = limiter.acquire()
            clock.sleep(duration)
            done = clock.monotonic()
            limiter.release(permit)
            with lock:
                spans.append((permit.granted_at, done + limiter.period))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(spans) == len(durations)
    for granted, _ in spans:
        overlapping = sum(1 for start, end in spans if start <= granted < end)
        assert overlapping <= limiter.capacity


@pytest.mark.anyio
async def test_tasks_and_threads_share_one_budget() -> None:
    clock = ManualClock()
    limiter = on_manual_clock(20, clock, window=0.1)  # 2 slots
    in_thread = limiter.acquire()
    in_task = await limiter.aacquire()
    assert limiter.in_flight == 2
    waiting = asyncio.ensure_future(limiter.aacquire())
    clock.advance(60)
    await asyncio.sleep(0.02)
    assert not waiting.done()  # both slots in flight: the task waits, the loop keeps running
    released = clock.monotonic()
    threading.Thread(target=limiter.release, args=(in_thread,)).start()  # woken across threads
    permit = await asyncio.wait_for(waiting, 5)
    assert permit.granted_at >= released + limiter.period
    await limiter.arelease(permit)
    await limiter.arelease(in_task)
    assert limiter.in_flight == 0


@pytest.mark.anyio
async def test_a_cancelled_waiter_leaves_no_slot_behind() -> None:
    limiter = LocalRateLimiter(10, window=0.1)  # 1 slot
    held = await limiter.aacquire()
    queued = asyncio.ensure_future(limiter.aacquire())
    await asyncio.sleep(0.05)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    limiter.release(held)
    # The slot was not handed to the cancelled task: the next caller gets it.
    permit = await asyncio.wait_for(limiter.aacquire(), 5)
    assert limiter.in_flight == 1
    # Cancelled while sleeping out a slot's rest: the slot goes back unused.
    limiter.release(permit)
    sleeping = asyncio.ensure_future(limiter.aacquire())
    await asyncio.sleep(0.01)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    assert limiter.in_flight == 0
    last = await asyncio.wait_for(limiter.aacquire(), 5)
    await limiter.arelease(last)
