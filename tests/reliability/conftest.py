"""Fixtures of the reliability and security suite (issue 9).

* ``rel_sandbox``: one paper :class:`KISSandbox` per module, unlimited rate, tokens reissued at
  once (``issue_interval=0``), its market at 10:00 KST of a trading day (:data:`MARKET_TIME`:
  orders are taken), faults cleared before every test.
* ``rel_config(server, **overrides)``: a :class:`KISConfig` for a sandbox or a
  :class:`~raw_server.RawServer` (memory token store, a client rate limit that never waits,
  no retries unless asked: failures show on the first attempt).
* ``figures`` (in tests/conftest.py): the session's counters, printed at the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import MARKET_TIME, ConfigFactory, Server

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.sandbox import KISSandbox


@pytest.fixture(scope="module")
def rel_sandbox() -> Iterator[KISSandbox]:
    with KISSandbox(
        "paper", rate_limit=0, issue_interval=0, page_size=5, seed=9, market_time=MARKET_TIME
    ) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "rel_sandbox" in request.fixturenames:
        request.getfixturevalue("rel_sandbox").clear_faults()


@pytest.fixture
def rel_config(tmp_path: Path) -> ConfigFactory:
    def make(server: Server, **overrides: Any) -> KISConfig:
        values: dict[str, Any] = {
            "kis_app_key": getattr(server, "app_key", "A" * 36),
            "kis_app_secret": getattr(server, "app_secret", "S" * 180),
            "environment": getattr(server, "environment", "paper"),
            "base_url": server.base_url,
            "account_no": getattr(server, "account_no", "") or "12345678-01",
            "token_store": "memory",
            "token_cache_dir": tmp_path / "token-cache",
            "token_issue_interval": 0,
            "token_max_wait": 5,
            "rate_limit_per_second": 100_000,
            "max_retries": 0,
            "timeout": 5,
        }
        values.update(overrides)
        return KISConfig(_env_file=None, **values)

    return make
