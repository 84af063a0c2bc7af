"""Typed answers against the sandbox over HTTP: each model from real replies, each call.

The sandbox's market stands still (a ManualClock) at a KRX trading day's 10:00, so a quote read
through the client and the sandbox's own snapshot are of the same moment.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.answers import (
    AccountView,
    Answers,
    AsyncAnswers,
    Balance,
    Bar,
    Quote,
)
from stock_manager.adapters.broker.kis.answers._values import KST
from stock_manager.adapters.broker.kis.bodies import cash_order_body
from stock_manager.adapters.broker.kis.errors import KISUsageError
from stock_manager.sandbox import KISSandbox, ManualClock

ConfigFor = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]

MARKET_TIME = "2026-03-10T10:00:00+09:00"
TRADING_DAY = date(2026, 3, 10)


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Callable[..., KISSandbox]:
    def make(environment: str = "paper", **kwargs: Any) -> KISSandbox:
        return sandbox_factory(
            environment, clock=ManualClock(), market_time=MARKET_TIME, seed=3, **kwargs
        )

    return make


def _last(sb: KISSandbox, code: str, market: str | None = None) -> Decimal:
    instrument = sb.market.lookup(code, market)
    assert instrument is not None
    return sb.market.snapshot(instrument).last


def _buy(client: KISRestClient, config: KISConfig, code: str, quantity: int) -> None:
    body = cash_order_body(config, code, quantity)
    reply = client.make_request("POST", api_id="order-cash", variant="buy", params=body)
    assert reply["rt_cd"] == "0"


def test_domestic_quote_is_the_market_price(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    with KISRestClient(config_for(sb)) as client:
        quote = Answers(client, clock=sb.market_time).quote("005930")
    assert isinstance(quote, Quote)
    assert quote.price == _last(sb, "005930")
    assert isinstance(quote.price, Decimal)
    assert quote.symbol == "005930"
    assert quote.currency == "KRW"
    assert quote.market == "J"
    assert quote.low is not None and quote.high is not None
    assert quote.low <= quote.price <= quote.high
    assert quote.previous_close is not None and quote.change is not None
    assert quote.price - quote.previous_close == quote.change
    assert isinstance(quote.volume, int)
    assert quote.as_of.utcoffset() == timedelta(hours=9)
    assert quote.raw["stck_prpr"] == str(quote.price)  # the record as KIS sent it


def test_a_code_kis_does_not_list_is_an_error_not_a_price_of_zero(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    with KISRestClient(config_for(sb)) as client, pytest.raises(KISUsageError) as caught:
        client.quote("999999")
    assert "999999" in str(caught.value) and "not a listed code" in str(caught.value)


def test_overseas_quote_by_either_exchange_code(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    with KISRestClient(config_for(sb)) as client:
        answers = Answers(client, clock=sb.market_time)
        by_quote_code = answers.quote("AAPL", market="NAS")
        by_order_code = answers.quote("aapl", market="NASD")
    assert by_quote_code.price == by_order_code.price == _last(sb, "AAPL", "NASD")
    assert by_quote_code.currency == "USD"
    assert by_quote_code.symbol == "AAPL"
    assert by_quote_code.open is None  # overseas-price states no open


def test_an_overseas_ticker_without_its_exchange_is_refused_unsent(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    with KISRestClient(config_for(sb)) as client:
        answers = Answers(client, clock=sb.market_time)
        with pytest.raises(KISUsageError, match="needs its exchange"):
            answers.quote("AAPL")
        with pytest.raises(KISUsageError, match="unknown market"):
            answers.quote("AAPL", market="MARS")
        with pytest.raises(KISUsageError, match="interval"):
            answers.chart("005930", interval="5y")
    assert sb.stats()["tokens_issued"] == 0  # nothing reached the server


def test_order_book_is_the_market_book(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    with KISRestClient(config_for(sb)) as client:
        book = Answers(client, clock=sb.market_time).order_book("005930")
    instrument = sb.market.lookup("005930")
    assert instrument is not None
    snap = sb.market.snapshot(instrument)
    assert [(level.price, level.quantity) for level in book.asks] == list(snap.asks)
    assert [(level.price, level.quantity) for level in book.bids] == list(snap.bids)
    assert book.best_ask is not None and book.best_bid is not None
    assert book.spread is not None and book.spread > 0
    assert book.total_ask_quantity == sum(q for _p, q in snap.asks)


@pytest.mark.parametrize("environment", ["paper", "real"])
def test_balance_after_a_market_buy_reads_every_page(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor, environment: str
) -> None:
    sb = sandbox(environment, page_size=2)  # three holdings: two pages
    config = config_for(sb)
    with KISRestClient(config) as client:
        answers = Answers(client, clock=sb.market_time)
        before = answers.balance()
        bought = {"005930": 3, "035720": 2, "252670": 5}
        for code, quantity in bought.items():
            _buy(client, config, code, quantity)
        after = answers.balance()
    assert isinstance(after, Balance)
    assert before.holdings == []
    assert {h.symbol: h.quantity for h in after.holdings} == bought
    samsung = after.holding("005930")
    assert samsung is not None
    assert samsung.name == "삼성전자"
    assert samsung.price == _last(sb, "005930")
    assert samsung.value == samsung.price * 3
    assert samsung.average_price is not None and samsung.average_price > 0
    assert isinstance(samsung.quantity, int)
    cost = sum((h.purchase_amount or Decimal(0) for h in after.holdings), Decimal(0))
    assert before.cash is not None and after.cash is not None
    assert after.cash == before.cash - cost  # market fills at once, no fees in the sandbox
    assert after.stock_value == sum((h.value or Decimal(0) for h in after.holdings), Decimal(0))


def test_daily_chart_oldest_first_ends_at_todays_price(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    with KISRestClient(config_for(sb)) as client:
        bars = Answers(client, clock=sb.market_time).chart("005930", interval="1d", count=5)
    assert len(bars) == 5  # more than one call's worth of the sandbox's rows: the cursor moved
    assert all(isinstance(bar, Bar) for bar in bars)
    times = [bar.time for bar in bars]
    assert times == sorted(times) and len(set(times)) == 5
    assert bars[-1].day == TRADING_DAY
    assert bars[-1].close == _last(sb, "005930")
    assert all(bar.low <= min(bar.open, bar.close) for bar in bars)
    assert all(bar.time.utcoffset() == timedelta(hours=9) for bar in bars)


def test_daily_chart_by_date_range(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    start, end = date(2026, 3, 2), date(2026, 3, 6)
    with KISRestClient(config_for(sb)) as client:
        bars = Answers(client, clock=sb.market_time).chart("005930", start=start, end=end)
    # 2026-03-02 is the substitute holiday of 삼일절 (a Sunday): no bar.
    assert [bar.day for bar in bars] == [date(2026, 3, d) for d in (3, 4, 5, 6)]


def test_minute_chart_and_overseas_charts(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox("real")  # overseas minute bars are offered on the real domain only
    with KISRestClient(config_for(sb)) as client:
        answers = Answers(client, clock=sb.market_time)
        minutes = answers.chart("005930", interval="1m", count=3)
        us_days = answers.chart("AAPL", market="NAS", count=4)
        us_minutes = answers.chart("AAPL", market="NAS", interval="1m", count=3)
    assert [b.time for b in minutes] == sorted(b.time for b in minutes)
    assert minutes[-1].time <= sb.market_time()
    assert minutes[-1].close == _last(sb, "005930")
    assert [b.time.minute for b in minutes] == [
        (minutes[-1].time - timedelta(minutes=2 - i)).minute for i in range(3)
    ]
    assert len(us_days) == 4 and [b.day for b in us_days] == sorted(b.day for b in us_days)
    assert all(b.symbol == "AAPL" for b in us_days)
    assert len(us_minutes) == 3
    assert us_minutes[-1].close == _last(sb, "AAPL", "NASD")


def test_daily_orders_orderable_and_overview(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    config = config_for(sb)
    with KISRestClient(config) as client:
        answers = Answers(client, clock=sb.market_time)
        _buy(client, config, "005930", 2)
        orders = answers.daily_orders(start=TRADING_DAY)
        orderable = answers.orderable("005930", price=int(_last(sb, "005930")))
        view = answers.overview()
        balance = answers.balance()
    [record] = orders
    assert (record.side, record.symbol, record.quantity) == ("buy", "005930", 2)
    assert record.filled_quantity == 2 and record.remaining_quantity == 0
    assert record.order_no and record.time is not None
    assert record.time.date() == TRADING_DAY
    assert orderable.cash == balance.cash
    assert orderable.quantity == int((orderable.cash or 0) // _last(sb, "005930"))
    assert isinstance(view, AccountView)
    assert view.cash[0].currency == "KRW"
    usd = view.cash_in("USD")
    assert usd is not None and usd.exchange_rate is not None and usd.krw is not None
    assert view.cash_krw == sum((c.krw or Decimal(0) for c in view.cash), Decimal(0))
    assert view.total_krw == (view.cash_krw or 0) + (view.stock_value_krw or 0)
    assert [h.symbol for h in view.holdings] == ["005930"]


def test_overseas_balance_after_a_buy(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox("real")
    sb.set_market_time("2026-03-11T00:30:00+09:00")  # the US regular session
    config = config_for(sb)
    with KISRestClient(config) as client:
        answers = Answers(client, clock=sb.market_time)
        price = answers.quote("AAPL", market="NASD").price
        body = {
            "OVRS_EXCG_CD": "NASD",
            "PDNO": "AAPL",
            "ORD_QTY": "4",
            "OVRS_ORD_UNPR": f"{price * Decimal('1.01'):.2f}",
            "ORD_SVR_DVSN_CD": "0",
            "ORD_DVSN": "00",
        }
        reply = client.make_request("POST", api_id="overseas-order", variant="buy", params=body)
        assert reply["rt_cd"] == "0"
        balance = answers.overseas_balance("NASD")
        view = answers.overview()
    holding = balance.holding("AAPL")
    assert holding is not None and holding.quantity == 4
    assert holding.currency == "USD" and holding.exchange == "NASD"
    assert balance.cash is None  # overseas-inquire-balance states none: overview() has it
    [foreign] = [h for h in view.holdings if h.symbol == "AAPL"]
    assert foreign.exchange_rate is not None and foreign.value_krw is not None
    assert foreign.value_krw == (foreign.value or 0) * foreign.exchange_rate


@pytest.mark.anyio
async def test_async_twins_agree_with_the_sync_calls(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox()
    config = config_for(sb)
    with KISRestClient(config) as client:
        _buy(client, config, "005930", 1)
        sync = Answers(client, clock=sb.market_time)
        expected = (sync.quote("005930"), sync.balance(), sync.chart("005930", count=4))
    async with AsyncKISRestClient(config) as aclient:
        answers = AsyncAnswers(aclient, clock=sb.market_time)
        quote = await answers.quote("005930")
        balance = await answers.balance()
        bars = await answers.chart("005930", count=4)
        overseas = await answers.quote("AAPL", market="NAS")
    assert quote.price == expected[0].price
    assert balance.holdings == expected[1].holdings and balance.cash == expected[1].cash
    assert list(bars) == list(expected[2])
    assert overseas.price == _last(sb, "AAPL", "NASD")


def test_to_pandas_on_charts_and_lists(
    sandbox: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    pandas = pytest.importorskip("pandas")
    sb = sandbox()
    config = config_for(sb)
    with KISRestClient(config) as client:
        _buy(client, config, "005930", 2)
        answers = Answers(client, clock=sb.market_time)
        bars = answers.chart("005930", count=5)
        holdings = answers.balance().holdings
    frame = bars.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert frame.index.name == "time" and list(frame.index) == [b.time for b in bars]
    assert list(frame["close"]) == [b.close for b in bars]
    assert "raw" not in frame.columns
    table = holdings.to_pandas()
    assert list(table["symbol"]) == ["005930"] and list(table["quantity"]) == [2]


def test_to_pandas_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from stock_manager.adapters.broker.kis.answers import AnswerList

    monkeypatch.setitem(sys.modules, "pandas", None)  # what an absent package looks like
    with pytest.raises(KISUsageError, match=r"stock-manager\[pandas\]"):
        AnswerList().to_pandas()


def test_clock_defaults_to_kst_now() -> None:
    from stock_manager.adapters.broker.kis.answers.calls import _now

    now = _now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(hours=9)
    assert abs(now - datetime.now(KST)) < timedelta(seconds=5)
