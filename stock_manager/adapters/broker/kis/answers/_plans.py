"""What each call asks of KIS and makes of the replies, written once for both clients.

A plan is a generator (:mod:`.._drive`): it yields :class:`Get` (one reply) or :class:`GetAll`
(every page of a paged inquiry) and is sent the reply; :mod:`.calls` performs them with the
blocking or the asyncio client. No I/O and no clock here: "now" is passed in, so a plan is
tested without a server and both clients agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from .._drive import Effect, Effects, ask
from ..errors import KISUsageError
from ..protocol import KISResponse
from . import fields as F
from ._markets import Listing, overseas_exchange, resolve
from ._values import KST
from .account import AccountView, Balance
from .frames import AnswerList, Chart
from .market import Bar, OrderBook, Quote
from .orders import Orderable, OrderRecord

__all__ = [
    "MAX_CHART_CALLS",
    "Get",
    "GetAll",
    "Interval",
    "balance",
    "chart",
    "daily_orders",
    "order_book",
    "orderable",
    "overseas_balance",
    "overview",
    "quote",
]

Interval = Literal["1d", "1m"]
#: Chart calls per chart at most: a chart asked for years of minutes stops here, not at KIS's
#: rate limit (100 daily bars or 30 minutes a call: 4,000 days or 20 hours of minutes).
MAX_CHART_CALLS = 40
DEFAULT_BARS = 100


@dataclass(frozen=True)
class Get(Effect[KISResponse]):
    """One GET of catalog API ``api`` (an alias)."""

    api: str
    params: Mapping[str, str] = field(default_factory=dict)
    variant: str | None = None


@dataclass(frozen=True)
class GetAll(Effect[list[KISResponse]]):
    """Every page of a paged GET inquiry, of one consistent pass."""

    api: str
    params: Mapping[str, str] = field(default_factory=dict)
    variant: str | None = None


Plan = Effects[Effect[Any], Any]


def _record(reply: Mapping[str, Any], block: str) -> Mapping[str, Any]:
    value = reply.get(block)
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, Mapping) else {}


def _rows(reply: Mapping[str, Any], block: str) -> list[Mapping[str, Any]]:
    value = reply.get(block)
    if isinstance(value, Mapping):
        value = [value]
    return [row for row in value or () if isinstance(row, Mapping)]


# --- quotes -----------------------------------------------------------------------------------


def quote(symbol: str, market: str | None, now: datetime) -> Effects[Effect[Any], Quote]:
    listing = resolve(symbol, market)
    if listing.domestic:
        m = F.QUOTE_DOMESTIC
        params = {"FID_COND_MRKT_DIV_CODE": listing.market, "FID_INPUT_ISCD": listing.symbol}
        reply = yield from ask(Get(m.api, params))
        return _listed(Quote.from_domestic(_record(reply, m.block), listing, now), listing)
    m = F.QUOTE_OVERSEAS
    params = {"AUTH": "", "EXCD": listing.market, "SYMB": listing.symbol}
    reply = yield from ask(Get(m.api, params))
    return _listed(Quote.from_overseas(_record(reply, m.block), listing, now), listing)


def _listed(quote: Quote, listing: Any) -> Quote:
    # KIS answers a code it does not list with rt_cd 0 and every price "0": a price of zero is
    # no price, and a trading script must not take it for one.
    if not quote.price:
        raise KISUsageError(
            f"KIS has no price for {listing.symbol!r} on {listing.market}: not a listed code "
            "there (check the code, or the market/exchange)"
        )
    return quote


def order_book(symbol: str, market: str | None, now: datetime) -> Effects[Effect[Any], OrderBook]:
    listing = resolve(symbol, market)
    if not listing.domestic:
        raise KISUsageError("order_book() reads the domestic order book: give a KRX code")
    m = F.ORDER_BOOK
    params = {"FID_COND_MRKT_DIV_CODE": listing.market, "FID_INPUT_ISCD": listing.symbol}
    reply = yield from ask(Get(m.api, params))
    return OrderBook.from_record(_record(reply, m.block), listing, now)


# --- the account ------------------------------------------------------------------------------


def balance() -> Effects[Effect[Any], Balance]:
    # Every other parameter takes the default its description states (the client fills it).
    pages = yield from ask(GetAll(F.HOLDING_DOMESTIC.api, {"INQR_DVSN": "02"}))
    return Balance.from_domestic_pages(pages)


def overseas_balance(exchange: str, currency: str | None) -> Effects[Effect[Any], Balance]:
    where = overseas_exchange(exchange)
    code = where.exchange or ""
    money = (currency or where.currency).upper()
    pages = yield from ask(
        GetAll(F.HOLDING_OVERSEAS.api, {"OVRS_EXCG_CD": code, "TR_CRCY_CD": money})
    )
    return Balance.from_overseas_pages(pages, currency=money, exchange=code)


def overview() -> Effects[Effect[Any], AccountView]:
    domestic = yield from balance()
    # Foreign amounts (02), every country (000), market (00) and kind (00): KRW from KIS's rates.
    params = {
        "WCRC_FRCR_DVSN_CD": "02",
        "NATN_CD": "000",
        "TR_MKET_CD": "00",
        "INQR_DVSN_CD": "00",
    }
    present = yield from ask(Get(F.HOLDING_PRESENT.api, params))
    return AccountView.from_parts(domestic, present)


def daily_orders(
    start: date, end: date, symbol: str | None, venue: str, today: date
) -> Effects[Effect[Any], AnswerList[OrderRecord]]:
    if end < start:
        raise KISUsageError(f"daily_orders(): end {end} is before start {start}")
    params = {
        "INQR_STRT_DT": start.strftime("%Y%m%d"),
        "INQR_END_DT": end.strftime("%Y%m%d"),
        "SLL_BUY_DVSN_CD": "00",
        "PDNO": resolve(symbol).symbol if symbol else "",
        "ORD_GNO_BRNO": "",
        "ODNO": "",
        "CCLD_DVSN": "00",
        "INQR_DVSN": "00",
        "INQR_DVSN_1": "",
        "INQR_DVSN_3": "00",
        "EXCG_ID_DVSN_CD": venue,
    }
    # KIS splits the history: within the last three months (recent), and before (older).
    variant = "recent" if start >= today - timedelta(days=92) else "older"
    pages = yield from ask(GetAll(F.ORDER_RECORD.api, params, variant))
    return AnswerList(
        OrderRecord.from_record(row, start)
        for page in pages
        for row in _rows(page, F.ORDER_RECORD.block)
        if F.ORDER_RECORD.text(row, "order_no")
    )


def orderable(symbol: str, price: Any, market: str | None) -> Effects[Effect[Any], Orderable]:
    listing = resolve(symbol, market)
    if listing.domestic:
        m = F.ORDERABLE_DOMESTIC
        params = {
            "PDNO": listing.symbol,
            # KIS documents a blank price for a market inquiry; "0" is taken as the same (the
            # sandbox takes only digits) and keeps the margin-rate division (01) below.
            "ORD_UNPR": "0" if price is None else str(price),
            "ORD_DVSN": "01" if price is None else "00",  # market: the margin rate applies
            "CMA_EVLU_AMT_ICLD_YN": "N",
            "OVRS_ICLD_YN": "N",
        }
        reply = yield from ask(Get(m.api, params))
        return Orderable.from_record(_record(reply, m.block), listing.symbol, m)
    if price is None:
        raise KISUsageError("orderable() of an overseas symbol needs price= (KIS's own input)")
    m = F.ORDERABLE_OVERSEAS
    params = {
        "OVRS_EXCG_CD": listing.exchange or "",
        "OVRS_ORD_UNPR": str(price),
        "ITEM_CD": listing.symbol,
    }
    reply = yield from ask(Get(m.api, params))
    return Orderable.from_record(_record(reply, m.block), listing.symbol, m)


# --- charts -----------------------------------------------------------------------------------


def chart(
    symbol: str,
    *,
    interval: str,
    start: datetime | date | None,
    end: datetime | date | None,
    count: int | None,
    market: str | None,
    now: datetime,
) -> Effects[Effect[Any], Chart[Bar]]:
    """Bars oldest first, at most ``count`` (the newest ones), within ``start``..``end``."""
    if interval not in ("1d", "1m"):
        raise KISUsageError(f"interval must be '1d' or '1m', not {interval!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise KISUsageError(f"count must be a positive int or None, not {count!r}")
    listing = resolve(symbol, market)
    lo, hi = _moment(start, listing), _moment(end, listing)
    if lo is not None and hi is not None and hi < lo:
        raise KISUsageError(f"chart(): end {end} is before start {start}")
    wanted = count if count is not None else (None if lo is not None else DEFAULT_BARS)
    pager = _daily if interval == "1d" else _minutes
    bars = yield from pager(listing, lo, hi, now.astimezone(KST), wanted)
    chosen = sorted(
        (b for b in bars.values() if (lo is None or b.time >= lo) and (hi is None or b.time <= hi)),
        key=lambda b: b.time,
    )
    return Chart(chosen[-wanted:] if wanted else chosen)


def _moment(value: datetime | date | None, listing: Listing) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise KISUsageError(f"chart() takes aware datetimes (or dates), not {value!r}")
        return value.astimezone(KST)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time(), tzinfo=listing.zone).astimezone(KST)
    raise KISUsageError(f"chart() takes a datetime, a date or None, not {value!r}")


def _enough(bars: Mapping[datetime, Bar], lo: datetime | None, wanted: int | None) -> bool:
    if wanted is not None and len(bars) >= wanted:
        return True
    return lo is not None and bool(bars) and min(bars) <= lo


def _daily(
    listing: Listing, lo: datetime | None, hi: datetime | None, now: datetime, wanted: int | None
) -> Effects[Effect[Any], dict[datetime, Bar]]:
    """Daily bars by the period chart API, walking its end date back (KIS answers at most 100
    bars a call, newest first)."""
    domestic = listing.domestic
    m = F.BAR_DOMESTIC_DAILY if domestic else F.BAR_OVERSEAS_DAILY
    bars: dict[datetime, Bar] = {}
    last_day = (hi or now).astimezone(listing.zone).date()
    for _ in range(MAX_CHART_CALLS):
        if domestic:
            span = timedelta(days=2 * (wanted or DEFAULT_BARS) + 10)  # trading days: ~5 in 7
            first = lo.astimezone(listing.zone).date() if lo is not None else last_day - span
            params = {
                "FID_COND_MRKT_DIV_CODE": listing.market,
                "FID_INPUT_ISCD": listing.symbol,
                "FID_INPUT_DATE_1": first.strftime("%Y%m%d"),
                "FID_INPUT_DATE_2": last_day.strftime("%Y%m%d"),
                "FID_PERIOD_DIV_CODE": "D",
                "FID_ORG_ADJ_PRC": "0",
            }
        else:
            params = {
                "AUTH": "",
                "EXCD": listing.market,
                "SYMB": listing.symbol,
                "GUBN": "0",
                "BYMD": last_day.strftime("%Y%m%d"),
                "MODP": "1",
            }
        reply = yield from ask(Get(m.api, params))
        page = [Bar.from_record(row, listing, m) for row in _rows(reply, m.block)]
        new = [b for b in page if b is not None and b.time not in bars and b.day <= last_day]
        if not new:
            break
        bars.update((b.time, b) for b in new)
        if _enough(bars, lo, wanted):
            break
        last_day = min(b.day for b in new) - timedelta(days=1)
    return bars


def _minutes(
    listing: Listing, lo: datetime | None, hi: datetime | None, now: datetime, wanted: int | None
) -> Effects[Effect[Any], dict[datetime, Bar]]:
    """Minute bars, walking KIS's time cursor back: domestic ``FID_INPUT_HOUR_1`` (today's
    bars up to that time), overseas ``NEXT``/``KEYB`` (a minute before the oldest bar)."""
    m = F.BAR_DOMESTIC_MINUTE if listing.domestic else F.BAR_OVERSEAS_MINUTE
    bars: dict[datetime, Bar] = {}
    cursor = hi or now
    for calls in range(MAX_CHART_CALLS):
        if listing.domestic:
            params = {
                "FID_COND_MRKT_DIV_CODE": listing.market,
                "FID_INPUT_ISCD": listing.symbol,
                "FID_INPUT_HOUR_1": cursor.astimezone(KST).strftime("%H%M%S"),
                "FID_PW_DATA_INCU_YN": "N",
                "FID_ETC_CLS_CODE": "",
            }
        else:
            # KEYB: the exchange's local time a minute before the oldest bar so far.
            keyb = (cursor - timedelta(minutes=1)).astimezone(listing.zone)
            params = {
                "AUTH": "",
                "EXCD": listing.market,
                "SYMB": listing.symbol,
                "NMIN": "1",
                "PINC": "1",
                "NEXT": "1" if calls else "",
                "NREC": "120",
                "FILL": "",
                "KEYB": keyb.strftime("%Y%m%d%H%M%S") if calls else "",
            }
        reply = yield from ask(Get(m.api, params))
        page = [Bar.from_record(row, listing, m) for row in _rows(reply, m.block)]
        # Later calls must bring older bars; the first takes what KIS has up to the cursor.
        fresh = [b for b in page if b is not None and b.time not in bars]
        new = [b for b in fresh if b.time < cursor] if calls else fresh
        if not new:
            break  # nothing older came back: the start of KIS's history (or of today)
        bars.update((b.time, b) for b in new)
        if _enough(bars, lo, wanted):
            break
        cursor = min(b.time for b in new)
    return bars
