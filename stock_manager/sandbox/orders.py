"""The sandbox's exchange: orders that rest, fill against the market's price walk, and expire.

An accepted order holds cash (buy) or shares (sell) in its account's :class:`Ledger`, then:

* a marketable order fills at once against the opposite side of the book (limit orders at the
  book's prices up to their limit, market orders at the current price, in full);
* what is left rests, and fills as the price walk crosses its limit: on each step of the walk
  it takes at most :data:`PARTICIPATION` of that step's volume, so a large order fills in parts;
* at the end of its trading day an unfilled remainder expires (KIS keeps no GTC orders);
* modify and cancel act on the remainder only: KIS answers them with a new order number whose
  ``orgn_odno`` is the original, and refuses them when nothing is left.

Time is the market clock's. The exchange does not run on its own: every request calls
:meth:`Exchange.catch_up` under the sandbox lock, which replays the walk since the last call,
so the outcome depends on the market time only, never on how often clients poll.

Every change is appended to :attr:`Exchange.events` (accepted, filled, modified, cancelled,
expired, rejected) with a sequence number: the realtime notices stream them.

Message codes where KIS's own are not public (sandbox choices, also listed in ``codes.py``):
APBK0506 off the tick grid, APBK0509/APBK0510 above the upper / below the lower limit,
APBK0507 not a multiple of the trading unit, APBK0918 the market is closed, APBK0919 this
order type is not taken in the current session, APBK0656 unlisted code, APBK0344 nothing left
to modify or cancel, APBK0345 more than the remainder, KIER3672 reservation outside its window
(KIS's own text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from stock_manager.sandbox.codes import BusinessError
from stock_manager.sandbox.ledger import Ledger, is_derivative, notional
from stock_manager.sandbox.market import Market, Snapshot
from stock_manager.sandbox.sessions import is_trading_day, next_open, trading_day_of
from stock_manager.sandbox.universe import Instrument
from stock_manager.sandbox.walk import on_tick

Side = Literal["buy", "sell"]

#: The share of one walk step's volume a resting order may take (sandbox choice).
PARTICIPATION = Decimal("0.2")
#: How far back a catch-up replays the walk; older open orders simply expire.
MAX_REPLAY = timedelta(days=10)
#: KIS takes domestic reservations from 16:40 until 08:30 of the next trading day.
RESERVATION_OPENS = time(16, 40)
RESERVATION_CLOSES = time(8, 30)

CLOSED = ("APBK0918", "장운영시간이 아닙니다.")
NOT_NOW = "APBK0919"
UNLISTED = "APBK0656"
NOTHING_LEFT = ("APBK0344", "정정/취소할 수 있는 수량이 없습니다.")
OVER_REMAINDER = ("APBK0345", "정정/취소가능수량을 초과하였습니다.")
RESERVATION_WINDOW = (
    "KIER3672",
    "예약주문 은 16:40분 이후부터 익영업일 08:30분까지만 가능합니다.",
)


@dataclass(frozen=True)
class OrderType:
    """How one KIS order division trades: priced or not, when it is taken, when it trades.

    ``fixed`` names the one price an after-hours division trades at (``"previous_close"``
    for 장전 시간외, ``"close"`` for 장후 시간외); ``tif`` is ``"day"``, ``"ioc"`` or ``"fok"``.
    """

    code: str
    name: str
    priced: bool
    accepted_in: frozenset[str]
    trades_in: frozenset[str]
    tif: str = "day"
    fixed: str | None = None


@dataclass(frozen=True)
class Execution:
    """One fill of an order: when, how many, at what price."""

    moment: datetime
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class Ticket:
    """What a new order or a reservation asks for, as a handler read it from the body."""

    cano: str
    product: str
    instrument: Instrument
    side: Side
    quantity: int
    price: Decimal | None  # None for a division that takes no price (market-like)
    order_type: OrderType
    family: str  # which API family placed it: "stock", "credit", "overseas", "futures", "bond"...
    venue: str = "KRX"


@dataclass
class Order:
    """An order as KIS keeps it; modify and cancel requests are orders of their own."""

    odno: str
    cano: str
    product: str
    instrument: Instrument
    side: Side
    quantity: int
    price: Decimal | None  # None: a market order
    order_type: OrderType
    placed: datetime
    trading_day: date
    family: str  # which API family placed it: "stock", "credit", "overseas", "futures", "bond"...
    venue: str = "KRX"
    action: Literal["new", "modify", "cancel"] = "new"
    original_odno: str = ""
    status: Literal["open", "filled", "cancelled", "expired", "done"] = "open"
    cancelled: int = 0
    executions: list[Execution] = field(default_factory=list)
    held: Decimal = Decimal(0)  # cash still held for a buy (or margin), shares for a sell
    checked_until: datetime | None = None

    @property
    def filled(self) -> int:
        """Quantity filled so far."""
        return sum(e.quantity for e in self.executions)

    @property
    def remaining(self) -> int:
        """Quantity still open (0 once filled, cancelled or expired)."""
        return self.quantity - self.filled - self.cancelled if self.status == "open" else 0

    @property
    def filled_amount(self) -> Decimal:
        """Price times quantity over every fill, in the instrument's currency."""
        return sum((e.price * e.quantity for e in self.executions), Decimal(0))

    @property
    def average_price(self) -> Decimal:
        """Average fill price (0 before the first fill)."""
        filled = self.filled
        return self.filled_amount / filled if filled else Decimal(0)

    @property
    def is_open(self) -> bool:
        """Still resting with something left to fill."""
        return self.status == "open" and self.action != "cancel"


@dataclass(frozen=True)
class OrderEvent:
    """One change in an order's life, for inquiries and realtime notices."""

    seq: int
    kind: Literal["accepted", "filled", "modified", "cancelled", "expired", "rejected"]
    odno: str
    original_odno: str
    cano: str
    product: str
    code: str
    market: str
    side: Side
    quantity: int  # this event's quantity (a fill's, a cancel's...)
    price: Decimal
    remaining: int
    moment: datetime
    family: str
    reason: str = ""


@dataclass
class Reservation:
    """A reserved order (예약주문): placed as a real order when its day's session opens."""

    seq: str
    ticket: Ticket
    created: datetime
    submit_day: date
    end_day: date
    status: Literal["waiting", "submitted", "cancelled", "expired"] = "waiting"
    odno: str = ""
    #: When it is placed; None: 08:30 KST of ``submit_day`` (domestic). Overseas reservations
    #: go at their exchange's open, whose KST time differs by exchange and season.
    submit_at: datetime | None = None


class Exchange:
    """Every account's orders and books for one sandbox. Callers hold the sandbox lock."""

    def __init__(self, market: Market, next_number: Callable[[], str]) -> None:
        self.market = market
        self._next_number = next_number
        self.orders: dict[str, Order] = {}
        self.reservations: dict[str, Reservation] = {}
        self.ledgers: dict[str, Ledger] = {}
        self.events: list[OrderEvent] = []
        self._last_day: date | None = None

    # --- books ------------------------------------------------------------------------------

    def ledger(self, cano: str) -> Ledger:
        """The books of account ``cano`` (opened with the starting cash on first use)."""
        found = self.ledgers.get(cano)
        if found is None:
            found = self.ledgers[cano] = Ledger(cano)
        return found

    def orders_of(self, cano: str, product: str | None = None) -> list[Order]:
        """Every order and modify/cancel request of an account, oldest first."""
        return [
            o
            for o in self.orders.values()
            if o.cano == cano and (product is None or o.product == product)
        ]

    def open_orders(self, cano: str, product: str | None = None) -> list[Order]:
        """Orders with a remainder that may still fill (KIS's 정정취소가능주문)."""
        return [o for o in self.orders_of(cano, product) if o.is_open and o.remaining]

    def find(self, cano: str, odno: str) -> Order | None:
        """The account's order with that number (leading zeros ignored, as KIS does)."""
        order = self.orders.get(odno) or self.orders.get(odno.strip().zfill(10))
        return order if order is not None and order.cano == cano else None

    # --- placing ----------------------------------------------------------------------------

    def place(self, ticket: Ticket) -> Order:
        """Accept a new order (holding what it needs) and fill what is marketable at once.

        Raises :class:`BusinessError` (and changes nothing) when the session, price, quantity,
        cash or shares do not allow it.
        """
        now = self.market.now()
        self.catch_up(now)
        instrument, order_type, quantity = ticket.instrument, ticket.order_type, ticket.quantity
        price = ticket.price
        snapshot = self.market.snapshot(instrument, now)
        session = snapshot.session
        if session not in order_type.accepted_in:
            if session == "closed":
                raise BusinessError(*CLOSED)
            raise BusinessError(
                NOT_NOW, f"{order_type.name} 주문을 받는 시간이 아닙니다. (현재 {session})"
            )
        self.check_quantity(instrument, quantity)
        if order_type.priced:
            if price is None or price <= 0:
                raise BusinessError("OPSQ2002", "지정가 주문은 주문단가가 0보다 커야 합니다.")
            self.check_price(instrument, price, snapshot.lower, snapshot.upper)
        ledger = self.ledger(ticket.cano)
        price = price if order_type.priced else None
        held = self._hold(ledger, instrument, ticket.side, quantity, _unit(price, snapshot))
        order = Order(
            odno=self._next_number(),
            cano=ticket.cano,
            product=ticket.product,
            instrument=instrument,
            side=ticket.side,
            quantity=quantity,
            price=price,
            order_type=order_type,
            placed=now,
            trading_day=snapshot.trading_day,
            family=ticket.family,
            venue=ticket.venue,
            held=held,
            checked_until=now,
        )
        self.orders[order.odno] = order
        self._event("accepted", order, quantity, price or Decimal(0), moment=now)
        self._fill_on_arrival(order, session)
        return order

    def check_quantity(self, instrument: Instrument, quantity: int) -> None:
        """A positive multiple of the trading unit."""
        if quantity <= 0:
            raise BusinessError("APBK0634", f"주문수량을 확인하여 주십시오. ({quantity})")
        if quantity % instrument.lot:
            raise BusinessError(
                "APBK0507",
                f"주문수량이 매매단위({instrument.lot})의 배수가 아닙니다. ({quantity})",
            )

    def check_price(
        self, instrument: Instrument, price: Decimal, lower: Decimal | None, upper: Decimal | None
    ) -> None:
        """On the tick grid and inside the day's band."""
        if upper is not None and price > upper:
            raise BusinessError("APBK0509", f"주문가격이 상한가({upper})를 초과합니다. ({price})")
        if lower is not None and price < lower:
            raise BusinessError("APBK0510", f"주문가격이 하한가({lower}) 미만입니다. ({price})")
        if not on_tick(instrument, price):
            raise BusinessError("APBK0506", f"주문가격이 호가단위에 맞지 않습니다. ({price})")

    @staticmethod
    def _hold(
        ledger: Ledger, instrument: Instrument, side: Side, quantity: int, unit: Decimal
    ) -> Decimal:
        if is_derivative(instrument):
            margin = ledger.margin_for(instrument, side, quantity, unit)
            ledger.hold_cash(instrument.currency, margin)
            return margin
        if side == "buy":
            amount = notional(instrument, quantity, unit)
            ledger.hold_cash(instrument.currency, amount)
            return amount
        ledger.hold_quantity(instrument, quantity)
        return Decimal(quantity)

    # --- modify and cancel ------------------------------------------------------------------

    def cancel(self, cano: str, original: Order, quantity: int | None) -> Order:
        """Cancel ``quantity`` of the remainder (all of it when None); answers the cancel order."""
        self.catch_up(self.market.now())
        amount = self._take_remainder(original, quantity)
        record = self._record(original, "cancel", amount, original.price)
        self._release(original, amount)
        original.cancelled += amount
        if not original.remaining:
            original.status = "cancelled"
        self._event(
            "cancelled",
            original,
            amount,
            original.price or Decimal(0),
            moment=record.placed,
            odno=record.odno,
        )
        return record

    def modify(
        self,
        cano: str,
        original: Order,
        quantity: int | None,
        price: Decimal | None,
        order_type: OrderType | None = None,
    ) -> Order:
        """Move ``quantity`` of the remainder (all when None) to a new price; a new order rests."""
        now = self.market.now()
        self.catch_up(now)
        amount = self._take_remainder(original, quantity)
        new_type = order_type or original.order_type
        snapshot = self.market.snapshot(original.instrument, now)
        if snapshot.session not in new_type.accepted_in:
            raise BusinessError(*CLOSED)
        if new_type.priced:
            if price is None or price <= 0:
                raise BusinessError("OPSQ2002", "정정 주문단가가 0보다 커야 합니다.")
            self.check_price(original.instrument, price, snapshot.lower, snapshot.upper)
        # The old remainder's hold goes back before the new order takes its own.
        held_before = original.held
        self._release(original, amount)
        released = held_before - original.held
        original.cancelled += amount
        if not original.remaining:
            original.status = "cancelled"
        ledger = self.ledger(cano)
        try:
            held = self._hold(
                ledger,
                original.instrument,
                original.side,
                amount,
                _unit(price if new_type.priced else None, snapshot),
            )
        except BusinessError:
            # Put back exactly what was released (not a fresh hold at today's prices, which
            # a market order's upper limit would change): a refused modify changes nothing.
            original.cancelled -= amount
            original.status = "open"
            original.held = held_before
            if original.side == "sell" and not is_derivative(original.instrument):
                ledger.position(original.instrument).held += amount
            else:
                currency = original.instrument.currency
                ledger.held_cash[currency] = ledger.held_cash.get(currency, Decimal(0)) + released
            raise
        record = self._record(original, "modify", amount, price if new_type.priced else None)
        record.order_type = new_type
        record.held = held
        record.status = "open"
        record.checked_until = now
        self._event("modified", record, amount, price or Decimal(0), moment=now)
        self._fill_on_arrival(record, snapshot.session)
        return record

    def _take_remainder(self, original: Order, quantity: int | None) -> int:
        left = original.remaining
        if left <= 0:
            raise BusinessError(*NOTHING_LEFT)
        if quantity is None:
            return left
        if quantity <= 0 or quantity > left:
            raise BusinessError(*OVER_REMAINDER)
        return quantity

    def _record(
        self,
        original: Order,
        action: Literal["modify", "cancel"],
        amount: int,
        price: Decimal | None,
    ) -> Order:
        now = self.market.now()
        record = Order(
            odno=self._next_number(),
            cano=original.cano,
            product=original.product,
            instrument=original.instrument,
            side=original.side,
            quantity=amount,
            price=price,
            order_type=original.order_type,
            placed=now,
            trading_day=trading_day_of(original.instrument, now),
            family=original.family,
            venue=original.venue,
            action=action,
            original_odno=original.odno,
            status="done",
        )
        self.orders[record.odno] = record
        return record

    # --- reservations -----------------------------------------------------------------------

    def reserve(
        self,
        ticket: Ticket,
        *,
        end_day: date | None = None,
        window: bool = True,
        at_open: bool = False,
    ) -> Reservation:
        """Take a reserved order; it is placed when the next trading day's orders open.

        With ``window`` (domestic), KIS takes reservations only from 16:40 to 08:30 of the
        next trading day. With ``at_open`` (overseas) it is placed at the instrument's next
        regular open instead of 08:30 KST.
        """
        now = self.market.now()
        self.catch_up(now)
        instrument = ticket.instrument
        in_day = RESERVATION_CLOSES <= now.time() < RESERVATION_OPENS
        if window and in_day and is_trading_day(now.date(), instrument.market):
            raise BusinessError(*RESERVATION_WINDOW)
        self.check_quantity(instrument, ticket.quantity)
        # The next regular session's day: today before 08:30, else the next trading day.
        submit_day = next_open(instrument, now).date()
        reservation = Reservation(
            seq=self._next_number(),
            ticket=ticket,
            created=now,
            submit_day=submit_day,
            end_day=max(end_day or submit_day, submit_day),
            submit_at=next_open(instrument, now) if at_open else None,
        )
        self.reservations[reservation.seq] = reservation
        return reservation

    def cancel_reservation(self, cano: str, seq: str) -> Reservation:
        """Cancel a waiting reservation (APBK1010 when unknown, APBK0344 when no longer waiting)."""
        found = self.reservations.get(seq) or self.reservations.get(seq.strip().zfill(10))
        if found is None or found.ticket.cano != cano:
            raise BusinessError("APBK1010", f"예약주문번호가 존재하지 않습니다. ({seq})")
        if found.status != "waiting":
            raise BusinessError(*NOTHING_LEFT)
        found.status = "cancelled"
        return found

    def _submit_reservations(self, now: datetime) -> None:
        for reservation in self.reservations.values():
            if reservation.status != "waiting":
                continue
            opening = reservation.submit_at or datetime.combine(
                reservation.submit_day, time(8, 30), now.tzinfo
            )
            if now < opening:
                continue
            # Marked first: placing catches up, which would submit it again.
            reservation.status = "submitted"
            try:
                order = self.place(reservation.ticket)
            except BusinessError as exc:
                reservation.status = "expired"
                ticket = reservation.ticket
                self.events.append(
                    OrderEvent(
                        seq=len(self.events) + 1,
                        kind="rejected",
                        odno=reservation.seq,
                        original_odno="",
                        cano=ticket.cano,
                        product=ticket.product,
                        code=ticket.instrument.code,
                        market=ticket.instrument.market,
                        side=ticket.side,
                        quantity=ticket.quantity,
                        price=ticket.price or Decimal(0),
                        remaining=0,
                        moment=now,
                        family=ticket.family,
                        reason=f"{exc.msg_cd} {exc.msg1}",
                    )
                )
                continue
            reservation.odno = order.odno

    # --- time passing -----------------------------------------------------------------------

    def catch_up(self, now: datetime) -> None:
        """Replay the walk up to ``now``: resting orders fill, old ones expire, reservations go."""
        if self._last_day is not None and now.date() != self._last_day:
            for ledger in self.ledgers.values():
                ledger.new_day()
        self._last_day = now.date()
        for order in list(self.orders.values()):
            if order.is_open and order.remaining:
                self._replay(order, now)
        if any(r.status == "waiting" for r in self.reservations.values()):
            self._submit_reservations(now)

    def _replay(self, order: Order, now: datetime) -> None:
        start = order.checked_until or order.placed
        if now <= start:
            return
        order.checked_until = now
        if now - start > MAX_REPLAY:
            start = now - MAX_REPLAY
        for moment, price, volume in self._steps(order, start, now):
            day = trading_day_of(order.instrument, moment)
            if day != order.trading_day and order.order_type.tif == "day":
                self._expire(order, moment)
                return
            if self._session_of_step(order, moment) not in order.order_type.trades_in:
                continue
            if not self._marketable(order, price):
                continue
            capacity = order.remaining
            if order.price is not None:
                capacity = min(capacity, max(order.instrument.lot, int(volume * PARTICIPATION)))
                capacity -= capacity % order.instrument.lot
            if capacity > 0:
                self._execute(order, moment, capacity, price)
            if not order.remaining:
                return
        # No step since the order's day ended may have been replayed (a weekend): expire it then.
        if order.order_type.tif == "day" and order.remaining:
            today = trading_day_of(order.instrument, now)
            if today != order.trading_day:
                self._expire(order, now)

    def _session_of_step(self, order: Order, moment: datetime) -> str:
        session = self.market.session(order.instrument, moment)
        if session == "closed":
            # KRX's closing print is stamped 15:30, the closing auction's end [start, end): it
            # is that auction's price, so orders resting through the auction trade at it.
            return self.market.session(order.instrument, moment - timedelta(microseconds=1))
        return session

    def _steps(
        self, order: Order, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, Decimal, int]]:
        return self.market.path(order.instrument, start, end)

    @staticmethod
    def _marketable(order: Order, price: Decimal) -> bool:
        if order.price is None:
            return True
        return price <= order.price if order.side == "buy" else price >= order.price

    def _fill_on_arrival(self, order: Order, session: str) -> None:
        order_type = order.order_type
        if session not in order_type.trades_in:
            return  # accepted for a later session (an opening auction, say)
        snapshot = self.market.snapshot(order.instrument, order.placed)
        if order_type.fixed is not None:
            fixed = (
                snapshot.previous_close if order_type.fixed == "previous_close" else snapshot.last
            )
            self._execute(order, order.placed, order.remaining, fixed)
            return
        if order.price is None:
            self._execute(order, order.placed, order.remaining, snapshot.last)
            return
        levels = snapshot.asks if order.side == "buy" else snapshot.bids
        takeable = [
            (price, size) for price, size in levels if self._marketable(order, price) and size > 0
        ]
        if order_type.tif == "fok" and sum(size for _, size in takeable) < order.remaining:
            takeable = []
        for price, size in takeable:
            amount = min(order.remaining, size - size % order.instrument.lot)
            if amount > 0:
                self._execute(order, order.placed, amount, price)
            if not order.remaining:
                break
        if order_type.tif in ("ioc", "fok") and order.remaining:
            self._expire(order, order.placed)

    def _execute(self, order: Order, moment: datetime, quantity: int, price: Decimal) -> None:
        ledger = self.ledger(order.cano)
        instrument = order.instrument
        # Release what this part of the order held, then book the fill itself.
        share = Decimal(quantity) / Decimal(order.remaining)
        if order.side == "sell" and not is_derivative(instrument):
            ledger.release_quantity(instrument, quantity)
            order.held -= quantity
        else:
            part = order.held * share
            ledger.release_cash(instrument.currency, part)
            order.held -= part
        ledger.settle(instrument, order.side, quantity, price)
        order.executions.append(Execution(moment, quantity, price))
        if not order.remaining:
            order.status = "filled"
            order.held = Decimal(0)
        self._event("filled", order, quantity, price, moment=moment)

    def _release(self, order: Order, quantity: int) -> None:
        if order.remaining <= 0:
            return
        ledger = self.ledger(order.cano)
        share = Decimal(quantity) / Decimal(order.remaining)
        if order.side == "sell" and not is_derivative(order.instrument):
            ledger.release_quantity(order.instrument, quantity)
            order.held -= quantity
        else:
            part = order.held * share
            ledger.release_cash(order.instrument.currency, part)
            order.held -= part

    def _expire(self, order: Order, moment: datetime) -> None:
        left = order.remaining
        self._release(order, left)
        order.cancelled += left
        order.status = "expired"
        self._event("expired", order, left, order.price or Decimal(0), moment=moment)

    def _event(
        self,
        kind: Literal["accepted", "filled", "modified", "cancelled", "expired", "rejected"],
        order: Order,
        quantity: int,
        price: Decimal,
        *,
        moment: datetime,
        odno: str | None = None,
    ) -> None:
        self.events.append(
            OrderEvent(
                seq=len(self.events) + 1,
                kind=kind,
                odno=odno or order.odno,
                original_odno=order.original_odno if odno is None else order.odno,
                cano=order.cano,
                product=order.product,
                code=order.instrument.code,
                market=order.instrument.market,
                side=order.side,
                quantity=quantity,
                price=price,
                remaining=order.remaining,
                moment=moment,
                family=order.family,
            )
        )

    def reset(self) -> None:
        """Forget every order, reservation, event and book."""
        self.orders.clear()
        self.reservations.clear()
        self.ledgers.clear()
        self.events.clear()
        self._last_day = None


def _unit(price: Decimal | None, snapshot: Snapshot) -> Decimal:
    # A market buy holds what it could cost at the upper limit, as KIS does.
    if price is not None:
        return price
    return snapshot.upper if snapshot.upper is not None else snapshot.last
