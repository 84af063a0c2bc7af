"""Sandbox brokerage accounts: cash, holdings and the orders that filled against them.

Every accepted cash order fills at once and in full, which keeps the books simple and makes a
balance inquiry the way to see an order's effect. Callers hold the sandbox lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stock_manager.sandbox.codes import BusinessError

STARTING_CASH = 100_000_000


@dataclass
class Holding:
    """Shares of one stock: quantity and total purchase cost (for the average price)."""

    pdno: str
    quantity: int = 0
    cost: int = 0

    @property
    def average_price(self) -> float:
        """Average purchase price per share."""
        return self.cost / self.quantity if self.quantity else 0.0


@dataclass
class Fill:
    """One accepted order as the account's daily-fills inquiry lists it."""

    odno: str
    side: str  # "buy", "sell", "revise" or "reserve": the TR's role
    pdno: str
    quantity: int
    price: int
    ord_dvsn: str
    timestamp: float
    original_odno: str = ""


@dataclass
class Account:
    """One account: ``cano`` (8 digits) + ``product`` ("01")."""

    cano: str
    product: str = "01"
    cash: int = STARTING_CASH
    holdings: dict[str, Holding] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)

    @property
    def number(self) -> str:
        """``NNNNNNNN-01``, the way users write it."""
        return f"{self.cano}-{self.product}"

    def buy(self, pdno: str, quantity: int, price: int) -> None:
        """Fill a buy, or raise :class:`BusinessError` when cash runs short."""
        amount = quantity * price
        if amount > self.cash:
            raise BusinessError("APBK0952", "주문가능금액을 초과 했습니다")
        self.cash -= amount
        holding = self.holdings.setdefault(pdno, Holding(pdno))
        holding.quantity += quantity
        holding.cost += amount

    def sell(self, pdno: str, quantity: int, price: int) -> None:
        """Fill a sell, or raise :class:`BusinessError` when shares run short."""
        holding = self.holdings.get(pdno)
        if holding is None or holding.quantity < quantity:
            raise BusinessError("APBK0400", "매도가능수량을 초과 했습니다")
        holding.cost -= round(holding.average_price * quantity)
        holding.quantity -= quantity
        if holding.quantity == 0:
            del self.holdings[pdno]
        self.cash += quantity * price

    def find_fill(self, odno: str) -> Fill | None:
        """The accepted order with that number, if this account placed it."""
        return next((fill for fill in self.fills if fill.odno == odno), None)

    def clear(self) -> None:
        """Back to the opening state: starting cash, nothing held, no orders."""
        self.cash = STARTING_CASH
        self.holdings.clear()
        self.fills.clear()
