"""Order answers: :class:`OrderRecord` (daily orders and fills), :class:`PendingOrder`
(cancellable), :class:`Orderable` (what may be bought) and :class:`OrderResult` (an accepted
order's number, branch and time).

``side`` is ``"buy"`` or ``"sell"`` (KIS's ``sll_buy_dvsn_cd`` 02/01); times are aware, KST.
KIS's order records state a time (``ord_tmd``) but some no date: those take the day the reply
was read, in KST.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import fields as F
from ._values import KST, day_of, decimal_of, int_of, kst_datetime
from .frames import Answer

__all__ = ["SIDES", "OrderRecord", "OrderResult", "Orderable", "PendingOrder", "side_of"]

#: KIS's 매도매수구분코드 (the catalog's code list: 01 매도, 02 매수).
SIDES = {"01": "sell", "02": "buy"}


def side_of(code: str) -> str:
    """``"buy"``/``"sell"`` for KIS's side code; the code itself when KIS sends another."""
    return SIDES.get(code.strip().zfill(2) if code.strip() else "", code.strip())


def _moment(record: Mapping[str, Any], m: F.FieldMap, today: date) -> datetime | None:
    day = day_of(record, m["day"]) if "day" in m.names else None
    hms = m.text(record, "time")
    if not hms and day is None:
        return None
    return kst_datetime(day or today, hms, field=m["time"])


@dataclass(frozen=True)
class OrderRecord(Answer):
    """One order of inquire-daily-ccld, with what has filled of it."""

    order_no: str
    original_order_no: str
    branch: str
    side: str
    symbol: str
    name: str
    quantity: int
    price: Decimal | None
    filled_quantity: int
    average_price: Decimal | None
    filled_amount: Decimal | None
    remaining_quantity: int
    rejected_quantity: int
    cancelled: bool
    order_type: str
    time: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], today: date | None = None) -> OrderRecord:
        m = F.ORDER_RECORD
        return cls(
            order_no=m.text(record, "order_no"),
            original_order_no=m.text(record, "original_order_no"),
            branch=m.text(record, "branch"),
            side=side_of(m.text(record, "side")),
            symbol=m.text(record, "symbol"),
            name=m.text(record, "name"),
            quantity=int_of(record, m["quantity"]),
            price=decimal_of(record, m["price"]),
            filled_quantity=int_of(record, m["filled_quantity"]),
            average_price=decimal_of(record, m["average_price"]),
            filled_amount=decimal_of(record, m["filled_amount"]),
            remaining_quantity=int_of(record, m["remaining_quantity"]),
            rejected_quantity=int_of(record, m["rejected_quantity"]),
            cancelled=m.text(record, "cancelled").upper() == "Y",
            order_type=m.text(record, "order_type"),
            time=_moment(record, m, today or datetime.now(KST).date()),
            raw=record,
        )


@dataclass(frozen=True)
class PendingOrder(Answer):
    """An order that may still be modified or cancelled: domestic (inquire-psbl-rvsecncl) or
    overseas (overseas-inquire-nccs). ``cancellable_quantity`` is what KIS says is left."""

    order_no: str
    original_order_no: str
    branch: str
    side: str
    symbol: str
    name: str
    quantity: int
    price: Decimal | None
    filled_quantity: int
    cancellable_quantity: int
    currency: str
    exchange: str | None
    time: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any],
        m: F.FieldMap = F.PENDING_DOMESTIC,
        today: date | None = None,
    ) -> PendingOrder:
        """From a row read through ``m``: ``PENDING_DOMESTIC`` or ``PENDING_OVERSEAS``."""
        has = m.names.__contains__
        return cls(
            order_no=m.text(record, "order_no"),
            original_order_no=m.text(record, "original_order_no"),
            branch=m.text(record, "branch"),
            side=side_of(m.text(record, "side")),
            symbol=m.text(record, "symbol"),
            name=m.text(record, "name"),
            quantity=int_of(record, m["quantity"]),
            price=decimal_of(record, m["price"]),
            filled_quantity=int_of(record, m["filled_quantity"]),
            cancellable_quantity=int_of(record, m["cancellable_quantity"]),
            currency=(m.text(record, "currency") if has("currency") else "") or "KRW",
            exchange=(m.text(record, "exchange") if has("exchange") else "") or None,
            time=_moment(record, m, today or datetime.now(KST).date()),
            raw=record,
        )


@dataclass(frozen=True)
class Orderable(Answer):
    """What an order may use: domestic (inquire-psbl-order) or overseas
    (overseas-inquire-psamount). ``quantity`` buys without credit (미수 없는); ``max_quantity``
    is KIS's maximum."""

    symbol: str
    currency: str
    cash: Decimal | None
    amount: Decimal | None
    quantity: int
    max_quantity: int
    exchange_rate: Decimal | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], symbol: str, m: F.FieldMap = F.ORDERABLE_DOMESTIC
    ) -> Orderable:
        """From ``output`` read through ``ORDERABLE_DOMESTIC`` or ``ORDERABLE_OVERSEAS``."""
        has = m.names.__contains__
        return cls(
            symbol=symbol,
            currency=(m.text(record, "currency") if has("currency") else "") or "KRW",
            cash=decimal_of(record, m["cash"]),
            amount=decimal_of(record, m["amount"]),
            quantity=int_of(record, m["quantity"]),
            max_quantity=int_of(record, m["max_quantity"]),
            exchange_rate=decimal_of(record, m["exchange_rate"]) if has("exchange_rate") else None,
            raw=record,
        )


@dataclass(frozen=True)
class OrderResult(Answer):
    """An order KIS accepted: its number (ODNO), the branch that numbered it (KIS's
    KRX_FWDG_ORD_ORGNO, which modify and cancel name) and when, KST."""

    order_no: str
    branch: str
    time: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any],
        m: F.FieldMap = F.ORDER_RESULT_DOMESTIC,
        today: date | None = None,
    ) -> OrderResult:
        """From an order API's ``output`` (``ORDER_RESULT_DOMESTIC``/``_OVERSEAS``)."""
        return cls(
            order_no=m.text(record, "order_no"),
            branch=m.text(record, "branch"),
            time=_moment(record, m, today or datetime.now(KST).date()),
            raw=record,
        )
