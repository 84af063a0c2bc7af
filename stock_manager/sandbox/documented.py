"""KIS's success reply for a documented REST API that no handler of the sandbox serves.

The reply carries every block and field KIS's workbook documents (``kis_routes.json``), shaped as
KIS answers (one record for an object block, a few for an array block, pages of KIS's rows per
call for an API that pages), every value a string as KIS sends them. Values are plausible for the
field's name (digits for prices and quantities, YYYYMMDD dates, HHMMSS times, Y/N flags), drawn
from a seed of the request, so the same request gets the same reply and a client's parsing can
be tested. When the request names a symbol, the fields the sandbox's market knows about it
(price, change, volume, limits, name, book, chart bars) come from the market instead
(:mod:`.market_fields`), so they agree with inquire-price at the same market moment.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import date, timedelta
from typing import Any

from stock_manager.sandbox import market_fields
from stock_manager.sandbox.codes import success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.paging import KeyCodec, undecodable
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.tables import CATALOG_ROUTES

ARRAY_ROWS = 3
# The paging forms whose reply tells the caller whether more follows ("D": this was the last).
PAGED_FORMS = frozenset({"tr_cont", "keyb", "next_keyb", "index_key"})
MORE_PAGES = "M"
LAST_PAGE = "D"
# Rows per call where the workbook states none for the domain: small, so two pages stay cheap.
DEFAULT_ROWS = 5
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


def answer(state: SandboxState, call: GatewayCall) -> tuple[dict[str, Any], str]:
    """The documented success reply for ``call`` and its ``tr_cont`` header.

    An API whose paging form pages (:data:`PAGED_FORMS`) answers its array blocks in pages of
    KIS's rows per call for the domain: a full first page, then a shorter last one, the
    continuation value in the reply field its form uses. Other APIs answer one page of
    :data:`ARRAY_ROWS` rows per array block.
    """
    entry = CATALOG_ROUTES[call.path]
    form = entry["paging"]
    keys = {key["param"].upper() for key in entry["keys"]}
    seed = _seed(call, keys if form in PAGED_FORMS else set())
    if form not in PAGED_FORMS:
        return _from_market(state, call, entry, _reply(entry, seed, 0, ARRAY_ROWS), 0), ""
    per_call = entry["rows"][state.environment] or DEFAULT_ROWS
    total = per_call + max(1, per_call // 2)
    scope = f"{seed:016x}"
    codec = KeyCodec(state.signing_key)
    offset = _offset(
        form, keys=entry["keys"], call=call, scope=scope, codec=codec, per_call=per_call
    )
    end = min(offset + per_call, total)
    more = end < total
    reply = _from_market(state, call, entry, _reply(entry, seed, offset, end), offset)
    issued = codec.issue(scope, end) if more else ""
    for key in entry["keys"]:
        if key["field"] is None:
            continue
        name = key["param"].upper()
        if name.startswith("CTX_AREA_FK"):
            value = scope
        elif name == "NEXT":
            value = "1" if more else ""
        elif name.startswith("CTX_AREA_NK"):
            value = codec.issue(scope, end)  # as paging.Pager: the reply header says "last"
        else:
            value = issued
        target = reply if key["block"] == "body" else reply.setdefault(key["block"], {})
        if isinstance(target, dict):
            target[key["field"]] = value
    return reply, MORE_PAGES if more else LAST_PAGE


def _from_market(
    state: SandboxState, call: GatewayCall, entry: dict[str, Any], reply: dict[str, Any], first: int
) -> dict[str, Any]:
    """``reply`` with the fields about the symbol the request names taken from the market."""
    params = {k.upper(): v for k, v in call.body.items()} if call.body else call.params
    subject = market_fields.symbol_of(state.market, call.path, params)
    if subject is not None:
        end = first + max((len(v) for v in reply.values() if isinstance(v, list)), default=0)
        market_fields.apply(
            state.market,
            subject,
            response=entry["response"],
            params=params,
            reply=reply,
            rows=(first, end),
        )
    return reply


def _offset(
    form: str,
    *,
    keys: list[dict[str, Any]],
    call: GatewayCall,
    scope: str,
    codec: KeyCodec,
    per_call: int,
) -> int:
    """Where the asked-for page starts: 0 on a first page, else the decoded continuation."""
    params = call.params
    if form == "tr_cont":
        if call.tr_cont.strip().upper() != "N":
            return 0
        fk, nk = (key["param"].upper() for key in keys)
        names = f"{fk}/{nk.rsplit('_', 1)[-1]}"
        if params.get(fk, "").strip() != scope:
            raise undecodable(names)
        return codec.offset(scope, params.get(nk, ""), names)
    if form == "keyb":
        value = params.get("KEYB", "")
        return codec.offset(scope, value, "KEYB") if value.strip() else 0
    if form == "next_keyb":
        # KIS's sheet has the caller send NEXT=1 with KEYB set to a minute before the last bar
        # it got (YYYYMMDDHHMMSS), and its own example sends NEXT=1 with KEYB blank: blank is a
        # first page, such a time the page after the first, else the value the reply issued.
        keyb = params.get("KEYB", "").strip()
        if params.get("NEXT", "").strip() != "1" or not keyb:
            return 0
        if len(keyb) == 14 and keyb.isascii() and keyb.isdigit():
            return int(per_call)
        return codec.offset(scope, keyb, "KEYB")
    if params.get("QRY_TP", "").strip().upper() != "P":  # index_key: Q (or empty) first
        return 0
    return codec.offset(scope, params.get("INDEX_KEY", ""), "INDEX_KEY")


def _reply(entry: dict[str, Any], seed: int, first: int, end: int) -> dict[str, Any]:
    """Every documented block, array blocks holding records ``first``..``end`` of the list."""
    reply = success()
    for block in entry["response"]:
        name = block["name"]
        if name == "body":
            fields = [f for f in block["fields"] if f[0] not in ENVELOPE]
            reply.update(_record(fields, seed, name, 0))
        elif block["shape"] == "array":
            reply[name] = [_record(block["fields"], seed, name, i) for i in range(first, end)]
        else:
            reply[name] = _record(block["fields"], seed, name, 0)
    return reply


def _seed(call: GatewayCall, continuation: set[str]) -> int:
    # Continuation keys stay out: every page of one list comes from the same seed. The account
    # goes in, so a continuation value issued to one app does not page another's list.
    params = sorted((k, v) for k, v in call.params.items() if k not in continuation)
    body = {k: v for k, v in call.body.items() if k not in continuation}
    request = json.dumps(
        [call.path, call.role, call.app.account.cano, params, body],
        sort_keys=True,
        default=str,
    )
    return int.from_bytes(hashlib.sha256(request.encode()).digest()[:8], "big")


def _record(fields: list[list[Any]], seed: int, block: str, row: int) -> dict[str, str]:
    # One generator per record: record ``row`` is the same on whichever page it falls.
    rng = random.Random(f"{seed}|{block}|{row}")  # noqa: S311 - plausible values, not secrets
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
