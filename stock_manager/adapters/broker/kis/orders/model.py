"""What an order is to the helpers: the request as asked, and the order as KIS holds it.

:class:`OrderState` is plain data (English names, ``Decimal`` prices, ``int`` quantities, a KST
datetime, the raw KIS record kept). :class:`Order` and :class:`AsyncOrder` add ``modify`` and
``cancel`` bound to the helpers that made them, blocking or awaitable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ..errors import KISUsageError

if TYPE_CHECKING:
    from .aio import AsyncOrders
    from .sync import Orders

__all__ = ["KST", "AsyncOrder", "Kind", "Order", "OrderRequest", "OrderState", "Side"]

KST = timezone(timedelta(hours=9), "KST")
Side = Literal["buy", "sell"]
#: stock: domestic (KRX, NXT, SOR); overseas: by exchange; future: domestic futures/options.
Kind = Literal["stock", "overseas", "future"]


@dataclass(frozen=True)
class OrderRequest:
    """A new order as asked, after the matrix check: what reconciliation matches on.

    ``price`` is None for a division that takes no price (market-like); ``division`` is KIS's
    code (ORD_DVSN / ORD_DVSN_CD); ``venue`` (stock), ``exchange`` (overseas) and ``session``
    (future: ``"day"``/``"night"``) are set for their kind only.
    """

    kind: Kind
    symbol: str
    side: Side
    quantity: int
    price: Decimal | None
    division: str
    venue: str | None = None
    exchange: str | None = None
    session: str | None = None


@dataclass(frozen=True)
class OrderState:
    """One order (or one modify/cancel, which KIS numbers as orders of their own) as KIS holds it.

    ``remaining`` is what is left to fill (and so to modify or cancel) when KIS said, else None;
    ``original_odno`` is set on a modify or cancel; ``ordered_at`` is KIS's order time in KST.
    """

    odno: str
    kind: Kind
    symbol: str
    side: Side
    quantity: int
    price: Decimal | None
    division: str
    branch: str = ""
    venue: str | None = None
    exchange: str | None = None
    session: str | None = None
    ordered_at: datetime | None = None
    filled: int | None = None
    remaining: int | None = None
    original_odno: str = ""
    action: Literal["new", "modify", "cancel"] = "new"
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def values(self) -> dict[str, Any]:
        """The fields as a dict (to build an :class:`Order` or :class:`AsyncOrder` from)."""
        return {f.name: getattr(self, f.name) for f in fields(OrderState)}


@dataclass(frozen=True)
class Order(OrderState):
    """An order with blocking ``modify`` and ``cancel`` (from :class:`~.sync.Orders`)."""

    owner: Orders | None = field(default=None, compare=False, repr=False)

    def modify(self, *, price: Any = None, quantity: int | None = None) -> Order:
        """Move the remainder (or ``quantity`` of it) to ``price``; see ``Orders.modify``."""
        return self._owner().modify(self, price=price, quantity=quantity)

    def cancel(self, *, quantity: int | None = None) -> Order:
        """Cancel the remainder (or ``quantity`` of it); see ``Orders.cancel``."""
        return self._owner().cancel(self, quantity=quantity)

    def _owner(self) -> Orders:
        if self.owner is None:
            raise KISUsageError("this Order was not made by an Orders object: use orders.modify")
        return self.owner


@dataclass(frozen=True)
class AsyncOrder(OrderState):
    """An order with awaitable ``modify`` and ``cancel`` (from :class:`~.aio.AsyncOrders`)."""

    owner: AsyncOrders | None = field(default=None, compare=False, repr=False)

    async def modify(self, *, price: Any = None, quantity: int | None = None) -> AsyncOrder:
        """Move the remainder (or ``quantity`` of it) to ``price``; see ``AsyncOrders.modify``."""
        return await self._owner().modify(self, price=price, quantity=quantity)

    async def cancel(self, *, quantity: int | None = None) -> AsyncOrder:
        """Cancel the remainder (or ``quantity`` of it); see ``AsyncOrders.cancel``."""
        return await self._owner().cancel(self, quantity=quantity)

    def _owner(self) -> AsyncOrders:
        if self.owner is None:
            raise KISUsageError("this AsyncOrder was not made by AsyncOrders: use orders.modify")
        return self.owner
