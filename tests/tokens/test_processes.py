"""Several processes sharing one file token cache: cold start, then a warm restart.

Each process is ``token_worker.py`` (sync threads or async tasks); they all wait on stdin
until every one is ready, so their first calls race for the token together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from token_helpers import PRICE_PATH, TOKEN_PATH, SandboxFactory

from stock_manager.sandbox import KISSandbox

WORKER = Path(__file__).with_name("token_worker.py")
CONCURRENCY = 16

pytestmark = pytest.mark.slow


def worker_environment(sb: KISSandbox, cache_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIS_")}
    env.update(
        KIS_APP_KEY=sb.app_key,
        KIS_APP_SECRET=sb.app_secret,
        KIS_ENVIRONMENT=sb.environment,
        KIS_BASE_URL=sb.base_url,
        KIS_ACCOUNT_NO=sb.account_no,
        KIS_TOKEN_STORE="file",
        KIS_TOKEN_CACHE_DIR=str(cache_dir),
        KIS_TOKEN_ISSUE_INTERVAL="1",
        KIS_TOKEN_MAX_WAIT="10",
        KIS_RATE_LIMIT_PER_SECOND="100000",
    )
    return env


def run_workers(modes: list[str], env: dict[str, str], cwd: Path) -> list[dict[str, Any]]:
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), mode, str(CONCURRENCY)],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in modes
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().strip()
            assert line == "ready", worker.communicate(timeout=10)[1][-2000:]
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)


@pytest.mark.parametrize(
    "modes",
    [["sync"] * 4, ["async"] * 4, ["sync", "async", "sync", "async"]],
    ids=["4 processes x 16 threads", "4 processes x 16 tasks", "mixed"],
)
def test_cold_start_issues_once_and_a_warm_restart_never(
    sandbox_factory: SandboxFactory, tmp_path: Path, modes: list[str]
) -> None:
    sb = sandbox_factory("paper", issue_interval=1)
    env = worker_environment(sb, tmp_path / "tokens")
    cold = run_workers(modes, env, tmp_path)
    assert [r["errors"] for r in cold] == [[]] * len(modes)
    assert sum(r["calls"] for r in cold) == len(modes) * CONCURRENCY
    tokens = {token for r in cold for token in r["tokens"]}
    assert len(tokens) == 1
    stats = sb.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"][TOKEN_PATH] == 1  # not even a refused attempt

    warm = run_workers(modes[:2], env, tmp_path)  # a restart: new processes, same cache
    assert [r["errors"] for r in warm] == [[], []]
    assert {token for r in warm for token in r["tokens"]} == tokens
    stats = sb.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"][TOKEN_PATH] == 1
    assert stats["requests"][PRICE_PATH] == (len(modes) + 2) * CONCURRENCY
