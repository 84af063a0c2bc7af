"""Overseas stock orders on the sandbox's exchange, over real HTTP with hand-built KIS requests.

The market clock is set inside or outside each exchange's sessions; prices come from the seeded
walk (seed 0), which the tests read through :class:`Market` to pick limits that do or do not
cross, so every expectation follows from the sandbox's own model.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sandbox_helpers import Caller, rt

from stock_manager.sandbox.clock import SystemClock
from stock_manager.sandbox.market import Market
from stock_manager.sandbox.sessions import KST, MarketClock
from stock_manager.sandbox.universe import Instrument, lookup

BASE = "/uapi/overseas-stock/v1/trading"
ORDER, RVSECNCL = f"{BASE}/order", f"{BASE}/order-rvsecncl"
RESV, RESV_CCNL, RESV_LIST = (
    f"{BASE}/order-resv",
    f"{BASE}/order-resv-ccnl",
    f"{BASE}/order-resv-list",
)
DAYTIME, DAYTIME_RV = f"{BASE}/daytime-order", f"{BASE}/daytime-order-rvsecncl"
BALANCE, PRESENT = f"{BASE}/inquire-balance", f"{BASE}/inquire-present-balance"
CCNL, NCCS, PSAMOUNT = f"{BASE}/inquire-ccnl", f"{BASE}/inquire-nccs", f"{BASE}/inquire-psamount"

# TR_IDs copied by hand from KIS's documentation.
TR = {
    "real": {
        "buy": "TTTT1002U",
        "sell": "TTTT1006U",
        "buy-jp": "TTTS0308U",
        "rv-us": "TTTT1004U",
        "resv-buy": "TTTT3014U",
        "resv-asia": "TTTS3013U",
        "resv-ccnl": "TTTT3017U",
        "resv-list-us": "TTTT3039R",
        "balance": "TTTS3012R",
        "present": "CTRP6504R",
        "ccnl": "TTTS3035R",
        "nccs": "TTTS3018R",
        "psamount": "TTTS3007R",
        "day-buy": "TTTS6036U",
        "day-rv": "TTTS6038U",
    },
    "paper": {
        "buy": "VTTT1002U",
        "sell": "VTTT1001U",
        "buy-jp": "VTTS0308U",
        "rv-us": "VTTT1004U",
        "resv-buy": "VTTT3014U",
        "resv-asia": "VTTS3013U",
        "resv-ccnl": "VTTT3017U",
        "balance": "VTTS3012R",
        "present": "VTRP6504R",
        "ccnl": "VTTS3035R",
        "psamount": "VTTS3007R",
    },
}

US_OPEN = datetime(2026, 12, 1, 0, 30, tzinfo=KST)  # 2026-11-30 10:30 EST: US regular session
US_CLOSED = datetime(2026, 12, 1, 12, 0, tzinfo=KST)  # 22:00 EST: closed; also US daytime
TOKYO_OPEN = datetime(2026, 12, 1, 9, 30, tzinfo=KST)
TOKYO_LUNCH = datetime(2026, 12, 1, 12, 0, tzinfo=KST)


def _listed(code: str, market: str) -> Instrument:
    found = lookup(code, market)
    assert found is not None
    return found


AAPL = _listed("AAPL", "NASD")
TOYOTA = _listed("7203", "TKSE")
MARKET = Market(None, MarketClock(SystemClock(), US_OPEN))  # the sandboxes' default seed


def _sandbox(caller_for: Callable[..., Caller], domain: str, when: datetime) -> Caller:
    return caller_for(domain, market_time=when.isoformat())


def _tr(kis: Caller, name: str) -> str:
    return TR[kis.sandbox.environment][name]


def _order(
    kis: Caller,
    side: str,
    qty: int,
    price: Decimal | str,
    *,
    exchange: str = "NASD",
    pdno: str = "AAPL",
    dvsn: str = "00",
    tr: str | None = None,
) -> httpx.Response:
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "OVRS_EXCG_CD": exchange,
        "PDNO": pdno,
        "ORD_QTY": str(qty),
        "OVRS_ORD_UNPR": str(price),
        "SLL_TYPE": "00" if side == "sell" else "",
        "ORD_SVR_DVSN_CD": "0",
        "ORD_DVSN": dvsn,
    }
    return kis.post(ORDER, tr or _tr(kis, side), body)


def _rvsecncl(
    kis: Caller, odno: str, action: str, *, qty: int = 0, price: str = "0", path: str = RVSECNCL
) -> httpx.Response:
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "OVRS_EXCG_CD": "NASD",
        "PDNO": "AAPL",
        "ORGN_ODNO": odno,
        "RVSE_CNCL_DVSN_CD": action,
        "ORD_QTY": str(qty),
        "OVRS_ORD_UNPR": price,
        "MGCO_APTM_ODNO": "",
        "ORD_SVR_DVSN_CD": "0",
        "CTAC_TLNO": "",
    }
    tr = _tr(kis, "rv-us" if path == RVSECNCL else "day-rv")
    return kis.post(path, tr, body)


def _ok(answer: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()
    assert rt(answer) == (200, "0", "MCA00000"), body
    return body


def _rows(block: Any) -> list[dict[str, str]]:
    # KIS's workbook documents inquire-ccnl's output as one object (it is a list of orders);
    # the sandbox's reply shaping follows the workbook, so a test filters down to one order.
    return block if isinstance(block, list) else [block] if block.get("odno") else []


def _ccnl(kis: Caller, **extra: str) -> list[dict[str, str]]:
    params = kis.account_params(
        PDNO="",
        ORD_STRT_DT="",
        ORD_END_DT="",
        SLL_BUY_DVSN="00",
        CCLD_NCCS_DVSN="00",
        OVRS_EXCG_CD="",
        SORT_SQN="DS",
        ORD_DT="",
        ORD_GNO_BRNO="",
        ODNO="",
        CTX_AREA_NK200="",
        CTX_AREA_FK200="",
    )
    params.update(extra)
    return _rows(_ok(kis.get(CCNL, _tr(kis, "ccnl"), params))["output"])


def _by_odno(kis: Caller, odno: str) -> dict[str, str]:
    found = [r for r in _ccnl(kis, ODNO=odno) if r["odno"] == odno]
    assert len(found) == 1, found
    return found[0]


def _balance(kis: Caller, exchange: str = "NASD", currency: str = "USD") -> dict[str, Any]:
    params = kis.account_params(OVRS_EXCG_CD=exchange, TR_CRCY_CD=currency)
    params.update(CTX_AREA_FK200="", CTX_AREA_NK200="")
    return _ok(kis.get(BALANCE, _tr(kis, "balance"), params))


def _present(kis: Caller) -> dict[str, Any]:
    params = kis.account_params(
        WCRC_FRCR_DVSN_CD="02", NATN_CD="000", TR_MKET_CD="00", INQR_DVSN_CD="00"
    )
    return _ok(kis.get(PRESENT, _tr(kis, "present"), params))


def _orderable_usd(kis: Caller) -> Decimal:
    params = kis.account_params(OVRS_EXCG_CD="NASD", OVRS_ORD_UNPR="100", ITEM_CD="AAPL")
    output = _ok(kis.get(PSAMOUNT, _tr(kis, "psamount"), params))["output"]
    assert output["max_ord_psbl_qty"] == str(int(Decimal(output["ovrs_ord_psbl_amt"]) / 100))
    return Decimal(output["ovrs_ord_psbl_amt"])


def test_us_limit_buys_fill_or_rest_then_modify_cancel_and_show_in_inquiries(
    caller_for: Callable[..., Caller], domain: str
) -> None:
    kis = _sandbox(caller_for, domain, US_OPEN)
    snapshot = MARKET.snapshot(AAPL, US_OPEN)
    ask = snapshot.asks[0][0]
    # A marketable buy fills at once at the best ask.
    filled = _ok(_order(kis, "buy", 2, ask + 1))["output"]["ODNO"]
    row = _by_odno(kis, filled)
    assert (row["ft_ccld_qty"], row["nccs_qty"], Decimal(row["ft_ccld_unpr3"])) == ("2", "0", ask)
    # One far below the market rests; modify moves it, cancel ends it.
    low = (snapshot.last * Decimal("0.8")).quantize(Decimal("0.01"))
    resting = _ok(_order(kis, "buy", 3, low))["output"]["ODNO"]
    assert _by_odno(kis, resting)["nccs_qty"] == "3"
    assert _orderable_usd(kis) == 100_000 - 2 * ask - 3 * low
    moved = _ok(_rvsecncl(kis, resting, "01", price=str(low - 1)))["output"]["ODNO"]
    modified = _by_odno(kis, moved)
    assert (modified["orgn_odno"], modified["rvse_cncl_dvsn"], modified["nccs_qty"]) == (
        resting,
        "01",
        "3",
    )
    assert _by_odno(kis, resting)["nccs_qty"] == "0"
    assert _orderable_usd(kis) == 100_000 - 2 * ask - 3 * (low - 1)
    _ok(_rvsecncl(kis, moved, "02"))
    assert _by_odno(kis, moved)["nccs_qty"] == "0"
    assert _orderable_usd(kis) == 100_000 - 2 * ask
    # Nothing is left of a filled or cancelled order.
    assert rt(_rvsecncl(kis, filled, "02")) == (200, "1", "APBK0344")
    assert rt(_rvsecncl(kis, moved, "02")) == (200, "1", "APBK0344")
    assert rt(_rvsecncl(kis, "9999999", "02")) == (200, "1", "APBK1010")
    # The books: balance, present balance (KRW at the fixed 1,400 won per dollar).
    holding = _balance(kis)["output1"]
    assert [(h["ovrs_pdno"], h["ovrs_cblc_qty"]) for h in holding] == [("AAPL", "2")]
    assert Decimal(holding[0]["frcr_pchs_amt1"]) == 2 * ask
    present = _present(kis)
    usd = next(r for r in present["output2"] if r["crcy_cd"] == "USD")
    assert Decimal(usd["frcr_dncl_amt_2"]) == 100_000 - 2 * ask
    assert [r["pdno"] for r in present["output1"]] == ["AAPL"]
    assert present["output3"]["pchs_amt_smtl"] == str(round(2 * ask * 1400))
    if domain == "real":
        params = kis.account_params(OVRS_EXCG_CD="NASD", SORT_SQN="DS")
        params.update(CTX_AREA_FK200="", CTX_AREA_NK200="")
        assert _ok(kis.get(NCCS, _tr(kis, "nccs"), params))["output"] == []
        again = _ok(_order(kis, "buy", 1, low))["output"]["ODNO"]
        nccs = _ok(kis.get(NCCS, _tr(kis, "nccs"), params))["output"]
        assert [(r["odno"], r["nccs_qty"], r["ovrs_excg_cd"]) for r in nccs] == [
            (again, "1", "NASD")
        ]


def test_a_resting_buy_fills_when_the_walk_crosses_it(
    caller_for: Callable[..., Caller], domain: str
) -> None:
    kis = _sandbox(caller_for, domain, US_OPEN)
    later = US_OPEN + timedelta(hours=1)
    target = min(price for _, price, _ in MARKET.path(AAPL, US_OPEN, later))
    assert target < MARKET.snapshot(AAPL, US_OPEN).asks[0][0]  # not marketable on arrival
    odno = _ok(_order(kis, "buy", 1, target))["output"]["ODNO"]
    assert _by_odno(kis, odno)["nccs_qty"] == "1"
    kis.sandbox.set_market_time(later)
    row = _by_odno(kis, odno)
    assert (row["ft_ccld_qty"], row["nccs_qty"], Decimal(row["ft_ccld_unpr3"])) == (
        "1",
        "0",
        target,
    )
    assert [h["ovrs_cblc_qty"] for h in _balance(kis)["output1"]] == ["1"]


def test_a_large_order_fills_in_part_and_the_rest_rests(
    caller_for: Callable[..., Caller], domain: str
) -> None:
    kis = _sandbox(caller_for, domain, US_OPEN)
    coke = _listed("KO", "NYSE")
    price, size = MARKET.snapshot(coke, US_OPEN).asks[0]
    odno = _ok(_order(kis, "buy", size + 7, price, exchange="NYSE", pdno="KO"))["output"]["ODNO"]
    row = _by_odno(kis, odno)
    assert (row["ft_ccld_qty"], row["nccs_qty"]) == (str(size), "7")
    held = _balance(kis, "NYSE")["output1"]
    assert [(h["ovrs_pdno"], h["ovrs_cblc_qty"]) for h in held] == [("KO", str(size))]
    assert _orderable_usd(kis) == 100_000 - (size + 7) * price


def test_refusals_change_nothing(caller_for: Callable[..., Caller], domain: str) -> None:
    kis = _sandbox(caller_for, domain, US_OPEN)
    ask = MARKET.snapshot(AAPL, US_OPEN).asks[0][0]
    assert rt(_order(kis, "buy", 1000, ask)) == (200, "1", "APBK0952")  # about 266,000 USD
    assert rt(_order(kis, "sell", 1, ask)) == (200, "1", "APBK0400")
    assert rt(_order(kis, "buy", 1, "266.005")) == (200, "1", "APBK0506")
    market_style = _order(kis, "buy", 1, "0", dvsn="01")
    assert rt(market_style) == (200, "1", "OPSQ2002") and "ORD_DVSN" in market_style.json()["msg1"]
    wrong = _order(kis, "buy", 1, ask, tr=_tr(kis, "buy-jp"))
    assert rt(wrong) == (200, "1", "OPSQ2002") and "OVRS_EXCG_CD" in wrong.json()["msg1"]
    assert rt(_order(kis, "buy", 1, ask, exchange="NYSE")) == (200, "1", "APBK0656")
    if domain == "paper":  # paper takes limit orders only
        for dvsn, side in (("32", "buy"), ("31", "sell"), ("34", "buy")):
            assert rt(_order(kis, side, 1, ask, dvsn=dvsn))[2] == "OPSQ2002"
    else:
        assert rt(_order(kis, "buy", 1, ask, dvsn="34")) == (200, "1", "APBK0920")  # LOC
        assert rt(_order(kis, "sell", 1, "0", dvsn="31")) == (200, "1", "APBK0919")  # MOO now
        assert rt(_order(kis, "buy", 1, "0", dvsn="31"))[2] == "OPSQ2002"  # MOO is a sell
    assert kis.sandbox.stats()["orders"] == []
    assert _balance(kis)["output1"] == [] and _orderable_usd(kis) == 100_000
    kis.sandbox.set_market_time(US_CLOSED)
    assert rt(_order(kis, "buy", 1, ask)) == (200, "1", "APBK0918")


def test_a_tokyo_order_and_an_asian_reservation_over_lunch(
    caller_for: Callable[..., Caller], domain: str
) -> None:
    kis = _sandbox(caller_for, domain, TOKYO_OPEN)
    ask = MARKET.snapshot(TOYOTA, TOKYO_OPEN).asks[0][0]
    buy_jp = _tr(kis, "buy-jp")
    assert rt(_order(kis, "buy", 50, ask, exchange="TKSE", pdno="7203", tr=buy_jp)) == (
        200,
        "1",
        "APBK0507",
    )
    odno = _ok(_order(kis, "buy", 100, ask, exchange="TKSE", pdno="7203", tr=buy_jp))["output"][
        "ODNO"
    ]
    assert _by_odno(kis, odno)["ft_ccld_qty"] == "100"
    held = _balance(kis, "TKSE", "JPY")["output1"]
    assert [(h["ovrs_pdno"], h["ovrs_cblc_qty"], h["tr_crcy_cd"]) for h in held] == [
        ("7203", "100", "JPY")
    ]
    jpy = next(r for r in _present(kis)["output2"] if r["crcy_cd"] == "JPY")
    assert Decimal(jpy["frcr_dncl_amt_2"]) == 10_000_000 - 100 * ask
    kis.sandbox.set_market_time(TOKYO_LUNCH)
    lunch = _order(kis, "buy", 100, ask, exchange="TKSE", pdno="7203", tr=buy_jp)
    assert rt(lunch) == (200, "1", "APBK0918")
    reservation = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "SLL_BUY_DVSN_CD": "01",
        "RVSE_CNCL_DVSN_CD": "00",
        "PDNO": "7203",
        "PRDT_TYPE_CD": "515",
        "OVRS_EXCG_CD": "TKSE",
        "FT_ORD_QTY": "100",
        "FT_ORD_UNPR3": "1",  # a sell far below the market: it fills when placed
        "ORD_SVR_DVSN_CD": "0",
    }
    seq = _ok(kis.post(RESV, _tr(kis, "resv-asia"), reservation))["output"]["OVRS_RSVN_ODNO"]
    # A waiting reservation holds nothing: the shares are still sellable.
    assert [h["ord_psbl_qty"] for h in _balance(kis, "TKSE", "JPY")["output1"]] == ["100"]
    kis.sandbox.set_market_time(TOKYO_LUNCH + timedelta(minutes=40))  # 12:40, afternoon session
    sold = _ccnl(kis, SLL_BUY_DVSN="01")
    assert [(r["pdno"], r["ft_ccld_qty"]) for r in sold] == [("7203", "100")], seq
    assert _balance(kis, "TKSE", "JPY")["output1"] == []
    during = kis.post(RESV, _tr(kis, "resv-asia"), reservation)
    assert rt(during) == (200, "1", "KIER3672")


def test_a_us_reservation_is_placed_at_the_open_and_can_be_cancelled_before(
    caller_for: Callable[..., Caller], domain: str
) -> None:
    kis = _sandbox(caller_for, domain, US_CLOSED)
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "RVSE_CNCL_DVSN_CD": "00",
        "PDNO": "AAPL",
        "PRDT_TYPE_CD": "",
        "OVRS_EXCG_CD": "NASD",
        "FT_ORD_QTY": "2",
        "FT_ORD_UNPR3": "400.00",  # well above the market: fills at the open's book
        "ORD_SVR_DVSN_CD": "0",
        "ORD_DVSN": "00",
    }
    kept = _ok(kis.post(RESV, _tr(kis, "resv-buy"), body))["output"]
    dropped = _ok(kis.post(RESV, _tr(kis, "resv-buy"), {**body, "FT_ORD_QTY": "5"}))["output"]
    cancel = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "RSVN_ORD_RCIT_DT": dropped["RSVN_ORD_RCIT_DT"],
        "OVRS_RSVN_ODNO": dropped["OVRS_RSVN_ODNO"],
    }
    _ok(kis.post(RESV_CCNL, _tr(kis, "resv-ccnl"), cancel))
    assert rt(kis.post(RESV_CCNL, _tr(kis, "resv-ccnl"), cancel)) == (200, "1", "APBK0344")
    assert _orderable_usd(kis) == 100_000 and _balance(kis)["output1"] == []
    opening = datetime(2026, 12, 1, 23, 35, tzinfo=KST)  # 09:35 EST, five minutes in
    kis.sandbox.set_market_time(opening)
    rows = _ccnl(kis)
    assert [(r["pdno"], r["ft_ord_qty"], r["ft_ccld_qty"]) for r in rows] == [("AAPL", "2", "2")]
    assert rt(kis.post(RESV, _tr(kis, "resv-buy"), body)) == (200, "1", "KIER3672")
    if domain == "real":
        params = kis.account_params(
            INQR_STRT_DT="20261201",
            INQR_END_DT="20261201",
            INQR_DVSN_CD="00",
            PRDT_TYPE_CD="",
            OVRS_EXCG_CD="",
            CTX_AREA_FK200="",
            CTX_AREA_NK200="",
        )
        listed = _ok(kis.get(RESV_LIST, _tr(kis, "resv-list-us"), params))["output"]
        assert {(r["ovrs_rsvn_odno"], r["cncl_yn"], r["odno"]) for r in listed} == {
            (kept["OVRS_RSVN_ODNO"], "N", rows[0]["odno"]),
            (dropped["OVRS_RSVN_ODNO"], "Y", ""),
        }


def test_us_daytime_orders_are_real_only_and_trade_in_the_kst_daytime(
    caller_for: Callable[..., Caller],
) -> None:
    kis = _sandbox(caller_for, "real", US_CLOSED)
    book = MARKET.snapshot(AAPL, US_CLOSED)
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "OVRS_EXCG_CD": "NASD",
        "PDNO": "AAPL",
        "ORD_QTY": "1",
        "OVRS_ORD_UNPR": str(book.asks[0][0]),
        "CTAC_TLNO": "",
        "MGCO_APTM_ODNO": "",
        "ORD_SVR_DVSN_CD": "0",
        "ORD_DVSN": "00",
    }
    filled = _ok(kis.post(DAYTIME, _tr(kis, "day-buy"), body))["output"]["ODNO"]
    assert _by_odno(kis, filled)["ft_ccld_qty"] == "1"
    low = str((book.last * Decimal("0.8")).quantize(Decimal("0.01")))
    resting = _ok(kis.post(DAYTIME, _tr(kis, "day-buy"), {**body, "OVRS_ORD_UNPR": low}))
    odno = resting["output"]["ODNO"]
    assert rt(_rvsecncl(kis, odno, "02")) == (200, "1", "APBK1010")  # not the regular TR's
    _ok(_rvsecncl(kis, odno, "02", path=DAYTIME_RV))
    assert _by_odno(kis, odno)["nccs_qty"] == "0"
    kis.sandbox.set_market_time(US_OPEN)
    assert rt(kis.post(DAYTIME, _tr(kis, "day-buy"), body)) == (200, "1", "APBK0918")
    paper = _sandbox(caller_for, "paper", US_CLOSED)
    assert rt(paper.post(DAYTIME, "TTTS6036U", body))[1:] == ("1", "OPSQ0003")
