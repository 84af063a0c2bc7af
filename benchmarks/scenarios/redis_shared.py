"""Across processes with Redis (issue 6): one token and one request budget per app key.

The measurement belongs to the Redis work (``benchmarks/redis_shared.py``: ``redis_server()``
and ``measure()``); this scenario runs it: 4 processes x 8 threads, each process its own client
and token cache, sharing one app key through Redis, against the sandbox's 20/s limit. The full
run adds the baseline without Redis (each process its own 20/s budget). Goal: at least 95% of
the limit, zero ``EGW00201`` and one token issuance. Not available until the client has
``RedisTokenStore`` and that benchmark exists, or when there is no redis-server.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from benchmarks.harness import Goal, ScenarioResult, check
from benchmarks.scenarios.common import BenchContext
from stock_manager.adapters.broker.kis import tokens

__all__ = ["REDIS_GOAL", "redis_scenario"]

TITLE = "Across processes with Redis (4 processes x 8 threads, one key)"
REDIS_GOAL = Goal(">=", 0.95)


def _benchmark() -> tuple[ModuleType | None, str]:
    if not hasattr(tokens, "RedisTokenStore"):
        return None, "RedisTokenStore (issue 6, Redis coordination) is not in the client yet"
    try:
        module = importlib.import_module("benchmarks.redis_shared")
    except ImportError as exc:
        return None, f"benchmarks/redis_shared.py cannot be imported yet: {exc}"
    if not (callable(getattr(module, "measure", None)) and hasattr(module, "redis_server")):
        return None, "benchmarks/redis_shared.py has no measure()/redis_server() yet"
    return module, ""


def _as_dict(run: Any) -> dict[str, Any]:
    as_dict = getattr(run, "as_dict", None)
    answer: dict[str, Any] = as_dict() if callable(as_dict) else dict(vars(run))
    return answer


def redis_scenario(ctx: BenchContext) -> ScenarioResult:
    """Scenario 6: processes sharing one key through Redis, and (full run) without it."""
    module, reason = _benchmark()
    if module is None:
        return ScenarioResult.not_available("redis", TITLE, reason)
    seconds = float(ctx.pick(3, 10))
    plan = ["redis"] if ctx.quick else ["redis", "local"]
    ctx.progress.begin("redis", len(plan), f"{seconds:g} s per run")
    runs: list[dict[str, Any]] = []
    try:
        with module.redis_server() as url:
            for budget in plan:
                run = _as_dict(
                    module.measure(
                        url if budget == "redis" else None,
                        processes=4,
                        threads=8,
                        seconds=seconds,
                    )
                )
                if budget == "redis":
                    run["label"] = f"through Redis\n{run['processes']}x{run['threads']}"
                else:  # what the same processes do without Redis: shown, not judged
                    run["label"] = f"no Redis (baseline)\n{run['processes']}x{run['threads']}"
                    run["baseline"] = True
                runs.append(run)
                ctx.progress.step(f"{budget}: {run['ratio']:.1%}, EGW00201={run['rate_limited']}")
    except SystemExit as exc:  # the Redis benchmark's way of saying "no redis-server here"
        return ScenarioResult.not_available("redis", TITLE, str(exc))
    shared = runs[0]
    checks = [
        check("redis: achieved/limit", shared["ratio"], REDIS_GOAL),
        check("redis: EGW00201", shared["rate_limited"], Goal("==", 0)),
        check("redis: token issuances", shared["tokens_issued"], Goal("==", 1)),
    ]
    ctx.progress.finish("  ".join(f"{r['budget']} {r['ratio']:.1%}" for r in runs))
    return ScenarioResult(
        "redis",
        TITLE,
        "ok",
        data={
            "kind": "saturation",
            "seconds_per_run": seconds,
            "goal_ratio": REDIS_GOAL.value,
            "runs": runs,
            "checks": checks,
        },
    )
