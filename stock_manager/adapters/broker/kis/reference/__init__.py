"""Reference data: KRX's calendar and market hours (:mod:`.market`), and symbols (:mod:`.symbols`).

Both take a client and are built on pure cores shared by their sync and async twins::

    market = Market(client)            # AsyncMarket(async_client)
    market.is_open("KRX"); market.next_session("NASD"); market.is_holiday(date(2026, 3, 2))
    symbols = Symbols(client)          # AsyncSymbols(async_client)
    symbols.get("005930").name; symbols.find("Apple", exact=True)
"""

from __future__ import annotations

from .calendar import DayInfo, Settlement
from .market import AsyncMarket, Market
from .master import MASTER_FILES, Symbol, parse_master
from .sessions import MARKETS, Session
from .symbols import KIS_MASTER_URL, AsyncSymbols, SymbolIndex, Symbols

__all__ = [
    "KIS_MASTER_URL",
    "MARKETS",
    "MASTER_FILES",
    "AsyncMarket",
    "AsyncSymbols",
    "DayInfo",
    "Market",
    "Session",
    "Settlement",
    "Symbol",
    "SymbolIndex",
    "Symbols",
    "parse_master",
]
