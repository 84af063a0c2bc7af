"""Domestic stock orders: cash, credit, modify/cancel, reservations and their modify/cancel.

The bodies are read as KIS's workbook documents them and turned into :class:`~.orders.Exchange`
calls; the exchange decides sessions, bands, ticks, cash and shares. KIS's order divisions
(ORD_DVSN) map to :data:`DIVISIONS`. Choices where KIS's behaviour is not public:

* 최유리/최우선/중간가 divisions (03, 04, 15, 16, 21, 23, 24) trade like market orders at the
  current price; 조건부지정가 (02) and 스톱지정가 (22) like limit orders.
* NXT and SOR orders (``EXCG_ID_DVSN_CD``) follow KRX's sessions; paper takes KRX only, as its
  workbook says ("모의투자는 KRX만 가능"), and refuses the others with OPSQ2002 naming the key.
* Credit orders (real only) trade like cash orders on the same books; the loan is not modelled.
* A modify or cancel answers a new ODNO whose ``orgn_odno`` is the original. KIS advises to
  check the cancellable quantity first; the sandbox refuses (APBK0344) what has nothing left.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.codes import BusinessError, success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.orders import Order, OrderType, Side, Ticket
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import Instrument

Reply = tuple[dict[str, Any], str]

BRANCH = "91252"  # KRX_FWDG_ORD_ORGNO: the order branch KIS reports
#: Where regular orders are taken and where they trade.
ACCEPTING = frozenset({"opening_auction", "pre_after_hours", "regular", "closing_auction"})
TRADING = frozenset({"regular", "closing_auction"})


def _type(code: str, name: str, priced: bool, tif: str = "day", **kwargs: Any) -> OrderType:
    accepted = kwargs.pop("accepted", ACCEPTING)
    trades = kwargs.pop("trades", TRADING)
    return OrderType(code, name, priced, frozenset(accepted), frozenset(trades), tif, **kwargs)


DIVISIONS: dict[str, OrderType] = {
    "00": _type("00", "지정가", True),
    "01": _type("01", "시장가", False),
    "02": _type("02", "조건부지정가", True),
    "03": _type("03", "최유리지정가", False),
    "04": _type("04", "최우선지정가", False),
    "05": _type(
        "05",
        "장전 시간외",
        False,
        accepted={"pre_after_hours"},
        trades={"pre_after_hours"},
        fixed="previous_close",
    ),
    "06": _type(
        "06",
        "장후 시간외",
        False,
        accepted={"post_after_hours"},
        trades={"post_after_hours"},
        fixed="close",
    ),
    "07": _type(
        "07", "시간외 단일가", True, accepted={"after_single_price"}, trades={"after_single_price"}
    ),
    "11": _type("11", "IOC지정가", True, "ioc"),
    "12": _type("12", "FOK지정가", True, "fok"),
    "13": _type("13", "IOC시장가", False, "ioc"),
    "14": _type("14", "FOK시장가", False, "fok"),
    "15": _type("15", "IOC최유리", False, "ioc"),
    "16": _type("16", "FOK최유리", False, "fok"),
    "21": _type("21", "중간가", False),
    "22": _type("22", "스톱지정가", True),
    "23": _type("23", "중간가IOC", False, "ioc"),
    "24": _type("24", "중간가FOK", False, "fok"),
}
VENUES = ("KRX", "NXT", "SOR")
SIDES: dict[str, Side] = {"01": "sell", "02": "buy"}


def instrument_of(state: SandboxState, body: Mapping[str, Any], name: str = "PDNO") -> Instrument:
    """The listed domestic stock, ETF or ETN named by ``name`` (APBK0656 when unlisted)."""
    code = fields.stock_code(body, name)
    found = state.market.lookup(code)
    if found is None or found.market not in ("KOSPI", "KOSDAQ"):
        raise BusinessError("APBK0656", f"해당 종목정보가 없습니다. ({name}={code})")
    return found


def venue_of(state: SandboxState, body: Mapping[str, Any]) -> str:
    """EXCG_ID_DVSN_CD (KRX when blank); paper takes KRX only."""
    venue = fields.optional_text(body, "EXCG_ID_DVSN_CD").strip() or "KRX"
    allowed = VENUES if state.environment == "real" else ("KRX",)
    if venue not in allowed:
        raise fields.bad("EXCG_ID_DVSN_CD", venue)
    return venue


def division(body: Mapping[str, Any], name: str = "ORD_DVSN") -> OrderType:
    """The order division's trading rules (OPSQ2002 naming the key for an unknown one)."""
    code = fields.text(body, name)
    found = DIVISIONS.get(code)
    if found is None:
        raise fields.bad(name, code)
    return found


def price_of(
    body: Mapping[str, Any], order_type: OrderType, name: str = "ORD_UNPR"
) -> Decimal | None:
    """The limit price for a priced division; market-like divisions take any digits (usually 0)."""
    value = fields.non_negative_int(body, name)
    return Decimal(value) if order_type.priced else None


def order_time(moment: datetime) -> str:
    """KIS's ORD_TMD: HHMMSS of the market clock."""
    return moment.strftime("%H%M%S")


def order_output(order: Order) -> dict[str, str]:
    """The three fields every order reply carries (their documented case is restored later)."""
    return {
        "KRX_FWDG_ORD_ORGNO": BRANCH,
        "ODNO": order.odno,
        "ORD_TMD": order_time(order.placed),
    }


def _record(state: SandboxState, call: GatewayCall, odno: str) -> None:
    state.record_order(call.app, call.tr_id, call.path, call.body, odno)


def order_cash(state: SandboxState, call: GatewayCall) -> Reply:
    """주식주문(현금): buy or sell by TR_ID."""
    return _place(state, call, family="stock")


def order_credit(state: SandboxState, call: GatewayCall) -> Reply:
    """주식주문(신용): real only; trades like a cash order on the same books."""
    fields.text(call.body, "CRDT_TYPE")
    return _place(state, call, family="credit")


def _place(state: SandboxState, call: GatewayCall, *, family: str) -> Reply:
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    instrument = instrument_of(state, body)
    venue = venue_of(state, body)
    order_type = division(body)
    quantity = fields.positive_quantity(body)
    price = price_of(body, order_type)
    side: Side = "buy" if call.role == "buy" else "sell"
    ticket = Ticket(
        account.cano,
        account.product,
        instrument,
        side,
        quantity,
        price,
        order_type,
        family=family,
        venue=venue,
    )
    order = state.exchange.place(ticket)
    _record(state, call, order.odno)
    return success(output=order_output(order)), ""


def order_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """주식주문(정정취소): modify (01) or cancel (02) the remainder of an open order."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    original_odno = fields.text(body, "ORGN_ODNO")
    original = state.exchange.find(account.cano, original_odno)
    if original is None or original.family not in ("stock", "credit"):
        raise BusinessError(
            "APBK1010", f"원주문번호가 존재하지 않습니다. (ORGN_ODNO={fields.shown(original_odno)})"
        )
    action = fields.choice(body, "RVSE_CNCL_DVSN_CD", {"01": "정정", "02": "취소"})
    whole = fields.choice(body, "QTY_ALL_ORD_YN", {"Y": "전량", "N": "일부"}) == "Y"
    quantity = None if whole else fields.positive_quantity(body)
    if action == "02":
        record = state.exchange.cancel(account.cano, original, quantity)
    else:
        order_type = division(body)
        price = price_of(body, order_type)
        record = state.exchange.modify(account.cano, original, quantity, price, order_type)
    _record(state, call, record.odno)
    return success(output=order_output(record)), ""


def order_resv(state: SandboxState, call: GatewayCall) -> Reply:
    """주식예약주문: a reservation placed when the next trading day's orders open."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    instrument = instrument_of(state, body)
    side = SIDES[fields.choice(body, "SLL_BUY_DVSN_CD", SIDES)]
    code = fields.choice(body, "ORD_DVSN_CD", {"00", "01", "02", "05"})
    order_type = DIVISIONS[code]
    quantity = fields.positive_quantity(body)
    price = price_of(body, order_type)
    end_day = fields.optional_date(body, "RSVN_ORD_END_DT")
    ticket = Ticket(
        account.cano, account.product, instrument, side, quantity, price, order_type, "stock"
    )
    reservation = state.exchange.reserve(ticket, end_day=end_day)
    _record(state, call, reservation.seq)
    return success(output={"RSVN_ORD_SEQ": reservation.seq}), ""


def order_resv_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """주식예약주문정정취소: cancel (CTSC0009U) or modify (CTSC0013U) a waiting reservation."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    seq = fields.text(body, "RSVN_ORD_SEQ")
    found = state.exchange.cancel_reservation(account.cano, seq)
    if call.role == "modify":
        # A modify is a cancel and a new reservation with the body's terms, as KIS numbers it.
        try:
            order_type = DIVISIONS[fields.choice(body, "ORD_DVSN_CD", {"00", "01", "02", "05"})]
            ticket = Ticket(
                account.cano,
                account.product,
                instrument_of(state, body),
                SIDES[fields.choice(body, "SLL_BUY_DVSN_CD", SIDES)],
                fields.positive_quantity(body),
                price_of(body, order_type),
                order_type,
                "stock",
            )
            end_day = fields.optional_date(body, "RSVN_ORD_END_DT")
            replacement = state.exchange.reserve(ticket, end_day=end_day)
        except BusinessError:
            found.status = "waiting"  # a refused modify leaves the reservation as it was
            raise
        _record(state, call, replacement.seq)
    else:
        _record(state, call, found.seq)
    return success(output={"NRML_PRCS_YN": "Y"}), ""


TRADING_PATH = "/uapi/domestic-stock/v1/trading"
HANDLERS = {
    f"{TRADING_PATH}/order-cash": order_cash,
    f"{TRADING_PATH}/order-credit": order_credit,
    f"{TRADING_PATH}/order-rvsecncl": order_rvsecncl,
    f"{TRADING_PATH}/order-resv": order_resv,
    f"{TRADING_PATH}/order-resv-rvsecncl": order_resv_rvsecncl,
}
