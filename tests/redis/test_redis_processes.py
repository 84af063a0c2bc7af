"""Several processes, each with its own client and its own token cache directory (as if on
separate machines), coordinated by one real redis-server.

Each process is ``redis_worker.py``; they wait on stdin until every one is ready, so their
first calls race together.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from redis_server import RedisServer

from stock_manager.sandbox import KISSandbox

WORKER = Path(__file__).with_name("redis_worker.py")
TOKEN_PATH = "/oauth2/tokenP"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
SandboxFactory = Any

pytestmark = pytest.mark.slow


def worker_environment(sb: KISSandbox, redis_url: str, **settings: Any) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIS_")}
    env.update(
        KIS_APP_KEY=sb.app_key,
        KIS_APP_SECRET=sb.app_secret,
        KIS_ENVIRONMENT=sb.environment,
        KIS_BASE_URL=sb.base_url,
        KIS_ACCOUNT_NO=sb.account_no,
        KIS_TOKEN_STORE="file",
        KIS_TOKEN_ISSUE_INTERVAL="1",
        KIS_TOKEN_MAX_WAIT="10",
        KIS_REDIS_URL=redis_url,
        KIS_REDIS_PROBE_INTERVAL="1",
    )
    env.update({f"KIS_{name.upper()}": str(value) for name, value in settings.items()})
    return env


class Worker:
    """A ``redis_worker.py`` process with its own token cache directory."""

    def __init__(
        self, mode: str, concurrency: int, seconds: float, env: dict[str, str], home: Path
    ) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), mode, str(concurrency), str(seconds)],
            env={**env, "KIS_TOKEN_CACHE_DIR": str(home / "tokens")},
            cwd=home,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr = ""

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        assert line == "ready", self.process.communicate(timeout=10)[1][-2000:]

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self, timeout: float = 60) -> dict[str, Any]:
        out, self.stderr = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, self.stderr[-2000:]
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return report

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def start_workers(
    specs: list[tuple[str, int, float]], env: dict[str, str], tmp_path: Path
) -> list[Worker]:
    workers = [
        Worker(mode, concurrency, seconds, env, tmp_path / f"machine-{number}")
        for number, (mode, concurrency, seconds) in enumerate(specs)
    ]
    for worker in workers:
        worker.wait_ready()
    return workers


def redis_contents(redis_db: Any) -> dict[str, str]:
    """Every key in Redis and its value, whatever its type, as text."""
    contents = {}
    for key in redis_db.keys("*"):
        kind = redis_db.type(key)
        if kind == "string":
            value: Any = redis_db.get(key)
        elif kind == "hash":
            value = redis_db.hgetall(key)
        elif kind == "zset":
            value = redis_db.zrange(key, 0, -1, withscores=True)
        else:
            value = kind
        contents[key] = str(value)
    return contents


@pytest.mark.parametrize(
    "modes", [["sync"] * 4, ["sync", "async", "sync", "async"]], ids=["4x8 threads", "mixed"]
)
def test_four_processes_sharing_redis_issue_one_token_and_keep_the_limit(
    sandbox_factory: SandboxFactory,
    redis_url: str,
    redis_db: Any,
    tmp_path: Path,
    modes: list[str],
) -> None:
    sb: KISSandbox = sandbox_factory("real", rate_limit=None, issue_interval=1)  # 20/s
    env = worker_environment(sb, redis_url)
    workers = start_workers([(mode, 8, 0) for mode in modes], env, tmp_path)
    try:
        for worker in workers:
            worker.go()
        results = [worker.result() for worker in workers]
    finally:
        for worker in workers:
            worker.stop()

    assert [r["errors"] for r in results] == [[]] * 4
    assert sum(r["calls"] for r in results) == 32
    assert len({token for r in results for token in r["tokens"]}) == 1
    stats = sb.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"][TOKEN_PATH] == 1  # not even a refused attempt
    assert stats["rate_limited"] == 0  # 32 calls through one 20/s budget in Redis
    assert all(r["budget_mode"] == "redis" and r["store_on_redis"] for r in results)

    # What Redis holds: the token entry and the budget, never the secret nor the raw key.
    contents = redis_contents(redis_db)
    assert any(key.endswith(":entry") for key in contents)
    assert any(":{budget-" in key for key in contents)
    for key, value in contents.items():
        assert sb.app_key not in key and sb.app_key not in value
        assert sb.app_secret not in key and sb.app_secret not in value


def test_a_lease_holder_killed_mid_issuance_delays_the_others_by_the_lease_at_most(
    sandbox_factory: SandboxFactory, redis_url: str, redis_db: Any, tmp_path: Path
) -> None:
    lease_ttl, issue_interval = 2.0, 1.0
    sb: KISSandbox = sandbox_factory("paper", rate_limit=0, issue_interval=issue_interval)
    env = worker_environment(sb, redis_url, redis_lease_ttl=lease_ttl, rate_limit_per_second=50)
    # The holder's token request is held 3 s at the sandbox: it is killed while waiting.
    sb.set_faults(path=TOKEN_PATH, latency=3.0)
    holder, *others = start_workers(
        [("sync", 1, 0), ("sync", 8, 0), ("async", 8, 0), ("sync", 8, 0)], env, tmp_path
    )
    try:
        holder.go()
        deadline = time.monotonic() + 15
        while sb.stats()["requests"].get(TOKEN_PATH, 0) < 1 or not redis_db.keys("*:lease"):
            assert time.monotonic() < deadline, "the holder never asked for a token"
            time.sleep(0.02)
        sb.clear_faults()
        for worker in others:
            worker.go()
        time.sleep(0.3)  # they queue behind the holder's lease
        holder.process.send_signal(signal.SIGKILL)
        killed_at = time.time()
        results = [worker.result() for worker in others]
    finally:
        for worker in (holder, *others):
            worker.stop()

    assert [r["errors"] for r in results] == [[]] * 3
    assert sum(r["calls"] for r in results) == 24
    assert len({token for r in results for token in r["tokens"]}) == 1
    first = [r["first_success"] for r in results]
    assert min(first) > killed_at  # nobody had a token while the holder lived
    # Within the lease time plus one issue interval (and a little for process scheduling).
    assert max(first) - killed_at <= lease_ttl + issue_interval + 1.5
    assert sb.stats()["tokens_issued"] <= 2


def test_redis_stopped_and_restarted_mid_run_keeps_calls_going_under_the_limit(
    sandbox_factory: SandboxFactory,
    redis_server: RedisServer,
    redis_db: Any,
    tmp_path: Path,
) -> None:
    sb: KISSandbox = sandbox_factory("real", rate_limit=None, issue_interval=1)  # 20/s
    env = worker_environment(sb, redis_server.url)  # fallback share 0.25: 5/s per process
    seconds = 11.0
    workers = start_workers([("sync", 4, seconds)] * 3 + [("async", 4, seconds)], env, tmp_path)
    try:
        for worker in workers:
            worker.go()
        time.sleep(2.5)
        redis_server.stop()
        stopped_at = time.time()
        time.sleep(2.5)
        redis_server.start()  # empty: every budget and token entry is gone
        restarted_at = time.time()
        results = [worker.result(timeout=seconds + 60) for worker in workers]
    finally:
        for worker in workers:
            worker.stop()

    assert [r["errors"] for r in results] == [[]] * 4
    stats = sb.stats()
    assert stats["rate_limited"] == 0  # no burst: not a single EGW00201
    assert stats["tokens_issued"] == 1
    finished = [stamp for r in results for stamp in r["finished"]]
    assert any(stopped_at < stamp < restarted_at for stamp in finished)  # calls went on
    assert len(finished) <= 20 * (seconds + 1)
    for worker, result in zip(workers, results, strict=True):
        assert worker.stderr.count("is unavailable") == 1, worker.stderr[-2000:]
        assert worker.stderr.count("is reachable again") == 1, worker.stderr[-2000:]
        assert "redis://" not in worker.stderr
        assert result["budget_mode"] == "redis"  # back on the shared budget
        assert result["store_on_redis"] is True
    assert any(":{budget-" in key for key in redis_db.keys("*"))
