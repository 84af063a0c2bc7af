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


class Server(Protocol):
    """A sandbox or a raw server: something with a base URL."""

    base_url: str


ConfigFactory = Callable[..., KISConfig]


def requests_sent(sandbox: KISSandbox) -> int:
    """Every request the sandbox has received so far, on every path."""
    return sum(sandbox.stats()["requests"].values())


def order_body(
    config: KISConfig, quantity: int = 1, price: int = 1, **extra: Any
) -> dict[str, Any]:
    """A domestic cash limit order for ``config``'s account (1 KRW a share by default)."""
    return {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.acnt_prdt_cd,
        "PDNO": "005930",
        "ORD_DVSN": "00",
        "ORD_QTY": str(quantity),
        "ORD_UNPR": str(price),
        **extra,
    }
