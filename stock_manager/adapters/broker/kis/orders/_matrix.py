"""The order-type matrix: which divisions each venue, exchange, TR and environment takes.

Checked before anything is sent, so a refused order costs no request and no rate budget.
The codes come from the catalog (``ORD_DVSN`` per venue for domestic stocks, ``ORD_DVSN`` and
``OVRS_EXCG_CD`` for overseas, ``ORD_DVSN_CD`` for futures); what the catalog holds only as
prose in KIS's workbook is restated here and checked against that prose by the tests:

* domestic paper takes KRX only ("모의투자는 KRX만 가능", EXCG_ID_DVSN_CD);
* overseas has no market order: a price is required, except US MOO/MOC (sells) which take
  ``"0"``; per TR: US buy 00/32/34/35/36, US sell 00/31/32/33/34/35/36, Hong Kong sell 00/50,
  every other TR 00 only ("[그외 tr_id] 제거"); paper takes 00 only;
* TWAP/VWAP (35/36) orders cannot be modified ("TWAP, VWAP 주문은 정정 불가").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from ..catalog import Catalog
from ..errors import KISUsageError
from ._names import spec
from .errors import KISOrderTypeError
from .model import KST, Kind, OrderRequest, Side

__all__ = [
    "MARKET_OF_EXCHANGE",
    "UNMODIFIABLE",
    "futures_session",
    "new_request",
    "order_variant",
    "rvsecncl_variant",
]

#: Overseas exchange -> the market key of its TR variants (``buy-jp``, ``jp``...; US: none).
MARKET_OF_EXCHANGE = {
    "NASD": "us",
    "NYSE": "us",
    "AMEX": "us",
    "TKSE": "jp",
    "SEHK": "hk",
    "SHAA": "sh",
    "SZAA": "sz",
    "HASE": "vn",
    "VNSE": "vn",
}
#: Overseas divisions per (market, side) on real (KIS's workbook, ORD_DVSN).
OVERSEAS_DIVISIONS: dict[tuple[str, Side], frozenset[str]] = {
    ("us", "buy"): frozenset({"00", "32", "34", "35", "36"}),
    ("us", "sell"): frozenset({"00", "31", "32", "33", "34", "35", "36"}),
    ("hk", "sell"): frozenset({"00", "50"}),
}
OVERSEAS_UNPRICED = frozenset({"31", "33"})  # MOO, MOC: price "0"
UNMODIFIABLE = frozenset({"35", "36"})  # TWAP, VWAP
#: Domestic stock divisions that carry a limit price (the rest are sent with ORD_UNPR "0").
STOCK_PRICED = frozenset({"00", "02", "07", "11", "12", "22"})
#: Futures divisions that carry a limit price (ORD_DVSN_CD).
FUTURES_PRICED = frozenset({"01", "03", "10", "11"})
#: KRX derivatives sessions in KST: day 08:45-15:45, night 18:00-06:00 (KIS's hours).
DAY_SESSION = (time(8, 45), time(15, 45))
NIGHT_SESSION = (time(18, 0), time(6, 0))


def new_request(
    catalog: Catalog,
    *,
    paper: bool,
    product: str,
    side: Side,
    symbol: object,
    quantity: object,
    price: object,
    venue: str | None,
    exchange: str | None,
    kind: str | None,
    session: str | None,
    division: str | None,
    now: Callable[[], datetime],
) -> OrderRequest:
    """Check a new order against the matrix and return it as an :class:`OrderRequest`."""
    code = _symbol(symbol)
    qty = _quantity(quantity)
    limit = _price(price)
    which = _kind(kind, exchange)
    if which == "overseas":
        return _overseas(
            catalog, paper=paper, side=side, symbol=code, quantity=qty, price=limit,
            exchange=str(exchange), division=division, venue=venue,
        )  # fmt: skip
    if venue is not None and which == "future":
        raise KISUsageError("venue= is for domestic stocks; futures trade on KRX")
    if which == "future":
        return _future(
            catalog, paper=paper, product=product, side=side, symbol=code, quantity=qty,
            price=limit, session=session, division=division, now=now,
        )  # fmt: skip
    if session is not None:
        raise KISUsageError("session= is for futures and options (kind='future')")
    return _stock(
        catalog, paper=paper, side=side, symbol=code, quantity=qty, price=limit, venue=venue,
        division=division,
    )  # fmt: skip


def _kind(kind: str | None, exchange: str | None) -> Kind:
    if kind not in (None, "stock", "future"):
        raise KISUsageError(f"kind must be None, 'stock' or 'future', not {kind!r}")
    if exchange is not None:
        if kind == "future":
            raise KISUsageError("exchange= names an overseas stock exchange, not a future's")
        return "overseas"
    return "future" if kind == "future" else "stock"


def _symbol(symbol: object) -> str:
    if not isinstance(symbol, str) or not symbol.strip() or len(symbol.strip()) > 12:
        raise KISUsageError(f"symbol must be a code of 1-12 characters, not {symbol!r:.40}")
    return symbol.strip()


def _quantity(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise KISUsageError(f"quantity must be a positive int, not {quantity!r:.40}")
    return quantity


def _price(price: object) -> Decimal | None:
    if price is None:
        return None
    if isinstance(price, bool) or not isinstance(price, int | str | Decimal | float):
        raise KISUsageError(f"price must be a number, not {type(price).__name__}")
    try:
        value = Decimal(str(price))
    except InvalidOperation:
        raise KISUsageError(f"price must be a number, not {price!r:.40}") from None
    if not value.is_finite() or value <= 0:
        raise KISUsageError(f"price must be a positive number, not {price!r:.40}")
    return value


def _stock(
    catalog: Catalog,
    *,
    paper: bool,
    side: Side,
    symbol: str,
    quantity: int,
    price: Decimal | None,
    venue: str | None,
    division: str | None,
) -> OrderRequest:
    api = spec(catalog, "order-cash")
    venues = {p.name: p for p in api.params}
    where = (venue or "KRX").upper()
    if where not in venues["EXCG_ID_DVSN_CD"].codes:
        raise KISUsageError(f"venue must be one of {', '.join(venues['EXCG_ID_DVSN_CD'].codes)}")
    if paper and where != "KRX":
        raise KISOrderTypeError(f"paper trading takes KRX orders only, not {where} (KIS)")
    code = division or ("00" if price is not None else "01")
    allowed = venues["ORD_DVSN"].codes_by_venue.get(where, venues["ORD_DVSN"].codes)
    if code not in allowed:
        raise KISOrderTypeError(
            f"{where} does not take order division {code!r}: one of {', '.join(allowed)}"
        )
    _check_price(code in STOCK_PRICED, price, code)
    if price is not None and price != price.to_integral_value():
        raise KISUsageError(f"a domestic price is whole won, not {price}")
    return OrderRequest("stock", symbol, side, quantity, price, code, venue=where)


def _overseas(
    catalog: Catalog,
    *,
    paper: bool,
    side: Side,
    symbol: str,
    quantity: int,
    price: Decimal | None,
    exchange: str,
    division: str | None,
    venue: str | None,
) -> OrderRequest:
    if venue is not None:
        raise KISUsageError("venue= is for domestic stocks; an overseas order names exchange=")
    api = spec(catalog, "overseas-order")
    codes = {p.name: p.codes for p in api.params}
    where = exchange.upper()
    if where not in codes["OVRS_EXCG_CD"] or where not in MARKET_OF_EXCHANGE:
        raise KISUsageError(f"exchange must be one of {', '.join(codes['OVRS_EXCG_CD'])}")
    code = division or "00"
    market = MARKET_OF_EXCHANGE[where]
    allowed = (
        frozenset({"00"}) if paper else OVERSEAS_DIVISIONS.get((market, side), frozenset({"00"}))
    )
    if code not in allowed or code not in codes["ORD_DVSN"]:
        domain = "paper" if paper else "real"
        raise KISOrderTypeError(
            f"{where} {side} orders on {domain} take division {', '.join(sorted(allowed))}, "
            f"not {code!r} (KIS)"
        )
    if price is None and code not in OVERSEAS_UNPRICED:
        raise KISOrderTypeError(
            "KIS has no overseas market order: give a limit price (or, on real US sells, "
            "division='31' MOO / '33' MOC)"
        )
    _check_price(code not in OVERSEAS_UNPRICED, price, code)
    return OrderRequest("overseas", symbol, side, quantity, price, code, exchange=where)


def _future(
    catalog: Catalog,
    *,
    paper: bool,
    product: str,
    side: Side,
    symbol: str,
    quantity: int,
    price: Decimal | None,
    session: str | None,
    division: str | None,
    now: Callable[[], datetime],
) -> OrderRequest:
    if product != "03":
        raise KISUsageError(
            f"futures/options trade on a 선물옵션 account (product 03), not {product}: "
            "configure account_no as 'NNNNNNNN-03'"
        )
    api = spec(catalog, "futureoption-order")
    # Paper offers the day session only, so there is nothing to choose; real follows the clock.
    which = session or ("day" if paper else futures_session(now()))
    api.tr_id_for(paper, which)  # KISPaperTradingUnsupportedError: night on paper
    codes = {p.name: p.codes for p in api.params}["ORD_DVSN_CD"]
    code = division or ("01" if price is not None else "02")
    if code not in codes:
        raise KISOrderTypeError(f"futures take division {', '.join(codes)}, not {code!r}")
    _check_price(code in FUTURES_PRICED, price, code)
    return OrderRequest("future", symbol, side, quantity, price, code, session=which)


def _check_price(priced: bool, price: Decimal | None, code: str) -> None:
    if priced and price is None:
        raise KISOrderTypeError(f"division {code!r} is a limit order: give a price")
    if not priced and price is not None:
        raise KISOrderTypeError(f"division {code!r} takes no price: leave price=None")


def futures_session(moment: datetime) -> str:
    """``"day"`` or ``"night"``: the KRX derivatives session at ``moment`` (KST hours).

    Outside both (15:45-18:00, 06:00-08:45) there is no session to send to: KIS would refuse
    the order, so it is refused here, naming ``session=`` for a caller who knows better.
    Holidays are not known here; KIS refuses an order on one itself.
    """
    local = moment.astimezone(KST).time()
    if DAY_SESSION[0] <= local < DAY_SESSION[1]:
        return "day"
    if local >= NIGHT_SESSION[0] or local < NIGHT_SESSION[1]:
        return "night"
    raise KISOrderTypeError(
        f"no KRX derivatives session at {local:%H:%M} KST (day 08:45-15:45, night 18:00-06:00): "
        "pass session='day' or 'night'"
    )


def order_variant(request: OrderRequest) -> str:
    """The TR variant of the new-order API for ``request`` (catalog variant names)."""
    if request.kind == "future":
        return str(request.session)
    if request.kind == "overseas":
        market = MARKET_OF_EXCHANGE[str(request.exchange)]
        return request.side if market == "us" else f"{request.side}-{market}"
    return request.side


def rvsecncl_variant(kind: Kind, exchange: str | None, session: str | None) -> str | None:
    """The TR variant of the modify/cancel API (None: the API has one TR_ID)."""
    if kind == "future":
        return session or "day"
    if kind == "overseas":
        return MARKET_OF_EXCHANGE.get(str(exchange), "us")
    return None


def describe(values: dict[str, Any]) -> str:
    """A short text of an order for messages (no account number)."""
    return " ".join(f"{k}={v}" for k, v in values.items() if v is not None)
