"""``Orders``: buy, sell, list, modify and cancel orders through a :class:`KISRestClient`.

>>> orders = Orders(client, reconcile=True)
>>> order = orders.buy("005930", 10, 70000)                # a KRX limit order
>>> order = orders.buy("AAPL", 1, "190.5", exchange="NASD")
>>> order = orders.sell("101W12", 1, kind="future")        # market, session from the clock
>>> [o.odno for o in orders.pending()]
>>> order.modify(price=69900); order.cancel()
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._drive import Effect, Sleep, run
from ..errors import KISAmbiguousOutcomeError, KISUsageError
from ._core import Call, Collect, Flow, OrderCore, Settings, T, kind_of
from ._requests import Account
from .model import Order, OrderState

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..client import KISRestClient

__all__ = ["Orders"]


def make_core(
    client: Any,
    *,
    reconcile: bool,
    hashkey: bool,
    clock: Callable[[], datetime] | None,
    reconcile_delays: tuple[float, ...],
    window: timedelta,
) -> OrderCore:
    """The shared core for a sync or async client (the account is read once, here)."""
    config = client.config
    account = Account(config.cano, config.acnt_prdt_cd, config.is_paper)
    if any(d < 0 or d > 60 for d in reconcile_delays) or len(reconcile_delays) > 10:
        raise KISUsageError("reconcile_delays: at most 10 waits of 0..60 seconds each")
    settings = Settings(
        reconcile=reconcile,
        hashkey=hashkey,
        delays=tuple(reconcile_delays),
        window=window,
        inflight_wait=float(config.attempt_deadline) + 1.0,
        clock=clock,
    )
    return OrderCore(client.catalog, account, settings)


class Orders:
    """Order helpers over a blocking client, for its configured account and domain.

    ``reconcile=True``: a lost order reply is resolved before ``buy``/``sell`` return: the
    order as KIS holds it, or :class:`KISOrderNotPlacedError` when KIS provably has none (safe
    to send again). Otherwise a lost reply raises :class:`KISAmbiguousOrderError`, which
    :meth:`reconcile` resolves. ``clock`` returns KIS's time (aware); the wall clock in KST by
    default: orders are matched on KIS's order time within ``window`` of it (pass the
    sandbox's ``market_time`` when its market clock is pinned). ``reconcile_delays``: the
    waits before asking KIS again when a just-sent order is not listed yet.
    ``hashkey=True`` signs each order body (an extra call to KIS each).
    """

    def __init__(
        self,
        client: KISRestClient,
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

    def buy(
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
    ) -> Order:
        """Buy ``quantity`` of ``symbol``: at ``price`` (a limit), or at market when None.

        Domestic stocks by default (``venue`` KRX, NXT or SOR; paper: KRX); ``exchange=``
        (NASD, NYSE, AMEX, TKSE, SEHK, SHAA, SZAA, HASE, VNSE) for overseas stocks, which need
        a price; ``kind="future"`` for KRX futures/options on a product-03 account, in
        ``session`` ``"day"``/``"night"`` (None: from the clock's KST time). ``division`` is
        KIS's order division code when not the plain limit/market one. Refused before sending
        (:class:`KISOrderTypeError`) when the venue/environment does not take the order type.
        """
        request = self._core.request(
            "buy", symbol, quantity, price,
            venue=venue, exchange=exchange, kind=kind, session=session, division=division,
        )  # fmt: skip
        return self._order(self._run(self._core.place(request)))

    def sell(
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
    ) -> Order:
        """Sell ``quantity`` of ``symbol``; the arguments as :meth:`buy`."""
        request = self._core.request(
            "sell", symbol, quantity, price,
            venue=venue, exchange=exchange, kind=kind, session=session, division=division,
        )  # fmt: skip
        return self._order(self._run(self._core.place(request)))

    def pending(
        self, *, kind: str | None = None, exchange: str | None = None, session: str | None = None
    ) -> list[Order]:
        """Orders with something left to modify or cancel (``remaining`` > 0).

        Domestic stocks by default; ``exchange=`` for overseas (NASD: every US exchange);
        ``kind="future"`` for futures/options (both sessions on real, ``session=`` for one).
        Real domestic/overseas read KIS's cancellable-orders APIs (inquire-psbl-rvsecncl,
        inquire-nccs); paper, which does not offer them, and futures read the unfilled daily
        orders (inquire-daily-ccld, overseas inquire-ccnl, futureoption inquire-ccnl).
        """
        which = kind_of(kind, exchange)
        states = self._run(self._core.pending(which, exchange=exchange, session=session))
        return [self._order(s) for s in states]

    def modify(self, order: OrderState, *, price: Any = None, quantity: int | None = None) -> Order:
        """Move ``order``'s remainder (or ``quantity`` of it) to ``price``.

        The cancellable quantity is read from KIS first, as KIS advises:
        :class:`KISNothingLeftError` (unsent) when nothing is left. Returns the modify, an
        order of its own whose ``original_odno`` is ``order``'s. TWAP/VWAP orders refuse.
        """
        return self._order(
            self._run(self._core.change(order, cancel=False, price=price, quantity=quantity))
        )

    def cancel(self, order: OrderState, *, quantity: int | None = None) -> Order:
        """Cancel ``order``'s remainder (or ``quantity`` of it), after checking what is left."""
        return self._order(self._run(self._core.change(order, cancel=True, quantity=quantity)))

    def reconcile(self, error: KISAmbiguousOutcomeError) -> Order | None:
        """The order a lost reply was for, as KIS holds it, or None when KIS has none.

        Takes the error of :meth:`buy`/:meth:`sell` or of ``client.make_request`` for a new
        order (order-cash, overseas-order, futureoption-order). None is concluded only after
        the inquiry came back empty ``len(reconcile_delays) + 1`` times (about 3.5 s by
        default): KIS may list a just-accepted order a moment late.
        """
        found = self._run(self._core.reconcile(error))
        return None if found is None else self._order(found)

    @property
    def known(self) -> frozenset[str]:
        """Order numbers these helpers have seen (excluded when matching a lost reply)."""
        return self._core.known

    def _order(self, state: OrderState) -> Order:
        return Order(**state.values(), owner=self)

    def _run(self, flow: Flow[T]) -> T:
        return run(flow, self._perform)

    def _perform(self, effect: Effect[Any]) -> object:
        match effect:
            case Call(method, api, variant, params, hashkey):
                return self.client.make_request(
                    method, api_id=api, variant=variant, params=params, hashkey=hashkey
                )
            case Collect(api, variant, params):
                return self.client.iter_pages(
                    "GET", api_id=api, variant=variant, params=params
                ).collect()
            case Sleep(seconds):
                time.sleep(seconds)
                return None
        raise TypeError(f"the order flow yielded an unknown effect: {effect!r}")
