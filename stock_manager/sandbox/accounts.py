"""A sandbox account number: the ``cano`` each app is given, as users write it.

The books of the account (cash per currency, positions, orders) live in the exchange
(:mod:`stock_manager.sandbox.orders`, :mod:`stock_manager.sandbox.ledger`), keyed by ``cano``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    """One account: ``cano`` (8 digits) and its stock product code ``product`` ("01")."""

    cano: str
    product: str = "01"

    @property
    def number(self) -> str:
        """``NNNNNNNN-01``, the way users write it."""
        return f"{self.cano}-{self.product}"
