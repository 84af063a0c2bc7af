"""The gateway's key and TR_ID rules, as lenient and as strict as live KIS (issue 15).

A missing custtype is P, query names match in any case, POST keys only upper-case, every key the
workbook marks Required must be present (possibly empty), deprecated TR_IDs are served as their
successors unless the sandbox is started to block them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest
from sandbox_helpers import (
    BALANCE,
    DAILY_CCLD,
    ORDER_CASH,
    ORDER_CREDIT,
    ORDER_RESV,
    ORDER_RVSECNCL,
    OVERSEAS_ORDER,
    OVERSEAS_RVSECNCL,
    PRICE,
    PSBL_ORDER,
    Caller,
    completed,
    rt,
)

from stock_manager.sandbox import app, tables

QUOTE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}

# The Required keys of each served API, copied by hand from KIS's workbook (2026-01), in its order,
# with the real-domain TR_ID used to call it.
REQUIRED: dict[str, tuple[str, tuple[str, ...]]] = {
    ORDER_CASH: ("TTTC0012U", ("CANO", "ACNT_PRDT_CD", "PDNO", "ORD_DVSN", "ORD_QTY", "ORD_UNPR")),
    ORDER_RVSECNCL: (
        "TTTC0013U",
        (
            "CANO",
            "ACNT_PRDT_CD",
            "KRX_FWDG_ORD_ORGNO",
            "ORGN_ODNO",
            "ORD_DVSN",
            "RVSE_CNCL_DVSN_CD",
            "ORD_QTY",
            "ORD_UNPR",
            "QTY_ALL_ORD_YN",
        ),
    ),
    ORDER_CREDIT: (
        "TTTC0052U",
        ("CANO", "ACNT_PRDT_CD", "PDNO", "CRDT_TYPE", "LOAN_DT", "ORD_DVSN", "ORD_QTY", "ORD_UNPR"),
    ),
    ORDER_RESV: (
        "CTSC0008U",
        (
            "CANO",
            "ACNT_PRDT_CD",
            "PDNO",
            "ORD_QTY",
            "ORD_UNPR",
            "SLL_BUY_DVSN_CD",
            "ORD_DVSN_CD",
            "ORD_OBJT_CBLC_DVSN_CD",
        ),
    ),
    BALANCE: (
        "TTTC8434R",
        (
            "CANO",
            "ACNT_PRDT_CD",
            "AFHR_FLPR_YN",
            "INQR_DVSN",
            "UNPR_DVSN",
            "FUND_STTL_ICLD_YN",
            "FNCG_AMT_AUTO_RDPT_YN",
            "PRCS_DVSN",
        ),
    ),
    PSBL_ORDER: (
        "TTTC8908R",
        (
            "CANO",
            "ACNT_PRDT_CD",
            "PDNO",
            "ORD_UNPR",
            "ORD_DVSN",
            "CMA_EVLU_AMT_ICLD_YN",
            "OVRS_ICLD_YN",
        ),
    ),
    DAILY_CCLD: (
        "TTTC0081R",
        (
            "CANO",
            "ACNT_PRDT_CD",
            "INQR_STRT_DT",
            "INQR_END_DT",
            "SLL_BUY_DVSN_CD",
            "ORD_GNO_BRNO",
            "CCLD_DVSN",
            "INQR_DVSN",
            "INQR_DVSN_1",
            "INQR_DVSN_3",
            "EXCG_ID_DVSN_CD",
            "CTX_AREA_FK100",
            "CTX_AREA_NK100",
        ),
    ),
    PRICE: ("FHKST01010100", ("FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD")),
    OVERSEAS_ORDER: (
        "TTTT1002U",
        (
            "CANO",
            "ACNT_PRDT_CD",
            "OVRS_EXCG_CD",
            "PDNO",
            "ORD_QTY",
            "OVRS_ORD_UNPR",
            "ORD_SVR_DVSN_CD",
            "ORD_DVSN",
        ),
    ),
    OVERSEAS_RVSECNCL: (
        "TTTT1004U",
        (
            "CANO",
            "ACNT_PRDT_CD",
            "OVRS_EXCG_CD",
            "PDNO",
            "ORGN_ODNO",
            "RVSE_CNCL_DVSN_CD",
            "ORD_QTY",
            "OVRS_ORD_UNPR",
        ),
    ),
}

POSTS = {ORDER_CASH, ORDER_RVSECNCL, ORDER_CREDIT, ORDER_RESV, OVERSEAS_ORDER, OVERSEAS_RVSECNCL}


def _send(kis: Caller, path: str, tr_id: str, fields: dict[str, str]) -> httpx.Response:
    if path in POSTS:
        return kis.post(path, tr_id, fields, complete=False)
    return kis.get(path, tr_id, fields, complete=False)


def test_missing_custtype_is_p(kis: Caller) -> None:
    headers = kis.headers(kis.tr["buy"])
    del headers["custtype"]
    body = {"CANO": kis.cano, "ACNT_PRDT_CD": kis.product, "PDNO": "005930"}
    body |= {"ORD_DVSN": "01", "ORD_QTY": "1", "ORD_UNPR": "0"}
    response = kis.client.post(ORDER_CASH, json=body, headers=headers)
    assert rt(response) == (200, "0", "MCA00000"), response.text
    assert len(kis.sandbox.stats()["orders"]) == 1
    assert rt(kis.get(PRICE, "FHKST01010100", QUOTE, custtype="p")) == (500, "1", "EGW00208")


def test_query_names_match_in_any_case(kis: Caller) -> None:
    lower = {name.lower(): value for name, value in QUOTE.items()}
    quote = kis.get(PRICE, "FHKST01010100", lower)
    assert rt(quote) == (200, "0", "MCA00000"), quote.text
    assert quote.json()["output"]["stck_prpr"]
    mixed = {"Fid_Cond_Mrkt_Div_Code": "J", "fid_input_iscd": "005930"}
    assert rt(kis.get(PRICE, "FHKST01010100", mixed))[1] == "0"
    _, names = REQUIRED[BALANCE]
    # Coded keys carry a listed value: an empty one is refused where the list has none.
    valid = {**completed(BALANCE, {}), "CANO": kis.cano, "ACNT_PRDT_CD": kis.product}
    params = {name.lower(): valid.get(name, "") for name in names}
    balance = kis.get(BALANCE, kis.tr["balance"], params, complete=False)
    assert rt(balance) == (200, "0", "MCA00000"), balance.text
    assert balance.json()["output2"][0]["dnca_tot_amt"]


def test_body_keys_must_be_upper_case(kis: Caller) -> None:
    body = {"CANO": kis.cano, "ACNT_PRDT_CD": kis.product, "pdno": "005930"}
    body |= {"ORD_DVSN": "01", "ORD_QTY": "1", "ORD_UNPR": "0"}
    response = kis.post(ORDER_CASH, kis.tr["buy"], body)
    assert rt(response) == (500, "1", "OPSQ2001")
    assert response.json()["msg1"] == "필수항목이 누락되었습니다. (PDNO)"
    assert kis.sandbox.stats()["orders"] == []


def test_the_workbook_required_keys_are_the_sandbox_s() -> None:
    assert {path: keys for path, (_, keys) in REQUIRED.items()} == {
        path: tables.ROUTES[path].required for path in REQUIRED
    }


@pytest.mark.parametrize("path", list(REQUIRED))
def test_every_required_key_must_be_present(caller_for: Callable[..., Caller], path: str) -> None:
    kis = caller_for("real")
    tr_id, names = REQUIRED[path]
    for dropped in names:
        fields = {name: "" for name in names if name != dropped}
        response = _send(kis, path, tr_id, fields)
        assert rt(response) == (500, "1", "OPSQ2001"), (dropped, response.text)
        assert response.json()["msg1"] == f"필수항목이 누락되었습니다. ({dropped})"
    # Present but empty passes the gateway: whatever the API then says, it says it with HTTP 200.
    empty = _send(kis, path, tr_id, dict.fromkeys(names, ""))
    assert empty.status_code == 200, empty.text
    assert kis.sandbox.stats()["orders"] == []


def test_first_missing_key_is_named(kis: Caller) -> None:
    response = kis.get(BALANCE, kis.tr["balance"], {"UNPR_DVSN": "01"}, complete=False)
    assert response.json()["msg1"] == "필수항목이 누락되었습니다. (CANO)"


def test_every_order_api_has_a_handler() -> None:
    orders = {path for path, entry in tables.CATALOG_ROUTES.items() if entry["order"]}
    assert len(orders) == 18
    assert orders <= set(app.HANDLERS)


def test_an_order_api_without_a_handler_is_unknown(
    kis: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A future workbook's new order API: OPSQ0404 before any check (a made-up success would lie).
    monkeypatch.delitem(app.HANDLERS, "/uapi/domestic-bond/v1/trading/buy")
    response = kis.post("/uapi/domestic-bond/v1/trading/buy", "TTTC0952U", {})
    assert rt(response) == (404, "1", "OPSQ0404")


DEPRECATED = {
    "paper": {"buy": "VTTC0802U", "sell": "VTTC0801U", "ccld": "VTTC8001R"},
    "real": {"buy": "TTTC0802U", "sell": "TTTC0801U", "ccld": "TTTC8001R"},
}


def test_deprecated_tr_ids_serve_as_their_successors(kis: Caller) -> None:
    old = DEPRECATED[kis.sandbox.environment]
    buy = kis.post(ORDER_CASH, old["buy"], _market_order(kis))
    assert rt(buy) == (200, "0", "MCA00000"), buy.text
    sell = kis.post(ORDER_CASH, old["sell"], _market_order(kis))
    assert rt(sell) == (200, "0", "MCA00000"), sell.text
    assert [order["tr_id"] for order in kis.sandbox.stats()["orders"]] == [old["buy"], old["sell"]]
    fills = kis.get(DAILY_CCLD, old["ccld"], kis.account_params())
    assert rt(fills)[1] == "0"
    assert len(fills.json()["output1"]) == 2


def test_deprecated_tr_ids_blocked_by_the_switch(
    caller_for: Callable[..., Caller], domain: str
) -> None:
    kis = caller_for(domain, block_deprecated=True)
    old = DEPRECATED[domain]
    assert rt(kis.post(ORDER_CASH, old["buy"], _market_order(kis))) == (500, "1", "OPSQ0002")
    assert rt(kis.get(DAILY_CCLD, old["ccld"], kis.account_params())) == (500, "1", "OPSQ0002")
    assert rt(kis.order("buy")) == (200, "0", "MCA00000")  # their successors still work
    assert len(kis.sandbox.stats()["orders"]) == 1


def test_deprecated_tr_id_of_an_api_paper_lacks(caller_for: Callable[..., Caller]) -> None:
    paper = caller_for("paper")
    assert rt(paper.post(ORDER_CREDIT, "TTTC0852U", {})) == (500, "1", "OPSQ0003")


def test_block_switch_reaches_a_child_process(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("paper", process=True, block_deprecated=True)
    response = kis.post(ORDER_CASH, "VTTC0802U", _market_order(kis))
    assert rt(response) == (500, "1", "OPSQ0002")


def test_serve_block_deprecated_tr_ids_option() -> None:
    cli = [sys.executable, "-c", "from stock_manager.cli import main; main()"]
    options = ["--port", "0", "--issue-interval", "0", "--block-deprecated-tr-ids"]
    process = subprocess.Popen(
        [*cli, "sandbox", "serve", *options],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports = _exports(process)
        with httpx.Client(base_url=exports["KIS_BASE_URL"], timeout=10) as client:
            token = client.post(
                "/oauth2/tokenP",
                json={
                    "grant_type": "client_credentials",
                    "appkey": exports["KIS_APP_KEY"],
                    "appsecret": exports["KIS_APP_SECRET"],
                },
            ).json()["access_token"]
            headers = {
                "authorization": f"Bearer {token}",
                "appkey": exports["KIS_APP_KEY"],
                "appsecret": exports["KIS_APP_SECRET"],
            }
            old = client.get(DAILY_CCLD, headers={**headers, "tr_id": "VTTC8001R"})
            assert rt(old) == (500, "1", "OPSQ0002")
            new = client.get(DAILY_CCLD, headers={**headers, "tr_id": "VTTC0081R"})
            assert rt(new) == (500, "1", "OPSQ2001")  # past the TR_ID check: the keys are next
    finally:
        process.terminate()
        process.wait(timeout=10)


def _exports(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line, "serve exited early"
        if line.startswith("export "):
            return dict(re.findall(r"(KIS_\w+)=(\S+)", line))
    raise AssertionError("serve printed no export line within 30 s")


def _market_order(kis: Caller) -> dict[str, str]:
    return {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "PDNO": "005930",
        "ORD_DVSN": "01",
        "ORD_QTY": "1",
        "ORD_UNPR": "0",
    }


def test_coded_values_are_checked_before_the_handler(kis: Caller) -> None:
    # INQR_DVSN of the balance is 01 or 02 in KIS's workbook; the handler never sees "99".
    response = kis.get(BALANCE, kis.tr["balance"], kis.account_params(INQR_DVSN="99"))
    assert rt(response) == (200, "1", "OPSQ2002"), response.text
    assert response.json()["msg1"] == "입력값이 올바르지 않습니다. (INQR_DVSN='99')"
    lower = {k: v for k, v in completed(BALANCE, kis.account_params()).items() if k != "INQR_DVSN"}
    response = kis.get(BALANCE, kis.tr["balance"], {**lower, "inqr_dvsn": "99"}, complete=False)
    assert rt(response) == (200, "1", "OPSQ2002"), response.text
    # Empty is refused where the list has no empty value, taken for a continuation key.
    empty = kis.get(BALANCE, kis.tr["balance"], kis.account_params(INQR_DVSN=""))
    assert rt(empty) == (200, "1", "OPSQ2002")
    first = kis.get(BALANCE, kis.tr["balance"], kis.account_params(CTX_AREA_NK100=""))
    assert rt(first) == (200, "0", "MCA00000"), first.text
