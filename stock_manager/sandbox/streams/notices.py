"""Fill and order notices: which notice TR an order event goes to, its record, and KIS's AES.

An event of :attr:`Exchange.events <stock_manager.sandbox.orders.Exchange.events>` becomes one
record on the notice TR of its instrument's family, for the sessions of the app that owns the
account and registered that TR with its HTS ID:

* domestic stocks, ETFs and ETNs: H0STCNI0 (paper H0STCNI9), the live 26-field layout;
* overseas stocks: H0GSCNI0 (H0GSCNI9), prices as scaled integers (implied decimals: US 4,
  Tokyo 1, Shanghai/Shenzhen/Hong Kong 3, Vietnam 0);
* KRX futures and options: H0IFCNI0 (H0IFCNI9); in the night session the real server uses
  H0MFCNI0 (futures) and H0EUCNI0 (options);
* CME futures (real only): HDFFF1C0 for acceptances, modifications, cancellations and refusals,
  HDFFF2C0 for fills. Bonds have no notice TR.

``CNTG_YN`` is ``2`` for a fill (quantity and price of the fill) and ``1`` otherwise (the order's
quantity and price); ``RCTF_CLS`` 0 new, 1 modify, 2 cancel (an expiry too); ``RFUS_YN`` 1 for a
refusal; ``ACPT_YN`` 1 accepted, 2 confirmed (modify, cancel, fill), 3 expired (sandbox choice
where KIS's meaning is not public). Quantities are zero-padded to 10, prices to 9.
"""

from __future__ import annotations

import base64
import secrets
import string
from decimal import Decimal

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from stock_manager.sandbox.orders import Order, OrderEvent
from stock_manager.sandbox.universe import Instrument

__all__ = ["cipher_params", "decrypt", "encrypt", "notice_record", "notice_tr"]

_ALPHABET = string.ascii_letters + string.digits
#: Implied decimals of overseas notice prices, by the sandbox's market code.
SCALE = {"TKSE": 1, "SHAA": 3, "SZAA": 3, "SEHK": 3, "HASE": 0, "VNSE": 0}
US_SCALE = 4
ACCOUNT_NAME = "샌드박스"
BRANCH = "01000"


def cipher_params() -> tuple[str, str]:
    """A fresh ``(key, iv)``: 32 and 16 characters, as KIS's subscribe reply carries them."""
    key = "".join(secrets.choice(_ALPHABET) for _ in range(32))
    iv = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return key, iv


def encrypt(plaintext: str, key: str, iv: str) -> str:
    """AES-256-CBC, PKCS7, base64: how KIS sends a notice payload."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")


def decrypt(payload: str, key: str, iv: str) -> str:
    """The inverse of :func:`encrypt` (for tests and tools)."""
    decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
    data = decryptor.update(base64.b64decode(payload)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(data) + unpadder.finalize()).decode("utf-8")


def notice_tr(event: OrderEvent, environment: str, session: str) -> str | None:
    """The notice TR_ID (as the client registers it) for ``event``, or None when none carries
    it. ``session`` is the instrument's session at the event (night derivatives differ)."""
    paper = environment == "paper"
    market = event.market
    if market in ("KOSPI", "KOSDAQ"):
        return "H0STCNI9" if paper else "H0STCNI0"
    if market in ("KRX_FUTURES", "KRX_OPTIONS"):
        if paper:
            return "H0IFCNI9"
        if session == "night":
            return "H0MFCNI0" if market == "KRX_FUTURES" else "H0EUCNI0"
        return "H0IFCNI0"
    if market == "CME":
        return None if paper else ("HDFFF2C0" if event.kind == "filled" else "HDFFF1C0")
    if market == "KRX_BONDS":
        return None
    return "H0GSCNI9" if paper else "H0GSCNI0"


def _price(instrument: Instrument, price: Decimal, width: int = 9) -> str:
    if instrument.kind == "overseas_stock":
        decimals = SCALE.get(instrument.market, US_SCALE)
        return str(int(price.scaleb(decimals).to_integral_value())).zfill(width)
    if instrument.currency == "KRW" and instrument.kind in ("stock", "etf", "etn"):
        return str(int(price)).zfill(width)
    return format(price, "f").zfill(width)


def _quantity(value: int) -> str:
    return str(value).zfill(10)


def notice_record(
    fields: tuple[str, ...],
    event: OrderEvent,
    order: Order | None,
    instrument: Instrument,
    hts_id: str,
) -> list[str]:
    """One notice record in ``fields``' layout; ``order`` (when still known) fills in what the
    event does not carry (the order's quantity, price and division)."""
    fill = event.kind == "filled"
    order_qty = order.quantity if order is not None else event.quantity + event.remaining
    order_price = (order.price if order is not None else None) or Decimal(0)
    shown_qty = event.quantity if fill else order_qty
    shown_price = (
        event.price if fill else (order_price if event.kind != "rejected" else event.price)
    )
    division = order.order_type.code if order is not None else "00"
    tif = order.order_type.tif if order is not None else "day"
    rctf = {"modified": "1", "cancelled": "2", "expired": "2"}.get(event.kind, "0")
    acpt = {"accepted": "1", "rejected": "1", "expired": "3"}.get(event.kind, "2")
    filled = order.filled if order is not None else 0
    average = order.average_price if order is not None else Decimal(0)
    stamp = event.moment.strftime("%H%M%S")
    day = event.moment.strftime("%Y%m%d")
    account = f"{event.cano}{event.product}"
    values = {
        "CUST_ID": hts_id,
        "USER_ID": hts_id,
        "ACNT_NO": account,
        "ACCT_NO": account,
        "ODER_NO": event.odno,
        "ODNO": event.odno,
        "OODER_NO": event.original_odno,
        "ORGN_ODNO": event.original_odno,
        "SELN_BYOV_CLS": "01" if event.side == "sell" else "02",
        "SLL_BUY_DVSN_CD": "01" if event.side == "sell" else "02",
        "RCTF_CLS": rctf,
        "RVSE_CNCL_DVSN_CD": f"0{rctf}",
        "ODER_KIND": division,
        "ODER_KIND2": division[-1:],
        "ODER_COND": {"ioc": "1", "fok": "2"}.get(tif, "0"),
        "STCK_SHRN_ISCD": instrument.code,
        "SERIES": instrument.code,
        "CNTG_QTY": _quantity(shown_qty),
        "CNTG_UNPR": _price(instrument, shown_price),
        "CNTG_UNPR12": _price(instrument, shown_price, 12),
        "STCK_CNTG_HOUR": stamp,
        "RFUS_YN": "1" if event.kind == "rejected" else "0",
        "CNTG_YN": "2" if fill else "1",
        "ACPT_YN": acpt,
        "BRNC_NO": BRANCH,
        "ODER_QTY": _quantity(order_qty),
        "ACNT_NAME": ACCOUNT_NAME,
        "ORD_COND_PRC": _price(instrument, Decimal(0)),
        "ORD_EXG_GB": "2" if order is not None and order.venue == "NXT" else "1",
        "POPUP_YN": "N",
        "CRDT_CLS": "21" if event.family == "credit" else "10",
        "CNTG_ISNM40": instrument.name,
        "CNTG_ISNM": instrument.name,
        "ODER_PRC": _price(instrument, order_price),
        "ORDER_PRC": _price(instrument, order_price),
        "ORD_DT": day,
        "ORGN_ORD_DT": day if event.original_odno else "",
        "CPLX_ORD_DVSN_CD": "0",
        "PRCE_TP": "1" if order_price else "2",
        "FM_EXCG_RCIT_DVSN_CD": "01",
        "ORD_QTY": _quantity(order_qty),
        "FM_LMT_PRIC": format(order_price, "f"),
        "FM_STOP_ORD_PRIC": "0",
        "TOT_CCLD_QTY": _quantity(filled),
        "TOT_CCLD_UV": format(average.quantize(Decimal("0.0001")), "f"),
        "ORD_REMQ": _quantity(event.remaining),
        "ORD_DTL_DTIME": event.moment.strftime("%Y%m%d%H%M%S") + "000",
        "OPRT_DTL_DTIME": event.moment.strftime("%Y%m%d%H%M%S") + "000",
        "CCLD_DT": day if fill else "",
        "CCLD_QTY": _quantity(event.quantity if fill else 0),
        "FM_CCLD_PRIC": format(event.price, "f") if fill else "0",
        "FM_CCLD_AMT": format(event.price * event.quantity, "f") if fill else "0",
        "CRCY_CD": instrument.currency,
        "ORD_MDIA_ONLINE_YN": "Y",
        "FUOP_ITEM_DVSN_CD": "01",
    }
    return [values.get(name, "") for name in fields]
