"""Market answers: :class:`Quote`, :class:`OrderBook` and chart :class:`Bar`.

Each is built from one KIS record by a ``from_...`` class method reading the fields its
:mod:`.fields` map names; ``raw`` keeps the record as KIS sent it (fields KIS adds included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..errors import KISProtocolError
from . import fields as F
from ._markets import Listing
from ._values import KST, day_of, decimal_of, int_of, kst_datetime
from .frames import Answer

__all__ = ["Bar", "Level", "OrderBook", "Quote"]


def _price(record: Mapping[str, Any], name: str, what: str) -> Decimal:
    value = decimal_of(record, name)
    if value is None:
        raise KISProtocolError(f"KIS's {what} has no {name}")
    return value


@dataclass(frozen=True)
class Quote(Answer):
    """A symbol's price now: domestic (inquire-price) or overseas (overseas-price).

    Overseas quotes carry no open/high/low or limits (``None``); ``as_of`` is when the reply
    was read (KIS's price APIs state no time).
    """

    symbol: str
    market: str
    currency: str
    price: Decimal
    change: Decimal | None
    change_rate: Decimal | None
    previous_close: Decimal | None
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    volume: int
    turnover: Decimal | None
    upper_limit: Decimal | None
    lower_limit: Decimal | None
    as_of: datetime
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_domestic(cls, record: Mapping[str, Any], listing: Listing, as_of: datetime) -> Quote:
        """From inquire-price's ``output``."""
        m = F.QUOTE_DOMESTIC
        return cls(
            symbol=m.text(record, "symbol") or listing.symbol,
            market=listing.market,
            currency=listing.currency,
            price=_price(record, m["price"], "quote"),
            change=decimal_of(record, m["change"]),
            change_rate=decimal_of(record, m["change_rate"]),
            previous_close=decimal_of(record, m["previous_close"]),
            open=decimal_of(record, m["open"]),
            high=decimal_of(record, m["high"]),
            low=decimal_of(record, m["low"]),
            volume=int_of(record, m["volume"]),
            turnover=decimal_of(record, m["turnover"]),
            upper_limit=decimal_of(record, m["upper_limit"]),
            lower_limit=decimal_of(record, m["lower_limit"]),
            as_of=as_of,
            raw=record,
        )

    @classmethod
    def from_overseas(cls, record: Mapping[str, Any], listing: Listing, as_of: datetime) -> Quote:
        """From overseas-price's ``output``."""
        m = F.QUOTE_OVERSEAS
        return cls(
            symbol=listing.symbol,
            market=listing.market,
            currency=listing.currency,
            price=_price(record, m["price"], "quote"),
            change=decimal_of(record, m["change"]),
            change_rate=decimal_of(record, m["change_rate"]),
            previous_close=decimal_of(record, m["previous_close"]),
            open=None,
            high=None,
            low=None,
            volume=int_of(record, m["volume"]),
            turnover=decimal_of(record, m["turnover"]),
            upper_limit=None,
            lower_limit=None,
            as_of=as_of,
            raw=record,
        )


@dataclass(frozen=True)
class Level:
    """One price level of the order book."""

    price: Decimal
    quantity: int


@dataclass(frozen=True)
class OrderBook(Answer):
    """The domestic order book (inquire-asking-price-exp-ccn's ``output1``), best first.

    Levels KIS shows as price 0 (beyond the day's band, or an empty book) are left out.
    ``time`` is KIS's 호가 접수 시간 on the day the reply was read, KST.
    """

    symbol: str
    asks: tuple[Level, ...]
    bids: tuple[Level, ...]
    total_ask_quantity: int
    total_bid_quantity: int
    time: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, ``None`` when a side is empty."""
        if self.best_ask is None or self.best_bid is None:
            return None
        return self.best_ask.price - self.best_bid.price

    @classmethod
    def from_record(cls, record: Mapping[str, Any], listing: Listing, as_of: datetime) -> OrderBook:
        m = F.ORDER_BOOK

        def side(name: str) -> tuple[Level, ...]:
            levels = []
            for n in range(1, F.BOOK_DEPTH + 1):
                price = decimal_of(record, m[f"{name}_{n}"])
                if price:
                    levels.append(Level(price, int_of(record, m[f"{name}_quantity_{n}"])))
            return tuple(levels)

        hms = m.text(record, "time")
        return cls(
            symbol=listing.symbol,
            asks=side("ask"),
            bids=side("bid"),
            total_ask_quantity=int_of(record, m["total_ask_quantity"]),
            total_bid_quantity=int_of(record, m["total_bid_quantity"]),
            time=kst_datetime(as_of.astimezone(KST).date(), hms, field=m["time"]) if hms else None,
            raw=record,
        )


@dataclass(frozen=True)
class Bar(Answer):
    """One chart bar. ``time`` is when the bar starts, aware in KST (a daily bar: midnight of
    ``day`` where the exchange is); ``day`` is the trading day as the exchange numbers it."""

    symbol: str
    time: datetime
    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    turnover: Decimal | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], listing: Listing, m: F.FieldMap) -> Bar | None:
        """A bar from a chart row read through map ``m`` (one of the ``BAR_*`` maps); ``None``
        for a row without a date (KIS pads short charts with blank rows)."""
        day = day_of(record, m["day"])
        if day is None:
            return None
        if "time" in m.names:  # minute bars: overseas rows carry the KST stamp (kymd/khms)
            zone = KST
            moment = kst_datetime(day, m.text(record, "time"), zone=zone, field=m["time"])
            local = day_of(record, m["local_day"]) if "local_day" in m.names else None
            trading_day = local or day
        else:
            moment = kst_datetime(day, "", zone=listing.zone, field=m["day"])
            trading_day = day
        if moment is None:
            return None
        close = _price(record, m["close"], "chart row")
        return cls(
            symbol=listing.symbol,
            time=moment,
            day=trading_day,
            open=decimal_of(record, m["open"]) or close,
            high=decimal_of(record, m["high"]) or close,
            low=decimal_of(record, m["low"]) or close,
            close=close,
            volume=int_of(record, m["volume"]),
            turnover=decimal_of(record, m["turnover"]) if "turnover" in m.names else None,
            raw=record,
        )
