"""``AsyncOrders``: :class:`~.sync.Orders` for an :class:`AsyncKISRestClient` (same core)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._drive import Effect, Sleep, arun
from ..errors import KISAmbiguousOutcomeError
from ._core import Call, Collect, Flow, T, kind_of
from .model import AsyncOrder, OrderState
from .sync import make_core

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..aio import AsyncKISRestClient

__all__ = ["AsyncOrders"]


class AsyncOrders:
    """Order helpers over an asyncio client; every method is a coroutine. See ``Orders``."""

    def __init__(
        self,
        client: AsyncKISRestClient,
        *,
        reconcile: bool = False,
        hashkey: bool = False,
        clock: Callable[[], datetime] | None = None,
        reconcile_delays: tuple[float, ...] = (0.5, 1.0, 2.0),
        window: timedelta = timedelta(seconds=90),
    ) -> None:
        self.client = client
        self._core = make_core(
            client,
            reconcile=reconcile,
            hashkey=hashkey,
            clock=clock,
            reconcile_delays=reconcile_delays,
            window=window,
        )

    async def buy(
        self,
        symbol: str,
        quantity: int,
        price: Any = None,
        *,
        venue: str | None = None,
        exchange: str | None = None,
        kind: str | None = None,
        session: str | None = None,
        division: str | None = None,
    ) -> AsyncOrder:
        """See ``Orders.buy``."""
        request = self._core.request(
            "buy", symbol, quantity, price,
            venue=venue, exchange=exchange, kind=kind, session=session, division=division,
        )  # fmt: skip
        return self._order(await self._run(self._core.place(request)))

    async def sell(
        self,
        symbol: str,
        quantity: int,
        price: Any = None,
        *,
        venue: str | None = None,
        exchange: str | None = None,
        kind: str | None = None,
        session: str | None = None,
        division: str | None = None,
    ) -> AsyncOrder:
        """See ``Orders.sell``."""
        request = self._core.request(
            "sell", symbol, quantity, price,
            venue=venue, exchange=exchange, kind=kind, session=session, division=division,
        )  # fmt: skip
        return self._order(await self._run(self._core.place(request)))

    async def pending(
        self, *, kind: str | None = None, exchange: str | None = None, session: str | None = None
    ) -> list[AsyncOrder]:
        """See ``Orders.pending``."""
        which = kind_of(kind, exchange)
        states = await self._run(self._core.pending(which, exchange=exchange, session=session))
        return [self._order(s) for s in states]

    async def modify(
        self, order: OrderState, *, price: Any = None, quantity: int | None = None
    ) -> AsyncOrder:
        """See ``Orders.modify``."""
        flow = self._core.change(order, cancel=False, price=price, quantity=quantity)
        return self._order(await self._run(flow))

    async def cancel(self, order: OrderState, *, quantity: int | None = None) -> AsyncOrder:
        """See ``Orders.cancel``."""
        return self._order(
            await self._run(self._core.change(order, cancel=True, quantity=quantity))
        )

    async def reconcile(self, error: KISAmbiguousOutcomeError) -> AsyncOrder | None:
        """See ``Orders.reconcile``."""
        found = await self._run(self._core.reconcile(error))
        return None if found is None else self._order(found)

    @property
    def known(self) -> frozenset[str]:
        """See ``Orders.known``."""
        return self._core.known

    def _order(self, state: OrderState) -> AsyncOrder:
        return AsyncOrder(**state.values(), owner=self)

    async def _run(self, flow: Flow[T]) -> T:
        return await arun(flow, self._perform)

    async def _perform(self, effect: Effect[Any]) -> object:
        match effect:
            case Call(method, api, variant, params, hashkey):
                return await self.client.make_request(
                    method, api_id=api, variant=variant, params=params, hashkey=hashkey
                )
            case Collect(api, variant, params):
                pages = self.client.iter_pages("GET", api_id=api, variant=variant, params=params)
                return await pages.collect()
            case Sleep(seconds):
                await asyncio.sleep(seconds)
                return None
        raise TypeError(f"the order flow yielded an unknown effect: {effect!r}")
