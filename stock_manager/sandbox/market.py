"""The sandbox's market as handlers see it: what an instrument trades at, at a market moment.

Every API reads prices through one :class:`Market` per sandbox, so the same symbol at the same
market moment answers the same numbers everywhere (quotes, charts, fills, balances), and a
seed fixes them all. ``seed=None`` means seed 0: a sandbox is deterministic unless asked not to
be, so two runs of a test see the same prices at the same market time.

Before the day's first step the snapshot shows the previous close with no volume (and open, high
and low equal to it); after the last one, the close. Only sessions that trade move the price.
Intraday history (:meth:`Market.path`, :meth:`Market.minute_bars`) reaches at most
:data:`HISTORY_DAYS` trading days back from its end; daily bars older than that are summaries
derived from the chained closes (same open/close chain, seeded high, low and volume) rather
than aggregates of a path, so a year of daily bars stays cheap.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from stock_manager.sandbox import sessions, walk
from stock_manager.sandbox.codes import BusinessError
from stock_manager.sandbox.sessions import KST, MarketClock
from stock_manager.sandbox.universe import Instrument, lookup
from stock_manager.sandbox.walk import Bar, DayPath, PriceWalk

__all__ = ["DEPTH", "HISTORY_DAYS", "Market", "Snapshot"]

DEPTH = 10  # order-book levels per side, as KIS's asking-price API shows
HISTORY_DAYS = 10


@dataclass(frozen=True)
class Snapshot:
    """One instrument at one market moment."""

    instrument: Instrument
    moment: datetime
    trading_day: date
    session: str
    previous_close: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: int
    turnover: Decimal
    upper: Decimal | None
    lower: Decimal | None
    tick: Decimal
    asks: tuple[tuple[Decimal, int], ...]
    bids: tuple[tuple[Decimal, int], ...]

    @property
    def change(self) -> Decimal:
        """``last - previous_close`` (KIS's ``prdy_vrss``)."""
        return self.last - self.previous_close

    @property
    def sign(self) -> str:
        """KIS's ``prdy_vrss_sign``: "1" 상한, "2" 상승, "3" 보합, "4" 하한, "5" 하락."""
        if self.upper is not None and self.last >= self.upper:
            return "1"
        if self.lower is not None and self.last <= self.lower:
            return "4"
        return "2" if self.change > 0 else "5" if self.change < 0 else "3"

    @property
    def rate(self) -> Decimal:
        """The change in percent of the previous close, 2 decimal places (``prdy_ctrt``)."""
        return (self.change * 100 / self.previous_close).quantize(Decimal("0.01"))


class Market:
    """Instruments, sessions and prices of one sandbox at its market time."""

    def __init__(self, seed: int | None, clock: MarketClock) -> None:
        self.seed = 0 if seed is None else seed
        self.clock = clock
        self.walk = PriceWalk(self.seed)

    def now(self) -> datetime:
        """The market time (aware, KST)."""
        return self.clock.now()

    def lookup(self, code: str, market: str | None = None) -> Instrument | None:
        """A listed instrument, or None (see :func:`stock_manager.sandbox.universe.lookup`)."""
        return lookup(code, market)

    def session(self, instrument: Instrument, moment: datetime | None = None) -> str:
        """The session of ``instrument`` at ``moment`` (default: now)."""
        return sessions.session(instrument, moment or self.now())

    # --- snapshots --------------------------------------------------------------------------

    def snapshot(self, instrument: Instrument, moment: datetime | None = None) -> Snapshot:
        """``instrument`` at ``moment`` (default: now)."""
        moment = _aware(moment or self.now())
        day = sessions.trading_day_of(instrument, moment)
        path = self.walk.day_path(instrument, day)
        previous = path.previous_close
        index = path.index_at(moment)
        if index < 0:
            open_ = high = low = last = previous
            volume, turnover = 0, Decimal(0)
        else:
            open_, high, low, last = (
                path.prices[0],
                path.highs[index],
                path.lows[index],
                path.prices[index],
            )
            volume, turnover = path.total_volume[index], path.turnover[index]
        limits = walk.band(instrument, previous)
        lower, upper = limits if limits is not None else (None, None)
        asks, bids = self._book(instrument, day, index, last, limits)
        return Snapshot(
            instrument=instrument,
            moment=moment,
            trading_day=day,
            session=sessions.session(instrument, moment),
            previous_close=previous,
            open=open_,
            high=high,
            low=low,
            last=last,
            volume=volume,
            turnover=turnover,
            upper=upper,
            lower=lower,
            tick=walk.tick_size(instrument, last),
            asks=asks,
            bids=bids,
        )

    def _book(
        self,
        instrument: Instrument,
        day: date,
        index: int,
        last: Decimal,
        limits: tuple[Decimal, Decimal] | None,
    ) -> tuple[tuple[tuple[Decimal, int], ...], tuple[tuple[Decimal, int], ...]]:
        # The book rests around the last print: best bid at it, best ask one tick above. Levels
        # beyond the band (or below one tick) do not exist, so a side may have fewer than DEPTH.
        lower, upper = limits if limits is not None else (None, None)
        rng = random.Random(f"{self.seed}|book|{instrument.code}|{day.isoformat()}|{index}")  # noqa: S311
        lot = instrument.lot
        asks: list[tuple[Decimal, int]] = []
        price = walk.tick_above(instrument, last)
        while len(asks) < DEPTH and (upper is None or price <= upper):
            asks.append((price, lot * rng.randint(1, 500)))
            price = walk.tick_above(instrument, price)
        bids: list[tuple[Decimal, int]] = []
        price = last
        while len(bids) < DEPTH and price > 0 and (lower is None or price >= lower):
            bids.append((price, lot * rng.randint(1, 500)))
            price = walk.tick_below(instrument, price)
        return tuple(asks), tuple(bids)

    def last_krw(self, code: str) -> int | None:
        """The current last price of a listed domestic stock/ETF/ETN in won, or None if unlisted."""
        instrument = self.lookup(code)
        if instrument is None or not instrument.is_domestic:
            return None
        return int(self.snapshot(instrument).last)

    def order_price(self, code: str) -> int:
        """The fill price of a market order for a domestic code; an unlisted code is refused."""
        price = self.last_krw(code)
        if price is None:
            raise BusinessError("OPSQ2002", f"입력값이 올바르지 않습니다. (PDNO={code!r})")
        return price

    # --- history ----------------------------------------------------------------------------

    def _recent_days(self, instrument: Instrument, end: datetime) -> list[date]:
        """Up to HISTORY_DAYS trading days ending with ``end``'s, newest first."""
        market = instrument.market
        day = sessions.trading_day_of(instrument, end)
        days = [day]
        while len(days) < HISTORY_DAYS:
            day = sessions.previous_trading_day(day, market)
            days.append(day)
        return days

    def path(
        self, instrument: Instrument, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, Decimal, int]]:
        """Every step with ``start < moment <= end``, oldest first, across days (at most the
        last :data:`HISTORY_DAYS` trading days up to ``end``)."""
        start, end = _aware(start), _aware(end)
        chunks: list[list[tuple[datetime, Decimal, int]]] = []
        for day in self._recent_days(instrument, end):
            steps = self.walk.steps(instrument, day)
            if steps and steps[-1][0] <= start:
                break
            chunks.append([step for step in steps if start < step[0] <= end])
        for chunk in reversed(chunks):
            yield from chunk

    def minute_bars(
        self, instrument: Instrument, end: datetime, count: int, minutes: int = 1
    ) -> list[Bar]:
        """``count`` bars of ``minutes`` minutes up to ``end``, newest first, trading minutes only
        (the newest may be partial). Fewer when history runs out."""
        for name, value in (("count", count), ("minutes", minutes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        end = _aware(end)
        width = minutes * 60
        bars: list[Bar] = []
        for day in self._recent_days(instrument, end):
            path = self.walk.day_path(instrument, day)
            index = path.index_at(end)
            while index >= 0 and len(bars) < count:
                bucket = math.floor(path.epochs[index] / width) * width
                close = high = low = path.prices[index]
                volume = 0
                open_ = close
                while index >= 0 and path.epochs[index] >= bucket:
                    price = path.prices[index]
                    high, low, open_ = max(high, price), min(low, price), price
                    volume += path.volumes[index]
                    index -= 1
                start = datetime.fromtimestamp(bucket, KST)
                bars.append(Bar(start, open_, high, low, close, volume))
            if len(bars) >= count:
                break
        return bars[:count]

    def daily_bars(self, instrument: Instrument, end_day: date, count: int) -> list[Bar]:
        """``count`` daily bars up to ``end_day``, newest first; today's is partial up to now
        (absent before the first trade); the market's future has no bars."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive integer, not {count!r}")
        market = instrument.market
        now = self.now()
        current = sessions.trading_day_of(instrument, now)
        day = (
            end_day
            if sessions.is_trading_day(end_day, market)
            else (sessions.previous_trading_day(end_day, market))
        )
        day = min(day, current)
        recent = set(self._recent_days(instrument, now))
        bars: list[Bar] = []
        while len(bars) < count:
            if day in recent:
                bar = _aggregate(
                    self.walk.day_path(instrument, day), now if day == current else None
                )
            else:
                bar = self._summary_bar(instrument, day)
            if bar is not None:
                bars.append(bar)
            day = sessions.previous_trading_day(day, market)
        return bars

    def _summary_bar(self, instrument: Instrument, day: date) -> Bar:
        previous = self.walk.previous_close(instrument, day)
        close = self.walk.close(instrument, day)
        rng = random.Random(f"{self.seed}|daily|{instrument.code}|{day.isoformat()}")  # noqa: S311
        open_ = walk.round_to_tick(
            instrument, previous * Decimal(f"{1 + rng.uniform(-0.005, 0.005):.6f}")
        )
        high = walk.round_to_tick(
            instrument, max(open_, close) * Decimal(f"{1 + rng.uniform(0, 0.015):.6f}"), ROUND_FLOOR
        )
        low = walk.round_to_tick(
            instrument,
            min(open_, close) * Decimal(f"{1 - rng.uniform(0, 0.015):.6f}"),
            ROUND_CEILING,
        )
        limits = walk.band(instrument, previous)
        if limits is not None:
            open_ = min(max(open_, limits[0]), limits[1])
            high, low = min(high, limits[1]), max(low, limits[0])
        high, low = max(high, open_, close), min(low, open_, close)
        volume = instrument.lot * int(rng.uniform(0.5, 1.5) * 1_000_000_000 / float(close) + 1)
        return Bar(_first_step(instrument, day), open_, high, low, close, volume)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment


def _first_step(instrument: Instrument, day: date) -> datetime:
    moments = walk.step_moments(instrument, day)
    return moments[0] if moments else datetime.combine(day, datetime.min.time(), KST)


def _aggregate(path: DayPath, until: datetime | None) -> Bar | None:
    index = len(path.prices) - 1 if until is None else path.index_at(until)
    if index < 0:
        return None
    return Bar(
        path.moments[0],
        path.prices[0],
        path.highs[index],
        path.lows[index],
        path.prices[index],
        path.total_volume[index],
    )
