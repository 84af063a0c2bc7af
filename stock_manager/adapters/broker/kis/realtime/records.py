"""Records: one row of a data frame, read by the catalog's field names.

A data frame's payload is ``count`` records concatenated with ``^`` and no other separator, so
the width of a record is ``len(fields) / count``. KIS widens records without notice (the domestic
notice went 23 -> 26 fields, H0STASP0 is documented with 59 and streams 62): a record at least as
wide as the documented width (:attr:`Layout.min_width`) is kept whole, its first fields named by
the layout (a 59-field H0STASP0 has no KMID_* fields), fields beyond the layout's names in
:attr:`Record.extra`; a narrower one, or a payload that does not cut evenly, is malformed
(:func:`cut_records` raises).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import overload

from ..errors import KISRealtimeProtocolError, KISRecordValueError
from .layouts import Layout

__all__ = ["Record", "cut_records"]


class Record:
    """One realtime record: ``record["STCK_PRPR"]`` by the catalog's field names.

    Values are the strings KIS sent (empty fields are ``""``); :meth:`int` and :meth:`decimal`
    convert on demand. Name look-ups ignore case. ``key`` routes the record: its first field (the
    symbol; ``RSYM`` for overseas), or for a notice the HTS ID it was subscribed with.
    """

    __slots__ = ("_layout", "key", "tr_id", "values")

    def __init__(self, tr_id: str, key: str, values: tuple[str, ...], layout: Layout) -> None:
        self.tr_id = tr_id
        self.key = key
        #: Every value of the record, documented and extra, in order.
        self.values = values
        self._layout = layout

    @property
    def names(self) -> tuple[str, ...]:
        """The field names this record has, in order (the catalog's spelling)."""
        return self._layout.names[: len(self.values)]

    @property
    def extra(self) -> tuple[str, ...]:
        """Values beyond the documented width (a layout KIS widened), kept rather than dropped."""
        return self.values[self._layout.width :]

    def _position(self, name: str) -> int | None:
        position = self._layout.index.get(name.upper())
        # A record of the documented width lacks the fields the live layout added.
        return position if position is not None and position < len(self.values) else None

    def __getitem__(self, name: str) -> str:
        position = self._position(name)
        if position is None:
            raise KeyError(f"{self.tr_id} records have no field {name!r}")
        return self.values[position]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._position(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    @overload
    def get(self, name: str, default: None) -> str | None: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's value, or ``default`` when the layout has no such field."""
        position = self._position(name)
        return default if position is None else self.values[position]

    def _number_text(self, name: str) -> str:
        text = self[name].strip()
        if not text or text == "(null)":
            raise KISRecordValueError(f"{self.tr_id} field {name} is empty")
        return text

    def int(self, name: str) -> int:
        """The field as an integer (zero-padded and signed values included)."""
        text = self._number_text(name)
        try:
            return int(text)
        except ValueError:
            raise KISRecordValueError(
                f"{self.tr_id} field {name} is not an integer: {text[:20]!r}"
            ) from None

    def decimal(self, name: str) -> Decimal:
        """The field as a :class:`~decimal.Decimal` (prices and rates, exactly)."""
        text = self._number_text(name)
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise KISRecordValueError(f"{self.tr_id} field {name} is not a number: {text[:20]!r}")
        return value

    def as_dict(self) -> dict[str, str]:
        """Documented name -> value (extras are in :attr:`extra`)."""
        return dict(zip(self._layout.names, self.values, strict=False))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.tr_id, self.key, self.values) == (other.tr_id, other.key, other.values)

    def __hash__(self) -> builtins.int:  # `int` here is the method above
        return hash((self.tr_id, self.key, self.values))

    def __repr__(self) -> str:
        # No values: notices carry account numbers and names.
        extra = f" +{len(self.extra)} extra" if self.extra else ""
        return f"Record({self.tr_id} {self.key!r}, {len(self.names)} fields{extra})"


def cut_records(tr_id: str, count: int, payload: str, layout: Layout) -> list[tuple[str, ...]]:
    """Cut a payload into ``count`` records of equal width (the values of each, in order).

    Raises :class:`KISRealtimeProtocolError` when the fields do not divide evenly by ``count``
    or a record is narrower than the documented width (:attr:`Layout.min_width`).
    """
    fields = payload.split("^")
    if count < 1:
        raise KISRealtimeProtocolError(f"a {tr_id} data frame says it holds {count} records")
    width, rest = divmod(len(fields), count)
    if rest:
        raise KISRealtimeProtocolError(
            f"a {tr_id} data frame has {len(fields)} fields, which do not cut into {count} "
            "records of equal width"
        )
    if width < layout.min_width:
        raise KISRealtimeProtocolError(
            f"{tr_id} records of this frame have {width} fields, fewer than the documented "
            f"{layout.min_width}"
        )
    return [tuple(fields[i * width : (i + 1) * width]) for i in range(count)]
