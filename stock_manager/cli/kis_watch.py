"""``stock-manager kis watch TR KEY...``: realtime records as a live table, or JSON lines.

The TR is a TR_ID, catalog id or alias; the keys are symbols (or, for a notice TR, the HTS ID;
none given means ``KIS_HTS_ID``). ``--json`` writes one JSON object per record and line
(``tr_id``, ``key``, ``fields`` by name, ``extra`` beyond the catalog's names), so it pipes into
``jq``; without it a rich table keeps one row per key, updated in place. ``--count``/``--seconds``
stop it; Ctrl-C stops it cleanly (exit 0: that is how a watch ends). The websocket is
``KIS_WEBSOCKET_URL``, else KIS's for the environment.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from stock_manager.adapters.broker.kis import KISRealtimeClient
from stock_manager.adapters.broker.kis.realtime import Record

from .failures import CliUsageError
from .options import common_options
from .output import Output
from .session import Session

__all__ = ["register", "watch"]

# The columns of the table per TR: the fields a person watches. Other TRs show their first ones.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "H0STCNT0": ("STCK_CNTG_HOUR", "STCK_PRPR", "PRDY_VRSS", "PRDY_CTRT", "CNTG_VOL", "ACML_VOL"),
    "H0STASP0": ("BSOP_HOUR", "ASKP1", "BIDP1", "ASKP_RSQN1", "BIDP_RSQN1", "ACML_VOL"),
}
_FIRST_FIELDS = 6
# The longest wait for one record before the stop conditions are looked at again.
_TICK = 0.5


def _document(record: Record) -> dict[str, object]:
    document: dict[str, object] = {
        "tr_id": record.tr_id,
        "key": record.key,
        "fields": record.as_dict(),
    }
    if record.extra:
        document["extra"] = list(record.extra)
    return document


def _columns(record: Record) -> tuple[str, ...]:
    named = _COLUMNS.get(record.tr_id)
    if named is not None and all(name in record for name in named):
        return named
    return record.names[1 : 1 + _FIRST_FIELDS]


def _table(output: Output, rows: dict[str, Record]) -> Table:
    table = Table(show_edge=False)
    first = next(iter(rows.values()), None)
    columns = _columns(first) if first is not None else ()
    table.add_column("key")
    for name in columns:
        table.add_column(name, justify="right")
    for key, record in rows.items():
        cells = [output.escaped(key)] + [output.escaped(record.get(n, "")) for n in columns]
        table.add_row(*cells)
    return table


@common_options
def watch(
    tr: Annotated[
        str, typer.Argument(help="TR_ID, catalog id or alias (e.g. H0STCNT0).", show_default=False)
    ],
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="Symbols (e.g. 005930); for a notice TR the HTS ID (default KIS_HTS_ID).",
            show_default=False,
        ),
    ] = None,
    *,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many records.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", min=0.0, help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Watch realtime records of one TR: a live table, or JSON lines with --json."""
    with Session.start() as session:
        output = session.output
        config = session.config()
        if seconds is not None and seconds > 86_400:
            raise CliUsageError("--seconds must be at most 86400 (a day)")
        wanted: list[str | None] = list(keys) if keys else [None]
        ends_at = None if seconds is None else time.monotonic() + seconds
        seen = 0
        rows: dict[str, Record] = {}
        with session.client(config) as rest, KISRealtimeClient(rest=rest) as rt:
            for key in wanted:
                rt.subscribe(tr, key)
            live = None if output.json_mode else Live(_table(output, rows), console=output.out)
            try:
                if live is not None:
                    live.start()
                while count is None or seen < count:
                    left = None if ends_at is None else ends_at - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    try:
                        record = rt.next(timeout=_TICK if left is None else min(_TICK, left))
                    except TimeoutError:
                        continue
                    seen += 1
                    if live is None:
                        # ASCII escapes: lossless, and nothing a terminal would act on.
                        output.raw(json.dumps(output.masked(_document(record))))
                    else:
                        rows[record.key] = record
                        live.update(_table(output, rows))
            except KeyboardInterrupt:
                pass  # Ctrl-C is how a watch ends: the clients close below, cleanly
            finally:
                if live is not None:
                    live.stop()


def register(app: typer.Typer) -> None:
    """Add ``watch`` to the ``kis`` group."""
    app.command("watch")(watch)
