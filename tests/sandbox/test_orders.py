"""Domestic cash and credit orders: what they answer, and every refusal leaves nothing changed.

The lifecycle (resting, fills, modify, cancel, expiry, reservations) is in
test_domestic_orders.py; the exchange without HTTP in test_exchange.py.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from sandbox_helpers import (
    ORDER_CREDIT,
    ORDER_RESV,
    Caller,
    at,
    market_options,
    rt,
)

from stock_manager.sandbox import ManualClock

CASH = 100_000_000


@pytest.fixture
def kis(caller_for: Callable[..., Caller], domain: str) -> Caller:
    """A caller on each domain, the market at 10:00 of the trading day, standing still."""
    return caller_for(domain, **market_options())


def _cash(kis: Caller) -> int:
    return kis.cash()


def _last_price(kis: Caller, code: str) -> int:
    return int(kis.quote(code)["stck_prpr"])


def test_buy_and_sell(kis: Caller) -> None:
    assert _cash(kis) == CASH
    ask = int(kis.sandbox.market.snapshot(kis.sandbox.market.lookup("005930")).asks[0][0])  # type: ignore[arg-type]
    buy = kis.order("buy", "005930", qty="3", price=str(ask), dvsn="00")
    assert rt(buy) == (200, "0", "MCA00000")
    output = buy.json()["output"]
    assert output["KRX_FWDG_ORD_ORGNO"] == "91252"
    assert re.fullmatch(r"\d{10}", output["ODNO"])
    assert re.fullmatch(r"\d{6}", output["ORD_TMD"])
    assert buy.headers["tr_id"] == kis.tr["buy"]
    assert _cash(kis) == CASH - 3 * ask
    market = _last_price(kis, "005930")
    sell = kis.order("sell", "005930", qty="2")  # a market order fills at the last price
    assert rt(sell)[1] == "0"
    assert int(sell.json()["output"]["ODNO"]) > int(output["ODNO"])
    assert _cash(kis) == CASH - 3 * ask + 2 * market

    orders = kis.sandbox.stats()["orders"]
    assert [order["tr_id"] for order in orders] == [kis.tr["buy"], kis.tr["sell"]]
    assert orders[0]["odno"] == output["ODNO"]
    assert orders[0]["body"]["ORD_QTY"] == "3"
    assert orders[0]["path"] == "/uapi/domestic-stock/v1/trading/order-cash"
    fingerprint = hashlib.sha256(kis.app_key.encode()).hexdigest()[:16]
    assert orders[0]["app_key_fingerprint"] == fingerprint
    assert isinstance(orders[0]["time"], float)


def _untouched(kis: Caller) -> None:
    assert kis.sandbox.stats()["orders"] == []
    assert _cash(kis) == CASH
    assert kis.orderable()["ord_psbl_cash"] == str(CASH)
    assert kis.balance()["output1"] == []


def test_business_rejections(kis: Caller) -> None:
    quote = kis.quote("005930")
    upper, lower, last = (int(quote[k]) for k in ("stck_mxpr", "stck_llam", "stck_prpr"))
    cases = [
        (kis.order("buy", qty="2000", price=str(last), dvsn="00"), "APBK0952"),  # > 100M
        (kis.order("sell", "000660", qty="1"), "APBK0400"),  # holds none
        (kis.order("buy", price=str(upper + 100), dvsn="00"), "APBK0509"),  # above 상한가
        (kis.order("buy", price=str(lower - 100), dvsn="00"), "APBK0510"),  # below 하한가
        (kis.order("buy", price=str(last + 50), dvsn="00"), "APBK0506"),  # 100-won ticks here
        (kis.order("buy", pdno="999999"), "APBK0656"),  # well formed, not listed
        (kis.order("buy", pdno="AAPL00"), "APBK0656"),
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
        (kis.order("buy", dvsn="05"), "APBK0919"),  # 장전 시간외 at 10:00
        (kis.order("buy", dvsn="06"), "APBK0919"),
        (kis.order("buy", price=str(last), dvsn="07"), "APBK0919"),
    ]
    for response, code in cases:
        assert rt(response) == (200, "1", code), response.text
        assert response.json()["msg1"]
    body = {"CANO": kis.cano, "ACNT_PRDT_CD": kis.product, "PDNO": "005930", "ORD_DVSN": "01"}
    missing = kis.post("/uapi/domestic-stock/v1/trading/order-cash", kis.tr["buy"], body)
    assert rt(missing) == (500, "1", "OPSQ2001")  # refused by the gateway, before the handler
    assert "ORD_QTY" in missing.json()["msg1"]
    _untouched(kis)


def test_nxt_and_sor_are_real_only(kis: Caller) -> None:
    for venue in ("NXT", "SOR"):
        response = kis.order("buy", EXCG_ID_DVSN_CD=venue)
        if kis.sandbox.environment == "paper":
            assert rt(response) == (200, "1", "OPSQ2002")
            assert "EXCG_ID_DVSN_CD" in response.json()["msg1"]
        else:
            assert rt(response)[1] == "0"
    if kis.sandbox.environment == "paper":
        _untouched(kis)
    assert rt(kis.order("buy", EXCG_ID_DVSN_CD="XYZ")) == (200, "1", "OPSQ2002")


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        (at("20:00"), "APBK0918"),
        (at("10:00", "2026-03-14"), "APBK0918"),  # a Saturday
        (at("15:35"), "APBK0918"),  # between the closing auction and 장후 시간외
        (at("08:35"), "APBK0919"),  # 장전 시간외 takes 05 only... and regular orders for 09:00
    ],
)
def test_orders_outside_their_sessions_are_refused(
    caller_for: Callable[..., Caller], moment: str, code: str
) -> None:
    kis = caller_for("paper", **market_options())
    kis.sandbox.set_market_time(moment)
    dvsn = "06" if code == "APBK0919" else "01"
    assert rt(kis.order("buy", dvsn=dvsn)) == (200, "1", code)
    _untouched(kis)


def test_after_hours_divisions_are_taken_in_their_sessions(kis: Caller) -> None:
    instrument = kis.sandbox.market.lookup("005930")
    assert instrument is not None
    kis.sandbox.set_market_time(at("08:35"))
    previous = int(kis.sandbox.market.snapshot(instrument).previous_close)
    pre = kis.order("buy", qty="2", dvsn="05")
    assert kis.order_row(pre.json()["output"]["ODNO"])["avg_prvs"] == str(previous)
    kis.sandbox.set_market_time(at("15:45"))
    close = int(kis.quote("005930")["stck_prpr"])
    post = kis.order("sell", qty="1", dvsn="06")
    assert kis.order_row(post.json()["output"]["ODNO"])["avg_prvs"] == str(close)
    kis.sandbox.set_market_time(at("16:30"))
    single = kis.order("sell", qty="1", price=str(close), dvsn="07")
    assert rt(single)[1] == "0"
    assert rt(kis.order("buy", dvsn="01")) == (200, "1", "APBK0919")
    assert _cash(kis) == CASH - 2 * previous + close + int(
        kis.order_row(single.json()["output"]["ODNO"])["tot_ccld_amt"]
    )


def test_selling_more_than_held_or_sellable(kis: Caller) -> None:
    assert rt(kis.order("buy", "035720", qty="5"))[1] == "0"
    upper = kis.quote("035720")["stck_mxpr"]
    resting = kis.order("sell", "035720", qty="3", price=upper, dvsn="00")
    assert rt(resting)[1] == "0"
    assert rt(kis.order("sell", "035720", qty="3")) == (200, "1", "APBK0400")  # 2 sellable
    assert kis.balance()["output1"][0]["ord_psbl_qty"] == "2"
    assert rt(kis.order("sell", "035720", qty="2"))[1] == "0"
    assert rt(kis.revise(resting.json()["output"]["ODNO"]))[1] == "0"
    assert rt(kis.order("sell", "035720", qty="4")) == (200, "1", "APBK0400")
    assert rt(kis.order("sell", "035720", qty="3"))[1] == "0"
    assert kis.balance()["output1"][0]["hldg_qty"] == "0"  # sold out today: listed at 0


def test_accounts_are_per_app(kis: Caller) -> None:
    other = Caller(kis.sandbox, kis.client, kis.sandbox.register_app())
    assert other.account_no != kis.account_no
    assert rt(other.order("buy", CANO=kis.cano)) == (200, "1", "OPSQ2000")
    assert rt(other.order("buy"))[1] == "0"
    assert rt(kis.revise(other.daily()[0]["odno"])) == (200, "1", "APBK1010")
    assert _cash(kis) == CASH


def test_credit_orders_on_real(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real", **market_options())
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "PDNO": "005930",
        "ORD_DVSN": "01",
        "ORD_QTY": "1",
        "ORD_UNPR": "0",
        "CRDT_TYPE": "21",
        "LOAN_DT": "20240101",
    }
    credit = kis.post(ORDER_CREDIT, kis.tr["credit_buy"], body)
    assert rt(credit)[1] == "0"
    assert set(credit.json()["output"]) == {"krx_fwdg_ord_orgno", "odno", "ord_tmd"}
    assert kis.order_row(credit.json()["output"]["odno"])["tot_ccld_qty"] == "1"
    bad = kis.post(ORDER_CREDIT, "TTTC0051U", {**body, "CANO": "11111111"})
    assert rt(bad) == (200, "1", "OPSQ2000")
    reserved = kis.post(ORDER_RESV, kis.tr["resv"], {**body, "SLL_BUY_DVSN_CD": "02"})
    assert rt(reserved) == (200, "1", "KIER3672")  # 10:00 is outside the reservation window
    assert len(kis.sandbox.stats()["orders"]) == 1
    assert kis.balance()["output1"][0]["hldg_qty"] == "1"


def test_order_times_and_the_request_window_follow_the_sandbox_clock(
    caller_for: Callable[..., Caller],
) -> None:
    clock = ManualClock(start=1_704_155_415.0)
    kis = caller_for("paper", rate_limit=1, clock=clock, market_time=at("09:30:15"))
    buy = kis.order("buy", "005930", qty="1")
    assert rt(buy)[1] == "0"
    assert buy.json()["output"]["ORD_TMD"] == "093015"  # the market clock's time
    assert kis.sandbox.stats()["orders"][0]["time"] == 1_704_155_415.0
    # One request per second: the window opens again only when the clock moves a second.
    assert rt(kis.order("buy", "005930", qty="1"))[2] == "EGW00201"
    clock.advance(1.0)
    second = kis.order("buy", "005930", qty="1")
    assert rt(second)[1] == "0"
    assert second.json()["output"]["ORD_TMD"] == "093016"
