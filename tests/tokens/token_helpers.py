"""Shared bits of the token tests (a plain module: conftest is not for importing)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stock_manager.adapters.broker.kis import AccessToken, KISConfig
from stock_manager.sandbox import KISSandbox

TokenConfig = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]

PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
TOKEN_PATH = "/oauth2/tokenP"


def make_token(
    value: str, lifetime: timedelta = timedelta(hours=24), age: float = 0
) -> AccessToken:
    """A token issued ``age`` seconds ago that lives ``lifetime`` from its issuance."""
    issued = datetime.now(UTC) - timedelta(seconds=age)
    return AccessToken(value=value, expires_at=issued + lifetime, issued_at=issued)


def digest(value: str) -> str:
    """A token's fingerprint, for comparing tokens across processes without printing them."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def cache_files(directory: Path) -> dict[str, bytes]:
    """Every file in the token cache directory, by name."""
    if not directory.exists():
        return {}
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}
