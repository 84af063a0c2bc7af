"""Fixtures for the sandbox tests: sandboxes on free loopback ports and raw callers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sandbox_helpers import Caller

from stock_manager.sandbox import KISSandbox

FAST = {"issue_interval": 0, "rate_limit": 0}


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., KISSandbox]]:
    """Start sandboxes with the given options; all are stopped after the test."""
    started: list[KISSandbox] = []

    def make(environment: str = "paper", **options: Any) -> KISSandbox:
        sandbox = KISSandbox(environment, **{**FAST, **options})  # type: ignore[arg-type]
        started.append(sandbox.start())
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def client_for() -> Iterator[Callable[[KISSandbox], httpx.Client]]:
    """A pooled httpx.Client per sandbox, closed after the test."""
    clients: list[httpx.Client] = []

    def make(sandbox: KISSandbox) -> httpx.Client:
        client = httpx.Client(base_url=sandbox.base_url, timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(params=["paper", "real"])
def domain(request: pytest.FixtureRequest) -> str:
    """Run a test on both domains."""
    value: str = request.param
    return value


@pytest.fixture
def caller_for(
    make_sandbox: Callable[..., KISSandbox], client_for: Callable[[KISSandbox], httpx.Client]
) -> Callable[..., Caller]:
    """A Caller on a fresh sandbox: ``caller_for("real", page_size=2)``."""

    def make(environment: str = "paper", **options: Any) -> Caller:
        sandbox = make_sandbox(environment, **options)
        return Caller(sandbox, client_for(sandbox))

    return make


@pytest.fixture
def kis(caller_for: Callable[..., Caller], domain: str) -> Caller:
    """A caller on a fresh sandbox of each domain."""
    return caller_for(domain)
