"""The sandbox's realtime table: which TRs exist on which server, their record layouts, and what
keys each takes.

The layouts come from the sandbox's own generated copy of KIS's table (``kis_realtime.json``,
written by ``tools/build_catalog.py``), never from the client's catalog. The live widths are the
table's (H0STASP0 62 fields, the domestic notice 26); ``documented`` keeps the workbook's width
for the 59-field order-book switch.

Which keys a TR takes is a sandbox choice, by TR family (KIS publishes no list): domestic stock
TRs take the listed KOSPI/KOSDAQ codes (ELW TRs too: the sandbox lists no ELW), H0STNAV0 ETFs,
index TRs ``0001`` (KOSPI), ``1001`` (KOSDAQ) and ``2001`` (KOSPI200), futures and options TRs
the listed KRX derivatives of their kind (stock options and commodity futures: none listed, so
every key is refused), overseas stock TRs ``D``/``R`` + exchange + symbol, overseas futures the
CME series, bond TRs the listed KTB codes (the bond index TR too), notices the app's HTS ID.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Literal

from stock_manager.sandbox.universe import UNIVERSE, Instrument, lookup

__all__ = [
    "INDICES",
    "PAPER_TRS",
    "RealtimeTR",
    "Target",
    "available",
    "resolve",
]

Kind = Literal[
    "stock", "etf", "index", "futures", "options", "stock_futures", "none", "overseas",
    "overseas_us", "overseas_asia", "overseas_futures", "bond", "notice",
]  # fmt: skip

# Longest prefix first: the TR's family decides what its key is.
_KINDS: tuple[tuple[str, Kind], ...] = (
    ("H0STNAV0", "etf"),
    ("HDFSASP0", "overseas_us"),
    ("HDFSASP1", "overseas_asia"),
    ("HDFS", "overseas"),
    ("HDFF", "overseas_futures"),
    ("H0ST", "stock"),
    ("H0NX", "stock"),
    ("H0UN", "stock"),
    ("H0EW", "stock"),
    ("H0UP", "index"),
    ("H0IF", "futures"),
    ("H0MF", "futures"),
    ("H0ZF", "stock_futures"),
    ("H0IO", "options"),
    ("H0EU", "options"),
    ("H0BJ", "bond"),
    ("H0BI", "bond"),
)

#: Exchange codes of overseas keys (``DNASAAPL``) and the sandbox market each names; BAQ/BAY/BAA
#: are the US day-session (주간거래) codes.
EXCHANGES = {
    "NAS": "NASD",
    "NYS": "NYSE",
    "AMS": "AMEX",
    "BAQ": "NASD",
    "BAY": "NYSE",
    "BAA": "AMEX",
    "TSE": "TKSE",
    "HKS": "SEHK",
    "SHS": "SHAA",
    "SZS": "SZAA",
    "HNX": "HASE",
    "HSX": "VNSE",
}
_US = frozenset({"NASD", "NYSE", "AMEX"})

#: Index keys: (name, level at the previous close); the level moves with KODEX 200 (069500).
INDICES: dict[str, tuple[str, Decimal]] = {
    "0001": ("코스피", Decimal("2650.00")),
    "1001": ("코스닥", Decimal("870.00")),
    "2001": ("코스피200", Decimal("355.00")),
}
INDEX_PROXY = "069500"

#: The only realtime TRs of KIS's paper server.
PAPER_TRS = frozenset({"H0STCNT0", "H0STASP0", "H0STCNI9", "H0GSCNI9", "H0IFCNI9"})


@dataclass(frozen=True)
class RealtimeTR:
    """One realtime TR as a server offers it: ``tr_id`` is the ID the client sends (a paper
    notice's own ``...9`` ID on the paper server), ``real_tr_id`` the table's key."""

    tr_id: str
    real_tr_id: str
    name: str
    fields: tuple[str, ...]
    documented: int
    notice: bool
    kind: Kind


@dataclass(frozen=True)
class Target:
    """What a registered key streams: an instrument, or an index following its proxy."""

    key: str
    instrument: Instrument
    index: str | None = None


def _kind(tr_id: str, notice: bool) -> Kind:
    if notice:
        return "notice"
    for prefix, kind in _KINDS:
        if tr_id.startswith(prefix):
            return kind
    return "none"


def _load() -> dict[str, dict[str, RealtimeTR]]:
    table = json.loads(
        resources.files("stock_manager.sandbox")
        .joinpath("kis_realtime.json")
        .read_text(encoding="utf-8")
    )["trs"]
    real: dict[str, RealtimeTR] = {}
    paper: dict[str, RealtimeTR] = {}
    for tr_id, entry in table.items():
        fields = tuple(entry["fields"])
        common = {
            "real_tr_id": tr_id,
            "name": entry["name"],
            "fields": fields,
            "documented": int(entry["documented"]),
            "notice": bool(entry["notice"]),
            "kind": _kind(tr_id, bool(entry["notice"])),
        }
        real[tr_id] = RealtimeTR(tr_id=tr_id, **common)
        paper_id = entry["paper"]
        if paper_id and paper_id in PAPER_TRS:
            paper[paper_id] = RealtimeTR(tr_id=paper_id, **common)
    return {"real": real, "paper": paper}


_TABLE = _load()


def available(environment: str) -> dict[str, RealtimeTR]:
    """The TRs the ``"real"`` or ``"paper"`` server accepts, by the ID a client sends."""
    return _TABLE[environment]


def resolve(tr: RealtimeTR, key: str) -> Target | None:
    """What ``key`` streams on ``tr``, or None when the market lists no such key for the TR's
    kind (OPSP8992). Notice keys are checked against the app's HTS ID by the server."""
    kind = tr.kind
    if kind in ("stock", "etf"):
        found = lookup(key)
        if found is None or not found.is_domestic or key != found.code:
            return None
        return Target(key, found) if kind == "stock" or found.kind == "etf" else None
    if kind == "index":
        proxy = lookup(INDEX_PROXY)
        return Target(key, proxy, key) if key in INDICES and proxy is not None else None
    if kind in ("futures", "stock_futures", "options"):
        wanted = {"futures": "index_future", "stock_futures": "stock_future"}.get(
            kind, "index_option"
        )
        found = lookup(key)
        ok = found is not None and found.code == key and found.kind == wanted
        return Target(key, found) if ok and found is not None else None
    if kind.startswith("overseas") and kind != "overseas_futures":
        if len(key) < 5 or key[0] not in "DR" or key[1:4] not in EXCHANGES:
            return None
        market = EXCHANGES[key[1:4]]
        if (kind == "overseas_us" and market not in _US) or (
            kind == "overseas_asia" and market in _US
        ):
            return None
        found = lookup(key[4:], market)
        return Target(key, found) if found is not None else None
    if kind == "overseas_futures":
        found = lookup(key, "CME")
        return Target(key, found) if found is not None and found.code == key else None
    if kind == "bond":
        found = lookup(key, "KRX_BONDS")
        return Target(key, found) if found is not None else None
    return None


def listed_keys(tr: RealtimeTR) -> list[str]:
    """Every key :func:`resolve` accepts for ``tr`` (tests and demos pick from these)."""
    candidates = [*INDICES, *(i.code for i in UNIVERSE)]
    candidates += [
        f"D{code}{i.code}"
        for i in UNIVERSE
        for code, market in EXCHANGES.items()
        if market == i.market and not code.startswith("BA")
    ]
    return [key for key in candidates if resolve(tr, key) is not None]
