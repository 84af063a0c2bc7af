"""The sandbox's market clock, trading calendars and trading sessions.

A sandbox plays a market at a *market time* of its own (:class:`MarketClock`), so a test, the
demo or a user's bot sees an open market at any hour of the real day: by default 10:00 KST of
the current KRX trading day, then at wall-clock speed.

Sessions are windows of each exchange's local day, ``[start, end)``, converted with
:mod:`zoneinfo` (US daylight saving included). Choices where the exchanges' rules overlap:

* KRX 08:30-08:40 is both the pre-market after-hours session (장전 시간외 종가) and the start of
  the opening auction's order intake; the sandbox calls it ``pre_after_hours`` and the opening
  auction runs 08:40-09:00. 15:30-15:40 is ``closed``.
* KRX night derivatives (18:00-06:00) belong to the trading day they started on, as the issue
  asks (KRX books them on the next one); a session started on a non-trading day does not exist.
* CME Globex futures trade 17:00-16:00 Chicago time, Sunday evening to Friday afternoon; each
  session is the trading day it starts on (Sunday to Thursday), like KRX's night session.
* Holidays: KRX's for 2025-2027 as announced (substitute holidays and election days included);
  US: New Year, Independence Day, Thanksgiving and Christmas (observed on the nearest weekday);
  other exchanges: weekends and 1 January only.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from stock_manager.sandbox.clock import SandboxClock

if TYPE_CHECKING:
    from stock_manager.sandbox.universe import Instrument

__all__ = [
    "KST",
    "MarketClock",
    "Window",
    "is_trading_day",
    "next_open",
    "parse_market_time",
    "session",
    "trading_day_of",
    "windows",
]

KST = timezone(timedelta(hours=9), "KST")
WALL = "wall"
DEFAULT_START = time(10, 0)
OPEN_SESSIONS = frozenset({"regular", "day"})

_KRX_HOLIDAYS = frozenset(
    date.fromisoformat(day)
    for day in (
        # 2025
        "2025-01-01", "2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-03-03",
        "2025-05-01", "2025-05-05", "2025-05-06", "2025-06-03", "2025-06-06", "2025-08-15",
        "2025-10-03", "2025-10-06", "2025-10-07", "2025-10-08", "2025-10-09", "2025-12-25",
        "2025-12-31",
        # 2026
        "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-03-02", "2026-05-01",
        "2026-05-05", "2026-05-25", "2026-06-03", "2026-08-17", "2026-09-24", "2026-09-25",
        "2026-09-28", "2026-10-05", "2026-10-09", "2026-12-25", "2026-12-31",
        # 2027
        "2027-01-01", "2027-02-08", "2027-02-09", "2027-03-01", "2027-05-05", "2027-05-13",
        "2027-08-16", "2027-09-14", "2027-09-15", "2027-09-16", "2027-10-04", "2027-10-11",
        "2027-12-27", "2027-12-31",
    )
)  # fmt: skip

_KRX_MARKETS = frozenset({"KOSPI", "KOSDAQ", "KRX_FUTURES", "KRX_OPTIONS", "KRX_BONDS"})
_US_MARKETS = frozenset({"NASD", "NYSE", "AMEX"})
_CME_MARKETS = frozenset({"CME"})
_ZONES = {
    "NASD": "America/New_York",
    "NYSE": "America/New_York",
    "AMEX": "America/New_York",
    "TKSE": "Asia/Tokyo",
    "SEHK": "Asia/Hong_Kong",
    "SHAA": "Asia/Shanghai",
    "SZAA": "Asia/Shanghai",
    "HASE": "Asia/Ho_Chi_Minh",
    "VNSE": "Asia/Ho_Chi_Minh",
    "CME": "America/Chicago",
}


@dataclass(frozen=True)
class Window:
    """A session of a local day: minutes after local midnight, ``[start, end)``; end may pass 24 h.

    ``moves`` says whether trades print (and the price walks) in it.
    """

    name: str
    start: int
    end: int
    moves: bool


def _hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _w(name: str, start: str, end: str, moves: bool) -> Window:
    end_minutes = _hm(end)
    start_minutes = _hm(start)
    if end_minutes <= start_minutes:
        end_minutes += 24 * 60
    return Window(name, start_minutes, end_minutes, moves)


# Only continuous trading moves prices: auctions and after-hours sessions accept orders, and
# the closing auction's single print is a step of the walk at 15:30 (see walk.py).
_DOMESTIC = (
    _w("pre_after_hours", "08:30", "08:40", False),
    _w("opening_auction", "08:40", "09:00", False),
    _w("regular", "09:00", "15:20", True),
    _w("closing_auction", "15:20", "15:30", False),
    _w("post_after_hours", "15:40", "16:00", False),
    _w("after_single_price", "16:00", "18:00", False),
)
_DERIVATIVES = (_w("day", "08:45", "15:45", True), _w("night", "18:00", "06:00", True))
_BONDS = (_w("regular", "09:00", "15:30", True),)
_US = (
    _w("pre", "04:00", "09:30", False),
    _w("regular", "09:30", "16:00", True),
    _w("after", "16:00", "20:00", False),
)
_TOKYO = (_w("regular", "09:00", "11:30", True), _w("regular", "12:30", "15:30", True))
_HONG_KONG = (_w("regular", "09:30", "12:00", True), _w("regular", "13:00", "16:00", True))
_CHINA = (_w("regular", "09:30", "11:30", True), _w("regular", "13:00", "15:00", True))
_VIETNAM = (_w("regular", "09:00", "11:30", True), _w("regular", "13:00", "15:00", True))
# CME Globex: 17:00 to 16:00 Chicago time the next day, Sunday evening to Friday afternoon, with
# the daily hour of maintenance. A session belongs to the day it starts on (Sunday to Thursday),
# as KRX's night session does here.
_CME = (_w("regular", "17:00", "16:00", True),)
_BY_MARKET: dict[str, tuple[Window, ...]] = {
    "KOSPI": _DOMESTIC,
    "KOSDAQ": _DOMESTIC,
    "KRX_FUTURES": _DERIVATIVES,
    "KRX_OPTIONS": _DERIVATIVES,
    "KRX_BONDS": _BONDS,
    "NASD": _US,
    "NYSE": _US,
    "AMEX": _US,
    "TKSE": _TOKYO,
    "SEHK": _HONG_KONG,
    "SHAA": _CHINA,
    "SZAA": _CHINA,
    "HASE": _VIETNAM,
    "VNSE": _VIETNAM,
    "CME": _CME,
}


def zone(market: str) -> ZoneInfo | timezone:
    """The exchange's time zone (KST for every KRX market)."""
    name = _ZONES.get(market)
    return KST if name is None else _zone_info(name)


@lru_cache(maxsize=16)
def _zone_info(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def windows(market: str) -> tuple[Window, ...]:
    """The sessions of one of :data:`~stock_manager.sandbox.universe.MARKETS`, in local time."""
    try:
        return _BY_MARKET[market]
    except KeyError:
        raise ValueError(f"unknown market {market!r}") from None


def _observed(day: date) -> date:
    # US rule: a Saturday holiday is observed on Friday, a Sunday one on Monday.
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def _us_holidays(year: int) -> frozenset[date]:
    november_first = date(year, 11, 1)
    thanksgiving = november_first + timedelta(days=(3 - november_first.weekday()) % 7 + 21)
    days = {_observed(date(year, 7, 4)), thanksgiving, _observed(date(year, 12, 25))}
    if date(year, 1, 1).weekday() != 5:  # NYSE does not close the Friday before
        days.add(_observed(date(year, 1, 1)))
    return frozenset(days)


def is_trading_day(day: date, market: str = "KOSPI") -> bool:
    """Whether ``day`` (the exchange's local date) is a trading day of ``market``."""
    if market in _CME_MARKETS:
        return _is_cme_day(day)
    if day.weekday() >= 5:
        return False
    if market in _KRX_MARKETS:
        return day not in _KRX_HOLIDAYS
    if market in _US_MARKETS:
        return day not in _us_holidays(day.year)
    windows(market)  # refuse an unknown market
    return (day.month, day.day) != (1, 1)


def _is_cme_day(day: date) -> bool:
    # A Globex session starts Sunday to Thursday evening and trades into the next weekday; the
    # sandbox skips the whole session when that weekday is a US holiday (CME trades a short
    # session then).
    following = day + timedelta(days=1)
    return following.weekday() < 5 and following not in _us_holidays(following.year)


def previous_trading_day(day: date, market: str = "KOSPI") -> date:
    """The last trading day strictly before ``day``."""
    day -= timedelta(days=1)
    while not is_trading_day(day, market):
        day -= timedelta(days=1)
    return day


def next_trading_day(day: date, market: str = "KOSPI") -> date:
    """The first trading day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_trading_day(day, market):
        day += timedelta(days=1)
    return day


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment


def _local(market: str, moment: datetime) -> datetime:
    return _aware(moment).astimezone(zone(market))


def _minutes(local: datetime) -> float:
    return local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60


def _current(market: str, moment: datetime) -> tuple[Window | None, date]:
    """The window holding ``moment`` (or None) and the trading day it belongs to."""
    local = _local(market, moment)
    today = local.date()
    minute = _minutes(local)
    yesterday = today - timedelta(days=1)
    if is_trading_day(yesterday, market):
        for window in windows(market):
            if window.end > 24 * 60 and window.start <= minute + 24 * 60 < window.end:
                return window, yesterday
    if is_trading_day(today, market):
        for window in windows(market):
            if window.start <= minute < window.end:
                return window, today
        return None, today
    return None, previous_trading_day(today, market)


def session(instrument: Instrument, moment: datetime) -> str:
    """The session of ``instrument``'s market at ``moment`` (a naive datetime is KST).

    Domestic stocks, ETFs and ETNs: ``pre_after_hours``, ``opening_auction``, ``regular``,
    ``closing_auction``, ``post_after_hours``, ``after_single_price``; KRX derivatives: ``day``,
    ``night``; bonds: ``regular``; US: ``pre``, ``regular``, ``after``; other exchanges:
    ``regular``. Anything else, and every moment of a non-trading day, is ``closed``.
    """
    window, _ = _current(instrument.market, moment)
    return "closed" if window is None else window.name


def trading_day_of(instrument: Instrument, moment: datetime) -> date:
    """The trading day whose data ``moment`` shows: the session's day (a night session's is the
    day it started), today's before the open, the last trading day's on a holiday."""
    return _current(instrument.market, moment)[1]


def session_bounds(market: str, day: date, window: Window) -> tuple[datetime, datetime]:
    """The KST start and end of ``window`` on local trading day ``day``."""
    # Wall-clock arithmetic on a naive local time, then the zone: a DST change is honoured.
    midnight = datetime.combine(day, time(0))
    start = (midnight + timedelta(minutes=window.start)).replace(tzinfo=zone(market))
    end = (midnight + timedelta(minutes=window.end)).replace(tzinfo=zone(market))
    return start.astimezone(KST), end.astimezone(KST)


def next_open(instrument: Instrument, moment: datetime) -> datetime:
    """The KST start of the first ``regular``/``day`` session strictly after ``moment``."""
    market = instrument.market
    moment = _aware(moment)
    day = _local(market, moment).date() - timedelta(days=1)
    for _ in range(30):  # no calendar closes an exchange for a month
        if is_trading_day(day, market):
            for window in windows(market):
                if window.name in OPEN_SESSIONS:
                    start, _end = session_bounds(market, day, window)
                    if start > moment:
                        return start
        day += timedelta(days=1)
    raise ValueError(f"no open session of {market} within 30 days of {moment.isoformat()}")


# --- the market clock ---------------------------------------------------------------------------

_CLOCK_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


def parse_market_time(value: object, today: date) -> datetime | str:
    """A market time as :class:`MarketClock` takes it: ``"wall"`` or an aware KST datetime.

    Accepts a datetime (naive means KST), ``"wall"``, an ISO-8601 datetime string or ``"HH:MM"``
    / ``"HH:MM:SS"`` meaning that time on ``today`` (KST). Anything else is a ValueError that says
    what is accepted.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=KST) if value.tzinfo is None else value.astimezone(KST)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == WALL:
            return WALL
        match = _CLOCK_TIME.fullmatch(text)
        if match:
            hours, minutes, seconds = (int(part or 0) for part in match.groups())
            return datetime.combine(today, time(hours, minutes, seconds), KST)
        if len(text) > 10:  # a bare date is not a moment
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return parse_market_time(parsed, today)
    raise ValueError(
        f"market_time must be a datetime, an ISO-8601 datetime such as "
        f"'2026-12-01T09:00:00+09:00', 'HH:MM' (today, KST) or 'wall', not {value!r:.60}"
    )


def default_start(wall: float) -> datetime:
    """10:00 KST of the KRX trading day current at epoch time ``wall`` (today's, or the last)."""
    today = datetime.fromtimestamp(wall, KST).date()
    if not is_trading_day(today):
        today = previous_trading_day(today)
    return datetime.combine(today, DEFAULT_START, KST)


class MarketClock:
    """The market time a sandbox plays, read from its :class:`SandboxClock`. Thread-safe.

    ``start`` None: 10:00 KST of the current KRX trading day, then at the clock's speed (market
    time = start + monotonic seconds since); ``"wall"``: the clock's wall time in KST; otherwise
    any form :func:`parse_market_time` takes, then running. A ManualClock therefore freezes
    market time until advanced.
    """

    def __init__(self, clock: SandboxClock, start: datetime | str | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._wall = False
        self._origin = default_start(clock.time())
        self._origin_monotonic = clock.monotonic()
        if start is not None:
            self.set(start)

    def set(self, when: datetime | str) -> None:
        """Move the market to ``when`` (then it runs on), or follow the wall clock (``"wall"``)."""
        parsed = parse_market_time(when, datetime.fromtimestamp(self._clock.time(), KST).date())
        with self._lock:
            if isinstance(parsed, datetime):
                self._wall = False
                self._origin = parsed
                self._origin_monotonic = self._clock.monotonic()
            else:
                self._wall = True

    def now(self) -> datetime:
        """The market time, aware, in KST."""
        with self._lock:
            if self._wall:
                return datetime.fromtimestamp(self._clock.time(), KST)
            elapsed = self._clock.monotonic() - self._origin_monotonic
            return self._origin + timedelta(seconds=elapsed)

    @property
    def follows_wall(self) -> bool:
        """Whether the market time is the real time."""
        with self._lock:
            return self._wall

    def describe(self) -> str:
        """``"2026-12-01T10:00:00+09:00 (running)"`` or ``"... (wall)"``, for logs and admin."""
        mode = "wall" if self.follows_wall else "running"
        return f"{self.now().isoformat(timespec='seconds')} ({mode})"

    def __repr__(self) -> str:
        return f"MarketClock({self.describe()})"
