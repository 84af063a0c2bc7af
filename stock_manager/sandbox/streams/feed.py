"""Market-data records of the realtime TRs, from the sandbox's market.

How records map to the price walk (10 s steps): every stream tick reports, for each registered
key, a bundle of trades *within the walk's current step*, all at that step's price, so a record's
price always agrees with inquire-price at that market moment; a new step brings a new price. A
frozen market (a ManualClock) keeps trading at one price, like a liquid stock. A bundle holds
1-3 records, 10-20 in the busy windows (KRX 09:00-09:10 and 15:20-15:30 KST; elsewhere the first
and last ten minutes of a regular session). Nothing streams while the instrument's market is
closed.

H0STCNT0 and H0STASP0 carry every field from the snapshot; other TRs are laid out from the table
with values chosen by field name (the key first; prices, changes, signs, sizes, times and dates
from the snapshot; counts and codes plausible constants).
"""

from __future__ import annotations

import random
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

from stock_manager.sandbox import sessions
from stock_manager.sandbox.market import Market, Snapshot
from stock_manager.sandbox.streams.layouts import INDICES, RealtimeTR, Target

__all__ = ["bundle_size", "is_streaming", "records"]

_KRX_BUSY = ((time(9, 0), time(9, 10)), (time(15, 20), time(15, 30)))
_BUSY_MINUTES = 10
_LEVEL = re.compile(r"(ASKP|BIDP|PASK|PBID|VASK|VBID)(?:_RSQN)?(\d+)$")
_PRICE_WORDS = (
    "PRPR",
    "PRC",
    "PRIC",
    "LAST",
    "CNPR",
    "NMIX",
    "NAV",
    "CLPR",
    "OPRC",
    "HGPR",
    "LWPR",
    "MXPR",
    "LLAM",
)


#: Listed shares the turnover rate (VOL_TNRT) is computed on (sandbox choice: one figure).
LISTED_SHARES = Decimal(100_000_000)


def is_streaming(market: Market, target: Target, moment: datetime) -> bool:
    """Whether the key's market is in any session (no records while it is closed)."""
    return market.session(target.instrument, moment) != "closed"


def _busy(target: Target, moment: datetime) -> bool:
    instrument = target.instrument
    if instrument.market in ("KOSPI", "KOSDAQ"):
        clock = moment.astimezone(sessions.KST).time()
        return any(start <= clock < end for start, end in _KRX_BUSY)
    local = moment.astimezone(sessions.zone(instrument.market))
    minute = local.hour * 60 + local.minute
    for window in sessions.windows(instrument.market):
        if window.moves and window.start <= minute < window.end:
            return minute < window.start + _BUSY_MINUTES or minute >= window.end - _BUSY_MINUTES
    return False


def bundle_size(target: Target, moment: datetime, rng: random.Random) -> int:
    """How many records one tick sends for a key: more near the open and close."""
    return rng.randint(10, 20) if _busy(target, moment) else rng.randint(1, 3)


def _text(value: Decimal) -> str:
    return format(value, "f")


class _Values:
    """The snapshot as field values, for one key at one moment."""

    def __init__(self, target: Target, snapshot: Snapshot) -> None:
        self.target = target
        self.snapshot = snapshot
        scale = Decimal(1)
        if target.index is not None:
            # An index level follows its proxy's move since the previous close.
            base = INDICES[target.index][1]
            scale = base / snapshot.previous_close

        def level(price: Decimal) -> Decimal:
            if target.index is None:
                return price
            return (price * scale).quantize(Decimal("0.01"))

        self.level = level
        self.last = level(snapshot.last)
        self.change = self.last - level(snapshot.previous_close)

    def price(self, name: str) -> str:
        s = self.snapshot
        if "OPRC" in name or "OPEN" in name:
            return _text(self.level(s.open))
        if "HGPR" in name or "HIGH" in name or "MXPR" in name:
            return _text(self.level(s.upper if "MXPR" in name and s.upper else s.high))
        if "LWPR" in name or "LOW" in name or "LLAM" in name:
            return _text(self.level(s.lower if "LLAM" in name and s.lower else s.low))
        return _text(self.last)

    def level_of(self, side: str, depth: int, size: bool) -> str:
        levels = self.snapshot.asks if side in ("ASKP", "PASK", "VASK") else self.snapshot.bids
        if depth > len(levels):
            return "0"
        price, quantity = levels[depth - 1]
        return str(quantity) if size or side.startswith("V") else _text(self.level(price))


def _value(
    name: str,
    position: int,
    values: _Values,
    moment: datetime,
    trade: tuple[int, str],
) -> str:
    s = values.snapshot
    upper = name.upper()
    if position == 0:
        return values.target.key
    if upper == "SYMB":
        return values.target.instrument.code
    if upper == "ZDIV":
        return str(max(0, -s.tick.as_tuple().exponent))  # type: ignore[operator]
    # A time is a field that ends in HOUR/TIME (PRDY_SMNS_HOUR_ACML_VOL is a volume).
    if upper.endswith("HOUR") or upper in ("XHMS", "KHMS", "RECV_TIME") or upper.endswith("_TIME"):
        return moment.strftime("%H%M%S")
    if "DATE" in upper or upper.endswith(("YMD", "_DT")):
        return moment.strftime("%Y%m%d")
    if "SIGN" in upper or upper == "SIGN":
        return s.sign
    if "CTRT" in upper or upper == "RATE" or upper.endswith("_RATE"):
        return _text(s.rate)
    if "VRSS" in upper or upper == "DIFF":
        return _text(values.change)
    level = _LEVEL.search(upper)
    if level is not None:
        return values.level_of(level.group(1), int(level.group(2)), "RSQN" in upper)
    if upper == "TOTAL_ASKP_RSQN":
        return str(sum(q for _, q in s.asks))
    if upper == "TOTAL_BIDP_RSQN":
        return str(sum(q for _, q in s.bids))
    if upper in ("CNTG_VOL", "EVOL", "LAST_CNQN", "CNTG_QTY"):
        return str(trade[0])
    if upper in ("CCLD_DVSN", "CNTG_CLS_CODE"):
        return trade[1]
    if "PBMN" in upper or "AMT" in upper:
        return _text(s.turnover.quantize(Decimal(1)))
    if "VOL" in upper or "CNQN" in upper or "RSQN" in upper or "QTY" in upper:
        return str(s.volume)
    if any(word in upper for word in _PRICE_WORDS) or upper in ("OPEN", "HIGH", "LOW"):
        return values.price(upper)
    if upper.endswith("_YN"):
        return "N"
    if upper in ("CTTR", "STRN"):
        return "100.00"
    return "0"


def _domestic_price(values: _Values) -> dict[str, str]:
    # What the generic rules would get wrong for the KRX price record (H0STCNT0 and kin).
    s = values.snapshot
    average = s.turnover / s.volume if s.volume else s.last
    return {
        "WGHN_AVRG_STCK_PRC": _text(average.quantize(Decimal("0.01"))),
        "OPRC_HOUR": "090000",
        "OPRC_VRSS_PRPR": _text(s.last - s.open),
        "HGPR_VRSS_PRPR": _text(s.last - s.high),
        "LWPR_VRSS_PRPR": _text(s.last - s.low),
        "OPRC_VRSS_PRPR_SIGN": "2" if s.last > s.open else "5" if s.last < s.open else "3",
        "HGPR_VRSS_PRPR_SIGN": "5" if s.last < s.high else "3",
        "LWPR_VRSS_PRPR_SIGN": "2" if s.last > s.low else "3",
        "NEW_MKOP_CLS_CODE": "20",
        "HOUR_CLS_CODE": "0",
        "MRKT_TRTM_CLS_CODE": "",
        "VI_STND_PRC": _text(s.previous_close),
        "ASKP_RSQN1": str(s.asks[0][1]) if s.asks else "0",
        "BIDP_RSQN1": str(s.bids[0][1]) if s.bids else "0",
        "VOL_TNRT": _text((Decimal(s.volume) * 100 / LISTED_SHARES).quantize(Decimal("0.01"))),
        "PRDY_SMNS_HOUR_ACML_VOL": str(s.volume),
        "PRDY_SMNS_HOUR_ACML_VOL_RATE": "100.00",
        "SELN_CNTG_CSNU": str(max(1, s.volume // 97)),
        "SHNU_CNTG_CSNU": str(max(1, s.volume // 89)),
    }


def records(
    tr: RealtimeTR,
    target: Target,
    market: Market,
    *,
    moment: datetime,
    count: int,
    rng: random.Random,
    width: int | None = None,
) -> list[list[str]]:
    """``count`` records of ``tr`` for ``target`` at ``moment`` (``width`` cuts the layout,
    e.g. H0STASP0 to its documented 59 fields)."""
    snapshot = market.snapshot(target.instrument, moment)
    values = _Values(target, snapshot)
    fields = tr.fields[: width or len(tr.fields)]
    lot = target.instrument.lot
    stamp = moment - timedelta(microseconds=moment.microsecond)
    out: list[list[str]] = []
    for _ in range(count):
        trade = (lot * rng.randint(1, 50), rng.choice(("1", "5")))
        krx_price = tr.fields[1:2] == ("STCK_CNTG_HOUR",) and target.index is None
        special = _domestic_price(values) if krx_price else {}
        out.append(
            [
                special[name] if name in special else _value(name, position, values, stamp, trade)
                for position, name in enumerate(fields)
            ]
        )
    return out
