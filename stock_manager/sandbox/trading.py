"""Order handlers: cash orders fill at once; other order APIs are validated and acknowledged.

Handlers run under the sandbox lock and return ``(body, tr_cont)``; a rejection raises
:class:`~stock_manager.sandbox.codes.BusinessError` (HTTP 200, ``rt_cd`` "1").

Behaviour where KIS is silent:

* ``ORD_DVSN`` "00" (limit), "02" (conditional limit) and "07" (after-hours single price) fill
  at ``ORD_UNPR``, which must then be positive; the others ("01" market, "03", "04", "05",
  "06") fill at the synthetic price and only need ``ORD_UNPR`` to be digits (usually "0").
* order-rvsecncl (domestic and overseas) needs ``ORGN_ODNO`` to be an order of the account
  (APBK1010 otherwise) and ``RVSE_CNCL_DVSN_CD`` "01" (modify) or "02" (cancel). Orders have
  already filled, so it is acknowledged with a new ``ODNO`` and changes no holdings.
* order-credit and order-resv (real only) and overseas orders check the account, code and
  quantity and are recorded without touching cash or holdings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.accounts import Fill
from stock_manager.sandbox.codes import BusinessError, success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.market import quote
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.tokens import KST

Reply = tuple[dict[str, Any], str]

BRANCH = "91252"  # KRX_FWDG_ORD_ORGNO: the order branch KIS reports
ORDER_DIVISIONS = {
    "00": "지정가",
    "01": "시장가",
    "02": "조건부지정가",
    "03": "최유리지정가",
    "04": "최우선지정가",
    "05": "장전 시간외",
    "06": "장후 시간외",
    "07": "시간외 단일가",
}
PRICED_DIVISIONS = {"00", "02", "07"}
REVISE_CANCEL = {"01": "정정", "02": "취소"}
OVERSEAS_EXCHANGES = {"NASD", "NYSE", "AMEX"}


def _order_output(odno: str, now: float) -> dict[str, str]:
    return {
        "KRX_FWDG_ORD_ORGNO": BRANCH,
        "ODNO": odno,
        "ORD_TMD": datetime.fromtimestamp(now, KST).strftime("%H%M%S"),
    }


def _accept(state: SandboxState, call: GatewayCall, fill: Fill, now: float) -> dict[str, Any]:
    state.record_order(call.app, call.tr_id, call.path, call.body, fill.odno)
    call.app.account.fills.append(fill)
    return success(output=_order_output(fill.odno, now))


def order_cash(state: SandboxState, call: GatewayCall) -> Reply:
    """Domestic cash buy/sell: validate, fill at once, answer ODNO."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    pdno = fields.stock_code(body)
    division = fields.choice(body, "ORD_DVSN", ORDER_DIVISIONS)
    quantity = fields.positive_quantity(body)
    unit_price = fields.non_negative_int(body, "ORD_UNPR")
    if division in PRICED_DIVISIONS:
        if unit_price <= 0:
            raise BusinessError("OPSQ2002", "지정가 주문은 ORD_UNPR 이 0보다 커야 합니다.")
        price = unit_price
    else:
        price = quote(pdno).last
    if call.role == "buy":
        account.buy(pdno, quantity, price)
    else:
        account.sell(pdno, quantity, price)
    now = state.clock.time()
    fill = Fill(state.next_odno(), call.role, pdno, quantity, price, division, now)
    return _accept(state, call, fill, now), ""


def order_revise_cancel(state: SandboxState, call: GatewayCall) -> Reply:
    """Domestic or overseas modify/cancel of a known order."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    original = fields.text(body, "ORGN_ODNO")
    original_fill = account.find_fill(original)
    if original_fill is None:
        raise BusinessError("APBK1010", f"원주문번호가 존재하지 않습니다. (ORGN_ODNO={original!r})")
    fields.choice(body, "RVSE_CNCL_DVSN_CD", REVISE_CANCEL)
    quantity = fields.non_negative_int(body, "ORD_QTY")
    if fields.optional_text(body, "QTY_ALL_ORD_YN") != "Y" and quantity == 0:
        raise BusinessError("APBK0634", "주문수량을 확인하여 주십시오. (ORD_QTY='0')")
    now = state.clock.time()
    fill = Fill(
        state.next_odno(),
        "revise",
        original_fill.pdno,
        quantity,
        0,
        fields.optional_text(body, "ORD_DVSN"),
        now,
        original_odno=original,
    )
    return _accept(state, call, fill, now), ""


def order_credit(state: SandboxState, call: GatewayCall) -> Reply:
    """Credit order (real only): light validation, recorded, no effect on the books."""
    body = call.body
    fields.account_of(body, call.app.account)
    pdno = fields.stock_code(body)
    division = fields.choice(body, "ORD_DVSN", ORDER_DIVISIONS)
    quantity = fields.positive_quantity(body)
    price = fields.non_negative_int(body, "ORD_UNPR")
    now = state.clock.time()
    fill = Fill(state.next_odno(), call.role, pdno, quantity, price, division, now)
    return _accept(state, call, fill, now), ""


def order_reserve(state: SandboxState, call: GatewayCall) -> Reply:
    """Reserved order (real only): answers ``RSVN_ORD_SEQ``."""
    body = call.body
    fields.account_of(body, call.app.account)
    pdno = fields.stock_code(body)
    quantity = fields.positive_quantity(body)
    price = fields.non_negative_int(body, "ORD_UNPR")
    now = state.clock.time()
    odno = state.next_odno()
    state.record_order(call.app, call.tr_id, call.path, body, odno)
    call.app.account.fills.append(Fill(odno, "reserve", pdno, quantity, price, "", now))
    return success(output={"RSVN_ORD_SEQ": odno}), ""


def overseas_order(state: SandboxState, call: GatewayCall) -> Reply:
    """US order: exchange, ticker, quantity and a decimal price; recorded, no fill."""
    body = call.body
    fields.account_of(body, call.app.account)
    fields.choice(body, "OVRS_EXCG_CD", OVERSEAS_EXCHANGES)
    ticker = fields.text(body, "PDNO")
    if not ticker or len(ticker) > 12 or not ticker.replace(".", "").isalnum():
        raise fields.bad("PDNO", ticker)
    quantity = fields.positive_quantity(body)
    price = fields.decimal_price(body, "OVRS_ORD_UNPR")
    now = state.clock.time()
    fill = Fill(state.next_odno(), call.role, ticker, quantity, round(price), "00", now)
    return _accept(state, call, fill, now), ""
