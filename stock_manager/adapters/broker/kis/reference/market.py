"""``Market(client)`` / ``AsyncMarket(client)``: is a market open, when is its next session,
is a day a holiday, and when do overseas trades settle.

The questions are written once, as flows (:mod:`.._drive`) that ask for one thing only: whether
a market trades on a local day (:class:`TradingDay`). The two shells answer it, blocking or with
``await``: KRX and NXT from KIS's 국내휴장일조회 through the shared daily entry of
:mod:`.calendar`; other markets by weekday, because KIS offers no trading-holiday API for them
(its 해외결제일자조회 gives settlement dates, :meth:`Market.settlements`).

>>> market = Market(client)
>>> market.is_open("KRX"), market.next_session("NASD").opens
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from .._drive import Effect, Effects, arun, ask, run
from ..errors import KISProtocolError, KISUsageError
from ..tokens.store import TokenEntry, TokenStore, token_lock_timeout
from .calendar import (
    DAY_API,
    SETTLEMENT_API,
    DayInfo,
    Settlement,
    calendar_key,
    day_params,
    days_of,
    entry_for,
    parse_days,
    parse_settlements,
    settlement_params,
)
from .sessions import DOMESTIC, KST, Session, market_code, sessions_on, zone_of

if TYPE_CHECKING:
    from ..aio import AsyncKISRestClient
    from ..client import KISRestClient
    from ..config import KISConfig

__all__ = ["AsyncMarket", "Market", "TradingDay"]

Clock = Callable[[], datetime]
#: How far :meth:`Market.next_session` looks: no exchange closes for a month.
HORIZON_DAYS = 31


@dataclass(frozen=True)
class TradingDay(Effect[bool]):
    """Does ``market`` trade on its local ``day``?"""

    market: str
    day: date


def _moment(at: datetime | None, clock: Clock) -> datetime:
    moment = clock() if at is None else at
    if not isinstance(moment, datetime):
        raise KISUsageError(f"at must be a datetime, not {type(moment).__name__}")
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment  # naive means KST


def _is_open(market: str, at: datetime) -> Effects[Effect[bool], bool]:
    code = market_code(market)
    day = at.astimezone(zone_of(code)).date()
    if not (yield from ask(TradingDay(code, day))):
        return False
    return any(session.contains(at) for session in sessions_on(code, day))


def _next_session(market: str, at: datetime) -> Effects[Effect[bool], Session]:
    code = market_code(market)
    first = at.astimezone(zone_of(code)).date()
    for offset in range(HORIZON_DAYS):
        day = first + timedelta(days=offset)
        if (yield from ask(TradingDay(code, day))):
            for session in sessions_on(code, day):
                if session.closes > at:
                    return session
    raise KISProtocolError(f"the calendar shows no session of {code} in {HORIZON_DAYS} days")


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.astimezone(KST).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    raise KISUsageError(f"day must be a date, not {type(value).__name__}")


class _Memo:
    """The calendar days this process already holds, for the KST day they were fetched on."""

    def __init__(self, config: KISConfig, store: TokenStore, clock: Clock | None) -> None:
        self.store = store
        self.key = calendar_key(config.rest_base_url, config.app_key_fingerprint)
        self.lock_timeout = token_lock_timeout(config)
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._guard = threading.Lock()
        self._days: dict[date, DayInfo] = {}
        self._on: date | None = None
        self._settlements: dict[tuple[date, date], tuple[Settlement, ...]] = {}

    def get(self, day: date, now: datetime) -> DayInfo | None:
        with self._guard:
            return self._days.get(day) if self._on == now.astimezone(KST).date() else None

    def adopt(self, days: dict[date, DayInfo], now: datetime) -> None:
        with self._guard:
            self._days, self._on = dict(days), now.astimezone(KST).date()

    def settled(self, trade_day: date, now: datetime) -> tuple[Settlement, ...] | None:
        with self._guard:
            return self._settlements.get((trade_day, now.astimezone(KST).date()))

    def keep_settled(self, trade_day: date, now: datetime, found: tuple[Settlement, ...]) -> None:
        with self._guard:
            today = now.astimezone(KST).date()
            self._settlements = {k: v for k, v in self._settlements.items() if k[1] == today}
            self._settlements[(trade_day, today)] = found

    @staticmethod
    def pick(days: dict[date, DayInfo], day: date) -> DayInfo:
        info = days.get(day)
        if info is None:
            raise KISProtocolError(f"{DAY_API} answered no row for {day:%Y%m%d}")
        return info


def _weekday_trades(day: date) -> bool:
    return day.weekday() < 5


class Market:
    """Market hours and KRX's calendar through a :class:`KISRestClient`.

    ``clock`` (returning an aware datetime) stands in for the time of day; the calendar entry is
    kept in ``client.token_store`` (shared as the tokens are) and refreshed once a KST day.
    """

    def __init__(self, client: KISRestClient, *, clock: Clock | None = None) -> None:
        self.client = client
        self._memo = _Memo(client.config, client.token_store, clock)

    def is_open(self, market: str = "KRX", at: datetime | None = None) -> bool:
        """Whether ``market``'s regular session is open at ``at`` (default now; naive is KST)."""
        return run(_is_open(market, _moment(at, self._memo.clock)), self._answer)

    def next_session(self, market: str = "KRX", at: datetime | None = None) -> Session:
        """The regular session open at ``at``, else the next one to open."""
        return run(_next_session(market, _moment(at, self._memo.clock)), self._answer)

    def is_holiday(self, day: date, market: str = "KRX") -> bool:
        """Whether ``market`` does not trade on its local ``day`` (weekends included)."""
        return not self._trades(market_code(market), _day(day))

    def day_info(self, day: date) -> DayInfo:
        """KIS's four flags for ``day`` of KRX's calendar."""
        return self._calendar_day(_day(day))

    def settlements(self, trade_day: date | None = None) -> tuple[Settlement, ...]:
        """When a trade of ``trade_day`` (default today, KST) settles in each overseas market;
        asked of KIS once a day per trade day and process."""
        now = self._memo.clock()
        day = now.astimezone(KST).date() if trade_day is None else _day(trade_day)
        found = self._memo.settled(day, now)
        if found is None:
            body = self.client.make_request(
                "GET", api_id=SETTLEMENT_API, params=settlement_params(day)
            )
            found = parse_settlements(body, day)
            self._memo.keep_settled(day, now, found)
        return found

    def _answer(self, effect: Effect[object]) -> object:
        if isinstance(effect, TradingDay):
            return self._trades(effect.market, effect.day)
        raise TypeError(f"unexpected effect {effect!r}")

    def _trades(self, market: str, day: date) -> bool:
        if market in DOMESTIC:
            return self._calendar_day(day).open
        return _weekday_trades(day)

    def _calendar_day(self, day: date) -> DayInfo:
        memo = self._memo
        now = memo.clock()
        known = memo.get(day, now)
        if known is not None:
            return known
        days = days_of(memo.store.load(memo.key), now)
        if days is None or day not in days:
            with memo.store.lock(memo.key, memo.lock_timeout) as lease:
                # Another process may have asked KIS while this one waited for the lock.
                days = days_of(memo.store.load(memo.key), now) or {}
                if day not in days:
                    body = self.client.make_request("GET", api_id=DAY_API, params=day_params(day))
                    days = {**days, **parse_days(body)}
                    lease.save(entry_for(days, now))
        memo.adopt(days, now)
        return memo.pick(days, day)


class AsyncMarket:
    """:class:`Market` for an :class:`AsyncKISRestClient`: the same questions, awaited."""

    def __init__(self, client: AsyncKISRestClient, *, clock: Clock | None = None) -> None:
        self.client = client
        self._memo = _Memo(client.config, client.token_store, clock)

    async def is_open(self, market: str = "KRX", at: datetime | None = None) -> bool:
        """See :meth:`Market.is_open`."""
        return await arun(_is_open(market, _moment(at, self._memo.clock)), self._answer)

    async def next_session(self, market: str = "KRX", at: datetime | None = None) -> Session:
        """See :meth:`Market.next_session`."""
        return await arun(_next_session(market, _moment(at, self._memo.clock)), self._answer)

    async def is_holiday(self, day: date, market: str = "KRX") -> bool:
        """See :meth:`Market.is_holiday`."""
        return not await self._trades(market_code(market), _day(day))

    async def day_info(self, day: date) -> DayInfo:
        """See :meth:`Market.day_info`."""
        return await self._calendar_day(_day(day))

    async def settlements(self, trade_day: date | None = None) -> tuple[Settlement, ...]:
        """See :meth:`Market.settlements`."""
        now = self._memo.clock()
        day = now.astimezone(KST).date() if trade_day is None else _day(trade_day)
        found = self._memo.settled(day, now)
        if found is None:
            body = await self.client.make_request(
                "GET", api_id=SETTLEMENT_API, params=settlement_params(day)
            )
            found = parse_settlements(body, day)
            self._memo.keep_settled(day, now, found)
        return found

    async def _answer(self, effect: Effect[object]) -> object:
        if isinstance(effect, TradingDay):
            return await self._trades(effect.market, effect.day)
        raise TypeError(f"unexpected effect {effect!r}")

    async def _trades(self, market: str, day: date) -> bool:
        if market in DOMESTIC:
            return (await self._calendar_day(day)).open
        return _weekday_trades(day)

    async def _calendar_day(self, day: date) -> DayInfo:
        memo = self._memo
        now = memo.clock()
        known = memo.get(day, now)
        if known is not None:
            return known
        # The stores block (files, Redis): their calls run in a worker thread.
        days = days_of(await asyncio.to_thread(memo.store.load, memo.key), now)
        if days is None or day not in days:
            days = await self._fetch_locked(day, now)
        memo.adopt(days, now)
        return memo.pick(days, day)

    async def _fetch_locked(self, day: date, now: datetime) -> dict[date, DayInfo]:
        memo = self._memo
        lock = memo.store.lock(memo.key, memo.lock_timeout)
        lease = await asyncio.to_thread(lock.__enter__)
        try:
            days = days_of(await asyncio.to_thread(memo.store.load, memo.key), now) or {}
            if day not in days:
                body = await self.client.make_request("GET", api_id=DAY_API, params=day_params(day))
                days = {**days, **parse_days(body)}
                entry: TokenEntry = entry_for(days, now)
                await asyncio.to_thread(lease.save, entry)
        except BaseException as exc:
            await asyncio.to_thread(lock.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await asyncio.to_thread(lock.__exit__, None, None, None)
        return days
