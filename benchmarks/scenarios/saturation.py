"""Rate-limit saturation (issue 5): achieved / limit at 20/s and 2/s, and EGW00201 answers.

The measurement itself lives in ``benchmarks/rate_limit.py`` (the rate-limit work's own
benchmark); this scenario runs its ``measure()`` for our limiter against a sandbox in a child
process, on the real (20/s) and paper (2/s) domains, and checks the goal: at least 97% of the
limit with zero ``EGW00201`` counted by the sandbox. Not available until that module exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Goal, ScenarioResult, check
from benchmarks.scenarios.common import BenchContext

__all__ = ["SATURATION_GOAL", "saturation_scenario"]

TITLE = "Rate-limit saturation (16 workers, sandbox default limits)"
SATURATION_GOAL = Goal(">=", 0.97)


def _measure() -> tuple[Callable[..., Any] | None, str]:
    try:
        module = importlib.import_module("benchmarks.rate_limit")
    except ImportError as exc:
        return None, f"benchmarks/rate_limit.py (issue 5) cannot be imported yet: {exc}"
    measure = getattr(module, "measure", None)
    if not callable(measure):
        return None, "benchmarks/rate_limit.py has no measure() yet"
    return measure, ""


def _as_dict(run: Any) -> dict[str, Any]:
    as_dict = getattr(run, "as_dict", None)
    if callable(as_dict):
        answer: dict[str, Any] = as_dict()
        return answer
    return dict(vars(run))


def saturation_scenario(ctx: BenchContext) -> ScenarioResult:
    """Scenario 4: 16 threads (and, in the full run, 16 tasks) per domain against its limit."""
    measure, reason = _measure()
    if measure is None:
        return ScenarioResult.not_available("rate_limit", TITLE, reason)
    seconds = float(ctx.pick(3, 10))
    modes = ("threads",) if ctx.quick else ("threads", "tasks")
    plan = [(env, mode) for env in ("real", "paper") for mode in modes]
    ctx.progress.begin("rate_limit", len(plan), f"{seconds:g} s per run")
    runs: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for environment, mode in plan:
        run = _as_dict(
            measure(environment, "ours", mode=mode, workers=16, seconds=seconds, process=True)
        )
        runs.append(run)
        label = f"{environment} {run['limit']:g}/s {mode}"
        checks.append(check(f"{label}: achieved/limit", run["ratio"], SATURATION_GOAL))
        checks.append(check(f"{label}: EGW00201", run["rate_limited"], Goal("==", 0)))
        ctx.progress.step(f"{label}: {run['ratio']:.1%}, EGW00201={run['rate_limited']}")
    result = ScenarioResult(
        "rate_limit",
        TITLE,
        "ok",
        data={"kind": "saturation", "seconds_per_run": seconds, "runs": runs, "checks": checks},
    )
    ctx.progress.finish("  ".join(f"{r['environment']}/{r['mode']} {r['ratio']:.1%}" for r in runs))
    return result
