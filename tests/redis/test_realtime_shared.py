"""One KIS realtime session shared by several processes through a real redis-server.

The sandbox runs in this process (thread mode), its market pinned at 10:00 of a trading day and
streaming every 50 ms; each child is ``realtime_worker.py``, a realtime client configured by
``KIS_*`` variables with a 1 s lease and a 0.1 s tick, so a takeover takes about a second.
Every wait is bounded and every child is killed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from redis_helpers import RedisConfig
from redis_server import RedisServer

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISRealtimeClient,
    KISRedisUnavailableError,
    KISSubscriptionLimitError,
    ReconnectPolicy,
)
from stock_manager.adapters.broker.kis.realtime.shared import SharedKeys, SharedPolicy
from stock_manager.sandbox import KISSandbox, ManualClock

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("realtime_worker.py")
LEASE_TTL = 1.0
WAIT = 12.0  # the longest any expected state may take (a takeover needs ~LEASE_TTL)
SAMSUNG, HYNIX, HYUNDAI, NAVER = (
    "H0STCNT0|005930",
    "H0STCNT0|000660",
    "H0STCNT0|005380",
    "H0STCNT0|035420",
)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    ends_at = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends_at, f"timed out waiting for {what}"
        time.sleep(0.05)


class Child:
    """A ``realtime_worker.py`` process; its stdout lines are collected by a thread."""

    def __init__(self, name: str, mode: str, pairs: list[str], env: dict[str, str]) -> None:
        self.name = name
        spec = ",".join(pair.replace("|", ":") for pair in pairs)
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), mode, spec],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.status: dict[str, Any] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = json.loads(raw)
            with self._lock:
                if line["event"] == "status":
                    self.status = line
                else:
                    self.lines.append(line)

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [line for line in self.lines if line["event"] == kind]

    def count(self, pair: str) -> int:
        return int(self.status.get("counts", {}).get(pair, 0))

    @property
    def holder(self) -> bool:
        return bool(self.status.get("holder")) and self.process.poll() is None

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read()[-3000:]


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., KISSandbox]) -> KISSandbox:
    return sandbox_factory(
        "paper",
        seed=7,
        clock=ManualClock(),
        market_time="2026-03-10T10:00:00+09:00",
        stream_interval=0.05,
        pingpong_interval=1.0,
        issue_interval=0,
    )


@pytest.fixture
def spawn(sandbox: KISSandbox, redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(name: str, pairs: list[str], *, mode: str = "sync", cap: int = 41) -> Child:
        env = {key: value for key, value in os.environ.items() if not key.startswith("KIS_")}
        env.update(
            KIS_APP_KEY=sandbox.app_key,
            KIS_APP_SECRET=sandbox.app_secret,
            KIS_ENVIRONMENT=sandbox.environment,
            KIS_BASE_URL=sandbox.base_url,
            KIS_ACCOUNT_NO=sandbox.account_no,
            KIS_WEBSOCKET_URL=sandbox.websocket_url,
            KIS_HTS_ID=sandbox.hts_id,
            KIS_TOKEN_STORE="file",
            KIS_TOKEN_CACHE_DIR=str(tmp_path / name),
            KIS_TOKEN_ISSUE_INTERVAL="1",
            KIS_REDIS_URL=redis_url,
            KIS_REDIS_PROBE_INTERVAL="1",
            RT_LEASE_TTL=str(LEASE_TTL),
            RT_TICK="0.1",
            RT_CAP=str(cap),
        )
        child = Child(name, mode, pairs, env)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait(10)


def more_than(child: Child, pair: str, n: int) -> Callable[[], bool]:
    return lambda: child.count(pair) > n


def ready(child: Child) -> bool:
    if child.process.poll() is not None:
        raise AssertionError(f"{child.name} exited: {child.stderr()}")
    return bool(child.events("ready"))


def shared_keys(sandbox: KISSandbox, redis_url: str) -> SharedKeys:
    """The Redis keys of the sandbox app key's shared session."""
    config = KISConfig(
        _env_file=None,
        kis_app_key=sandbox.app_key,
        kis_app_secret=sandbox.app_secret,
        environment=sandbox.environment,
        base_url=sandbox.base_url,
        websocket_url=sandbox.websocket_url,
        redis_url=redis_url,
    )
    return SharedKeys.of(config)


def test_three_processes_share_one_session_and_survive_a_killed_holder(
    sandbox: KISSandbox, spawn: Callable[..., Child], redis_db: Any, redis_url: str
) -> None:
    children = [
        spawn("a", [SAMSUNG]),
        spawn("b", [SAMSUNG, HYNIX], mode="async"),
        spawn("c", [SAMSUNG, HYUNDAI]),
    ]
    wants = {"a": {SAMSUNG}, "b": {SAMSUNG, HYNIX}, "c": {SAMSUNG, HYUNDAI}}
    for child in children:
        wait_until(partial(ready, child), f"{child.name} ready")
        assert not child.events("error"), child.events("error")
    for child in children:
        for pair in wants[child.name]:
            wait_until(more_than(child, pair, 3), f"{child.name} records of {pair}")
        # A process receives only its own pairs' records, through Redis.
        assert set(child.status["counts"]) == wants[child.name]

    # One KIS session, holding each wanted pair once.
    assert sandbox.stats()["websocket_sessions"] == 1
    holders = [child for child in children if child.holder]
    assert len(holders) == 1
    holder = holders[0]
    assert holder.status["direct"] == sorted({SAMSUNG, HYNIX, HYUNDAI})
    keys = shared_keys(sandbox, redis_url)
    refs = redis_db.hgetall(keys.refs)
    assert refs == {SAMSUNG: "3", HYNIX: "1", HYUNDAI: "1"}
    assert set(redis_db.hkeys(keys.active)) == {SAMSUNG, HYNIX, HYUNDAI}
    assert not any(sandbox.app_key in key for key in redis_db.keys("*"))

    # A clean exit releases the pairs only that process wanted: the holder unsubscribes them.
    leaving = next(child for child in children if child is not holder and child.name != "a")
    gone = HYNIX if leaving.name == "b" else HYUNDAI
    leaving.send("quit")
    assert leaving.process.wait(10) == 0, leaving.stderr()
    wait_until(lambda: gone not in holder.status["direct"], f"{gone} released at KIS")
    stream = keys.stream(tuple(gone.split("|")))  # type: ignore[arg-type]
    before = redis_db.xlen(stream)
    time.sleep(0.4)  # eight stream ticks: a registered pair would have had records
    assert redis_db.xlen(stream) == before
    assert gone not in redis_db.hgetall(keys.refs)

    # SIGKILL the holder: the survivor takes over within the lease and its records flow again.
    survivor = next(c for c in children if c is not holder and c is not leaving)
    counts = {pair: survivor.count(pair) for pair in wants[survivor.name]}
    killed_at = time.time()
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(10)
    wait_until(lambda: survivor.holder, "the takeover")
    took_over = time.time()
    for pair, seen in counts.items():
        wait_until(more_than(survivor, pair, seen + 3), f"{pair} after takeover")
    gap = max(survivor.status["gaps"].values())
    # The longest silence any of the survivor's pairs saw: the takeover's gap.
    print(f"takeover gap: {gap:.2f} s (lease taken {took_over - killed_at:.2f} s after the kill)")
    assert gap < LEASE_TTL + 3.0
    # The killed holder's own pairs were released once its heartbeat ran out.
    wait_until(
        lambda: survivor.status["direct"] == sorted(wants[survivor.name]),
        "the survivor's session holding exactly its pairs",
    )
    wait_until(lambda: sandbox.stats()["websocket_sessions"] == 1, "one session again")
    assert survivor.status["error"] is None


def test_the_cap_holds_across_processes(
    sandbox: KISSandbox, spawn: Callable[..., Child], redis_db: Any, redis_url: str
) -> None:
    first = spawn("first", [SAMSUNG, HYNIX], cap=3)
    wait_until(lambda: ready(first), "the first process ready")
    assert len(first.events("subscribed")) == 2
    # SAMSUNG is wanted already (it costs nothing); HYUNDAI is the third; NAVER would be the 4th.
    second = spawn("second", [SAMSUNG, HYUNDAI, NAVER], cap=3)
    wait_until(lambda: ready(second), "the second process ready")
    assert [line["pair"] for line in second.events("subscribed")] == [SAMSUNG, HYUNDAI]
    [refused] = second.events("error")
    assert (refused["pair"], refused["type"]) == (NAVER, KISSubscriptionLimitError.__name__)
    assert "3 of 3" in refused["message"]
    wait_until(lambda: second.count(HYUNDAI) > 2, "records of the third pair")
    keys = shared_keys(sandbox, redis_url)
    # Nothing was sent for the refused pair: no claim, no registration, no stream.
    assert set(redis_db.hkeys(keys.refs)) == {SAMSUNG, HYNIX, HYUNDAI}
    assert NAVER not in redis_db.hkeys(keys.active)
    holder = first if first.holder else second
    assert NAVER not in holder.status["direct"]
    assert redis_db.exists(keys.stream(("H0STCNT0", "035420"))) == 0


def test_redis_down_ends_the_stream_with_a_typed_error(
    sandbox: KISSandbox, redis_server: RedisServer, redis_config: RedisConfig
) -> None:
    config = redis_config(sandbox, websocket_url=sandbox.websocket_url, hts_id=sandbox.hts_id)
    policy = SharedPolicy(lease_ttl=LEASE_TTL, member_ttl=LEASE_TTL, tick=0.1)
    fast = ReconnectPolicy(base=0.05, cap=0.3, floor=0.02, reply_timeout=8.0, close_timeout=0.5)
    with KISRealtimeClient(config, shared_policy=policy, policy=fast) as rt:
        assert rt.subscribe("H0STCNT0", "005930").state == "active"
        assert rt.next(timeout=5).key == "005930"
        assert sandbox.stats()["websocket_sessions"] == 1
        redis_server.stop()
        stopped = time.monotonic()
        with pytest.raises(KISRedisUnavailableError, match="needs Redis"):
            while time.monotonic() - stopped < WAIT:
                with contextlib.suppress(TimeoutError):
                    rt.next(timeout=0.2)  # records already in the queue drain first
        assert time.monotonic() - stopped < LEASE_TTL + 3.0
        # No direct session is kept (another process may take the app key's when Redis is back).
        wait_until(lambda: sandbox.stats()["websocket_sessions"] == 0, "the session closed")
        with pytest.raises(KISRedisUnavailableError):
            rt.subscribe("H0STCNT0", "000660")
    # A new client cannot join while Redis is down: the subscribe says so, nothing is opened.
    with (
        KISRealtimeClient(config, shared_policy=policy) as late,
        pytest.raises(KISRedisUnavailableError),
    ):
        late.subscribe("H0STCNT0", "005930")
    assert sandbox.stats()["websocket_sessions"] == 0
