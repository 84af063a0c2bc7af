"""Order helpers: buy, sell, pending, modify, cancel, and reconciliation of lost replies.

``Orders(client)`` / ``AsyncOrders(async_client)``; see :mod:`.sync` for the calls and
:mod:`._core` for how a lost reply is matched to the order KIS holds.
"""

from __future__ import annotations

from .aio import AsyncOrders
from .errors import (
    KISAmbiguousOrderError,
    KISNothingLeftError,
    KISOrderNotPlacedError,
    KISOrderTypeError,
    KISOrderUndecidedError,
)
from .model import AsyncOrder, Order, OrderRequest, OrderState
from .sync import Orders

__all__ = [
    "AsyncOrder",
    "AsyncOrders",
    "KISAmbiguousOrderError",
    "KISNothingLeftError",
    "KISOrderNotPlacedError",
    "KISOrderTypeError",
    "KISOrderUndecidedError",
    "Order",
    "OrderRequest",
    "OrderState",
    "Orders",
]
