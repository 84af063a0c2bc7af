"""Domestic bond orders and inquiries over HTTP: limit orders, 09:00-15:30, held bonds only."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sandbox_helpers import TRADING_DAY, Caller, at, market_options, rt

from stock_manager.sandbox.market import Snapshot

BOND = "/uapi/domestic-bond/v1/trading"
KTB = "KR103502GE97"
CASH = 100_000_000


@pytest.fixture
def kis(caller_for: Callable[..., Caller]) -> Caller:
    """Bond trading is real only: a real sandbox standing at 10:00 of the trading day."""
    return caller_for("real", **market_options("10:00"))


def _snap(kis: Caller) -> Snapshot:
    instrument = kis.sandbox.market.lookup(KTB)
    assert instrument is not None
    return kis.sandbox.market.snapshot(instrument)


def _common(kis: Caller, qty: int, price: Decimal | str) -> dict[str, str]:
    return {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": "01",
        "PDNO": KTB,
        "ORD_QTY2": str(qty),
        "BOND_ORD_UNPR": str(price),
        "SAMT_MKET_PTCI_YN": "N",
        "BOND_RTL_MKET_YN": "N",
        "IDCR_STFNO": "",
        "MGCO_APTM_ODNO": "",
        "ORD_SVR_DVSN_CD": "0",
        "CTAC_TLNO": "",
    }


def _buy(kis: Caller, qty: int, price: Decimal | str) -> httpx.Response:
    return kis.post(f"{BOND}/buy", "TTTC0952U", _common(kis, qty, price))


def _sell(kis: Caller, qty: int, price: Decimal | str) -> httpx.Response:
    body = {
        **_common(kis, qty, price),
        "ORD_DVSN": "01",
        "SPRX_YN": "N",
        "BUY_DT": "",
        "BUY_SEQ": "",
        "SLL_AGCO_OPPS_SLL_YN": "N",
    }
    return kis.post(f"{BOND}/sell", "TTTC0958U", body)


def _cancel(kis: Caller, odno: str) -> httpx.Response:
    body = {
        **_common(kis, 0, "0"),
        "ORGN_ODNO": odno,
        "QTY_ALL_ORD_YN": "Y",
        "RVSE_CNCL_DVSN_CD": "02",
    }
    return kis.post(f"{BOND}/order-rvsecncl", "TTTC0953U", body)


def _odno(response: httpx.Response) -> str:
    assert rt(response) == (200, "0", "MCA00000"), response.text
    odno: str = response.json()["output"]["odno"]
    return odno


def _get(kis: Caller, path: str, tr_id: str, **params: str) -> dict[str, Any]:
    query = {"CANO": kis.cano, "ACNT_PRDT_CD": "01", "CTX_AREA_FK200": "", "CTX_AREA_NK200": ""}
    response = kis.get(f"{BOND}/{path}", tr_id, {**query, **params})
    assert rt(response)[1] == "0", response.text
    body: dict[str, Any] = response.json()
    return body


def _balance(kis: Caller) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = _get(
        kis, "inquire-balance", "CTSC8407R", INQR_CNDT="00", PDNO="", BUY_DT=""
    )["output"]
    return rows


def _cash(kis: Caller) -> int:
    output = _get(
        kis, "inquire-psbl-order", "TTTC8910R", PDNO=KTB, BOND_ORD_UNPR="", SAMT_MKET_PTCI_YN="N"
    )["output"]
    return int(output["ord_psbl_cash"])


def test_buy_rest_cancel_and_balance(kis: Caller) -> None:
    snap = _snap(kis)
    ask = snap.asks[0][0]
    _odno(_buy(kis, 30, ask))
    # Priced per 10,000 of face, 1,000 of face per unit: 30 units cost ask * 3.
    assert _cash(kis) == CASH - int(ask * 3)
    rows = _balance(kis)
    assert [(r["pdno"], r["cblc_qty"], r["ord_psbl_qty"]) for r in rows] == [(KTB, "30", "30")]
    assert rows[0]["buy_dt"] == TRADING_DAY.replace("-", "")
    assert Decimal(rows[0]["buy_amt"]) == ask * 3

    resting = _odno(_buy(kis, 10, snap.last - 5))
    assert _cash(kis) == CASH - int(ask * 3) - int((snap.last - 5) * 1)  # the rest's hold
    open_rows = _get(kis, "inquire-psbl-rvsecncl", "CTSC8035R", ORD_DT="", ODNO="")["output"]
    assert [(r["odno"], r["ord_psbl_qty"]) for r in open_rows] == [(resting, "10")]
    cancel = _cancel(kis, resting)
    assert rt(cancel)[1] == "0"
    assert _cash(kis) == CASH - int(ask * 3)
    assert _get(kis, "inquire-psbl-rvsecncl", "CTSC8035R", ORD_DT="", ODNO="")["output"] == []
    assert rt(_cancel(kis, resting))[2] == "APBK0344"

    # output1 lists the orders newest first (the cancel record leads); output2 totals the fills.
    daily = _get(
        kis,
        "inquire-daily-ccld",
        "CTSC8013R",
        INQR_STRT_DT="",
        INQR_END_DT="",
        SLL_BUY_DVSN_CD="",
        SORT_SQN_DVSN="01",
        PDNO="",
        NCCS_YN="N",
    )
    assert daily["output1"][0]["orgn_odno"] == resting
    assert [row["tot_ccld_qty"] for row in daily["output1"]][-1] == "30"
    assert daily["output2"]["tot_ccld_qty_smtl"] == "30"


def test_sell_needs_the_bonds_and_sells_them(kis: Caller) -> None:
    snap = _snap(kis)
    assert rt(_sell(kis, 1, snap.last)) == (200, "1", "APBK0400")
    _odno(_buy(kis, 20, snap.asks[0][0]))
    assert rt(_sell(kis, 21, snap.last)) == (200, "1", "APBK0400")
    _odno(_sell(kis, 20, snap.bids[0][0]))
    assert _balance(kis) == []
    assert _cash(kis) == CASH - int(snap.asks[0][0] * 2) + int(snap.bids[0][0] * 2)


def test_refusals(kis: Caller) -> None:
    snap = _snap(kis)
    assert rt(_buy(kis, 0, snap.last))[2] == "APBK0634"
    assert rt(_buy(kis, 1, "abc"))[2] == "OPSQ2002"
    assert rt(_buy(kis, 1, snap.last + Decimal("0.5")))[2] == "APBK0506"  # tick is 1
    assert rt(_buy(kis, 10_000_000, snap.last))[2] == "APBK0952"
    unlisted = {**_common(kis, 1, snap.last), "PDNO": "KR0000000000"}
    assert rt(kis.post(f"{BOND}/buy", "TTTC0952U", unlisted))[2] == "APBK0656"
    kis.sandbox.set_market_time(at("15:45"))
    assert rt(_buy(kis, 1, snap.last)) == (200, "1", "APBK0918")
    assert _balance(kis) == []


def test_paper_has_no_bond_trading(caller_for: Callable[..., Caller]) -> None:
    paper = caller_for("paper", **market_options("10:00"))
    response = paper.post(f"{BOND}/buy", "TTTC0952U", _common(paper, 1, "9985"))
    assert rt(response) == (500, "1", "OPSQ0003")
