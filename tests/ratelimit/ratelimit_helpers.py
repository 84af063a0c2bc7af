"""Run many KIS calls through one sync or async client, concurrently, and collect outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISConfig,
    KISRestClient,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis.bodies import balance_params, cash_order_body
from stock_manager.adapters.broker.kis.ratelimit import RateLimiter
from stock_manager.sandbox import KISSandbox

#: The shared fixtures of tests/conftest.py.
ConfigFor = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]


def start_sandbox(factory: SandboxFactory, environment: str, **options: Any) -> KISSandbox:
    """A sandbox that never throttles token issuance: every client in these tests may get its
    own token at once, so they exercise the request budget, not the token lifecycle."""
    options.setdefault("issue_interval", 0)
    return factory(environment, **options)


Mode = Literal["sync", "async"]
MODES: tuple[Mode, ...] = ("sync", "async")

PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
BALANCE_PATH = "/uapi/domestic-stock/v1/trading/inquire-balance"
ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
#: A KRX trading day (Tuesday) at 10:00 KST: the regular session is open, so orders are taken.
MARKET_TIME = "2026-03-10T10:00:00+09:00"
#: KODEX 200선물인버스2X, about 1,000 KRW a share: the sandbox's cheapest listed code.
CHEAP = "252670"
#: A complete inquire-price query (the client refuses one missing a required key, unsent).
PRICE_PARAMS = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


@dataclass(frozen=True)
class Call:
    """One ``make_request`` call."""

    method: str
    api_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    variant: str | None = None


def price(code: str = "005930") -> Call:
    return Call("GET", "inquire-price", {**PRICE_PARAMS, "FID_INPUT_ISCD": code})


def balance(config: KISConfig) -> Call:
    return Call("GET", "inquire-balance", balance_params(config))


def buy(config: KISConfig, quantity: int) -> Call:
    """A market buy of ``quantity`` shares of :data:`CHEAP`: the quantity tells the orders apart.

    The sandbox holds a market buy's worth at the upper limit against the account's 100,000,000
    KRW, so the cheapest listed code lets 300 orders of 1..300 shares (45,150 in all) fit; the
    session must be open (start the sandbox with ``market_time=MARKET_TIME``).
    """
    body = cash_order_body(config, CHEAP, quantity)
    return Call("POST", "order-cash", body, "buy")


def run_calls(
    mode: Mode,
    config: KISConfig,
    calls: Sequence[Call],
    *,
    workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    rate_limiter: RateLimiter | None = None,
) -> list[Any]:
    """Each call's reply or exception, in the order of ``calls``, from one shared client."""
    if mode == "sync":
        with KISRestClient(config, retry_policy=retry_policy, rate_limiter=rate_limiter) as client:

            def one(call: Call) -> Any:
                try:
                    return client.make_request(
                        call.method, api_id=call.api_id, params=call.params, variant=call.variant
                    )
                except Exception as exc:
                    return exc

            with ThreadPoolExecutor(workers) as pool:
                return list(pool.map(one, calls))
    return asyncio.run(_run_async(config, calls, workers, retry_policy, rate_limiter))


async def _run_async(
    config: KISConfig,
    calls: Sequence[Call],
    workers: int,
    retry_policy: RetryPolicy | None,
    rate_limiter: RateLimiter | None,
) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(calls)):
        queue.put_nowait(index)
    async with AsyncKISRestClient(
        config, retry_policy=retry_policy, rate_limiter=rate_limiter
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                call = calls[index]
                try:
                    results[index] = await client.make_request(
                        call.method, api_id=call.api_id, params=call.params, variant=call.variant
                    )
                except Exception as exc:
                    results[index] = exc

        await asyncio.gather(*(worker() for _ in range(workers)))
    return results
