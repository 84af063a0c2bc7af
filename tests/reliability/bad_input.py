"""The shape of the bad-input table: rows, where their answer comes from, and what they run.

A row is a :class:`Case` built with :func:`local`, :func:`at_sandbox` or :func:`at_raw`:

* ``local``: bad configuration or call arguments, refused before anything is sent;
* ``sandbox``: replies the sandbox produces (its faults and its own refusals);
* ``raw``: replies only :class:`~raw_server.RawServer` can produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from raw_server import RawServer, Reply
from reliability_helpers import ORDER_PATH, PRICE, PRICE_PATH, ConfigFactory, order_body

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.sandbox import KISSandbox

__all__ = ["DID_NOT_RAISE", "Case", "Ctx", "at_raw", "at_sandbox", "local"]

Where = Literal["local", "sandbox", "raw"]
Call = Callable[["Ctx"], Any]
Check = Callable[["Ctx", dict[str, Any]], None]

#: What a row raises today when the bad input is accepted (pytest's "DID NOT RAISE").
DID_NOT_RAISE = pytest.fail.Exception


@dataclass
class Ctx:
    """What a row's call needs: the sandbox (or raw server), configs, a scratch directory."""

    sandbox: KISSandbox
    make: ConfigFactory
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    server: RawServer | None = None

    def config(self, **overrides: Any) -> KISConfig:
        return self.make(self.server or self.sandbox, **overrides)

    def client(self, config: KISConfig | None = None) -> KISRestClient:
        return KISRestClient(config or self.config())

    def call(self, *args: Any, config: KISConfig | None = None, **kwargs: Any) -> Any:
        with self.client(config) as client:
            return client.make_request(*args, **kwargs)

    def order(self, config: KISConfig | None = None, **kwargs: Any) -> Any:
        """A cash buy of one share at market (``body=`` replaces it)."""
        config = config or self.config()
        kwargs.setdefault("variant", "buy")
        body = kwargs.pop("body", None) or order_body(config)
        return self.call("POST", ORDER_PATH, body, config=config, **kwargs)

    def price(self, config: KISConfig | None = None, **kwargs: Any) -> Any:
        """The price of 005930."""
        return self.call("GET", PRICE_PATH, PRICE, config=config, **kwargs)


@dataclass(frozen=True)
class Case:
    """One row: what to do, what must be raised, and where the answer comes from."""

    name: str
    where: Where
    call: Call
    expected: type[Exception]
    replies: dict[str, Reply] = field(default_factory=dict)
    faults: dict[str, Any] | None = None
    check: Check | None = None


def _param(case: Case, marks: tuple[pytest.MarkDecorator, ...]) -> Any:
    return pytest.param(case, id=f"{case.where}-{case.name}", marks=marks)


def local(name: str, call: Call, expected: type[Exception], *marks: pytest.MarkDecorator) -> Any:
    """A row refused by the client itself: nothing may reach the sandbox."""
    return _param(Case(name, "local", call, expected), marks)


def at_sandbox(
    name: str,
    call: Call,
    expected: type[Exception],
    *marks: pytest.MarkDecorator,
    faults: dict[str, Any] | None = None,
    check: Check | None = None,
) -> Any:
    """A row answered by the sandbox, with ``faults`` (``set_faults`` arguments) if given."""
    return _param(Case(name, "sandbox", call, expected, faults=faults, check=check), marks)


def at_raw(
    name: str,
    call: Call,
    expected: type[Exception],
    replies: dict[str, Reply],
    *marks: pytest.MarkDecorator,
    check: Check | None = None,
) -> Any:
    """A row answered by a raw server serving ``replies`` (tokenP is well-formed by default)."""
    return _param(Case(name, "raw", call, expected, replies, check=check), marks)


def price(ctx: Ctx) -> Any:
    """The most common call: a quotation."""
    return ctx.price()


def order(ctx: Ctx) -> Any:
    """The call that must never be duplicated or misreported: an order."""
    return ctx.order()
