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
* ``figures``: the session's counters of the reliability suite (inputs tried, faults survived,
  calls made, leaks found), printed at the end of the run so the figures come from the suite
  itself. Under pytest-xdist each worker hands its counters to the controller, which adds them
  up; these hooks live here because the controller loads only this conftest.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.sandbox import KISSandbox

_FIGURES: Counter[str] = Counter()

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


@pytest.fixture(scope="session")
def figures() -> Counter[str]:
    return _FIGURES


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints the sum
        workeroutput["reliability_figures"] = dict(_FIGURES)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent when xdist is not installed
def pytest_testnodedown(node: Any, error: Any) -> None:
    _FIGURES.update(getattr(node, "workeroutput", {}).get("reliability_figures", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name in sorted(_FIGURES):
        terminalreporter.write_line(f"{name}: {_FIGURES[name]}")
