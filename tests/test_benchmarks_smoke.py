"""A tiny run of the benchmark harness end to end: the JSON report's shape, never its timings.

It runs the real scenarios against the real sandbox with 2 rounds of 20 calls, so it checks
that every variant works (each call checks its own reply) and that the report, the summary and
the chart are written; the figures themselves are meaningless at this size and not asserted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import main
from benchmarks.harness import Goal, ProgressReporter, ScenarioResult, Spread
from benchmarks.scenarios import SCENARIOS, BenchContext, redis_shared, saturation

pytestmark = pytest.mark.timeout(180)

VARIANT_KEYS = {"label", "calls_per_round", "median", "q1", "q3", "min", "max", "n", "samples"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    argv = ["--quick", "--only", "hashkey", "async_hashkey", "--rounds", "2", "--calls", "20"]
    code = main([*argv, "--out", str(out), "--no-progress"])
    assert code == 0
    return json.loads((out / "bench.json").read_text()), out


def test_report_describes_the_run(report: tuple[dict[str, Any], Path]) -> None:
    data, _ = report
    assert data["benchmark"] == "stock-manager"
    assert data["quick"] is True
    assert data["command"].startswith("python -m benchmarks --quick --only hashkey")
    for key in ("date", "python", "platform", "cpus", "versions"):
        assert data[key]
    assert [s["name"] for s in data["scenarios"]] == ["hashkey", "async_hashkey"]


def test_per_call_scenarios_have_variants_spreads_and_ratios(
    report: tuple[dict[str, Any], Path],
) -> None:
    data, _ = report
    hashkey, burst = data["scenarios"]
    assert hashkey["status"] == "ok" and burst["status"] == "ok"
    assert set(hashkey["variants"]) == {"ours", "raw", "docs", "ours.make_request"}
    assert set(burst["variants"]) == {"ours", "raw"}
    assert burst["concurrency"] == 20
    for scenario in (hashkey, burst):
        assert scenario["rounds"] == 2
        for variant in scenario["variants"].values():
            assert set(variant) >= VARIANT_KEYS
            assert len(variant["samples"]) == 2 == variant["n"]
            assert variant["min"] <= variant["q1"] <= variant["median"] <= variant["q3"]
            assert variant["q3"] <= variant["max"]
            assert len(variant["cpu_samples"]) == 2
        for ratio in scenario["ratios"]:
            assert ratio["value"] > 0 and ratio["of_medians"] > 0
            low, high = ratio["ci95"]
            assert low <= ratio["value"] <= high
            assert ratio["cpu"]["median"] > 0
            assert isinstance(ratio["met"], bool)
            assert ratio["goal"].startswith(("<=", ">="))
    names = [r["name"] for r in hashkey["ratios"]]
    assert names == ["ours/raw", "docs/ours", "ours.make_request/raw"]
    # the docs variant makes half the calls per round (a fresh connection each)
    assert hashkey["variants"]["docs"]["calls_per_round"] == 10
    # the sandbox saw no rate limiting and, for hashkeys, no token issuance
    assert hashkey["sandbox"] == {"tokens_issued": 0, "rate_limited": 0}


def test_summary_and_chart_are_written(report: tuple[dict[str, Any], Path]) -> None:
    _, out = report
    markdown = (out / "bench.md").read_text()
    assert "python -m benchmarks --quick" in markdown
    assert "| ours/raw |" in markdown
    png = (out / "bench.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_every_scenario_is_listed() -> None:
    assert list(SCENARIOS) == [
        "hashkey",
        "hashkey_tls",
        "inquire_price",
        "async_hashkey",
        "sync_per_call",
        "async_per_call",
        "async_burst",
        "rate_limit",
        "tokens",
        "redis",
        "sandbox_throughput",
    ]


def test_a_missing_feature_is_reported_not_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ctx = BenchContext(quick=True, progress=ProgressReporter(enabled=False), workdir=tmp_path)
    monkeypatch.delattr(redis_shared.tokens, "RedisTokenStore")
    result = redis_shared.redis_scenario(ctx)
    assert result.status == "not available"
    assert "RedisTokenStore" in result.reason
    monkeypatch.setitem(sys.modules, "benchmarks.rate_limit", None)  # import -> ImportError
    result = saturation.saturation_scenario(ctx)
    assert result.to_json()["status"] == "not available"
    assert "rate_limit.py" in result.reason


def test_spread_and_goals() -> None:
    spread = Spread.of([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (spread.low, spread.q1, spread.median, spread.q3, spread.high) == (1, 2, 3, 4, 5)
    assert Goal("<=", 1.1).met(1.1) and not Goal("<=", 1.1).met(1.2)
    assert Goal(">=", 2).met(2.5) and Goal("==", 0).met(0) and not Goal("==", 1).met(2)
    failed = ScenarioResult("x", "X", "failed", reason="boom").to_json()
    assert failed["status"] == "failed" and failed["goals_met"] is None
