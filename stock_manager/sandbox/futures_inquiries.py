"""Futures and options account inquiries, domestic (day and night) and overseas (CME).

Read from the exchange's books: positions are signed, cash is KRW for KRX derivatives and USD
for CME, margin is what the ledger holds (:data:`~.ledger.MARGIN_RATE` of the open notional).
Choices where KIS's behaviour is not public:

* The day inquiries (inquire-balance, inquire-ccnl, inquire-psbl-order) and the night ones
  (inquire-ngt-*) read the same books; the order lists show the orders placed in their own
  session (a day TR's orders in inquire-ccnl, a night TR's in inquire-ngt-ccnl).
* ``excc_unpr`` (정산가) is the current price; ``trad_pfls_amt`` is the profit or loss booked
  today, ``evlu_pfls_amt`` the open position's, both in won. Both balances list positions as
  an ``output1`` array (the catalog corrects the day one, whose example is written column by
  column).
* Orderable quantity (주문가능): what the orderable cash margins at the price asked (the current
  price for a market order), plus the opposite position it can close (청산가능).
* Overseas: inquire-ccld lists the current CME trade date's orders, inquire-unpd the open
  positions, inquire-deposit the USD (or TUS/TKR, also USD) books.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.codes import success
from stock_manager.sandbox.futures_orders import (
    BRANCH,
    DOMESTIC_FAMILY,
    DOMESTIC_MARKETS,
    DOMESTIC_PATH,
    DOMESTIC_PRODUCT,
    OVERSEAS_FAMILY,
    OVERSEAS_MARKETS,
    OVERSEAS_PATH,
    OVERSEAS_PRODUCT,
    SIDE_NAMES,
    decimal_of,
    domestic_instrument,
    overseas_instrument,
    overseas_odno,
    session_of,
    trade_date,
)
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.ledger import MARGIN_RATE, Ledger, Position, notional
from stock_manager.sandbox.listing import amount, page_of, rows_per_call, won
from stock_manager.sandbox.orders import Order
from stock_manager.sandbox.sessions import trading_day_of
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import Instrument

Reply = tuple[dict[str, Any], str]

SIDE_CODES = {"sell": "01", "buy": "02"}


def _books(state: SandboxState, call: GatewayCall, product: str) -> Ledger:
    fields.account_of(call.params, call.app.account, product)
    state.exchange.catch_up(state.market.now())
    return state.exchange.ledger(call.app.account.cano)


def _positions(ledger: Ledger, markets: Iterable[str]) -> list[Position]:
    wanted = set(markets)
    return [p for p in ledger.open_positions() if p.instrument.market in wanted]


def _valuation(state: SandboxState, position: Position) -> tuple[Decimal, Decimal, Decimal]:
    """(current price, value at it, open profit or loss) of a signed position."""
    price = state.market.snapshot(position.instrument).last
    value = notional(position.instrument, abs(position.quantity), price)
    profit = value - position.cost if position.quantity > 0 else position.cost - value
    return price, value, profit


def _realised_today(state: SandboxState, cano: str, markets: Iterable[str]) -> Decimal:
    """Profit booked today: fills of today minus the cost they closed, replayed per instrument."""
    wanted = set(markets)
    today = state.market.now().date()
    total = Decimal(0)
    fills: list[tuple[datetime, Instrument, int, Decimal]] = []
    for order in state.exchange.orders_of(cano):
        if order.instrument.market not in wanted:
            continue
        direction = 1 if order.side == "buy" else -1
        fills.extend(
            (e.moment, order.instrument, direction * e.quantity, e.price) for e in order.executions
        )
    held: dict[str, tuple[int, Decimal]] = {}
    for moment, instrument, change, price in sorted(fills, key=lambda f: f[0]):
        quantity, cost = held.get(instrument.code, (0, Decimal(0)))
        left = change
        if quantity and (quantity > 0) != (change > 0):
            closing = min(abs(change), abs(quantity))
            unit = cost / abs(quantity)
            proceeds = notional(instrument, closing, price)
            profit = proceeds - unit * closing if quantity > 0 else unit * closing - proceeds
            if moment.date() == today:
                total += profit
            cost -= unit * closing
            step = closing if change > 0 else -closing
            quantity += step
            left -= step
        if left:
            cost += notional(instrument, abs(left), price)
            quantity += left
        held[instrument.code] = (quantity, cost if quantity else Decimal(0))
    return total


# --- domestic -------------------------------------------------------------------------------


def _balance_row(state: SandboxState, cano: str, position: Position) -> dict[str, str]:
    instrument = position.instrument
    price, value, profit = _valuation(state, position)
    side = "buy" if position.quantity > 0 else "sell"
    return {
        "cano": cano,
        "acnt_prdt_cd": DOMESTIC_PRODUCT,
        "pdno": instrument.code,
        "prdt_type_cd": "301",
        "shtn_pdno": instrument.code,
        "prdt_name": instrument.name,
        "sll_buy_dvsn_name": SIDE_NAMES[side],
        "sll_buy_dvsn_cd": SIDE_CODES[side],
        "trad_dvsn_name": SIDE_NAMES[side],
        "cblc_qty": str(abs(position.quantity)),
        "excc_unpr": str(price),
        "ccld_avg_unpr1": f"{position.average_price:.2f}",
        "idx_clpr": str(price),
        "pchs_amt": won(position.cost),
        "evlu_amt": won(value),
        "evlu_pfls_amt": won(profit),
        "trad_pfls_amt": "0",
        "lqd_psbl_qty": str(abs(position.quantity)),
    }


def _balance_summary(
    state: SandboxState, ledger: Ledger, positions: list[Position]
) -> dict[str, str]:
    cash = ledger.cash.get("KRW", Decimal(0))
    orderable = ledger.orderable_cash("KRW")
    margin = ledger.held_cash.get("KRW", Decimal(0))
    open_profit = sum((_valuation(state, p)[2] for p in positions), Decimal(0))
    futures_profit = sum(
        (_valuation(state, p)[2] for p in positions if p.instrument.market == "KRX_FUTURES"),
        Decimal(0),
    )
    realised = _realised_today(state, ledger.cano, DOMESTIC_MARKETS)
    cost = sum((p.cost for p in positions), Decimal(0))
    value = sum((_valuation(state, p)[1] for p in positions), Decimal(0))
    return {
        "dnca_cash": won(cash),
        "frcr_dncl_amt": "0",
        "dnca_sbst": "0",
        "tot_dncl_amt": won(cash),
        "tot_ccld_amt": "0",
        "cash_mgna": won(margin),
        "sbst_mgna": "0",
        "mgna_tota": won(margin),
        "opt_dfpa": "0",
        "thdt_dfpa": "0",
        "rnwl_dfpa": "0",
        "fee": "0",
        "nxdy_dnca": won(cash),
        "nxdy_dncl_amt": won(cash),
        "prsm_dpast": won(cash + open_profit),
        "prsm_dpast_amt": won(cash + open_profit),
        "pprt_ord_psbl_cash": won(orderable),
        "add_mgna_cash": "0",
        "add_mgna_tota": "0",
        "futr_trad_pfls_amt": won(realised),
        "opt_trad_pfls_amt": "0",
        "futr_evlu_pfls_amt": won(futures_profit),
        "opt_evlu_pfls_amt": won(open_profit - futures_profit),
        "trad_pfls_amt_smtl": won(realised),
        "evlu_pfls_amt_smtl": won(open_profit),
        "wdrw_psbl_tot_amt": won(orderable),
        "ord_psbl_cash": won(orderable),
        "ord_psbl_sbst": "0",
        "ord_psbl_tota": won(orderable),
        "mmga_tot_amt": won(margin),
        "mmga_cash_amt": won(margin),
        "mtnc_rt": "0.00",
        "isfc_amt": "0",
        "pchs_amt_smtl": won(cost),
        "evlu_amt_smtl": won(value),
    }


def inquire_balance(state: SandboxState, call: GatewayCall) -> Reply:
    """선물옵션 잔고현황 (day) and 야간 잔고현황 (inquire-ngt-balance): positions and summary."""
    fields.choice(call.params, "MGNA_DVSN", {"01", "02"})
    fields.choice(call.params, "EXCC_STAT_CD", {"1", "2"})
    ledger = _books(state, call, DOMESTIC_PRODUCT)
    positions = _positions(ledger, DOMESTIC_MARKETS)
    rows = [_balance_row(state, ledger.cano, p) for p in positions]
    size = rows_per_call(state, call.path, 20)
    scope = f"{ledger.cano}03^FOBAL"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    body = success(
        ctx_area_fk200=fk,
        ctx_area_nk200=nk,
        output1=list(page),
        output2=_balance_summary(state, ledger, positions),
    )
    return body, tr_cont


def _ccnl_row(call: GatewayCall, order: Order) -> dict[str, str]:
    name = SIDE_NAMES[order.side]
    if order.action == "cancel":
        name += "취소"
    elif order.original_odno:
        name += "정정"
    price = order.price if order.price is not None else Decimal(0)
    return {
        "ord_gno_brno": BRANCH,
        "cano": order.cano,
        "csac_name": order.cano,
        "acnt_prdt_cd": DOMESTIC_PRODUCT,
        "ord_dt": order.placed.strftime("%Y%m%d"),
        "odno": order.odno,
        "orgn_odno": order.original_odno,
        "sll_buy_dvsn_cd": SIDE_CODES[order.side],
        "trad_dvsn_name": name,
        "nmpr_type_cd": order.order_type.code,
        "nmpr_type_name": order.order_type.name,
        "pdno": order.instrument.code,
        "prdt_name": order.instrument.name,
        "prdt_type_cd": "301",
        "ord_qty": str(order.quantity),
        "ord_idx": str(price),
        "ord_idx4": str(price),
        "qty": str(order.remaining),
        "ord_tmd": order.placed.strftime("%H%M%S"),
        "tot_ccld_qty": str(order.filled),
        "avg_idx": f"{order.average_price:.2f}",
        "tot_ccld_amt": won(notional(order.instrument, 1, order.filled_amount)),
        "rjct_qty": "0",
        "ingr_trad_rjct_rson_cd": "",
        "ingr_trad_rjct_rson_name": "",
        "ord_stfno": "",
        "sprd_item_yn": "N",
        "ord_ip_addr": "",
    }


def _date_param(params: Mapping[str, str], name: str) -> str:
    fields.optional_date(params, name)
    return params.get(name, "").strip()


def inquire_ccnl(state: SandboxState, call: GatewayCall) -> Reply:
    """선물옵션 주문체결내역 (day) and 야간 주문체결내역: the session's orders, filtered."""
    params = call.params
    ledger = _books(state, call, DOMESTIC_PRODUCT)
    session = "night" if call.path.endswith("ngt-ccnl") else "day"
    start, end = _date_param(params, "STRT_ORD_DT"), _date_param(params, "END_ORD_DT")
    side = params.get("SLL_BUY_DVSN_CD", "").strip() or "00"
    status = fields.choice(params, "CCLD_NCCS_DVSN", {"00", "01", "02"})
    pdno = params.get("PDNO", "").strip()
    kind = params.get("FUOP_DVSN_CD", "").strip()
    rows = []
    for order in state.exchange.orders_of(ledger.cano, DOMESTIC_PRODUCT):
        if order.family != DOMESTIC_FAMILY or session_of(order) != session:
            continue
        day = order.placed.strftime("%Y%m%d")
        if (start and day < start) or (end and day > end):
            continue
        if side != "00" and SIDE_CODES[order.side] != side:
            continue
        if (status == "01" and not order.filled) or (status == "02" and not order.remaining):
            continue
        if pdno and order.instrument.code != pdno:
            continue
        market = order.instrument.market
        if (kind == "01" and market != "KRX_FUTURES") or (kind == "02" and market != "KRX_OPTIONS"):
            continue
        rows.append(_ccnl_row(call, order))
    if params.get("SORT_SQN", "DS").strip() != "AS":
        rows.reverse()
    size = rows_per_call(state, call.path, 100)
    scope = f"{ledger.cano}03^FOCCNL^{session}"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    ordered = sum(int(r["ord_qty"]) for r in rows)
    filled = sum(int(r["tot_ccld_qty"]) for r in rows)
    money = sum(int(r["tot_ccld_amt"]) for r in rows)
    summary = {
        "tot_ord_qty": str(ordered),
        "tot_ccld_qty": str(filled),
        "tot_ccld_qty_smtl": str(filled),
        "tot_ccld_amt": str(money),
        "tot_ccld_amt_smtl": str(money),
        "fee_smtl": "0",
        "fee": "0",
        "ctac_tlno": "",
    }
    body = success(ctx_area_fk200=fk, ctx_area_nk200=nk, output1=list(page), output2=summary)
    return body, tr_cont


def _orderable(
    state: SandboxState, ledger: Ledger, instrument: Instrument, side: str, price: Decimal
) -> tuple[int, int]:
    """(new positions the cash margins at ``price``, opposite quantity it may close)."""
    position = ledger.position(instrument)
    closing = 0
    if position.quantity and (position.quantity > 0) != (side == "buy"):
        closing = abs(position.quantity)
        # Open closing orders already use part of it.
        for order in state.exchange.open_orders(ledger.cano):
            if order.instrument == instrument and order.side == side:
                closing -= order.remaining
        closing = max(0, closing)
    per_contract = notional(instrument, 1, price) * MARGIN_RATE
    cash = ledger.orderable_cash(instrument.currency)
    new = int(cash // per_contract) if per_contract > 0 else 0
    return max(0, new), closing


def _price_asked(
    state: SandboxState, params: Mapping[str, str], name: str, instrument: Instrument
) -> Decimal:
    text = params.get(name, "").strip()
    price = decimal_of(params, name) if text else Decimal(0)
    return price or state.market.snapshot(instrument).last


def inquire_psbl_order(state: SandboxState, call: GatewayCall) -> Reply:
    """선물옵션 주문가능 (day) and (야간)주문가능: new and closing quantities for PDNO."""
    params = call.params
    ledger = _books(state, call, DOMESTIC_PRODUCT)
    instrument = domestic_instrument(state, params, "PDNO")
    side_code = params.get("SLL_BUY_DVSN_CD", "").strip() or "02"
    side = "sell" if side_code == "01" else "buy"
    price = _price_asked(state, params, "UNIT_PRICE", instrument)
    new, closing = _orderable(state, ledger, instrument, side, price)
    snapshot = state.market.snapshot(instrument)
    output = {
        "max_ord_psbl_qty": str(new + closing),
        "tot_psbl_qty": str(new + closing),
        "lqd_psbl_qty": str(closing),
        "lqd_psbl_qty1": str(closing),
        "lqd_psbl_qty_1": str(closing),
        "ord_psbl_qty": str(new),
        "bass_idx": str(snapshot.last),
    }
    return success(output=output), ""


# --- overseas (CME) -------------------------------------------------------------------------


def _fm_row(order: Order) -> dict[str, str]:
    price = order.price if order.price is not None else Decimal(0)
    status = {"filled": "02", "cancelled": "03", "expired": "03"}.get(order.status, "01")
    ordered = trade_date(order.trading_day).strftime("%Y%m%d")
    return {
        "cano": order.cano,
        "acnt_prdt_cd": OVERSEAS_PRODUCT,
        "ord_dt": ordered,
        "odno": overseas_odno(order),
        "orgn_ord_dt": ordered if order.original_odno else "",
        "orgn_odno": order.original_odno[-8:],
        "ovrs_futr_fx_pdno": order.instrument.code,
        "rcit_dvsn_cd": {"new": "01", "modify": "02", "cancel": "03"}[order.action],
        "sll_buy_dvsn_cd": SIDE_CODES[order.side],
        "trad_stgy_dvsn_cd": "",
        "bass_pric_type_cd": order.order_type.code,
        "ord_stat_cd": status,
        "fm_ord_qty": str(order.quantity),
        "fm_ord_pric": amount(price),
        "fm_stop_ord_pric": "0.00",
        "rsvn_dvsn": "",
        "fm_ccld_qty": str(order.filled),
        "fm_ccld_pric": amount(order.average_price),
        "fm_ord_rmn_qty": str(order.remaining),
        "ord_grp_name": "",
        "erlm_dtl_dtime": order.placed.strftime("%Y%m%d%H%M%S000"),
        "ccld_dtl_dtime": order.executions[-1].moment.strftime("%Y%m%d%H%M%S000")
        if order.executions
        else "",
        "ord_stfno": "",
        "rmks1": "",
        "new_lqd_dvsn_cd": "",
        "fm_lqd_lmt_ord_pric": "0.00",
        "fm_lqd_stop_pric": "0.00",
        "ccld_cndt_cd": "2" if order.price is None else "6",
        "noti_vald_dt": ordered,
        "acnt_type_cd": "",
        "fuop_dvsn": "01",
    }


def overseas_inquire_ccld(state: SandboxState, call: GatewayCall) -> Reply:
    """해외선물옵션 당일주문내역: the current CME trade date's orders, filtered."""
    params = call.params
    ledger = _books(state, call, OVERSEAS_PRODUCT)
    status = fields.choice(params, "CCLD_NCCS_DVSN", {"01", "02", "03"})
    side = params.get("SLL_BUY_DVSN_CD", "").strip()
    kind = fields.choice(params, "FUOP_DVSN", {"00", "01", "02"})
    rows = []
    for order in state.exchange.orders_of(ledger.cano, OVERSEAS_PRODUCT):
        if order.family != OVERSEAS_FAMILY:
            continue
        today = trading_day_of(order.instrument, state.market.now())
        if order.trading_day != today or kind == "02":
            continue
        if side in SIDE_CODES.values() and SIDE_CODES[order.side] != side:
            continue
        if (status == "02" and not order.filled) or (status == "03" and not order.remaining):
            continue
        rows.append(_fm_row(order))
    size = rows_per_call(state, call.path, 100)
    scope = f"{ledger.cano}08^FMCCLD"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    return success(ctx_area_fk200=fk, ctx_area_nk200=nk, output=list(page)), tr_cont


def overseas_inquire_unpd(state: SandboxState, call: GatewayCall) -> Reply:
    """해외선물옵션 미결제내역조회: open CME positions with their valuation."""
    kind = fields.choice(call.params, "FUOP_DVSN", {"00", "01", "02"})
    ledger = _books(state, call, OVERSEAS_PRODUCT)
    rows = []
    for position in _positions(ledger, OVERSEAS_MARKETS):
        if kind == "02":
            continue
        price, _value, profit = _valuation(state, position)
        side = "buy" if position.quantity > 0 else "sell"
        rows.append(
            {
                "cano": ledger.cano,
                "acnt_prdt_cd": OVERSEAS_PRODUCT,
                "ovrs_futr_fx_pdno": position.instrument.code,
                "prdt_type_cd": "301",
                "crcy_cd": position.instrument.currency,
                "sll_buy_dvsn_cd": SIDE_CODES[side],
                "fm_ustl_qty": str(abs(position.quantity)),
                "fm_ccld_avg_pric": amount(position.average_price),
                "fm_now_pric": amount(price),
                "fm_evlu_pfls_amt": amount(profit),
                "fm_opt_evlu_amt": "0.00",
                "fm_otp_evlu_pfls_amt": "0.00",
                "fuop_dvsn": "01",
                "ecis_rsvn_ord_yn": "N",
                "fm_lqd_psbl_qty": str(abs(position.quantity)),
            }
        )
    size = rows_per_call(state, call.path, 100)
    scope = f"{ledger.cano}08^FMUNPD"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size)
    return success(ctx_area_fk100=fk, ctx_area_nk100=nk, output=list(page)), tr_cont


def overseas_inquire_deposit(state: SandboxState, call: GatewayCall) -> Reply:
    """해외선물옵션 예수금현황: the USD books (every currency code answers in USD)."""
    params = call.params
    code = fields.choice(
        params, "CRCY_CD", {"TUS", "TKR", "KRW", "USD", "EUR", "HKD", "CNY", "JPY", "VND"}
    )
    fields.optional_date(params, "INQR_DT")
    ledger = _books(state, call, OVERSEAS_PRODUCT)
    positions = _positions(ledger, OVERSEAS_MARKETS)
    cash = ledger.cash.get("USD", Decimal(0))
    margin = ledger.held_cash.get("USD", Decimal(0))
    open_profit = sum((_valuation(state, p)[2] for p in positions), Decimal(0))
    realised = _realised_today(state, ledger.cano, OVERSEAS_MARKETS)
    orderable = ledger.orderable_cash("USD")
    output = {
        "cano": ledger.cano,
        "acnt_prdt_cd": OVERSEAS_PRODUCT,
        "crcy_cd": code,
        "resp_dt": state.market.now().strftime("%Y%m%d"),
        "fm_nxdy_dncl_amt": amount(cash),
        "fm_tot_asst_evlu_amt": amount(cash + open_profit),
        "fm_dnca_rmnd": amount(cash),
        "fm_lqd_pfls_amt": amount(realised),
        "fm_fee": "0.00",
        "fm_fuop_evlu_pfls_amt": amount(open_profit),
        "fm_rcvb_amt": "0.00",
        "fm_brkg_mgn_amt": amount(margin),
        "fm_mntn_mgn_amt": amount(margin * Decimal("0.9")),
        "fm_add_mgn_amt": "0.00",
        "fm_risk_rt": "0.00",
        "fm_ord_psbl_amt": amount(orderable),
        "fm_drwg_psbl_amt": amount(orderable),
        "fm_echm_rqrm_amt": "0.00",
        "fm_drwg_prar_amt": "0.00",
        "fm_opt_tr_chgs": "0.00",
        "fm_opt_icld_asst_evlu_amt": amount(cash + open_profit),
        "fm_opt_evlu_amt": "0.00",
        "fm_crcy_sbst_amt": "0.00",
        "fm_crcy_sbst_use_amt": "0.00",
        "fm_crcy_sbst_stup_amt": "0.00",
    }
    return success(output=output), ""


def overseas_inquire_psamount(state: SandboxState, call: GatewayCall) -> Reply:
    """해외선물옵션 주문가능조회: new and closing contracts at FM_ORD_PRIC (or the last price)."""
    params = call.params
    ledger = _books(state, call, OVERSEAS_PRODUCT)
    instrument = overseas_instrument(state, params, "OVRS_FUTR_FX_PDNO")
    side_code = fields.choice(params, "SLL_BUY_DVSN_CD", {"01", "02"})
    side = "sell" if side_code == "01" else "buy"
    price = _price_asked(state, params, "FM_ORD_PRIC", instrument)
    new, closing = _orderable(state, ledger, instrument, side, price)
    at_market, _ = _orderable(
        state, ledger, instrument, side, state.market.snapshot(instrument).last
    )
    position = ledger.position(instrument)
    output = {
        "cano": ledger.cano,
        "acnt_prdt_cd": OVERSEAS_PRODUCT,
        "ovrs_futr_fx_pdno": instrument.code,
        "crcy_cd": instrument.currency,
        "sll_buy_dvsn_cd": side_code,
        "fm_ustl_qty": str(abs(position.quantity)),
        "fm_lqd_psbl_qty": str(closing),
        "fm_new_ord_psbl_qty": str(new),
        "fm_tot_ord_psbl_qty": str(new + closing),
        "fm_mkpr_tot_ord_psbl_qty": str(at_market + closing),
    }
    return success(output=output), ""


HANDLERS = {
    f"{DOMESTIC_PATH}/inquire-balance": inquire_balance,
    f"{DOMESTIC_PATH}/inquire-ngt-balance": inquire_balance,
    f"{DOMESTIC_PATH}/inquire-ccnl": inquire_ccnl,
    f"{DOMESTIC_PATH}/inquire-ngt-ccnl": inquire_ccnl,
    f"{DOMESTIC_PATH}/inquire-psbl-order": inquire_psbl_order,
    f"{DOMESTIC_PATH}/inquire-psbl-ngt-order": inquire_psbl_order,
    f"{OVERSEAS_PATH}/inquire-ccld": overseas_inquire_ccld,
    f"{OVERSEAS_PATH}/inquire-unpd": overseas_inquire_unpd,
    f"{OVERSEAS_PATH}/inquire-deposit": overseas_inquire_deposit,
    f"{OVERSEAS_PATH}/inquire-psamount": overseas_inquire_psamount,
}
