"""The benchmark scenarios, in the order they run and appear in the report.

Each is a function ``(BenchContext) -> ScenarioResult``; one whose feature has not landed returns
a "not available" result with the reason, so it shows in the output instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.harness import ScenarioResult
from benchmarks.scenarios.common import BenchContext
from benchmarks.scenarios.concurrent import async_hashkey_scenario
from benchmarks.scenarios.per_call import (
    hashkey_scenario,
    hashkey_tls_scenario,
    inquire_price_scenario,
)
from benchmarks.scenarios.redis_shared import redis_scenario
from benchmarks.scenarios.saturation import saturation_scenario
from benchmarks.scenarios.throughput import throughput_scenario
from benchmarks.scenarios.tokens import tokens_scenario
from benchmarks.scenarios.transport import (
    async_burst_scenario,
    async_per_call_scenario,
    sync_per_call_scenario,
)

__all__ = ["SCENARIOS", "BenchContext", "Scenario"]

Scenario = Callable[[BenchContext], ScenarioResult]

SCENARIOS: dict[str, Scenario] = {
    "hashkey": hashkey_scenario,
    "hashkey_tls": hashkey_tls_scenario,
    "inquire_price": inquire_price_scenario,
    "async_hashkey": async_hashkey_scenario,
    "sync_per_call": sync_per_call_scenario,
    "async_per_call": async_per_call_scenario,
    "async_burst": async_burst_scenario,
    "rate_limit": saturation_scenario,
    "tokens": tokens_scenario,
    "redis": redis_scenario,
    "sandbox_throughput": throughput_scenario,
}
