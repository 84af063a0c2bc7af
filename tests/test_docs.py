"""The API reference under docs/apis/: in step with the catalog, complete, and its examples run.

The examples of the APIs the sandbox serves run as a reader runs them: a fresh interpreter whose
KIS_* variables point at a fresh sandbox (on the real domain for real-only APIs).

The sandbox is a market, so an order example is run as a reader would run it at KIS: while its
market is in session, on the account of the API's family (product code 03 for domestic
futures/options, 08 for overseas ones), with what the reader fills in before running it: a
listed symbol of the API's kind where the example's is not one, an order price inside today's
band where the example's is outside it or off the tick grid, a price or quantity where the
example leaves it blank, the few values the catalog gives none for (FILLED_IN), and for a
modify/cancel the number of an order placed first by the placing API's own example (a sell
first gets what it sells). Nothing else in the example is changed.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Literal

import pytest

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog
from stock_manager.cli.api_examples import example
from stock_manager.cli.api_pages import api_page, index_page, page_path, pages
from stock_manager.sandbox import KISSandbox, ManualClock
from stock_manager.sandbox.tables import APPROVAL, HASHKEY, REVOKE, ROUTES, TOKEN_PATH
from stock_manager.sandbox.universe import UNIVERSE, Instrument
from stock_manager.sandbox.walk import on_tick

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "apis"
SPECS = list(get_catalog())
EXAMPLE_TIMEOUT = 60
# What the sandbox answers today: its gateway routes (on the domains it offers them) and OAuth.
SERVED = [
    spec
    for spec in SPECS
    if spec.transport == "rest"
    and (
        spec.path in {TOKEN_PATH, REVOKE, HASHKEY, APPROVAL}
        or (spec.path in ROUTES and ROUTES[spec.path].method == spec.method)
    )
]

# --- the market an example runs in -----------------------------------------------------------
TRADING_DAY = "2026-03-10"  # a Tuesday: KRX, New York and CME all trade
NEXT_TRADING_DAY = "2026-03-11"
SEED = 7
DAY = f"{TRADING_DAY}T10:00:00+09:00"  # KRX, bonds and day futures in session
ASIA = f"{TRADING_DAY}T11:15:00+09:00"  # US daytime trading (주간거래); New York shut
NIGHT = f"{TRADING_DAY}T20:00:00+09:00"  # KRX night futures
RESERVATIONS = f"{TRADING_DAY}T17:00:00+09:00"  # KIS takes domestic reservations 16:40-08:30
US = f"{NEXT_TRADING_DAY}T00:30:00+09:00"  # New York 11:30 and CME Globex in session
# The account product code of a family's APIs (the same CANO); others use the sandbox's own.
PRODUCTS = {"/uapi/domestic-futureoption/": "03", "/uapi/overseas-futureoption/": "08"}
SYMBOL_KEYS = ("PDNO", "SHTN_PDNO", "OVRS_FUTR_FX_PDNO", "ITEM_CD")
PRICE_KEYS = (
    "ORD_UNPR",
    "OVRS_ORD_UNPR",
    "FT_ORD_UNPR3",
    "UNIT_PRICE",
    "FM_LIMIT_ORD_PRIC",
    "FM_ORD_PRIC",
    "BOND_ORD_UNPR",
)
QUANTITY_KEYS = ("ORD_QTY", "FT_ORD_QTY", "ORD_QTY2", "FM_ORD_QTY")
# What a reader fills in where the catalog gives the example no value: a code it lists none
# for, and keys KIS's sheet does not mark required though KIS (and the sandbox) needs them.
FILLED_IN = {
    "overseas-futureoption-order": {"PRIC_DVSN_CD": "1", "CCLD_CNDT_CD": "6"},
    "overseas-inquire-psamount": {"ITEM_CD": ""},
    "overseas-futureoption-inquire-psamount": {"OVRS_FUTR_FX_PDNO": ""},
    "futureoption-inquire-psbl-order": {
        "PDNO": "",
        "SLL_BUY_DVSN_CD": "02",
        "UNIT_PRICE": "",
        "ORD_DVSN_CD": "01",
    },
}
# modify/cancel -> (the API whose example places what it acts on, the key naming that order,
# the placing reply's key holding its number)
ORIGINALS = {
    "order-rvsecncl": ("order-cash", "ORGN_ODNO", "ODNO"),
    "order-resv-rvsecncl": ("order-resv", "RSVN_ORD_SEQ", "RSVN_ORD_SEQ"),
    "futureoption-order-rvsecncl": ("futureoption-order", "ORGN_ODNO", "ODNO"),
    "overseas-order-rvsecncl": ("overseas-order", "ORGN_ODNO", "ODNO"),
    "overseas-daytime-order-rvsecncl": ("overseas-daytime-order", "ORGN_ODNO", "ODNO"),
    "overseas-order-resv-ccnl": ("overseas-order-resv", "OVRS_RSVN_ODNO", "OVRS_RSVN_ODNO"),
    "overseas-futureoption-order-rvsecncl": ("overseas-futureoption-order", "ORGN_ODNO", "ODNO"),
    "bond-order-rvsecncl": ("bond-buy", "ORGN_ODNO", "ODNO"),
}
# What a modify/cancel takes over from the order it acts on, and the dates naming that order.
SAME_AS_ORIGINAL = ("PDNO", "OVRS_EXCG_CD", "ORD_QTY", "PRDT_TYPE_CD", "FM_LIMIT_ORD_PRIC")
DATE_KEYS = ("ORGN_ORD_DT", "RSVN_ORD_RCIT_DT", "RSVN_ORD_ORD_DT")
# A sell -> the API that buys what it sells first.
BUYERS = {"bond-sell": "bond-buy"}


def market_time(spec: ApiSpec) -> str:
    """A moment the market of ``spec``'s example is in session (inquiries: KRX's day)."""
    path = spec.path
    if "/domestic-futureoption/" in path:
        return NIGHT if "-ngt-" in path else DAY
    if "/domestic-stock/v1/trading/order-resv" in path:
        return RESERVATIONS
    if "/overseas-futureoption/" in path:
        return US
    if "/overseas-stock/" in path and (spec.order or spec.alias in ORIGINALS):
        # A reservation is taken only while its exchange is shut; daytime orders by day.
        return ASIA if "daytime" in path or "order-resv" in path else US
    return DAY


def account_for(spec: ApiSpec, account_no: str) -> str:
    """The configured account for ``spec``: the family's product code on the same CANO."""
    cano, product = account_no.split("-")
    return f"{cano}-{next((p for part, p in PRODUCTS.items() if part in spec.path), product)}"


def _kind(spec: ApiSpec) -> str:
    for part, kind in (
        ("/domestic-futureoption/", "index_future"),
        ("/overseas-futureoption/", "overseas_future"),
        ("/domestic-bond/", "bond"),
        ("/overseas-stock/", "overseas_stock"),
        ("/overseas-price/", "overseas_stock"),
    ):
        if part in spec.path:
            return kind
    return "stock"


def example_params(code: str) -> dict[str, str]:
    """The ``params={...}`` an example passes to ``make_request`` (empty when it has none)."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.keyword) and node.arg == "params":
            value = ast.literal_eval(node.value)
            assert isinstance(value, dict)
            return {str(k): str(v) for k, v in value.items()}
    return {}


def with_params(code: str, changes: Mapping[str, str]) -> str:
    """``code`` with each of ``changes`` written over its ``params`` line, or added to them."""
    for name, value in changes.items():
        entry = f"{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)},"

        def replaced(match: re.Match[str], entry: str = entry) -> str:
            return match.group(1) + entry

        def added(match: re.Match[str], entry: str = entry) -> str:
            return f"{match.group(0)}{match.group(1)}    {entry}\n"

        line = re.compile(rf"^(\s+){re.escape(json.dumps(name))}: .*,$", re.MULTILINE)
        code, found = line.subn(replaced, code)
        if not found:
            if "params={" not in code:
                code = code.replace("\n    )\n", "\n        params={\n        },\n    )\n", 1)
            code, found = re.subn(r"^(\s+)params=\{\n", added, code, count=1, flags=re.MULTILINE)
            assert found, f"no params block to add {name} to"
    return code


def _price(given: str, price: Decimal) -> str:
    """``price`` written as ``given`` writes prices (decimals or not)."""
    if "." in given or price != price.to_integral_value():
        return f"{price:.2f}" if price == price.quantize(Decimal("0.01")) else str(price)
    return str(int(price))


class Examples:
    """The examples of one sandbox, made playable as a reader makes them (see module docs)."""

    def __init__(self, sandbox: KISSandbox, env: Mapping[str, str], folder: Path) -> None:
        self.sandbox = sandbox
        self.env = dict(env)
        self.folder = folder

    def run(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=EXAMPLE_TIMEOUT,
            check=False,
        )

    def playable(
        self, spec: ApiSpec, *, resting: bool = False, instrument: Instrument | None = None
    ) -> tuple[str, dict[str, str]]:
        """``spec``'s example with what a reader fills in (module docs), and what that was.

        ``resting`` prices a buy below the market, so that it rests for a modify/cancel to act
        on; ``instrument`` is what a modify/cancel's order trades (its example names none).
        """
        code = example(spec)
        changes = dict(FILLED_IN.get(spec.alias, {}))
        params = {**example_params(code), **changes}
        exchange = params.get("OVRS_EXCG_CD") or None
        if not any(i.market == exchange for i in UNIVERSE):
            exchange = None  # blank, or a code of another list (NAS): any exchange
        substituted = False
        for key in SYMBOL_KEYS:
            # A blank symbol of an inquiry asks for every row: the reader leaves it so.
            blank_ok = not spec.order and key not in FILLED_IN.get(spec.alias, {})
            if key not in params or (blank_ok and not params[key].strip()):
                continue
            instrument = self.sandbox.market.lookup(params[key], exchange)
            if instrument is None or instrument.kind != _kind(spec):
                # The cheapest of its kind, so that one lot fits the demo account's cash.
                instrument = min(
                    (i for i in UNIVERSE if i.kind == _kind(spec) and exchange in (None, i.market)),
                    key=lambda i: i.base_price * i.multiplier * i.lot,
                )
                changes[key] = instrument.code
                substituted = True
        if instrument is None:
            return with_params(code, changes), changes
        snap = self.sandbox.market.snapshot(instrument)
        for key in PRICE_KEYS:
            given = params.get(key, "").strip()
            if key not in params:
                continue
            try:
                price = Decimal(given or "0")
            except InvalidOperation:
                continue
            in_band = (snap.lower is None or snap.lower <= price) and (
                snap.upper is None or price <= snap.upper
            )
            order_like = spec.order or spec.alias in ORIGINALS
            if resting:
                # Its own side's deepest level: not marketable, so it rests.
                sell = params.get("SLL_BUY_DVSN_CD") == "01"
                changes[key] = _price(given, (snap.asks if sell else snap.bids)[-1][0])
            elif not given or (
                order_like and price and not (in_band and on_tick(instrument, price))
            ):
                changes[key] = _price(given, snap.last)
            elif substituted and not order_like:
                # An inquiry's price for the example's own symbol means nothing for another.
                changes[key] = _price(given, snap.last)
        for key in QUANTITY_KEYS:
            if key in params and not params[key].strip():
                changes[key] = str(instrument.lot)
        return with_params(code, changes), changes

    def place(self, alias: str, *, resting: bool) -> tuple[dict[str, str], dict[str, str]]:
        """Run the placing API's own example (playable): its reply's output, upper-cased, and
        the params it sent."""
        code, _ = self.playable(get_catalog().get(alias), resting=resting)
        done = self.run(code)
        assert done.returncode == 0, done.stderr[-3000:]
        output = ast.literal_eval(done.stdout.strip())
        assert isinstance(output, dict), done.stdout
        return {str(k).upper(): str(v) for k, v in output.items()}, example_params(code)

    def run_prepared(self, spec: ApiSpec) -> subprocess.CompletedProcess[str]:
        return self.run(self.prepared(spec))

    def prepared(self, spec: ApiSpec) -> str:
        """The example of ``spec`` ready to run: placed-first orders included."""
        instrument = None
        if spec.alias in ORIGINALS:
            alias, key, reply_key = ORIGINALS[spec.alias]
            output, sent = self.place(alias, resting=True)
            exchange = sent.get("OVRS_EXCG_CD")
            symbol = next(sent[k] for k in SYMBOL_KEYS if k in sent)
            instrument = self.sandbox.market.lookup(symbol, exchange)
        code, _ = self.playable(spec, instrument=instrument)
        if spec.alias in BUYERS:
            self.place(BUYERS[spec.alias], resting=False)
        if spec.alias in ORIGINALS:
            changes = {key: output[reply_key]}
            params = example_params(code)
            for name in SAME_AS_ORIGINAL:
                if name in sent and (name in params or name == "FM_LIMIT_ORD_PRIC"):
                    changes[name] = sent[name]
            for name in DATE_KEYS:
                if name in params:
                    changes[name] = output.get("ORD_DT") or self.sandbox.market.now().strftime(
                        "%Y%m%d"
                    )
            code = with_params(code, changes)
        return code


def _build_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "tools" / "build_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_pages_match_the_catalog() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_check_fails_on_an_edited_a_missing_or_a_stale_page(tmp_path: Path) -> None:
    build = _build_docs()
    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.main(["--check", "--out", str(tmp_path)]) == 0
    page = tmp_path / page_path(SPECS[0])
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    (tmp_path / "stale.md").write_text("# gone\n", encoding="utf-8")
    (tmp_path / page_path(SPECS[-1])).unlink()
    expected = build.documented(get_catalog())
    assert build.differences(expected, tmp_path) == [
        f"missing: {page_path(SPECS[-1])}",
        "not generated (stale): stale.md",
        f"differs: {page_path(SPECS[0])}",
    ]
    assert build.main(["--check", "--out", str(tmp_path)]) == 1
    # Writing again repairs all three.
    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.differences(expected, tmp_path) == []


def test_one_page_per_api_and_an_index_linking_each() -> None:
    files = pages(get_catalog())
    assert len(files) == len(SPECS) + 1
    index = index_page(get_catalog())
    for spec in SPECS:
        assert f"]({page_path(spec)})" in index, spec.api_id
        assert f"`{spec.api_id}`" in index
    assert all(path.isascii() for path in files), "page paths must stay ASCII"


@pytest.mark.parametrize("spec", SPECS, ids=[spec.alias for spec in SPECS])
def test_a_page_holds_everything_the_catalog_knows(spec: ApiSpec) -> None:
    page = api_page(spec)
    assert f"`{spec.api_id}`" in page
    assert spec.path in page
    for tr in spec.tr_ids():
        assert f"`{tr}`" in page, tr
    for old, new in spec.deprecated_tr_ids.items():
        assert f"| `{old}` | `{new}` |" in page
    for param in spec.params:
        assert f"| `{param.name}` |" in page, param.name
    for block in spec.response:
        assert f"### `{block.name}`" in page
        for field in block.fields:
            assert f"`{field.name}` |" in page, (block.name, field.name)
    if not spec.paper_supported:
        assert "not offered (모의투자 미지원)" in page


@pytest.mark.parametrize("spec", SPECS, ids=[spec.alias for spec in SPECS])
def test_every_example_compiles_and_leaves_out_what_the_client_fills(spec: ApiSpec) -> None:
    code = example(spec)
    compile(code, f"<example of {spec.alias}>", "exec")
    assert f"```python\n{code}```" in api_page(spec)
    for name in ("CANO", "ACNT_PRDT_CD"):
        assert f'"{name}"' not in code
    for param in spec.params:
        if param.empty_ok and param.name in spec.paging.keys and spec.paging.form == "tr_cont":
            assert f'"{param.name}"' not in code  # a blank continuation key: the client's job
        needed = (
            param.required and not param.empty_ok and param.name not in ("CANO", "ACNT_PRDT_CD")
        )
        if needed and spec.transport == "rest" and spec.auth == "token":
            assert f'"{param.name}":' in code, f"required {param.name} missing"


def test_a_futures_account_page_names_the_account_its_example_runs_with() -> None:
    build = _build_docs()
    files = build.documented(get_catalog())
    noted = []
    for spec in SPECS:
        note = build.account_note(spec)
        product = account_for(spec, "50012345-01").split("-")[1]
        takes_account = any(param.name == "CANO" for param in spec.params)
        assert (note is not None) == (product != "01" and takes_account), spec.alias
        if note is not None:
            noted.append(spec.alias)
            assert f"`KIS_ACCOUNT_NO=<CANO>-{product}`" in note
            assert f"\n{note}\n" in files[page_path(spec)]
    assert {"futureoption-order", "overseas-futureoption-order"} <= set(noted)


def test_the_sandbox_serves_some_documented_apis() -> None:
    # Guards the selection below: an empty list would make the run test prove nothing.
    assert {spec.alias for spec in SERVED} >= {"token", "hashkey", "order-cash", "inquire-price"}


@pytest.mark.parametrize("spec", SERVED, ids=[spec.alias for spec in SERVED])
def test_example_runs_against_the_sandbox(spec: ApiSpec, tmp_path: Path) -> None:
    environment: Literal["paper", "real"] = "paper" if spec.paper_supported else "real"
    with KISSandbox(
        environment,
        issue_interval=0,
        rate_limit=0,
        seed=SEED,
        clock=ManualClock(),
        market_time=market_time(spec),
    ) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KIS_")}
        env.update(
            KIS_BASE_URL=sandbox.base_url,
            KIS_APP_KEY=sandbox.app_key,
            KIS_APP_SECRET=sandbox.app_secret,
            KIS_ACCOUNT_NO=account_for(spec, sandbox.account_no),
            KIS_ENVIRONMENT=environment,
            KIS_TOKEN_CACHE_DIR=str(tmp_path / "tokens"),
            KIS_TOKEN_ISSUE_INTERVAL="0",
            KIS_RATE_LIMIT_PER_SECOND="100",
        )
        done = Examples(sandbox, env, tmp_path).run_prepared(spec)
        assert done.returncode == 0, done.stderr[-3000:]
        assert sandbox.app_secret not in done.stdout + done.stderr
        # The block an example prints is there: None would mean the call answered nothing.
        assert not re.fullmatch(r"None\s*", done.stdout), done.stdout
