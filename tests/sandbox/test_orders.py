"""Cash orders fill at once; other order APIs are validated and acknowledged."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from sandbox_helpers import (
    BALANCE,
    ORDER_CREDIT,
    ORDER_RESV,
    ORDER_RVSECNCL,
    OVERSEAS_ORDER,
    OVERSEAS_RVSECNCL,
    PRICE,
    Caller,
    rt,
)

from stock_manager.sandbox import ManualClock


def _cash(kis: Caller) -> int:
    response = kis.get(BALANCE, kis.tr["balance"], kis.account_params())
    return int(response.json()["output2"][0]["dnca_tot_amt"])


def _last_price(kis: Caller, code: str) -> int:
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code}
    return int(kis.get(PRICE, "FHKST01010100", params).json()["output"]["stck_prpr"])


def test_buy_and_sell(kis: Caller) -> None:
    assert _cash(kis) == 100_000_000
    buy = kis.order("buy", "005930", qty="3", price="70000", dvsn="00")
    assert rt(buy) == (200, "0", "MCA00000")
    output = buy.json()["output"]
    assert output["KRX_FWDG_ORD_ORGNO"] == "91252"
    assert re.fullmatch(r"\d{10}", output["ODNO"])
    assert re.fullmatch(r"\d{6}", output["ORD_TMD"])
    assert buy.headers["tr_id"] == kis.tr["buy"]
    assert _cash(kis) == 100_000_000 - 210_000
    market = _last_price(kis, "005930")
    sell = kis.order("sell", "005930", qty="2")  # market order fills at the synthetic price
    assert rt(sell)[1] == "0"
    assert int(sell.json()["output"]["ODNO"]) > int(output["ODNO"])
    assert _cash(kis) == 100_000_000 - 210_000 + 2 * market

    orders = kis.sandbox.stats()["orders"]
    assert [order["tr_id"] for order in orders] == [kis.tr["buy"], kis.tr["sell"]]
    assert orders[0]["odno"] == output["ODNO"]
    assert orders[0]["body"]["ORD_QTY"] == "3"
    assert orders[0]["path"] == "/uapi/domestic-stock/v1/trading/order-cash"
    fingerprint = hashlib.sha256(kis.app_key.encode()).hexdigest()[:16]
    assert orders[0]["app_key_fingerprint"] == fingerprint
    assert isinstance(orders[0]["time"], float)


def test_business_rejections(kis: Caller) -> None:
    cases = [
        (kis.order("buy", qty="2000", price="70000", dvsn="00"), "APBK0952"),  # 140M > 100M
        (kis.order("sell", "000660", qty="1"), "APBK0400"),  # holds none
        (kis.order("buy", qty="0"), "APBK0634"),
        (kis.order("buy", qty="-1"), "APBK0634"),
        (kis.order("buy", qty="1.5"), "APBK0634"),
        (kis.order("buy", CANO="99999999"), "OPSQ2000"),
        (kis.order("buy", ACNT_PRDT_CD="02"), "OPSQ2000"),
        (kis.order("buy", pdno="00593"), "OPSQ2002"),
        (kis.order("buy", pdno="005930!"), "OPSQ2002"),
        (kis.order("buy", dvsn="99"), "OPSQ2002"),
        (kis.order("buy", price="-5"), "OPSQ2002"),
        (kis.order("buy", price="0", dvsn="00"), "OPSQ2002"),  # a limit order needs a price
        (kis.order("buy", ORD_QTY=1), "OPSQ2002"),  # fields are strings
    ]
    for response, code in cases:
        assert rt(response) == (200, "1", code), response.text
        assert response.json()["msg1"]
    body = {"CANO": kis.cano, "ACNT_PRDT_CD": kis.product, "PDNO": "005930", "ORD_DVSN": "01"}
    missing = kis.post("/uapi/domestic-stock/v1/trading/order-cash", kis.tr["buy"], body)
    assert rt(missing) == (500, "1", "OPSQ2001")  # refused by the gateway, before the handler
    assert "ORD_QTY" in missing.json()["msg1"]
    assert kis.sandbox.stats()["orders"] == []
    assert _cash(kis) == 100_000_000


def test_sell_everything_then_nothing_left(kis: Caller) -> None:
    assert rt(kis.order("buy", "035720", qty="2"))[1] == "0"
    assert rt(kis.order("sell", "035720", qty="2"))[1] == "0"
    assert rt(kis.order("sell", "035720", qty="1")) == (200, "1", "APBK0400")
    holdings = kis.get(BALANCE, kis.tr["balance"], kis.account_params()).json()["output1"]
    assert holdings == []


def test_accounts_are_per_app(kis: Caller) -> None:
    other = Caller(kis.sandbox, kis.client, kis.sandbox.register_app())
    assert other.account_no != kis.account_no
    assert rt(other.order("buy", CANO=kis.cano)) == (200, "1", "OPSQ2000")
    assert rt(other.order("buy"))[1] == "0"
    assert _cash(kis) == 100_000_000


def _revise(kis: Caller, original: str, **overrides: str) -> tuple[int, str, str]:
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "KRX_FWDG_ORD_ORGNO": "91252",
        "ORGN_ODNO": original,
        "ORD_DVSN": "00",
        "RVSE_CNCL_DVSN_CD": "02",
        "ORD_QTY": "0",
        "ORD_UNPR": "0",
        "QTY_ALL_ORD_YN": "Y",
        **overrides,
    }
    return rt(kis.post(ORDER_RVSECNCL, kis.tr["rvsecncl"], body))


def test_revise_cancel(kis: Caller) -> None:
    odno = kis.order("buy", qty="1").json()["output"]["ODNO"]
    assert _revise(kis, odno) == (200, "0", "MCA00000")
    assert _revise(kis, odno, RVSE_CNCL_DVSN_CD="01", ORD_QTY="1", QTY_ALL_ORD_YN="N")[1] == "0"
    assert _revise(kis, "0009999999") == (200, "1", "APBK1010")
    assert _revise(kis, odno, RVSE_CNCL_DVSN_CD="03") == (200, "1", "OPSQ2002")
    assert _revise(kis, odno, QTY_ALL_ORD_YN="N") == (200, "1", "APBK0634")
    orders = kis.sandbox.stats()["orders"]
    assert [order["tr_id"] for order in orders] == [
        kis.tr["buy"],
        kis.tr["rvsecncl"],
        kis.tr["rvsecncl"],
    ]
    assert len({order["odno"] for order in orders}) == 3


def test_credit_and_reserved_orders_on_real(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "PDNO": "005930",
        "ORD_DVSN": "00",
        "ORD_QTY": "1",
        "ORD_UNPR": "70000",
        "CRDT_TYPE": "21",
        "LOAN_DT": "20240101",
    }
    credit = kis.post(ORDER_CREDIT, "TTTC0052U", body)
    assert rt(credit)[1] == "0" and credit.json()["output"]["ODNO"]
    reserved = kis.post(ORDER_RESV, "CTSC0008U", {**body, "SLL_BUY_DVSN_CD": "02"})
    assert rt(reserved)[1] == "0" and reserved.json()["output"]["RSVN_ORD_SEQ"]
    bad = kis.post(ORDER_CREDIT, "TTTC0051U", {**body, "CANO": "11111111"})
    assert rt(bad) == (200, "1", "OPSQ2000")
    assert len(kis.sandbox.stats()["orders"]) == 2


def test_overseas_orders(kis: Caller) -> None:
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "OVRS_EXCG_CD": "NASD",
        "PDNO": "AAPL",
        "ORD_QTY": "1",
        "OVRS_ORD_UNPR": "190.50",
        "ORD_SVR_DVSN_CD": "0",
        "ORD_DVSN": "00",
    }
    buy = kis.post(OVERSEAS_ORDER, kis.tr["us_buy"], body)
    assert rt(buy)[1] == "0"
    assert rt(kis.post(OVERSEAS_ORDER, kis.tr["us_sell"], body))[1] == "0"
    # VTTT1006U does not exist: the paper US sell is VTTT1001U.
    wrong = "VTTT1006U" if kis.sandbox.environment == "paper" else "TTTT1001U"
    assert rt(kis.post(OVERSEAS_ORDER, wrong, body)) == (500, "1", "OPSQ0002")
    assert rt(kis.post(OVERSEAS_ORDER, kis.tr["us_buy"], {**body, "OVRS_EXCG_CD": "XXXX"})) == (
        200,
        "1",
        "OPSQ2002",
    )
    assert rt(kis.post(OVERSEAS_ORDER, kis.tr["us_buy"], {**body, "OVRS_ORD_UNPR": "abc"}))[2] == (
        "OPSQ2002"
    )
    cancel = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "OVRS_EXCG_CD": "NASD",
        "PDNO": "AAPL",
        "ORGN_ODNO": buy.json()["output"]["ODNO"],
        "RVSE_CNCL_DVSN_CD": "02",
        "ORD_QTY": "1",
        "OVRS_ORD_UNPR": "0",
    }
    assert rt(kis.post(OVERSEAS_RVSECNCL, kis.tr["us_rvsecncl"], cancel))[1] == "0"
    assert len(kis.sandbox.stats()["orders"]) == 3


def test_order_times_and_the_request_window_follow_the_sandbox_clock(
    caller_for: Callable[..., Caller],
) -> None:
    # 2024-01-02 09:30:15 KST: what the order's ORD_TMD and stats time must say.
    clock = ManualClock(start=1_704_155_415.0)
    kis = caller_for("paper", rate_limit=1, clock=clock)
    buy = kis.order("buy", "005930", qty="1")
    assert rt(buy)[1] == "0"
    assert buy.json()["output"]["ORD_TMD"] == "093015"
    assert kis.sandbox.stats()["orders"][0]["time"] == 1_704_155_415.0
    # One request per second: the window opens again only when the clock moves a second.
    assert rt(kis.order("buy", "005930", qty="1"))[2] == "EGW00201"
    clock.advance(1.0)
    assert rt(kis.order("buy", "005930", qty="1"))[1] == "0"
