"""Checks on request fields (order bodies, query parameters) that end in business rejections."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from stock_manager.sandbox.accounts import Account
from stock_manager.sandbox.codes import BusinessError, missing_key_message

# KIS's longest numeric fields (ORD_UNPR...) are 19 characters; a longer one is refused before
# int() sees it (Python refuses to convert more than 4300 digits, with a ValueError).
MAX_DIGITS = 19
# A US price: digits with an optional fraction, so "1e999", "inf" and "nan" never reach float().
DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,8})?")
SHOWN_CHARS = 24  # how much of a bad value a message quotes


def text(fields: Mapping[str, Any], name: str) -> str:
    """A required string field; OPSQ2001 when missing, OPSQ2002 when not a string."""
    value = fields.get(name)
    if value is None:
        raise BusinessError("OPSQ2001", missing_key_message(name))
    if not isinstance(value, str):
        raise BusinessError(
            "OPSQ2002", f"입력값이 올바르지 않습니다. ({name}: 문자열이어야 합니다)"
        )
    return value


def optional_text(fields: Mapping[str, Any], name: str) -> str:
    """An optional string field ("" when absent)."""
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise BusinessError(
            "OPSQ2002", f"입력값이 올바르지 않습니다. ({name}: 문자열이어야 합니다)"
        )
    return value


def shown(value: str) -> str:
    """``value`` quoted for a message, cut short when long."""
    if len(value) <= SHOWN_CHARS:
        return repr(value)
    return f"{value[:SHOWN_CHARS]!r}...({len(value)}자)"


def bad(name: str, value: str) -> BusinessError:
    """The rejection for a field with a bad value."""
    return BusinessError("OPSQ2002", f"입력값이 올바르지 않습니다. ({name}={shown(value)})")


def _is_digits(value: str) -> bool:
    return 0 < len(value) <= MAX_DIGITS and value.isascii() and value.isdigit()


def account_of(fields: Mapping[str, Any], account: Account, product: str = "01") -> None:
    """CANO/ACNT_PRDT_CD must name the calling app's own account (OPSQ2000 otherwise).

    Every app has one account number; ``product`` is the code the API's family uses with it
    (01 stocks and bonds, 03 domestic futures/options, 08 overseas futures/options).
    """
    cano = text(fields, "CANO")
    given = text(fields, "ACNT_PRDT_CD")
    if cano != account.cano or given != product:
        raise BusinessError("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO")


def optional_date(fields: Mapping[str, Any], name: str) -> date | None:
    """A YYYYMMDD date, or None when absent or blank."""
    value = optional_text(fields, name).strip()
    if not value:
        return None
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError(value)
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise bad(name, value) from None


def stock_code(fields: Mapping[str, Any], name: str = "PDNO") -> str:
    """A 6-character alphanumeric KRX short code."""
    value = text(fields, name)
    if len(value) != 6 or not value.isascii() or not value.isalnum():
        raise bad(name, value)
    return value


def positive_quantity(fields: Mapping[str, Any], name: str = "ORD_QTY") -> int:
    """A positive integer written as digits; APBK0634 otherwise."""
    value = text(fields, name)
    if not _is_digits(value) or int(value) <= 0:
        raise BusinessError("APBK0634", f"주문수량을 확인하여 주십시오. ({name}={shown(value)})")
    return int(value)


def non_negative_int(fields: Mapping[str, Any], name: str) -> int:
    """A non-negative integer written as at most :data:`MAX_DIGITS` digits."""
    value = text(fields, name)
    if not _is_digits(value):
        raise bad(name, value)
    return int(value)


def decimal_price(fields: Mapping[str, Any], name: str) -> float:
    """A non-negative decimal price such as ``"145.25"`` (no exponent, no inf/nan)."""
    value = text(fields, name)
    if not DECIMAL.fullmatch(value):
        raise bad(name, value)
    return float(value)


def choice(fields: Mapping[str, Any], name: str, allowed: Mapping[str, str] | set[str]) -> str:
    """A field whose value must be one of ``allowed``."""
    value = text(fields, name)
    if value not in allowed:
        raise bad(name, value)
    return value
