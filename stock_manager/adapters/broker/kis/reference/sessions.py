"""Regular session hours of the markets KIS trades, in each exchange's own time zone.

Hours are local wall-clock times converted with :mod:`zoneinfo`, so US daylight saving moves the
KST times by itself. Only the *regular* (continuous) sessions count as open: pre-market,
after-hours and KRX's single-price sessions take orders of their own kinds and are left to the
order helpers. Markets are KIS's own codes (``KRX``, ``NXT``, ``NASD``...; ``KOSPI`` and
``KOSDAQ`` are KRX); a lunch break splits Tokyo, Hong Kong, China and Vietnam in two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from ..errors import KISUsageError

__all__ = ["KST", "MARKETS", "Session", "market_code", "sessions_on", "zone_of"]

KST = timezone(timedelta(hours=9), "KST")


@dataclass(frozen=True)
class Session:
    """One regular session: ``[opens, closes)``, both aware in the exchange's time zone."""

    market: str
    opens: datetime
    closes: datetime

    def contains(self, moment: datetime) -> bool:
        """Whether the aware ``moment`` falls in the session."""
        return self.opens <= moment < self.closes


def _hours(*spans: str) -> tuple[tuple[time, time], ...]:
    pairs = []
    for span in spans:
        start, end = span.split("-")
        pairs.append((time.fromisoformat(start), time.fromisoformat(end)))
    return tuple(pairs)


# (time zone, regular sessions). KRX closes continuous trading at 15:20 and prints its closing
# auction at 15:30; users call 09:00-15:30 "the market", and so does is_open. NXT's main market
# opens 30 seconds after KRX's and stops for KRX's closing auction.
_MARKETS: dict[str, tuple[str, tuple[tuple[time, time], ...]]] = {
    "KRX": ("Asia/Seoul", _hours("09:00-15:30")),
    "NXT": ("Asia/Seoul", _hours("09:00:30-15:20")),
    "NASD": ("America/New_York", _hours("09:30-16:00")),
    "NYSE": ("America/New_York", _hours("09:30-16:00")),
    "AMEX": ("America/New_York", _hours("09:30-16:00")),
    "TKSE": ("Asia/Tokyo", _hours("09:00-11:30", "12:30-15:30")),
    "SEHK": ("Asia/Hong_Kong", _hours("09:30-12:00", "13:00-16:00")),
    "SHAA": ("Asia/Shanghai", _hours("09:30-11:30", "13:00-15:00")),
    "SZAA": ("Asia/Shanghai", _hours("09:30-11:30", "13:00-15:00")),
    "HASE": ("Asia/Ho_Chi_Minh", _hours("09:00-11:30", "13:00-14:45")),
    "VNSE": ("Asia/Ho_Chi_Minh", _hours("09:00-11:30", "13:00-14:45")),
}
_ALIASES = {"KOSPI": "KRX", "KOSDAQ": "KRX", "J": "KRX", "NX": "NXT"}
MARKETS = tuple(_MARKETS)
#: Markets whose holidays come from KIS's 국내휴장일조회 (NXT follows KRX's calendar).
DOMESTIC = frozenset({"KRX", "NXT"})


def market_code(market: str) -> str:
    """KIS's code for ``market`` (``KOSPI`` → ``KRX``); :class:`KISUsageError` if unknown."""
    code = str(market).strip().upper()
    code = _ALIASES.get(code, code)
    if code not in _MARKETS:
        raise KISUsageError(f"unknown market {market!r}: use one of {', '.join(MARKETS)}")
    return code


@cache
def zone_of(market: str) -> tzinfo:
    """The exchange's time zone (``Asia/Seoul`` for KRX and NXT)."""
    return ZoneInfo(_MARKETS[market_code(market)][0])


def sessions_on(market: str, day: date) -> tuple[Session, ...]:
    """The regular sessions of ``market`` on its local ``day`` (whether or not it trades)."""
    code = market_code(market)
    zone = zone_of(code)
    return tuple(
        Session(
            code,
            datetime.combine(day, start, zone),
            datetime.combine(day, end, zone),
        )
        for start, end in _MARKETS[code][1]
    )
