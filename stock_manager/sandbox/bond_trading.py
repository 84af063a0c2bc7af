"""Domestic bond (장내채권) orders and inquiries on the exchange, real only as KIS offers them.

Bonds trade on the stock account's product code 01, in KRW, priced per 10,000 won of face value
and ordered in units of 1,000 won of face (:func:`~.ledger.notional`), limit orders only, in
one session from 09:00 to 15:30 on KRX trading days. A buy holds its amount; a sell needs the
bonds (APBK0400 otherwise). Choices where KIS's behaviour is not public:

* BOND_ORD_UNPR takes decimals but the sandbox's bond tick is 1 (won per 10,000 of face); there
  is no daily band. 소액시장 (SAMT_MKET_PTCI_YN Y) and the retail market flag trade on the same
  book; the sell's lot selection (ORD_DVSN, BUY_DT, BUY_SEQ) and tax flags are read, not modelled.
* Modify (RVSE_CNCL_DVSN_CD 01) moves the remainder (QTY_ALL_ORD_YN Y) or ORD_QTY2 of it to
  BOND_ORD_UNPR; cancel (02) takes it off; both answer a new ODNO.
* inquire-daily-ccld answers the orders as the ``output1`` array and the totals as ``output2``,
  as KIS's example does (the catalog corrects the workbook's swapped layout). inquire-balance has
  one row per bond (buy_dt the first buy's day, buy_sqno 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.codes import BusinessError, success
from stock_manager.sandbox.futures_orders import decimal_of
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.ledger import Position, notional
from stock_manager.sandbox.listing import page_of, rows_per_call, won
from stock_manager.sandbox.orders import Order, OrderType, Side, Ticket
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import Instrument

Reply = tuple[dict[str, Any], str]

PRODUCT = "01"
FAMILY = "bond"
MARKET = "KRX_BONDS"
BRANCH = "91252"
LIMIT = OrderType("00", "지정가", True, frozenset({"regular"}), frozenset({"regular"}))
SIDE_CODES = {"sell": "01", "buy": "02"}
SIDE_NAMES = {"sell": "매도", "buy": "매수"}


def instrument_of(state: SandboxState, values: Mapping[str, Any]) -> Instrument:
    """The listed bond named by PDNO (APBK0656 when unlisted)."""
    code = fields.text(values, "PDNO").strip()
    found = state.market.lookup(code, MARKET)
    if found is None:
        raise BusinessError("APBK0656", f"해당 종목정보가 없습니다. (PDNO={fields.shown(code)})")
    return found


def _output(order: Order) -> dict[str, str]:
    return {
        "KRX_FWDG_ORD_ORGNO": BRANCH,
        "ODNO": order.odno,
        "ORD_TMD": order.placed.strftime("%H%M%S"),
    }


def _record(state: SandboxState, call: GatewayCall, odno: str) -> None:
    state.record_order(call.app, call.tr_id, call.path, call.body, odno)


def _place(state: SandboxState, call: GatewayCall, side: Side) -> Reply:
    body = call.body
    account = call.app.account
    fields.account_of(body, account, PRODUCT)
    instrument = instrument_of(state, body)
    quantity = fields.positive_quantity(body, "ORD_QTY2")
    price = decimal_of(body, "BOND_ORD_UNPR")
    fields.choice(body, "SAMT_MKET_PTCI_YN", {"N", "Y"})
    ticket = Ticket(account.cano, PRODUCT, instrument, side, quantity, price, LIMIT, FAMILY)
    order = state.exchange.place(ticket)
    _record(state, call, order.odno)
    return success(output=_output(order)), ""


def buy(state: SandboxState, call: GatewayCall) -> Reply:
    """장내채권 매수주문 (TTTC0952U): a limit buy."""
    return _place(state, call, "buy")


def sell(state: SandboxState, call: GatewayCall) -> Reply:
    """장내채권 매도주문 (TTTC0958U): a limit sell of bonds held."""
    fields.choice(call.body, "ORD_DVSN", {"01", "02", "03"})
    fields.choice(call.body, "SPRX_YN", {"N", "Y"})
    return _place(state, call, "sell")


def order_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """장내채권 정정취소주문 (TTTC0953U): modify (01) or cancel (02) the remainder."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account, PRODUCT)
    odno = fields.text(body, "ORGN_ODNO")
    original = state.exchange.find(account.cano, odno)
    if original is None or original.family != FAMILY or original.action == "cancel":
        raise BusinessError(
            "APBK1010", f"원주문번호가 존재하지 않습니다. (ORGN_ODNO={fields.shown(odno)})"
        )
    action = fields.choice(body, "RVSE_CNCL_DVSN_CD", {"01": "정정", "02": "취소"})
    whole = fields.optional_text(body, "QTY_ALL_ORD_YN").strip() == "Y"
    quantity = None if whole else fields.positive_quantity(body, "ORD_QTY2")
    if action == "02":
        record = state.exchange.cancel(account.cano, original, quantity)
    else:
        price = decimal_of(body, "BOND_ORD_UNPR")
        record = state.exchange.modify(account.cano, original, quantity, price, LIMIT)
    _record(state, call, record.odno)
    return success(output=_output(record)), ""


# --- inquiries ------------------------------------------------------------------------------


def _first_buy(state: SandboxState, cano: str, instrument: Instrument) -> date | None:
    days = [
        e.moment.date()
        for o in state.exchange.orders_of(cano, PRODUCT)
        if o.instrument == instrument and o.side == "buy"
        for e in o.executions
    ]
    return min(days) if days else None


def _balance_row(state: SandboxState, cano: str, position: Position) -> dict[str, str]:
    instrument = position.instrument
    bought = _first_buy(state, cano, instrument)
    return {
        "pdno": instrument.code,
        "prdt_name": instrument.name,
        "buy_dt": bought.strftime("%Y%m%d") if bought else "",
        "buy_sqno": "1",
        "cblc_qty": str(position.quantity),
        "agrx_qty": str(position.quantity),
        "sprx_qty": "0",
        "exdt": "",
        "buy_erng_rt": "0.000",
        "buy_unpr": f"{position.average_price:.2f}",
        "buy_amt": won(position.cost),
        "ord_psbl_qty": str(position.sellable),
    }


def inquire_balance(state: SandboxState, call: GatewayCall) -> Reply:
    """장내채권 잔고조회 (CTSC8407R): one row per bond held (INQR_CNDT 01: PDNO only)."""
    params = call.params
    account = call.app.account
    fields.account_of(params, account, PRODUCT)
    state.exchange.catch_up(state.market.now())
    which = fields.choice(params, "INQR_CNDT", {"00", "01"})
    pdno = params.get("PDNO", "").strip()
    ledger = state.exchange.ledger(account.cano)
    rows = [
        _balance_row(state, account.cano, p)
        for p in ledger.open_positions()
        if p.instrument.market == MARKET and (which == "00" or p.instrument.code == pdno)
    ]
    size = rows_per_call(state, call.path, 50)
    page, tr_cont, fk, nk = page_of(state, call, rows, f"{account.cano}01^BOND", size, width=200)
    return success(ctx_area_fk200=fk, ctx_area_nk200=nk, output=list(page)), tr_cont


def _order_row(order: Order) -> dict[str, str]:
    name = SIDE_NAMES[order.side]
    if order.action == "cancel":
        name += "취소"
    elif order.original_odno:
        name += "정정"
    price = order.price if order.price is not None else Decimal(0)
    return {
        "ord_dt": order.placed.strftime("%Y%m%d"),
        "odno": order.odno,
        "orgn_odno": order.original_odno,
        "ord_dvsn_name": order.order_type.name,
        "rvse_cncl_dvsn_name": {"modify": "정정", "cancel": "취소"}.get(order.action, ""),
        "sll_buy_dvsn_cd_name": name,
        "sll_buy_dvsn_cd": SIDE_CODES[order.side],
        "shtn_pdno": order.instrument.code,
        "pdno": order.instrument.code,
        "prdt_abrv_name": order.instrument.name,
        "ord_qty": str(order.quantity),
        "bond_ord_unpr": f"{price:.2f}",
        "ord_tmd": order.placed.strftime("%H%M%S"),
        "tot_ccld_qty": str(order.filled),
        "bond_avg_unpr": f"{order.average_price:.2f}",
        "tot_ccld_amt": won(notional(order.instrument, 1, order.filled_amount)),
        "loan_dt": "",
        "buy_dt": "",
        "samt_mket_ptci_yn_name": "일반",
        "samt_mket_ptci_yn": "N",
        "sprx_psbl_yn_ifom": "",
        "ord_mdia_dvsn_name": "OpenAPI",
        "nccs_qty": str(order.remaining),
        "ord_psbl_qty": str(order.remaining),
        "ord_dvsn_cd": order.order_type.code,
        "mgco_aptm_odno": "",
        "ord_gno_brno": BRANCH,
    }


def _bond_orders(state: SandboxState, cano: str) -> list[Order]:
    return [o for o in state.exchange.orders_of(cano, PRODUCT) if o.family == FAMILY]


def inquire_daily_ccld(state: SandboxState, call: GatewayCall) -> Reply:
    """장내채권 주문체결내역 (CTSC8013R): the account's bond orders, filtered as asked."""
    params = call.params
    account = call.app.account
    fields.account_of(params, account, PRODUCT)
    state.exchange.catch_up(state.market.now())
    fields.optional_date(params, "INQR_STRT_DT")
    fields.optional_date(params, "INQR_END_DT")
    start = params.get("INQR_STRT_DT", "").strip()
    end = params.get("INQR_END_DT", "").strip()
    side = params.get("SLL_BUY_DVSN_CD", "").strip()
    pdno = params.get("PDNO", "").strip()
    unfilled_only = params.get("NCCS_YN", "").strip() == "Y"
    rows = []
    for order in _bond_orders(state, account.cano):
        row = _order_row(order)
        day = row["ord_dt"]
        if (start and day < start) or (end and day > end):
            continue
        if side in ("01", "02") and row["sll_buy_dvsn_cd"] != side:
            continue
        if (pdno and order.instrument.code != pdno) or (unfilled_only and not order.remaining):
            continue
        rows.append(row)
    if params.get("SORT_SQN_DVSN", "").strip() != "02":
        rows.reverse()  # newest first unless 02 (sandbox choice: 01 역순, 02 정순)
    size = rows_per_call(state, call.path, 50)
    page, tr_cont, fk, nk = page_of(
        state, call, rows, f"{account.cano}01^BONDCCLD", size, width=200
    )
    filled = sum(int(r["tot_ccld_qty"]) for r in rows)
    money = sum(int(r["tot_ccld_amt"]) for r in rows)
    summary = {
        "tot_ord_qty": str(sum(int(r["ord_qty"]) for r in rows)),
        "tot_ccld_qty_smtl": str(filled),
        "tot_bond_ccld_avg_unpr": f"{Decimal(money) * 10 / filled:.2f}" if filled else "0.00",
        "tot_ccld_amt_smtl": str(money),
    }
    body = success(ctx_area_fk200=fk, ctx_area_nk200=nk, output1=list(page), output2=summary)
    return body, tr_cont


def inquire_psbl_order(state: SandboxState, call: GatewayCall) -> Reply:
    """장내채권 매수가능조회 (TTTC8910R): cash and how many units it buys at BOND_ORD_UNPR."""
    params = call.params
    account = call.app.account
    fields.account_of(params, account, PRODUCT)
    state.exchange.catch_up(state.market.now())
    instrument = instrument_of(state, params)
    text = params.get("BOND_ORD_UNPR", "").strip()
    price = (decimal_of(params, "BOND_ORD_UNPR") if text else Decimal(0)) or (
        state.market.snapshot(instrument).last
    )
    cash = state.exchange.ledger(account.cano).orderable_cash("KRW")
    unit = notional(instrument, 1, price)
    quantity = int(cash // unit) if unit else 0
    output = {
        "ord_psbl_cash": won(cash),
        "ord_psbl_sbst": "0",
        "ruse_psbl_amt": "0",
        "bond_ord_unpr2": f"{price:.2f}",
        "buy_psbl_amt": won(notional(instrument, quantity, price)),
        "buy_psbl_qty": str(quantity),
        "cma_evlu_amt": "0",
    }
    return success(output=output), ""


def inquire_psbl_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """채권정정취소가능주문조회 (CTSC8035R): open bond orders (ORD_DT, ODNO narrow it)."""
    params = call.params
    account = call.app.account
    fields.account_of(params, account, PRODUCT)
    state.exchange.catch_up(state.market.now())
    fields.optional_date(params, "ORD_DT")
    day = params.get("ORD_DT", "").strip()
    odno = params.get("ODNO", "").strip().lstrip("0")
    rows = [
        _order_row(o)
        for o in state.exchange.open_orders(account.cano, PRODUCT)
        if o.family == FAMILY
        and (not day or o.placed.strftime("%Y%m%d") == day)
        and (not odno or o.odno.lstrip("0") == odno)
    ]
    size = rows_per_call(state, call.path, 50)
    page, tr_cont, fk, nk = page_of(
        state, call, rows, f"{account.cano}01^BONDPSBL", size, width=200
    )
    return success(ctx_area_fk200=fk, ctx_area_nk200=nk, output=list(page)), tr_cont


TRADING_PATH = "/uapi/domestic-bond/v1/trading"
HANDLERS = {
    f"{TRADING_PATH}/buy": buy,
    f"{TRADING_PATH}/sell": sell,
    f"{TRADING_PATH}/order-rvsecncl": order_rvsecncl,
    f"{TRADING_PATH}/inquire-balance": inquire_balance,
    f"{TRADING_PATH}/inquire-daily-ccld": inquire_daily_ccld,
    f"{TRADING_PATH}/inquire-psbl-order": inquire_psbl_order,
    f"{TRADING_PATH}/inquire-psbl-rvsecncl": inquire_psbl_rvsecncl,
}
