"""The exchange and the books without HTTP: a Market on a ManualClock, orders placed directly.

Every expected number is read from the same seeded market the exchange trades against (its
book at the order's moment, its walk afterwards), so the tests hold for the seed whatever the
walk's shape, and fail if the exchange fills at the wrong price, time or quantity.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sandbox_helpers import NEXT_TRADING_DAY, SEED, at

from stock_manager.sandbox import ManualClock
from stock_manager.sandbox.codes import BusinessError
from stock_manager.sandbox.ledger import STARTING_CASH, Ledger
from stock_manager.sandbox.market import Market
from stock_manager.sandbox.orders import PARTICIPATION, Exchange, Order, Reservation, Ticket
from stock_manager.sandbox.sessions import MarketClock
from stock_manager.sandbox.stock_orders import DIVISIONS
from stock_manager.sandbox.universe import Instrument, lookup

CANO = "12345678"
KRW = STARTING_CASH["KRW"]


def _exchange(when: str = "10:00", day: str | None = None) -> Exchange:
    clock = MarketClock(ManualClock(), at(when, day) if day else at(when))
    numbers = itertools.count(1)
    return Exchange(Market(SEED, clock), lambda: f"{next(numbers):010d}")


def _stock(code: str = "005930") -> Instrument:
    found = lookup(code)
    assert found is not None
    return found


def _ticket(
    side: str, quantity: int, price: Decimal | None, code: str = "005930", dvsn: str = "00"
) -> Ticket:
    return Ticket(CANO, "01", _stock(code), side, quantity, price, DIVISIONS[dvsn], "stock")  # type: ignore[arg-type]


def _status(record: Order | Reservation) -> str:
    # Read through a call: mypy would keep the narrowed literal across a state change.
    return record.status


def _move(exchange: Exchange, moment: datetime | str) -> None:
    exchange.market.clock.set(moment)
    exchange.catch_up(exchange.market.now())


def _first_cross(
    exchange: Exchange, order: Order, minutes: int = 60
) -> tuple[datetime, Decimal, int]:
    start = exchange.market.now()
    for step in exchange.market.path(order.instrument, start, start + timedelta(minutes=minutes)):
        if step[1] <= (order.price or Decimal(0)):
            return step
    raise AssertionError("the walk never crosses the limit")


def _resting_limit(exchange: Exchange, code: str = "005930", minutes: int = 30) -> Decimal:
    """The lowest price of the next ``minutes``: a buy there rests now and fills later."""
    instrument = _stock(code)
    now = exchange.market.now()
    low = min(
        p for _, p, _ in exchange.market.path(instrument, now, now + timedelta(minutes=minutes))
    )
    assert low < exchange.market.snapshot(instrument).asks[0][0]
    return low


def test_a_marketable_limit_buy_takes_the_book_at_its_prices() -> None:
    exchange = _exchange()
    snapshot = exchange.market.snapshot(_stock())
    (ask0, size0), (ask1, _), (limit, _) = snapshot.asks[:3]
    order = exchange.place(_ticket("buy", size0 + 1, limit))
    assert [(e.quantity, e.price) for e in order.executions] == [(size0, ask0), (1, ask1)]
    assert order.status == "filled" and order.held == 0
    ledger = exchange.ledger(CANO)
    paid = size0 * ask0 + ask1
    assert ledger.cash["KRW"] == KRW - paid  # the book's prices, not the limit
    assert ledger.held_cash["KRW"] == 0
    position = ledger.position(_stock())
    assert (position.quantity, position.cost) == (size0 + 1, paid)
    assert [e.kind for e in exchange.events] == ["accepted", "filled", "filled"]


def test_a_resting_buy_fills_when_the_walk_crosses_it() -> None:
    exchange = _exchange()
    limit = _resting_limit(exchange)
    order = exchange.place(_ticket("buy", 1, limit))
    assert order.remaining == 1 and not order.executions
    ledger = exchange.ledger(CANO)
    assert ledger.orderable_cash("KRW") == KRW - limit
    moment, price, _ = _first_cross(exchange, order)
    _move(exchange, moment - timedelta(seconds=1))
    assert order.remaining == 1
    _move(exchange, moment)
    assert order.status == "filled"
    assert order.executions[0].moment == moment and order.executions[0].price == price
    assert ledger.cash["KRW"] == KRW - price and ledger.held_cash["KRW"] == 0


def test_a_large_resting_order_fills_in_parts_and_polling_changes_nothing() -> None:
    polled, once = _exchange(), _exchange()
    limit = _resting_limit(polled)
    orders = [ex.place(_ticket("buy", 800, limit)) for ex in (polled, once)]
    moment, _, volume = _first_cross(polled, orders[0])
    first = max(1, int(volume * PARTICIPATION))
    _move(polled, moment)
    assert orders[0].filled == min(first, 800)
    assert 0 < orders[0].filled < 800
    end = polled.market.now() + timedelta(minutes=40)
    while polled.market.now() < end:
        _move(polled, polled.market.now() + timedelta(seconds=37))
    _move(polled, end)
    _move(once, end)
    assert [(e.moment, e.quantity, e.price) for e in orders[0].executions] == [
        (e.moment, e.quantity, e.price) for e in orders[1].executions
    ]
    assert polled.ledger(CANO).cash == once.ledger(CANO).cash


def test_a_day_order_expires_after_the_close_and_gives_its_cash_back() -> None:
    exchange = _exchange()
    instrument = _stock()
    day_low = exchange.market.snapshot(instrument, datetime.fromisoformat(at("15:35"))).low
    limit = day_low - 1000
    order = exchange.place(_ticket("buy", 10, limit))
    ledger = exchange.ledger(CANO)
    assert ledger.held_cash["KRW"] == 10 * limit
    _move(exchange, at("15:35"))
    assert _status(order) == "open"
    _move(exchange, at("08:00", NEXT_TRADING_DAY))
    assert _status(order) == "expired" and order.remaining == 0 and order.cancelled == 10
    assert ledger.held_cash["KRW"] == 0 and ledger.cash["KRW"] == KRW
    assert exchange.events[-1].kind == "expired" and exchange.events[-1].quantity == 10


def test_cancel_and_modify_move_the_hold_with_the_remainder() -> None:
    exchange = _exchange()
    limit = _resting_limit(exchange) - 500
    order = exchange.place(_ticket("buy", 10, limit))
    ledger = exchange.ledger(CANO)
    cancel = exchange.cancel(CANO, order, 4)
    assert (cancel.action, cancel.original_odno, cancel.quantity) == ("cancel", order.odno, 4)
    assert order.remaining == 6 and ledger.held_cash["KRW"] == 6 * limit
    lower = limit - 100
    modified = exchange.modify(CANO, order, None, lower)
    assert order.status == "cancelled" and order.remaining == 0
    assert (modified.original_odno, modified.remaining, modified.price) == (order.odno, 6, lower)
    assert ledger.held_cash["KRW"] == 6 * lower == modified.held
    with pytest.raises(BusinessError) as refused:
        exchange.cancel(CANO, order, None)
    assert refused.value.msg_cd == "APBK0344"
    with pytest.raises(BusinessError) as over:
        exchange.cancel(CANO, modified, 7)
    assert over.value.msg_cd == "APBK0345"


def test_a_refused_modify_leaves_the_order_and_the_books_as_they_were() -> None:
    exchange = _exchange()
    snapshot = exchange.market.snapshot(_stock())
    limit = _resting_limit(exchange)
    quantity = int(KRW // limit) - 1  # nearly all the cash
    order = exchange.place(_ticket("buy", quantity, limit))
    ledger = exchange.ledger(CANO)
    before = (order.remaining, order.held, order.status, ledger.orderable_cash("KRW"))
    assert snapshot.upper is not None
    with pytest.raises(BusinessError) as refused:
        exchange.modify(CANO, order, None, snapshot.upper)  # needs more cash than there is
    assert refused.value.msg_cd == "APBK0952"
    assert (order.remaining, order.held, order.status, ledger.orderable_cash("KRW")) == before
    # ...and the order still completes with its books right.
    exchange.cancel(CANO, order, None)
    assert ledger.held_cash["KRW"] == 0


def test_ioc_keeps_what_filled_and_fok_fills_all_or_nothing() -> None:
    exchange = _exchange()
    (ask0, size0), *_ = exchange.market.snapshot(_stock()).asks
    ioc = exchange.place(_ticket("buy", size0 + 5, ask0, dvsn="11"))
    assert (ioc.status, ioc.filled, ioc.cancelled) == ("expired", size0, 5)
    # The book at the same moment is the same book: a FOK for more than it holds gets nothing.
    fok = exchange.place(_ticket("buy", size0 + 5, ask0, dvsn="12"))
    assert (fok.status, fok.filled, fok.cancelled) == ("expired", 0, size0 + 5)
    assert exchange.ledger(CANO).held_cash["KRW"] == 0


def test_a_market_order_fills_in_full_at_the_last_price() -> None:
    exchange = _exchange()
    snapshot = exchange.market.snapshot(_stock())
    order = exchange.place(_ticket("buy", 300, None, dvsn="01"))
    assert [(e.quantity, e.price) for e in order.executions] == [(300, snapshot.last)]
    ledger = exchange.ledger(CANO)
    assert ledger.cash["KRW"] == KRW - 300 * snapshot.last and ledger.held_cash["KRW"] == 0


def test_after_hours_divisions_trade_at_their_fixed_price_in_their_session_only() -> None:
    exchange = _exchange("08:35")
    instrument = _stock()
    previous = exchange.market.snapshot(instrument).previous_close
    pre = exchange.place(_ticket("buy", 2, None, dvsn="05"))
    assert [(e.quantity, e.price) for e in pre.executions] == [(2, previous)]
    with pytest.raises(BusinessError) as early:
        exchange.place(_ticket("buy", 1, None, dvsn="06"))
    assert early.value.msg_cd == "APBK0919"
    _move(exchange, at("15:45"))
    close = exchange.market.snapshot(instrument).last
    post = exchange.place(_ticket("sell", 2, None, dvsn="06"))
    assert [(e.quantity, e.price) for e in post.executions] == [(2, close)]
    assert exchange.ledger(CANO).cash["KRW"] == KRW - 2 * previous + 2 * close


def test_a_resting_order_takes_part_in_the_closing_print() -> None:
    # The 15:30 print is the closing auction's price: a buy at the close resting from the last
    # regular step fills there (a close at or below the last print is below the best ask).
    late = datetime.fromisoformat(at("15:19:55"))
    exchange = _exchange("15:19:55")
    for instrument in (_stock(c) for c in ("005930", "035720", "293490", "000660", "005380")):
        snapshot = exchange.market.snapshot(instrument, late)
        close = exchange.market.walk.close(instrument, snapshot.trading_day)
        if close <= snapshot.last:
            break
    else:
        pytest.fail("no candidate closes at or below its last regular price")
    order = exchange.place(_ticket("buy", 1, close, code=instrument.code))
    assert order.remaining == 1
    _move(exchange, at("15:31"))
    assert [(e.quantity, e.price) for e in order.executions] == [(1, close)]


def test_refusals_change_nothing() -> None:
    exchange = _exchange()
    snapshot = exchange.market.snapshot(_stock())
    assert snapshot.upper is not None and snapshot.lower is not None
    cases = [
        (_ticket("buy", 1, snapshot.upper + snapshot.tick), "APBK0509"),
        (_ticket("buy", 1, snapshot.lower - snapshot.tick), "APBK0510"),
        (_ticket("buy", 1, snapshot.last + 1), "APBK0506"),
        (_ticket("buy", 10_000, snapshot.last), "APBK0952"),
        (_ticket("sell", 1, snapshot.last), "APBK0400"),
        (_ticket("buy", 1, None, dvsn="07"), "APBK0919"),
    ]
    for ticket, code in cases:
        with pytest.raises(BusinessError) as refused:
            exchange.place(ticket)
        assert refused.value.msg_cd == code
    assert exchange.orders == {} and exchange.events == []
    assert exchange.ledger(CANO).held_cash.get("KRW", Decimal(0)) == 0
    _move(exchange, at("20:00"))
    with pytest.raises(BusinessError) as closed:
        exchange.place(_ticket("buy", 1, snapshot.last))
    assert closed.value.msg_cd == "APBK0918"


def test_a_sell_holds_its_shares_and_the_position_books_average_cost() -> None:
    exchange = _exchange()
    instrument = _stock()
    ledger = exchange.ledger(CANO)
    first = exchange.place(_ticket("buy", 10, None, dvsn="01")).executions[0].price
    _move(exchange, at("11:00"))
    second = exchange.place(_ticket("buy", 10, None, dvsn="01")).executions[0].price
    position = ledger.position(instrument)
    assert position.average_price == (first + second) / 2
    upper = exchange.market.snapshot(instrument).upper
    assert upper is not None
    resting = exchange.place(_ticket("sell", 15, upper))
    assert resting.remaining == 15 and position.sellable == 5
    with pytest.raises(BusinessError) as refused:
        exchange.place(_ticket("sell", 6, upper))
    assert refused.value.msg_cd == "APBK0400"
    exchange.cancel(CANO, resting, None)
    assert position.sellable == 20


def test_ledger_holds_refuse_what_is_not_there() -> None:
    ledger = Ledger(CANO)
    instrument = _stock()
    ledger.hold_cash("KRW", KRW)
    with pytest.raises(BusinessError):
        ledger.hold_cash("KRW", Decimal(1))
    ledger.release_cash("KRW", KRW + 5)  # never below zero
    assert ledger.orderable_cash("KRW") == KRW
    ledger.settle(instrument, "buy", 3, Decimal(100))
    ledger.settle(instrument, "sell", 1, Decimal(130))
    position = ledger.position(instrument)
    assert (position.quantity, position.cost, position.average_price) == (
        2,
        Decimal(200),
        Decimal(100),
    )
    assert ledger.cash["KRW"] == KRW - 300 + 130
    with pytest.raises(BusinessError):
        ledger.hold_quantity(instrument, 3)


def test_a_reservation_is_taken_after_hours_and_placed_at_the_next_open() -> None:
    exchange = _exchange()
    with pytest.raises(BusinessError) as daytime:
        exchange.reserve(_ticket("buy", 1, None, dvsn="01"))
    assert daytime.value.msg_cd == "KIER3672"
    _move(exchange, at("17:00"))
    reservation = exchange.reserve(_ticket("buy", 1, None, dvsn="01"))
    assert reservation.submit_day.isoformat() == NEXT_TRADING_DAY
    _move(exchange, at("08:00", NEXT_TRADING_DAY))
    assert _status(reservation) == "waiting" and not exchange.orders
    _move(exchange, at("09:00", NEXT_TRADING_DAY))
    assert _status(reservation) == "submitted"
    order = exchange.orders[reservation.odno]
    assert order.trading_day.isoformat() == NEXT_TRADING_DAY and order.status == "filled"
