"""Overseas stock account inquiries, read from the exchange's books and orders.

Balance (paged, per exchange and currency), open orders (미체결, real only), orders and fills
(paged, filtered), the settled-basis present balance (per holding, per currency and in KRW),
the orderable amount and the reservation list (real only). Every inquiry catches the exchange
up first, so it shows the fills up to the market time. Choices where KIS's behaviour is not
public:

* Amounts in a foreign currency have two decimals, prices four (KIS pads more; the digits
  carry the same value). KRW amounts are whole won.
* KRW values (present balance's output3, ``pchs_rmnd_wcrc_amt``, ``exrt``) use the fixed
  sandbox rates of :data:`RATES` (won per unit), not a market feed, so tests can compute them.
* OVRS_EXCG_CD ``NASD`` means every US exchange in the balance (real, as KIS documents; ``NAS``
  is Nasdaq alone) and in the open-order and fills lists; ``""`` or ``"%"`` means every
  exchange in the fills list. Dates are the exchange's local order dates (현지시각 기준).
* The ledger does not book realised profit separately, so realised-P&L fields read 0.
* Rows per call are KIS's (balance 100 real, fills 20 real / 15 paper, open orders 40).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.codes import success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.ledger import Ledger, Position
from stock_manager.sandbox.listing import amount, page_of, rate, rows_per_call, won
from stock_manager.sandbox.orders import Order, Reservation
from stock_manager.sandbox.overseas_orders import (
    ASIA,
    BRANCH,
    DAYTIME_FAMILY,
    EXCHANGES,
    FAMILY,
    PRODUCT_TYPES,
    TRADING_PATH,
    US,
    decimal_of,
    exchange_of,
    instrument_of,
)
from stock_manager.sandbox.sessions import KST, zone
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import UNIVERSE, Instrument

Reply = tuple[dict[str, Any], str]

FAMILIES = (FAMILY, DAYTIME_FAMILY)
#: Fixed sandbox exchange rates, won per one unit of the currency.
RATES: dict[str, Decimal] = {
    "USD": Decimal("1400.00"),
    "JPY": Decimal("9.40"),
    "HKD": Decimal("180.00"),
    "CNY": Decimal("195.00"),
    "VND": Decimal("0.0560"),
}
CURRENCY_NAMES = {
    "USD": "미국 달러",
    "JPY": "일본 엔",
    "HKD": "홍콩 달러",
    "CNY": "중국 위안",
    "VND": "베트남 동",
}
#: NATN_CD of KIS's present balance: the currencies and exchanges of each country.
COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "840": ("미국", US),
    "344": ("홍콩", ("SEHK",)),
    "156": ("중국", ("SHAA", "SZAA")),
    "392": ("일본", ("TKSE",)),
    "704": ("베트남", ("HASE", "VNSE")),
}
US_MARKET_CODES = {"01": "NASD", "02": "NYSE", "05": "AMEX"}
MARKET_NAMES = {
    "NASD": "나스닥",
    "NYSE": "뉴욕",
    "AMEX": "아멕스",
    "TKSE": "도쿄",
    "SEHK": "홍콩",
    "SHAA": "상해",
    "SZAA": "심천",
    "HASE": "하노이",
    "VNSE": "호치민",
}
SIDE_NAMES = {"sell": ("01", "매도"), "buy": ("02", "매수")}


def _country_of(market: str) -> tuple[str, str]:
    for code, (name, markets) in COUNTRIES.items():
        if market in markets:
            return code, name
    raise ValueError(market)


def _price(value: Decimal) -> str:
    return amount(value, 4)


def _money(value: Decimal) -> str:
    return amount(value, 2)


def _krw(value: Decimal, currency: str) -> Decimal:
    return value * RATES[currency]


def _catch_up(state: SandboxState) -> None:
    state.exchange.catch_up(state.market.now())


def _overseas_positions(ledger: Ledger, markets: Iterable[str]) -> list[Position]:
    wanted = set(markets)
    return [p for p in ledger.open_positions() if p.instrument.market in wanted]


def _markets_for(code: str, real: bool) -> tuple[str, ...]:
    # KIS: NASD is every US exchange (real), NAS Nasdaq alone; paper's NASD is Nasdaq.
    if code == "NAS":
        return ("NASD",)
    if code == "NASD" and real:
        return US
    return (code,)


def _today_amounts(
    state: SandboxState, cano: str, currency: str, instrument: Instrument | None = None
) -> tuple[Decimal, Decimal]:
    """Bought and sold amounts of today's (KST) fills in ``currency`` (of one instrument)."""
    today = state.market.now().astimezone(KST).date()
    bought = sold = Decimal(0)
    for order in state.exchange.orders_of(cano):
        if order.family not in FAMILIES or order.instrument.currency != currency:
            continue
        if instrument is not None and order.instrument != instrument:
            continue
        for execution in order.executions:
            if execution.moment.astimezone(KST).date() == today:
                value = execution.price * execution.quantity
                if order.side == "buy":
                    bought += value
                else:
                    sold += value
    return bought, sold


# --- balance --------------------------------------------------------------------------------


def _balance_row(state: SandboxState, cano: str, position: Position) -> dict[str, str]:
    instrument = position.instrument
    price = state.market.snapshot(instrument).last
    value = price * position.quantity
    profit = value - position.cost
    return {
        "cano": cano,
        "acnt_prdt_cd": "01",
        "prdt_type_cd": PRODUCT_TYPES[instrument.market],
        "ovrs_pdno": instrument.code,
        "ovrs_item_name": instrument.name,
        "frcr_evlu_pfls_amt": _money(profit),
        "evlu_pfls_rt": rate(profit, position.cost),
        "pchs_avg_pric": _price(position.average_price),
        "ovrs_cblc_qty": str(position.quantity),
        "ord_psbl_qty": str(position.sellable),
        "frcr_pchs_amt1": _money(position.cost),
        "ovrs_stck_evlu_amt": _money(value),
        "now_pric2": _price(price),
        "tr_crcy_cd": instrument.currency,
        "ovrs_excg_cd": instrument.market,
        "loan_type_cd": "10",
        "loan_dt": "",
        "expd_dt": "",
    }


def inquire_balance(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 잔고: holdings on the exchange(s) in one currency, and their totals."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    _catch_up(state)
    exchange = exchange_of(params, (*EXCHANGES, "NAS"))
    currency = fields.choice(params, "TR_CRCY_CD", set(RATES))
    markets = _markets_for(exchange, state.environment == "real")
    ledger = state.exchange.ledger(account.cano)
    positions = [
        p for p in _overseas_positions(ledger, markets) if p.instrument.currency == currency
    ]
    rows = [_balance_row(state, account.cano, p) for p in positions]
    cost = sum((p.cost for p in positions), Decimal(0))
    value = sum(
        (state.market.snapshot(p.instrument).last * p.quantity for p in positions), Decimal(0)
    )
    bought, _sold = _today_amounts(state, account.cano, currency)
    summary = {
        "frcr_pchs_amt1": _money(cost),
        "ovrs_rlzt_pfls_amt": "0.00",
        "ovrs_tot_pfls": _money(value - cost),
        "rlzt_erng_rt": "0.00",
        "tot_evlu_pfls_amt": _money(value - cost),
        "tot_pftrt": rate(value - cost, cost),
        "frcr_buy_amt_smtl1": _money(bought),
        "ovrs_rlzt_pfls_amt2": "0.00",
        "frcr_buy_amt_smtl2": _money(bought),
    }
    size = rows_per_call(state, call.path, 100)
    scope = f"{account.cano}01^OVRS-BAL^{exchange}^{currency}"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    body = success(ctx_area_fk200=fk, ctx_area_nk200=nk, output1=list(page), output2=summary)
    return body, tr_cont


# --- orders: open orders and the order/fill list --------------------------------------------


def _local_day(order: Order) -> str:
    return order.placed.astimezone(zone(order.instrument.market)).strftime("%Y%m%d")


def _order_row(order: Order) -> dict[str, str]:
    instrument = order.instrument
    code, name = SIDE_NAMES[order.side]
    if order.action == "cancel":
        change, change_name = "02", "취소"
    elif order.original_odno:
        change, change_name = "01", "정정"
    else:
        change, change_name = "00", ""
    price = order.price if order.price is not None else Decimal(0)
    natn, natn_name = _country_of(instrument.market)
    return {
        "ord_dt": _local_day(order),
        "ord_gno_brno": BRANCH,
        "odno": order.odno,
        "orgn_odno": order.original_odno,
        "sll_buy_dvsn_cd": code,
        "sll_buy_dvsn_cd_name": name + change_name,
        "rvse_cncl_dvsn": change,
        "rvse_cncl_dvsn_cd": change,
        "rvse_cncl_dvsn_name": change_name,
        "rvse_cncl_dvsn_cd_name": change_name,
        "pdno": instrument.code,
        "prdt_name": instrument.name,
        "ft_ord_qty": str(order.quantity),
        "ft_ord_unpr3": _price(price),
        "ft_ccld_qty": str(order.filled),
        "ft_ccld_unpr3": _price(order.average_price),
        "ft_ccld_amt3": _money(order.filled_amount),
        "nccs_qty": str(order.remaining),
        "prcs_stat_name": "완료" if order.status != "open" or order.filled else "전송",
        "rjct_rson": "",
        "rjct_rson_name": "",
        "ord_tmd": order.placed.astimezone(zone(instrument.market)).strftime("%H%M%S"),
        "tr_mket_name": MARKET_NAMES[instrument.market],
        "tr_natn": natn,
        "tr_natn_name": natn_name,
        "natn_cd": natn,
        "natn_kor_name": natn_name,
        "ovrs_excg_cd": instrument.market,
        "tr_crcy_cd": instrument.currency,
        "dmst_ord_dt": order.placed.astimezone(KST).strftime("%Y%m%d"),
        "thco_ord_tmd": order.placed.astimezone(KST).strftime("%H%M%S"),
        "loan_type_cd": "10",
        "loan_dt": "",
        "mdia_dvsn_name": "OpenAPI",
        "usa_amk_exts_rqst_yn": "N",
        "splt_buy_attr_name": "",
    }


def _exchange_filter(params: Mapping[str, str], state: SandboxState) -> tuple[str, ...]:
    code = params.get("OVRS_EXCG_CD", "").strip()
    if code in ("", "%"):
        return EXCHANGES
    if code not in EXCHANGES:
        raise fields.bad("OVRS_EXCG_CD", code)
    return US if code == "NASD" else (code,)


def inquire_nccs(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 미체결내역 (real only): open orders with their unfilled quantity."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    _catch_up(state)
    markets = _exchange_filter(params, state)
    rows = [
        _order_row(o)
        for o in state.exchange.open_orders(account.cano, "01")
        if o.family in FAMILIES and o.instrument.market in markets
    ]
    if params.get("SORT_SQN", "").strip() not in ("", "DS"):
        rows.reverse()
    size = rows_per_call(state, call.path, 40)
    scope = f"{account.cano}01^OVRS-NCCS^{','.join(markets)}"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    return success(ctx_area_fk200=fk, ctx_area_nk200=nk, output=list(page)), tr_cont


def _day(params: Mapping[str, str], name: str) -> str:
    found = fields.optional_date(params, name)
    return found.strftime("%Y%m%d") if found else ""


def inquire_ccnl(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 주문체결내역: the account's orders, modifies and cancels, filtered as asked."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    _catch_up(state)
    start, end = _day(params, "ORD_STRT_DT"), _day(params, "ORD_END_DT")
    side = params.get("SLL_BUY_DVSN", "00").strip() or "00"
    filled = params.get("CCLD_NCCS_DVSN", "00").strip() or "00"
    for name, value in (("SLL_BUY_DVSN", side), ("CCLD_NCCS_DVSN", filled)):
        if value not in ("00", "01", "02"):
            raise fields.bad(name, value)
    pdno = params.get("PDNO", "").strip().upper()
    odno = params.get("ODNO", "").strip().lstrip("0")
    markets = _exchange_filter(params, state)
    rows = []
    for order in state.exchange.orders_of(account.cano, "01"):
        if order.family not in FAMILIES or order.instrument.market not in markets:
            continue
        row = _order_row(order)
        if (start and row["ord_dt"] < start) or (end and row["ord_dt"] > end):
            continue
        if side != "00" and row["sll_buy_dvsn_cd"] != side:
            continue
        if (filled == "01" and not order.filled) or (filled == "02" and not order.remaining):
            continue
        if pdno not in ("", "%") and order.instrument.code.upper() != pdno:
            continue
        if odno and order.odno.lstrip("0") != odno:
            continue
        rows.append(row)
    if params.get("SORT_SQN", "DS").strip() == "AS":
        rows.reverse()
    size = rows_per_call(state, call.path, 20)
    scope = f"{account.cano}01^OVRS-CCNL"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    return success(ctx_area_fk200=fk, ctx_area_nk200=nk, output=list(page)), tr_cont


# --- present balance and orderable amount ---------------------------------------------------


def _present_row(state: SandboxState, cano: str, position: Position) -> dict[str, str]:
    instrument = position.instrument
    currency = instrument.currency
    price = state.market.snapshot(instrument).last
    value = price * position.quantity
    natn, natn_name = _country_of(instrument.market)
    bought, sold = _today_amounts(state, cano, currency, instrument)
    return {
        "prdt_name": instrument.name,
        "cblc_qty13": str(position.quantity),
        "thdt_buy_ccld_qty1": str(position.bought_today),
        "thdt_sll_ccld_qty1": str(position.sold_today),
        "ccld_qty_smtl1": str(position.quantity),
        "ord_psbl_qty1": str(position.sellable),
        "frcr_pchs_amt": _money(position.cost),
        "frcr_evlu_amt2": _money(value),
        "evlu_pfls_amt2": _money(value - position.cost),
        "evlu_pfls_rt1": rate(value - position.cost, position.cost),
        "pdno": instrument.code,
        "bass_exrt": _price(RATES[currency]),
        "buy_crcy_cd": currency,
        "ovrs_now_pric1": _price(price),
        "avg_unpr3": _price(position.average_price),
        "tr_mket_name": MARKET_NAMES[instrument.market],
        "natn_kor_name": natn_name,
        "pchs_rmnd_wcrc_amt": won(_krw(position.cost, currency)),
        "thdt_buy_ccld_frcr_amt": _money(bought),
        "thdt_sll_ccld_frcr_amt": _money(sold),
        "unit_amt": "1",
        "std_pdno": instrument.code,
        "prdt_type_cd": PRODUCT_TYPES[instrument.market],
        "scts_dvsn_name": "보통",
        "loan_rmnd": "0",
        "loan_dt": "",
        "loan_expd_dt": "",
        "ovrs_excg_cd": instrument.market,
        "item_lnkg_excg_cd": natn,
    }


def inquire_present_balance(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 체결기준현재잔고: holdings, cash per currency and totals in KRW (fixed rates)."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    _catch_up(state)
    fields.choice(params, "WCRC_FRCR_DVSN_CD", {"01": "원화", "02": "외화"})
    country = fields.choice(params, "NATN_CD", {"000": "전체", **{k: k for k in COUNTRIES}})
    market_code = params.get("TR_MKET_CD", "00").strip() or "00"
    kind = fields.choice(params, "INQR_DVSN_CD", {"00": "전체", "01": "일반", "02": "미니스탁"})
    if country == "000":
        markets: tuple[str, ...] = EXCHANGES
    else:
        markets = COUNTRIES[country][1]
    if market_code != "00":
        if country != "840" or market_code not in US_MARKET_CODES:
            raise fields.bad("TR_MKET_CD", market_code)
        markets = (US_MARKET_CODES[market_code],)
    ledger = state.exchange.ledger(account.cano)
    # The sandbox holds no 미니스탁 (fractional) positions.
    positions = [] if kind == "02" else _overseas_positions(ledger, markets)
    rows = [_present_row(state, account.cano, p) for p in positions]
    currencies = sorted({i.currency for m in markets for i in _listed_in(m)})
    per_currency = []
    cash_krw = held_krw = usable_krw = value_krw = cost_krw = Decimal(0)
    for currency in currencies:
        held = [p for p in positions if p.instrument.currency == currency]
        value = sum(
            (state.market.snapshot(p.instrument).last * p.quantity for p in held), Decimal(0)
        )
        cost = sum((p.cost for p in held), Decimal(0))
        cash = ledger.cash.get(currency, Decimal(0))
        orderable = ledger.orderable_cash(currency)
        bought, sold = _today_amounts(state, account.cano, currency)
        per_currency.append(
            {
                "crcy_cd": currency,
                "crcy_cd_name": CURRENCY_NAMES[currency],
                "frcr_buy_amt_smtl": _money(bought),
                "frcr_sll_amt_smtl": _money(sold),
                "frcr_dncl_amt_2": _money(cash),
                "frst_bltn_exrt": _price(RATES[currency]),
                "frcr_buy_mgn_amt": _money(cash - orderable),
                "frcr_etc_mgna": "0.00",
                "frcr_drwg_psbl_amt_1": _money(orderable),
                "frcr_evlu_amt2": _money(value),
                "acpl_cstd_crcy_yn": "Y",
                "nxdy_frcr_drwg_psbl_amt": _money(orderable),
            }
        )
        cash_krw += _krw(cash, currency)
        held_krw += _krw(cash - orderable, currency)
        usable_krw += _krw(orderable, currency)
        value_krw += _krw(value, currency)
        cost_krw += _krw(cost, currency)
    krw_cash = ledger.cash.get("KRW", Decimal(0))
    totals = {
        "pchs_amt_smtl": won(cost_krw),
        "evlu_amt_smtl": won(value_krw),
        "evlu_pfls_amt_smtl": won(value_krw - cost_krw),
        "dncl_amt": won(krw_cash),
        "cma_evlu_amt": "0",
        "tot_dncl_amt": won(krw_cash + cash_krw),
        "etc_mgna": "0",
        "wdrw_psbl_tot_amt": won(ledger.orderable_cash("KRW") + usable_krw),
        "frcr_evlu_tota": won(cash_krw),
        "evlu_erng_rt1": rate(value_krw - cost_krw, cost_krw),
        "pchs_amt_smtl_amt": won(cost_krw),
        "evlu_amt_smtl_amt": won(value_krw),
        "tot_evlu_pfls_amt": won(value_krw - cost_krw),
        "tot_asst_amt": won(krw_cash + cash_krw + value_krw),
        "buy_mgn_amt": won(held_krw),
        "mgna_tota": won(held_krw),
        "frcr_use_psbl_amt": won(usable_krw),
        "ustl_sll_amt_smtl": "0",
        "ustl_buy_amt_smtl": "0",
        "tot_frcr_cblc_smtl": won(cash_krw),
        "tot_loan_amt": "0",
    }
    return success(output1=rows, output2=per_currency, output3=totals), ""


def _listed_in(market: str) -> list[Instrument]:
    return [i for i in UNIVERSE if i.market == market]


def inquire_psamount(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 매수가능금액조회: orderable cash in the stock's currency and the quantity it buys.

    OVRS_ORD_UNPR ``0`` prices the quantity at the last price.
    """
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    _catch_up(state)
    exchange = exchange_of(params, EXCHANGES)
    instrument = instrument_of(state, params, exchange, "ITEM_CD")
    price = decimal_of(params, "OVRS_ORD_UNPR") or state.market.snapshot(instrument).last
    currency = instrument.currency
    orderable = max(Decimal(0), state.exchange.ledger(account.cano).orderable_cash(currency))
    units = (orderable / (price * instrument.multiplier)).to_integral_value(ROUND_FLOOR)
    quantity = int(units) - int(units) % instrument.lot
    output = {
        "tr_crcy_cd": currency,
        "ord_psbl_frcr_amt": _money(orderable),
        "sll_ruse_psbl_amt": "0.00",
        "ovrs_ord_psbl_amt": _money(orderable),
        "max_ord_psbl_qty": str(quantity),
        "echm_af_ord_psbl_amt": _money(orderable),
        "echm_af_ord_psbl_qty": str(quantity),
        "ord_psbl_qty": str(quantity),
        "exrt": _price(RATES[currency]),
        "frcr_ord_psbl_amt1": _money(orderable),
        "ovrs_max_ord_psbl_qty": str(quantity),
    }
    return success(output=output), ""


# --- reservation list -----------------------------------------------------------------------


def _reservation_row(state: SandboxState, reservation: Reservation) -> dict[str, str]:
    ticket = reservation.ticket
    instrument = ticket.instrument
    code, name = SIDE_NAMES[ticket.side]
    placed = state.exchange.orders.get(reservation.odno) if reservation.odno else None
    status = {"waiting": "01", "submitted": "02", "cancelled": "03"}.get(reservation.status, "04")
    status_name = {"01": "대기", "02": "전송", "03": "취소", "04": "거부"}[status]
    return {
        "cncl_yn": "Y" if reservation.status == "cancelled" else "N",
        "rsvn_ord_rcit_dt": reservation.created.astimezone(KST).strftime("%Y%m%d"),
        "ovrs_rsvn_odno": reservation.seq,
        "ord_dt": reservation.submit_day.strftime("%Y%m%d") if placed else "",
        "ord_gno_brno": BRANCH,
        "odno": reservation.odno,
        "sll_buy_dvsn_cd": code,
        "sll_buy_dvsn_cd_name": name,
        "ovrs_rsvn_ord_stat_cd": status,
        "ovrs_rsvn_ord_stat_cd_name": status_name,
        "pdno": instrument.code,
        "prdt_type_cd": PRODUCT_TYPES[instrument.market],
        "prdt_name": instrument.name,
        "ord_rcit_tmd": reservation.created.astimezone(KST).strftime("%H%M%S"),
        "ord_fwdg_tmd": placed.placed.astimezone(KST).strftime("%H%M%S") if placed else "",
        "tr_dvsn_name": ticket.order_type.name,
        "ovrs_excg_cd": instrument.market,
        "tr_mket_name": MARKET_NAMES[instrument.market],
        "ord_stfno": "",
        "ft_ord_qty": str(ticket.quantity),
        "ft_ord_unpr3": _price(ticket.price or Decimal(0)),
        "ft_ccld_qty": str(placed.filled if placed else 0),
        "nprc_rson_text": "" if status != "04" else "주문 거부",
        "splt_buy_attr_name": "",
    }


def order_resv_list(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 예약주문조회 (real only): US (TTTT3039R) or Asian (TTTS3014R) reservations."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    _catch_up(state)
    start = fields.optional_date(params, "INQR_STRT_DT")
    end = fields.optional_date(params, "INQR_END_DT")
    family_markets = US if call.role == "us" else ASIA
    code = params.get("OVRS_EXCG_CD", "").strip()
    if code and code not in family_markets:
        raise fields.bad("OVRS_EXCG_CD", code)
    markets = (code,) if code else family_markets
    rows = []
    for reservation in state.exchange.reservations.values():
        ticket = reservation.ticket
        if ticket.cano != account.cano or ticket.family != FAMILY:
            continue
        if ticket.instrument.market not in markets:
            continue
        day: date = reservation.created.astimezone(KST).date()
        if (start and day < start) or (end and day > end):
            continue
        rows.append(_reservation_row(state, reservation))
    size = rows_per_call(state, call.path, 20)
    scope = f"{account.cano}01^OVRS-RSVN^{call.role}"
    page, tr_cont, fk, nk = page_of(state, call, rows, scope, size, width=200)
    return success(ctx_area_fk200=fk, ctx_area_nk200=nk, output=list(page)), tr_cont


HANDLERS = {
    f"{TRADING_PATH}/inquire-balance": inquire_balance,
    f"{TRADING_PATH}/inquire-nccs": inquire_nccs,
    f"{TRADING_PATH}/inquire-ccnl": inquire_ccnl,
    f"{TRADING_PATH}/inquire-present-balance": inquire_present_balance,
    f"{TRADING_PATH}/inquire-psamount": inquire_psamount,
    f"{TRADING_PATH}/order-resv-list": order_resv_list,
}
