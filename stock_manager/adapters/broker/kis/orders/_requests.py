"""Request parameters and reply parsing for each kind of order, with no I/O.

Which API serves which purpose (new order, modify/cancel, daily orders, cancellable orders)
per kind and environment is decided here; every KIS name goes through :mod:`._names`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from ..catalog import ApiSpec, Catalog
from ._names import Reader, params, rows_of, spec
from .model import KST, Kind, OrderRequest, OrderState, Side

__all__ = [
    "Account",
    "Inquiry",
    "cancellable_inquiry",
    "daily_inquiry",
    "new_order_params",
    "placed_state",
    "rvsecncl_params",
    "state_of_row",
]

NEW_ORDER = {"stock": "order-cash", "overseas": "overseas-order", "future": "futureoption-order"}
RVSECNCL = {
    "stock": "order-rvsecncl",
    "overseas": "overseas-order-rvsecncl",
    "future": "futureoption-order-rvsecncl",
}
SIDE_CODES: dict[Side, str] = {"sell": "01", "buy": "02"}
SIDES: dict[str, Side] = {"01": "sell", "02": "buy"}


class Account:
    """The configured account and domain the helpers act for."""

    def __init__(self, cano: str, product: str, paper: bool) -> None:
        self.cano = cano
        self.product = product
        self.paper = paper


class Inquiry:
    """One paged inquiry: the API, its TR variant, its parameters and the block of rows."""

    def __init__(
        self, api: ApiSpec, variant: str | None, values: dict[str, str], block: str
    ) -> None:
        self.api = api
        self.variant = variant
        self.params = values
        self.block = block


def _money(value: Decimal | None) -> str:
    return "0" if value is None else format(value.normalize(), "f")


def new_order_params(
    catalog: Catalog, account: Account, request: OrderRequest
) -> tuple[ApiSpec, dict[str, str]]:
    """The API and body of a new order."""
    api = spec(catalog, NEW_ORDER[request.kind])
    qty = str(request.quantity)
    price = _money(request.price)
    if request.kind == "stock":
        return api, params(
            api,
            CANO=account.cano,
            ACNT_PRDT_CD=account.product,
            PDNO=request.symbol,
            ORD_DVSN=request.division,
            ORD_QTY=qty,
            ORD_UNPR=price,
            EXCG_ID_DVSN_CD=str(request.venue),
        )
    if request.kind == "overseas":
        extra = {"SLL_TYPE": "00"} if request.side == "sell" else {}
        if request.division in ("35", "36"):  # TWAP/VWAP need their window: until the close
            extra["ALGO_ORD_TMD_DVSN_CD"] = "02"
        return api, params(
            api,
            CANO=account.cano,
            ACNT_PRDT_CD=account.product,
            OVRS_EXCG_CD=str(request.exchange),
            PDNO=request.symbol,
            ORD_QTY=qty,
            OVRS_ORD_UNPR=price,
            ORD_SVR_DVSN_CD="0",
            ORD_DVSN=request.division,
            **extra,
        )
    return api, params(
        api,
        ORD_PRCS_DVSN_CD="02",
        CANO=account.cano,
        ACNT_PRDT_CD=account.product,
        SLL_BUY_DVSN_CD=SIDE_CODES[request.side],
        SHTN_PDNO=request.symbol,
        ORD_QTY=qty,
        UNIT_PRICE=price,
        NMPR_TYPE_CD="",
        KRX_NMPR_CNDT_CD="",
        CTAC_TLNO="",
        FUOP_ITEM_DVSN_CD="",
        ORD_DVSN_CD=request.division,
    )


def _at(day: date, hhmmss: str) -> datetime | None:
    digits = hhmmss.strip()
    if len(digits) != 6 or not digits.isdigit():
        return None
    return datetime(
        day.year, day.month, day.day, int(digits[:2]), int(digits[2:4]), int(digits[4:]), 0, KST
    )


def _day(text: str, fallback: date) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date() if text else fallback
    except ValueError:
        return fallback


def placed_state(
    api: ApiSpec, reply: Mapping[str, Any], request: OrderRequest, now: datetime
) -> OrderState:
    """The order KIS just accepted, from the order reply's ``output``."""
    out = Reader(api, "output")
    rows = _rows(reply, "output")
    row = rows[0] if rows else {}
    branch = "ORD_GNO_BRNO" if request.kind == "future" else "KRX_FWDG_ORD_ORGNO"
    return OrderState(
        odno=out.text(row, "ODNO"),
        kind=request.kind,
        symbol=request.symbol,
        side=request.side,
        quantity=request.quantity,
        price=request.price,
        division=request.division,
        branch=out.text(row, branch),
        venue=request.venue,
        exchange=request.exchange,
        session=request.session,
        ordered_at=_at(now.astimezone(KST).date(), out.text(row, "ORD_TMD")),
        raw=dict(row),
    )


def _rows(reply: Mapping[str, Any], block: str) -> list[Mapping[str, Any]]:
    return rows_of(reply, block)


def rvsecncl_params(
    catalog: Catalog,
    account: Account,
    order: OrderState,
    *,
    cancel: bool,
    quantity: int | None,
    price: Decimal | None,
    division: str,
) -> tuple[ApiSpec, dict[str, str]]:
    """The API and body of a modify (``cancel=False``) or cancel of ``order``'s remainder.

    ``quantity`` None: the whole remainder (KIS's 전량 flag where the API has one).
    """
    api = spec(catalog, RVSECNCL[order.kind])
    action = "02" if cancel else "01"
    whole = quantity is None
    qty = "0" if quantity is None else str(quantity)
    unit = "0" if cancel else _money(price)
    if order.kind == "stock":
        return api, params(
            api,
            CANO=account.cano,
            ACNT_PRDT_CD=account.product,
            KRX_FWDG_ORD_ORGNO=order.branch,
            ORGN_ODNO=order.odno,
            ORD_DVSN=division,
            RVSE_CNCL_DVSN_CD=action,
            ORD_QTY=qty,
            ORD_UNPR=unit,
            QTY_ALL_ORD_YN="Y" if whole else "N",
            EXCG_ID_DVSN_CD=order.venue or "KRX",
        )
    if order.kind == "overseas":
        return api, params(
            api,
            CANO=account.cano,
            ACNT_PRDT_CD=account.product,
            OVRS_EXCG_CD=str(order.exchange),
            PDNO=order.symbol,
            ORGN_ODNO=order.odno,
            RVSE_CNCL_DVSN_CD=action,
            ORD_QTY=qty,
            OVRS_ORD_UNPR=unit,
            ORD_SVR_DVSN_CD="0",
        )
    return api, params(
        api,
        ORD_PRCS_DVSN_CD="02",
        CANO=account.cano,
        ACNT_PRDT_CD=account.product,
        RVSE_CNCL_DVSN_CD=action,
        ORGN_ODNO=order.odno,
        ORD_QTY=qty,
        UNIT_PRICE=unit,
        NMPR_TYPE_CD="",
        KRX_NMPR_CNDT_CD="",
        RMN_QTY_YN="Y" if whole else "N",
        ORD_DVSN_CD=division,
    )


def rvsecncl_state(
    api: ApiSpec,
    reply: Mapping[str, Any],
    order: OrderState,
    *,
    cancel: bool,
    quantity: int,
    price: Decimal | None,
    division: str,
    now: datetime,
) -> OrderState:
    """The modify or cancel KIS just accepted: an order of its own, ``original_odno`` set."""
    out = Reader(api, "output")
    rows = _rows(reply, "output")
    row = rows[0] if rows else {}
    branch = "ORD_GNO_BRNO" if order.kind == "future" else "KRX_FWDG_ORD_ORGNO"
    action: Literal["modify", "cancel"] = "cancel" if cancel else "modify"
    return OrderState(
        odno=out.text(row, "ODNO"),
        kind=order.kind,
        symbol=order.symbol,
        side=order.side,
        quantity=quantity,
        price=None if cancel else price,
        division=division,
        branch=out.text(row, branch) or order.branch,
        venue=order.venue,
        exchange=order.exchange,
        session=order.session,
        ordered_at=_at(now.astimezone(KST).date(), out.text(row, "ORD_TMD")),
        remaining=0 if cancel else quantity,
        filled=0,
        original_odno=order.odno,
        action=action,
        raw=dict(row),
    )


# --- inquiries -------------------------------------------------------------------------------


def daily_inquiry(
    catalog: Catalog,
    account: Account,
    kind: Kind,
    *,
    day: date,
    side: Side | None = None,
    symbol: str = "",
    exchange: str | None = None,
    session: str | None = None,
    unfilled: bool = False,
    back: int = 0,
    ahead: int = 0,
) -> Inquiry:
    """The day's orders of ``kind`` around ``day`` (KST): the list reconciliation reads.

    Overseas dates are local to the exchange, so the range spans the KST day either side.
    ``unfilled`` keeps open orders only (the cancellable ones where no such API is offered).
    ``back``/``ahead`` widen the range by whole days (reconciliation's last look, when the
    helpers' clock and KIS's may disagree on the day).
    """
    first_day, last_day = day - timedelta(days=back), day + timedelta(days=ahead)
    sided = SIDE_CODES[side] if side is not None else "00"
    if kind == "stock":
        api = spec(catalog, "inquire-daily-ccld")
        values = params(
            api,
            CANO=account.cano,
            ACNT_PRDT_CD=account.product,
            INQR_STRT_DT=f"{first_day:%Y%m%d}",
            INQR_END_DT=f"{last_day:%Y%m%d}",
            SLL_BUY_DVSN_CD=sided,
            PDNO=symbol,
            ORD_GNO_BRNO="",
            ODNO="",
            CCLD_DVSN="02" if unfilled else "00",
            INQR_DVSN="00",
            INQR_DVSN_1="",
            INQR_DVSN_3="00",
            EXCG_ID_DVSN_CD="KRX" if account.paper else "ALL",
            CTX_AREA_FK100="",
            CTX_AREA_NK100="",
        )
        return Inquiry(api, "recent", values, "output1")
    if kind == "overseas":
        api = spec(catalog, "overseas-inquire-ccnl")
        first, last = first_day - timedelta(days=1), last_day + timedelta(days=1)
        # Paper takes "" (every exchange, every code) only; the rows are filtered here.
        everything = account.paper or exchange is None
        values = params(
            api,
            CANO=account.cano,
            ACNT_PRDT_CD=account.product,
            PDNO="" if account.paper else (symbol or "%"),
            ORD_STRT_DT=f"{first:%Y%m%d}",
            ORD_END_DT=f"{last:%Y%m%d}",
            SLL_BUY_DVSN=sided,
            CCLD_NCCS_DVSN="02" if unfilled else "00",
            OVRS_EXCG_CD="" if account.paper else ("%" if everything else str(exchange)),
            SORT_SQN="DS",
            ORD_DT="",
            ORD_GNO_BRNO="",
            ODNO="",
            CTX_AREA_NK200="",
            CTX_AREA_FK200="",
        )
        return Inquiry(api, None, values, "output")
    night = session == "night"
    api = spec(catalog, "futureoption-inquire-ngt-ccnl" if night else "futureoption-inquire-ccnl")
    common = {
        "CANO": account.cano,
        "ACNT_PRDT_CD": account.product,
        "STRT_ORD_DT": f"{first_day - timedelta(days=1 if night else 0):%Y%m%d}",
        "END_ORD_DT": f"{last_day:%Y%m%d}",
        "SLL_BUY_DVSN_CD": sided,
        "CCLD_NCCS_DVSN": "02" if unfilled else "00",
        "SORT_SQN": "DS",
        "STRT_ODNO": "",
        "PDNO": symbol,
        "MKET_ID_CD": "",
        "CTX_AREA_FK200": "",
        "CTX_AREA_NK200": "",
    }
    if night:
        common.update(FUOP_DVSN_CD="", SCRN_DVSN="02")
    return Inquiry(api, None, params(api, **common), "output1")


def cancellable_inquiry(
    catalog: Catalog, account: Account, kind: Kind, *, exchange: str | None, day: date
) -> Inquiry | None:
    """The cancellable-orders API where the domain offers one (real stock, real overseas);
    None where it does not (paper, futures): read the unfilled daily orders instead."""
    if account.paper or kind == "future":
        return None
    if kind == "stock":
        api = spec(catalog, "inquire-psbl-rvsecncl")
        values = params(
            api,
            CANO=account.cano,
            ACNT_PRDT_CD=account.product,
            CTX_AREA_FK100="",
            CTX_AREA_NK100="",
            INQR_DVSN_1="0",
            INQR_DVSN_2="0",
        )
        return Inquiry(api, None, values, "output")
    api = spec(catalog, "overseas-inquire-nccs")
    values = params(
        api,
        CANO=account.cano,
        ACNT_PRDT_CD=account.product,
        OVRS_EXCG_CD=exchange or "NASD",
        SORT_SQN="DS",
        CTX_AREA_FK200="",
        CTX_AREA_NK200="",
    )
    return Inquiry(api, None, values, "output")


def state_of_row(
    inquiry: Inquiry, row: Mapping[str, Any], kind: Kind, *, today: date, session: str | None
) -> OrderState:
    """One row of an inquiry as an :class:`OrderState`."""
    r = Reader(inquiry.api, inquiry.block)
    alias = inquiry.api.alias
    original = r.text(row, "orgn_odno")
    if kind == "stock":
        daily = alias == "inquire-daily-ccld"
        cancelled = daily and r.text(row, "cncl_yn") == "Y"
        quantity = r.integer(row, "ord_qty")
        filled = r.integer(row, "tot_ccld_qty")
        remaining = r.integer(row, "rmn_qty" if daily else "psbl_qty")
        venue = r.text(row, "excg_id_dvsn_Cd" if daily else "excg_id_dvsn_cd") or "KRX"
        when = _at(_day(r.text(row, "ord_dt") if daily else "", today), r.text(row, "ord_tmd"))
        price = r.decimal(row, "ord_unpr")
        division = r.text(row, "ord_dvsn_cd")
        exchange = None
    elif kind == "overseas":
        ccnl = alias == "overseas-inquire-ccnl"
        change = r.text(row, "rvse_cncl_dvsn" if ccnl else "rvse_cncl_dvsn_cd")
        cancelled = change == "02"
        quantity = r.integer(row, "ft_ord_qty")
        filled = r.integer(row, "ft_ccld_qty")
        remaining = r.integer(row, "nccs_qty")
        venue = None
        # Only the full list carries KIS's own (KST) date and time; nccs has local ones.
        when = (
            _at(_day(r.text(row, "dmst_ord_dt"), today), r.text(row, "thco_ord_tmd"))
            if ccnl
            else None
        )
        price = r.decimal(row, "ft_ord_unpr3")
        division = ""
        exchange = r.text(row, "ovrs_excg_cd") or None
    else:
        night = alias == "futureoption-inquire-ngt-ccnl"
        cancelled = "취소" in r.text(row, "trad_dvsn_name")
        quantity = r.integer(row, "ord_qty")
        filled = r.integer(row, "tot_ccld_qty")
        remaining = r.integer(row, "qty")
        venue = None
        when = _at(_day(r.text(row, "ord_dt"), today), r.text(row, "ord_tmd"))
        price = r.decimal(row, "ord_idx4" if night else "ord_idx")
        division = "" if night else r.text(row, "nmpr_type_cd")
        exchange = None
    action: Literal["new", "modify", "cancel"] = (
        "cancel" if cancelled else ("modify" if original else "new")
    )
    return OrderState(
        odno=r.text(row, "odno"),
        kind=kind,
        symbol=r.text(row, "pdno"),
        side=SIDES.get(r.text(row, "sll_buy_dvsn_cd"), "buy"),
        quantity=quantity,
        price=price if price else None,
        division=division,
        branch=r.text(row, "ord_gno_brno"),
        venue=venue,
        exchange=exchange,
        session=session,
        ordered_at=when,
        filled=filled,
        remaining=0 if cancelled else remaining,
        original_odno=original,
        action=action,
        raw=dict(row),
    )
