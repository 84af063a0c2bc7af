"""Issue 18: the transports against the fastest raw clients, in the same run.

* ``async_burst``: 1,000 concurrent hashkey calls on a *cold* client each round (a new
  ``AsyncKISRestClient`` / ``aiohttp.ClientSession`` per round, so no warm pool helps), with
  the errors of each side counted. Goal: 0 errors and ``ours/aiohttp <= 2``.
* ``async_per_call``: sequential awaited hashkey calls, ours vs a pooled raw
  ``aiohttp.ClientSession``. Goal: ``ours/aiohttp <= 1.3``.
* ``sync_per_call``: sequential hashkey calls, ``KISRestClient`` vs a pooled raw
  ``urllib3.PoolManager``. Goal: ``ours/urllib3 <= 1.2``.

The harness reports each side's CPU time per call (this process only; the sandbox is another
process) beside the wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import urllib3

from benchmarks.harness import Goal, RatioSpec, ScenarioResult, Variant, alternate, check
from benchmarks.scenarios.common import (
    ORDER_BODY,
    BenchContext,
    app_headers,
    compact,
    config_for,
    process_sandbox,
)
from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig, KISRestClient

__all__ = ["async_burst_scenario", "async_per_call_scenario", "sync_per_call_scenario"]

BURST_GOAL = Goal("<=", 2.0)
ASYNC_GOAL = Goal("<=", 1.3)
SYNC_GOAL = Goal("<=", 1.2)
BURST = 1_000


def _hash_of(status: int, payload: object) -> str:
    if status != 200 or not isinstance(payload, dict) or not payload.get("HASH"):
        raise RuntimeError(f"hashkey answered {status}")
    return str(payload["HASH"])


def async_burst_scenario(ctx: BenchContext) -> ScenarioResult:
    """A 1,000-task hashkey burst on a cold async client: ours vs raw aiohttp, errors counted."""
    rounds, size = ctx.rounds(3, 10), ctx.calls(BURST, BURST)
    errors = {"ours": 0, "aiohttp": 0}
    loop = asyncio.new_event_loop()
    try:
        with process_sandbox() as sandbox:
            config = config_for(sandbox)
            url, headers, body = (
                f"{sandbox.base_url}/uapi/hashkey",
                app_headers(sandbox),
                compact(ORDER_BODY),
            )

            async def ours(calls: int) -> float:
                started = time.perf_counter()
                async with AsyncKISRestClient(config) as client:
                    done = await asyncio.gather(
                        *(client.hashkey(ORDER_BODY) for _ in range(calls)), return_exceptions=True
                    )
                errors["ours"] += sum(isinstance(r, BaseException) for r in done)
                return time.perf_counter() - started

            async def raw(calls: int) -> float:
                started = time.perf_counter()
                async with aiohttp.ClientSession() as session:

                    async def one() -> str:
                        async with session.post(url, data=body, headers=headers) as response:
                            return _hash_of(response.status, await response.json())

                    done = await asyncio.gather(
                        *(one() for _ in range(calls)), return_exceptions=True
                    )
                errors["aiohttp"] += sum(isinstance(r, BaseException) for r in done)
                return time.perf_counter() - started

            def on(loop_fn: Callable[[int], Awaitable[float]]) -> Callable[[int], float]:
                return lambda calls: loop.run_until_complete(loop_fn(calls))

            variants = [
                Variant("ours", "AsyncKISRestClient, cold, 1,000 tasks", on(ours)),
                Variant("aiohttp", "aiohttp.ClientSession, cold, 1,000 tasks", on(raw)),
            ]
            ctx.progress.begin("async_burst", rounds * 2, f"{size} tasks on a cold client")
            measured = alternate(
                variants, rounds=rounds, calls=size, warmup_calls=size, step=ctx.progress.step
            )
    finally:
        loop.close()
    checks = [check(f"{name} errors", count, Goal("==", 0)) for name, count in errors.items()]
    result = ScenarioResult.measured(
        "async_burst",
        f"Async: {size:,} concurrent hashkeys on a cold client",
        variants,
        measured,
        [RatioSpec("ours", "aiohttp", BURST_GOAL)],
        checks=checks,
        concurrency=size,
        note="errors are counted over every round, the warm-up included",
    )
    ctx.progress.finish(f"ours/aiohttp {result.data['ratios'][0]['value']:.2f}; errors {errors}")
    return result


def async_per_call_scenario(ctx: BenchContext) -> ScenarioResult:
    """Sequential awaited hashkey calls: ``AsyncKISRestClient`` vs a pooled raw aiohttp."""
    rounds, calls = ctx.rounds(5, 30), ctx.calls(150, 300)
    loop = asyncio.new_event_loop()
    try:
        with process_sandbox() as sandbox:
            config = config_for(sandbox)
            url, headers, body = (
                f"{sandbox.base_url}/uapi/hashkey",
                app_headers(sandbox),
                compact(ORDER_BODY),
            )
            client = AsyncKISRestClient(config)
            session = loop.run_until_complete(_session())

            async def ours(n: int) -> float:
                started = time.perf_counter()
                for _ in range(n):
                    await client.hashkey(ORDER_BODY)
                return time.perf_counter() - started

            async def raw(n: int) -> float:
                started = time.perf_counter()
                for _ in range(n):
                    async with session.post(url, data=body, headers=headers) as response:
                        _hash_of(response.status, await response.json())
                return time.perf_counter() - started

            variants = [
                Variant(
                    "ours", "AsyncKISRestClient.hashkey", lambda n: loop.run_until_complete(ours(n))
                ),
                Variant(
                    "aiohttp",
                    "pooled aiohttp.ClientSession",
                    lambda n: loop.run_until_complete(raw(n)),
                ),
            ]
            ctx.progress.begin("async_per_call", rounds * 2, "sequential awaited hashkey")
            try:
                measured = alternate(variants, rounds=rounds, calls=calls, step=ctx.progress.step)
            finally:
                loop.run_until_complete(client.aclose())
                loop.run_until_complete(session.close())
    finally:
        loop.close()
    result = ScenarioResult.measured(
        "async_per_call",
        "Async per call (sequential awaited hashkey)",
        variants,
        measured,
        [RatioSpec("ours", "aiohttp", ASYNC_GOAL)],
    )
    ctx.progress.finish(f"ours/aiohttp {result.data['ratios'][0]['value']:.2f}")
    return result


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


def sync_per_call_scenario(ctx: BenchContext) -> ScenarioResult:
    """Sequential hashkey calls: ``KISRestClient`` vs a pooled raw urllib3."""
    rounds, calls = ctx.rounds(5, 30), ctx.calls(150, 300)
    with process_sandbox() as sandbox:
        config: KISConfig = config_for(sandbox)
        url, headers, body = (
            f"{sandbox.base_url}/uapi/hashkey",
            app_headers(sandbox),
            compact(ORDER_BODY),
        )
        pool = urllib3.PoolManager(retries=False)
        with KISRestClient(config) as client:

            def ours(n: int) -> float:
                started = time.perf_counter()
                for _ in range(n):
                    client.hashkey(ORDER_BODY)
                return time.perf_counter() - started

            def raw(n: int) -> float:
                started = time.perf_counter()
                for _ in range(n):
                    response = pool.request("POST", url, body=body, headers=headers)
                    _hash_of(response.status, response.json())
                return time.perf_counter() - started

            variants = [
                Variant("ours", "KISRestClient.hashkey", ours),
                Variant("urllib3", "pooled urllib3.PoolManager", raw),
            ]
            ctx.progress.begin("sync_per_call", rounds * 2, "sequential hashkey")
            measured = alternate(variants, rounds=rounds, calls=calls, step=ctx.progress.step)
        pool.clear()
    result = ScenarioResult.measured(
        "sync_per_call",
        "Sync per call (sequential hashkey)",
        variants,
        measured,
        [RatioSpec("ours", "urllib3", SYNC_GOAL)],
    )
    ctx.progress.finish(f"ours/urllib3 {result.data['ratios'][0]['value']:.2f}")
    return result
