"""The API catalog and get_tr_id (no network).

Expected TR_IDs are written out here from KIS's published TR_ID table (and KIS-CATALOG.md),
independently of the generated data, so a typo on either side fails. Every correction in
tools/catalog_corrections.toml has its own test case asserting the corrected fact in the catalog.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISPaperTradingUnsupportedError,
    KISRestClient,
    KISUnknownAPIError,
    KISVariantError,
    get_catalog,
)

# (api_id, variant, real, paper); paper None = not offered in paper trading.
TR_TABLE = [
    ("v1_국내주식-001", "sell", "TTTC0011U", "VTTC0011U"),
    ("v1_국내주식-001", "buy", "TTTC0012U", "VTTC0012U"),
    ("v1_국내주식-003", None, "TTTC0013U", "VTTC0013U"),
    ("v1_국내주식-002", "sell", "TTTC0051U", None),
    ("v1_국내주식-002", "buy", "TTTC0052U", None),
    ("v1_국내주식-017", None, "CTSC0008U", None),
    ("v1_국내주식-006", None, "TTTC8434R", "VTTC8434R"),
    ("v1_국내주식-007", None, "TTTC8908R", "VTTC8908R"),
    ("v1_국내주식-005", "recent", "TTTC0081R", "VTTC0081R"),
    ("v1_국내주식-005", "older", "CTSC9215R", "VTSC9215R"),
    ("v1_국내주식-008", None, "FHKST01010100", "FHKST01010100"),
    ("v1_해외주식-001", "buy", "TTTT1002U", "VTTT1002U"),
    ("v1_해외주식-001", "sell", "TTTT1006U", "VTTT1001U"),
    ("v1_해외주식-003", None, "TTTT1004U", "VTTT1004U"),
]

OAUTH = [
    ("인증-001", "POST", "/oauth2/tokenP"),
    ("인증-002", "POST", "/oauth2/revokeP"),
    ("Hashkey", "POST", "/uapi/hashkey"),
    ("실시간-000", "POST", "/oauth2/Approval"),
]


@pytest.fixture
def client() -> KISRestClient:
    # No credentials: catalog look-ups must work without them.
    return KISRestClient(KISConfig(_env_file=None))


@pytest.mark.parametrize(("api_id", "variant", "real", "paper"), TR_TABLE)
def test_tr_ids_match_the_protocol_table(
    client: KISRestClient, api_id: str, variant: str | None, real: str, paper: str | None
) -> None:
    assert client.get_tr_id(api_id, is_paper_trading=False, variant=variant) == real
    if paper is None:
        with pytest.raises(KISPaperTradingUnsupportedError, match="모의투자 미지원"):
            client.get_tr_id(api_id, is_paper_trading=True, variant=variant)
    else:
        assert client.get_tr_id(api_id, is_paper_trading=True, variant=variant) == paper


@pytest.mark.parametrize(("api_id", "method", "path"), OAUTH)
def test_oauth_apis_take_no_tr_id_and_are_not_rate_limited(
    client: KISRestClient, api_id: str, method: str, path: str
) -> None:
    spec = get_catalog().get(api_id)
    assert (spec.method, spec.path) == (method, path)
    assert not spec.rate_limited
    assert not spec.needs_token
    assert not spec.order
    assert client.get_tr_id(api_id, is_paper_trading=False) is None
    assert client.get_tr_id(api_id, is_paper_trading=True) is None


def test_seed_call_hashkey_has_no_tr_id(client: KISRestClient) -> None:
    assert client.get_tr_id(api_id="Hashkey", is_paper_trading=False) is None


def test_none_means_the_configured_environment() -> None:
    paper = KISRestClient(KISConfig(_env_file=None, environment="paper"))
    real = KISRestClient(KISConfig(_env_file=None, environment="real"))
    assert paper.get_tr_id("inquire-balance") == "VTTC8434R"
    assert real.get_tr_id("inquire-balance") == "TTTC8434R"


def test_aliases_and_ids_reach_the_same_api() -> None:
    catalog = get_catalog()
    assert catalog.get("order-cash") is catalog.get("v1_국내주식-001")
    assert catalog.get("TOKEN") is catalog.get("인증-001")
    assert catalog.get("hashkey") is catalog.get("Hashkey")


def test_unknown_api_suggests_close_names(client: KISRestClient) -> None:
    with pytest.raises(KISUnknownAPIError) as caught:
        client.get_tr_id("order-csh")
    assert "order-cash" in caught.value.suggestions
    assert "order-cash" in str(caught.value)


def test_missing_variant_lists_the_variants(client: KISRestClient) -> None:
    with pytest.raises(KISVariantError) as caught:
        client.get_tr_id("order-cash", is_paper_trading=True)
    assert set(caught.value.variants) == {"buy", "sell"}
    assert "buy" in str(caught.value)
    assert "sell" in str(caught.value)
    with pytest.raises(KISVariantError, match="recent"):
        client.get_tr_id("inquire-daily-ccld", is_paper_trading=False, variant="yesterday")
    with pytest.raises(KISVariantError, match="single TR_ID"):
        client.get_tr_id("inquire-balance", variant="buy")
    with pytest.raises(KISVariantError, match="no TR_ID"):
        client.get_tr_id("Hashkey", variant="buy")


def test_find_by_route_and_search() -> None:
    catalog = get_catalog()
    spec = catalog.find("post", "/uapi/domestic-stock/v1/trading/order-cash")
    assert spec is not None
    assert spec.alias == "order-cash"
    assert catalog.find("GET", "/uapi/domestic-stock/v1/trading/order-cash") is None
    assert catalog.find("GET", "/uapi/nowhere") is None
    found = {s.alias for s in catalog.search("잔고")}
    assert {"inquire-balance", "overseas-inquire-balance"} <= found
    assert [s.alias for s in catalog.search("VTTC8434R")] == ["inquire-balance"]
    oauth = catalog.search(category="OAuth")
    assert {s.api_id for s in oauth} == {row[0] for row in OAUTH}


def test_every_entry_is_consistent() -> None:
    catalog = get_catalog()
    assert len(catalog) >= len({row[0] for row in TR_TABLE}) + len(OAUTH)
    aliases = [spec.alias for spec in catalog]
    assert len(aliases) == len(set(aliases))
    for spec in catalog:
        assert spec.path.startswith("/"), spec.api_id
        assert spec.method in ("GET", "POST"), spec.api_id
        if spec.order:
            assert spec.method == "POST", spec.api_id
        if spec.needs_token:
            assert spec.rate_limited, spec.api_id
            assert spec.has_tr_id, spec.api_id
        if spec.has_tr_id:
            real_ids = spec.tr_id_real
            assert real_ids, spec.api_id
            # A paper TR_ID is never blank: it is an id, a variant map, or "not supported".
            assert spec.paper_supported == (spec.tr_id_paper is not None), spec.api_id


# --- the generated catalog: all of KIS --------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
CORRECTIONS = tomllib.loads((ROOT / "tools" / "catalog_corrections.toml").read_text("utf-8"))
WORKBOOKS = sorted((ROOT.parent / "shared" / "kis").glob("kis-openapi-workbook-*.xlsx"))
needs_workbook = pytest.mark.skipif(
    not WORKBOOKS and os.environ.get("CI", "").lower() not in ("true", "1"),
    reason="KIS's workbook is not under ../shared/kis/ (CI has it)",
)

# (key, paper, variant, expected TR_ID): at least one API per category and every variant kind.
CATEGORY_TR_TABLE = [
    ("token", False, None, None),  # OAuth인증
    ("inquire-balance", True, None, "VTTC8434R"),  # [국내주식] 주문/계좌
    ("inquire-price", True, None, "FHKST01010100"),  # [국내주식] 기본시세
    ("elw-newly-listed", False, None, "FHKEW154800C0"),  # [국내주식] ELW 시세
    ("chk-holiday", False, None, "CTCA0903R"),  # [국내주식] 업종/기타
    ("search-stock-info", False, None, "CTPF1002R"),  # [국내주식] 종목정보
    ("국내주식-FHPTJ04160001", False, None, "FHPTJ04160001"),  # [국내주식] 시세분석
    ("volume-rank", False, None, "FHPST01710000"),  # [국내주식] 순위분석
    ("realtime-stock-ccnl-krx", True, None, "H0STCNT0"),  # [국내주식] 실시간시세
    ("futureoption-order", False, "night", "STTN1101U"),  # [국내선물옵션] 주문/계좌 (day/night)
    ("futureoption-order", True, "day", "VTTO1101U"),
    ("futureoption-inquire-price", True, None, "FHMIF10000000"),  # [국내선물옵션] 기본시세
    ("realtime-night-option-notice", False, None, "H0EUCNI0"),  # [국내선물옵션] 실시간시세
    ("overseas-order", True, "sell", "VTTT1001U"),  # [해외주식] 주문/계좌 (buy/sell)
    ("overseas-order", False, "buy-jp", "TTTS0308U"),  # per exchange
    ("overseas-order", True, "sell-hk", "VTTS1001U"),
    ("overseas-order-rvsecncl", False, "sz", "TTTS0306U"),  # modify/cancel per exchange
    ("overseas-order-rvsecncl", True, None, "VTTT1004U"),  # default variant: the US
    ("overseas-order-resv-list", False, "asia", "TTTS3014R"),
    ("overseas-price", False, None, "HHDFS00000300"),  # [해외주식] 기본시세
    ("overseas-trade-vol", False, None, "HHDFS76310010"),  # [해외주식] 시세분석
    ("realtime-overseas-notice", True, None, "H0GSCNI9"),  # [해외주식] 실시간시세
    ("overseas-futureoption-order", False, None, "OTFM3001U"),  # [해외선물옵션] 주문/계좌
    ("overseas-futureoption-order-rvsecncl", False, "cancel", "OTFM3003U"),  # modify/cancel
    (
        "overseas-futureoption-inquire-price",
        False,
        None,
        "HHDFC55010000",
    ),  # [해외선물옵션] 기본시세
    ("realtime-overseas-futureoption-ccnl", False, None, "HDFFF020"),  # [해외선물옵션]실시간시세
    ("bond-buy", False, None, "TTTC0952U"),  # [장내채권] 주문/계좌
    ("bond-inquire-price", False, None, "FHKBJ773400C0"),  # [장내채권] 기본시세
    ("realtime-bond-asking-price", False, None, "H0BJASP0"),  # [장내채권] 실시간시세
    ("inquire-daily-ccld", False, "older", "CTSC9215R"),  # recent/older
    ("pension-inquire-daily-ccld", False, "integrated", "TTTC2210R"),  # KRX / KRX+NXT/SOR
    ("order-resv-rvsecncl", False, "modify", "CTSC0013U"),  # cancel/modify
]


@pytest.mark.parametrize(("key", "paper", "variant", "expected"), CATEGORY_TR_TABLE)
def test_get_tr_id_covers_every_category_and_variant_kind(
    client: KISRestClient, key: str, paper: bool, variant: str | None, expected: str | None
) -> None:
    assert client.get_tr_id(key, is_paper_trading=paper, variant=variant) == expected


def test_a_real_only_variant_asked_for_paper_says_paper_is_unsupported(
    client: KISRestClient,
) -> None:
    # Night futures orders exist on the real domain only: the answer is "not in paper", not
    # "no such variant" (which would send the user looking for a typo).
    with pytest.raises(KISPaperTradingUnsupportedError, match=r"'night'.*모의투자 미지원"):
        client.get_tr_id("futureoption-order", is_paper_trading=True, variant="night")
    with pytest.raises(KISVariantError, match="choose one of day"):
        client.get_tr_id("futureoption-order", is_paper_trading=True, variant="evening")


def test_a_block_documented_twice_keeps_the_layout_of_kis_example() -> None:
    blocks = get_catalog().get("국내선물-024").blocks
    assert blocks["output2"] == ("cash_amt", "sbst_amt", "tot_amt")
    assert blocks["output3"][0] == "base_dpsa_gdat_grad_cd"


def _param(key: str, name: str) -> Any:
    return next(p for p in get_catalog().get(key).params if p.name == name)


def test_code_lists_are_complete_only_where_sure() -> None:
    division = _param("order-cash", "ORD_DVSN")
    assert division.codes_complete and len(division.codes_by_venue["NXT"]) == 13
    # several codes on one line, each its own code
    exchange = _param("overseas-trade-vol", "EXCD")
    assert {"NYS", "NAS", "AMS", "HKS", "TSE"} <= set(exchange.codes)
    # written meaning-first ("KRX : J , NXT : NX, 통합 : UN"): never a closed list of KRX/NXT
    assert not _param("comp-program-trade-today", "FID_COND_MRKT_DIV_CODE").codes_complete
    # "N: 해외지수, X 환율" hides code X in a meaning: open
    assert not _param("overseas-inquire-daily-chartprice", "FID_COND_MRKT_DIV_CODE").codes_complete
    # an index list names some of many indices
    assert not _param("exp-index-trend", "FID_INPUT_ISCD").codes_complete
    # a code list followed by prose ("→ 미입력시 01 ...") is open, and gives the default
    sell_type = _param("order-cash", "SLL_TYPE")
    assert (sell_type.codes_complete, sell_type.default) == (False, "01")


def test_codes_written_in_other_shapes_are_read() -> None:
    # "J:KRX, NX:NXT, UN:통합": code first, several on a line
    market = _param("inquire-price", "FID_COND_MRKT_DIV_CODE")
    assert dict(market.codes) == {"J": "KRX", "NX": "NXT", "UN": "통합"}
    # "00 : 전체 / 01 : 매도 / 02 : 매수": several on a line, split at " / "
    side = _param("inquire-daily-ccld", "SLL_BUY_DVSN_CD")
    assert dict(side.codes) == {"00": "전체", "01": "매도", "02": "매수"} and side.codes_complete
    # "00 전체\n01 체결\n02 미체결": code, blanks, meaning
    assert dict(_param("inquire-daily-ccld", "CCLD_DVSN").codes) == {
        "00": "전체",
        "01": "체결",
        "02": "미체결",
    }
    assert dict(_param("inquire-daily-ccld", "INQR_DVSN").codes) == {"00": "역순", "01": "정순"}
    # "없음: 전체": the empty value comes first, and the key may be sent empty
    first = _param("inquire-daily-ccld", "INQR_DVSN_1")
    assert list(first.codes) == ["", "1", "2"] and first.empty_ok
    # "[매도] 22 : ..., [매수] 21 : ...": the side label is not part of the code; per side, open
    credit = _param("order-credit", "CRDT_TYPE")
    assert set(credit.codes) == {"21", "22", "23", "24", "25", "26", "27", "28"}
    assert not credit.codes_complete
    # spaced 3-digit identifiers (product types) name some of many: open
    assert not _param("search-info", "PRDT_TYPE_CD").codes_complete
    # "공란 : 최초 조회시" alone is prose, not a code list
    assert dict(_param("inquire-balance", "CTX_AREA_FK100").codes) == {}


@pytest.mark.parametrize(
    ("key", "name", "default"),
    [
        ("inquire-balance", "AFHR_FLPR_YN", "N"),  # "N : 기본값,"
        ("inquire-balance", "UNPR_DVSN", "01"),  # "01 : 기본값"
        ("inquire-time-indexchartprice", "FID_ETC_CLS_CODE", "0"),  # "0: 기본 1:장마감"
        ("foreign-institution-total", "FID_COND_MRKT_DIV_CODE", "V"),  # "V(Default)"
        ("overseas-order", "ORD_SVR_DVSN_CD", "0"),  # '"0"(Default)'
        ("inquire-time-overtimeconclusion", "FID_HOUR_CLS_CODE", "1"),  # "1 : 시간외 (Default)"
        ("overseas-inquire-ccnl", "SORT_SQN", "DS"),  # "(Default : DS(정순))"
        ("order-cash", "SLL_TYPE", "01"),  # "미입력시 01"
        ("overseas-futureoption-tick-ccnl", "QRY_TP", "Q"),  # index_key paging: Q first
    ],
)
def test_stated_defaults_are_read(key: str, name: str, default: str) -> None:
    assert _param(key, name).default == default


def test_no_default_where_none_is_stated() -> None:
    # "한국거래소 : KRX ... ALL : 전체": no "미입력시" and no "기본값": required, no default
    venue = _param("inquire-daily-ccld", "EXCG_ID_DVSN_CD")
    assert venue.required and venue.default is None
    # "공란(Default)" is the empty value, not a default named "공란"
    assert _param("futureoption-inquire-ccnl", "MKET_ID_CD").default is None


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("overseas-order", "OVRS_ORD_UNPR"),  # 공란으로 비우지 않음 "0"으로 입력
        ("overseas-daytime-order", "OVRS_ORD_UNPR"),
        ("order-credit", "ORD_UNPR"),  # ... "0"으로 입력 권고
        ("order-resv", "ORD_UNPR"),
        ("futureoption-order-rvsecncl", "ORD_QTY"),  # (공백 불가)
        ("bond-sell", "ORD_DVSN"),  # "공백입력" is about other keys, inside a code's meaning
        ("inquire-daily-itemchartprice", "FID_INPUT_DATE_1"),  # cursors: the caller's choice
        ("inquire-daily-itemchartprice", "FID_INPUT_DATE_2"),
        ("inquire-time-itemchartprice", "FID_INPUT_HOUR_1"),
        ("overseas-futureoption-tick-ccnl", "QRY_TP"),  # "Q" first: a default, not empty
    ],
)
def test_keys_kis_refuses_empty_are_not_empty_ok(key: str, name: str) -> None:
    param = _param(key, name)
    assert param.required and not param.empty_ok


def test_continuation_keys_are_sent_empty_as_the_workbook_marks_them() -> None:
    # 주식잔고조회 marks CTX_AREA_FK100/NK100 Required=N (KIS-CATALOG.md says continuation
    # keys are Y; this sheet does not): the data says N, and they still go empty first.
    for name in ("CTX_AREA_FK100", "CTX_AREA_NK100"):
        param = _param("inquire-balance", name)
        assert (param.required, param.empty_ok) == (False, True)
        daily = _param("inquire-daily-ccld", name)
        assert (daily.required, daily.empty_ok) == (True, True)
    keyb = _param("overseas-inquire-search", "KEYB")
    assert keyb.empty_ok


def test_the_table_reaches_every_category() -> None:
    catalog = get_catalog()
    reached = {catalog.get(row[0]).category for row in CATEGORY_TR_TABLE}
    assert reached == {spec.category for spec in catalog}


def test_all_of_kis_is_there() -> None:
    catalog = get_catalog()
    specs = list(catalog)
    assert len(catalog) == len(specs) == 336
    assert sum(spec.transport == "websocket" for spec in specs) == 60
    assert len({spec.api_id for spec in specs}) == 336
    assert {spec.source for spec in specs} == {"2026-01"}
    assert sum(spec.order for spec in specs) == 18
    # 43 APIs have a paper TR in this build; the others are real-only or take no TR_ID.
    assert sum(spec.has_tr_id and spec.paper_supported for spec in specs) == 43


def test_realtime_trs_have_one_record_block_and_take_an_approval_key() -> None:
    spec = get_catalog().get("H0STCNI0")
    assert (spec.transport, spec.auth, spec.needs_token) == ("websocket", "approval", False)
    assert list(spec.blocks) == ["record"]
    assert spec.blocks["record"][:3] == ("CUST_ID", "ACNT_NO", "ODER_NO")
    assert spec.tr_id_for(paper=True) == "H0STCNI9"
    with pytest.raises(KISPaperTradingUnsupportedError):
        get_catalog().get("H0UNCNT0").tr_id_for(paper=True)


def test_lookup_by_korean_name_tr_id_and_kis_text() -> None:
    catalog = get_catalog()
    assert catalog.get("주식주문(현금)") is catalog.get("order-cash")
    assert catalog.get("TTTC8434R") is catalog.get("inquire-balance")
    assert catalog.get("ttts0308u") is catalog.get("overseas-order")
    # a deprecated TR_ID reaches the API whose successor it is
    assert catalog.get("TTTC0802U") is catalog.get("order-cash")
    assert catalog.get("JTCE6001R") is catalog.get("futureoption-inquire-ngt-balance")
    assert {s.alias for s in catalog.search("holiday")} >= {
        "chk-holiday",
        "overseas-countries-holiday",
    }
    assert "chk-holiday" in {s.alias for s in catalog.search("휴장일")}


def test_params_blocks_and_paging_come_from_the_workbook() -> None:
    catalog = get_catalog()
    balance = catalog.get("inquire-balance")
    assert [p.name for p in balance.params][:2] == ["CANO", "ACNT_PRDT_CD"]
    assert balance.paging.form == "tr_cont"
    assert balance.paging.keys == ("CTX_AREA_FK100", "CTX_AREA_NK100")
    assert (balance.paging.rows_real, balance.paging.rows_paper) == (50, 20)
    assert [b.shape for b in balance.response if b.name in ("output1", "output2")] == ["array"] * 2
    order = catalog.get("order-cash")
    division = next(p for p in order.params if p.name == "ORD_DVSN")
    assert division.required
    assert division.codes["00"] == "지정가"
    assert set(division.codes_by_venue) == {"KRX", "NXT", "SOR"}
    assert "01" in division.codes_by_venue["SOR"] and "01" not in division.codes_by_venue["NXT"]
    exchange = next(p for p in order.params if p.name == "EXCG_ID_DVSN_CD")
    assert (exchange.required, exchange.default) == (False, "KRX")
    sell_type = next(p for p in order.params if p.name == "SLL_TYPE")
    assert sell_type.codes == {"01": "일반매도", "02": "임의매매", "05": "대차매도"}
    assert catalog.get("overseas-trade-vol").paging.form == "keyb"
    assert catalog.get("overseas-futureoption-opt-tick-ccnl").paging.form == "index_key"
    minute = catalog.get("inquire-time-itemchartprice")
    assert (minute.paging.form, minute.paging.keys) == ("cursor", ("FID_INPUT_HOUR_1",))
    assert not minute.paged


# --- every correction, asserted in the loaded catalog -----------------------------------------


def _check_index(fix: dict[str, Any]) -> None:
    spec = get_catalog().get(fix["value"] if fix["field"] == "API ID" else fix["api"])
    if fix["field"] == "API ID":
        assert spec.api_id == fix["value"]
        assert fix["expect"].strip() in spec.aliases
        assert get_catalog().get(fix["expect"]) is spec
    elif fix["field"] == "API 통신방식":
        assert spec.transport == fix["value"].lower()
    elif fix["field"] == "실전 TR_ID":
        # the exact TR (no stray whitespace), and not the one the workbook wrote
        assert spec.tr_id_for(paper=False) == fix["value"]
        assert fix["expect"] not in spec.tr_ids()
    elif fix["field"] == "모의 TR_ID":
        assert not spec.paper_supported
    elif fix["field"] == "메뉴 위치":
        assert spec.category == fix["value"]
        assert len(get_catalog().search(category=fix["value"])) >= 4
    else:
        raise AssertionError(f"no test for index field {fix['field']}")


def _check_confirm(fix: dict[str, Any]) -> None:
    assert get_catalog().get(fix["api"]).tr_id_for(paper=True) == fix["expect"]


def _check_tr_variants(fix: dict[str, Any]) -> None:
    spec = get_catalog().get(fix["api"])
    for paper, table in ((False, fix["real"]), (True, fix.get("paper"))):
        if table is None:
            assert not spec.paper_supported
        elif isinstance(table, str):
            assert spec.tr_id_for(paper) == table
        else:
            assert {v: spec.tr_id_for(paper, v) for v in table} == table


def _check_deprecated(fix: dict[str, Any]) -> None:
    spec = get_catalog().get(fix["api"])
    assert spec.deprecated_tr_ids[fix["old"]] == fix["new"]
    assert fix["new"] in spec.tr_ids() and fix["old"] not in spec.tr_ids()


def _check_param_rename(fix: dict[str, Any]) -> None:
    names = [p.name for p in get_catalog().get(fix["api"]).params]
    assert fix["value"] in names and fix["expect"] not in names


def _check_param_drop(fix: dict[str, Any]) -> None:
    assert get_catalog().get(fix["api"]).params == ()


def _check_param_range(fix: dict[str, Any]) -> None:
    params = {p.name: p for p in get_catalog().get(fix["api"]).params}
    width, prefix = fix["width"], fix["prefix"]
    for number in range(fix["first"], fix["last"] + 1):
        assert not params[f"{prefix}{number:0{width}d}"].required
    assert fix["expect"] not in params
    assert params[f"{prefix}{1:0{width}d}"].required


def _check_block(fix: dict[str, Any]) -> None:
    spec = get_catalog().get(fix["api"])
    block = next(b for b in spec.response if b.name == fix["name"])
    assert block.shape == fix["shape"]
    if "first_field" in fix:
        # A swap: each name now heads the other layout.
        assert block.fields[0].name == fix["first_field"]
    else:
        assert fix["expect"] == fix["name"] or fix["expect"] not in spec.blocks


def _check_block_repeat(fix: dict[str, Any]) -> None:
    # Each block once, with the first layout's fields (test_a_block_documented_twice_...).
    response = get_catalog().get(fix["api"]).response
    names = [b.name for b in response]
    assert len(names) == len(set(names)) and set(fix["blocks"]) <= set(names)


def _check_param_default(fix: dict[str, Any]) -> None:
    param = _param(fix["api"], fix["param"])
    assert param.default == fix["value"] and param.description == fix["expect"]
    assert fix["value"] in param.codes and param.required


def _check_realtime_fields(fix: dict[str, Any]) -> None:
    spec = get_catalog().get(fix["api"])
    record = spec.blocks["record"]
    assert len(record) == fix["expect_width"] + len(fix["append"])
    assert record[-len(fix["append"]) :] == tuple(fix["append"])
    # The documented width stays known: KIS may still send records that narrow.
    (block,) = spec.response
    assert block.documented_width == fix["expect_width"]


def test_only_widened_realtime_records_carry_a_documented_width() -> None:
    widened = {
        spec.tr_id_real
        for spec in get_catalog()
        if any(block.documented_width is not None for block in spec.response)
    }
    assert widened == {"H0STASP0"}


def _check_auth(fix: dict[str, Any]) -> None:
    spec = get_catalog().get(fix["api"])
    assert spec.auth == fix["value"] and not spec.needs_token and not spec.has_tr_id


def _check_order(fix: dict[str, Any]) -> None:
    spec = get_catalog().find(fix["method"], fix["path"])
    assert spec is not None and spec.order


def _check_alias(fix: dict[str, Any]) -> None:
    assert get_catalog().get(fix["alias"]) is get_catalog().get(fix["api"])


CHECKS = {
    "index": _check_index,
    "confirm": _check_confirm,
    "tr_variants": _check_tr_variants,
    "deprecated": _check_deprecated,
    "param_rename": _check_param_rename,
    "param_drop": _check_param_drop,
    "param_range": _check_param_range,
    "block": _check_block,
    "block_repeat": _check_block_repeat,
    "param_default": _check_param_default,
    "realtime_fields": _check_realtime_fields,
    "auth": _check_auth,
    "order": _check_order,
    "alias": _check_alias,
}
CORRECTION_CASES = [
    pytest.param(section, fix, id=f"{section}-{fix.get('api', fix.get('path'))}-{n}")
    for section, fixes in CORRECTIONS.items()
    if isinstance(fixes, list)
    for n, fix in enumerate(fixes)
]


def test_every_correction_kind_has_a_check() -> None:
    sections = {k for k, v in CORRECTIONS.items() if isinstance(v, list)}
    assert sections == set(CHECKS)
    for fixes in CORRECTIONS.values():
        for fix in fixes if isinstance(fixes, list) else ():
            assert fix["reason"].strip() and fix["evidence"].strip(), fix


@pytest.mark.parametrize(("section", "fix"), CORRECTION_CASES)
def test_correction_holds_in_the_catalog(section: str, fix: dict[str, Any]) -> None:
    CHECKS[section](fix)


def test_every_order_api_is_flagged_and_nothing_else() -> None:
    flagged = {(s.method, s.path) for s in get_catalog() if s.order}
    assert flagged == {(f["method"], f["path"]) for f in CORRECTIONS["order"]}
    # domestic order-resv-ccnl is a GET inquiry, not the overseas reserved-order cancel POST
    assert not get_catalog().find("GET", "/uapi/domestic-stock/v1/trading/order-resv-ccnl").order


# --- the build script ---------------------------------------------------------------------------


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_catalog", ROOT / "tools" / "build_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_workbook
def test_check_mode_passes_on_the_committed_data() -> None:
    done = subprocess.run(
        [sys.executable, "tools/build_catalog.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "336 APIs" in done.stdout


@needs_workbook
def test_a_correction_the_workbook_no_longer_matches_fails_the_build() -> None:
    build = _build_module()
    stale = {**CORRECTIONS, "index": [{**CORRECTIONS["index"][0], "expect": "H0XXXXX0"}]}
    with pytest.raises(build.CorrectionError, match="H0XXXXX0"):
        build.Builder(WORKBOOKS[-1], stale).build()


@needs_workbook
def test_an_unreadable_tr_id_cell_fails_the_build() -> None:
    build = _build_module()
    # Without its variant table the cash order's "(매도) ... (매수) ..." cell cannot be read.
    tables = [t for t in CORRECTIONS["tr_variants"] if t["api"] != "v1_국내주식-001"]
    with pytest.raises(build.CorrectionError, match="cannot read"):
        build.Builder(WORKBOOKS[-1], {**CORRECTIONS, "tr_variants": tables}).build()


@needs_workbook
def test_a_block_documented_twice_without_its_correction_fails_the_build() -> None:
    build = _build_module()
    # The first layout is kept only where a reviewed correction says so.
    with pytest.raises(build.CorrectionError, match="documents a response block twice"):
        build.Builder(WORKBOOKS[-1], {**CORRECTIONS, "block_repeat": []}).build()


@needs_workbook
def test_a_default_correction_the_workbook_overtakes_fails_the_build() -> None:
    build = _build_module()
    # KIS stating its own default (here: the correction's value no longer a listed code)
    # must be reviewed, not overwritten.
    stale = [{**CORRECTIONS["param_default"][0], "value": "99"}]
    with pytest.raises(build.CorrectionError, match="review the correction"):
        build.Builder(WORKBOOKS[-1], {**CORRECTIONS, "param_default": stale}).build()


def test_codes_written_meaning_first_are_read() -> None:
    # "한국거래소 : KRX": the code after the colon (inquire-daily-ccld's venue list).
    spec = get_catalog().get("inquire-daily-ccld")
    venue = next(p for p in spec.params if p.name == "EXCG_ID_DVSN_CD")
    assert {"KRX", "NXT", "SOR", "ALL"} <= set(venue.codes)
    assert venue.codes["KRX"] == "한국거래소"


@pytest.mark.parametrize(
    ("api", "name"),
    [
        ("inquire-credit-psamount", "ORD_DVSN"),  # "... 07 : 시간외 단일가 등"
        ("해외선물-040", "QRY_GAP"),  # "1: 1분봉, 5: 5분봉 ..."
    ],
)
def test_a_list_that_says_it_is_not_all_stays_open(api: str, name: str) -> None:
    param = next(p for p in get_catalog().get(api).params if p.name == name)
    assert param.codes and not param.codes_complete  # other values warn, never refused


def test_a_path_is_looked_up_too() -> None:
    catalog = get_catalog()
    path = catalog.get("inquire-balance").path
    assert catalog.get(path) is catalog.get("inquire-balance")
    assert get_catalog().get(path).tr_id_for(paper=True) == "VTTC8434R"
