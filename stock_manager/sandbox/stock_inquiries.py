"""Domestic stock account inquiries, read from the exchange's books and orders.

Balance (paged, with the day's sold-out positions at quantity 0 as KIS shows them), orderable
amount, daily orders and fills (paged, recent and older TRs), cancellable orders (paged),
sellable quantity and the reservation list. Values are KIS's: strings, integers for KRW.
Pages hold KIS's rows per call for the domain (balance 50 real / 20 paper, daily fills 100 / 15).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.codes import success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.ledger import Ledger, Position
from stock_manager.sandbox.listing import page_of, rate, rows_per_call, won
from stock_manager.sandbox.orders import Order, Reservation
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.stock_orders import BRANCH, TRADING_PATH, instrument_of

Reply = tuple[dict[str, Any], str]

DOMESTIC = ("KOSPI", "KOSDAQ")
SIDE_NAMES = {"sell": ("01", "매도"), "buy": ("02", "매수")}
RECENT = timedelta(days=92)  # the recent-fills TR covers about three months


def _domestic_positions(state: SandboxState, ledger: Ledger) -> list[Position]:
    return [
        p
        for key, p in sorted(ledger.positions.items())
        if p.instrument.market in DOMESTIC and (p.quantity or p.bought_today or p.sold_today)
    ]


def _holding_row(state: SandboxState, position: Position) -> dict[str, str]:
    instrument = position.instrument
    price = state.market.snapshot(instrument).last
    value = price * position.quantity
    profit = value - position.cost
    return {
        "pdno": instrument.code,
        "prdt_name": instrument.name,
        "trad_dvsn_name": "현금",
        "bfdy_buy_qty": "0",
        "bfdy_sll_qty": "0",
        "thdt_buyqty": str(position.bought_today),
        "thdt_sll_qty": str(position.sold_today),
        "hldg_qty": str(position.quantity),
        "ord_psbl_qty": str(position.sellable),
        "pchs_avg_pric": f"{position.average_price:.4f}",
        "pchs_amt": won(position.cost),
        "prpr": won(price),
        "evlu_amt": won(value),
        "evlu_pfls_amt": won(profit),
        "evlu_pfls_rt": rate(profit, position.cost),
        "evlu_erng_rt": "0.00000000",
        "loan_dt": "",
        "loan_amt": "0",
        "stln_slng_chgs": "0",
        "expd_dt": "",
        "fltt_rt": rate(price - state.market.snapshot(instrument).previous_close, price),
        "bfdy_cprs_icdc": won(state.market.snapshot(instrument).change),
        "item_mgna_rt_name": "",
        "grta_rt_name": "",
        "sbst_pric": "0",
        "stck_loan_unpr": "0.0000",
    }


def _today(state: SandboxState) -> date:
    return state.market.now().date()


def _bought_sold(state: SandboxState, cano: str) -> tuple[Decimal, Decimal]:
    today = _today(state)
    bought = sold = Decimal(0)
    for order in state.exchange.orders_of(cano):
        if order.instrument.market not in DOMESTIC:
            continue
        for execution in order.executions:
            if execution.moment.date() == today:
                amount = execution.price * execution.quantity
                if order.side == "buy":
                    bought += amount
                else:
                    sold += amount
    return bought, sold


def _summary(state: SandboxState, ledger: Ledger, positions: list[Position]) -> dict[str, str]:
    cash = ledger.cash.get("KRW", Decimal(0))
    cost = sum((p.cost for p in positions), Decimal(0))
    value = sum(
        (state.market.snapshot(p.instrument).last * p.quantity for p in positions), Decimal(0)
    )
    bought, sold = _bought_sold(state, ledger.cano)
    total = cash + value
    return {
        "dnca_tot_amt": won(cash),
        "nxdy_excc_amt": won(cash),
        "prvs_rcdl_excc_amt": won(cash),
        "cma_evlu_amt": "0",
        "bfdy_buy_amt": "0",
        "thdt_buy_amt": won(bought),
        "nxdy_auto_rdpt_amt": "0",
        "bfdy_sll_amt": "0",
        "thdt_sll_amt": won(sold),
        "d2_auto_rdpt_amt": "0",
        "bfdy_tlex_amt": "0",
        "thdt_tlex_amt": "0",
        "tot_loan_amt": "0",
        "scts_evlu_amt": won(value),
        "tot_evlu_amt": won(total),
        "nass_amt": won(total),
        "fncg_gld_auto_rdpt_yn": "N",
        "pchs_amt_smtl_amt": won(cost),
        "evlu_amt_smtl_amt": won(value),
        "evlu_pfls_smtl_amt": won(value - cost),
        "tot_stln_slng_chgs": "0",
        "bfdy_tot_asst_evlu_amt": won(total),
        "asst_icdc_amt": "0",
        "asst_icdc_erng_rt": "0.00000000",
    }


def inquire_balance(state: SandboxState, call: GatewayCall) -> Reply:
    """주식잔고조회: holdings page by page (``output1``) and the account summary (``output2``)."""
    account = call.app.account
    fields.account_of(call.params, account)
    state.exchange.catch_up(state.market.now())
    ledger = state.exchange.ledger(account.cano)
    positions = _domestic_positions(state, ledger)
    rows = [_holding_row(state, p) for p in positions]
    size = rows_per_call(state, call.path, 20)
    page, tr_cont, fk, nk = page_of(state, call, rows, f"{account.cano}01^BALANCE", size)
    body = success(
        ctx_area_fk100=fk,
        ctx_area_nk100=nk,
        output1=list(page),
        output2=[_summary(state, ledger, [p for p in positions if p.quantity])],
    )
    return body, tr_cont


def inquire_psbl_order(state: SandboxState, call: GatewayCall) -> Reply:
    """매수가능조회: orderable cash, and how many shares of PDNO it buys at ORD_UNPR."""
    account = call.app.account
    fields.account_of(call.params, account)
    state.exchange.catch_up(state.market.now())
    instrument = instrument_of(state, call.params)
    # KIS documents a blank ORD_UNPR for a market-order inquiry; "0" means the same here.
    blank = not call.params.get("ORD_UNPR", "").strip()
    unit_price = 0 if blank else fields.non_negative_int(call.params, "ORD_UNPR")
    snapshot = state.market.snapshot(instrument)
    # A market order is priced at the upper limit, as KIS does for the amount it holds.
    price = Decimal(unit_price) or (snapshot.upper or snapshot.last)
    cash = state.exchange.ledger(account.cano).orderable_cash("KRW")
    quantity = int(cash // price) if price else 0
    output = {
        "ord_psbl_cash": won(cash),
        "ord_psbl_sbst": "0",
        "ruse_psbl_amt": "0",
        "fund_rpch_chgs": "0",
        "psbl_qty_calc_unpr": won(price),
        "nrcvb_buy_amt": won(cash),
        "nrcvb_buy_qty": str(quantity),
        "max_buy_amt": won(cash),
        "max_buy_qty": str(quantity),
        "cma_evlu_amt": "0",
        "ovrs_re_use_amt_wcrc": "0",
        "ord_psbl_frcr_amt_wcrc": "0",
    }
    return success(output=output), ""


def inquire_psbl_sell(state: SandboxState, call: GatewayCall) -> Reply:
    """매도가능수량조회: the position in PDNO and how much of it a sell may use."""
    account = call.app.account
    fields.account_of(call.params, account)
    state.exchange.catch_up(state.market.now())
    instrument = instrument_of(state, call.params)
    position = state.exchange.ledger(account.cano).position(instrument)
    price = state.market.snapshot(instrument).last
    value = price * position.quantity
    output = {
        "pdno": instrument.code,
        "prdt_name": instrument.name,
        "buy_qty": str(position.bought_today),
        "sll_qty": str(position.sold_today),
        "cblc_qty": str(position.quantity),
        "nsvg_qty": "0",
        "ord_psbl_qty": str(position.sellable),
        "pchs_avg_pric": f"{position.average_price:.4f}",
        "pchs_amt": won(position.cost),
        "now_pric": won(price),
        "evlu_amt": won(value),
        "evlu_pfls_amt": won(value - position.cost),
        "evlu_pfls_rt": rate(value - position.cost, position.cost),
    }
    return success(output1=output), ""


def _order_row(order: Order) -> dict[str, str]:
    code, name = SIDE_NAMES[order.side]
    if order.action == "cancel":
        name += "취소"
    elif order.original_odno:
        name += "정정"
    filled = order.filled
    price = order.price if order.price is not None else Decimal(0)
    return {
        "ord_dt": order.placed.strftime("%Y%m%d"),
        "ord_gno_brno": BRANCH,
        "odno": order.odno,
        "orgn_odno": order.original_odno,
        "ord_dvsn_name": order.order_type.name,
        "sll_buy_dvsn_cd": code,
        "sll_buy_dvsn_cd_name": name,
        "pdno": order.instrument.code,
        "prdt_name": order.instrument.name,
        "ord_qty": str(order.quantity),
        "ord_unpr": won(price),
        "ord_tmd": order.placed.strftime("%H%M%S"),
        "tot_ccld_qty": str(filled),
        "avg_prvs": won(order.average_price),
        "cncl_yn": "Y" if order.action == "cancel" else "N",
        "tot_ccld_amt": won(order.filled_amount),
        "loan_dt": "",
        "ordr_empno": "",
        "ord_dvsn_cd": order.order_type.code,
        "cnc_cfrm_qty": str(order.quantity if order.action == "cancel" else order.cancelled),
        "rmn_qty": str(order.remaining),
        "rjct_qty": "0",
        "ccld_cndt_name": {"ioc": "IOC", "fok": "FOK"}.get(order.order_type.tif, "없음"),
        "excg_dvsn_cd": "01",
        "excg_id_dvsn_Cd": order.venue,
        "ord_orgno": BRANCH,
    }


def _date_param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if value:
        fields.optional_date(params, name)
    return value


def inquire_daily_ccld(state: SandboxState, call: GatewayCall) -> Reply:
    """주식일별주문체결조회: the account's orders, filtered as asked, newest first by default."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    state.exchange.catch_up(state.market.now())
    start = _date_param(params, "INQR_STRT_DT")
    end = _date_param(params, "INQR_END_DT")
    side = params.get("SLL_BUY_DVSN_CD", "00").strip() or "00"
    filled_filter = params.get("CCLD_DVSN", "00").strip() or "00"
    pdno = params.get("PDNO", "").strip()
    odno = params.get("ODNO", "").strip().lstrip("0")
    boundary = (_today(state) - RECENT).strftime("%Y%m%d")
    rows = []
    for order in state.exchange.orders_of(account.cano, "01"):
        if order.family not in ("stock", "credit"):
            continue
        row = _order_row(order)
        day = row["ord_dt"]
        if (call.role == "older") != (day < boundary):
            continue
        if (start and day < start) or (end and day > end):
            continue
        if side != "00" and row["sll_buy_dvsn_cd"] != side:
            continue
        if filled_filter == "01" and not order.filled:
            continue
        if filled_filter == "02" and not order.remaining:
            continue
        if (pdno and order.instrument.code != pdno) or (odno and order.odno.lstrip("0") != odno):
            continue
        rows.append(row)
    if params.get("INQR_DVSN", "00").strip() != "01":
        rows.reverse()
    size = rows_per_call(state, call.path, 15)
    scope = f"{account.cano}01^CCLD^{call.role}"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size)
    summary = {
        "tot_ord_qty": str(sum(int(r["ord_qty"]) for r in rows)),
        "tot_ccld_qty": str(sum(int(r["tot_ccld_qty"]) for r in rows)),
        "tot_ccld_amt": str(sum(int(r["tot_ccld_amt"]) for r in rows)),
        "prsm_tlex_smtl": "0",
        "pchs_avg_pric": "0.0000",
    }
    body = success(ctx_area_fk100=fk, ctx_area_nk100=nk, output1=list(page), output2=summary)
    return body, tr_cont


def inquire_psbl_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """주식정정취소가능주문조회: open orders with their cancellable quantity (``psbl_qty``)."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    state.exchange.catch_up(state.market.now())
    side = params.get("INQR_DVSN_2", "0").strip() or "0"
    rows = []
    for order in state.exchange.open_orders(account.cano, "01"):
        if order.family not in ("stock", "credit"):
            continue
        if side != "0" and SIDE_NAMES[order.side][0] != {"1": "01", "2": "02"}[side]:
            continue
        row = _order_row(order)
        row.update(
            rvse_cncl_dvsn_name="정정" if order.original_odno else "",
            psbl_qty=str(order.remaining),
            excg_id_dvsn_cd=order.venue,
            excg_id_dvsn_name=order.venue,
            mgco_aptm_odno="",
            stpm_cndt_pric="0",
            stpm_efct_occr_yn="N",
        )
        rows.append(row)
    if params.get("INQR_DVSN_1", "0").strip() == "1":
        rows.sort(key=lambda r: (r["pdno"], r["odno"]))
    size = rows_per_call(state, call.path, 50)
    page, tr_cont, fk, nk = page_of(state, call, rows, f"{account.cano}01^PSBL", size)
    return success(ctx_area_fk100=fk, ctx_area_nk100=nk, output=list(page)), tr_cont


def _reservation_row(reservation: Reservation) -> dict[str, str]:
    ticket = reservation.ticket
    code, _name = SIDE_NAMES[ticket.side]
    price = ticket.price or Decimal(0)
    return {
        "rsvn_ord_seq": reservation.seq,
        "rsvn_ord_ord_dt": reservation.submit_day.strftime("%Y%m%d"),
        "rsvn_ord_rcit_dt": reservation.created.strftime("%Y%m%d"),
        "pdno": ticket.instrument.code,
        "ord_dvsn_cd": ticket.order_type.code,
        "ord_rsvn_qty": str(ticket.quantity),
        "tot_ccld_qty": "0",
        "cncl_ord_dt": reservation.created.strftime("%Y%m%d")
        if reservation.status == "cancelled"
        else "",
        "ord_tmd": reservation.created.strftime("%H%M%S"),
        "odno": reservation.odno,
        "rsvn_ord_rcit_tmd": reservation.created.strftime("%H%M%S"),
        "kor_item_shtn_name": ticket.instrument.name,
        "sll_buy_dvsn_cd": code,
        "ord_rsvn_unpr": won(price),
        "tot_ccld_amt": "0",
        "prcs_rslt": {"waiting": "미처리", "submitted": "처리", "cancelled": "취소"}.get(
            reservation.status, "거부"
        ),
        "ord_dvsn_name": ticket.order_type.name,
        "rsvn_end_dt": reservation.end_day.strftime("%Y%m%d"),
    }


def order_resv_ccnl(state: SandboxState, call: GatewayCall) -> Reply:
    """주식예약주문조회: the account's reservations (PRCS_DVSN_CD 1 processed, 2 waiting)."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    state.exchange.catch_up(state.market.now())
    which = params.get("PRCS_DVSN_CD", "0").strip() or "0"
    rows = []
    for reservation in state.exchange.reservations.values():
        if reservation.ticket.cano != account.cano or reservation.ticket.family != "stock":
            continue
        waiting = reservation.status == "waiting"
        if (which == "1" and waiting) or (which == "2" and not waiting):
            continue
        rows.append(_reservation_row(reservation))
    size = rows_per_call(state, call.path, 20)
    scope = f"{account.cano}01^RSVN"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    body = success(ctx_area_fk200=fk, ctx_area_nk200=nk, output=list(page))
    return body, tr_cont


HANDLERS = {
    f"{TRADING_PATH}/inquire-balance": inquire_balance,
    f"{TRADING_PATH}/inquire-psbl-order": inquire_psbl_order,
    f"{TRADING_PATH}/inquire-psbl-sell": inquire_psbl_sell,
    f"{TRADING_PATH}/inquire-daily-ccld": inquire_daily_ccld,
    f"{TRADING_PATH}/inquire-psbl-rvsecncl": inquire_psbl_rvsecncl,
    f"{TRADING_PATH}/order-resv-ccnl": order_resv_ccnl,
}
