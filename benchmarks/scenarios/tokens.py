"""Token issuance counts: how many tokens KIS (the sandbox) had to issue.

Every count comes from the sandbox (``stats()["tokens_issued"]``), never from the client:

* ``cold``: P processes x T threads start together with an empty file cache: 1 issuance;
* ``warm restart``: the same again, the cache now warm: 0 issuances;
* ``mid-run expiry``: one process with 32 threads calling in a loop while the sandbox expires
  every token (EGW00123): exactly 1 reissue, and every call succeeds.

Needs the file token store (issue 4); reported as not available until ``FileTokenStore`` lands.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Goal, ScenarioResult, check
from benchmarks.scenarios.common import UNTHROTTLED_RATE, BenchContext, process_sandbox
from stock_manager.adapters.broker.kis import KISConfig, tokens
from stock_manager.sandbox import KISSandbox

__all__ = ["available", "tokens_scenario"]

TITLE = "Token issuances (file store, sandbox counts)"
# Python start-up and imports take about a second; the processes start their calls together.
START_DELAY = 2.5
QUICK_START_DELAY = 1.5
WORKER_TIMEOUT = 120.0


def available() -> str | None:
    """Why the scenario cannot run yet, or None when the feature is there."""
    if not hasattr(tokens, "FileTokenStore"):
        return "FileTokenStore (issue 4, token lifecycle) is not in the client yet"
    if "token_cache_dir" not in KISConfig.model_fields:
        return "KISConfig has no token_cache_dir"
    return None


def _client_config(sandbox: KISSandbox, cache_dir: Path) -> dict[str, Any]:
    config: dict[str, Any] = {
        "kis_app_key": sandbox.app_key,
        "kis_app_secret": sandbox.app_secret,
        "environment": sandbox.environment,
        "base_url": sandbox.base_url,
        "token_store": "file",
        "token_cache_dir": str(cache_dir),
        "rate_limit_per_second": UNTHROTTLED_RATE,
    }
    if "token_issue_interval" in KISConfig.model_fields:
        config["token_issue_interval"] = 1  # the sandbox's issue interval
    return config


def _spawn(settings: dict[str, Any]) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scenarios.token_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if worker.stdin is not None:
        worker.stdin.write(json.dumps(settings))
        worker.stdin.close()
        worker.stdin = None  # sent; communicate() must not flush it again
    return worker


def _collect(workers: list[subprocess.Popen[str]]) -> dict[str, Any]:
    calls = failures = 0
    errors: dict[str, int] = {}
    for worker in workers:
        out, _ = worker.communicate(timeout=WORKER_TIMEOUT)
        if worker.returncode != 0 or not out.strip():
            raise RuntimeError(f"a token worker exited with {worker.returncode}")
        tally = json.loads(out.strip().splitlines()[-1])
        calls += tally["calls"]
        failures += tally["failures"]
        for name, count in tally["errors"].items():
            errors[name] = errors.get(name, 0) + count
    return {"calls": calls, "failures": failures, "errors": errors}


def _phase(
    sandbox: KISSandbox,
    config: dict[str, Any],
    *,
    processes: int,
    threads: int,
    calls_per_thread: int,
    start_delay: float,
    expire_after: float | None = None,
    run_for: float | None = None,
) -> dict[str, Any]:
    before = sandbox.stats()["tokens_issued"]
    start_at = time.time() + start_delay
    settings = {
        "config": config,
        "threads": threads,
        "calls_per_thread": calls_per_thread,
        "start_at": start_at,
        "until": start_at + run_for if run_for is not None else None,
    }
    workers = [_spawn(settings) for _ in range(processes)]
    try:
        if expire_after is not None:
            time.sleep(max(0.0, start_at + expire_after - time.time()))
            sandbox.expire_tokens()
        tally = _collect(workers)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    tally["issued"] = sandbox.stats()["tokens_issued"] - before
    tally["processes"], tally["threads"] = processes, threads
    return tally


def tokens_scenario(ctx: BenchContext) -> ScenarioResult:
    """Scenario 5: issuance counts for a cold start, a warm restart and a mid-run expiry."""
    reason = available()
    if reason is not None:
        return ScenarioResult.not_available("tokens", TITLE, reason)
    processes, threads = ctx.pick(2, 4), ctx.pick(8, 16)
    cache_dir = ctx.workdir / "token-cache"
    delay = QUICK_START_DELAY if ctx.quick else START_DELAY
    ctx.progress.begin("tokens", 3, "cold start")
    with process_sandbox() as sandbox:
        config = _client_config(sandbox, cache_dir)
        cold = _phase(
            sandbox,
            config,
            processes=processes,
            threads=threads,
            calls_per_thread=5,
            start_delay=delay,
        )
        ctx.progress.step("warm restart")
        warm = _phase(
            sandbox,
            config,
            processes=processes,
            threads=threads,
            calls_per_thread=5,
            start_delay=delay,
        )
        ctx.progress.step("mid-run expiry")
        run_for = ctx.pick(2, 4)
        expiry = _phase(
            sandbox,
            config,
            processes=1,
            threads=32,
            calls_per_thread=1,
            start_delay=delay,
            expire_after=run_for / 2,
            run_for=run_for,
        )
    ctx.progress.step()
    phases = {"cold": cold, "warm_restart": warm, "mid_run_expiry": expiry}
    checks = [
        check("cold issuances", cold["issued"], Goal("==", 1)),
        check("warm-restart issuances", warm["issued"], Goal("==", 0)),
        check("mid-run expiry reissues", expiry["issued"], Goal("==", 1)),
        check("failed calls", sum(p["failures"] for p in phases.values()), Goal("==", 0)),
    ]
    result = ScenarioResult(
        "tokens",
        TITLE,
        "ok",
        data={"kind": "counts", "phases": phases, "checks": checks},
    )
    ctx.progress.finish(
        f"cold {cold['issued']}, warm {warm['issued']}, expiry {expiry['issued']} issued"
    )
    return result
