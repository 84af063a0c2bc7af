"""Is the sandbox itself a bottleneck? Its requests/s, from ``benchmarks/sandbox_throughput.py``.

Context for the per-call figures: if the server answered slower than a client can ask, every
client would look alike. Sequential hashkeys over one keep-alive connection three ways
(``httpx.post``, a re-sent prebuilt ``httpx`` request, a hand-written HTTP/1.1 socket), with the
sandbox in a child process (and, in the full run, in a thread of this process).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from benchmarks.harness import Goal, ScenarioResult, check
from benchmarks.scenarios.common import BenchContext

__all__ = ["throughput_scenario"]

TITLE = "Sandbox throughput (sequential hashkeys)"


def _best(rates: Mapping[str, float | Sequence[float]]) -> dict[str, float]:
    # measure() gives one rate per method, or (newer) one per round: keep the best round, as
    # sandbox_throughput itself does (noise on a shared machine only ever slows a round).
    return {
        name: float(rate) if isinstance(rate, int | float) else max(rate)
        for name, rate in rates.items()
    }


def throughput_scenario(ctx: BenchContext) -> ScenarioResult:
    """Run the sandbox helper's ``measure()`` per server mode."""
    try:
        from benchmarks.sandbox_throughput import GOAL, measure
    except ImportError as exc:
        return ScenarioResult.not_available("sandbox_throughput", TITLE, str(exc))
    count = ctx.pick(300, 2000)
    modes = ("process",) if ctx.quick else ("process", "thread")
    ctx.progress.begin("sandbox_throughput", len(modes), f"{count} requests per method")
    rates: dict[str, dict[str, float]] = {}
    for mode in modes:
        rates[mode] = _best(measure(mode, count))
        ctx.progress.step(f"{mode}: socket {rates[mode]['raw socket']:.0f}/s")
    checks = [
        check(f"{mode} server, raw socket req/s", r["raw socket"], Goal(">=", GOAL))
        for mode, r in rates.items()
    ]
    ctx.progress.finish("  ".join(f"{mode} {r['raw socket']:.0f}/s" for mode, r in rates.items()))
    return ScenarioResult(
        "sandbox_throughput",
        TITLE,
        "ok",
        data={
            "kind": "throughput",
            "requests": count,
            "requests_per_second": rates,
            "checks": checks,
        },
    )
