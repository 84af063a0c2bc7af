"""The generated catalog agrees with KIS's workbook, as read by a second, simple reader.

``workbook_reader.py`` reads the workbook on its own (no code shared with the generator). Every
fact compared here either agrees, or the disagreement is one the project decided on: a correction
recorded in ``tools/catalog_corrections.*`` that names the API and the values involved (the
workbook's wrong value and, where there is one, the catalog's right one). Anything else is a bug
on one side, and the assertion message says which API, which fact and both values.
"""

from __future__ import annotations

import os
import tomllib
from typing import Any

import pytest
from workbook_reader import REPEAT, REPO, TR_ID, WorkbookApi, read_workbook, workbook_path

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISPaperTradingUnsupportedError,
    KISRestClient,
    get_catalog,
)
from stock_manager.adapters.broker.kis.catalog import ApiSpec

CATALOG = get_catalog()
#: The build the catalog says it came from picks the workbook to compare with.
BUILD: str = getattr(next(iter(CATALOG)), "source", "2026-01")
WORKBOOK = workbook_path(BUILD)

if not WORKBOOK.is_file():
    if os.environ.get("CI"):
        raise FileNotFoundError(f"KIS workbook {WORKBOOK} is missing: CI must provide it")
    pytest.skip(f"KIS workbook not found at {WORKBOOK}", allow_module_level=True)

APIS = read_workbook(WORKBOOK)

#: The 18 state-changing APIs (KIS-CATALOG.md, "Orders"), by method and full path.
ORDER_ROUTES = {
    ("POST", f"/uapi/{path}")
    for path in (
        "domestic-stock/v1/trading/order-cash",
        "domestic-stock/v1/trading/order-credit",
        "domestic-stock/v1/trading/order-rvsecncl",
        "domestic-stock/v1/trading/order-resv",
        "domestic-stock/v1/trading/order-resv-rvsecncl",
        "domestic-futureoption/v1/trading/order",
        "domestic-futureoption/v1/trading/order-rvsecncl",
        "overseas-stock/v1/trading/order",
        "overseas-stock/v1/trading/order-rvsecncl",
        "overseas-stock/v1/trading/order-resv",
        "overseas-stock/v1/trading/order-resv-ccnl",
        "overseas-stock/v1/trading/daytime-order",
        "overseas-stock/v1/trading/daytime-order-rvsecncl",
        "overseas-futureoption/v1/trading/order",
        "overseas-futureoption/v1/trading/order-rvsecncl",
        "domestic-bond/v1/trading/buy",
        "domestic-bond/v1/trading/sell",
        "domestic-bond/v1/trading/order-rvsecncl",
    )
}


# --- corrections ------------------------------------------------------------------------------

#: The reviewed corrections the generator applies (tools/catalog_corrections.toml): read here as
#: plain data, so each disagreement can be matched to the correction that explains it, and the
#: catalog checked to hold the corrected value.
CORRECTIONS: dict[str, Any] = tomllib.loads(
    (REPO / "tools" / "catalog_corrections.toml").read_text(encoding="utf-8")
)


def corrections(section: str, api: WorkbookApi, spec: ApiSpec) -> list[dict[str, Any]]:
    """The ``section`` corrections that name this API (by KIS's id text, name or final id)."""
    names = {api.id_text, api.name, spec.api_id}
    return [c for c in CORRECTIONS.get(section, []) if c.get("api") in names]


def index_fix(api: WorkbookApi, spec: ApiSpec, field: str) -> dict[str, Any] | None:
    """The index correction of ``field`` for this API, if any."""
    found = [c for c in corrections("index", api, spec) if c["field"] == field]
    return found[0] if found else None


def range_names(fix: dict[str, Any]) -> set[str]:
    numbers = range(fix["first"], fix["last"] + 1)
    return {f"{fix['prefix']}{n:0{fix['width']}d}" for n in numbers} | set(fix.get("optional", ()))


# --- helpers ------------------------------------------------------------------------------------


def spec_of(api: WorkbookApi) -> ApiSpec:
    # KIS's id text resolves for every row: its own id, or (synthesized/split ids) an alias.
    return CATALOG.get(api.id_text)


def label(api: WorkbookApi) -> str:
    return f"{api.id_text} ({api.name})"


def by_api(test: Any) -> Any:
    return pytest.mark.parametrize(
        "api", APIS, ids=[f"{a.number:03d}-{a.path.rsplit('/', 1)[-1]}" for a in APIS]
    )(test)


def param_key(name: str, section: str) -> str:
    # Query names are case-insensitive on the live server (some sheets write them lower-case);
    # body keys are exact (KIS requires upper case, the OAuth bodies lower case).
    return name.upper() if section == "Request Query Parameter" else name


@pytest.fixture(scope="module")
def client() -> KISRestClient:
    return KISRestClient(KISConfig(_env_file=None))


# --- presence -----------------------------------------------------------------------------------


def test_every_workbook_api_is_in_the_catalog_once() -> None:
    assert len(APIS) == 336
    assert len(CATALOG) == len(list(CATALOG)) == len(APIS)
    specs = {id(spec_of(api)) for api in APIS}
    assert len(specs) == len(APIS), "two workbook rows resolve to the same catalog API"


@by_api
def test_kis_name_and_id_text_find_the_same_api(api: WorkbookApi) -> None:
    spec = spec_of(api)
    assert CATALOG.get(api.name) is spec, label(api)
    assert spec.name == api.name, label(api)
    if spec.api_id != api.id_text:
        assert api.id_text in spec.aliases, f"{label(api)}: KIS's id text must stay an alias"


# --- route --------------------------------------------------------------------------------------

INDEX_FIELD = {"method": "HTTP Method", "path": "URL 명", "transport": "API 통신방식"}


@by_api
def test_method_path_and_transport_agree(api: WorkbookApi) -> None:
    spec = spec_of(api)
    transport = "websocket" if api.transport == "WEBSOCKET" else "rest"
    for fact, workbook, catalog in (
        ("method", api.method, spec.method),
        ("path", api.path, spec.path),
        ("transport", transport, spec.transport),
    ):
        if workbook == catalog:
            continue
        fix = index_fix(api, spec, INDEX_FIELD[fact])
        assert fix is not None, f"{label(api)} {fact}: workbook {workbook!r}, catalog {catalog!r}"
        assert str(fix["value"]).casefold() == catalog.casefold(), (
            f"{label(api)} {fact}: corrected to {fix['value']!r}, catalog {catalog!r}"
        )


@by_api
def test_category_agrees(api: WorkbookApi) -> None:
    spec = spec_of(api)
    if spec.category == api.category:
        return
    fix = index_fix(api, spec, "메뉴 위치")
    assert fix is not None, (
        f"{label(api)} category: workbook {api.category!r}, catalog {spec.category!r}"
    )
    assert fix["expect"].strip() == api.category and fix["value"] == spec.category, (
        f"{label(api)} category: corrected to {fix['value']!r}, catalog {spec.category!r}"
    )


# --- TR_IDs -------------------------------------------------------------------------------------


def tr_fixes(api: WorkbookApi, spec: ApiSpec) -> list[dict[str, Any]]:
    return [
        c for c in corrections("index", api, spec) if c["field"] in ("실전 TR_ID", "모의 TR_ID")
    ]


@by_api
def test_index_tr_ids_are_known_to_the_api(api: WorkbookApi) -> None:
    spec = spec_of(api)
    known = spec.tr_ids() | set(spec.deprecated_tr_ids)
    for tr in (*api.tr_real, *api.tr_paper):
        if tr in known:
            continue
        fixes = [f for f in tr_fixes(api, spec) if tr in TR_ID.findall(f["expect"])]
        assert fixes, f"{label(api)}: index TR_ID {tr} is not in the catalog ({sorted(known)})"
        for fix in fixes:
            assert set(TR_ID.findall(fix["value"])) <= spec.tr_ids(), (
                f"{label(api)}: {tr} corrected to {fix['value']!r}, catalog {sorted(known)}"
            )
    for old, new in spec.deprecated_tr_ids.items():
        assert new in spec.tr_ids(), f"{label(api)}: deprecated {old} -> {new}, not current"


@by_api
def test_catalog_tr_ids_are_written_in_the_workbook(api: WorkbookApi) -> None:
    # The other direction: a TR_ID the catalog made up (a typo in a variant table, a guessed
    # V-prefix) is neither in the index nor in the sheet's tr_id row.
    spec = spec_of(api)
    written = {*api.tr_real, *api.tr_paper, *api.tr_in_sheet}
    corrected = {tr for fix in tr_fixes(api, spec) for tr in TR_ID.findall(fix["value"])}
    invented = (spec.tr_ids() | set(spec.deprecated_tr_ids)) - written - corrected
    assert not invented, f"{label(api)}: TR_IDs not in the workbook: {sorted(invented)}"


@by_api
def test_paper_support_agrees(api: WorkbookApi) -> None:
    spec = spec_of(api)
    if spec.paper_supported == api.paper_supported:
        return
    fix = index_fix(api, spec, "모의 TR_ID")
    assert fix is not None, (
        f"{label(api)} paper support: workbook {api.paper_supported} "
        f"({api.tr_paper_text!r}), catalog {spec.paper_supported}"
    )
    assert bool(TR_ID.findall(fix["value"])) == spec.paper_supported, label(api)


@by_api
def test_get_tr_id_works_on_each_domain_and_variant(
    api: WorkbookApi, client: KISRestClient
) -> None:
    spec = spec_of(api)
    variants: tuple[str | None, ...] = spec.variants or (None,)
    paper_answers = []
    for variant in variants:
        real = client.get_tr_id(spec.api_id, is_paper_trading=False, variant=variant)
        if api.tr_real:
            assert real in spec.tr_ids(), f"{label(api)} {variant}: real TR {real!r}"
        else:
            assert real is None, f"{label(api)} takes no TR_ID, got {real!r}"
        try:
            paper = client.get_tr_id(spec.api_id, is_paper_trading=True, variant=variant)
        except KISPaperTradingUnsupportedError as exc:
            assert "모의투자 미지원" in str(exc) or "paper" in str(exc), str(exc)
            assert api.tr_paper or not spec.paper_supported, label(api)
            continue
        assert spec.paper_supported, f"{label(api)}: paper TR {paper!r} though unsupported"
        if api.tr_real:
            assert paper in spec.tr_ids(), f"{label(api)} {variant}: paper TR {paper!r}"
        paper_answers.append(paper)
    if spec.paper_supported and api.tr_real:
        assert paper_answers, f"{label(api)}: paper supported, yet no variant answers on paper"
    if not spec.paper_supported:
        assert not paper_answers, label(api)


# --- parameters and fields ----------------------------------------------------------------------


@by_api
def test_required_parameters_agree(api: WorkbookApi) -> None:
    spec = spec_of(api)
    renames = {c["expect"]: c["value"] for c in corrections("param_rename", api, spec)}
    ranges = {c["expect"]: c for c in corrections("param_range", api, spec)}
    # A range (``SRS_CD_02…``) stands for codes sent only as many as asked for: every name it
    # covers is optional, the last one too though the workbook marks it required.
    in_range = {name for fix in ranges.values() for name in range_names(fix)}
    # A placeholder the workbook lists as a parameter (Hashkey's JsonBody) is not one.
    dropped = {name for c in corrections("param_drop", api, spec) for name in c["expect"]}
    section = {p.name.upper(): p.section for p in api.params}
    expected: set[str] = set()
    optional: set[str] = set()
    for p in api.params:
        # A realtime sheet lists tr_id among the body: it is the TR itself, not a parameter.
        if not p.required or (spec.transport == "websocket" and p.name == "tr_id"):
            continue
        if p.name in dropped:
            continue
        if p.name in ranges or p.name in in_range:
            optional |= in_range
            continue
        name = renames.get(p.name, p.name)
        section.setdefault(name.upper(), p.section)
        expected.add(param_key(name, p.section))
    catalog = {
        param_key(p.name, section.get(p.name.upper(), "Request Query Parameter"))
        for p in spec.params
        if p.required
    }
    assert not dropped & {p.name for p in spec.params}, f"{label(api)}: kept {dropped}"
    assert expected <= catalog, f"{label(api)}: required, not in the catalog: {expected - catalog}"
    extra = catalog - expected - optional
    assert not extra, f"{label(api)}: required in the catalog, not in the workbook: {extra}"


@by_api
def test_response_fields_agree(api: WorkbookApi) -> None:
    spec = spec_of(api)
    # KIS writes ``Output1`` for ``output1`` on a few sheets: block names compare case-blind.
    renamed = {c["expect"].casefold(): c["name"] for c in corrections("block", api, spec)}
    expected = {renamed.get(n.casefold(), n.casefold()): f for n, f in api.blocks.items()}
    for fix in corrections("realtime_fields", api, spec):
        # Live records wider than the workbook's (KIS-REALTIME.md): the fields appended.
        assert len(expected["record"]) == fix["expect_width"], label(api)
        expected["record"] = (*expected["record"], *fix["append"])
    repeats = {n for n in expected if REPEAT in n}
    fixes = corrections("block_repeat", api, spec)
    if repeats or fixes:
        # A block documented twice: the first layout is the catalog's (KIS's example).
        named = {b.casefold() for fix in fixes for b in fix["blocks"]}
        assert {n.split(REPEAT)[0] for n in repeats} == named, f"{label(api)}: {sorted(repeats)}"
        expected = {n: f for n, f in expected.items() if n not in repeats}
    catalog = {name.casefold(): tuple(fields) for name, fields in spec.blocks.items()}
    assert catalog == expected, f"{label(api)}: response blocks differ"


# --- orders -------------------------------------------------------------------------------------


def test_the_eighteen_order_apis_are_exactly_the_catalogs_orders() -> None:
    workbook_routes = {(a.method, a.path) for a in APIS}
    assert workbook_routes >= ORDER_ROUTES, sorted(ORDER_ROUTES - workbook_routes)
    orders = {(s.method, s.path) for s in CATALOG if s.order}
    assert orders == ORDER_ROUTES, (
        f"not flagged: {sorted(ORDER_ROUTES - orders)}; wrongly flagged: "
        f"{sorted(orders - ORDER_ROUTES)}"
    )
