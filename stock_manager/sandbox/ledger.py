"""One sandbox account's books: cash per currency, positions, and what open orders hold back.

KIS shows two numbers for most things: what the account has and what it can still order with. A
buy order holds its amount back from the orderable cash the moment it is accepted (a market buy
holds the upper price limit's worth, as KIS does), and a sell holds its quantity back from the
orderable shares; the holds are released as the order fills, is cancelled or expires. Cash moves
on fills only (the sandbox does not model settlement days: 예수금 and D+2 are the same).

Futures and options positions are signed (short is negative); opening one holds margin and
closing one books the realised profit or loss into cash. Callers hold the sandbox lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from stock_manager.sandbox.codes import BusinessError
from stock_manager.sandbox.universe import Instrument

#: Starting cash per currency: enough for any test, small enough that a big order is refused.
STARTING_CASH: dict[str, Decimal] = {
    "KRW": Decimal(100_000_000),
    "USD": Decimal(100_000),
    "JPY": Decimal(10_000_000),
    "HKD": Decimal(800_000),
    "CNY": Decimal(700_000),
    "VND": Decimal(2_000_000_000),
}
#: Margin held per futures/options contract opened, as a share of its notional value (sandbox
#: choice: KRX's KOSPI200 futures margin is of this order).
MARGIN_RATE = Decimal("0.15")
#: Product codes (ACNT_PRDT_CD) of the one account number each app gets: stocks, overseas stocks
#: and bonds on 01, domestic futures/options on 03, overseas futures/options on 08.
PRODUCTS = ("01", "03", "08")

INSUFFICIENT_CASH = ("APBK0952", "주문가능금액을 초과 했습니다")
INSUFFICIENT_QUANTITY = ("APBK0400", "매도가능수량을 초과 했습니다")


def notional(instrument: Instrument, quantity: int, price: Decimal) -> Decimal:
    """What ``quantity`` of ``instrument`` at ``price`` is worth in its currency.

    Bonds are priced per 10,000 of face value and ordered in units of 1,000 (sandbox choice).
    """
    if instrument.kind == "bond":
        return price * quantity / 10
    return price * quantity * instrument.multiplier


def is_derivative(instrument: Instrument) -> bool:
    """Futures and options: signed positions, margin instead of full payment."""
    return instrument.kind in ("index_future", "stock_future", "index_option", "overseas_future")


@dataclass
class Position:
    """Holdings of one instrument: signed quantity and the cost of the open quantity."""

    instrument: Instrument
    quantity: int = 0
    cost: Decimal = Decimal(0)
    held: int = 0  # shares held back by open sell orders
    bought_today: int = 0
    sold_today: int = 0

    @property
    def average_price(self) -> Decimal:
        """Average price of the open quantity (0 when flat)."""
        if not self.quantity:
            return Decimal(0)
        unit = notional(self.instrument, abs(self.quantity), Decimal(1))
        return self.cost / unit if unit else Decimal(0)

    @property
    def sellable(self) -> int:
        """Shares a new sell order may use (KIS's ord_psbl_qty)."""
        return max(0, self.quantity - self.held)


@dataclass
class Ledger:
    """The books of one account number (``cano``), shared by its product codes."""

    cano: str
    cash: dict[str, Decimal] = field(default_factory=lambda: dict(STARTING_CASH))
    held_cash: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)

    def orderable_cash(self, currency: str) -> Decimal:
        """Cash not held back by open buy orders (KIS's ord_psbl_cash)."""
        return self.cash.get(currency, Decimal(0)) - self.held_cash.get(currency, Decimal(0))

    def position(self, instrument: Instrument) -> Position:
        """The position in ``instrument``, created flat on first use."""
        key = f"{instrument.market}:{instrument.code}"
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = Position(instrument)
        return found

    def open_positions(self) -> list[Position]:
        """Positions with a quantity, in a stable order (market, code)."""
        return [self.positions[k] for k in sorted(self.positions) if self.positions[k].quantity]

    # --- holds: taken when an order is accepted, released as it completes ------------------

    def hold_cash(self, currency: str, amount: Decimal) -> None:
        """Hold ``amount`` back for a buy, or :class:`BusinessError` when it is not there."""
        if amount > self.orderable_cash(currency):
            raise BusinessError(*INSUFFICIENT_CASH)
        self.held_cash[currency] = self.held_cash.get(currency, Decimal(0)) + amount

    def release_cash(self, currency: str, amount: Decimal) -> None:
        """Give back part of a buy's hold (never below zero)."""
        left = self.held_cash.get(currency, Decimal(0)) - amount
        self.held_cash[currency] = max(Decimal(0), left)

    def hold_quantity(self, instrument: Instrument, quantity: int) -> None:
        """Hold shares back for a sell, or :class:`BusinessError` when they are not there."""
        position = self.position(instrument)
        if quantity > position.sellable:
            raise BusinessError(*INSUFFICIENT_QUANTITY)
        position.held += quantity

    def release_quantity(self, instrument: Instrument, quantity: int) -> None:
        """Give back shares a sell held."""
        position = self.position(instrument)
        position.held = max(0, position.held - quantity)

    # --- fills ------------------------------------------------------------------------------

    def settle(self, instrument: Instrument, side: str, quantity: int, price: Decimal) -> None:
        """Book a fill: cash and position move (a derivative books margin and realised P&L)."""
        position = self.position(instrument)
        if side == "buy":
            position.bought_today += quantity
        else:
            position.sold_today += quantity
        if is_derivative(instrument):
            self._settle_derivative(position, 1 if side == "buy" else -1, quantity, price)
            return
        amount = notional(instrument, quantity, price)
        currency = instrument.currency
        if side == "buy":
            self.cash[currency] = self.cash.get(currency, Decimal(0)) - amount
            position.quantity += quantity
            position.cost += amount
        else:
            average_cost = position.cost / position.quantity if position.quantity else Decimal(0)
            position.cost -= average_cost * quantity
            position.quantity -= quantity
            self.cash[currency] = self.cash.get(currency, Decimal(0)) + amount
            if position.quantity == 0:
                position.cost = Decimal(0)

    def _settle_derivative(
        self, position: Position, direction: int, quantity: int, price: Decimal
    ) -> None:
        instrument = position.instrument
        currency = instrument.currency
        closing = 0
        if position.quantity and (position.quantity > 0) != (direction > 0):
            closing = min(quantity, abs(position.quantity))
        if closing:
            unit_cost = position.cost / abs(position.quantity)
            proceeds = notional(instrument, closing, price)
            cost = unit_cost * closing
            # A long closes by selling above cost; a short closes by buying below it.
            profit = proceeds - cost if position.quantity > 0 else cost - proceeds
            margin = cost * MARGIN_RATE
            self.cash[currency] = self.cash.get(currency, Decimal(0)) + profit
            self.release_cash(currency, margin)
            position.cost -= cost
            position.quantity += direction * closing
        opening = quantity - closing
        if opening:
            value = notional(instrument, opening, price)
            position.cost += value
            position.quantity += direction * opening
            # The margin stays held while the position is open (not spendable, still cash).
            self.held_cash[currency] = self.held_cash.get(currency, Decimal(0)) + (
                value * MARGIN_RATE
            )
        if position.quantity == 0:
            position.cost = Decimal(0)

    def margin_for(
        self, instrument: Instrument, side: str, quantity: int, price: Decimal
    ) -> Decimal:
        """Margin a derivative order needs for the part of it that opens a position."""
        position = self.position(instrument)
        direction = 1 if side == "buy" else -1
        closing = 0
        if position.quantity and (position.quantity > 0) != (direction > 0):
            closing = min(quantity, abs(position.quantity))
        return notional(instrument, quantity - closing, price) * MARGIN_RATE

    def new_day(self) -> None:
        """Reset the day's bought/sold counters (KIS's thdt_buyqty/thdt_sll_qty)."""
        for position in self.positions.values():
            position.bought_today = position.sold_today = 0

    def clear(self) -> None:
        """Back to the opening state: starting cash, nothing held, no positions."""
        self.cash = dict(STARTING_CASH)
        self.held_cash.clear()
        self.positions.clear()
