"""Order helpers against the sandbox over loopback: domestic, overseas and futures orders,
pending lists, modify/cancel, the order-type matrix, and reconciliation of lost replies."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    KISAmbiguousOutcomeError,
    KISConfig,
    KISPaperTradingUnsupportedError,
    KISRestClient,
    KISUsageError,
)
from stock_manager.adapters.broker.kis.aio import AsyncKISRestClient
from stock_manager.adapters.broker.kis.orders import (
    AsyncOrders,
    KISAmbiguousOrderError,
    KISNothingLeftError,
    KISOrderNotPlacedError,
    KISOrderTypeError,
    KISOrderUndecidedError,
    Orders,
    OrderState,
)
from stock_manager.sandbox import KISSandbox, ManualClock

SandboxFactory = Callable[..., KISSandbox]
ConfigFor = Callable[..., KISConfig]

KRX_OPEN = "2026-03-10T10:00:00+09:00"  # a Tuesday, regular session
US_OPEN = "2026-12-01T00:30:00+09:00"  # Monday 10:30 in New York (winter)
ORDER_CASH = "/uapi/domestic-stock/v1/trading/order-cash"
RVSECNCL = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
FAST = {"rate_limit_per_second": 1000}


def _sandbox(factory: SandboxFactory, environment: str, when: str = KRX_OPEN) -> KISSandbox:
    return factory(environment, seed=7, clock=ManualClock(), market_time=when)


def _orders(sb: KISSandbox, client: KISRestClient, **kwargs: Any) -> Orders:
    kwargs.setdefault("reconcile_delays", (0.05,))
    return Orders(client, clock=sb.market_time, **kwargs)


def _book(sb: KISSandbox, code: str, market: str | None = None) -> tuple[Decimal, Decimal]:
    """(lowest bid: rests unfilled, best ask: fills at once) of ``code`` now."""
    found = sb.market.lookup(code, market) if market else sb.market.lookup(code)
    assert found is not None
    snap = sb.market.snapshot(found)
    return snap.bids[-1][0], snap.asks[0][0]


def _sent(sb: KISSandbox, path: str) -> int:
    return sum(1 for o in sb.stats()["orders"] if o["path"] == path)


@pytest.mark.parametrize("environment", ["real", "paper"])
def test_domestic_buy_sell_pending_modify_cancel(
    sandbox_factory: SandboxFactory, config_for: ConfigFor, environment: str
) -> None:
    sb = _sandbox(sandbox_factory, environment)
    low, _ = _book(sb, "252670")
    with KISRestClient(config_for(sb, **FAST)) as client:
        orders = _orders(sb, client)
        bought = orders.buy("252670", 3)
        sold = orders.sell("252670", 1)
        resting = orders.buy("252670", 2, low)
        pending = orders.pending()
        assert [(o.odno, o.remaining, o.price) for o in pending] == [(resting.odno, 2, low)]
        moved = pending[0].modify(price=low - 5)
        assert (moved.original_odno, moved.price, moved.action) == (resting.odno, low - 5, "modify")
        assert [(o.odno, o.price) for o in orders.pending()] == [(moved.odno, low - 5)]
        cancelled = moved.cancel()
        assert (cancelled.action, cancelled.original_odno) == ("cancel", moved.odno)
        assert orders.pending() == []
        with pytest.raises(KISNothingLeftError):  # checked first: the cancel is not sent
            moved.cancel()
    assert (bought.side, sold.side, bought.quantity) == ("buy", "sell", 3)
    assert _sent(sb, RVSECNCL) == 2
    assert len({bought.odno, sold.odno, resting.odno, moved.odno, cancelled.odno}) == 5


@pytest.mark.parametrize("environment", ["real", "paper"])
def test_overseas_us_orders(
    sandbox_factory: SandboxFactory, config_for: ConfigFor, environment: str
) -> None:
    sb = _sandbox(sandbox_factory, environment, US_OPEN)
    low, ask = _book(sb, "AAPL", "NASD")
    with KISRestClient(config_for(sb, **FAST)) as client:
        orders = _orders(sb, client)
        filled = orders.buy("AAPL", 2, ask, exchange="NASD")
        orders.sell("AAPL", 1, ask - 100 if ask > 100 else ask, exchange="NASD")
        resting = orders.buy("AAPL", 1, low, exchange="NASD")
        pending = orders.pending(exchange="NASD")
        assert [(o.odno, o.remaining, o.exchange) for o in pending] == [(resting.odno, 1, "NASD")]
        moved = orders.modify(pending[0], price=low - Decimal("0.01"))
        assert [o.odno for o in orders.pending(exchange="NASD")] == [moved.odno]
        orders.cancel(moved)
        assert orders.pending(exchange="NASD") == []
    tr_ids = [o["tr_id"] for o in sb.stats()["orders"]]
    prefix = "V" if environment == "paper" else "T"
    assert tr_ids[0] == f"{prefix}TTT1002U" and filled.odno


@pytest.mark.parametrize("environment", ["real", "paper"])
def test_futures_day_session(
    sandbox_factory: SandboxFactory, config_for: ConfigFor, environment: str
) -> None:
    sb = _sandbox(sandbox_factory, environment)
    low, _ = _book(sb, "101W12")
    config = config_for(sb, account_no=f"{sb.account_no[:8]}-03", **FAST)
    with KISRestClient(config) as client:
        orders = _orders(sb, client)
        bought = orders.buy("101W12", 1, kind="future")  # session from the clock: day
        closed = orders.sell("101W12", 1, kind="future", session="day")
        assert (closed.side, closed.division) == ("sell", "02")  # at market
        rest = orders.buy("101W12", 2, low, kind="future")
        pending = orders.pending(kind="future")
        assert rest.odno in [o.odno for o in pending]
        mine = next(o for o in pending if o.odno == rest.odno)
        assert (mine.remaining, mine.session) == (2, "day")
        cancelled = mine.cancel()
        assert cancelled.original_odno == rest.odno
        assert rest.odno not in [o.odno for o in orders.pending(kind="future")]
    assert bought.session == "day"
    day_tr = "VTTO1101U" if environment == "paper" else "TTTO1101U"
    assert sb.stats()["orders"][0]["tr_id"] == day_tr


def test_matrix_refusals_send_nothing(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = _sandbox(sandbox_factory, "paper")
    with KISRestClient(config_for(sb, **FAST)) as client:
        orders = _orders(sb, client)
        with pytest.raises(KISOrderTypeError, match="KRX orders only"):
            orders.buy("252670", 1, venue="NXT")
        with pytest.raises(KISOrderTypeError, match="no overseas market order"):
            orders.buy("AAPL", 1, exchange="NASD")
        with pytest.raises(KISOrderTypeError, match="take division 00"):
            orders.buy("AAPL", 1, 100, exchange="NASD", division="32")
        with pytest.raises(KISOrderTypeError, match="takes no price"):
            orders.buy("252670", 1, 1000, division="01")
        with pytest.raises(KISUsageError, match="product 03"):
            orders.buy("101W12", 1, kind="future")
        twap = OrderState("1", "overseas", "AAPL", "buy", 1, Decimal(1), "35", exchange="NASD")
        with pytest.raises(KISOrderTypeError, match="TWAP/VWAP"):
            orders.modify(twap, price=2)
    futures = config_for(sb, account_no=f"{sb.account_no[:8]}-03", **FAST)
    with KISRestClient(futures) as client, pytest.raises(KISPaperTradingUnsupportedError):
        _orders(sb, client).buy("101W12", 1, kind="future", session="night")
    stats = sb.stats()
    assert stats["orders"] == []
    assert stats["tokens_issued"] == 0  # refused before even a token was asked for


def test_reconcile_finds_a_dropped_reply(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = _sandbox(sandbox_factory, "real")
    with KISRestClient(config_for(sb, **FAST)) as client:
        orders = _orders(sb, client)
        first = orders.buy("252670", 1)  # an identical order whose reply came
        sb.set_faults(ORDER_CASH, drop_after_rate=1.0, seed=1)
        with pytest.raises(KISAmbiguousOrderError) as caught:
            orders.buy("252670", 1)
        found = orders.reconcile(caught.value)
        # A plain error from make_request is reconciled from its body and TR_ID.
        body = {"CANO": client.config.cano, "ACNT_PRDT_CD": "01", "PDNO": "252670",
                "ORD_DVSN": "01", "ORD_QTY": "2", "ORD_UNPR": "0"}  # fmt: skip
        with pytest.raises(KISAmbiguousOutcomeError) as plain:
            client.make_request("POST", api_id="order-cash", variant="sell", params=body)
        sold = orders.reconcile(plain.value)
    numbers = [o["odno"] for o in sb.stats()["orders"]]
    assert found is not None and sold is not None
    assert found.odno == numbers[1] != first.odno  # not the known identical one
    assert (sold.odno, sold.side, sold.quantity) == (numbers[2], "sell", 2)
    assert orders.known >= {first.odno, found.odno, sold.odno}


def test_reconcile_of_an_order_kis_never_received(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = _sandbox(sandbox_factory, "real")
    sb.set_faults(ORDER_CASH, drop_before_rate=1.0, seed=1)
    with KISRestClient(config_for(sb, **FAST)) as client:
        orders = _orders(sb, client)
        with pytest.raises(KISAmbiguousOrderError) as caught:
            orders.buy("252670", 1)
        assert orders.reconcile(caught.value) is None
        with pytest.raises(KISOrderNotPlacedError):
            _orders(sb, client, reconcile=True).buy("252670", 1)
    assert sb.stats()["orders"] == []


def test_reconciliation_figure(sandbox_factory: SandboxFactory, config_for: ConfigFor) -> None:
    from benchmarks.reconcile import run_figure

    sb = _sandbox(sandbox_factory, "real")
    figure = run_figure(sb, config_for(sb, **FAST), orders=300, drop=0.3, seed=17)
    assert figure["ambiguous"] > 50  # about 30% of 300 replies were dropped
    assert (figure["duplicates"], figure["lost"], figure["unresolved"]) == (0, 0, 0)
    assert figure["balances_match"] and figure["holding_kis"] > 0


@pytest.mark.anyio
async def test_async_twin(sandbox_factory: SandboxFactory, config_for: ConfigFor) -> None:
    sb = _sandbox(sandbox_factory, "real")
    low, _ = _book(sb, "252670")
    async with AsyncKISRestClient(config_for(sb, **FAST)) as client:
        orders = AsyncOrders(client, clock=sb.market_time, reconcile=True, reconcile_delays=(0.05,))
        sb.set_faults(ORDER_CASH, drop_after_rate=1.0, seed=1)
        resting = await orders.buy("252670", 2, low)  # reply dropped, reconciled
        sb.clear_faults()
        assert [o.odno for o in await orders.pending()] == [resting.odno]
        cancelled = await resting.cancel()
        assert cancelled.original_odno == resting.odno
        assert await orders.pending() == []


def test_reconcile_never_says_not_placed_when_the_clocks_disagree(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    # A sandbox served at its default market time (10:00 KST of the trading day) and helpers on
    # the wall clock: hours apart. The dropped order is at KIS, so "None" (safe to resend)
    # would buy twice: reconciliation finds it, or says it cannot decide and names it.
    sb = sandbox_factory("real", seed=7)
    sb.set_faults(ORDER_CASH, drop_after_rate=1.0, seed=1)
    with KISRestClient(config_for(sb, **FAST)) as client:
        orders = Orders(client, reconcile_delays=(0.05,))
        with pytest.raises(KISAmbiguousOrderError) as caught:
            orders.buy("252670", 1)
        placed = sb.stats()["orders"][0]["odno"]
        try:
            found = orders.reconcile(caught.value)
        except KISOrderUndecidedError as undecided:
            assert [s.odno for s in undecided.suspects] == [placed]
            assert placed in str(undecided)
        else:
            assert found is not None and found.odno == placed
