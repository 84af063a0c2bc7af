"""Typed answers: KIS's replies as models with English names, ``Decimal`` prices, ``int``
quantities and aware KST datetimes, the raw record kept (``.raw``).

:class:`Answers` / :class:`AsyncAnswers` take a client and make the calls (``quote``,
``balance``, ``chart``...); the models parse records on their own too (``Quote.from_domestic``,
``PendingOrder.from_record``...), for replies read another way. Which KIS field each attribute
reads is in :mod:`.fields`, checked against the catalog.
"""

from __future__ import annotations

from .account import AccountView, Balance, CashBalance, Holding
from .calls import Answers, AsyncAnswers
from .fields import FIELD_MAPS, FieldMap
from .frames import Answer, AnswerList, Chart
from .market import Bar, Level, OrderBook, Quote
from .orders import Orderable, OrderRecord, OrderResult, PendingOrder

__all__ = [
    "FIELD_MAPS",
    "AccountView",
    "Answer",
    "AnswerList",
    "Answers",
    "AsyncAnswers",
    "Balance",
    "Bar",
    "CashBalance",
    "Chart",
    "FieldMap",
    "Holding",
    "Level",
    "OrderBook",
    "OrderRecord",
    "OrderResult",
    "Orderable",
    "PendingOrder",
    "Quote",
]
