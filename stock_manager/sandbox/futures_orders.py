"""Futures and options orders, domestic (KRX day and night) and overseas (CME), on the exchange.

Bodies are read as KIS's workbook documents them and turned into :class:`~.orders.Exchange`
calls; the exchange applies the band, the tick grid, margin and fills. Positions are signed
(:mod:`.ledger`): a sell with no position opens a short, and closing one books the profit or loss
into cash. Choices where KIS's behaviour is not public:

* The TR decides the session: a day TR (TTTO1101U, VTTO1101U, TTTO1103U...) is taken in the
  ``day`` session only and a night TR (STTN1101U, STTN1103U) in ``night`` only; the other one is
  refused with APBK0919 naming the TR to use, and outside both sessions APBK0918 (closed). An
  order rests in its own session only: a day order's remainder does not trade at night and
  expires with its trading day (the sandbox books a night session to the day it started on).
* ORD_DVSN_CD: 01 지정가 and 03 조건부 are limit orders, 02 시장가 and 04 최유리 fill at the
  current price; 10/11 are limit IOC/FOK, 12/13 market IOC/FOK, 14/15 최유리 IOC/FOK.
  NMPR_TYPE_CD and KRX_NMPR_CNDT_CD are read only when ORD_DVSN_CD is blank (old clients).
* Modify (RVSE_CNCL_DVSN_CD 01) moves the remainder (RMN_QTY_YN Y) or ORD_QTY of it to
  UNIT_PRICE; cancel (02) takes it off. Both answer a new ODNO whose ORGN_ODNO is the original.
* Overseas futures (account product 08, real only): PRIC_DVSN_CD 1 limit and 2 market; 3 STOP
  and 4 S/L are refused (OPSQ2002), the sandbox keeps no stop book. CCLD_CNDT_CD 6 (EOD) and
  5 (GTD) both rest until the session ends; 2 goes with market orders. ORD_DT is the CME trade
  date (the weekday a Globex session trades into) and ODNO has KIS's eight digits.
* Overseas modify (OTFM3002U) moves the whole remainder to FM_LIMIT_ORD_PRIC; cancel (OTFM3003U)
  cancels it; ORGN_ORD_DT must be the original's ORD_DT. FM_MKPR_CVSN_YN (a market order after
  the cancel) is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.codes import BusinessError, success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.orders import CLOSED, NOT_NOW, Order, OrderType, Side, Ticket
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import Instrument

Reply = tuple[dict[str, Any], str]

DOMESTIC_PRODUCT = "03"
OVERSEAS_PRODUCT = "08"
DOMESTIC_FAMILY = "futures"
OVERSEAS_FAMILY = "overseas_futures"
BRANCH = "01790"  # ORD_GNO_BRNO: the branch KIS reports for online derivative orders
SIDES: dict[str, Side] = {"01": "sell", "02": "buy"}
SIDE_NAMES = {"sell": "매도", "buy": "매수"}
DOMESTIC_MARKETS = ("KRX_FUTURES", "KRX_OPTIONS")
OVERSEAS_MARKETS = ("CME",)
SESSION_NAMES = {"day": "주간", "night": "야간"}
ORDER_TRS = {"day": "TTTO1101U", "night": "STTN1101U"}

#: ORD_DVSN_CD -> (name, priced, time in force).
_DIVISIONS: dict[str, tuple[str, bool, str]] = {
    "01": ("지정가", True, "day"),
    "02": ("시장가", False, "day"),
    "03": ("조건부지정가", True, "day"),
    "04": ("최유리지정가", False, "day"),
    "10": ("지정가(IOC)", True, "ioc"),
    "11": ("지정가(FOK)", True, "fok"),
    "12": ("시장가(IOC)", False, "ioc"),
    "13": ("시장가(FOK)", False, "fok"),
    "14": ("최유리(IOC)", False, "ioc"),
    "15": ("최유리(FOK)", False, "fok"),
}
#: Old clients send NMPR_TYPE_CD + KRX_NMPR_CNDT_CD instead of ORD_DVSN_CD.
_LEGACY = {
    ("01", "0"): "01",
    ("02", "0"): "02",
    ("03", "0"): "03",
    ("04", "0"): "04",
    ("01", "3"): "10",
    ("01", "4"): "11",
    ("02", "3"): "12",
    ("02", "4"): "13",
    ("04", "3"): "14",
    ("04", "4"): "15",
}
#: The order divisions per session: an order trades in the session its TR names, only.
DIVISIONS: dict[str, dict[str, OrderType]] = {
    session: {
        code: OrderType(code, name, priced, frozenset({session}), frozenset({session}), tif)
        for code, (name, priced, tif) in _DIVISIONS.items()
    }
    for session in ("day", "night")
}
#: CME: limit and market orders in the one Globex session.
OVERSEAS_TYPES = {
    "1": OrderType("1", "지정가", True, frozenset({"regular"}), frozenset({"regular"})),
    "2": OrderType("2", "시장가", False, frozenset({"regular"}), frozenset({"regular"})),
}


# --- shared reading of bodies ---------------------------------------------------------------


def decimal_of(values: Mapping[str, Any], name: str) -> Decimal:
    """A non-negative decimal such as ``"565.05"`` (no exponent, no inf/nan); OPSQ2002 else."""
    value = fields.text(values, name).strip()
    if not fields.DECIMAL.fullmatch(value):
        raise fields.bad(name, value)
    return Decimal(value)


def domestic_instrument(state: SandboxState, values: Mapping[str, Any], name: str) -> Instrument:
    """The listed KRX future or option named by ``name`` (APBK0656 when unlisted)."""
    code = fields.text(values, name).strip()
    for market in DOMESTIC_MARKETS:
        found = state.market.lookup(code, market)
        if found is not None:
            return found
    raise BusinessError("APBK0656", f"해당 종목정보가 없습니다. ({name}={fields.shown(code)})")


def overseas_instrument(state: SandboxState, values: Mapping[str, Any], name: str) -> Instrument:
    """The listed CME future named by ``name`` (APBK0656 when unlisted)."""
    code = fields.text(values, name).strip()
    for market in OVERSEAS_MARKETS:
        found = state.market.lookup(code, market)
        if found is not None:
            return found
    raise BusinessError("APBK0656", f"해당 종목정보가 없습니다. ({name}={fields.shown(code)})")


def division(values: Mapping[str, Any], session: str) -> OrderType:
    """ORD_DVSN_CD's rules for ``session`` (the legacy pair when it is blank)."""
    code = fields.optional_text(values, "ORD_DVSN_CD").strip()
    if not code:
        pair = (
            fields.optional_text(values, "NMPR_TYPE_CD").strip(),
            fields.optional_text(values, "KRX_NMPR_CNDT_CD").strip() or "0",
        )
        code = _LEGACY.get(pair, "")
        if not code:
            raise fields.bad("NMPR_TYPE_CD", pair[0])
    found = DIVISIONS[session].get(code)
    if found is None:
        raise fields.bad("ORD_DVSN_CD", code)
    return found


def check_session(state: SandboxState, instrument: Instrument, role: str) -> None:
    """The TR's session must be the one trading now (see the module docstring)."""
    now = state.market.session(instrument)
    if now not in SESSION_NAMES:
        raise BusinessError(*CLOSED)
    if now != role:
        raise BusinessError(
            NOT_NOW,
            f"{SESSION_NAMES[role]} 주문 TR은 {SESSION_NAMES[now]} 시간에 사용할 수 없습니다. "
            f"({SESSION_NAMES[now]} 주문은 {ORDER_TRS[now]} 계열 TR을 사용하십시오.)",
        )


def session_of(order: Order) -> str:
    """The session an order was placed in (its order type's one session)."""
    return next(iter(order.order_type.accepted_in))


def _record(state: SandboxState, call: GatewayCall, odno: str) -> None:
    state.record_order(call.app, call.tr_id, call.path, call.body, odno)


def _domestic_output(call: GatewayCall, order: Order) -> dict[str, str]:
    return {
        "ACNT_NAME": call.app.account.cano,
        "TRAD_DVSN_NAME": SIDE_NAMES[order.side],
        "ITEM_NAME": order.instrument.name,
        "ORD_TMD": order.placed.strftime("%H%M%S"),
        "ORD_GNO_BRNO": BRANCH,
        "ODNO": order.odno,
    }


# --- domestic ------------------------------------------------------------------------------


def order(state: SandboxState, call: GatewayCall) -> Reply:
    """선물옵션 주문: day (TTTO1101U/VTTO1101U) or night (STTN1101U) by TR."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account, DOMESTIC_PRODUCT)
    fields.choice(body, "ORD_PRCS_DVSN_CD", {"02"})
    side = SIDES[fields.choice(body, "SLL_BUY_DVSN_CD", SIDES)]
    instrument = domestic_instrument(state, body, "SHTN_PDNO")
    quantity = fields.positive_quantity(body)
    order_type = division(body, call.role)
    price = decimal_of(body, "UNIT_PRICE") if order_type.priced else None
    check_session(state, instrument, call.role)
    ticket = Ticket(
        account.cano,
        DOMESTIC_PRODUCT,
        instrument,
        side,
        quantity,
        price,
        order_type,
        family=DOMESTIC_FAMILY,
    )
    placed = state.exchange.place(ticket)
    _record(state, call, placed.odno)
    return success(output=_domestic_output(call, placed)), ""


def _original(state: SandboxState, cano: str, odno: str, family: str) -> Order:
    found = state.exchange.find(cano, odno)
    if found is None or found.family != family or found.action == "cancel":
        raise BusinessError(
            "APBK1010", f"원주문번호가 존재하지 않습니다. (ORGN_ODNO={fields.shown(odno)})"
        )
    return found


def order_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """선물옵션 정정취소주문: modify (01) or cancel (02) the remainder, day or night by TR."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account, DOMESTIC_PRODUCT)
    fields.choice(body, "ORD_PRCS_DVSN_CD", {"02"})
    action = fields.choice(body, "RVSE_CNCL_DVSN_CD", {"01": "정정", "02": "취소"})
    original = _original(state, account.cano, fields.text(body, "ORGN_ODNO"), DOMESTIC_FAMILY)
    whole = fields.choice(body, "RMN_QTY_YN", {"Y": "전량", "N": "일부"}) == "Y"
    quantity = None if whole else fields.positive_quantity(body)
    check_session(state, original.instrument, call.role)
    if session_of(original) != call.role:
        raise BusinessError(
            NOT_NOW,
            f"{SESSION_NAMES[session_of(original)]} 주문은 "
            f"{SESSION_NAMES[call.role]} TR로 정정/취소할 수 없습니다.",
        )
    if action == "02":
        record = state.exchange.cancel(account.cano, original, quantity)
    else:
        order_type = division(body, call.role)
        price = decimal_of(body, "UNIT_PRICE") if order_type.priced else None
        record = state.exchange.modify(account.cano, original, quantity, price, order_type)
    _record(state, call, record.odno)
    output = _domestic_output(call, record)
    output["ORGN_ODNO"] = original.odno
    return success(output=[output]), ""


# --- overseas (CME) -------------------------------------------------------------------------


def trade_date(trading_day: date) -> date:
    """CME's trade date of a Globex session that started on ``trading_day`` (the next weekday)."""
    return trading_day + timedelta(days=1)


def overseas_odno(order: Order) -> str:
    """KIS's eight-digit overseas futures order number."""
    return order.odno[-8:]


def _overseas_output(order: Order) -> dict[str, str]:
    return {
        "ORD_DT": trade_date(order.trading_day).strftime("%Y%m%d"),
        "ODNO": overseas_odno(order),
    }


def overseas_order(state: SandboxState, call: GatewayCall) -> Reply:
    """해외선물옵션 주문 (OTFM3001U): limit or market, CME hours."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account, OVERSEAS_PRODUCT)
    instrument = overseas_instrument(state, body, "OVRS_FUTR_FX_PDNO")
    side = SIDES[fields.choice(body, "SLL_BUY_DVSN_CD", SIDES)]
    code = fields.choice(body, "PRIC_DVSN_CD", {"1", "2", "3", "4"})
    if code not in OVERSEAS_TYPES:
        raise BusinessError(
            "OPSQ2002", f"입력값이 올바르지 않습니다. (PRIC_DVSN_CD={code}: STOP 주문 미지원)"
        )
    order_type = OVERSEAS_TYPES[code]
    fields.choice(body, "CCLD_CNDT_CD", {"2", "5", "6"})
    quantity = fields.positive_quantity(body, "FM_ORD_QTY")
    price = decimal_of(body, "FM_LIMIT_ORD_PRIC") if order_type.priced else None
    ticket = Ticket(
        account.cano,
        OVERSEAS_PRODUCT,
        instrument,
        side,
        quantity,
        price,
        order_type,
        family=OVERSEAS_FAMILY,
        venue=instrument.market,
    )
    placed = state.exchange.place(ticket)
    _record(state, call, placed.odno)
    return success(output=_overseas_output(placed)), ""


def overseas_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """해외선물옵션 정정취소주문: modify (OTFM3002U) or cancel (OTFM3003U) the remainder."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account, OVERSEAS_PRODUCT)
    odno = fields.text(body, "ORGN_ODNO")
    original = _original(state, account.cano, odno, OVERSEAS_FAMILY)
    given = fields.optional_date(body, "ORGN_ORD_DT")
    if given != trade_date(original.trading_day):
        raise BusinessError(
            "APBK1010",
            f"원주문번호가 존재하지 않습니다. (ORGN_ORD_DT={fields.shown(str(given or ''))})",
        )
    if call.role == "cancel":
        record = state.exchange.cancel(account.cano, original, None)
    else:
        price = decimal_of(body, "FM_LIMIT_ORD_PRIC")
        record = state.exchange.modify(account.cano, original, None, price, OVERSEAS_TYPES["1"])
    _record(state, call, record.odno)
    return success(output=_overseas_output(record)), ""


DOMESTIC_PATH = "/uapi/domestic-futureoption/v1/trading"
OVERSEAS_PATH = "/uapi/overseas-futureoption/v1/trading"
HANDLERS = {
    f"{DOMESTIC_PATH}/order": order,
    f"{DOMESTIC_PATH}/order-rvsecncl": order_rvsecncl,
    f"{OVERSEAS_PATH}/order": overseas_order,
    f"{OVERSEAS_PATH}/order-rvsecncl": overseas_rvsecncl,
}
