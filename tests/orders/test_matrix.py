"""The order-type matrix and KIS names of the order helpers, against the catalog (no I/O)."""

from __future__ import annotations

from datetime import datetime

import pytest

from stock_manager.adapters.broker.kis.catalog import get_catalog
from stock_manager.adapters.broker.kis.orders import KISOrderTypeError, _matrix
from stock_manager.adapters.broker.kis.orders._names import Reader, params
from stock_manager.adapters.broker.kis.orders.model import KST

CATALOG = get_catalog()


def _param(alias: str, name: str) -> tuple[dict[str, str], str]:
    found = next(p for p in CATALOG.get(alias).params if p.name == name)
    return dict(found.codes), found.description


def test_the_restated_prose_is_the_workbooks() -> None:
    codes, text = _param("overseas-order", "ORD_DVSN")
    for allowed in _matrix.OVERSEAS_DIVISIONS.values():
        assert allowed <= set(codes)
    assert "모의투자 VTTT1002U(미국 매수 주문)로는 00:지정가만 가능" in text
    assert "TWAP, VWAP 주문은 정정 불가" in text
    assert set(codes) >= _matrix.UNMODIFIABLE
    assert "모의투자는 KRX만 가능" in _param("order-cash", "EXCG_ID_DVSN_CD")[1]
    exchanges, _ = _param("overseas-order", "OVRS_EXCG_CD")
    assert set(_matrix.MARKET_OF_EXCHANGE) == set(exchanges)
    variants = set(CATALOG.get("overseas-order-rvsecncl").variants)
    assert set(_matrix.MARKET_OF_EXCHANGE.values()) <= variants
    order_variants = set(CATALOG.get("overseas-order").variants)
    for market in set(_matrix.MARKET_OF_EXCHANGE.values()) - {"us"}:
        assert {f"buy-{market}", f"sell-{market}"} <= order_variants
    futures, _ = _param("futureoption-order", "ORD_DVSN_CD")
    assert set(futures) >= _matrix.FUTURES_PRICED
    stock, _ = _param("order-cash", "ORD_DVSN")
    assert set(stock) >= _matrix.STOCK_PRICED


def test_unknown_names_are_refused() -> None:
    api = CATALOG.get("inquire-daily-ccld")
    with pytest.raises(LookupError, match="ORD_NO"):
        params(api, ORD_NO="1")
    reader = Reader(api, "output1")
    assert reader.text({"ODNO": " 0001 "}, "odno") == "0001"  # case-insensitive, trimmed
    with pytest.raises(LookupError, match="order_no"):
        reader.text({}, "order_no")
    with pytest.raises(LookupError, match="output9"):
        Reader(api, "output9")


@pytest.mark.parametrize(
    ("hhmm", "session"),
    [("08:45", "day"), ("15:44", "day"), ("18:00", "night"), ("05:59", "night")],
)
def test_futures_session_from_the_clock(hhmm: str, session: str) -> None:
    hour, minute = map(int, hhmm.split(":"))
    assert _matrix.futures_session(datetime(2026, 3, 10, hour, minute, tzinfo=KST)) == session


def test_no_session_between_day_and_night() -> None:
    with pytest.raises(KISOrderTypeError, match="session="):
        _matrix.futures_session(datetime(2026, 3, 10, 16, 30, tzinfo=KST))
