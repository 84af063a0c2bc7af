"""``Answers(client)`` and ``AsyncAnswers(async_client)``: typed answers in one call.

Both run the same plans (:mod:`._plans`); only how a request is performed differs. The lead
attaches them to the clients (``client.answers``) and may forward ``quote``/``balance``/
``chart``; they work the same constructed directly::

    answers = Answers(client)
    answers.quote("005930").price                 # Decimal
    answers.balance().holdings[0].quantity        # int, every page read
    answers.chart("005930", interval="1d", count=20).to_pandas()
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from .._drive import Effect, Effects, arun, run
from . import _plans as P
from ._values import KST
from .account import AccountView, Balance
from .frames import AnswerList, Chart
from .market import Bar, OrderBook, Quote
from .orders import Orderable, OrderRecord

if TYPE_CHECKING:
    from ..aio import AsyncKISRestClient
    from ..client import KISRestClient
    from ..protocol import KISResponse

__all__ = ["Answers", "AsyncAnswers"]

T = TypeVar("T")
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(KST)


class _Shared:
    """The calls' arguments, checked and turned into plans, for both clients."""

    def __init__(self, clock: Clock | None) -> None:
        # "Now" decides a chart's default end and the date of KIS's time-only stamps; a
        # sandbox at another market time passes its own clock.
        self._clock = clock or _now

    def _today(self) -> date:
        return self._clock().astimezone(KST).date()

    def _chart(
        self,
        symbol: str,
        *,
        interval: str,
        start: datetime | date | None,
        end: datetime | date | None,
        count: int | None,
        market: str | None,
    ) -> Effects[Effect[Any], Chart[Bar]]:
        return P.chart(
            symbol,
            interval=interval,
            start=start,
            end=end,
            count=count,
            market=market,
            now=self._clock(),
        )

    def _orders(
        self, start: date | None, end: date | None, symbol: str | None, venue: str
    ) -> Effects[Effect[Any], AnswerList[OrderRecord]]:
        today = self._today()
        return P.daily_orders(start or today, end or today, symbol, venue, today)


class Answers(_Shared):
    """Typed answers through a blocking :class:`~..client.KISRestClient`.

    ``clock`` (default: the wall clock, KST) is "now" for a chart's default end and for
    stamps KIS sends as a time of day only.
    """

    def __init__(self, client: KISRestClient, *, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.client = client

    def quote(self, symbol: str, *, market: str | None = None) -> Quote:
        """The price of ``symbol`` now: a KRX code (``"005930"``; ``market="NXT"``/``"UN"``
        for the others) through inquire-price, an overseas ticker with its exchange
        (``market="NAS"`` or ``"NASD"``...) through overseas-price."""
        return self._run(P.quote(symbol, market, self._clock()))

    def order_book(self, symbol: str, *, market: str | None = None) -> OrderBook:
        """The domestic order book of ``symbol`` (ten levels a side)."""
        return self._run(P.order_book(symbol, market, self._clock()))

    def balance(self) -> Balance:
        """The domestic account: every holding (all pages) and the cash, in KRW."""
        return self._run(P.balance())

    def overseas_balance(self, exchange: str, *, currency: str | None = None) -> Balance:
        """The holdings on one overseas exchange (``"NASD"``, ``"TKSE"``...), every page."""
        return self._run(P.overseas_balance(exchange, currency))

    def overview(self) -> AccountView:
        """Every holding and every currency's cash, with totals in KRW."""
        return self._run(P.overview())

    def chart(
        self,
        symbol: str,
        *,
        interval: str = "1d",
        start: datetime | date | None = None,
        end: datetime | date | None = None,
        count: int | None = None,
        market: str | None = None,
    ) -> Chart[Bar]:
        """Bars of ``symbol``, oldest first: ``"1d"`` daily (the period chart API), ``"1m"``
        minutes (the minute API, today's for a KRX code). At most ``count`` bars (the newest),
        within ``start``..``end`` (aware datetimes or dates); with neither ``count`` nor
        ``start``, the last 100. Calls are bounded (:data:`~._plans.MAX_CHART_CALLS`)."""
        return self._run(
            self._chart(symbol, interval=interval, start=start, end=end, count=count, market=market)
        )

    def daily_orders(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        symbol: str | None = None,
        venue: str = "KRX",
    ) -> AnswerList[OrderRecord]:
        """Domestic orders and their fills between ``start`` and ``end`` (default today), every
        page; ``venue`` is KIS's EXCG_ID_DVSN_CD (KRX, NXT, SOR, ALL; paper: KRX only)."""
        return self._run(self._orders(start, end, symbol, venue))

    def orderable(
        self, symbol: str, *, price: Decimal | int | str | None = None, market: str | None = None
    ) -> Orderable:
        """What may be bought of ``symbol``: at ``price``, or at market (domestic only)."""
        return self._run(P.orderable(symbol, price, market))

    def _run(self, plan: Effects[Effect[Any], T]) -> T:
        return run(plan, self._perform)

    def _perform(self, effect: Effect[Any]) -> KISResponse | list[KISResponse]:
        if isinstance(effect, P.GetAll):
            pages = self.client.iter_pages(
                "GET", api_id=effect.api, params=effect.params, variant=effect.variant
            )
            return pages.collect()
        if isinstance(effect, P.Get):
            return self.client.make_request(
                "GET", api_id=effect.api, params=effect.params, variant=effect.variant
            )
        raise TypeError(f"an answers plan yielded an unknown effect: {effect!r}")


class AsyncAnswers(_Shared):
    """:class:`Answers` for :class:`~..aio.AsyncKISRestClient`: the same calls, awaited."""

    def __init__(self, client: AsyncKISRestClient, *, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.client = client

    async def quote(self, symbol: str, *, market: str | None = None) -> Quote:
        """See :meth:`Answers.quote`."""
        return await self._run(P.quote(symbol, market, self._clock()))

    async def order_book(self, symbol: str, *, market: str | None = None) -> OrderBook:
        """See :meth:`Answers.order_book`."""
        return await self._run(P.order_book(symbol, market, self._clock()))

    async def balance(self) -> Balance:
        """See :meth:`Answers.balance`."""
        return await self._run(P.balance())

    async def overseas_balance(self, exchange: str, *, currency: str | None = None) -> Balance:
        """See :meth:`Answers.overseas_balance`."""
        return await self._run(P.overseas_balance(exchange, currency))

    async def overview(self) -> AccountView:
        """See :meth:`Answers.overview`."""
        return await self._run(P.overview())

    async def chart(
        self,
        symbol: str,
        *,
        interval: str = "1d",
        start: datetime | date | None = None,
        end: datetime | date | None = None,
        count: int | None = None,
        market: str | None = None,
    ) -> Chart[Bar]:
        """See :meth:`Answers.chart`."""
        return await self._run(
            self._chart(symbol, interval=interval, start=start, end=end, count=count, market=market)
        )

    async def daily_orders(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        symbol: str | None = None,
        venue: str = "KRX",
    ) -> AnswerList[OrderRecord]:
        """See :meth:`Answers.daily_orders`."""
        return await self._run(self._orders(start, end, symbol, venue))

    async def orderable(
        self, symbol: str, *, price: Decimal | int | str | None = None, market: str | None = None
    ) -> Orderable:
        """See :meth:`Answers.orderable`."""
        return await self._run(P.orderable(symbol, price, market))

    async def _run(self, plan: Effects[Effect[Any], T]) -> T:
        return await arun(plan, self._perform)

    async def _perform(self, effect: Effect[Any]) -> KISResponse | list[KISResponse]:
        if isinstance(effect, P.GetAll):
            pages = self.client.iter_pages(
                "GET", api_id=effect.api, params=effect.params, variant=effect.variant
            )
            return await pages.collect()
        if isinstance(effect, P.Get):
            return await self.client.make_request(
                "GET", api_id=effect.api, params=effect.params, variant=effect.variant
            )
        raise TypeError(f"an answers plan yielded an unknown effect: {effect!r}")
