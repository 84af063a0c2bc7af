"""The order helpers' logic, written once for the blocking and the asyncio shells.

Like the client's own flows (:mod:`.._flow`), each operation is a generator yielding effects
(:class:`Call` one API, :class:`Collect` every page of an inquiry, :class:`~.._drive.Sleep`)
that :class:`~.sync.Orders` performs with blocking calls and :class:`~.aio.AsyncOrders` with
``await``, through :func:`~.._drive.run` / :func:`~.._drive.arun`. An error of an effect is
thrown back into the flow, which is how a lost order reply turns into reconciliation.

Reconciliation (why it is safe):

* A lost reply is matched against the day's orders (the daily-orders list, which holds every
  cancellable order too) on account (the inquiry is the configured account's, and the lost
  body must be for it), symbol, side, quantity, price and time: KIS's order time within
  ``window`` of the helpers' clock when the order was sent. Modifies and cancels (an original
  order number set) never match a new order.
* Order numbers this object already knows (replies it got, orders it resolved) are excluded,
  so of two identical orders the one whose reply came is never taken for the one whose reply
  was lost. While an identical order from this object is still awaiting its reply,
  reconciliation waits for it (bounded) so that its number is known first.
* Of several candidates left (identical orders all lost), the one whose time is closest to
  the send time is taken, then the lowest number: each is claimed once, so N lost identical
  orders resolve to the N orders KIS holds, whichever way round.
* KIS may list a just-accepted order a moment late: an empty answer is asked again after each
  of ``delays`` (bounded; 0.5 + 1 + 2 s by default) before concluding that KIS has no such
  order. Orders placed by other programs on the same account with identical terms in the same
  window cannot be told apart from ours: give such programs distinct quantities or prices.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from .._drive import Effect, Effects, Sleep, ask
from ..catalog import Catalog
from ..errors import KISAmbiguousOutcomeError, KISUsageError
from ..protocol import KISResponse
from . import _matrix
from ._names import rows_of
from ._requests import (
    NEW_ORDER,
    SIDES,
    Account,
    Inquiry,
    cancellable_inquiry,
    daily_inquiry,
    new_order_params,
    placed_state,
    rvsecncl_params,
    rvsecncl_state,
    state_of_row,
)
from .errors import (
    KISAmbiguousOrderError,
    KISNothingLeftError,
    KISOrderNotPlacedError,
    KISOrderTypeError,
    KISOrderUndecidedError,
)
from .model import KST, Kind, OrderRequest, OrderState, Side

__all__ = ["Call", "Collect", "OrderCore", "Settings", "kind_of"]

T = TypeVar("T")
Flow = Effects[Effect[Any], T]
#: How often a reconciliation looks again for an identical order still awaiting its reply.
INFLIGHT_POLL = 0.05
#: How many days before the send reconciliation's last look covers (a weekend and a holiday).
SWEEP_DAYS = 4


@dataclass(frozen=True)
class Call(Effect[KISResponse]):
    """Call ``api`` once (an order is sent at most once: a lost reply raises)."""

    method: str
    api: str
    variant: str | None
    params: Mapping[str, str]
    hashkey: bool = False


@dataclass(frozen=True)
class Collect(Effect[list[KISResponse]]):
    """Every page of a paged inquiry, of one consistent pass."""

    api: str
    variant: str | None
    params: Mapping[str, str]


@dataclass(frozen=True)
class Settings:
    """The helpers' options (see :class:`~.sync.Orders`)."""

    reconcile: bool = False
    hashkey: bool = False
    delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    window: timedelta = timedelta(seconds=90)
    inflight_wait: float = 30.0
    clock: Callable[[], datetime] | None = None

    def now(self) -> datetime:
        """KIS's time as the helpers see it (the wall clock in KST unless ``clock`` is set)."""
        moment = self.clock() if self.clock is not None else datetime.now(KST)
        return moment.astimezone(KST)


def kind_of(kind: str | None, exchange: str | None) -> Kind:
    """The kind ``pending`` lists: overseas with an exchange, futures by ``kind``."""
    if kind not in (None, "stock", "future"):
        raise KISUsageError(f"kind must be None, 'stock' or 'future', not {kind!r}")
    if exchange is not None:
        return "overseas"
    return "future" if kind == "future" else "stock"


def _key(request: OrderRequest) -> tuple[object, ...]:
    return (request.kind, request.symbol, request.side, request.quantity, request.price)


class OrderCore:
    """What one Orders object knows and does; the shells only perform its effects."""

    def __init__(self, catalog: Catalog, account: Account, settings: Settings) -> None:
        self.catalog = catalog
        self.account = account
        self.settings = settings
        self._lock = threading.Lock()  # short, never held across an effect
        self._known: set[str] = set()
        self._inflight: Counter[tuple[object, ...]] = Counter()

    @property
    def known(self) -> frozenset[str]:
        """Order numbers this object has seen KIS give (replies and reconciliations)."""
        with self._lock:
            return frozenset(self._known)

    # -- new orders ----------------------------------------------------------------------------

    def request(
        self, side: Side, symbol: object, quantity: object, price: object, **kw: Any
    ) -> OrderRequest:
        """The order checked against the matrix (raises before anything is sent)."""
        return _matrix.new_request(
            self.catalog,
            paper=self.account.paper,
            product=self.account.product,
            side=side,
            symbol=symbol,
            quantity=quantity,
            price=price,
            now=self.settings.now,
            **kw,
        )

    def place(self, request: OrderRequest) -> Flow[OrderState]:
        """Send a new order; on a lost reply, reconcile when asked to, else raise it typed."""
        api, body = new_order_params(self.catalog, self.account, request)
        key = _key(request)
        with self._lock:
            self._inflight[key] += 1
        sent_kst = self.settings.now()
        try:
            reply = yield from ask(
                Call("POST", api.alias, _matrix.order_variant(request), body, self.settings.hashkey)
            )
        except KISAmbiguousOutcomeError as error:
            self._landed(key, None)
            typed = KISAmbiguousOrderError(error, request=request, sent_kst=sent_kst)
            if not self.settings.reconcile:
                raise typed from error
            found = yield from self._reconcile(request, sent_kst)
            if found is None:
                raise KISOrderNotPlacedError(
                    f"KIS holds no {request.side} order of {request.quantity} {request.symbol} "
                    "sent at the time of the lost reply: it was not placed, sending it again "
                    "is safe",
                    request=request,
                ) from error
            return found
        except BaseException:
            self._landed(key, None)
            raise
        state = placed_state(api, reply, request, self.settings.now())
        self._landed(key, state.odno)
        return state

    def _landed(self, key: tuple[object, ...], odno: str | None) -> None:
        with self._lock:
            self._inflight[key] -= 1
            if self._inflight[key] <= 0:
                del self._inflight[key]
            if odno:
                self._known.add(odno)

    # -- reconciliation ------------------------------------------------------------------------

    def reconcile(self, error: KISAmbiguousOutcomeError) -> Flow[OrderState | None]:
        """The order a lost reply was for, as KIS holds it, or None if KIS has none."""
        if isinstance(error, KISAmbiguousOrderError):
            request, sent_kst = error.request, error.sent_kst
        else:
            request = self._request_of(error)
            # error.sent_at is the wall clock; move it onto the helpers' clock (KIS's time).
            offset = self.settings.now() - datetime.now(UTC)
            sent_kst = (error.sent_at + offset).astimezone(KST)
        return (yield from self._reconcile(request, sent_kst))

    def _reconcile(self, request: OrderRequest, sent_kst: datetime) -> Flow[OrderState | None]:
        yield from self._await_identical(request)
        for pause in (*self.settings.delays, None):
            candidates = yield from self._candidates(request, sent_kst)
            found = self._claim(candidates, sent_kst)
            if found is not None:
                return found
            if pause is None:
                break
            yield from ask(Sleep(pause))
        # None tells the caller that sending again is safe, so it must be true whatever the
        # clocks say: an identical order this object does not know, on any day around the send
        # (the helpers' clock and KIS's may disagree by hours), makes the outcome undecided.
        suspects = yield from self._candidates(request, sent_kst, window=None)
        with self._lock:
            unknown = [s for s in suspects if s.odno and s.odno not in self._known]
        if unknown:
            raise KISOrderUndecidedError(request, unknown)
        return None

    def _await_identical(self, request: OrderRequest) -> Flow[None]:
        ends = time.monotonic() + self.settings.inflight_wait
        key = _key(request)
        while time.monotonic() < ends:
            with self._lock:
                if not self._inflight.get(key):
                    return
            yield from ask(Sleep(INFLIGHT_POLL))

    def _candidates(
        self,
        request: OrderRequest,
        sent_kst: datetime,
        *,
        window: timedelta | Literal["default"] | None = "default",
    ) -> Flow[list[OrderState]]:
        """Identical new orders sent within ``window`` of ``sent_kst`` (None: any time, over
        the days around it)."""
        wide = window is None
        inquiry = daily_inquiry(
            self.catalog,
            self.account,
            request.kind,
            day=sent_kst.date(),
            side=request.side,
            symbol=request.symbol,
            exchange=request.exchange,
            session=request.session,
            back=SWEEP_DAYS if wide else 0,
            ahead=1 if wide else 0,
        )
        rows = yield from self._rows(inquiry, request.kind, request.session, sent_kst.date())
        if window == "default":
            window = self.settings.window
        price = request.price if request.price is not None else Decimal(0)
        found = []
        for state in rows:
            if state.action != "new" or state.original_odno:
                continue
            if (state.symbol.upper(), state.side, state.quantity) != (
                request.symbol.upper(),
                request.side,
                request.quantity,
            ):
                continue
            if (state.price or Decimal(0)) != price:
                continue
            if request.exchange and state.exchange and not _same_market(state, request):
                continue
            if window is not None and (
                state.ordered_at is None or abs(state.ordered_at - sent_kst) > window
            ):
                continue
            found.append(state)
        return found

    def _claim(self, candidates: list[OrderState], sent_kst: datetime) -> OrderState | None:
        def rank(state: OrderState) -> tuple[float, str]:
            moment = state.ordered_at or sent_kst  # candidates all carry a time
            return (abs((moment - sent_kst).total_seconds()), state.odno.zfill(12))

        with self._lock:
            for state in sorted(candidates, key=rank):
                if state.odno and state.odno not in self._known:
                    self._known.add(state.odno)
                    return state
        return None

    def _request_of(self, error: KISAmbiguousOutcomeError) -> OrderRequest:
        """The new order a plain ambiguous error (from ``make_request``) was for."""
        body = error.body or {}
        api = self.catalog.get(error.tr_id) if error.tr_id else None
        kinds = {alias: kind for kind, alias in NEW_ORDER.items()}
        if api is None or api.alias not in kinds:
            raise KISUsageError(
                "reconcile takes a lost new order of order-cash, overseas-order or "
                "futureoption-order; check other APIs' orders in their own inquiries"
            )
        kind: Kind = kinds[api.alias]  # type: ignore[assignment]
        if (str(body.get("CANO", "")), str(body.get("ACNT_PRDT_CD", ""))) != (
            self.account.cano,
            self.account.product,
        ):
            raise KISUsageError("the lost order was for another account than this client's")
        variant = _variant_of(api.tr_id_paper if self.account.paper else api.tr_id_real, error)
        text = {k: str(v) for k, v in body.items()}
        if kind == "stock":
            side: Side = "buy" if variant == "buy" else "sell"
            price_text, symbol, division = (
                text.get("ORD_UNPR", "0"),
                text.get("PDNO", ""),
                text.get("ORD_DVSN", ""),
            )
        elif kind == "overseas":
            side = "buy" if variant.startswith("buy") else "sell"
            price_text, symbol, division = (
                text.get("OVRS_ORD_UNPR", "0"),
                text.get("PDNO", ""),
                text.get("ORD_DVSN", ""),
            )
        else:
            side = SIDES.get(text.get("SLL_BUY_DVSN_CD", ""), "buy")
            price_text, symbol, division = (
                text.get("UNIT_PRICE", "0"),
                text.get("SHTN_PDNO", ""),
                text.get("ORD_DVSN_CD", ""),
            )
        price = Decimal(price_text or "0")
        return OrderRequest(
            kind,
            symbol,
            side,
            int(text.get("ORD_QTY", "0") or 0),
            price if price else None,
            division,
            venue=text.get("EXCG_ID_DVSN_CD") or ("KRX" if kind == "stock" else None),
            exchange=text.get("OVRS_EXCG_CD") or None,
            session=variant if kind == "future" else None,
        )

    # -- inquiries -----------------------------------------------------------------------------

    def _rows(
        self, inquiry: Inquiry, kind: Kind, session: str | None, today: date
    ) -> Flow[list[OrderState]]:
        pages = yield from ask(Collect(inquiry.api.alias, inquiry.variant, inquiry.params))
        return [
            state_of_row(inquiry, row, kind, today=today, session=session)
            for page in pages
            for row in rows_of(page, inquiry.block)
        ]

    def pending(
        self, kind: Kind, *, exchange: str | None = None, session: str | None = None
    ) -> Flow[list[OrderState]]:
        """Orders with something left to modify or cancel (see ``Orders.pending``)."""
        today = self.settings.now().date()
        sessions: tuple[str | None, ...] = (None,)
        if kind == "future":
            sessions = (
                (session,) if session else (("day",) if self.account.paper else ("day", "night"))
            )
        found: list[OrderState] = []
        for which in sessions:
            inquiry = cancellable_inquiry(
                self.catalog, self.account, kind, exchange=exchange, day=today
            ) or daily_inquiry(
                self.catalog,
                self.account,
                kind,
                day=today,
                exchange=exchange,
                session=which,
                unfilled=True,
            )
            rows = yield from self._rows(
                inquiry, kind, which or ("day" if kind == "future" else None), today
            )
            found.extend(
                s
                for s in rows
                if (s.remaining or 0) > 0
                and s.action != "cancel"
                and (
                    exchange is None
                    or s.exchange is None
                    or _market(s.exchange) == _market(exchange)
                )
            )
        return found

    # -- modify and cancel ---------------------------------------------------------------------

    def change(
        self, order: OrderState, *, cancel: bool, price: object = None, quantity: object = None
    ) -> Flow[OrderState]:
        """Modify or cancel ``order``'s remainder after checking what KIS shows is left."""
        if not cancel and order.division in _matrix.UNMODIFIABLE:
            raise KISOrderTypeError("TWAP/VWAP orders cannot be modified (KIS): cancel it")
        if quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0
        ):
            raise KISUsageError(f"quantity must be a positive int or None, not {quantity!r:.40}")
        limit = _matrix._price(price)
        if not cancel and limit is None and order.price is not None:
            raise KISUsageError("modify needs price= (a limit order moves to a new price)")
        if order.kind == "stock" and limit is not None and limit != limit.to_integral_value():
            raise KISUsageError(f"a domestic price is whole won, not {limit}")
        live = yield from self._live(order)
        left = live.remaining or 0 if live is not None else 0
        verb = "cancel" if cancel else "modify"
        if left <= 0:
            raise KISNothingLeftError(
                f"order {order.odno} has nothing left to {verb} (filled, cancelled or expired)",
                odno=order.odno,
            )
        if quantity is not None and quantity > left:
            raise KISUsageError(f"order {order.odno} has {left} left to {verb}, not {quantity}")
        if live is None:  # for mypy: left > 0 implies a live row
            raise KISNothingLeftError(f"order {order.odno} is not listed", odno=order.odno)
        target = replace(
            live,
            branch=live.branch or order.branch,
            venue=order.venue or live.venue,
            exchange=order.exchange or live.exchange,
            session=order.session or live.session,
            division=order.division or live.division,
        )
        division = _modify_division(target, limit)
        api, body = rvsecncl_params(
            self.catalog,
            self.account,
            target,
            cancel=cancel,
            quantity=quantity if isinstance(quantity, int) else None,
            price=limit,
            division=division,
        )
        variant = _matrix.rvsecncl_variant(target.kind, target.exchange, target.session)
        reply = yield from ask(Call("POST", api.alias, variant, body, self.settings.hashkey))
        return rvsecncl_state(
            api,
            reply,
            target,
            cancel=cancel,
            quantity=quantity if isinstance(quantity, int) else left,
            price=limit,
            division=division,
            now=self.settings.now(),
        )

    def _live(self, order: OrderState) -> Flow[OrderState | None]:
        """The order as KIS lists it among the cancellable ones now (None: not there)."""
        rows = yield from self.pending(order.kind, exchange=order.exchange, session=order.session)
        for state in rows:
            if state.odno.lstrip("0") == order.odno.lstrip("0"):
                return state
        return None


def _modify_division(order: OrderState, price: Decimal | None) -> str:
    """The division a modify or cancel is sent with: the order's own, or the venue's limit
    division when a market-like order is moved to a price."""
    if order.kind == "overseas":
        return order.division or "00"
    limit = "01" if order.kind == "future" else "00"
    if price is not None and order.division not in (
        _matrix.FUTURES_PRICED if order.kind == "future" else _matrix.STOCK_PRICED
    ):
        return limit
    return order.division or limit


def _market(exchange: str) -> str:
    return _matrix.MARKET_OF_EXCHANGE.get(exchange.upper(), exchange.upper())


def _same_market(state: OrderState, request: OrderRequest) -> bool:
    return (
        state.exchange is not None
        and request.exchange is not None
        and (state.exchange.upper() == request.exchange.upper())
    )


def _variant_of(table: object, error: KISAmbiguousOutcomeError) -> str:
    if isinstance(table, Mapping):
        for name, tr in table.items():
            if tr == error.tr_id:
                return str(name)
    return ""
