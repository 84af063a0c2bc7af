"""How the command line speaks: rich for people, JSON for machines, secrets masked in both.

Results go to stdout (a rich rendering, or one JSON document with ``--json``); progress,
warnings and errors go to stderr, so ``--json`` output can be piped as is.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from stock_manager.adapters.broker.kis.protocol import KST

__all__ = [
    "SECRET_FIELDS",
    "Output",
    "mask",
    "mask_fields",
    "printable",
    "timestamps",
]

#: Body fields whose values are credentials wherever they appear.
SECRET_FIELDS = frozenset(
    {"access_token", "approval_key", "appsecret", "secretkey", "token", "personalseckey"}
)

# A secret this long cannot turn up by chance inside an innocent value, so it is masked
# wherever it appears; a shorter one ("0") only where it is a whole value.
_MIN_SUBSTRING_SECRET = 8

# What a terminal may act on rather than show: C0 controls but tab and line feed (ESC starts
# the sequences that set the title or clear the screen), DEL, C1 controls (U+009B is a one-
# character CSI), the bidi marks, embeddings, overrides and isolates that reorder what is read,
# and the Unicode line and paragraph separators.
_TERMINAL_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)

# A wide table of few rows reads better turned on its side.
_MAX_COLUMNS = 8
_MAX_TRANSPOSED_ROWS = 6
_UNBOUNDED = 100_000


def mask(value: str | None) -> str:
    """The first 4 characters and an ellipsis: enough to tell values apart, not to use one."""
    if not value:
        return ""
    if value.endswith("…"):  # already masked
        return value
    return f"{value[:4]}…" if len(value) >= 12 else "…"


def printable(text: str) -> str:
    """``text`` without the characters a terminal would act on instead of showing them."""
    return _TERMINAL_CONTROLS.sub("", text)


def _json_for_terminals(text: str) -> str:
    # json.dumps escapes C0 controls but writes DEL, C1 and bidi characters as they are; as
    # \uXXXX escapes they are harmless on a terminal and decode to the very same string.
    return _TERMINAL_CONTROLS.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def mask_fields(data: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``data`` with credential fields and known secret values masked.

    A string equal to a secret is masked whole; a secret of 8 characters or more is masked
    wherever it appears; a shorter secret inside a longer value is left alone (with a secret
    of ``0``, a price of ``70000`` is not a secret).
    """
    known = tuple(sorted((s for s in secrets if s), key=len, reverse=True))
    return _masked(data, known)


def _masked(data: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(data, Mapping):
        return {
            key: (
                mask(value)
                if str(key).lower() in SECRET_FIELDS and isinstance(value, str)
                else _masked(value, secrets)
            )
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [_masked(item, secrets) for item in data]
    if isinstance(data, str):
        return _masked_text(data, secrets)
    return data


def _masked_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if text == secret:
            return mask(secret)
        if len(secret) >= _MIN_SUBSTRING_SECRET and secret in text:
            text = text.replace(secret, mask(secret))
    return text


def _printable_data(data: Any) -> Any:
    # Keys too: a reply's field names are the server's strings as much as its values.
    if isinstance(data, Mapping):
        return {_printable_data(key): _printable_data(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_printable_data(item) for item in data]
    if isinstance(data, str):
        return printable(data)
    return data


def timestamps(moment: datetime | None) -> dict[str, str | None]:
    """``moment`` as ISO-8601 in UTC, in Korean time and in the local time zone."""
    if moment is None:
        return {"utc": None, "kst": None, "local": None}
    return {
        "utc": moment.astimezone(UTC).isoformat(timespec="seconds"),
        "kst": moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S KST"),
        "local": moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


class Output:
    """Writers for one command run: ``json_mode`` picks JSON documents over rich renderings."""

    def __init__(self, *, json_mode: bool = False, secrets: Iterable[str] = ()) -> None:
        self.json_mode = json_mode
        #: Set when a failure is already part of the JSON document written (the demo's
        #: transcript): the ``{"error": ...}`` envelope would be a second document.
        self.error_in_document = False
        self.out = Console(highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self._secrets: set[str] = {s for s in secrets if s}

    def add_secret(self, value: str | None) -> None:
        """Mask ``value`` in everything printed from now on."""
        if value:
            self._secrets.add(value)

    def masked(self, data: Any) -> Any:
        """``data`` with every known secret and credential field masked."""
        return mask_fields(data, self._secrets)

    def clean(self, data: Any) -> Any:
        """``data`` fit for a terminal: secrets masked, control characters stripped.

        Everything this class prints to people goes through here (or :meth:`escaped`)."""
        return _printable_data(self.masked(data))

    def escaped(self, value: Any) -> str:
        """``value`` (a server's string, say) ready to go inside rich markup: cleaned, and
        its brackets escaped so that ``[/]`` or ``[red]`` shows as typed."""
        return escape(str(self.clean(value)))

    # -- results -------------------------------------------------------------------------------

    def json(self, document: Any, *, reveal: bool = False) -> None:
        """Write one JSON document on stdout, secrets masked unless ``reveal``."""
        data = document if reveal else self.masked(document)
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        self.out.file.write(_json_for_terminals(text) + "\n")
        self.out.file.flush()

    def raw(self, text: str) -> None:
        """Write ``text`` as is (no markup, no wrapping, only control characters stripped):
        for values meant to be copied."""
        self.out.file.write(printable(text) + "\n")
        self.out.file.flush()

    def line(self, text: str = "", *, style: str | None = None) -> None:
        """A line for people; ``text`` is rich markup, its values already escaped."""
        self.out.print(self.clean(text), style=style)

    def pairs(self, rows: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
        """A two-column table of names and values."""
        table = Table(title=self._title(title), show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column(overflow="fold")
        for name, value in rows:
            table.add_row(Text(self.clean(name)), _cell(self.clean(value)))
        self.out.print(table)

    def records(
        self,
        title: str | None,
        rows: Sequence[Mapping[str, Any]],
        *,
        labels: Mapping[str, str] | None = None,
        right: Iterable[str] = (),
        transpose: bool = True,
    ) -> None:
        """A table of records (KIS ``output1``-style lists), turned on its side when wide.

        ``labels`` names the columns (Korean ones, say) instead of their keys; ``right`` are the
        keys whose values are numbers, right-aligned; ``transpose`` allows the sideways table
        for few rows of many columns. A table wider than the terminal, which
        rich would otherwise fold letter by letter, is shown as records: one block of
        ``name  value`` lines per row.
        """
        rows = [self.clean(dict(row)) for row in rows]
        columns: list[str] = []
        for row in rows:
            columns.extend(key for key in row if key not in columns)
        transpose = transpose and len(columns) > _MAX_COLUMNS and len(rows) <= _MAX_TRANSPOSED_ROWS
        names = {c: str(self.clean((labels or {}).get(c, c))) for c in columns}
        aligned = set(right)
        table = Table(title=self._title(title), header_style="bold")
        if transpose:
            table.add_column("field", style="cyan", no_wrap=True)
            for index in range(len(rows)):
                table.add_column(f"#{index + 1}", no_wrap=True)
            for column in columns:
                table.add_row(Text(names[column]), *(_cell(row.get(column)) for row in rows))
        else:
            for column in columns:
                table.add_column(
                    Text(names[column]),
                    no_wrap=True,
                    justify="right" if column in aligned else "left",
                )
            for row in rows:
                table.add_row(*(_cell(row.get(column)) for column in columns))
        # Measured unbounded: a table measured at the terminal's width is clamped to it.
        unbounded = self.out.options.update_width(_UNBOUNDED)
        if Measurement.get(self.out, unbounded, table).maximum <= self.out.width:
            self.out.print(table)
            return
        self._record_view(title, rows, columns, names)

    def _record_view(
        self,
        title: str | None,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[str],
        names: Mapping[str, str],
    ) -> None:
        if title is not None:
            self.out.print(self._title(title), style="bold")
        for index, row in enumerate(rows, start=1):
            table = Table(
                title=Text(f"#{index}"),
                title_justify="left",
                show_header=False,
                box=None,
                pad_edge=False,
            )
            table.add_column(style="bold cyan", no_wrap=True)
            table.add_column(overflow="fold")
            for column in columns:
                table.add_row(Text(names[column]), _cell(row.get(column)))
            self.out.print(table)

    def _title(self, title: str | None) -> Text | None:
        # Text, not str: a title may be a reply's field name, never to be read as markup.
        return None if title is None else Text(self.clean(title))

    def body(
        self,
        body: Mapping[str, Any],
        *,
        labels: Mapping[str, str] | None = None,
        right: Iterable[str] = (),
    ) -> None:
        """A KIS reply body: scalars as pairs, objects as pairs, lists of objects as tables
        (``labels`` and ``right`` as for :meth:`records`)."""
        names = labels or {}
        right = tuple(right)

        def named(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
            return [(names.get(key, key), value) for key, value in items]

        scalars = [(k, v) for k, v in body.items() if not isinstance(v, Mapping | list)]
        if scalars:
            self.pairs(named(scalars))
        for key, value in body.items():
            if isinstance(value, Mapping):
                self.pairs(named(value.items()), title=key)
            elif isinstance(value, list):
                if value and all(isinstance(item, Mapping) for item in value):
                    self.records(f"{key} ({len(value)})", value, labels=names, right=right)
                else:
                    self.pairs([(key, value)])  # the cell writes it as JSON, once masked

    # -- progress and problems (stderr) --------------------------------------------------------

    @contextlib.contextmanager
    def waiting(self, text: str) -> Iterator[Callable[[str], None]]:
        """A spinner on stderr while the block runs (silent when stderr is not a terminal).

        The block receives a function that changes the spinner's text.
        """
        with self.err.status(Text(self.clean(text)), spinner="dots") as status:
            yield lambda new: status.update(Text(self.clean(new)))

    def warn(self, text: str) -> None:
        """One warning line on stderr."""
        self.err.print(f"warning: {self.clean(text)}", markup=False)

    def error(self, text: str) -> None:
        """One error line on stderr."""
        one_line = " ".join(str(self.clean(text)).split())
        self.err.print(f"error: {one_line}", markup=False, soft_wrap=True)


def _cell(value: Any) -> Text:
    # Text, not str: a value such as "[01]" must not be read as rich markup.
    if value is None:
        return Text("")
    if isinstance(value, Mapping | list):
        return Text(json.dumps(value, ensure_ascii=False))
    return Text(str(value))
