"""KIS's names, checked against the catalog as they are used: nothing here is typed by hand.

Every parameter the helpers send and every field they read goes through :func:`params` or
:class:`Reader`, which refuse a name the catalog's spec of that API does not have. A misspelt
name fails the first time its path runs (the tests run every path) instead of sending a key
KIS ignores or reading a field that is never there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..catalog import ApiSpec, Catalog
from ..errors import KISProtocolError

__all__ = ["Reader", "params", "rows_of", "spec"]


def spec(catalog: Catalog, alias: str) -> ApiSpec:
    """The API named ``alias`` (its id, alias or TR_ID)."""
    return catalog.get(alias)


def params(api: ApiSpec, **values: str) -> dict[str, str]:
    """``values`` as the API's parameters, each name checked against the catalog."""
    known = {p.name for p in api.params}
    unknown = sorted(set(values) - known)
    if unknown:
        raise LookupError(f"{api.alias} has no parameter {', '.join(unknown)} in the catalog")
    return dict(values)


class Reader:
    """Reads fields of one response block of one API, the names checked against the catalog.

    KIS's case varies between APIs (``ODNO`` in one, ``odno`` in the next) and between the
    workbook and the wire, so names match case-insensitively; a field KIS left out reads as
    ``""`` (tolerant of KIS's additions and omissions alike).
    """

    def __init__(self, api: ApiSpec, block: str) -> None:
        names = api.blocks.get(block)
        if names is None:
            raise LookupError(f"{api.alias} has no response block {block!r} in the catalog")
        self.api = api
        self.block = block
        self._names = {name.lower() for name in names}

    def text(self, row: Mapping[str, Any], name: str) -> str:
        """The field ``name`` of ``row`` as text (``""`` when absent)."""
        if name.lower() not in self._names:
            raise LookupError(f"{self.api.alias}.{self.block} has no field {name} in the catalog")
        for key in (name, name.lower(), name.upper()):
            if key in row:
                value = row[key]
                return "" if value is None else str(value).strip()
        return ""

    def integer(self, row: Mapping[str, Any], name: str) -> int:
        """The field as an int (0 when blank); a non-number is a :class:`KISProtocolError`."""
        value = self.decimal(row, name)
        return int(value)

    def decimal(self, row: Mapping[str, Any], name: str) -> Decimal:
        """The field as a Decimal (0 when blank)."""
        text = self.text(row, name).replace(",", "")
        try:
            return Decimal(text) if text else Decimal(0)
        except InvalidOperation:
            raise KISProtocolError(
                f"{self.api.alias}.{self.block}.{name} is not a number", excerpt=text[:40]
            ) from None


def rows_of(page: Mapping[str, Any], block: str) -> list[Mapping[str, Any]]:
    """The rows of ``block`` in a reply: KIS sends one row as an object, several as a list."""
    value = page.get(block)
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return [value] if any(str(v).strip() for v in value.values()) else []
    if isinstance(value, list):
        return [row for row in value if isinstance(row, Mapping)]
    raise KISProtocolError(f"block {block!r} is neither an object nor a list")
