"""Overseas stock orders: new orders per exchange, modify/cancel, reservations, US daytime.

The bodies are read as KIS's workbook documents them and turned into :class:`~.orders.Exchange`
calls on the same books as domestic orders; cash is held in the instrument's currency (USD for
US names...). Every order TR belongs to one market (the TR_ID's variant): US (``buy``/``sell``,
``us``), Tokyo (``jp``), Hong Kong (``hk``), Shanghai (``sh``), Shenzhen (``sz``) or Vietnam
(``vn``, Hanoi and Ho Chi Minh). OVRS_EXCG_CD must be one of the variant's exchanges (OPSQ2002
naming it) and PDNO listed there (APBK0656, as the domestic family answers an unlisted code).

Choices where KIS's behaviour is not public:

* Prices are plain decimals (``"145.25"``: no sign, exponent, inf or nan; OPSQ2002 naming the
  key), on the instrument's tick grid (APBK0506); quantities a multiple of the board lot.
* KIS has no overseas market orders: ORD_DVSN ``00`` (limit) is the one division every TR and
  paper take; anything else on paper is OPSQ2002 naming ORD_DVSN. On real, US MOO (``31``,
  sells) is taken before the open (pre-market) and trades in full at the regular session's
  first step (the open); during the session it is APBK0919. LOO/LOC/MOC (32/34/33), TWAP/VWAP
  (35/36) and 단주지정가 (50) are refused with :data:`UNSUPPORTED`: the sandbox does not model
  them and never accepts an order it would then ignore.
* US sessions: limit orders are taken in the pre-market, regular and after-market sessions.
  A pre-market order rests until the regular session, where it fills as the walk crosses it;
  an after-market order fills at once against the book around the close if marketable (the
  walk does not move after hours) and its remainder expires with the day, as KIS's day orders.
* Asian exchanges trade in their morning and afternoon sessions. The lunch break is closed:
  orders there are refused (APBK0918) and reservations are taken instead, placed at the
  afternoon open.
* Reservations (예약주문) are taken only while the exchange is closed (outside its sessions,
  lunch included), limit ``00`` only, and placed as ordinary orders at the exchange's next
  regular open (the first request after it); cancellable until then. A reservation during a
  session is refused with KIER3672 (the domestic reservation-window code) naming the rule.
* US daytime trading (주간거래, real only) is taken in the gap between the US after-market
  close and the pre-market open on the KST day of a US session: 10:00-18:00 KST in winter,
  09:00-17:00 in summer (as KIS). It fills at once against the book around the last US close
  (the walk's price then) when marketable; the walk does not move in that session, so a
  remainder rests and expires at the next US open. Modify needs the daytime session; cancel
  works while something is left.
* Modify/cancel: ORGN_ODNO must be an open order of this family in the account
  (APBK1010 otherwise, APBK0344 when nothing is left); its exchange must be the variant's and
  match OVRS_EXCG_CD, and PDNO must be its code (OPSQ2002 naming the key). ORD_QTY is the
  quantity to modify or cancel; ``0`` means the whole remainder (sandbox choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.codes import BusinessError, success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.orders import CLOSED, Order, OrderType, Reservation, Side, Ticket
from stock_manager.sandbox.sessions import KST, next_open
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import Instrument

Reply = tuple[dict[str, Any], str]

BRANCH = "01790"  # KRX_FWDG_ORD_ORGNO KIS reports for overseas orders (sandbox choice)
FAMILY = "overseas"
DAYTIME_FAMILY = "overseas-daytime"
US = ("NASD", "NYSE", "AMEX")
#: The exchanges each TR variant's market may name.
MARKETS: dict[str, tuple[str, ...]] = {
    "us": US,
    "jp": ("TKSE",),
    "hk": ("SEHK",),
    "sh": ("SHAA",),
    "sz": ("SZAA",),
    "vn": ("HASE", "VNSE"),
}
ASIA = tuple(m for key, markets in MARKETS.items() if key != "us" for m in markets)
EXCHANGES = (*US, *ASIA)
#: KIS's PRDT_TYPE_CD per exchange (Hong Kong's CNY/USD lines 543/558 count as Hong Kong).
PRODUCT_TYPES = {
    "NASD": "512",
    "NYSE": "513",
    "AMEX": "529",
    "TKSE": "515",
    "SEHK": "501",
    "SHAA": "551",
    "SZAA": "552",
    "HASE": "507",
    "VNSE": "508",
}
PRODUCT_TYPE_MARKETS = {**{v: k for k, v in PRODUCT_TYPES.items()}, "543": "SEHK", "558": "SEHK"}
SIDES: dict[str, Side] = {"01": "sell", "02": "buy"}

UNSUPPORTED = "APBK0920"  # sandbox choice: a real KIS division the sandbox does not model
RESERVATION_HOURS = (
    "KIER3672",
    "해외 예약주문은 해당 거래소의 장운영시간 외에만 가능합니다.",
)
DAYTIME_OPENS, DAYTIME_CLOSES = time(9, 0), time(18, 0)

LIMIT_US = OrderType(
    "00", "지정가", True, frozenset({"pre", "regular", "after"}), frozenset({"regular", "after"})
)
LIMIT_ASIA = OrderType("00", "지정가", True, frozenset({"regular"}), frozenset({"regular"}))
MOO = OrderType("31", "MOO(장개시시장가)", False, frozenset({"pre"}), frozenset({"regular"}))
# The daytime session lies in the US "closed" gap: it is taken and trades there only.
DAYTIME = OrderType("00", "주간거래 지정가", True, frozenset({"closed"}), frozenset({"closed"}))
NOT_MODELLED = {
    "32": "LOO(장개시지정가)",
    "33": "MOC(장마감시장가)",
    "34": "LOC(장마감지정가)",
    "35": "TWAP",
    "36": "VWAP",
    "50": "단주지정가",
}


def market_of_role(role: str) -> str:
    """The market key of a TR variant: ``"buy"``/``"sell"`` are US, ``"buy-jp"`` Tokyo..."""
    return role.split("-", 1)[1] if "-" in role else ("us" if role in ("buy", "sell") else role)


def exchange_of(body: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    """OVRS_EXCG_CD, which must be one of ``allowed`` (OPSQ2002 naming it otherwise)."""
    code = fields.text(body, "OVRS_EXCG_CD").strip()
    if code not in allowed:
        raise fields.bad("OVRS_EXCG_CD", code)
    return code


def instrument_of(
    state: SandboxState, body: Mapping[str, Any], market: str, name: str = "PDNO"
) -> Instrument:
    """The stock ``name`` lists on ``market`` (APBK0656 when unlisted there)."""
    code = fields.text(body, name).strip()
    found = state.market.lookup(code, market) if 0 < len(code) <= 12 else None
    if found is None or found.kind != "overseas_stock":
        raise BusinessError(
            "APBK0656", f"해당 종목정보가 없습니다. ({name}={fields.shown(code)}, {market})"
        )
    return found


def decimal_of(body: Mapping[str, Any], name: str) -> Decimal:
    """A plain non-negative decimal such as ``"145.25"`` (OPSQ2002 naming ``name`` otherwise)."""
    value = fields.text(body, name).strip()
    if not fields.DECIMAL.fullmatch(value):
        raise fields.bad(name, value)
    return Decimal(value)


def limit_price(body: Mapping[str, Any], name: str = "OVRS_ORD_UNPR") -> Decimal:
    """A positive limit price."""
    price = decimal_of(body, name)
    if price <= 0:
        raise fields.bad(name, fields.text(body, name))
    return price


def division(state: SandboxState, body: Mapping[str, Any], market: str, side: Side) -> OrderType:
    """The order division's rules for ``market`` (see the module docstring)."""
    code = fields.text(body, "ORD_DVSN").strip()
    if code == "00":
        return LIMIT_US if market == "us" else LIMIT_ASIA
    if state.environment == "real" and market == "us":
        if code == "31" and side == "sell":
            return MOO
        named = NOT_MODELLED.get(code)
        if named is not None:
            raise BusinessError(
                UNSUPPORTED, f"샌드박스는 {named} 주문을 지원하지 않습니다. (ORD_DVSN={code})"
            )
    raise fields.bad("ORD_DVSN", code)


def order_output(order: Order) -> dict[str, str]:
    """The three fields every order reply carries."""
    return {"KRX_FWDG_ORD_ORGNO": BRANCH, "ODNO": order.odno, "ORD_TMD": _hms(order.placed)}


def _hms(moment: datetime) -> str:
    return moment.astimezone(KST).strftime("%H%M%S")


def _record(state: SandboxState, call: GatewayCall, number: str) -> None:
    state.record_order(call.app, call.tr_id, call.path, call.body, number)


def _check_sell_type(body: Mapping[str, Any], side: Side) -> None:
    # KIS wants SLL_TYPE "00" on a sell and blank on a buy; a stray value is a client bug.
    value = fields.optional_text(body, "SLL_TYPE").strip()
    if value not in ("", "00") or (value == "00" and side == "buy"):
        raise fields.bad("SLL_TYPE", value)


def in_daytime(state: SandboxState, instrument: Instrument, now: datetime) -> bool:
    """Whether the US daytime session (주간거래) is on: see the module docstring."""
    local = now.astimezone(KST)
    if not DAYTIME_OPENS <= local.time() < DAYTIME_CLOSES:
        return False
    if state.market.session(instrument, now) != "closed":
        return False
    return next_open(instrument, now).astimezone(KST).date() == local.date()


# --- new orders -----------------------------------------------------------------------------


def order(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 주문: buy or sell on the TR variant's market."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    market = market_of_role(call.role)
    exchange = exchange_of(body, MARKETS[market])
    instrument = instrument_of(state, body, exchange)
    side: Side = "buy" if call.role.startswith("buy") else "sell"
    _check_sell_type(body, side)
    order_type = division(state, body, market, side)
    quantity = fields.positive_quantity(body)
    price = limit_price(body) if order_type.priced else None
    if not order_type.priced:
        decimal_of(body, "OVRS_ORD_UNPR")  # "0" as KIS asks, but still a number
    ticket = Ticket(
        account.cano, account.product, instrument, side, quantity, price, order_type, FAMILY
    )
    placed = state.exchange.place(ticket)
    _record(state, call, placed.odno)
    return success(output=order_output(placed)), ""


def daytime_order(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 미국주간주문 (real only): a US limit order in the KST daytime session."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    instrument = instrument_of(state, body, exchange_of(body, US))
    side: Side = "buy" if call.role == "buy" else "sell"
    code = fields.text(body, "ORD_DVSN").strip()
    if code != "00":
        raise fields.bad("ORD_DVSN", code)  # 주간거래는 지정가만 가능 (KIS's workbook)
    quantity = fields.positive_quantity(body)
    price = limit_price(body)
    if not in_daytime(state, instrument, state.market.now()):
        raise BusinessError(*CLOSED)
    ticket = Ticket(
        account.cano, account.product, instrument, side, quantity, price, DAYTIME, DAYTIME_FAMILY
    )
    placed = state.exchange.place(ticket)
    _record(state, call, placed.odno)
    return success(output=order_output(placed)), ""


# --- modify and cancel ----------------------------------------------------------------------


def _original(
    state: SandboxState, call: GatewayCall, allowed: tuple[str, ...], family: str
) -> Order:
    body = call.body
    account = call.app.account
    exchange = exchange_of(body, allowed)
    number = fields.text(body, "ORGN_ODNO")
    found = state.exchange.find(account.cano, number)
    if found is None or found.family != family or found.action == "cancel":
        raise BusinessError(
            "APBK1010", f"원주문번호가 존재하지 않습니다. (ORGN_ODNO={fields.shown(number)})"
        )
    if found.instrument.market != exchange:
        raise fields.bad("OVRS_EXCG_CD", exchange)
    code = fields.text(body, "PDNO").strip()
    if code.upper() != found.instrument.code.upper():
        raise fields.bad("PDNO", code)
    return found


def _modify_or_cancel(state: SandboxState, call: GatewayCall, original: Order) -> Order:
    body = call.body
    action = fields.choice(body, "RVSE_CNCL_DVSN_CD", {"01": "정정", "02": "취소"})
    amount = fields.non_negative_int(body, "ORD_QTY")
    quantity = amount or None
    cano = call.app.account.cano
    if action == "02":
        return state.exchange.cancel(cano, original, quantity)
    price = limit_price(body) if original.order_type.priced else None
    return state.exchange.modify(cano, original, quantity, price)


def order_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 정정취소주문: modify (01) or cancel (02) an open order of the variant's market."""
    fields.account_of(call.body, call.app.account)
    original = _original(state, call, MARKETS[market_of_role(call.role)], FAMILY)
    record = _modify_or_cancel(state, call, original)
    _record(state, call, record.odno)
    return success(output=order_output(record)), ""


def daytime_order_rvsecncl(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 미국주간정정취소 (real only): modify in the daytime session, cancel any time."""
    fields.account_of(call.body, call.app.account)
    original = _original(state, call, US, DAYTIME_FAMILY)
    modifying = fields.text(call.body, "RVSE_CNCL_DVSN_CD") == "01"
    if modifying and not in_daytime(state, original.instrument, state.market.now()):
        raise BusinessError(*CLOSED)
    record = _modify_or_cancel(state, call, original)
    _record(state, call, record.odno)
    return success(output=order_output(record)), ""


# --- reservations ---------------------------------------------------------------------------


def _reservation_output(reservation: Reservation) -> dict[str, str]:
    return {
        "ODNO": reservation.seq,
        "RSVN_ORD_RCIT_DT": reservation.created.astimezone(KST).strftime("%Y%m%d"),
        "OVRS_RSVN_ODNO": reservation.seq,
    }


def find_reservation(state: SandboxState, cano: str, number: str) -> Reservation:
    """The account's overseas reservation with that number (APBK1010 when there is none)."""
    reservations = state.exchange.reservations
    found = reservations.get(number.strip()) or reservations.get(number.strip().zfill(10))
    if found is None or found.ticket.cano != cano or found.ticket.family != FAMILY:
        raise BusinessError(
            "APBK1010", f"예약주문번호가 존재하지 않습니다. ({fields.shown(number)})"
        )
    return found


def order_resv(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 예약주문접수: US buy/sell, or Asia (buy, sell or cancel by RVSE_CNCL_DVSN_CD)."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    asia = call.role == "asia"
    if asia:
        action = fields.choice(body, "RVSE_CNCL_DVSN_CD", {"00": "주문", "02": "취소"})
        if action == "02":
            number = fields.text(body, "OVRS_RSVN_ODNO")
            found = find_reservation(state, account.cano, number)
            state.exchange.cancel_reservation(account.cano, found.seq)
            _record(state, call, found.seq)
            return success(output=_reservation_output(found)), ""
        side = SIDES[fields.choice(body, "SLL_BUY_DVSN_CD", SIDES)]
    else:
        side = "buy" if call.role == "buy" else "sell"
    exchange = exchange_of(body, ASIA if asia else US)
    if asia:
        product = fields.text(body, "PRDT_TYPE_CD").strip()
        if PRODUCT_TYPE_MARKETS.get(product) != exchange:
            raise fields.bad("PRDT_TYPE_CD", product)
    instrument = instrument_of(state, body, exchange)
    code = fields.optional_text(body, "ORD_DVSN").strip() or "00"
    if code != "00":
        raise BusinessError(
            UNSUPPORTED, f"샌드박스의 해외 예약주문은 지정가(00)만 받습니다. (ORD_DVSN={code})"
        )
    quantity = fields.positive_quantity(body, "FT_ORD_QTY")
    price = limit_price(body, "FT_ORD_UNPR3")
    if state.market.session(instrument) != "closed":
        raise BusinessError(*RESERVATION_HOURS)
    state.exchange.check_price(instrument, price, None, None)  # the band is the open's
    order_type = LIMIT_ASIA if asia else LIMIT_US
    ticket = Ticket(
        account.cano, account.product, instrument, side, quantity, price, order_type, FAMILY
    )
    reservation = state.exchange.reserve(ticket, window=False, at_open=True)
    _record(state, call, reservation.seq)
    return success(output=_reservation_output(reservation)), ""


def order_resv_ccnl(state: SandboxState, call: GatewayCall) -> Reply:
    """해외주식 예약주문접수취소 (US): cancel a waiting reservation."""
    body = call.body
    account = call.app.account
    fields.account_of(body, account)
    fields.optional_date(body, "RSVN_ORD_RCIT_DT")
    found = find_reservation(state, account.cano, fields.text(body, "OVRS_RSVN_ODNO"))
    state.exchange.cancel_reservation(account.cano, found.seq)
    _record(state, call, found.seq)
    return success(output={"OVRS_RSVN_ODNO": found.seq}), ""


TRADING_PATH = "/uapi/overseas-stock/v1/trading"
HANDLERS = {
    f"{TRADING_PATH}/order": order,
    f"{TRADING_PATH}/order-rvsecncl": order_rvsecncl,
    f"{TRADING_PATH}/order-resv": order_resv,
    f"{TRADING_PATH}/order-resv-ccnl": order_resv_ccnl,
    f"{TRADING_PATH}/daytime-order": daytime_order,
    f"{TRADING_PATH}/daytime-order-rvsecncl": daytime_order_rvsecncl,
}
