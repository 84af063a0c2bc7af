"""Account answers: :class:`Holding`, :class:`CashBalance`, :class:`Balance` (one currency) and
:class:`AccountView` (every currency, with KRW totals).

Amounts keep the currency KIS states them in; KRW figures use the exchange rate KIS sent with
them (present-balance's ``bass_exrt``/``frst_bltn_exrt``), never one of our own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import fields as F
from ._values import decimal_of, int_of
from .frames import Answer, AnswerList

__all__ = ["AccountView", "Balance", "CashBalance", "Holding"]

ONE = Decimal(1)


@dataclass(frozen=True)
class Holding(Answer):
    """One position: quantities as ``int``, prices and amounts in ``currency``.

    ``exchange`` is KIS's order exchange code overseas (``NASD``...), None at home;
    ``exchange_rate`` KRW per unit of ``currency`` where KIS gave one (1 for KRW).
    """

    symbol: str
    name: str
    quantity: int
    orderable_quantity: int
    average_price: Decimal | None
    purchase_amount: Decimal | None
    price: Decimal | None
    value: Decimal | None
    profit: Decimal | None
    profit_rate: Decimal | None
    currency: str
    exchange: str | None
    exchange_rate: Decimal | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def value_krw(self) -> Decimal | None:
        """``value`` in won, when there is a rate."""
        if self.value is None or self.exchange_rate is None:
            return None
        return self.value * self.exchange_rate

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any],
        m: F.FieldMap,
        *,
        currency: str = "KRW",
        exchange: str | None = None,
    ) -> Holding:
        """From a holdings row read through ``m`` (``HOLDING_DOMESTIC``, ``HOLDING_OVERSEAS``
        or ``HOLDING_PRESENT``); the row's own currency and exchange win when it has them."""
        has = m.names.__contains__
        rate = decimal_of(record, m["exchange_rate"]) if has("exchange_rate") else None
        own_currency = m.text(record, "currency") if has("currency") else ""
        return cls(
            symbol=m.text(record, "symbol"),
            name=m.text(record, "name"),
            quantity=int_of(record, m["quantity"]),
            orderable_quantity=int_of(record, m["orderable_quantity"]),
            average_price=decimal_of(record, m["average_price"]),
            purchase_amount=decimal_of(record, m["purchase_amount"]),
            price=decimal_of(record, m["price"]),
            value=decimal_of(record, m["value"]),
            profit=decimal_of(record, m["profit"]),
            profit_rate=decimal_of(record, m["profit_rate"]),
            currency=own_currency or currency,
            exchange=(m.text(record, "exchange") if has("exchange") else "") or exchange,
            exchange_rate=ONE if (own_currency or currency) == "KRW" else rate,
            raw=record,
        )


@dataclass(frozen=True)
class CashBalance(Answer):
    """Cash in one currency: the deposit, what may be used now, and KIS's rate to KRW."""

    currency: str
    amount: Decimal
    orderable: Decimal | None
    exchange_rate: Decimal | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def krw(self) -> Decimal | None:
        """``amount`` in won, when there is a rate."""
        return None if self.exchange_rate is None else self.amount * self.exchange_rate


def _holdings(rows: Iterable[Mapping[str, Any]], m: F.FieldMap, **kw: Any) -> AnswerList[Holding]:
    # KIS lists a position sold out today with quantity 0 until the next day: not a holding.
    found = (Holding.from_record(row, m, **kw) for row in rows if isinstance(row, Mapping))
    return AnswerList(h for h in found if h.quantity)


def _first(value: Any) -> Mapping[str, Any]:
    """A block KIS sends as an object or as a one-record array."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Balance(Answer):
    """The holdings and cash of one account in one currency.

    Domestic (inquire-balance, every page): ``cash`` is 예수금총금액 (deposit), ``cash_d2`` the
    deposit after two days' settlement (가수도정산금액), totals in KRW. Overseas
    (overseas-inquire-balance): that API states no cash, so ``cash`` is None
    (:class:`AccountView` has it, from present-balance).
    """

    currency: str
    holdings: AnswerList[Holding]
    cash: Decimal | None
    cash_d2: Decimal | None
    stock_value: Decimal | None
    total_value: Decimal | None
    purchase_amount: Decimal | None
    profit: Decimal | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    def holding(self, symbol: str) -> Holding | None:
        """The position in ``symbol``, or None."""
        wanted = symbol.strip().upper()
        return next((h for h in self.holdings if h.symbol.upper() == wanted), None)

    @classmethod
    def from_domestic_pages(cls, pages: Iterable[Mapping[str, Any]]) -> Balance:
        """From every page of inquire-balance (holdings on each; the summary on the first)."""
        pages = list(pages)
        m = F.SUMMARY_DOMESTIC
        rows = [row for page in pages for row in page.get(F.HOLDING_DOMESTIC.block) or ()]
        summary = _first(pages[0].get(m.block)) if pages else {}
        return cls(
            currency="KRW",
            holdings=_holdings(rows, F.HOLDING_DOMESTIC),
            cash=decimal_of(summary, m["cash"]) or Decimal(0),
            cash_d2=decimal_of(summary, m["cash_d2"]),
            stock_value=decimal_of(summary, m["stock_value"]),
            total_value=decimal_of(summary, m["total_value"]),
            purchase_amount=decimal_of(summary, m["purchase_amount"]),
            profit=decimal_of(summary, m["profit"]),
            raw=summary,
        )

    @classmethod
    def from_overseas_pages(
        cls, pages: Iterable[Mapping[str, Any]], *, currency: str, exchange: str
    ) -> Balance:
        """From every page of overseas-inquire-balance for one exchange and currency."""
        pages = list(pages)
        m = F.SUMMARY_OVERSEAS
        rows = [row for page in pages for row in page.get(F.HOLDING_OVERSEAS.block) or ()]
        summary = _first(pages[0].get(m.block)) if pages else {}
        holdings = _holdings(rows, F.HOLDING_OVERSEAS, currency=currency, exchange=exchange)
        values = [h.value for h in holdings if h.value is not None]
        return cls(
            currency=currency,
            holdings=holdings,
            cash=None,
            cash_d2=None,
            stock_value=sum(values, Decimal(0)) if values else None,
            total_value=None,
            purchase_amount=decimal_of(summary, m["purchase_amount"]),
            profit=decimal_of(summary, m["profit"]),
            raw=summary,
        )


@dataclass(frozen=True)
class AccountView(Answer):
    """Every holding and every currency's cash of an account, with totals in KRW.

    Built from the domestic balance and overseas present-balance (foreign amounts, KIS's
    rates); a KRW total is None when some foreign amount came without a rate.
    """

    holdings: AnswerList[Holding]
    cash: AnswerList[CashBalance]
    cash_krw: Decimal | None
    stock_value_krw: Decimal | None
    total_krw: Decimal | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    def cash_in(self, currency: str) -> CashBalance | None:
        """The cash held in ``currency``, or None."""
        return next((c for c in self.cash if c.currency == currency.upper()), None)

    @classmethod
    def from_parts(cls, domestic: Balance | None, present: Mapping[str, Any]) -> AccountView:
        """From the domestic :class:`Balance` (or None) and a present-balance reply body."""
        rows = present.get(F.HOLDING_PRESENT.block) or ()
        foreign = _holdings(rows, F.HOLDING_PRESENT)
        m = F.CASH_PRESENT
        cash: AnswerList[CashBalance] = AnswerList()
        holdings: AnswerList[Holding] = AnswerList()
        if domestic is not None:
            holdings.extend(domestic.holdings)
            cash.append(
                CashBalance("KRW", domestic.cash or Decimal(0), domestic.cash_d2, ONE, domestic.raw)
            )
        holdings.extend(foreign)
        for row in present.get(m.block) or ():
            if isinstance(row, Mapping) and m.text(row, "currency"):
                cash.append(
                    CashBalance(
                        currency=m.text(row, "currency"),
                        amount=decimal_of(row, m["cash"]) or Decimal(0),
                        orderable=decimal_of(row, m["orderable"]),
                        exchange_rate=decimal_of(row, m["exchange_rate"]),
                        raw=row,
                    )
                )
        cash_krw = _total(c.krw for c in cash)
        stock_krw = _total(h.value_krw for h in holdings)
        total = None if cash_krw is None or stock_krw is None else cash_krw + stock_krw
        return cls(holdings, cash, cash_krw, stock_krw, total, present)


def _total(values: Iterable[Decimal | None]) -> Decimal | None:
    found = list(values)
    if any(v is None for v in found):
        return None
    return sum((v for v in found if v is not None), Decimal(0))
