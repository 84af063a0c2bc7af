"""The reply fields whose meaning the sandbox's market knows, filled from it for one symbol.

:mod:`.documented` answers some 240 APIs with values drawn from a seed of the request. When such
a request names a symbol (:func:`symbol_of`), the fields that describe that symbol (its price,
change, volume, limits, name, order book, chart bars) are overwritten here from
:class:`~stock_manager.sandbox.market.Market`, so every API agrees with inquire-price about the
same symbol at the same market moment. A symbol the market does not list gets those fields as
inquire-price answers an unlisted code: numbers "0", text blank, the reply's shape unchanged.

Which blocks are about the symbol is read from their fields, not listed per API:

* an object block holding a price field of :data:`SNAPSHOT` describes the symbol now;
* an array block with a date or time field and no per-row symbol or name is the symbol's
  history: daily bars (a date only), minute bars (date and time) or trades (a time only),
  newest first, as KIS orders them;
* an array block of ``bid_price``/``ask_price`` rows (overseas futures) is the book, best first.

Anything else (lists of other symbols, index blocks, account data) keeps its seeded values.

Choices where KIS publishes nothing: overseas prices carry four decimals in the US (KIS's
examples do), three in Hong Kong, two in China, one in Tokyo and none in Vietnam, with ``zdiv``
saying so; CME futures the decimals of their tick; KRX derivatives two; won prices none.
Weekly and monthly periods (FID_PERIOD_DIV_CODE W/M) still answer daily bars.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import sessions, walk
from stock_manager.sandbox.market import Market, Snapshot
from stock_manager.sandbox.universe import Instrument
from stock_manager.sandbox.walk import Bar

__all__ = [
    "EXCHANGES",
    "SNAPSHOT",
    "Subject",
    "apply",
    "decimals",
    "price_text",
    "symbol_of",
]

#: KIS's quote-API exchange codes (EXCD) and the universe's markets they name. The day-trading
#: codes (BAQ/BAY/BAA) quote the same US listings.
EXCHANGES: dict[str, str] = {
    "NAS": "NASD",
    "NYS": "NYSE",
    "AMS": "AMEX",
    "BAQ": "NASD",
    "BAY": "NYSE",
    "BAA": "AMEX",
    "TSE": "TKSE",
    "HKS": "SEHK",
    "SHS": "SHAA",
    "SZS": "SZAA",
    "HSX": "VNSE",
    "HNX": "HASE",
}
_MARKET_DECIMALS = {
    "NASD": 4,
    "NYSE": 4,
    "AMEX": 4,
    "SEHK": 3,
    "SHAA": 2,
    "SZAA": 2,
    "TKSE": 1,
    "HASE": 0,
    "VNSE": 0,
}
_DERIVATIVES = frozenset({"index_future", "stock_future", "index_option"})

#: Field name -> what it shows of the symbol now (a :class:`Snapshot` attribute or one of
#: ``name``/``name_en``/``code``/``ask``/``bid``/``zdiv``/``currency``).
SNAPSHOT: dict[str, str] = {
    **dict.fromkeys(
        (
            "stck_prpr",
            "prpr",
            "last",
            "futs_prpr",
            "optn_prpr",
            "bond_prpr",
            "last_price",
        ),
        "last",
    ),
    **dict.fromkeys(
        ("stck_oprc", "open", "futs_oprc", "optn_oprc", "bond_oprc", "open_price"), "open"
    ),
    **dict.fromkeys(
        ("stck_hgpr", "high", "futs_hgpr", "optn_hgpr", "bond_hgpr", "high_price"), "high"
    ),
    **dict.fromkeys(
        ("stck_lwpr", "low", "futs_lwpr", "optn_lwpr", "bond_lwpr", "low_price", "lowp_rice"),
        "low",
    ),
    **dict.fromkeys(
        (
            "stck_sdpr",
            "stck_prdy_clpr",
            "futs_prdy_clpr",
            "futs_sdpr",
            "bond_prdy_clpr",
            "base",
            "prev_price",
        ),
        "previous_close",
    ),
    **dict.fromkeys(
        (
            "prdy_vrss",
            "futs_prdy_vrss",
            "optn_prdy_vrss",
            "bond_prdy_vrss",
            "diff",
            "prev_diff_price",
        ),
        "change",
    ),
    **dict.fromkeys(("prdy_vrss_sign", "sign"), "sign"),
    **dict.fromkeys(
        ("prdy_ctrt", "futs_prdy_ctrt", "optn_prdy_ctrt", "rate", "prev_diff_rate"), "rate"
    ),
    **dict.fromkeys(("acml_vol", "tvol", "vol"), "volume"),
    **dict.fromkeys(("acml_tr_pbmn", "tamt"), "turnover"),
    **dict.fromkeys(("stck_mxpr", "futs_mxpr", "optn_mxpr", "bond_mxpr", "uplp"), "upper"),
    **dict.fromkeys(("stck_llam", "futs_llam", "optn_llam", "bond_llam", "dnlp"), "lower"),
    **dict.fromkeys(("hts_kor_isnm", "prdt_name", "prdt_abrv_name", "name"), "name"),
    **dict.fromkeys(("prdt_eng_name", "prdt_eng_abrv_name", "ename"), "name_en"),
    **dict.fromkeys(("stck_shrn_iscd", "futs_shrn_iscd", "symb", "pdno", "stnd_iscd"), "code"),
    **dict.fromkeys(("aspr_unit", "tick_size"), "tick"),
    **dict.fromkeys(("askp", "futs_askp", "optn_askp", "pask", "ask_price"), "ask"),
    **dict.fromkeys(("bidp", "futs_bidp", "optn_bidp", "pbid", "bid_price"), "bid"),
    "zdiv": "zdiv",
    "curr": "currency",
}
_PRICES = frozenset({"last", "open", "high", "low", "previous_close", "upper", "lower", "tick"})
# A block is about the symbol when it shows one of these (names alone also head index blocks).
_ANCHORS = _PRICES | {"ask", "bid"}
_TEXT = frozenset({"name", "name_en", "code", "currency"})
# Order-book levels: ``askp3`` is the third ask's price, ``askp_rsqn3`` its quantity.
_LEVEL = re.compile(
    r"(?:futs_|optn_|bond_)?(?P<side>askp|bidp|pask|pbid)(?P<qty>_rsqn)?(?P<n>\d+)"
    r"|(?P<vside>vask|vbid)(?P<vn>\d+)"
)
_TOTALS = {"total_askp_rsqn": "asks", "total_bidp_rsqn": "bids"}

# History rows: field -> what it shows of one bar or trade.
_ROW_DATE = frozenset(
    {"stck_bsop_date", "bsop_date", "deal_date", "data_date", "xymd", "kymd", "tymd"}
)
_ROW_TIME = frozenset({"stck_cntg_hour", "bsop_hour", "data_time", "khms", "xhms"})
_ROW: dict[str, str] = {
    **dict.fromkeys(_ROW_DATE, "date"),
    **dict.fromkeys(_ROW_TIME, "time"),
    **dict.fromkeys(
        ("stck_oprc", "open", "futs_oprc", "optn_oprc", "bond_oprc", "open_price"), "open"
    ),
    **dict.fromkeys(
        ("stck_hgpr", "high", "futs_hgpr", "optn_hgpr", "bond_hgpr", "high_price"), "high"
    ),
    **dict.fromkeys(
        ("stck_lwpr", "low", "futs_lwpr", "optn_lwpr", "bond_lwpr", "low_price"), "low"
    ),
    **dict.fromkeys(
        (
            "stck_clpr",
            "clos",
            "last",
            "stck_prpr",
            "futs_prpr",
            "optn_prpr",
            "bond_prpr",
            "last_price",
        ),
        "close",
    ),
    **dict.fromkeys(("acml_vol", "cntg_vol", "tvol", "evol", "vol"), "volume"),
    **dict.fromkeys(("prdy_vrss", "futs_prdy_vrss", "diff", "prev_diff_price"), "change"),
    **dict.fromkeys(("prdy_vrss_sign", "sign"), "sign"),
    **dict.fromkeys(("prdy_ctrt", "futs_prdy_ctrt", "rate", "prev_diff_rate"), "rate"),
}
# A row naming a symbol belongs to a list of symbols, not to one symbol's history.
_ROW_IDENTITY = re.compile(r".*(_iscd|_isnm|_name|symb|rsym|pdno|_nm)$")
_BOOK_ROW = frozenset({"bid_price", "ask_price"})
_BOOK_ROW_FIELDS = {
    "bid_price": ("bids", 0),
    "bid_qntt": ("bids", 1),
    "ask_price": ("asks", 0),
    "ask_qntt": ("asks", 1),
}
_TICK_WINDOW = timedelta(days=5)  # enough trading history for a page of trades over a weekend
_TWO = Decimal("0.01")
_OLDEST_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class Subject:
    """The symbol a request names: its code as sent and the instrument, None if unlisted."""

    code: str
    instrument: Instrument | None


def _family(path: str) -> tuple[tuple[str, ...], Callable[[Instrument], bool]] | None:
    """The parameters naming the symbol for ``path``'s API family and the kinds it serves."""
    if "/quotations/" not in path:
        return None  # account and trading inquiries list holdings, not one symbol's market
    if path.startswith(("/uapi/domestic-stock/", "/uapi/etfetn/")):
        return ("FID_INPUT_ISCD", "PDNO", "MKSC_SHRN_ISCD"), lambda i: i.is_domestic
    if path.startswith("/uapi/domestic-futureoption/"):
        return ("FID_INPUT_ISCD",), lambda i: i.kind in _DERIVATIVES
    if path.startswith("/uapi/domestic-bond/"):
        return ("FID_INPUT_ISCD", "PDNO"), lambda i: i.kind == "bond"
    if path.startswith("/uapi/overseas-futureoption/"):
        return ("SRS_CD",), lambda i: i.kind == "overseas_future"
    if path.startswith("/uapi/overseas-price/"):
        return ("SYMB",), lambda i: i.kind == "overseas_stock"
    return None


def _looks_like_symbol(path: str, code: str) -> bool:
    # Domestic quote APIs also take market and index codes in FID_INPUT_ISCD ("0000", "0001",
    # "1001"): four characters, never a six-character KRX short code or a 12-character ISIN.
    if path.startswith(("/uapi/domestic-stock/", "/uapi/etfetn/")):
        return len(code) == 6 and code.isascii() and code.isalnum()
    return 0 < len(code) <= 32 and code.isascii() and code.isprintable()


def symbol_of(market: Market, path: str, params: Mapping[str, Any]) -> Subject | None:
    """The symbol a quote request names, or None when it names none (or a market, an index).

    ``params`` are the query or body under upper-case names. Overseas quotes name the symbol by
    SYMB and its exchange by EXCD (KIS's quote codes, :data:`EXCHANGES`); an EXCD the sandbox
    does not know leaves the request unmodelled rather than unlisted.
    """
    family = _family(path)
    if family is None:
        return None
    names, serves = family
    code = next(
        (
            value.strip()
            for name in names
            if isinstance(value := params.get(name), str) and value.strip()
        ),
        "",
    )
    if not code or not _looks_like_symbol(path, code):
        return None
    where: str | None = None
    if path.startswith("/uapi/overseas-price/"):
        excd = params.get("EXCD")
        where = EXCHANGES.get(excd.strip().upper()) if isinstance(excd, str) else None
        if where is None:
            return None
    instrument = market.lookup(code, where)
    if instrument is not None and not serves(instrument):
        instrument = None
    return Subject(code, instrument)


def decimals(instrument: Instrument) -> int:
    """How many decimals KIS writes ``instrument``'s prices with (see the module docstring)."""
    if instrument.kind == "overseas_stock":
        return _MARKET_DECIMALS.get(instrument.market, 2)
    if instrument.kind == "overseas_future":
        return 2
    if instrument.kind in _DERIVATIVES:
        return 2
    return 0


def price_text(instrument: Instrument, value: Decimal) -> str:
    """``value`` as KIS writes a price of ``instrument``."""
    return f"{value:.{decimals(instrument)}f}"


def apply(
    market: Market,
    subject: Subject,
    *,
    response: list[dict[str, Any]],
    params: Mapping[str, Any],
    reply: dict[str, Any],
    rows: tuple[int, int],
) -> int:
    """Overwrite ``reply``'s fields about ``subject`` in place; the number of blocks touched.

    ``response`` is the API's documented blocks, ``rows`` the records ``first``..``end`` each
    array block holds (a later page holds later, older records).
    """
    instrument = subject.instrument
    snap = market.snapshot(instrument) if instrument is not None else None
    touched = 0
    for block in response:
        name = block["name"]
        value = reply.get(name)
        fields = [_plain(field[0]) for field in block["fields"]]
        if name == "body" or value is None:
            continue
        if isinstance(value, dict) and _is_snapshot_block(fields):
            _fill_snapshot(value, instrument, snap)
            touched += 1
        elif isinstance(value, list) and set(fields) >= _BOOK_ROW:
            _fill_book_rows(value, instrument, snap, rows[0])
            touched += 1
        elif isinstance(value, list) and _is_history(fields):
            _fill_history(value, market, instrument, fields=fields, params=params, span=rows)
            touched += 1
    return touched


def _plain(name: str) -> str:
    # A few sheets prefix names with "-" (an outline marker); the reply uses them as written.
    return name.lstrip("-").lower()


def _is_snapshot_block(fields: list[str]) -> bool:
    return any(SNAPSHOT.get(f) in _ANCHORS or _LEVEL.fullmatch(f) for f in fields)


def _is_history(fields: list[str]) -> bool:
    dated = any(f in _ROW_DATE or f in _ROW_TIME for f in fields)
    priced = any(_ROW.get(f) == "close" for f in fields)
    return dated and priced and not any(_ROW_IDENTITY.fullmatch(f) for f in fields)


def _blank(meaning: str) -> str:
    return "" if meaning in _TEXT or meaning in ("date", "time") else "0"


def _fill_snapshot(
    record: dict[str, Any], instrument: Instrument | None, snap: Snapshot | None
) -> None:
    for key in list(record):
        name = _plain(key)
        meaning = SNAPSHOT.get(name)
        if meaning is not None:
            if instrument is None or snap is None:
                record[key] = _blank(meaning)
            else:
                record[key] = _snapshot_value(meaning, instrument, snap)
            continue
        level = _LEVEL.fullmatch(name)
        if level is not None:
            record[key] = "0" if snap is None else _level_value(level, snap)
        elif name in _TOTALS:
            side = getattr(snap, _TOTALS[name], ()) if snap is not None else ()
            record[key] = str(sum(quantity for _price, quantity in side))


def _snapshot_value(meaning: str, instrument: Instrument, snap: Snapshot) -> str:
    if meaning == "name":
        return instrument.name
    if meaning == "name_en":
        return instrument.name_en
    if meaning == "code":
        return instrument.code
    if meaning == "currency":
        return instrument.currency
    if meaning == "zdiv":
        return str(decimals(instrument))
    if meaning == "sign":
        return snap.sign
    if meaning == "rate":
        return str(snap.rate)
    if meaning == "volume":
        return str(snap.volume)
    if meaning == "turnover":
        return str(int(snap.turnover))
    if meaning in ("ask", "bid"):
        side = snap.asks if meaning == "ask" else snap.bids
        return price_text(instrument, side[0][0]) if side else "0"
    value: Decimal | None = getattr(snap, meaning)
    if value is None:  # no daily band for this market: KIS shows the price itself
        value = snap.last
    return price_text(instrument, value)


def _level_value(level: re.Match[str], snap: Snapshot) -> str:
    side_name = level.group("side") or level.group("vside")
    index = int(level.group("n") or level.group("vn")) - 1
    side = snap.asks if side_name in ("askp", "pask", "vask") else snap.bids
    if index >= len(side):
        return "0"  # no such level (beyond the band or the book's depth)
    price, quantity = side[index]
    if level.group("qty") or level.group("vside"):
        return str(quantity)
    return price_text(snap.instrument, price)


def _fill_book_rows(
    rows: list[Any], instrument: Instrument | None, snap: Snapshot | None, first: int
) -> None:
    for offset, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        for key in list(row):
            spec = _BOOK_ROW_FIELDS.get(_plain(key))
            if spec is None:
                continue
            side = getattr(snap, spec[0]) if snap is not None else ()
            index = first + offset
            if instrument is None or index >= len(side):
                row[key] = "0"
            elif spec[1] == 0:
                row[key] = price_text(instrument, side[index][0])
            else:
                row[key] = str(side[index][1])


@dataclass(frozen=True)
class _Point:
    """One history row: a bar, or a trade (open = high = low = close)."""

    moment: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


def _fill_history(
    rows: list[Any],
    market: Market,
    instrument: Instrument | None,
    *,
    fields: list[str],
    params: Mapping[str, Any],
    span: tuple[int, int],
) -> None:
    first, end = span
    if instrument is None:
        for row in rows:
            if isinstance(row, dict):
                for key in list(row):
                    meaning = _ROW.get(_plain(key))
                    if meaning is not None:
                        row[key] = _blank(meaning)
        return
    points = _points(market, instrument, fields, params, end)
    daily = not any(f in _ROW_TIME for f in fields)
    for offset, row in enumerate(rows):
        index = first + offset
        if not isinstance(row, dict) or index >= len(points):
            continue  # history ran out: the row keeps its seeded values
        point = points[index]
        reference = market.walk.previous_close(
            instrument, sessions.trading_day_of(instrument, point.moment)
        )
        limits = walk.band(instrument, reference)
        for key in list(row):
            name = _plain(key)
            meaning = _ROW.get(name)
            if meaning is not None:
                row[key] = _row_value(
                    meaning,
                    name,
                    instrument=instrument,
                    point=point,
                    base=(reference, limits),
                    daily=daily,
                )


def _points(
    market: Market,
    instrument: Instrument,
    fields: list[str],
    params: Mapping[str, Any],
    count: int,
) -> list[_Point]:
    now = market.now()
    has_date = any(f in _ROW_DATE for f in fields)
    has_time = any(f in _ROW_TIME for f in fields)
    if has_date and not has_time:
        end_day = _end_day(params) or sessions.trading_day_of(instrument, now)
        return [_from_bar(bar) for bar in market.daily_bars(instrument, end_day, max(count, 1))]
    if has_date:
        bars = market.minute_bars(instrument, now, max(count, 1), _minutes(params))
        return [_from_bar(bar) for bar in bars]
    # Trades: the latest steps of the walk, newest first.
    steps = list(market.path(instrument, now - _TICK_WINDOW, now))[-count:] if count else []
    return [_Point(m, p, p, p, p, v) for m, p, v in reversed(steps)]


def _from_bar(bar: Bar) -> _Point:
    return _Point(bar.start, bar.open, bar.high, bar.low, bar.close, bar.volume)


def _end_day(params: Mapping[str, Any]) -> date | None:
    """The last day a daily chart asks for (FID_INPUT_DATE_2, or BYMD overseas), if valid."""
    for name in ("FID_INPUT_DATE_2", "BYMD"):
        value = params.get(name)
        if isinstance(value, str) and len(value) == 8 and value.isascii() and value.isdigit():
            try:
                day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
            except ValueError:
                return None
            # Older days are summaries anyway; the floor keeps calendar walks far from year 1.
            return day if day >= _OLDEST_DAY else None
    return None


def _minutes(params: Mapping[str, Any]) -> int:
    value = params.get("NMIN")
    if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < int(value) <= 60:
        return int(value)
    return 1


def _row_value(
    meaning: str,
    name: str,
    *,
    instrument: Instrument,
    point: _Point,
    base: tuple[Decimal, tuple[Decimal, Decimal] | None],
    daily: bool,
) -> str:
    reference, limits = base
    if meaning in ("date", "time"):
        # kymd/khms are Korean time, every other stamp the exchange's own (KRX's is KST).
        local = point.moment
        if name not in ("kymd", "khms"):
            local = point.moment.astimezone(sessions.zone(instrument.market))
        if meaning == "time":
            return "" if daily else local.strftime("%H%M%S")
        return local.strftime("%Y%m%d")
    if meaning == "volume":
        return str(point.volume)
    change = point.close - reference
    if meaning == "change":
        return price_text(instrument, change)
    if meaning == "sign":
        # As Snapshot.sign: at the band's edge KIS says 상한 "1" / 하한 "4".
        if limits is not None and point.close >= limits[1]:
            return "1"
        if limits is not None and point.close <= limits[0]:
            return "4"
        return "2" if change > 0 else "5" if change < 0 else "3"
    if meaning == "rate":
        return str((change * 100 / reference).quantize(_TWO)) if reference else "0.00"
    value: Decimal = getattr(point, meaning)
    return price_text(instrument, value)
