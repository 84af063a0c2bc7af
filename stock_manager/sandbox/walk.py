"""A seeded price walk: daily closes that chain, and a 10-second intraday path per trading day.

Pure and deterministic for ``(seed, code, day)``: no I/O, no lock, no clock.

Daily closes are O(1) per day, with no walk from the anchor: the previous close of trading day
``d`` is ``base_price * exp(g(d) - g(ANCHOR_DAY))`` on the tick grid, where ``g`` is a slowly
varying level (three seeded sine waves of 37 to 263 days) plus a bounded daily term of at most
2 % from a hash of ``(seed, code, d)``, both scaled by the instrument's volatility. A non-trading
day takes the level of the next trading day, so the close of one trading day *is* the previous
close of the next by construction, across weekends and holidays, before and after the anchor.
The bounds keep every daily move well inside the daily band (at most ~13 % over KRX's longest
holiday for stocks, ~5 % for futures, Chinese and Vietnamese shares).

The intraday path is a Brownian bridge in log price from the previous close to the day's close,
one step every :data:`STEP_SECONDS` of each session that trades (domestic stocks also print
the closing auction at 15:30, which is the close), on the tick grid and clamped to the band.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from stock_manager.sandbox import sessions
from stock_manager.sandbox.sessions import KST
from stock_manager.sandbox.universe import ANCHOR_DAY, Instrument

__all__ = [
    "STEP_SECONDS",
    "Bar",
    "DayPath",
    "PriceWalk",
    "band",
    "on_tick",
    "round_to_tick",
    "tick_above",
    "tick_below",
    "tick_size",
]

STEP_SECONDS = 10
CACHE_DAYS = 512  # day paths kept per sandbox (about 100 kB each)
CACHE_CLOSES = 200_000  # daily closes kept per sandbox (a year of quotes' 52-week extremes)

_KRX_STOCK_TICKS = (
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(20_000), Decimal(10)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(200_000), Decimal(100)),
    (Decimal(500_000), Decimal(500)),
)
_HK_TICKS = (
    (Decimal("0.25"), Decimal("0.001")),
    (Decimal("0.50"), Decimal("0.005")),
    (Decimal(10), Decimal("0.01")),
    (Decimal(20), Decimal("0.02")),
    (Decimal(100), Decimal("0.05")),
    (Decimal(200), Decimal("0.1")),
    (Decimal(500), Decimal("0.2")),
    (Decimal(1_000), Decimal("0.5")),
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(2)),
)
# CME's minimum ticks by contract root (E-mini S&P 500 and Nasdaq-100 0.25, WTI crude 0.01).
_CME_TICKS = {"ES": Decimal("0.25"), "NQ": Decimal("0.25"), "CL": Decimal("0.01")}
_FIXED_TICKS = {
    "TKSE": Decimal(1),  # simplified: TSE's table has finer ticks for TOPIX 100 names
    "SHAA": Decimal("0.01"),
    "SZAA": Decimal("0.01"),
    "HASE": Decimal(100),  # simplified: HOSE uses 10/50/100 by price level
    "VNSE": Decimal(100),
}
# Daily limits as a fraction of the previous close. Options have none here: KRX's option limits
# are stepped and depend on the underlying, so the sandbox leaves them open. Tokyo's are skipped
# (a table by price), US and Hong Kong have none.
_BANDS = {
    "stock": Decimal("0.30"),
    "etf": Decimal("0.30"),
    "etn": Decimal("0.30"),
    "index_future": Decimal("0.08"),
    "stock_future": Decimal("0.08"),
}
_MARKET_BANDS = {
    "SHAA": Decimal("0.10"),
    "SZAA": Decimal("0.10"),
    "VNSE": Decimal("0.07"),
    "HASE": Decimal("0.10"),
}
_VOLATILITY = {
    "index_future": 0.4,
    "stock_future": 0.4,
    "index_option": 1.5,
    "bond": 0.05,
    "overseas_future": 0.4,
}
_MARKET_VOLATILITY = {"SHAA": 0.5, "SZAA": 0.5, "HASE": 0.4, "VNSE": 0.4}
# A day's turnover, by currency, that sets the scale of step volumes.
_TURNOVER = {"KRW": 5e10, "USD": 5e8, "JPY": 5e10, "HKD": 2e9, "CNY": 2e9, "VND": 2e11}
_KIND_TURNOVER = {"index_future": 4e13, "stock_future": 2e11, "index_option": 1e12, "bond": 1e11}
_SLOW_WAVES = ((37.0, 0.03), (97.0, 0.05), (263.0, 0.08))  # (period in days, amplitude)
_DAILY_NOISE = 0.02
_INTRADAY_SIGMA = 0.012


def tick_size(instrument: Instrument, price: Decimal) -> Decimal:
    """The price increment of ``instrument`` at ``price`` (KRX's 2023 stock table, ETF/ETN 5원,
    KOSPI200 futures 0.05, mini 0.02, options 0.01 below 10 else 0.05, US 0.01 (0.0001 below
    1 USD), Hong Kong's spread table, China 0.01, Tokyo 1 and Vietnam 100 simplified, bonds 1,
    CME futures by contract)."""
    kind = instrument.kind
    if kind in ("stock", "stock_future"):
        return _from_table(_KRX_STOCK_TICKS, price, Decimal(1_000))
    if kind in ("etf", "etn"):
        return Decimal(5)
    if kind == "index_future":
        return Decimal("0.02") if instrument.code.startswith("105") else Decimal("0.05")
    if kind == "index_option":
        return Decimal("0.01") if price < 10 else Decimal("0.05")
    if kind == "bond":
        return Decimal(1)
    if kind == "overseas_future":
        return _CME_TICKS[instrument.code[:-3]]
    market = instrument.market
    if market in ("NASD", "NYSE", "AMEX"):
        return Decimal("0.0001") if price < 1 else Decimal("0.01")
    if market == "SEHK":
        return _from_table(_HK_TICKS, price, Decimal(5))
    return _FIXED_TICKS[market]


def _from_table(
    table: tuple[tuple[Decimal, Decimal], ...], price: Decimal, top: Decimal
) -> Decimal:
    for bound, tick in table:
        if price < bound:
            return tick
    return top


def _snap(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return ((value / tick).to_integral_value(rounding) * tick).quantize(tick)


def round_to_tick(instrument: Instrument, price: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``price`` on ``instrument``'s grid (nearest by default), never below one tick."""
    snapped = _snap(price, tick_size(instrument, price), rounding)
    # Tick tiers end on multiples of the next tier's tick, so one re-snap settles a crossing.
    snapped = _snap(snapped, tick_size(instrument, snapped), rounding)
    smallest = tick_size(instrument, Decimal(0))
    return max(snapped, smallest)


def on_tick(instrument: Instrument, price: Decimal) -> bool:
    """Whether ``price`` is a valid positive price of ``instrument``."""
    return price > 0 and price % tick_size(instrument, price) == 0


def tick_above(instrument: Instrument, price: Decimal) -> Decimal:
    """The next valid price above ``price`` (an on-tick price)."""
    return price + tick_size(instrument, price)


def tick_below(instrument: Instrument, price: Decimal) -> Decimal:
    """The next valid price below ``price`` (an on-tick price); may be 0 or less at the bottom."""
    lower = price - tick_size(instrument, price)
    # Crossing down into a finer tier: the next price is one fine tick below.
    return price - tick_size(instrument, lower) if lower > 0 else lower


def band(instrument: Instrument, previous_close: Decimal) -> tuple[Decimal, Decimal] | None:
    """``(lower, upper)`` daily limits on the tick grid, or None where the sandbox sets none."""
    rate = _BANDS.get(instrument.kind)
    if rate is None and instrument.kind == "overseas_stock":
        rate = _MARKET_BANDS.get(instrument.market)
    if rate is None:
        return None
    upper = round_to_tick(instrument, previous_close * (1 + rate), ROUND_FLOOR)
    lower = round_to_tick(instrument, previous_close * (1 - rate), ROUND_CEILING)
    return lower, upper


@dataclass(frozen=True)
class Bar:
    """One candle."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


@dataclass(frozen=True)
class DayPath:
    """One instrument's trading day: the steps with running extremes and totals."""

    day: date
    previous_close: Decimal
    moments: tuple[datetime, ...]
    epochs: tuple[float, ...]
    prices: tuple[Decimal, ...]
    volumes: tuple[int, ...]
    highs: tuple[Decimal, ...]
    lows: tuple[Decimal, ...]
    total_volume: tuple[int, ...]
    turnover: tuple[Decimal, ...]

    def index_at(self, moment: datetime) -> int:
        """The index of the last step at or before ``moment``; -1 before the first."""
        return bisect_right(self.epochs, moment.timestamp()) - 1


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) from the parts, stable across runs and platforms."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _volatility(instrument: Instrument) -> float:
    if instrument.kind == "overseas_stock":
        return _MARKET_VOLATILITY.get(instrument.market, 1.0)
    return _VOLATILITY.get(instrument.kind, 1.0)


def step_moments(instrument: Instrument, day: date) -> list[datetime]:
    """The KST moments of ``day``'s steps (empty on a non-trading day)."""
    market = instrument.market
    if not sessions.is_trading_day(day, market):
        return []
    moments: list[datetime] = []
    step = timedelta(seconds=STEP_SECONDS)
    for window in sessions.windows(market):
        if not window.moves:
            continue
        start, end = sessions.session_bounds(market, day, window)
        moment = start
        while moment < end:
            moments.append(moment)
            moment += step
    if instrument.is_domestic:
        moments.append(
            datetime.combine(day, datetime.min.time(), KST) + timedelta(hours=15, minutes=30)
        )
    return moments


class PriceWalk:
    """The walk of one sandbox; caches day paths per ``(code, day)``.

    The caches are plain dicts whose worst race between threads is computing a value twice.
    """

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, not {seed!r}")
        self.seed = seed
        self._paths: dict[tuple[str, str, date], DayPath] = {}
        self._closes: dict[tuple[str, str, date], Decimal] = {}

    def _level(self, instrument: Instrument, ordinal: int) -> float:
        total = 0.0
        for index, (period, amplitude) in enumerate(_SLOW_WAVES):
            phase = 2 * math.pi * _unit(self.seed, instrument.code, "wave", index)
            total += amplitude * math.sin(2 * math.pi * ordinal / period + phase)
        noise = (2 * _unit(self.seed, instrument.code, "day", ordinal) - 1) * _DAILY_NOISE
        return _volatility(instrument) * (total + noise)

    def previous_close(self, instrument: Instrument, day: date) -> Decimal:
        """The close before ``day`` (of the last trading day before it)."""
        key = (instrument.market, instrument.code, day)
        close = self._closes.get(key)
        if close is None:
            close = self._previous_close(instrument, day)
            if len(self._closes) >= CACHE_CLOSES:
                self._closes.clear()
            self._closes[key] = close
        return close

    def _previous_close(self, instrument: Instrument, day: date) -> Decimal:
        market = instrument.market
        if not sessions.is_trading_day(day, market):
            day = sessions.next_trading_day(day, market)
        anchor = ANCHOR_DAY
        if not sessions.is_trading_day(anchor, market):
            anchor = sessions.next_trading_day(anchor, market)
        exponent = self._level(instrument, day.toordinal()) - self._level(
            instrument, anchor.toordinal()
        )
        raw = instrument.base_price * Decimal(f"{math.exp(exponent):.9f}")
        return round_to_tick(instrument, raw)

    def close(self, instrument: Instrument, day: date) -> Decimal:
        """The close of trading day ``day``."""
        return self.previous_close(instrument, sessions.next_trading_day(day, instrument.market))

    def steps(self, instrument: Instrument, day: date) -> Sequence[tuple[datetime, Decimal, int]]:
        """``(moment, price, volume)`` per step of ``day`` (empty on a non-trading day)."""
        path = self.day_path(instrument, day)
        return tuple(zip(path.moments, path.prices, path.volumes, strict=True))

    def day_path(self, instrument: Instrument, day: date) -> DayPath:
        """The cached :class:`DayPath` of ``day``."""
        key = (instrument.market, instrument.code, day)
        path = self._paths.get(key)
        if path is None:
            path = self._build(instrument, day)
            if len(self._paths) >= CACHE_DAYS:
                self._paths.clear()
            self._paths[key] = path
        return path

    def _build(self, instrument: Instrument, day: date) -> DayPath:
        start = self.previous_close(instrument, day)
        moments = step_moments(instrument, day)
        count = len(moments)
        if count == 0:
            return DayPath(day, start, (), (), (), (), (), (), (), ())
        end = self.close(instrument, day)
        limits = band(instrument, start)
        rng = random.Random(f"{self.seed}|{instrument.market}|{instrument.code}|{day.isoformat()}")  # noqa: S311
        sigma = _INTRADAY_SIGMA * _volatility(instrument) / math.sqrt(count)
        walk = []
        total = 0.0
        for _ in range(count):
            total += rng.gauss(0.0, sigma)
            walk.append(total)
        drift = math.log(float(end) / float(start))
        lot = instrument.lot
        turnover_scale = _KIND_TURNOVER.get(instrument.kind, _TURNOVER[instrument.currency])
        scale = turnover_scale / float(start) / instrument.multiplier / count / lot
        prices: list[Decimal] = []
        volumes: list[int] = []
        for index in range(count - 1):
            fraction = (index + 1) / count
            log_move = drift * fraction + walk[index] - fraction * walk[-1]
            price = round_to_tick(instrument, start * Decimal(f"{math.exp(log_move):.9f}"))
            if limits is not None:
                price = min(max(price, limits[0]), limits[1])
            prices.append(price)
            volumes.append(lot * (1 + int(rng.expovariate(1.0) * scale)))
        prices.append(end)
        volumes.append(lot * (1 + int(rng.expovariate(1.0) * scale)))
        highs: list[Decimal] = []
        lows: list[Decimal] = []
        totals: list[int] = []
        turnover: list[Decimal] = []
        high = low = prices[0]
        volume_sum = 0
        money = Decimal(0)
        for price, volume in zip(prices, volumes, strict=True):
            high, low = max(high, price), min(low, price)
            volume_sum += volume
            money += price * volume
            highs.append(high)
            lows.append(low)
            totals.append(volume_sum)
            turnover.append(money)
        return DayPath(
            day,
            start,
            tuple(moments),
            tuple(moment.timestamp() for moment in moments),
            tuple(prices),
            tuple(volumes),
            tuple(highs),
            tuple(lows),
            tuple(totals),
            tuple(turnover),
        )
