"""Fixtures for the Redis coordination tests (a real ``redis-server``, never a fake).

* ``redis_server``: a throwaway ``redis-server`` on a free loopback port for this test
  (``stop()``/``start()`` simulate an outage on the same port); skipped, or failed under
  ``CI=true``, when ``redis-server`` is missing. With ``REDIS_URL`` set (a database these tests
  may flush), tests that need to stop the server skip, and the others flush it first.
* ``redis_url`` / ``redis_db``: its URL and a plain redis-py client on it (to look inside).
* ``redis_config(sb, **overrides)``: a :class:`KISConfig` for a sandbox with ``redis_url``,
  the file token store in this test's directory and a 1 s token issue interval.

After each test the process's shared Redis links and request budgets are forgotten, so no
test inherits another's connections or budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_helpers import RedisConfig
from redis_server import RedisServer, redis_url_for_tests

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.adapters.broker.kis._redis_link import close_shared_links, import_redis
from stock_manager.adapters.broker.kis.ratelimit.shared import default_registry
from stock_manager.sandbox import KISSandbox

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_endpoint() -> Iterator[tuple[str, RedisServer | None]]:
    with redis_url_for_tests() as (url, server):
        if server is None:  # someone else's Redis: start from an empty database
            import_redis().Redis.from_url(url).flushdb()
        yield url, server


@pytest.fixture
def redis_url(redis_endpoint: tuple[str, RedisServer | None]) -> str:
    return redis_endpoint[0]


@pytest.fixture
def redis_server(redis_endpoint: tuple[str, RedisServer | None]) -> RedisServer:
    server = redis_endpoint[1]
    if server is None:
        pytest.skip("REDIS_URL points at a server these tests must not stop")
    return server


@pytest.fixture
def redis_db(redis_url: str) -> Iterator[Any]:
    client = import_redis().Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _forget_shared_state() -> Iterator[None]:
    yield
    default_registry.clear()
    close_shared_links()


@pytest.fixture
def redis_config(redis_url: str, tmp_path: Path) -> RedisConfig:
    def make(sandbox: KISSandbox, **overrides: Any) -> KISConfig:
        values: dict[str, Any] = {
            "kis_app_key": sandbox.app_key,
            "kis_app_secret": sandbox.app_secret,
            "environment": sandbox.environment,
            "base_url": sandbox.base_url,
            "account_no": sandbox.account_no,
            "token_store": "file",
            "token_cache_dir": tmp_path / "tokens",
            "token_issue_interval": 1,
            "token_max_wait": 10,
            "redis_url": redis_url,
            "redis_probe_interval": 1,
        }
        values.update(overrides)
        return KISConfig(_env_file=None, **values)

    return make
