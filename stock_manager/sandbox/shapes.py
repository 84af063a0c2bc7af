"""Give a handler's reply KIS's documented shape: every block, every field, KIS's spelling.

Handlers fill the fields their state knows (cash, quantities, order numbers) under whatever case
is convenient; :func:`complete` then renames them to the spelling KIS's workbook documents for
that API (``ODNO`` in order-cash, ``odno`` in order-rvsecncl), and adds every documented field a
handler left out with a plausible value (:func:`stock_manager.sandbox.documented.value_for`),
so clients that index a field directly never meet a ``KeyError``. Inside an output block a
field the workbook does not document is dropped: each API answers its own fields, as KIS does.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

from stock_manager.sandbox.documented import value_for
from stock_manager.sandbox.tables import CATALOG_ROUTES

ENVELOPE = frozenset({"rt_cd", "msg_cd", "msg1"})


def complete(path: str, reply: dict[str, Any]) -> dict[str, Any]:
    """``reply`` (a success) with every documented block and field of ``path``, in place."""
    entry = CATALOG_ROUTES.get(path)
    if entry is None or reply.get("rt_cd") != "0":
        return reply
    # Seeded by the path: a filled-in value never changes between two calls.
    rng = random.Random(zlib.crc32(path.encode()))  # noqa: S311 - plausible values, not secrets
    for block in entry["response"]:
        names = [f[0] for f in block["fields"]]
        lengths = {f[0]: f[2] for f in block["fields"]}
        if block["name"] == "body":
            # Top-level fields are renamed and filled in place; the blocks stay beside them.
            _fill(reply, [n for n in names if n not in ENVELOPE], lengths, rng)
            continue
        value = reply.get(block["name"])
        if value is None:
            value = [] if block["shape"] == "array" else {}
        if block["shape"] == "array":
            rows = value if isinstance(value, list) else [value]
            reply[block["name"]] = [_fill(dict(row), names, lengths, rng) for row in rows]
        else:
            record = value[0] if isinstance(value, list) and value else value
            reply[block["name"]] = _fill(dict(record or {}), names, lengths, rng)
    return reply


def _fill(
    record: dict[str, Any], names: list[str], lengths: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    spelled = {name.lower(): name for name in names}
    for key in list(record):
        documented = spelled.get(key.lower())
        if documented is not None and documented != key:
            record[documented] = record.pop(key)
    for name in names:
        if name not in record:
            record[name] = value_for(name, lengths.get(name), rng)
    # A handler may build rows shared by several APIs: each API answers its own fields only.
    return {name: record[name] for name in names}
