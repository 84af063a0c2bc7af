"""Fixtures for the token-lifecycle tests.

* ``token_config(sb, **overrides)``: a :class:`KISConfig` for a sandbox with the *file* token
  store in this test's own cache directory (``cache_dir``), the token issue interval matching
  the sandbox's, and a client-side rate limit high enough never to slow a test.
* ``cache_dir``: that directory (created by the store itself, on first use).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from token_helpers import TokenConfig

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.sandbox import KISSandbox


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "tokens"


@pytest.fixture
def token_config(cache_dir: Path) -> TokenConfig:
    def make(sandbox: KISSandbox, *, issue_interval: float = 1, **overrides: Any) -> KISConfig:
        values: dict[str, Any] = {
            "kis_app_key": sandbox.app_key,
            "kis_app_secret": sandbox.app_secret,
            "environment": sandbox.environment,
            "base_url": sandbox.base_url,
            "account_no": sandbox.account_no,
            "token_store": "file",
            "token_cache_dir": cache_dir,
            "token_issue_interval": issue_interval,
            "token_max_wait": 10,
            "rate_limit_per_second": 100_000,
        }
        values.update(overrides)
        return KISConfig(_env_file=None, **values)

    return make
