"""Shared bits of the reliability suite (a plain module: conftest is not for importing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.sandbox import KISSandbox

ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
BALANCE_PATH = "/uapi/domestic-stock/v1/trading/inquire-balance"
TOKEN_PATH = "/oauth2/tokenP"
APPROVAL_PATH = "/oauth2/Approval"
HASHKEY_PATH = "/uapi/hashkey"
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
#: A KRX trading day (Tuesday) at 10:00 KST: the sandbox's regular session is open, so orders
#: are taken whatever day the suite runs.
MARKET_TIME = "2026-03-10T10:00:00+09:00"
#: KODEX 200선물인버스2X, about 1,000 KRW a share: the sandbox's cheapest listed code, for tests
#: that place hundreds of orders against one account's 100,000,000 KRW.
CHEAP = "252670"


class Server(Protocol):
    """A sandbox or a raw server: something with a base URL."""

    base_url: str


ConfigFactory = Callable[..., KISConfig]


def requests_sent(sandbox: KISSandbox) -> int:
    """Every request the sandbox has received so far, on every path."""
    return sum(sandbox.stats()["requests"].values())


def order_body(
    config: KISConfig, quantity: int = 1, price: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A domestic cash order of 005930 for ``config``'s account: at market (ORD_DVSN 01) unless
    ``price`` makes it a limit order (00); ``extra`` adds or replaces keys (``PDNO=``...).

    At market by default because the sandbox is a market: a limit outside the day's band is
    refused (APBK0509/APBK0510) before cash is looked at, and one below the price rests; a
    market order is taken while a session is open and fills at once. ``quantity=10**6`` at
    market is more than any account's cash (APBK0952).
    """
    return {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.acnt_prdt_cd,
        "PDNO": "005930",
        "ORD_DVSN": "01" if price is None else "00",
        "ORD_QTY": str(quantity),
        "ORD_UNPR": "0" if price is None else str(price),
        **extra,
    }
