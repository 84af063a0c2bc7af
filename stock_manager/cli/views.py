"""Readable replies: ``--fields a,b,c``, ``--csv``, ``--labels ko`` and numbers people can read.

Every command that shows rows takes the three options (:data:`FieldsOption`, :data:`CsvOption`,
:data:`LabelsOption`, made into a :class:`View` by :func:`view_of`). Numbers get thousands
separators in tables (never in CSV or JSON, which programs read); a value that only looks like a
number (a code such as ``005930``, a date, an order number) is left as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import ApiSpec

from .failures import CliUsageError
from .output import Output

__all__ = [
    "CsvOption",
    "FieldsOption",
    "LabelsOption",
    "View",
    "catalog_labels",
    "format_number",
    "numeric_keys",
    "select_fields",
    "show_rows",
    "view_of",
    "write_csv",
]

_PANEL = "Output"

FieldsOption = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="A,B,C",
        help="Show only these fields (keys as in --json), in this order (tables and CSV).",
        rich_help_panel=_PANEL,
        show_default=False,
    ),
]
CsvOption = Annotated[
    bool,
    typer.Option("--csv", help="Rows as CSV on stdout (plain numbers).", rich_help_panel=_PANEL),
]
LabelsOption = Annotated[
    str,
    typer.Option(
        "--labels",
        metavar="en|ko",
        help="Column names: en (the keys) or ko (Korean, from KIS's documentation).",
        rich_help_panel=_PANEL,
    ),
]

# Parts of a KIS field name that mark an identifier, a date or a flag rather than an amount:
# such a value is shown as sent even when it is all digits.
_IDENTIFIER_PARTS = frozenset(
    {"cd", "dt", "no", "odno", "pdno", "hour", "tmd", "date", "time", "code", "symbol", "id",
     "iscd", "cano", "yn", "dvsn", "orgno", "tm", "day", "ymd", "key", "seq"}
)  # fmt: skip
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?")


@dataclass(frozen=True)
class View:
    """How rows are shown: which fields, as a table or CSV, with which column names."""

    fields: tuple[str, ...] | None = None
    csv: bool = False
    korean: bool = False


def view_of(fields: str | None, as_csv: bool, labels: str, output: Output) -> View:
    """The :class:`View` the options ask for; a clear usage error for a bad combination."""
    label = labels.strip().lower()
    if label not in ("en", "ko"):
        raise CliUsageError(f"--labels takes en or ko, not {labels!r}")
    if as_csv and output.json_mode:
        raise CliUsageError("--csv and --json each choose the output: pass one")
    chosen = None
    if fields is not None:
        chosen = tuple(f.strip() for f in fields.split(",") if f.strip())
        if not chosen:
            raise CliUsageError("--fields takes names separated by commas, e.g. --fields a,b")
    return View(fields=chosen, csv=as_csv, korean=label == "ko")


def select_fields(
    rows: Sequence[Mapping[str, Any]], fields: Sequence[str] | None, *, known: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """``rows`` with only ``fields`` (matched ignoring case), in their order; an unknown name
    is a usage error listing the names there are."""
    available: list[str] = list(known)
    for row in rows:
        available.extend(key for key in row if key not in available)
    if fields is None:
        return [dict(row) for row in rows]
    by_fold = {name.casefold(): name for name in available}
    chosen = []
    for name in fields:
        key = by_fold.get(name.casefold())
        if key is None:
            raise CliUsageError(
                f"no field {name!r} here; the fields are: {', '.join(available) or '(none)'}"
            )
        chosen.append(key)
    return [{key: row.get(key) for key in chosen} for row in rows]


def _is_identifier(key: str) -> bool:
    return any(part in _IDENTIFIER_PARTS for part in key.lower().split("_"))


def format_number(value: Any) -> str | None:
    """``value`` with thousands separators when it is a number (``"1234567"`` → ``1,234,567``,
    ``Decimal("-1.50")`` → ``-1.50``), else None. Leading zeros mean a code, not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        text = str(value).strip()
        if not _NUMBER.fullmatch(text):
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and number == number.to_integral_value():
        # "101600.0000" (an average price to four places) is a whole amount: shown as one.
        number = number.quantize(Decimal(1))
    return f"{number:,}"


def numeric_keys(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """The keys whose every non-empty value is a number (and not an identifier's name)."""
    keys: set[str] = set()
    for row in rows:
        keys.update(row)
    numeric = set()
    for key in keys:
        values = [row[key] for row in rows if row.get(key) not in (None, "")]
        if values and not _is_identifier(key) and all(format_number(v) for v in values):
            numeric.add(key)
    return numeric


def _formatted(rows: Sequence[Mapping[str, Any]], keys: set[str]) -> list[dict[str, Any]]:
    return [
        {k: (format_number(v) or v) if k in keys and v != "" else v for k, v in row.items()}
        for row in rows
    ]


def catalog_labels(spec: ApiSpec | None) -> dict[str, str]:
    """Korean names of ``spec``'s reply fields (and its blocks), keyed by field name."""
    if spec is None:
        return {}
    labels: dict[str, str] = {}
    for block in spec.response:
        for field in block.fields:
            if field.name_ko:
                labels.setdefault(field.name, field.name_ko)
    return labels


def write_csv(output: Output, rows: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> None:
    """``rows`` as CSV on stdout, a header of ``names`` first (secrets masked, controls out)."""
    rows = [output.clean(dict(row)) for row in rows]
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([names.get(c, c) for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    output.raw(buffer.getvalue().rstrip("\n"))


def show_rows(
    output: Output,
    title: str | None,
    rows: Sequence[Mapping[str, Any]],
    view: View,
    *,
    korean: Mapping[str, str] | None = None,
    english: Mapping[str, str] | None = None,
    numbers: Iterable[str] | None = None,
) -> None:
    """Rows for people (a table, records when too wide) or CSV, as ``view`` says.

    ``korean`` names the keys under ``--labels ko``, ``english`` otherwise (short headers for a
    table; CSV keeps the keys); ``numbers`` are the keys to format as numbers (default: guessed
    from the values and the keys' names).
    """
    chosen = select_fields(rows, view.fields)
    names = dict(korean or {}) if view.korean else {} if view.csv else dict(english or {})
    if view.csv:
        write_csv(output, chosen, names)
        return
    keys = set(numbers) if numbers is not None else numeric_keys(chosen)
    output.records(title, _formatted(chosen, keys), labels=names, right=keys, transpose=False)
