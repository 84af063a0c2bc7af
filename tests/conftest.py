"""Fixtures shared by the whole suite.

* Every test runs with the ``KIS_*`` environment variables cleared (a developer's real
  credentials never leak into a test) and ``KIS_TOKEN_CACHE_DIR`` pointing at a fresh temporary
  directory (nothing writes into the real user cache).
* ``paper_sandbox`` / ``real_sandbox``: a running :class:`KISSandbox` on 127.0.0.1, unlimited
  rate (``rate_limit=0``) and ``issue_interval=1``; ``sandbox_factory(**kwargs)`` starts one
  with other settings (stopped at teardown).
* ``config_for(sb, **overrides)``: a :class:`KISConfig` pointed at a sandbox, with its demo
  credentials and account, an in-memory token store and a temporary token cache directory;
  ``.env`` files are not read.
* ``anyio_backend``: async tests (``@pytest.mark.anyio``) run on asyncio.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.sandbox import KISSandbox

SandboxFactory = Callable[..., KISSandbox]
ConfigFor = Callable[..., KISConfig]


@pytest.fixture(autouse=True)
def _isolated_kis_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in list(os.environ):
        if name.upper().startswith("KIS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIS_TOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("kis-token-cache")))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    started: list[KISSandbox] = []

    def start(environment: str = "paper", **kwargs: Any) -> KISSandbox:
        kwargs.setdefault("rate_limit", 0)
        kwargs.setdefault("issue_interval", 1)
        sandbox = KISSandbox(environment, **kwargs)  # type: ignore[arg-type]
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def paper_sandbox(sandbox_factory: SandboxFactory) -> KISSandbox:
    return sandbox_factory("paper")


@pytest.fixture
def real_sandbox(sandbox_factory: SandboxFactory) -> KISSandbox:
    return sandbox_factory("real")


@pytest.fixture
def config_for(tmp_path: Path) -> ConfigFor:
    def make(sandbox: KISSandbox, **overrides: Any) -> KISConfig:
        values: dict[str, Any] = {
            "kis_app_key": sandbox.app_key,
            "kis_app_secret": sandbox.app_secret,
            "environment": sandbox.environment,
            "base_url": sandbox.base_url,
            "account_no": sandbox.account_no,
            "token_store": "memory",
            "token_cache_dir": tmp_path / "token-cache",
        }
        values.update(overrides)
        return KISConfig(_env_file=None, **values)

    return make
