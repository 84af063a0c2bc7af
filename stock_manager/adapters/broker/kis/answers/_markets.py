"""Which API family a symbol belongs to: a KRX code, or an overseas ticker on an exchange.

KIS names exchanges two ways: its quote APIs take ``EXCD`` (``NAS``, ``TSE``...), its order and
account APIs ``OVRS_EXCG_CD`` (``NASD``, ``TKSE``...). A caller may give either; both are
checked against the catalog's code lists by the test suite. Currencies and time zones per
exchange are facts about the exchanges, which KIS's APIs do not state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..errors import KISUsageError
from ._values import KST

__all__ = ["Listing", "overseas_exchange", "resolve"]

#: ``FID_COND_MRKT_DIV_CODE`` of the domestic quote APIs, by the names a caller may use.
DOMESTIC_DIVISIONS = {"KRX": "J", "J": "J", "NXT": "NX", "NX": "NX", "UN": "UN", "ALL": "UN"}
#: Order/account exchange code (``OVRS_EXCG_CD``) -> quote exchange code (``EXCD``).
ORDER_TO_QUOTE = {
    "NASD": "NAS",
    "NYSE": "NYS",
    "AMEX": "AMS",
    "SEHK": "HKS",
    "SHAA": "SHS",
    "SZAA": "SZS",
    "TKSE": "TSE",
    "HASE": "HNX",
    "VNSE": "HSX",
}
QUOTE_TO_ORDER = {quote: order for order, quote in ORDER_TO_QUOTE.items()} | {
    # KIS's US day-trading quote codes quote the same listings.
    "BAQ": "NASD",
    "BAY": "NYSE",
    "BAA": "AMEX",
}
_NEW_YORK = ZoneInfo("America/New_York")
#: Quote exchange code -> (currency, time zone).
EXCHANGES: dict[str, tuple[str, ZoneInfo]] = {
    **dict.fromkeys(("NAS", "NYS", "AMS", "BAQ", "BAY", "BAA"), ("USD", _NEW_YORK)),
    "HKS": ("HKD", ZoneInfo("Asia/Hong_Kong")),
    "SHS": ("CNY", ZoneInfo("Asia/Shanghai")),
    "SZS": ("CNY", ZoneInfo("Asia/Shanghai")),
    "TSE": ("JPY", ZoneInfo("Asia/Tokyo")),
    "HSX": ("VND", ZoneInfo("Asia/Ho_Chi_Minh")),
    "HNX": ("VND", ZoneInfo("Asia/Ho_Chi_Minh")),
}
# A KRX short code: six characters, a digit first (ETNs may carry KIS's "Q" prefix).
_KRX_CODE = re.compile(r"Q?[0-9][0-9A-Z]{5}")


@dataclass(frozen=True)
class Listing:
    """A symbol and where it trades: ``market`` is the domestic division (J/NX/UN) or the
    quote exchange code (EXCD); ``exchange`` the order/account code overseas, else None."""

    symbol: str
    domestic: bool
    market: str
    currency: str
    zone: ZoneInfo
    exchange: str | None = None


def resolve(symbol: str, market: str | None = None) -> Listing:
    """The listing for ``symbol``: a six-character KRX code needs no ``market`` (KRX by
    default; ``"NXT"``, ``"UN"`` for the others); an overseas ticker needs its exchange, as
    KIS's quote code (``"NAS"``) or order code (``"NASD"``). Raises :class:`KISUsageError`."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise KISUsageError(f"symbol must be a non-empty string, not {symbol!r}")
    code = symbol.strip().upper()
    where = market.strip().upper() if isinstance(market, str) else None
    if market is not None and not where:
        raise KISUsageError(f"market must be a non-empty string or None, not {market!r}")
    if where is None or where in DOMESTIC_DIVISIONS:
        if not _KRX_CODE.fullmatch(code):
            raise KISUsageError(
                f"{symbol!r} is no KRX code (six characters, e.g. '005930'): an overseas "
                "ticker needs its exchange, e.g. market='NAS' (or 'NASD', 'NYS', 'TSE'...)"
            )
        return Listing(code, True, DOMESTIC_DIVISIONS[where or "KRX"], "KRW", KST)
    quote = ORDER_TO_QUOTE.get(where, where)
    if quote not in EXCHANGES:
        known = ", ".join(sorted({*DOMESTIC_DIVISIONS, *EXCHANGES, *ORDER_TO_QUOTE}))
        raise KISUsageError(f"unknown market {market!r}: one of {known}")
    currency, zone = EXCHANGES[quote]
    return Listing(code, False, quote, currency, zone, QUOTE_TO_ORDER[quote])


def overseas_exchange(market: str) -> Listing:
    """The overseas exchange ``market`` names (quote or order code), as a symbol-less
    :class:`Listing` (its ``exchange`` is the order/account code). Raises
    :class:`KISUsageError` for a domestic or unknown market."""
    where = market.strip().upper() if isinstance(market, str) else ""
    quote = ORDER_TO_QUOTE.get(where, where)
    if quote not in EXCHANGES:
        known = ", ".join(sorted({*EXCHANGES, *ORDER_TO_QUOTE}))
        raise KISUsageError(f"{market!r} is no overseas exchange: one of {known}")
    currency, zone = EXCHANGES[quote]
    return Listing("", False, quote, currency, zone, QUOTE_TO_ORDER[quote])
