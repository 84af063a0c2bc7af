"""The domestic stock order lifecycle over HTTP: rest, fill, partial fill, modify, cancel, expire.

The market stands still (ManualClock) at 10:00 of a trading day with a fixed seed; expected
prices are read from the sandbox's own market (``sb.market``), so each test checks that what the
APIs answer agrees with the walk the exchange trades against.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sandbox_helpers import (
    NEXT_TRADING_DAY,
    ORDER_RESV,
    ORDER_RESV_RVSECNCL,
    PSBL_RVSECNCL,
    RESV_CCNL,
    Caller,
    at,
    market_options,
    rt,
)

from stock_manager.sandbox.orders import PARTICIPATION

CASH = 100_000_000
CODE = "005930"


@pytest.fixture
def kis(caller_for: Callable[..., Caller], domain: str) -> Caller:
    """A caller on each domain, the market at 10:00 of the trading day."""
    return caller_for(domain, **market_options())


def _snapshot(kis: Caller, code: str = CODE):  # type: ignore[no-untyped-def]
    instrument = kis.sandbox.market.lookup(code)
    assert instrument is not None
    return kis.sandbox.market.snapshot(instrument)


def _crossing(kis: Caller, minutes: int = 30) -> tuple[int, datetime, int]:
    """A buy limit below the book now that the walk reaches later: (limit, moment, volume)."""
    market = kis.sandbox.market
    instrument = market.lookup(CODE)
    assert instrument is not None
    now = market.now()
    steps = list(market.path(instrument, now, now + timedelta(minutes=minutes)))
    limit = min(price for _, price, _ in steps)
    assert limit < _snapshot(kis).asks[0][0]
    moment, _, volume = next(step for step in steps if step[1] <= limit)
    return int(limit), moment, volume


def _odno(response) -> str:  # type: ignore[no-untyped-def]
    assert rt(response)[:2] == (200, "0"), response.text
    output = response.json()["output"]
    return str(output.get("ODNO") or output["odno"])


def test_a_marketable_limit_buy_fills_at_the_book_price(kis: Caller) -> None:
    snapshot = _snapshot(kis)
    (ask, size), _, (limit, _) = snapshot.asks[:3]
    qty = min(size, 50)
    odno = _odno(kis.order("buy", CODE, qty=str(qty), price=str(limit), dvsn="00"))
    row = kis.order_row(odno)
    assert (row["tot_ccld_qty"], row["rmn_qty"], row["avg_prvs"]) == (str(qty), "0", str(ask))
    assert row["ord_unpr"] == str(limit) and int(ask) < int(limit)
    assert kis.cash() == CASH - qty * int(ask)


def test_a_resting_buy_holds_cash_then_fills_when_the_walk_crosses(kis: Caller) -> None:
    limit, moment, _ = _crossing(kis)
    odno = _odno(kis.order("buy", CODE, qty="1", price=str(limit), dvsn="00"))
    row = kis.order_row(odno)
    assert (row["tot_ccld_qty"], row["rmn_qty"]) == ("0", "1")
    assert kis.orderable()["ord_psbl_cash"] == str(CASH - limit)
    assert kis.cash() == CASH  # 예수금 moves on fills only
    if kis.sandbox.environment == "real":
        rows = kis.get(PSBL_RVSECNCL, kis.tr["psbl_rvsecncl"], kis.account_params()).json()
        assert [(r["odno"], r["psbl_qty"]) for r in rows["output"]] == [(odno, "1")]
    kis.sandbox.set_market_time(moment - timedelta(seconds=1))
    assert kis.order_row(odno)["rmn_qty"] == "1"
    kis.sandbox.set_market_time(moment)
    row = kis.order_row(odno)
    assert (row["tot_ccld_qty"], row["rmn_qty"]) == ("1", "0")
    price = int(row["avg_prvs"])
    assert price <= limit
    assert kis.cash() == CASH - price
    assert kis.orderable()["ord_psbl_cash"] == str(CASH - price)


def test_a_large_order_fills_partially_over_steps(kis: Caller) -> None:
    limit, moment, volume = _crossing(kis)
    odno = _odno(kis.order("buy", CODE, qty="900", price=str(limit), dvsn="00"))
    kis.sandbox.set_market_time(moment)
    row = kis.order_row(odno)
    first = max(1, int(volume * PARTICIPATION))
    assert int(row["tot_ccld_qty"]) == first and 0 < first < 900
    assert int(row["rmn_qty"]) == 900 - first
    holding = kis.balance()["output1"][0]
    assert (holding["pdno"], holding["hldg_qty"]) == (CODE, str(first))


def test_a_market_order_fills_at_the_current_price_and_the_books_add_up(kis: Caller) -> None:
    first = int(kis.quote(CODE)["stck_prpr"])
    _odno(kis.order("buy", CODE, qty="7"))
    kis.sandbox.set_market_time(at("11:00"))
    second = int(kis.quote(CODE)["stck_prpr"])
    _odno(kis.order("buy", CODE, qty="3"))
    sold_at = second
    _odno(kis.order("sell", CODE, qty="4"))
    body = kis.balance()
    holding, summary = body["output1"][0], body["output2"][0]
    cost = 7 * first + 3 * second
    assert holding["hldg_qty"] == "6"
    assert Decimal(holding["pchs_avg_pric"]) == (Decimal(cost) / 10).quantize(Decimal("0.0001"))
    assert summary["dnca_tot_amt"] == str(CASH - cost + 4 * sold_at)
    assert summary["thdt_buy_amt"] == str(cost) and summary["thdt_sll_amt"] == str(4 * sold_at)
    assert int(summary["tot_evlu_amt"]) == int(summary["dnca_tot_amt"]) + 6 * second


def test_modify_moves_the_remainder_to_a_new_order_at_the_new_price(kis: Caller) -> None:
    limit, _, _ = _crossing(kis)
    below = limit - 2000
    odno = _odno(kis.order("buy", CODE, qty="5", price=str(below), dvsn="00"))
    # Modify to a price below the market: it rests under a new number.
    rested = _odno(kis.revise(odno, cancel=False, price=str(below - 100)))
    row = kis.order_row(rested)
    assert (row["orgn_odno"], row["rmn_qty"], row["ord_unpr"]) == (odno, "5", str(below - 100))
    assert kis.order_row(odno)["rmn_qty"] == "0"
    assert kis.orderable()["ord_psbl_cash"] == str(CASH - 5 * (below - 100))
    # Modify to the best ask: the new order fills at once, at the book.
    ask = int(_snapshot(kis).asks[0][0])
    filled = _odno(kis.revise(rested, cancel=False, price=str(ask)))
    row = kis.order_row(filled)
    assert (row["orgn_odno"], row["tot_ccld_qty"], row["rmn_qty"]) == (rested, "5", "0")
    assert kis.cash() == CASH - 5 * ask


def test_cancel_part_then_all_then_nothing_left(kis: Caller) -> None:
    limit, _, _ = _crossing(kis)
    price = limit - 2000
    odno = _odno(kis.order("buy", CODE, qty="10", price=str(price), dvsn="00"))
    part = kis.revise(odno, whole=False, qty="3")
    assert rt(part) == (200, "0", "MCA00000")
    assert set(part.json()["output"]) == {"krx_fwdg_ord_orgno", "odno", "ord_tmd"}
    assert kis.order_row(odno)["rmn_qty"] == "7"
    assert kis.orderable()["ord_psbl_cash"] == str(CASH - 7 * price)
    assert rt(kis.revise(odno))[1] == "0"
    assert kis.order_row(odno)["rmn_qty"] == "0"
    assert kis.orderable()["ord_psbl_cash"] == str(CASH)
    assert rt(kis.revise(odno)) == (200, "1", "APBK0344")
    filled = _odno(kis.order("buy", CODE, qty="1"))
    assert rt(kis.revise(filled)) == (200, "1", "APBK0344")
    assert rt(kis.revise("0009999999")) == (200, "1", "APBK1010")
    assert rt(kis.revise(odno, RVSE_CNCL_DVSN_CD="03")) == (200, "1", "OPSQ2002")


def test_an_unfilled_order_expires_after_the_close_and_its_cash_returns(kis: Caller) -> None:
    low = int(
        kis.sandbox.market.snapshot(
            _snapshot(kis).instrument, datetime.fromisoformat(at("15:35"))
        ).low
    )
    odno = _odno(kis.order("buy", CODE, qty="10", price=str(low - 1000), dvsn="00"))
    assert kis.orderable()["ord_psbl_cash"] == str(CASH - 10 * (low - 1000))
    kis.sandbox.set_market_time(at("10:00", NEXT_TRADING_DAY))
    assert kis.orderable()["ord_psbl_cash"] == str(CASH)
    row = next(r for r in kis.daily(INQR_STRT_DT="20260301") if r["odno"] == odno)
    assert (row["tot_ccld_qty"], row["rmn_qty"], row["cnc_cfrm_qty"]) == ("0", "0", "10")


def test_deprecated_tr_ids_work_as_their_successors(kis: Caller) -> None:
    prefix = "T" if kis.sandbox.environment == "real" else "V"
    buy = kis.post(
        "/uapi/domestic-stock/v1/trading/order-cash",
        f"{prefix}TTC0802U",
        {
            "CANO": kis.cano,
            "ACNT_PRDT_CD": kis.product,
            "PDNO": CODE,
            "ORD_DVSN": "01",
            "ORD_QTY": "2",
            "ORD_UNPR": "0",
        },
    )
    assert kis.order_row(_odno(buy))["sll_buy_dvsn_cd"] == "02"
    sell = kis.order("sell", CODE, qty="1", **{})
    assert rt(sell)[1] == "0"
    cancel = kis.revise(_odno(buy), tr_id=f"{prefix}TTC0803U")
    assert rt(cancel) == (200, "1", "APBK0344")  # served: the filled buy has nothing left
    holding = kis.balance()["output1"][0]
    assert holding["hldg_qty"] == "1"


def _resv(kis: Caller, **overrides: str):  # type: ignore[no-untyped-def]
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "PDNO": CODE,
        "ORD_QTY": "2",
        "ORD_UNPR": "0",
        "SLL_BUY_DVSN_CD": "02",
        "ORD_DVSN_CD": "01",
        **overrides,
    }
    return body


def test_reservations_are_taken_after_hours_listed_modified_and_placed(
    caller_for: Callable[..., Caller],
) -> None:
    kis = caller_for("real", **market_options())
    refused = kis.post(ORDER_RESV, kis.tr["resv"], _resv(kis))
    assert rt(refused) == (200, "1", "KIER3672")
    kis.sandbox.set_market_time(at("17:00"))
    taken = kis.post(ORDER_RESV, kis.tr["resv"], _resv(kis))
    assert rt(taken)[:2] == (200, "0")
    assert set(taken.json()) >= {"rt_cd", "msg_cd", "msg", "output"}  # order-resv says msg
    first = taken.json()["output"]["rsvn_ord_seq"]
    other = kis.post(ORDER_RESV, kis.tr["resv"], _resv(kis, ORD_QTY="1"))
    second = other.json()["output"]["rsvn_ord_seq"]
    listed = kis.get(RESV_CCNL, kis.tr["resv_ccnl"], kis.account_params()).json()["output"]
    assert [(r["rsvn_ord_seq"], r["ord_rsvn_qty"]) for r in listed] == [(first, "2"), (second, "1")]
    assert {r["rsvn_ord_ord_dt"] for r in listed} == {NEXT_TRADING_DAY.replace("-", "")}
    cancelled = kis.post(
        ORDER_RESV_RVSECNCL, kis.tr["resv_cancel"], _resv(kis, RSVN_ORD_SEQ=second)
    )
    assert rt(cancelled)[:2] == (200, "0") and cancelled.json()["output"]["nrml_prcs_yn"] == "Y"
    modified = kis.post(
        ORDER_RESV_RVSECNCL, kis.tr["resv_modify"], _resv(kis, RSVN_ORD_SEQ=first, ORD_QTY="4")
    )
    assert rt(modified)[:2] == (200, "0")
    again = kis.post(ORDER_RESV_RVSECNCL, kis.tr["resv_cancel"], _resv(kis, RSVN_ORD_SEQ=second))
    assert rt(again) == (200, "1", "APBK0344")
    waiting = kis.get(RESV_CCNL, kis.tr["resv_ccnl"], kis.account_params(PRCS_DVSN_CD="2"))
    rows = waiting.json()["output"]
    assert [r["ord_rsvn_qty"] for r in rows] == ["4"]
    kis.sandbox.set_market_time(at("09:30", NEXT_TRADING_DAY))
    price = int(kis.quote(CODE)["stck_prpr"])
    processed = kis.get(RESV_CCNL, kis.tr["resv_ccnl"], kis.account_params(PRCS_DVSN_CD="1"))
    placed = [r for r in processed.json()["output"] if r["prcs_rslt"] == "처리"]
    assert len(placed) == 1 and placed[0]["odno"]
    row = kis.order_row(placed[0]["odno"])
    assert (row["ord_dt"], row["tot_ccld_qty"]) == (NEXT_TRADING_DAY.replace("-", ""), "4")
    assert kis.cash() == CASH - 4 * price
