"""Price, balance (paged), buyable amount and daily fills (paged)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sandbox_helpers import (
    BALANCE,
    DAILY_CCLD,
    PRICE,
    PSBL_ORDER,
    PSBL_RVSECNCL,
    PSBL_SELL,
    Caller,
    at,
    market_options,
    rt,
)

from stock_manager.sandbox.tables import CATALOG_ROUTES

CODES = ["005930", "000660", "035420", "035720", "005380"]


@pytest.fixture
def kis(caller_for: Callable[..., Caller], domain: str) -> Caller:
    """A caller on each domain, the market at 10:00 of the trading day, standing still."""
    return caller_for(domain, **market_options())


def _documented(path: str, block: str) -> set[str]:
    entry = CATALOG_ROUTES[path]
    return {f[0] for b in entry["response"] if b["name"] == block for f in b["fields"]}


def test_price_is_deterministic_with_kis_fields(
    kis: Caller, caller_for: Callable[..., Caller]
) -> None:
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    output = kis.get(PRICE, "FHKST01010100", params).json()["output"]
    for name in (
        "stck_prpr",
        "prdy_vrss",
        "prdy_vrss_sign",
        "prdy_ctrt",
        "stck_oprc",
        "stck_hgpr",
        "stck_lwpr",
        "acml_vol",
    ):
        assert isinstance(output[name], str), name
    last = int(output["stck_prpr"])
    assert 1_000 <= last <= 500_000
    assert int(output["stck_lwpr"]) <= last <= int(output["stck_hgpr"])
    assert int(output["prdy_vrss"]) == last - int(output["stck_sdpr"])
    elsewhere = caller_for("real", **market_options())
    assert elsewhere.get(PRICE, "FHKST01010100", params).json()["output"] == output
    other = kis.get(PRICE, "FHKST01010100", {**params, "FID_INPUT_ISCD": "000660"}).json()
    assert other["output"]["stck_prpr"] != output["stck_prpr"]


def test_price_refusals(kis: Caller) -> None:
    assert rt(
        kis.get(PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "12"})
    ) == (
        200,
        "1",
        "OPSQ2002",
    )
    assert rt(
        kis.get(PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "Q", "FID_INPUT_ISCD": "005930"})
    )[2] == ("OPSQ2002")
    assert rt(kis.get(PRICE, "FHKST01010100", {"FID_INPUT_ISCD": "005930"})) == (
        500,
        "1",
        "OPSQ2001",
    )


def _balance_pages(kis: Caller) -> list[tuple[str, list[str]]]:
    params = kis.account_params(
        AFHR_FLPR_YN="N",
        OFL_YN="",
        INQR_DVSN="02",
        UNPR_DVSN="01",
        FUND_STTL_ICLD_YN="N",
        FNCG_AMT_AUTO_RDPT_YN="N",
        PRCS_DVSN="00",
        CTX_AREA_FK100="",
        CTX_AREA_NK100="",
    )
    pages = []
    tr_cont = ""
    while True:
        response = kis.get(BALANCE, kis.tr["balance"], params, tr_cont=tr_cont)
        assert rt(response)[1] == "0", response.text
        body = response.json()
        pages.append((response.headers["tr_cont"], [row["pdno"] for row in body["output1"]]))
        if response.headers["tr_cont"] == "D":
            return pages
        assert len(pages) < 10
        tr_cont = "N"
        params["CTX_AREA_FK100"] = body["ctx_area_fk100"]
        params["CTX_AREA_NK100"] = body["ctx_area_nk100"]


def test_balance_pages_to_the_last(caller_for: Callable[..., Caller], domain: str) -> None:
    kis = caller_for(domain, page_size=2, **market_options())
    assert _balance_pages(kis) == [("D", [])]
    for code in CODES:
        assert rt(kis.order("buy", code, qty="2"))[1] == "0"
    pages = _balance_pages(kis)
    assert [cont for cont, _ in pages] == ["M", "M", "D"]
    assert [code for _, rows in pages for code in rows] == sorted(CODES)
    body = kis.get(BALANCE, kis.tr["balance"], kis.account_params()).json()
    row = body["output1"][0]
    assert set(row) == _documented(BALANCE, "output1")
    assert set(body["output2"][0]) == _documented(BALANCE, "output2")
    assert row["hldg_qty"] == "2"
    summary = body["output2"][0]
    prices = {
        code: int(
            kis.get(
                PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code}
            ).json()["output"]["stck_prpr"]
        )
        for code in CODES
    }
    # Market orders filled at the synthetic price, so cost and value agree.
    assert int(summary["scts_evlu_amt"]) == sum(2 * price for price in prices.values())
    assert summary["pchs_amt_smtl_amt"] == summary["scts_evlu_amt"]
    assert int(summary["tot_evlu_amt"]) == int(summary["dnca_tot_amt"]) + int(
        summary["scts_evlu_amt"]
    )
    assert int(summary["dnca_tot_amt"]) < 100_000_000


def test_balance_refusals(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("paper", page_size=1, **market_options())
    for code in CODES[:3]:
        kis.order("buy", code)
    first = kis.get(BALANCE, kis.tr["balance"], kis.account_params()).json()
    bad_ctx = kis.account_params(
        CTX_AREA_FK100=first["ctx_area_fk100"], CTX_AREA_NK100="000001deadbeef"
    )
    assert rt(kis.get(BALANCE, kis.tr["balance"], bad_ctx, tr_cont="N")) == (200, "1", "OPSQ2003")
    empty = kis.account_params()
    assert rt(kis.get(BALANCE, kis.tr["balance"], empty, tr_cont="N")) == (200, "1", "OPSQ2003")
    # Another account's continuation key does not decode for this account.
    other = Caller(kis.sandbox, kis.client, kis.sandbox.register_app())
    other.order("buy", "005930")
    other.order("buy", "000660")
    foreign = other.get(BALANCE, other.tr["balance"], other.account_params()).json()
    stolen = kis.account_params(
        CTX_AREA_FK100=foreign["ctx_area_fk100"], CTX_AREA_NK100=foreign["ctx_area_nk100"]
    )
    assert rt(kis.get(BALANCE, kis.tr["balance"], stolen, tr_cont="N")) == (200, "1", "OPSQ2003")
    lacking = kis.get(BALANCE, kis.tr["balance"], {"CANO": kis.cano}, complete=False)
    assert rt(lacking) == (500, "1", "OPSQ2001")
    assert rt(kis.get(BALANCE, kis.tr["balance"], kis.account_params(CANO="12345678"))) == (
        200,
        "1",
        "OPSQ2000",
    )


def test_buyable_amount(kis: Caller) -> None:
    params = kis.account_params(
        PDNO="005930", ORD_UNPR="50000", ORD_DVSN="00", CMA_EVLU_AMT_ICLD_YN="N", OVRS_ICLD_YN="N"
    )
    response = kis.get(PSBL_ORDER, kis.tr["psbl"], params)
    assert rt(response)[1] == "0"
    output = response.json()["output"]
    assert output["ord_psbl_cash"] == "100000000"
    assert output["max_buy_qty"] == "2000"
    assert output["psbl_qty_calc_unpr"] == "50000"
    assert rt(kis.get(PSBL_ORDER, kis.tr["psbl"], {**params, "CANO": "00000000"}))[2] == "OPSQ2000"


def test_daily_fills(caller_for: Callable[..., Caller], domain: str) -> None:
    kis = caller_for(domain, page_size=2, **market_options())
    odnos = [kis.order("buy", code).json()["output"]["ODNO"] for code in CODES[:3]]
    odnos.append(kis.order("sell", CODES[0]).json()["output"]["ODNO"])

    def listed(tr_name: str) -> tuple[list[str], dict[str, str]]:
        params = kis.account_params(
            INQR_STRT_DT="20000101", INQR_END_DT="29991231", SLL_BUY_DVSN_CD="00"
        )
        seen: list[str] = []
        tr_cont = ""
        while True:
            response = kis.get(DAILY_CCLD, kis.tr[tr_name], params, tr_cont=tr_cont)
            assert rt(response)[1] == "0", response.text
            body = response.json()
            seen += [row["odno"] for row in body["output1"]]
            for row in body["output1"]:
                assert set(row) == _documented(DAILY_CCLD, "output1")
            if response.headers["tr_cont"] == "D":
                return seen, body["output2"]
            assert len(seen) < 20
            tr_cont = "N"
            params.update(
                CTX_AREA_FK100=body["ctx_area_fk100"], CTX_AREA_NK100=body["ctx_area_nk100"]
            )

    seen, summary = listed("ccld_recent")
    assert seen == odnos[::-1]
    assert summary["tot_ccld_qty"] == "4" and summary["tot_ord_qty"] == "4"
    assert listed("ccld_older")[0] == []
    # About three months later the same orders are found by the older TR only.
    kis.sandbox.set_market_time(at("10:00", "2026-06-23"))
    assert listed("ccld_recent")[0] == []
    assert listed("ccld_older")[0] == odnos[::-1]
    kis.sandbox.set_market_time(at("10:00"))
    sells = kis.daily(SLL_BUY_DVSN_CD="01")
    assert [row["odno"] for row in sells] == [odnos[3]]
    assert sells[0]["sll_buy_dvsn_cd"] == "01"
    assert [row["odno"] for row in kis.daily(ODNO=odnos[1])] == [odnos[1]]
    assert [row["odno"] for row in kis.daily(PDNO=CODES[2])] == [odnos[2]]
    assert kis.daily(INQR_STRT_DT="29990101") == []
    bad = kis.get(DAILY_CCLD, kis.tr["ccld_recent"], kis.account_params(INQR_STRT_DT="2024-1-1"))
    assert rt(bad)[2] == "OPSQ2002"


def test_resting_orders_in_every_order_inquiry(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real", **market_options())
    lower = kis.quote("005930")["stck_llam"]
    resting = kis.order("buy", "005930", qty="3", price=lower, dvsn="00").json()["output"]["ODNO"]
    assert rt(kis.order("buy", "035720", qty="4"))[1] == "0"
    response = kis.get(PSBL_RVSECNCL, kis.tr["psbl_rvsecncl"], kis.account_params())
    rows = response.json()["output"]
    assert [(r["odno"], r["psbl_qty"], r["ord_unpr"]) for r in rows] == [(resting, "3", lower)]
    assert set(rows[0]) >= _documented(PSBL_RVSECNCL, "output")
    sells = kis.get(PSBL_RVSECNCL, kis.tr["psbl_rvsecncl"], kis.account_params(INQR_DVSN_2="1"))
    assert sells.json()["output"] == []
    unfilled = kis.daily(CCLD_DVSN="02")
    assert [row["odno"] for row in unfilled] == [resting]
    sellable = kis.get(PSBL_SELL, kis.tr["psbl_sell"], kis.account_params(PDNO="035720"))
    output = sellable.json()["output1"]
    assert (output["cblc_qty"], output["ord_psbl_qty"], output["buy_qty"]) == ("4", "4", "4")
