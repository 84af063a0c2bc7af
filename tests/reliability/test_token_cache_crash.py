"""Crash safety of the file token cache: writers SIGKILLed mid-write, then the next client.

A child process (:mod:`cache_writer`) rewrites the cache entry of a real sandbox token in a loop
and is killed with SIGKILL at a random moment, several times:

* through :class:`FileTokenStore` (plain saves and saves under the key's lock): the entry must
  always be whole (temp file + fsync + rename), and the lock must be free after the kill;
* written in place, piece by piece (a careless writer): the file is usually left half-written,
  and the next client must discard it with a warning and get a token from KIS.

Either way the next client's call succeeds, it sends the one real token (the sandbox counts
exactly one request: no half-written token was ever presented and rejected), and nothing
crashes. The next client alternates between a fresh client in this process and a fresh process
(``cache_writer.py check``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import select
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from reliability_helpers import PRICE, PRICE_PATH, ConfigFactory

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    FileTokenStore,
    TokenEntry,
    TokenKey,
)
from stock_manager.sandbox import KISSandbox

WRITER = Path(__file__).with_name("cache_writer.py")
KILLS_PER_MODE = 4


def _start_writer(mode: str, env: dict[str, str]) -> subprocess.Popen[str]:
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), mode], stdout=subprocess.PIPE, env=env, text=True
    )
    assert writer.stdout is not None
    ready, _, _ = select.select([writer.stdout], [], [], 30)
    if not ready or writer.stdout.readline().strip() != "ready":
        writer.kill()
        writer.wait(5)
        pytest.fail("the cache writer did not start")
    return writer


def _next_process(env: dict[str, str]) -> tuple[str, str, list[str]]:
    """One call from a fresh process: (rt_cd, token sha256, warnings logged)."""
    done = subprocess.run(
        [sys.executable, str(WRITER), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"the next process crashed: {done.stderr[-2000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["rt_cd"], result["token_sha256"], result["warnings"]


def _next_client(config: KISConfig, caplog: pytest.LogCaptureFixture) -> tuple[str, str, list[str]]:
    """One call from a fresh client in this process: (rt_cd, token sha256, warnings logged)."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="stock_manager"), KISRestClient(config) as client:
        response = client.make_request("GET", PRICE_PATH, PRICE)
        token = client.access_token().value
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return response["rt_cd"], _sha(token), warnings


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _state(path: Path) -> str:
    try:
        TokenEntry.from_json(json.loads(path.read_bytes()))
    except FileNotFoundError:
        return "missing"
    except ValueError:  # JSONDecodeError included
        return "torn"
    return "whole"


@pytest.mark.parametrize("mode", ["store", "torn"])
def test_a_killed_writer_never_leaves_a_token_the_next_client_uses_half(
    mode: str,
    *,
    rel_sandbox: KISSandbox,
    rel_config: ConfigFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    figures: Counter[str],
) -> None:
    with KISRestClient(rel_config(rel_sandbox)) as issuer:
        real = issuer.access_token()
    cache = tmp_path / "cache"
    env = {
        **os.environ,
        "KIS_BASE_URL": rel_sandbox.base_url,
        "KIS_APP_KEY": rel_sandbox.app_key,
        "KIS_ENVIRONMENT": rel_sandbox.environment,
        "KIS_TOKEN_CACHE_DIR": str(cache),
        "REL_TOKEN": real.value,
        "REL_EXPIRES_AT": real.expires_at.isoformat(),
    }
    config = rel_config(rel_sandbox, token_store="file", token_cache_dir=cache)
    check_env = {
        **env,
        "KIS_APP_SECRET": rel_sandbox.app_secret,
        "KIS_ACCOUNT_NO": rel_sandbox.account_no,
        "KIS_TOKEN_STORE": "file",
        "KIS_TOKEN_ISSUE_INTERVAL": "0",
        "KIS_RATE_LIMIT_PER_SECOND": "100000",
    }
    key = TokenKey.for_config(config, ACCESS_TOKEN)
    entry_path = FileTokenStore(cache).path_for(key)
    rng = random.Random(f"crash-{mode}")
    states: Counter[str] = Counter()

    for kill in range(KILLS_PER_MODE):
        writer = _start_writer(mode, env)
        # A random moment inside the rewrite loop (each round takes ~1-10 ms).
        select.select([], [], [], rng.uniform(0.005, 0.06))
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(10) == -signal.SIGKILL
        state = _state(entry_path)
        states[state] += 1
        if mode == "store":
            assert state == "whole", "a SIGKILL during FileTokenStore.save left a partial entry"

        # The dead writer's lock is not held by anyone.
        with FileTokenStore(cache).lock(key, 2):
            pass

        before = rel_sandbox.stats()
        if kill % 2:
            rt_cd, used, warnings = _next_process(check_env)
        else:
            rt_cd, used, warnings = _next_client(config, caplog)
        after = rel_sandbox.stats()
        assert rt_cd == "0"
        assert used == _sha(real.value), "the next client holds the real token, whole"
        sent = after["requests"].get(PRICE_PATH, 0) - before["requests"].get(PRICE_PATH, 0)
        assert sent == 1, "a half-written token was presented to KIS and rejected"
        reissued = after["tokens_issued"] - before["tokens_issued"]
        if state == "whole":
            assert reissued == 0, "a whole cached token is used as is"
        else:
            assert any("damaged" in message for message in warnings), warnings
            assert reissued == 1
            assert real.value not in " ".join(warnings)
            assert _state(entry_path) == "whole", "the new token replaced the damaged entry"

    leftovers = [p.name for p in cache.iterdir() if p.name.endswith(".tmp")]
    figures["crash: writers SIGKILLed"] += KILLS_PER_MODE
    figures["crash: half-written caches discarded with a warning"] += states["torn"]
    figures["crash: temp files left by killed saves"] += len(leftovers)
    if mode == "torn":
        assert states["torn"] >= 1, f"no kill landed mid-write: {dict(states)}"
