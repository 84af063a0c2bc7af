"""Load: 64 threads through one client for a few seconds, with the sandbox misbehaving.

Every request risks an injected 500, an EGW00201, a dropped connection before or after
processing, a garbled reply, and a little latency; the tokens are expired half-way. Each order
carries a quantity no other order has, so the sandbox's order book can be matched call by call.
The orders buy the cheapest listed code at market, so a few hundred fit the account's cash; the
later ones are refused for cash (APBK0952), and a refused order must not be in the book either.

Asserted: every thread finishes (no deadlock: joined with a timeout); every call either succeeds
or raises a KISError; no order is lost or duplicated: each accepted order belongs to exactly one
call, which either succeeded with that ODNO or raised KISAmbiguousOutcomeError; each call that
succeeded is in the book. The async client gets the same treatment with 64 tasks.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reliability_helpers import (
    BALANCE_PATH,
    CHEAP,
    ORDER_PATH,
    PRICE,
    PRICE_PATH,
    ConfigFactory,
    order_body,
)

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISError,
    KISRestClient,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis.bodies import balance_params
from stock_manager.sandbox import KISSandbox

WORKERS = 64
SYNC_SECONDS = 6.0
ASYNC_SECONDS = 3.0
FAULTS: dict[str, Any] = {
    "error_rate": 0.03,
    "rate_limit_rate": 0.03,
    "drop_before_rate": 0.02,
    "drop_after_rate": 0.02,
    "garble_rate": 0.02,
    "latency": 0.002,
}
POLICY = RetryPolicy(max_retries=3, max_wait=2.0, base_delay=0.01, max_delay=0.05)
INJECTED = ("error", "rate_limit", "drop_before", "drop_after", "garble")
# Orders, quotations, hashkeys and a paged inquiry, in a rotation that differs per worker.
OPERATIONS = ["order", "price", "order-signed", "hashkey", "price", "balance"]


@dataclass
class Ledger:
    """What each call did, filled by every worker."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: Counter[str] = field(default_factory=Counter)
    strays: list[str] = field(default_factory=list)
    #: quantity -> ("ok", ODNO) | ("KISAmbiguousOutcomeError", None) | ("refused", None)
    orders: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    quantities: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, outcome: str, quantity: int | None = None, odno: str | None = None) -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            if quantity is not None:
                kind = outcome if outcome in ("ok", "KISAmbiguousOutcomeError") else "refused"
                self.orders[quantity] = (kind, odno)

    def stray(self, exc: BaseException) -> None:
        with self.lock:
            self.strays.append(f"{type(exc).__name__}: {exc}")


def _settle(ledger: Ledger, sandbox: KISSandbox, before: dict[str, Any]) -> dict[str, int]:
    after = sandbox.stats()
    book = after["orders"][len(before["orders"]) :]
    by_quantity = Counter(int(order["body"]["ORD_QTY"]) for order in book)
    duplicated = {q: n for q, n in by_quantity.items() if n > 1}
    assert not duplicated, f"orders placed more than once: {duplicated}"
    for order in book:
        quantity = int(order["body"]["ORD_QTY"])
        outcome, odno = ledger.orders.get(quantity, ("unknown", None))
        assert outcome in ("ok", "KISAmbiguousOutcomeError"), (
            f"order {quantity} was accepted but its call ended with {outcome}"
        )
        if outcome == "ok":
            assert odno == order["odno"]
    booked = set(by_quantity)
    lost = [q for q, (outcome, _) in ledger.orders.items() if outcome == "ok" and q not in booked]
    assert not lost, f"calls that succeeded without an order in the book: {lost[:10]}"
    # Else the checks above hold vacuously (as when every order was refused for its price).
    assert len(book) >= 20, f"only {len(book)} order(s) were taken"
    faults = {kind: after["faults"][kind] - before["faults"][kind] for kind in after["faults"]}
    return faults


def test_64_threads_through_one_client_under_faults(
    rel_sandbox: KISSandbox, rel_config: ConfigFactory, figures: Counter[str]
) -> None:
    rel_sandbox.reset()  # the account's full cash: the orders below are taken until it is spent
    config = rel_config(rel_sandbox, max_retries=3, retry_max_wait=2)
    ledger = Ledger()
    client = KISRestClient(config, retry_policy=POLICY)
    client.access_token()
    before = rel_sandbox.stats()
    rel_sandbox.set_faults("*", seed=11, **FAULTS)
    deadline = time.monotonic() + SYNC_SECONDS
    start = threading.Barrier(WORKERS + 1)

    def worker(number: int) -> None:
        start.wait(30)
        operations = itertools.cycle(OPERATIONS[number % 3 :] + OPERATIONS)
        while time.monotonic() < deadline:
            operation = next(operations)
            quantity: int | None = None
            try:
                if operation.startswith("order"):
                    quantity = next(ledger.quantities)
                    body = order_body(config, quantity=quantity, PDNO=CHEAP)
                    signed = operation == "order-signed"
                    reply = client.make_request(
                        "POST", ORDER_PATH, body, variant="buy", hashkey=signed
                    )
                    ledger.record("ok", quantity, reply["output"]["ODNO"])
                    continue
                if operation == "price":
                    client.make_request("GET", PRICE_PATH, PRICE)
                elif operation == "hashkey":
                    client.hashkey({"worker": number, "n": str(time.monotonic())})
                else:
                    list(client.iter_pages("GET", BALANCE_PATH, balance_params(config)))
                ledger.record("ok")
            except KISError as exc:
                ledger.record(type(exc).__name__, quantity)
            except Exception as exc:  # the failure this test exists to catch
                ledger.stray(exc)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    start.wait(30)
    time.sleep(SYNC_SECONDS / 2)
    rel_sandbox.expire_tokens()  # a refresh under load, faults and all
    for thread in threads:
        thread.join(timeout=SYNC_SECONDS + 60)
    stuck = sum(thread.is_alive() for thread in threads)
    rel_sandbox.clear_faults()
    client.close()

    assert stuck == 0, f"{stuck} thread(s) still running: deadlock?"
    assert not ledger.strays, f"not KISErrors: {ledger.strays[:5]}"
    faults = _settle(ledger, rel_sandbox, before)
    calls = sum(ledger.outcomes.values())
    _report(figures, "sync, 64 threads", calls, faults, ledger)
    assert ledger.outcomes["ok"] > calls // 2 and sum(faults[k] for k in INJECTED) > 0


def test_64_tasks_through_one_async_client_under_faults(
    rel_sandbox: KISSandbox, rel_config: ConfigFactory, figures: Counter[str]
) -> None:
    rel_sandbox.reset()  # the account's full cash: the orders below are taken until it is spent
    config = rel_config(rel_sandbox, max_retries=3, retry_max_wait=2)
    ledger = Ledger()

    async def scenario() -> None:
        async with AsyncKISRestClient(config, retry_policy=POLICY) as client:
            await client.access_token()
            rel_sandbox.set_faults("*", seed=12, **FAULTS)
            deadline = time.monotonic() + ASYNC_SECONDS

            async def task(number: int) -> None:
                operations = itertools.cycle(OPERATIONS[number % 3 :] + OPERATIONS)
                while time.monotonic() < deadline:
                    operation = next(operations)
                    quantity: int | None = None
                    try:
                        if operation.startswith("order"):
                            quantity = next(ledger.quantities)
                            body = order_body(config, quantity=quantity, PDNO=CHEAP)
                            reply = await client.make_request(
                                "POST",
                                ORDER_PATH,
                                body,
                                variant="buy",
                                hashkey=operation == "order-signed",
                            )
                            ledger.record("ok", quantity, reply["output"]["ODNO"])
                            continue
                        if operation == "price":
                            await client.make_request("GET", PRICE_PATH, PRICE)
                        elif operation == "hashkey":
                            await client.hashkey({"task": number})
                        else:
                            async for _ in client.iter_pages(
                                "GET", BALANCE_PATH, balance_params(config)
                            ):
                                pass
                        ledger.record("ok")
                    except KISError as exc:
                        ledger.record(type(exc).__name__, quantity)
                    except Exception as exc:  # the failure this test exists to catch
                        ledger.stray(exc)

            async def expire_half_way() -> None:
                await asyncio.sleep(ASYNC_SECONDS / 2)
                await asyncio.to_thread(rel_sandbox.expire_tokens)

            await asyncio.wait_for(
                asyncio.gather(expire_half_way(), *(task(n) for n in range(WORKERS))),
                timeout=ASYNC_SECONDS + 60,
            )

    before = rel_sandbox.stats()
    try:
        asyncio.run(scenario())
    finally:
        rel_sandbox.clear_faults()
    assert not ledger.strays, f"not KISErrors: {ledger.strays[:5]}"
    faults = _settle(ledger, rel_sandbox, before)
    calls = sum(ledger.outcomes.values())
    _report(figures, "async, 64 tasks", calls, faults, ledger)
    assert ledger.outcomes["ok"] > calls // 2 and sum(faults[k] for k in INJECTED) > 0


def _report(
    figures: Counter[str], label: str, calls: int, faults: dict[str, int], ledger: Ledger
) -> None:
    figures[f"load ({label}): calls made"] += calls
    figures[f"load ({label}): orders accepted"] += sum(
        1 for outcome, _ in ledger.orders.values() if outcome == "ok"
    )
    figures[f"load ({label}): ambiguous orders reported"] += ledger.outcomes[
        "KISAmbiguousOutcomeError"
    ]
    figures[f"load ({label}): calls failed with a KISError"] += calls - ledger.outcomes["ok"]
    figures["faults survived"] += sum(faults[kind] for kind in INJECTED)
    figures["faults survived (latency added)"] += faults.get("latency", 0)
