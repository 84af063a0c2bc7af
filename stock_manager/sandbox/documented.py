"""KIS's success reply for a documented REST API that no handler of the sandbox serves.

The reply carries every block and field KIS's workbook documents (``kis_routes.json``), shaped as
KIS answers (one record for an object block, a few for an array block), every value a string as
KIS sends them. Values are plausible for the field's name (digits for prices and quantities,
YYYYMMDD dates, HHMMSS times, Y/N flags) but come from no market: they are drawn from a seed of
the request, so the same request gets the same reply and a client's parsing can be tested.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import date, timedelta
from typing import Any

from stock_manager.sandbox.codes import success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.tables import CATALOG_ROUTES

ARRAY_ROWS = 3
# The paging forms whose reply tells the caller whether more follows ("D": this was the last).
PAGED_FORMS = frozenset({"tr_cont", "keyb", "next_keyb", "index_key"})
LAST_PAGE = "D"
ENVELOPE = frozenset({"rt_cd", "msg_cd", "msg1"})
# A fixed day, not the wall clock, so a reply never changes with the day it is asked.
ANCHOR = date(2026, 1, 15)

# Classified on the name's last word (trailing digits dropped: askp1, rsqn10...).
DECIMAL_WORDS = frozenset({"rate", "ctrt", "rt", "inrt", "tnrt", "dprt", "exrt", "per", "pbr"})
NUMBER_WORDS = frozenset(
    {
        "prpr",
        "qty",
        "amt",
        "vol",
        "pbmn",
        "vrss",
        "price",
        "pric",
        "prc",
        "unpr",
        "hgpr",
        "lwpr",
        "oprc",
        "clpr",
        "cnt",
        "rsqn",
        "val",
        "fee",
        "qntt",
        "askp",
        "bidp",
        "tvol",
        "smtl",
        "icdc",
        "mxpr",
        "llam",
        "rlim",
        "sdpr",
        "nav",
        "cash",
        "rank",
        "tota",
        "smtn",
        "pbid",
        "pask",
        "sbst",
        "stcn",
        "acpr",
        "csnu",
        "last",
        "diff",
        "nrec",
        "dfpa",
        "eps",
        "bps",
        "hght",
        "lwst",
    }
)
DATE_WORDS = frozenset({"dt", "date", "ymd", "day"})
TIME_WORDS = frozenset({"hour", "tmd", "time", "hms"})
CODE_WORDS = frozenset({"cd", "code", "dvsn", "cls", "tp", "gb", "div"})
SYMBOL_WORDS = frozenset({"iscd", "pdno", "shtn", "symb", "rsym"})
NAME_WORDS = frozenset({"name", "isnm", "nm", "text"})
CONTINUATION = re.compile(r"ctx_area_(fk|nk)\d+|keyb|index_key|cts_key", re.IGNORECASE)


def answer(_state: SandboxState, call: GatewayCall) -> tuple[dict[str, Any], str]:
    """The documented success reply for ``call`` and its ``tr_cont`` header."""
    entry = CATALOG_ROUTES[call.path]
    rng = random.Random(_seed(call))  # noqa: S311 - plausible values, not secrets
    reply = success()
    for block in entry["response"]:
        if block["name"] == "body":
            reply.update(_record([f for f in block["fields"] if f[0] not in ENVELOPE], rng, 0))
        elif block["shape"] == "array":
            reply[block["name"]] = [_record(block["fields"], rng, i) for i in range(ARRAY_ROWS)]
        else:
            reply[block["name"]] = _record(block["fields"], rng, 0)
    return reply, LAST_PAGE if entry["paging"] in PAGED_FORMS else ""


def _seed(call: GatewayCall) -> int:
    request = json.dumps(
        [call.path, call.tr_id, sorted(call.params.items()), call.body],
        sort_keys=True,
        default=str,
    )
    return int.from_bytes(hashlib.sha256(request.encode()).digest()[:8], "big")


def _record(fields: list[list[Any]], rng: random.Random, row: int) -> dict[str, str]:
    return {name: value_for(name, length, rng, row) for name, _type, length in fields}


def value_for(name: str, length: int | None, rng: random.Random, row: int = 0) -> str:
    """A plausible string value for a field called ``name``, on record ``row`` of its block."""
    word = re.sub(r"\d+$", "", name.lower().rsplit("_", 1)[-1])
    if CONTINUATION.fullmatch(name):
        return ""  # no further page: a continuation key the caller would echo stays blank
    if word in DATE_WORDS or name.lower() == "bsop_date":
        return (ANCHOR - timedelta(days=row)).strftime("%Y%m%d")
    if word in TIME_WORDS:
        seconds = 9 * 3600 + rng.randrange(6 * 3600 + 1800)  # within 09:00-15:30
        return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"
    if word == "sign":
        return rng.choice("235")  # KIS's 전일 대비 부호: 2 up, 3 unchanged, 5 down
    if word == "yn":
        return rng.choice("YN")
    if word in DECIMAL_WORDS:
        return f"{rng.randrange(0, 3000) / 100:.2f}"
    if word in NUMBER_WORDS:
        digits = min(length or 6, 6)
        return str(rng.randrange(1, 10**digits))
    if word in SYMBOL_WORDS:
        return f"{rng.randrange(1, 1_000_000):06d}"
    if word in CODE_WORDS:
        return str(rng.randrange(1, 10)).zfill(min(length or 1, 2))
    if word in NAME_WORDS:
        return f"샘플{rng.randrange(1, 100)}"
    return "sample"[: length or None]
