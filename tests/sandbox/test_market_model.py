"""The sandbox's market model as pure functions: universe, ticks, bands, sessions, the walk."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from stock_manager.sandbox import ManualClock, sessions, walk
from stock_manager.sandbox.market import Market
from stock_manager.sandbox.sessions import KST, MarketClock
from stock_manager.sandbox.universe import MARKETS, UNIVERSE, Instrument, domestic, lookup

TUESDAY = date(2026, 12, 1)


def _instrument(code: str) -> Instrument:
    instrument = lookup(code)
    assert instrument is not None, code
    return instrument


SAMSUNG = _instrument("005930")
KODEX = _instrument("069500")
FUTURE = _instrument("101W12")
MINI = _instrument("105W12")
CALL = _instrument("201W12560")
AAPL = _instrument("AAPL")
TENCENT = _instrument("00700")
VNM = _instrument("VNM")
MOUTAI = _instrument("600519")
KTB = _instrument("KR103502GE97")


def _at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=KST)


def _market(seed: int | None = 0, at: datetime | None = None) -> Market:
    return Market(seed, MarketClock(ManualClock(), at or _at(TUESDAY, 10)))


# --- universe --------------------------------------------------------------------------------


def test_universe_is_listed_by_code_and_market() -> None:
    assert {instrument.market for instrument in UNIVERSE} == set(MARKETS)
    assert len({(i.market, i.code) for i in UNIVERSE}) == len(UNIVERSE)
    assert sum(i.market == "KOSPI" and i.kind == "stock" for i in UNIVERSE) >= 12
    assert sum(i.market == "KOSDAQ" for i in UNIVERSE) >= 6
    assert SAMSUNG.name == "삼성전자" and SAMSUNG.currency == "KRW"
    assert lookup("aapl") is AAPL
    assert lookup("AAPL", "NYSE") is None
    assert lookup("999999") is None
    assert domestic("005930") is SAMSUNG
    assert domestic("AAPL") is None and domestic("101W12") is None
    for instrument in UNIVERSE:
        assert walk.on_tick(instrument, instrument.base_price), instrument.code


# --- ticks and bands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "price", "tick"),
    [
        (SAMSUNG, "1999", "1"),
        (SAMSUNG, "2000", "5"),
        (SAMSUNG, "49950", "50"),
        (SAMSUNG, "199900", "100"),
        (SAMSUNG, "500000", "1000"),
        (KODEX, "57000", "5"),
        (FUTURE, "565.00", "0.05"),
        (MINI, "565.00", "0.02"),
        (CALL, "9.99", "0.01"),
        (CALL, "10.00", "0.05"),
        (AAPL, "0.5", "0.0001"),
        (AAPL, "270", "0.01"),
        (TENCENT, "600", "0.5"),
        (TENCENT, "15", "0.02"),
        (VNM, "61000", "100"),
        (KTB, "9985", "1"),
    ],
)
def test_tick_sizes(instrument: Instrument, price: str, tick: str) -> None:
    assert walk.tick_size(instrument, Decimal(price)) == Decimal(tick)


def test_ticks_cross_tiers() -> None:
    assert walk.tick_below(SAMSUNG, Decimal(2000)) == Decimal(1999)
    assert walk.tick_above(SAMSUNG, Decimal(1999)) == Decimal(2000)
    assert walk.on_tick(SAMSUNG, Decimal(2005)) and not walk.on_tick(SAMSUNG, Decimal(2001))
    assert walk.round_to_tick(SAMSUNG, Decimal("1999.7")) == Decimal(2000)
    assert walk.round_to_tick(SAMSUNG, Decimal("0.2")) == Decimal(1)  # never below one tick


def test_bands() -> None:
    # 98,500 * 1.3 = 128,050 -> down to the 100 tick; * 0.7 = 68,950 -> up to it.
    assert walk.band(SAMSUNG, Decimal(98_500)) == (Decimal(69_000), Decimal(128_000))
    assert walk.band(FUTURE, Decimal("565.00")) == (Decimal("519.80"), Decimal("610.20"))
    assert walk.band(MOUTAI, Decimal("1450.00")) == (Decimal("1305.00"), Decimal("1595.00"))
    assert walk.band(VNM, Decimal(61_000)) == (Decimal(56_800), Decimal(65_200))
    assert walk.band(AAPL, Decimal(270)) is None
    assert walk.band(CALL, Decimal("14.20")) is None


# --- the walk --------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", [SAMSUNG, KODEX, FUTURE, AAPL, TENCENT, VNM, KTB])
def test_every_step_is_on_tick_inside_the_band_and_ends_at_the_close(
    instrument: Instrument,
) -> None:
    prices = walk.PriceWalk(5)
    day = TUESDAY
    previous = prices.previous_close(instrument, day)
    steps = prices.steps(instrument, day)
    assert len(steps) > 100
    limits = walk.band(instrument, previous)
    for moment, price, volume in steps:
        assert walk.on_tick(instrument, price), (moment, price)
        assert volume >= instrument.lot and volume % instrument.lot == 0
        if limits is not None:
            assert limits[0] <= price <= limits[1]
    moments = [step[0] for step in steps]
    assert moments == sorted(moments)
    assert all(sessions.session(instrument, moment) != "closed" for moment in moments[:-1])
    assert steps[-1][1] == prices.close(instrument, day)
    assert len({price for _, price, _ in steps}) > 5  # it moves


def test_daily_closes_chain_across_weekends_and_holidays_within_the_band() -> None:
    prices = walk.PriceWalk(11)
    for instrument in (SAMSUNG, FUTURE, VNM, MOUTAI, CALL):
        day = date(2025, 9, 1)
        market = instrument.market
        if not sessions.is_trading_day(day, market):
            day = sessions.next_trading_day(day, market)
        while day < date(2027, 2, 1):
            following = sessions.next_trading_day(day, market)
            close = prices.close(instrument, day)
            assert close == prices.previous_close(instrument, following)
            assert walk.on_tick(instrument, close)
            limits = walk.band(instrument, prices.previous_close(instrument, day))
            if limits is not None:
                assert limits[0] <= close <= limits[1], (instrument.code, day)
            day = following
    # A weekend and a holiday (성탄절 2026-12-25, a Friday) are skipped, not traded.
    friday, monday = date(2026, 11, 27), date(2026, 11, 30)
    assert prices.close(SAMSUNG, friday) == prices.previous_close(SAMSUNG, monday)
    assert prices.previous_close(SAMSUNG, date(2026, 11, 28)) == prices.close(SAMSUNG, friday)
    assert prices.steps(SAMSUNG, date(2026, 12, 25)) == ()
    assert prices.close(SAMSUNG, date(2026, 12, 24)) == prices.previous_close(
        SAMSUNG, date(2026, 12, 28)
    )
    # The anchor day's previous close is the universe's base price.
    assert prices.previous_close(SAMSUNG, date(2026, 1, 2)) == SAMSUNG.base_price


def test_seeds_decide_the_path() -> None:
    first = _market(7).snapshot(SAMSUNG)
    again = _market(7).snapshot(SAMSUNG)
    assert first == again
    one = [price for _, price, _ in walk.PriceWalk(7).steps(SAMSUNG, TUESDAY)]
    other = [price for _, price, _ in walk.PriceWalk(8).steps(SAMSUNG, TUESDAY)]
    assert one != other
    assert _market(None).snapshot(SAMSUNG) == _market(0).snapshot(SAMSUNG)


def test_prices_move_only_in_sessions() -> None:
    market = _market()
    close = market.walk.close(SAMSUNG, TUESDAY)
    after = [_at(TUESDAY, 15, 30), _at(TUESDAY, 15, 45), _at(TUESDAY, 17), _at(TUESDAY, 23)]
    assert {market.snapshot(SAMSUNG, moment).last for moment in after} == {close}
    before = market.snapshot(SAMSUNG, _at(TUESDAY, 8, 59, 59))
    assert before.last == before.previous_close == before.open
    assert before.volume == 0
    opened = market.snapshot(SAMSUNG, _at(TUESDAY, 9))
    assert opened.volume > 0
    # The next morning shows the same close as its previous close, with no volume yet.
    morning = market.snapshot(SAMSUNG, _at(TUESDAY + timedelta(days=1), 8))
    assert morning.previous_close == morning.last == close
    assert morning.volume == 0
    # Inside the session, one minute apart, the price is not stuck.
    minutes = {market.snapshot(SAMSUNG, _at(TUESDAY, 10, m)).last for m in range(0, 60, 5)}
    assert len(minutes) > 2


# --- sessions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (_at(TUESDAY, 8, 29, 59), "closed"),
        (_at(TUESDAY, 8, 30), "pre_after_hours"),
        (_at(TUESDAY, 8, 40), "opening_auction"),
        (_at(TUESDAY, 8, 59, 59), "opening_auction"),
        (_at(TUESDAY, 9), "regular"),
        (_at(TUESDAY, 15, 19, 59), "regular"),
        (_at(TUESDAY, 15, 20), "closing_auction"),
        (_at(TUESDAY, 15, 30), "closed"),
        (_at(TUESDAY, 15, 40), "post_after_hours"),
        (_at(TUESDAY, 16), "after_single_price"),
        (_at(TUESDAY, 18), "closed"),
        (_at(date(2026, 12, 5), 10), "closed"),  # Saturday
        (_at(date(2026, 12, 25), 10), "closed"),  # 성탄절
        (datetime(2026, 12, 1, 9, 0), "regular"),  # naive means KST
    ],
)
def test_domestic_sessions(moment: datetime, expected: str) -> None:
    assert sessions.session(SAMSUNG, moment) == expected


def test_us_sessions_follow_daylight_saving() -> None:
    summer, winter = date(2026, 7, 1), date(2026, 12, 1)
    assert sessions.session(AAPL, _at(summer, 22, 29, 59)) == "pre"
    assert sessions.session(AAPL, _at(summer, 22, 30)) == "regular"
    assert sessions.session(AAPL, _at(winter, 22, 30)) == "pre"
    assert sessions.session(AAPL, _at(winter, 23, 30)) == "regular"
    assert sessions.session(AAPL, _at(winter + timedelta(days=1), 6)) == "after"
    assert sessions.session(AAPL, _at(winter + timedelta(days=1), 10)) == "closed"
    # Thanksgiving 2026 is 26 November: closed all New York day.
    assert sessions.session(AAPL, _at(date(2026, 11, 26), 23, 30)) == "closed"
    assert sessions.next_open(AAPL, _at(winter, 10)) == _at(winter, 23, 30)
    assert sessions.trading_day_of(AAPL, _at(winter, 10)) == date(2026, 11, 30)


def test_asian_sessions() -> None:
    assert sessions.session(TENCENT, _at(TUESDAY, 10, 30)) == "regular"  # 09:30 in Hong Kong
    assert sessions.session(TENCENT, _at(TUESDAY, 13, 30)) == "closed"  # lunch
    assert sessions.session(MOUTAI, _at(TUESDAY, 16)) == "closed"  # 15:00 in Shanghai
    assert sessions.session(VNM, _at(TUESDAY, 11)) == "regular"  # 09:00 in Ho Chi Minh City


def test_night_futures_belong_to_the_day_they_started() -> None:
    friday = date(2026, 12, 4)
    assert sessions.session(FUTURE, _at(TUESDAY, 8, 44, 59)) == "closed"
    assert sessions.session(FUTURE, _at(TUESDAY, 8, 45)) == "day"
    assert sessions.session(FUTURE, _at(TUESDAY, 15, 45)) == "closed"
    assert sessions.session(FUTURE, _at(TUESDAY, 18)) == "night"
    past_midnight = _at(TUESDAY + timedelta(days=1), 2)
    assert sessions.session(FUTURE, past_midnight) == "night"
    assert sessions.trading_day_of(FUTURE, past_midnight) == TUESDAY
    assert sessions.session(FUTURE, _at(TUESDAY + timedelta(days=1), 6)) == "closed"
    saturday_night = _at(friday + timedelta(days=1), 3)
    assert sessions.session(FUTURE, saturday_night) == "night"
    assert sessions.trading_day_of(FUTURE, saturday_night) == friday
    assert sessions.session(FUTURE, _at(friday + timedelta(days=2), 3)) == "closed"
    assert sessions.next_open(FUTURE, saturday_night) == _at(date(2026, 12, 7), 8, 45)
    assert sessions.next_open(SAMSUNG, _at(friday, 16)) == _at(date(2026, 12, 7), 9)


def test_trading_days() -> None:
    assert sessions.is_trading_day(TUESDAY)
    assert not sessions.is_trading_day(date(2026, 12, 31))  # 연말휴장
    assert not sessions.is_trading_day(date(2026, 9, 25))  # 추석
    assert sessions.is_trading_day(date(2026, 12, 31), "NASD")
    assert not sessions.is_trading_day(date(2026, 7, 3), "NASD")  # 4 July observed
    assert not sessions.is_trading_day(date(2026, 1, 1), "SEHK")
    with pytest.raises(ValueError, match="unknown market"):
        sessions.is_trading_day(TUESDAY, "LSE")


# --- snapshots and bars ----------------------------------------------------------------------


@pytest.mark.parametrize("instrument", [SAMSUNG, FUTURE, AAPL, TENCENT])
def test_snapshot_book_is_ordered_on_ticks_inside_the_band(instrument: Instrument) -> None:
    market = _market()
    moment = sessions.next_open(instrument, _at(TUESDAY, 0)) + timedelta(hours=1, seconds=7)
    snap = market.snapshot(instrument, moment)
    assert snap.session in ("regular", "day")
    assert snap.low <= snap.last <= snap.high and snap.low <= snap.open <= snap.high
    assert len(snap.asks) == len(snap.bids) == 10
    assert snap.last < snap.asks[0][0] and snap.bids[0][0] <= snap.last
    ask_prices = [price for price, _ in snap.asks]
    bid_prices = [price for price, _ in snap.bids]
    assert ask_prices == sorted(ask_prices) and len(set(ask_prices)) == 10
    assert bid_prices == sorted(bid_prices, reverse=True) and len(set(bid_prices)) == 10
    for price, quantity in snap.asks + snap.bids:
        assert walk.on_tick(instrument, price) and quantity > 0
        if snap.upper is not None and snap.lower is not None:
            assert snap.lower <= price <= snap.upper
    assert snap.change == snap.last - snap.previous_close
    assert snap.sign in {"2", "3", "5"}
    assert snap.rate == (snap.change * 100 / snap.previous_close).quantize(Decimal("0.01"))


def test_minute_and_daily_bars_agree_with_the_snapshot() -> None:
    now = _at(TUESDAY, 10, 30, 5)
    market = _market(3, now)
    snap = market.snapshot(SAMSUNG)
    bars = market.minute_bars(SAMSUNG, now, 120)
    assert len(bars) == 120
    assert [bar.start for bar in bars] == sorted((bar.start for bar in bars), reverse=True)
    assert bars[0].start == _at(TUESDAY, 10, 30) and bars[0].close == snap.last
    today = [bar for bar in bars if bar.start.date() == TUESDAY]
    assert len(today) == 91  # 09:00 to 10:30 inclusive
    assert bars[len(today)].start == _at(TUESDAY - timedelta(days=1), 15, 30)  # closing print
    assert today[-1].open == snap.open
    assert max(bar.high for bar in today) == snap.high
    assert min(bar.low for bar in today) == snap.low
    assert sum(bar.volume for bar in today) == snap.volume
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    five = market.minute_bars(SAMSUNG, now, 3, minutes=5)
    assert [bar.start for bar in five] == [
        _at(TUESDAY, 10, 30),
        _at(TUESDAY, 10, 25),
        _at(TUESDAY, 10, 20),
    ]
    assert five[1].volume == sum(bar.volume for bar in today[1:6])

    daily = market.daily_bars(SAMSUNG, date(2026, 12, 31), 30)
    assert len(daily) == 30
    assert daily[0].start.date() == TUESDAY  # the future has no bars
    assert (daily[0].open, daily[0].high, daily[0].low, daily[0].close, daily[0].volume) == (
        snap.open,
        snap.high,
        snap.low,
        snap.last,
        snap.volume,
    )
    assert daily[1].close == snap.previous_close
    for newer, older in pairwise(daily):
        assert newer.start > older.start
        assert newer.open != 0 and older.low <= older.close <= older.high
    assert daily[20].close == market.walk.close(SAMSUNG, daily[20].start.date())
    with pytest.raises(ValueError, match="count"):
        market.minute_bars(SAMSUNG, now, 0)


def test_path_crosses_days_oldest_first() -> None:
    market = _market()
    start, end = _at(TUESDAY - timedelta(days=1), 15, 19, 30), _at(TUESDAY, 9, 0, 10)
    steps = list(market.path(SAMSUNG, start, end))
    assert [step[0] for step in steps] == [
        _at(TUESDAY - timedelta(days=1), 15, 19, 40),
        _at(TUESDAY - timedelta(days=1), 15, 19, 50),
        _at(TUESDAY - timedelta(days=1), 15, 30),
        _at(TUESDAY, 9),
        _at(TUESDAY, 9, 0, 10),
    ]
    assert steps[-1][1] == market.snapshot(SAMSUNG, end).last
