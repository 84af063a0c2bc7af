"""Reading KIS's string values: prices as ``Decimal``, quantities as ``int``, KST datetimes.

KIS sends every value as a string (``"196900"``, ``"-1.25"``, ``"20260310"``, ``"093000"``), an
empty one where a value does not apply. Empty reads as ``None`` (an amount) or ``0`` (a quantity).
An amount that is no number reads as ``None`` too (a secondary field whose meaning KIS changed
must not sink the whole answer); the models raise :class:`KISProtocolError` where the answer's
point is missing (a quote's price, a bar's close), and a quantity that is no whole number
raises, since a quantity read as zero would be worse than an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import KISProtocolError

__all__ = ["KST", "day_of", "decimal_of", "int_of", "kst_datetime", "text_of"]

#: Korea Standard Time: every datetime an answer carries is aware, in this zone.
KST = ZoneInfo("Asia/Seoul")


def text_of(record: Mapping[str, Any], name: str) -> str:
    """The field's text, stripped; ``""`` when KIS left it out (a field it dropped is not an
    error: a model keeps working when KIS's layout moves)."""
    value = record.get(name)
    return "" if value is None else str(value).strip()


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def decimal_of(record: Mapping[str, Any], name: str) -> Decimal | None:
    """A price or amount: ``None`` when empty or no number."""
    text = text_of(record, name)
    return _number(text) if text else None


def int_of(record: Mapping[str, Any], name: str) -> int:
    """A quantity: ``0`` when empty; a whole number written with decimals (``"10.0000"``, as
    some overseas APIs do) is taken; anything else raises :class:`KISProtocolError`."""
    text = text_of(record, name)
    if not text:
        return 0
    value = _number(text)
    if value is None or value != value.to_integral_value():
        raise KISProtocolError(f"KIS's field {name} is not a whole quantity", excerpt=text[:40])
    return int(value)


def day_of(record: Mapping[str, Any], name: str) -> date | None:
    """A ``YYYYMMDD`` date, ``None`` when empty."""
    text = text_of(record, name)
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise KISProtocolError(f"KIS's field {name} is not a YYYYMMDD date", excerpt=text) from None


def kst_datetime(
    day: date | None, hms: str, *, zone: ZoneInfo = KST, field: str = "time"
) -> datetime | None:
    """``day`` at ``HHMMSS`` (``HHMM`` taken too) in ``zone``, converted to KST; ``None`` when
    there is no day. An empty time means the start of the day."""
    if day is None:
        return None
    text = hms.strip()
    if text and not (text.isdigit() and len(text) in (4, 6)):
        raise KISProtocolError(f"KIS's field {field} is not an HHMMSS time", excerpt=text)
    text = text.ljust(6, "0") if text else "000000"
    try:
        moment = time(int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        raise KISProtocolError(f"KIS's field {field} is not an HHMMSS time", excerpt=text) from None
    return datetime.combine(day, moment, tzinfo=zone).astimezone(KST)
