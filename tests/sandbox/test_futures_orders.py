"""Futures and options orders over HTTP: KRX day and night sessions, signed positions, CME."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sandbox_helpers import TRADING_DAY, Caller, at, market_options, rt

from stock_manager.sandbox.ledger import MARGIN_RATE
from stock_manager.sandbox.market import Snapshot
from stock_manager.sandbox.universe import Instrument

FO = "/uapi/domestic-futureoption/v1/trading"
FM = "/uapi/overseas-futureoption/v1/trading"
TRS = {
    "real": {
        "day": "TTTO1101U",
        "night": "STTN1101U",
        "rv_day": "TTTO1103U",
        "rv_night": "STTN1103U",
        "balance": "CTFO6118R",
        "ccnl": "TTTO5201R",
        "ngt_ccnl": "STTN5201R",
        "psbl": "TTTO5105R",
        "ngt_balance": "CTFN6118R",
    },
    "paper": {
        "day": "VTTO1101U",
        "night": "STTN1101U",
        "rv_day": "VTTO1103U",
        "balance": "VTFO6118R",
        "ccnl": "VTTO5201R",
        "psbl": "VTTO5105R",
        "ngt_balance": "CTFN6118R",
    },
}
CASH = Decimal(100_000_000)


def _caller(caller_for: Callable[..., Caller], domain: str, when: str = "10:00") -> Caller:
    return caller_for(domain, **market_options(when))


def _instrument(kis: Caller, code: str) -> Instrument:
    found = kis.sandbox.market.lookup(code)
    assert found is not None
    return found


def _snap(kis: Caller, code: str) -> Snapshot:
    return kis.sandbox.market.snapshot(_instrument(kis, code))


def _order(
    kis: Caller, side: str, code: str, qty: int, price: Decimal | str, *, dvsn: str = "01",
    session: str = "day", **extra: str,
) -> httpx.Response:  # fmt: skip
    body = {
        "ORD_PRCS_DVSN_CD": "02",
        "CANO": kis.cano,
        "ACNT_PRDT_CD": "03",
        "SLL_BUY_DVSN_CD": {"sell": "01", "buy": "02"}[side],
        "SHTN_PDNO": code,
        "ORD_QTY": str(qty),
        "UNIT_PRICE": str(price),
        "NMPR_TYPE_CD": "",
        "KRX_NMPR_CNDT_CD": "",
        "CTAC_TLNO": "",
        "FUOP_ITEM_DVSN_CD": "",
        "ORD_DVSN_CD": dvsn,
        **extra,
    }
    return kis.post(f"{FO}/order", TRS[kis.sandbox.environment][session], body)


def _revise(
    kis: Caller, odno: str, action: str, price: Decimal | str = "0", *, qty: int | None = None,
    session: str = "day",
) -> httpx.Response:  # fmt: skip
    body = {
        "ORD_PRCS_DVSN_CD": "02",
        "CANO": kis.cano,
        "ACNT_PRDT_CD": "03",
        "RVSE_CNCL_DVSN_CD": action,
        "ORGN_ODNO": odno,
        "ORD_QTY": str(qty or 0),
        "UNIT_PRICE": str(price),
        "NMPR_TYPE_CD": "",
        "KRX_NMPR_CNDT_CD": "",
        "RMN_QTY_YN": "N" if qty else "Y",
        "ORD_DVSN_CD": "01",
    }
    return kis.post(f"{FO}/order-rvsecncl", TRS[kis.sandbox.environment][f"rv_{session}"], body)


def _get(kis: Caller, name: str, path: str, **params: str) -> dict[str, Any]:
    query = {"CANO": kis.cano, "ACNT_PRDT_CD": "03", "CTX_AREA_FK200": "", "CTX_AREA_NK200": ""}
    response = kis.get(f"{FO}/{path}", TRS[kis.sandbox.environment][name], {**query, **params})
    assert rt(response)[1] == "0", response.text
    body: dict[str, Any] = response.json()
    return body


def _balance(kis: Caller, name: str = "balance", path: str = "inquire-balance") -> dict[str, Any]:
    return _get(kis, name, path, MGNA_DVSN="01", EXCC_STAT_CD="1", ACNT_PWD="")


def _ccnl(kis: Caller, name: str = "ccnl", path: str = "inquire-ccnl") -> list[dict[str, str]]:
    params = {
        "STRT_ORD_DT": TRADING_DAY.replace("-", ""),
        "END_ORD_DT": TRADING_DAY.replace("-", ""),
        "SLL_BUY_DVSN_CD": "00",
        "CCLD_NCCS_DVSN": "00",
        "SORT_SQN": "AS",
        "STRT_ODNO": "",
        "PDNO": "",
        "MKET_ID_CD": "",
        "FUOP_DVSN_CD": "",
        "SCRN_DVSN": "",
    }
    rows: list[dict[str, str]] = _get(kis, name, path, **params)["output1"]
    return rows


def _row(rows: list[dict[str, str]], odno: str) -> dict[str, str]:
    return next(r for r in rows if r["odno"] == odno)


def _odno(response: httpx.Response) -> str:
    assert rt(response) == (200, "0", "MCA00000"), response.text
    output = response.json()["output"]
    odno: str = (output[0] if isinstance(output, list) else output)["ODNO"]
    return odno


def _closable(kis: Caller, code: str, side: str) -> int:
    params = {"PDNO": code, "SLL_BUY_DVSN_CD": side, "UNIT_PRICE": "", "ORD_DVSN_CD": "02"}
    return int(_get(kis, "psbl", "inquire-psbl-order", **params)["output"]["lqd_psbl_qty1"])


# --- domestic day session -------------------------------------------------------------------


def test_day_order_fills_rests_and_fills_partially(caller_for: Callable[..., Caller]) -> None:
    kis = _caller(caller_for, "real")
    snap = _snap(kis, "111W12")
    best_ask, ask_size = snap.asks[0]
    # Marketable at the best ask: fills at once.
    filled = _odno(_order(kis, "buy", "111W12", 2, best_ask))
    # Larger than the best ask's size: that level fills, the rest rests at the limit.
    partial = _odno(_order(kis, "buy", "111W12", ask_size + 3, best_ask))
    # Below the market: rests until the walk comes down to it.
    now = datetime.fromisoformat(at("10:00"))
    later = now + timedelta(minutes=30)
    path = list(kis.sandbox.market.path(_instrument(kis, "111W12"), now, later))
    low = min(price for _, price, _ in path)
    assert low < snap.last
    resting = _odno(_order(kis, "buy", "111W12", 1, low))

    rows = _ccnl(kis)
    assert _row(rows, filled)["tot_ccld_qty"] == "2"
    assert _row(rows, partial)["tot_ccld_qty"] == str(ask_size)
    assert _row(rows, partial)["qty"] == "3"
    assert _row(rows, resting)["tot_ccld_qty"] == "0"
    assert Decimal(_row(rows, filled)["avg_idx"]) == best_ask

    kis.sandbox.set_market_time(later.isoformat())
    rows = _ccnl(kis)
    assert _row(rows, resting)["tot_ccld_qty"] == "1"
    assert Decimal(_row(rows, resting)["avg_idx"]) <= low
    (row,) = _balance(kis)["output1"]  # one position, in KIS's array of positions
    held = int(row["cblc_qty"])
    assert held >= 2 + ask_size + 1  # the partial's rest may fill as well


def test_market_order_opens_short_and_closing_books_pnl(caller_for: Callable[..., Caller]) -> None:
    kis = _caller(caller_for, "real")
    code = "105W12"
    instrument = _instrument(kis, code)
    first = _snap(kis, code).last
    _odno(_order(kis, "sell", code, 2, "0", dvsn="02"))
    balance = _balance(kis)
    (row,) = balance["output1"]
    assert (row["pdno"], row["cblc_qty"], row["sll_buy_dvsn_name"]) == (code, "2", "매도")
    margin = first * 2 * instrument.multiplier * MARGIN_RATE
    assert Decimal(balance["output2"]["mgna_tota"]) == margin.quantize(Decimal(1))
    assert Decimal(balance["output2"]["ord_psbl_cash"]) == (CASH - margin).quantize(Decimal(1))

    kis.sandbox.set_market_time(at("14:00"))
    second = _snap(kis, code).last
    assert second != first
    _odno(_order(kis, "buy", code, 2, "0", dvsn="02"))
    profit = (first - second) * 2 * instrument.multiplier
    balance = _balance(kis)
    assert Decimal(balance["output2"]["dnca_cash"]) == (CASH + profit).quantize(Decimal(1))
    assert Decimal(balance["output2"]["futr_trad_pfls_amt"]) == profit.quantize(Decimal(1))
    assert balance["output2"]["mgna_tota"] == "0"
    assert _closable(kis, code, "02") == 0  # flat again


def test_modify_and_cancel(caller_for: Callable[..., Caller]) -> None:
    kis = _caller(caller_for, "real")
    snap = _snap(kis, "101W12")
    low = snap.last - 10 * snap.tick
    original = _odno(_order(kis, "buy", "101W12", 2, low))
    modified = _odno(_revise(kis, original, "01", low - snap.tick))
    assert modified != original
    modify_reply = _revise(kis, original, "02")
    assert rt(modify_reply)[2] == "APBK0344"  # nothing left on the original
    cancel = _revise(kis, modified, "02", qty=1)
    cancel_output = cancel.json()["output"][0]
    assert cancel_output["ORGN_ODNO"] == modified
    rows = _ccnl(kis)
    assert _row(rows, modified)["qty"] == "1"
    assert _row(rows, modified)["orgn_odno"] == original
    assert _row(rows, cancel_output["ODNO"])["trad_dvsn_name"] == "매수취소"
    _odno(_revise(kis, modified, "02"))
    assert all(r["qty"] == "0" for r in _ccnl(kis))  # nothing left open
    # A filled order cannot be cancelled.
    filled = _odno(_order(kis, "buy", "101W12", 1, "0", dvsn="02"))
    assert rt(_revise(kis, filled, "02"))[2] == "APBK0344"
    assert rt(_revise(kis, "9999999", "02"))[2] == "APBK1010"


def test_band_tick_and_field_refusals(caller_for: Callable[..., Caller]) -> None:
    kis = _caller(caller_for, "real")
    snap = _snap(kis, "101W12")
    assert snap.upper is not None and snap.lower is not None
    cases = [
        (_order(kis, "buy", "101W12", 1, snap.upper + snap.tick), "APBK0509"),
        (_order(kis, "sell", "101W12", 1, snap.lower - snap.tick), "APBK0510"),
        (_order(kis, "buy", "101W12", 1, snap.last + Decimal("0.01")), "APBK0506"),
        (_order(kis, "buy", "101W12", 0, snap.last), "APBK0634"),
        (_order(kis, "buy", "005930", 1, snap.last), "APBK0656"),
        (_order(kis, "buy", "101W12", 1, "1e9"), "OPSQ2002"),
        (_order(kis, "buy", "101W12", 1, snap.last, dvsn="99"), "OPSQ2002"),
        (_order(kis, "buy", "101W12", 1, snap.last, ACNT_PRDT_CD="01"), "OPSQ2000"),
        (_order(kis, "buy", "101W12", 50, "0", dvsn="02"), "APBK0952"),  # margin over cash
    ]
    for response, code in cases:
        assert rt(response) == (200, "1", code), response.text
    assert _ccnl(kis) == []  # a refusal leaves no order behind


def test_orderable_quantity(caller_for: Callable[..., Caller]) -> None:
    kis = _caller(caller_for, "real")
    last = _snap(kis, "105W12").last
    params = {
        "PDNO": "105W12",
        "SLL_BUY_DVSN_CD": "02",
        "UNIT_PRICE": str(last),
        "ORD_DVSN_CD": "01",
    }
    before = _get(kis, "psbl", "inquire-psbl-order", **params)["output"]
    per_contract = last * 50_000 * MARGIN_RATE
    assert int(before["ord_psbl_qty"]) == int(CASH // per_contract)
    _odno(_order(kis, "sell", "105W12", 3, "0", dvsn="02"))
    after = _get(kis, "psbl", "inquire-psbl-order", **params)["output"]
    assert after["lqd_psbl_qty1"] == "3"
    assert int(after["tot_psbl_qty"]) == int(after["ord_psbl_qty"]) + 3


# --- night session --------------------------------------------------------------------------


def test_night_order_by_night_tr_and_day_tr_refused(caller_for: Callable[..., Caller]) -> None:
    kis = _caller(caller_for, "real", "20:00")
    refused = _order(kis, "buy", "101W12", 1, "0", dvsn="02")
    assert rt(refused) == (200, "1", "APBK0919")
    assert "STTN1101U" in refused.json()["msg1"]
    night = _odno(_order(kis, "buy", "101W12", 1, "0", dvsn="02", session="night"))
    rows = _ccnl(kis, "ngt_ccnl", "inquire-ngt-ccnl")
    assert _row(rows, night)["tot_ccld_qty"] == "1"
    assert night not in {r["odno"] for r in _ccnl(kis)}  # the day list has day orders only
    balance = _balance(kis, "ngt_balance", "inquire-ngt-balance")
    assert balance["output1"][0]["cblc_qty"] == "1"

    kis.sandbox.set_market_time(at("10:00"))
    assert rt(_order(kis, "buy", "101W12", 1, "0", dvsn="02", session="night"))[2] == "APBK0919"
    kis.sandbox.set_market_time(at("16:30"))  # between the day and night sessions
    assert rt(_order(kis, "buy", "101W12", 1, "0", dvsn="02"))[2] == "APBK0918"


def test_paper_day_order_and_night_refused(caller_for: Callable[..., Caller]) -> None:
    kis = _caller(caller_for, "paper")
    odno = _odno(_order(kis, "buy", "101W12", 1, "0", dvsn="02"))
    assert _row(_ccnl(kis), odno)["tot_ccld_qty"] == "1"
    night = _order(kis, "buy", "101W12", 1, "0", dvsn="02", session="night")
    assert rt(night) == (500, "1", "OPSQ0002")
    response = kis.get(
        f"{FO}/inquire-ngt-balance",
        "CTFN6118R",
        {"CANO": kis.cano, "ACNT_PRDT_CD": "03", "ACNT_PWD": "", "MGNA_DVSN": "01",
         "EXCC_STAT_CD": "1", "CTX_AREA_FK200": "", "CTX_AREA_NK200": ""},
    )  # fmt: skip
    assert rt(response) == (500, "1", "OPSQ0003")


# --- overseas (CME) -------------------------------------------------------------------------


def _fm_order(
    kis: Caller, side: str, code: str, qty: int, price: str, *, kind: str = "1"
) -> httpx.Response:
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": "08",
        "OVRS_FUTR_FX_PDNO": code,
        "SLL_BUY_DVSN_CD": {"sell": "01", "buy": "02"}[side],
        "FM_LQD_USTL_CCLD_DT": "",
        "FM_LQD_USTL_CCNO": "",
        "PRIC_DVSN_CD": kind,
        "FM_LIMIT_ORD_PRIC": price,
        "FM_STOP_ORD_PRIC": "",
        "FM_ORD_QTY": str(qty),
        "FM_LQD_LMT_ORD_PRIC": "",
        "FM_LQD_STOP_ORD_PRIC": "",
        "CCLD_CNDT_CD": "6" if kind == "1" else "2",
        "CPLX_ORD_DVSN_CD": "0",
        "ECIS_RSVN_ORD_YN": "N",
        "FM_HDGE_ORD_SCRN_YN": "N",
    }
    return kis.post(f"{FM}/order", "OTFM3001U", body)


def test_overseas_order_cancel_and_positions(caller_for: Callable[..., Caller]) -> None:
    # 10:00 KST on Tuesday is Monday evening in Chicago: Globex is open.
    kis = _caller(caller_for, "real")
    snap = _snap(kis, "ESZ26")
    low = snap.last - 20 * snap.tick
    placed = _fm_order(kis, "buy", "ESZ26", 1, str(low))
    assert rt(placed)[1] == "0", placed.text
    output = placed.json()["output"]
    assert output["ORD_DT"] == "20260310" and len(output["ODNO"]) == 8
    cancel_body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": "08",
        "ORGN_ORD_DT": output["ORD_DT"],
        "ORGN_ODNO": output["ODNO"],
        "FM_HDGE_ORD_SCRN_YN": "N",
        "FM_MKPR_CVSN_YN": "N",
    }
    assert rt(kis.post(f"{FM}/order-rvsecncl", "OTFM3003U", cancel_body))[1] == "0"
    again = kis.post(f"{FM}/order-rvsecncl", "OTFM3003U", cancel_body)
    assert rt(again)[2] == "APBK0344"

    crude = _snap(kis, "CLF27").last
    assert rt(_fm_order(kis, "sell", "CLF27", 2, "", kind="2"))[1] == "0"
    assert rt(_fm_order(kis, "buy", "ESZ26", 1, "", kind="3"))[2] == "OPSQ2002"  # no STOP book
    unpd = kis.get(
        f"{FM}/inquire-unpd",
        "OTFM1412R",
        {"CANO": kis.cano, "ACNT_PRDT_CD": "08", "FUOP_DVSN": "00", "CTX_AREA_FK100": "",
         "CTX_AREA_NK100": ""},
    )  # fmt: skip
    rows = unpd.json()["output"]
    assert [(r["ovrs_futr_fx_pdno"], r["sll_buy_dvsn_cd"], r["fm_ustl_qty"]) for r in rows] == [
        ("CLF27", "01", "2")
    ]
    assert Decimal(rows[0]["fm_ccld_avg_pric"]) == crude
    ccld = kis.get(
        f"{FM}/inquire-ccld",
        "OTFM3116R",
        {"CANO": kis.cano, "ACNT_PRDT_CD": "08", "CCLD_NCCS_DVSN": "01", "SLL_BUY_DVSN_CD": "",
         "FUOP_DVSN": "00", "CTX_AREA_FK200": "", "CTX_AREA_NK200": ""},
    )  # fmt: skip
    by_odno = {r["odno"]: r for r in ccld.json()["output"]}
    assert by_odno[output["ODNO"]]["fm_ord_rmn_qty"] == "0"
    deposit = kis.get(
        f"{FM}/inquire-deposit",
        "OTFM1411R",
        {"CANO": kis.cano, "ACNT_PRDT_CD": "08", "CRCY_CD": "USD", "INQR_DT": "20260310"},
    ).json()["output"]
    margin = crude * 2 * 1_000 * MARGIN_RATE
    assert Decimal(deposit["fm_brkg_mgn_amt"]) == margin
    assert Decimal(deposit["fm_ord_psbl_amt"]) == Decimal(100_000) - margin

    # Saturday morning in Seoul is Friday evening in Chicago: closed until Sunday 17:00.
    kis.sandbox.set_market_time("2026-03-14T10:00:00+09:00")
    assert rt(_fm_order(kis, "buy", "ESZ26", 1, str(low)))[2] == "APBK0918"
