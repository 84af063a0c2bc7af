"""Every REST API answers KIS's own request example, as KIS would (issue 15).

The examples are read from KIS's workbook by the tests' own reader (``tests/catalog``), not the
generator; the calls are raw HTTP (sandbox_helpers), not the project's client. Each API is called
with its example's values, with the names lower-cased (GET), without a custtype header, and
without its last required key; in paper, a real-only API is refused. An API whose sheet has no
example is called with its required keys (``test_every_route.required_fields``).

Orders and the inquiries with handlers act on the sandbox's market, so the walk makes their
examples playable and counts each change: the market clock stands where the API's market is in
session (the clock only moves on: KRX day, Asia, KRX night, New York); the account is the
caller's with the product code of the API's family; a symbol the sandbox does not list (expired
contracts, delisted bonds) becomes the cheapest listed one of its kind; a price outside today's
band or off the tick grid becomes the last price; a quantity off the board lot becomes one lot;
a modify/cancel first gets an order to act on, a sell the holding it sells.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import NEXT_TRADING_DAY, Caller, at, market_options, rt
from test_every_route import missing_fields, required_fields

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog
from stock_manager.sandbox import tables
from stock_manager.sandbox.app import HANDLERS
from stock_manager.sandbox.universe import UNIVERSE, Instrument
from stock_manager.sandbox.walk import on_tick

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "catalog"))
from workbook_reader import read_workbook, workbook_path

CATALOG = get_catalog()
BUILD: str = getattr(next(iter(CATALOG)), "source", "2026-01")
ACCOUNT_KEYS = ("CANO", "ACNT_PRDT_CD")
WALK = [spec for spec in CATALOG if spec.transport == "rest" and spec.auth == "token"]
ROUND_TIME = 30.0
Example = tuple[tuple[str, str], ...]


@pytest.fixture(scope="session")
def examples() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """(method, path) -> the sheet's request example pairs; the workbook is read once."""
    apis = read_workbook(workbook_path(BUILD))
    return {(api.method, api.path): api.request_example for api in apis}


def example_fields(
    spec: ApiSpec, example: tuple[tuple[str, str], ...], cano: str, product: str
) -> tuple[dict[str, str], list[str]]:
    """The fields to send for ``spec`` from its example, and what had to be changed in it.

    The account placeholders become the caller's account; a required key the example leaves
    out gets an accepted value; an example that shows a later page (``QRY_TP`` "P" with an
    ``INDEX_KEY`` KIS issued) asks for the first page instead, since a continuation value the
    sandbox did not issue is refused as KIS refuses it. POST keys are upper-case, as KIS says.
    """
    changed: list[str] = []
    fields = {name.upper() if spec.method == "POST" else name: value for name, value in example}
    upper = {name.upper(): name for name in fields}
    for key, value in zip(ACCOUNT_KEYS, (cano, product), strict=True):
        if key in upper:
            fields[upper[key]] = value
    for name, value in required_fields(spec).items():
        if name.upper() not in upper:
            fields[name] = value
            changed.append(f"added {name}")
    if spec.paging.form == "index_key":
        qry_tp = upper.get("QRY_TP")
        if qry_tp is not None and fields[qry_tp].strip().upper() == "P":
            fields[qry_tp] = "Q"
            fields[upper.get("INDEX_KEY", "INDEX_KEY")] = ""
            changed.append("first page")
    return fields, changed


def call(
    kis: Caller,
    spec: ApiSpec,
    tr_id: str,
    fields: Mapping[str, str],
    *,
    custtype: bool = True,
) -> httpx.Response:
    """``fields`` as ``spec``'s GET query or POST JSON body, with or without a custtype header."""
    headers = kis.headers(tr_id)
    if not custtype:
        del headers["custtype"]
    if spec.method == "POST":
        return kis.client.post(spec.path, json=dict(fields), headers=headers)
    return kis.client.get(spec.path, params=dict(fields), headers=headers)


def problem(spec: ApiSpec, response: httpx.Response) -> object | None:
    """What is wrong with a reply that should be KIS's success, or None."""
    if rt(response) != (200, "0", "MCA00000"):
        return response.text[:200]
    # A handler lists what the fresh account holds: nothing, as KIS answers an empty list.
    missing = missing_fields(spec, response.json(), empty_lists=spec.path in tables.ROUTES)
    return missing[:5] or None


def _tr_ids(spec: ApiSpec, paper: bool) -> list[str]:
    tr = spec.tr_id_paper if paper else spec.tr_id_real
    if tr is None:
        return []
    return [tr] if isinstance(tr, str) else sorted(set(tr.values()))


def test_the_walk_covers_the_workbook(
    examples: Mapping[tuple[str, str], tuple[tuple[str, str], ...]],
) -> None:
    assert len(WALK) == 272  # 254 inquiries and quotes, 18 order APIs
    assert len([s for s in WALK if s.order]) == 18
    with_example = [s for s in WALK if examples.get((s.method, s.path))]
    assert len(with_example) > 245


# --- the market moments the walk plays, in the order it plays them (the clock only moves on) ---
DOMESTIC_DAY = at("10:00")  # KRX, bonds and day futures in session; everything else answers
ASIA = at("11:15")  # Tokyo, Hong Kong, Shanghai, Shenzhen and Hanoi in session; US daytime
NIGHT = at("20:00")  # KRX night futures; KIS's window for domestic reservations
US = at("00:30", NEXT_TRADING_DAY)  # New York 11:30 (EDT) and CME Globex in session
MOMENTS = (DOMESTIC_DAY, ASIA, NIGHT, US)
ROLE_MARKETS = {
    "jp": "TKSE",
    "hk": "SEHK",
    "sh": "SHAA",
    "sz": "SZAA",
    "vn": "HASE",
    "asia": "SEHK",
}
PRODUCT_TYPES = {"TKSE": "515", "SEHK": "501", "SHAA": "551", "SZAA": "552", "HASE": "507"}
# Required keys an example leaves out, where the first listed code is not the one it means.
ADDED = {
    "/uapi/overseas-stock/v1/trading/order-resv": {
        "RVSE_CNCL_DVSN_CD": "00",
        "SLL_BUY_DVSN_CD": "02",
    },
    "/uapi/domestic-stock/v1/trading/order-resv-rvsecncl": {
        "ORD_DVSN_CD": "00",
        "ORD_OBJT_CBLC_DVSN_CD": "10",
        "SLL_BUY_DVSN_CD": "02",
    },
}
# What a modify/cancel takes over from the order it acts on.
SAME_AS_ORIGINAL = ("PDNO", "OVRS_EXCG_CD", "ORD_QTY", "ORD_UNPR", "PRDT_TYPE_CD")
# What a modify needs that the shared modify/cancel example leaves out: the original's price.
MODIFY_TAKES = ("FM_LIMIT_ORD_PRIC",)
PRODUCTS = {"/uapi/domestic-futureoption/": "03", "/uapi/overseas-futureoption/": "08"}
SYMBOL_KEYS = ("PDNO", "SHTN_PDNO", "OVRS_FUTR_FX_PDNO", "ITEM_CD")
PRICE_KEYS = (
    "ORD_UNPR",
    "UNIT_PRICE",
    "OVRS_ORD_UNPR",
    "FT_ORD_UNPR3",
    "FM_LIMIT_ORD_PRIC",
    "BOND_ORD_UNPR",
)
QUANTITY_KEYS = ("ORD_QTY", "FT_ORD_QTY", "ORD_QTY2", "FM_ORD_QTY")
# An API whose sheet shows no example borrows its sibling's (same body, other session).
BORROWED = {
    "/uapi/overseas-stock/v1/trading/daytime-order": "/uapi/overseas-stock/v1/trading/order",
}
# modify/cancel -> (the API that places what it acts on, the key naming it, the reply's key)
ORIGINALS = {
    "/uapi/domestic-stock/v1/trading/order-rvsecncl": (
        "/uapi/domestic-stock/v1/trading/order-cash",
        "ORGN_ODNO",
        "ODNO",
    ),
    "/uapi/domestic-stock/v1/trading/order-resv-rvsecncl": (
        "/uapi/domestic-stock/v1/trading/order-resv",
        "RSVN_ORD_SEQ",
        "RSVN_ORD_SEQ",
    ),
    "/uapi/domestic-futureoption/v1/trading/order-rvsecncl": (
        "/uapi/domestic-futureoption/v1/trading/order",
        "ORGN_ODNO",
        "ODNO",
    ),
    "/uapi/overseas-stock/v1/trading/order-rvsecncl": (
        "/uapi/overseas-stock/v1/trading/order",
        "ORGN_ODNO",
        "ODNO",
    ),
    "/uapi/overseas-stock/v1/trading/daytime-order-rvsecncl": (
        "/uapi/overseas-stock/v1/trading/daytime-order",
        "ORGN_ODNO",
        "ODNO",
    ),
    "/uapi/overseas-stock/v1/trading/order-resv-ccnl": (
        "/uapi/overseas-stock/v1/trading/order-resv",
        "OVRS_RSVN_ODNO",
        "OVRS_RSVN_ODNO",
    ),
    "/uapi/overseas-futureoption/v1/trading/order-rvsecncl": (
        "/uapi/overseas-futureoption/v1/trading/order",
        "ORGN_ODNO",
        "ODNO",
    ),
    "/uapi/domestic-bond/v1/trading/order-rvsecncl": (
        "/uapi/domestic-bond/v1/trading/buy",
        "ORGN_ODNO",
        "ODNO",
    ),
}
# A sell -> the API and role that buy what it sells first.
BUYERS = {"/uapi/domestic-bond/v1/trading/sell": ("/uapi/domestic-bond/v1/trading/buy", "default")}


def category(spec: ApiSpec) -> str:
    """The summary's category: the path's family, orders apart."""
    family = spec.path.split("/")[2]
    return f"{family} {'order' if spec.order else 'inquiry'}"


def roles(spec: ApiSpec, paper: bool) -> list[tuple[str, str]]:
    """(role, TR_ID) per TR_ID of ``spec`` on the domain, in a stable order."""
    tr = spec.tr_id_paper if paper else spec.tr_id_real
    if tr is None:
        return []
    if isinstance(tr, str):
        return [("default", tr)]
    return sorted(tr.items(), key=lambda pair: pair[1])


def moment(spec: ApiSpec, role: str) -> str:
    """When the walk calls ``spec`` as ``role``: a moment its market is in session."""
    path = spec.path
    if "/domestic-futureoption/" in path:
        return NIGHT if role == "night" or "-ngt-" in path else DOMESTIC_DAY
    if "/domestic-stock/v1/trading/order-resv" in path:
        return NIGHT
    if "/overseas-futureoption/" in path:
        return US
    if "/overseas-stock/" in path and spec.order:
        if role == "asia":
            return NIGHT  # a reservation is taken only while its exchange is shut
        asian = role.rsplit("-", 1)[-1] in ROLE_MARKETS
        return ASIA if asian or "daytime" in path or "order-resv" in path else US
    return DOMESTIC_DAY


def wanted_market(spec: ApiSpec, role: str, fields: Mapping[str, str]) -> str | None:
    """The exchange an overseas stock order of ``role`` names (None: any of the kind)."""
    if "/overseas-stock/" not in spec.path and "/overseas-price/" not in spec.path:
        return None
    suffix = role.rsplit("-", 1)[-1]
    if suffix == "us":
        return "NASD"
    if suffix in ROLE_MARKETS:
        return ROLE_MARKETS[suffix]
    given = {k.upper(): v for k, v in fields.items()}.get("OVRS_EXCG_CD", "")
    return given if given in ("NASD", "NYSE", "AMEX", "SEHK", "TKSE", "SHAA", "SZAA") else None


def listed_kind(spec: ApiSpec) -> str:
    """The instrument kind an API's symbol names."""
    for part, kind in (
        ("/domestic-futureoption/", "index_future"),
        ("/overseas-futureoption/", "overseas_future"),
        ("/domestic-bond/", "bond"),
        ("/overseas-stock/", "overseas_stock"),
    ):
        if part in spec.path:
            return kind
    return "stock"


def formatted(price: Decimal, example: str) -> str:
    """``price`` written as the example writes its price (decimals or not)."""
    if "." in example or price != price.to_integral_value():
        return f"{price:.2f}" if price == price.quantize(Decimal("0.01")) else str(price)
    return str(int(price))


class Walk:
    """The walk over every REST API on one domain, with what it had to change and why."""

    def __init__(self, kis: Caller, examples: Mapping[tuple[str, str], Example]) -> None:
        self.kis = kis
        self.paper = kis.sandbox.environment == "paper"
        self.examples = examples
        self.counts: Counter[str] = Counter()
        self.per_category: Counter[str] = Counter()
        self.full: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.failures: dict[str, object] = {}
        self.now = ""

    def spec_of(self, path: str) -> ApiSpec:
        return CATALOG.get(path)

    def example(self, spec: ApiSpec) -> Example:
        found = self.examples.get((spec.method, spec.path), ())
        if not found and spec.path in BORROWED:
            self.counts["borrowed example"] += 1
            found = self.examples.get((spec.method, BORROWED[spec.path]), ())
        return found

    def at(self, when: str) -> None:
        if when != self.now:
            self.kis.sandbox.set_market_time(when)
            self.now = when

    def fields(self, spec: ApiSpec, role: str) -> tuple[dict[str, str], list[str]]:
        """The example's fields for ``spec`` as ``role``, made playable (see module docs)."""
        product = next((p for part, p in PRODUCTS.items() if part in spec.path), "01")
        fields, changed = example_fields(spec, self.example(spec), self.kis.cano, product)
        fields.update(ADDED.get(spec.path, {}))
        if spec.order or spec.path in HANDLERS:
            changed += self._listed(spec, role, fields)
        return fields, changed

    def _listed(self, spec: ApiSpec, role: str, fields: dict[str, str]) -> list[str]:
        """Substitute a listed symbol, an in-band on-tick price and a whole board lot."""
        changed: list[str] = []
        upper = {name.upper(): name for name in fields}
        for param in spec.params:
            name = upper.get(param.name.upper())
            complete = param.codes_complete and not param.empty_ok
            if name is not None and complete and fields[name] not in param.codes:
                fields[name] = next(code for code in param.codes if code)
                changed.append("code")
                self.counts["value outside its code list"] += 1
        market = wanted_market(spec, role, fields)
        if "OVRS_EXCG_CD" in upper and market:
            fields[upper["OVRS_EXCG_CD"]] = market
        instrument = None
        for key in SYMBOL_KEYS:
            if key not in upper or not fields[upper[key]].strip():
                continue
            instrument = self.kis.sandbox.market.lookup(fields[upper[key]], market)
            if instrument is None or instrument.kind != listed_kind(spec):
                # The cheapest of the kind, so the walk's many orders fit the account's cash.
                instrument = min(
                    (
                        i
                        for i in UNIVERSE
                        if i.kind == listed_kind(spec) and market in (None, i.market)
                    ),
                    key=lambda i: i.base_price * i.multiplier * i.lot,
                )
                fields[upper[key]] = instrument.code
                changed.append("symbol")
                self.counts["symbol substituted"] += 1
        if instrument is None:
            return changed
        if "OVRS_EXCG_CD" in upper and market:
            fields[upper["OVRS_EXCG_CD"]] = instrument.market
        if "PRDT_TYPE_CD" in upper and instrument.market in PRODUCT_TYPES:
            fields[upper["PRDT_TYPE_CD"]] = PRODUCT_TYPES[instrument.market]
        if spec.order:
            changed += self._priced(instrument, fields)
        return changed

    def _priced(self, instrument: Instrument, fields: dict[str, str]) -> list[str]:
        """An in-band on-tick price and a whole board lot for an order of ``instrument``."""
        changed: list[str] = []
        upper = {name.upper(): name for name in fields}
        snap = self.kis.sandbox.market.snapshot(instrument)
        for key in PRICE_KEYS:
            if key not in upper:
                continue
            given = fields[upper[key]].strip()
            try:
                price = Decimal(given)
            except InvalidOperation:
                continue
            if price == 0:
                continue
            in_band = (snap.lower is None or snap.lower <= price) and (
                snap.upper is None or price <= snap.upper
            )
            if not in_band or not on_tick(instrument, price):
                fields[upper[key]] = formatted(snap.last, given)
                changed.append("price")
                self.counts["price substituted"] += 1
        for key in QUANTITY_KEYS:
            if key in upper and instrument.lot > 1:
                quantity = int(fields[upper[key]] or "0")
                if quantity % instrument.lot:
                    fields[upper[key]] = str(instrument.lot)
                    changed.append("board lot")
                    self.counts["quantity to a board lot"] += 1
        self._instrument = instrument
        return changed

    def placed(self, spec: ApiSpec, role: str, fields: dict[str, str]) -> None:
        """Before a modify/cancel or a sell: place what it acts on, through the API that does."""
        if spec.path in ORIGINALS:
            path, key, reply_key = ORIGINALS[spec.path]
            placing = self.spec_of(path)
            names = [r for r, _ in roles(placing, self.paper)]
            place_role = next(
                (r for r in names if r.rsplit("-", 1)[-1] == role),
                "buy" if "buy" in names else names[0],
            )
            if place_role.startswith("sell"):
                place_role = place_role.replace("sell", "buy")
            output, sent = self.order(placing, place_role, resting=True)
            upper = {name.upper(): name for name in fields}
            fields[upper.get(key, key)] = output.get(reply_key, "")
            for name in SAME_AS_ORIGINAL:
                if name in upper and name in sent:
                    fields[upper[name]] = sent[name]
            for name in MODIFY_TAKES:
                if role == "modify" and name not in upper and name in sent:
                    fields[name] = sent[name]
                    self.counts["added from the original"] += 1
            changed = self._priced(self._instrument, fields)
            self.counts["changed"] += bool(changed)
            if "ORGN_ORD_DT" in upper:
                # The order's own date (a CME session belongs to the day it started on).
                fields[upper["ORGN_ORD_DT"]] = output.get("ORD_DT", "")
            if "RSVN_ORD_ORD_DT" in upper:
                fields[upper["RSVN_ORD_ORD_DT"]] = self.kis.sandbox.market.now().strftime("%Y%m%d")
            if "RSVN_ORD_RCIT_DT" in upper:
                fields[upper["RSVN_ORD_RCIT_DT"]] = self.kis.sandbox.market.now().strftime("%Y%m%d")
            self.counts["placed first"] += 1
        elif role.startswith("sell") or spec.path in BUYERS:
            path, buy_role = BUYERS.get(spec.path, (spec.path, role.replace("sell", "buy")))
            self.order(self.spec_of(path), buy_role, resting=False)
            self.counts["bought first"] += 1

    def order(
        self, spec: ApiSpec, role: str, *, resting: bool
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Place ``spec``'s example as ``role``, resting below the market or marketable:
        (the reply's output, the fields sent), both keyed upper-case."""
        tr_id = dict(roles(spec, self.paper))[role]
        fields, _ = self.fields(spec, role)
        snap = self.kis.sandbox.market.snapshot(self._instrument)
        price = snap.bids[-1][0] if resting else snap.asks[-1][0]
        upper = {name.upper(): name for name in fields}
        for key in PRICE_KEYS:
            if key in upper:
                fields[upper[key]] = formatted(price, fields[upper[key]])
        response = call(self.kis, spec, tr_id, fields)
        if rt(response) != (200, "0", "MCA00000"):
            self.failures[f"{spec.api_id} {tr_id} placing first"] = response.text[:200]
            return {}, {}
        output: dict[str, str] = {k.upper(): v for k, v in response.json()["output"].items()}
        return output, {k.upper(): v for k, v in fields.items()}

    def walk(self, spec: ApiSpec, role: str, tr_id: str, first: bool) -> None:
        """Call ``spec`` as ``role``: in full, then (first TR_ID) lower-case, no custtype,
        and without its last required key."""
        self.at(moment(spec, role))
        fields, changed = self.fields(spec, role)
        self.counts["changed"] += bool(changed)
        self.per_category[category(spec)] += first
        self.placed(spec, role, fields)
        self.counts["calls"] += 1
        trouble = problem(spec, call(self.kis, spec, tr_id, fields))
        if trouble:
            self.failures[f"{spec.api_id} {tr_id}"] = trouble
        elif first:
            self.full[category(spec)] += 1
        if not first:
            return
        if spec.method == "GET":
            lower = {name.lower(): value for name, value in fields.items()}
            self.counts["calls"] += 1
            if trouble := problem(spec, call(self.kis, spec, tr_id, lower)):
                self.failures[f"{spec.api_id} {tr_id} lower-case"] = trouble
        self.placed(spec, role, fields)
        self.counts["calls"] += 1
        if trouble := problem(spec, call(self.kis, spec, tr_id, fields, custtype=False)):
            self.failures[f"{spec.api_id} {tr_id} no custtype"] = trouble
        required = [p.name for p in spec.params if p.required]
        if required:
            dropped = {k: v for k, v in fields.items() if k.upper() != required[-1].upper()}
            response = call(self.kis, spec, tr_id, dropped)
            self.counts["calls"] += 1
            if (
                rt(response) != (500, "1", "OPSQ2001")
                or required[-1].upper() not in response.json()["msg1"]
            ):
                self.failures[f"{spec.api_id} {tr_id} without {required[-1]}"] = response.text[:200]

    def refused_in_paper(self, spec: ApiSpec) -> None:
        fields, _ = self.fields(spec, "default")
        response = call(self.kis, spec, roles(spec, False)[0][1], fields)
        self.counts["calls"] += 1
        self.counts["refused in paper"] += 1
        self.per_category[category(spec)] += 1
        if rt(response) != (500, "1", "OPSQ0003"):
            self.failures[f"{spec.api_id} paper"] = response.text[:200]
        else:
            self.refused[category(spec)] += 1

    def run(self) -> None:
        units = []
        for spec in WALK:
            self.counts["example" if self.example(spec) else "no example"] += 1
            pairs = roles(spec, self.paper)
            if not pairs:
                self.refused_in_paper(spec)
                continue
            for index, (role, tr_id) in enumerate(pairs):
                units.append((MOMENTS.index(moment(spec, role)), spec, role, tr_id, index == 0))
        for _, spec, role, tr_id, first in sorted(units, key=lambda u: u[0]):
            self.walk(spec, role, tr_id, first)


@pytest.mark.parametrize("environment", ["real", "paper"])
def test_every_api_answers_its_workbook_example(
    caller_for: Callable[..., Caller],
    examples: Mapping[tuple[str, str], Example],
    environment: str,
) -> None:
    kis = caller_for(environment, **market_options("10:00"))
    started = time.monotonic()
    walk = Walk(kis, examples)
    walk.run()
    print(f"\nworkbook examples, {environment}: {dict(walk.counts)}")
    for name in sorted(walk.per_category):
        print(
            f"  {name}: {walk.per_category[name]} walked, {walk.full[name]} answered in full,"
            f" {walk.refused[name]} refused in paper"
        )
    assert walk.failures == {}, "\n".join(f"{k}: {v}" for k, v in walk.failures.items())
    assert sum(walk.per_category.values()) == len(WALK) == 272
    assert walk.full + walk.refused == walk.per_category
    assert sum(walk.full.values()) == (272 if environment == "real" else 38)
    assert walk.counts["example"] > 245
    assert walk.counts["calls"] > (1000 if environment == "real" else 300)
    assert time.monotonic() - started < ROUND_TIME


def test_a_value_outside_the_code_list_is_refused(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    spec = CATALOG.get("/uapi/overseas-price/v1/quotations/price-detail")
    coded = next(p for p in spec.params if p.required and p.codes_complete)
    fields = {**required_fields(spec), coded.name: "ZZ?"}
    response = call(kis, spec, _tr_ids(spec, False)[0], fields)
    assert rt(response) == (200, "1", "OPSQ2002"), response.text
    assert response.json()["msg1"] == f"입력값이 올바르지 않습니다. ({coded.name.upper()}='ZZ?')"
