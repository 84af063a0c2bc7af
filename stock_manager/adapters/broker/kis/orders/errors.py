"""The order helpers' errors, each a subclass of the client's hierarchy (:mod:`..errors`).

Nothing is sent when :class:`KISOrderTypeError` or :class:`KISNothingLeftError` is raised: they
are :class:`KISUsageError` s. :class:`KISAmbiguousOrderError` is a
:class:`KISAmbiguousOutcomeError`, so ``except KISAmbiguousOutcomeError`` keeps working, and
carries what :meth:`Orders.reconcile` needs. :class:`KISOrderNotPlacedError` is the one error
after which sending the same order again is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..errors import KISAmbiguousOutcomeError, KISError, KISUsageError

if TYPE_CHECKING:
    from .model import OrderRequest, OrderState

__all__ = [
    "KISAmbiguousOrderError",
    "KISNothingLeftError",
    "KISOrderNotPlacedError",
    "KISOrderTypeError",
    "KISOrderUndecidedError",
]


class KISOrderTypeError(KISUsageError):
    """The venue, environment or TR does not take this order type (KIS's matrix); unsent."""


class KISNothingLeftError(KISUsageError):
    """KIS shows nothing left to modify or cancel on the order (filled, cancelled, expired);
    the modify or cancel was not sent."""

    def __init__(self, message: str, *, odno: str) -> None:
        super().__init__(message)
        self.odno = odno


class KISAmbiguousOrderError(KISAmbiguousOutcomeError):
    """An order sent through the helpers whose reply was lost: pass it to ``reconcile``.

    ``request`` is the order as asked; ``sent_kst`` the helpers' clock (KIS's time, KST) just
    before it was sent, which the time window of the match is centred on.
    """

    def __init__(
        self, error: KISAmbiguousOutcomeError, *, request: OrderRequest, sent_kst: datetime
    ) -> None:
        super().__init__(
            str(error).split("; ")[0],
            sent_at=error.sent_at,
            body=error.body,
            tr_id=error.tr_id,
            path=error.path,
            hint="orders.reconcile(error) finds it at KIS, or proves it was never placed",
        )
        self.request = request
        self.sent_kst = sent_kst


class KISOrderNotPlacedError(KISError):
    """Reconciliation proved KIS holds no such order: sending it again is safe."""

    def __init__(self, message: str, *, request: OrderRequest) -> None:
        super().__init__(message)
        self.request = request


class KISOrderUndecidedError(KISAmbiguousOutcomeError):
    """Reconciliation found identical orders outside its time window: one may be yours."""

    # Raised instead of None (which means "safe to resend") when the helpers' clock and KIS's
    # disagree, or the order came much later than sent: the caller must look before resending.
    def __init__(self, request: OrderRequest, suspects: Sequence[OrderState]) -> None:
        listed = ", ".join(
            f"{s.odno} at {s.ordered_at:%Y-%m-%d %H:%M:%S}" if s.ordered_at else s.odno
            for s in suspects[:5]
        )
        super().__init__(
            f"KIS holds {len(suspects)} order(s) identical to the lost {request.side} of "
            f"{request.quantity} {request.symbol} outside the time window ({listed})",
            sent_at=datetime.now(UTC),
            hint=(
                "one of them may be this order: check them (client.orders.pending(), the daily "
                "orders) before sending it again; pass Orders(clock=...) KIS's time if yours "
                "differs"
            ),
        )
        self.request = request
        self.suspects = tuple(suspects)
