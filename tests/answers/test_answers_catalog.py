"""Typed answers against the catalog (every mapped KIS name exists), the generated stubs, and
the pure parsers (no server)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis.answers import FIELD_MAPS, Bar, OrderResult, PendingOrder
from stock_manager.adapters.broker.kis.answers import fields as F
from stock_manager.adapters.broker.kis.answers._markets import (
    DOMESTIC_DIVISIONS,
    EXCHANGES,
    ORDER_TO_QUOTE,
    overseas_exchange,
    resolve,
)
from stock_manager.adapters.broker.kis.answers._values import decimal_of, int_of, kst_datetime
from stock_manager.adapters.broker.kis.answers.orders import SIDES
from stock_manager.adapters.broker.kis.catalog import get_catalog, typed
from stock_manager.adapters.broker.kis.errors import KISProtocolError, KISUsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("field_map", FIELD_MAPS, ids=lambda m: f"{m.api}.{m.block}")
def test_every_mapped_kis_name_is_in_the_catalogs_block(field_map: F.FieldMap) -> None:
    blocks = get_catalog().get(field_map.api).blocks
    assert field_map.block in blocks
    missing = sorted(set(field_map.names.values()) - set(blocks[field_map.block]))
    assert not missing, f"{field_map.api} {field_map.block} has no {missing}"


def test_the_maps_cover_every_answer_source() -> None:
    apis = {m.api for m in FIELD_MAPS}
    assert len(FIELD_MAPS) >= 20
    assert {"inquire-price", "overseas-price", "inquire-balance", "order-cash"} <= apis


def test_exchange_and_side_codes_are_the_catalogs() -> None:
    catalog = get_catalog()

    def codes(api: str, name: str) -> set[str]:
        [param] = [p for p in catalog.get(api).params if p.name == name]
        return set(param.codes)

    assert set(DOMESTIC_DIVISIONS.values()) <= codes("inquire-price", "FID_COND_MRKT_DIV_CODE")
    assert set(EXCHANGES) <= codes("overseas-price", "EXCD")
    assert set(ORDER_TO_QUOTE) <= codes("overseas-inquire-psamount", "OVRS_EXCG_CD")
    sides = codes("inquire-daily-ccld", "SLL_BUY_DVSN_CD")
    assert set(SIDES) <= sides


def test_symbols_resolve_to_their_family() -> None:
    assert resolve("005930").market == "J"
    assert resolve("005930", "NXT").market == "NX"
    apple = resolve("aapl", "NASD")
    assert (apple.symbol, apple.market, apple.exchange, apple.currency) == (
        "AAPL",
        "NAS",
        "NASD",
        "USD",
    )
    assert resolve("7203", "TSE").currency == "JPY"
    assert overseas_exchange("HKS").exchange == "SEHK"
    for bad, market in (("", None), ("AAPL", None), ("005930", "MOON"), ("005930", "")):
        with pytest.raises(KISUsageError):
            resolve(bad, market)
    with pytest.raises(KISUsageError):
        overseas_exchange("KRX")


def test_values_parse_as_kis_writes_them() -> None:
    record = {"p": " 196900 ", "n": "-1.25", "e": "", "q": "10.0000", "x": "sample", "f": "1.5"}
    assert decimal_of(record, "p") == Decimal(196900)
    assert decimal_of(record, "n") == Decimal("-1.25")
    assert decimal_of(record, "e") is None and decimal_of(record, "absent") is None
    assert decimal_of(record, "x") is None  # a secondary field KIS changed: not fatal
    assert int_of(record, "q") == 10 and int_of(record, "e") == 0
    for bad in ("x", "f"):
        with pytest.raises(KISProtocolError, match="whole quantity"):
            int_of(record, bad)
    moment = kst_datetime(date(2026, 3, 10), "0930")
    assert moment is not None and moment.utcoffset() == timedelta(hours=9)
    assert (moment.hour, moment.minute) == (9, 30)
    with pytest.raises(KISProtocolError):
        kst_datetime(date(2026, 3, 10), "9:30")


def test_models_keep_the_raw_record_and_tolerate_added_fields() -> None:
    row = {
        "ord_gno_brno": "91252",
        "odno": "0000000007",
        "orgn_odno": "",
        "sll_buy_dvsn_cd": "01",
        "pdno": "005930",
        "prdt_name": "삼성전자",
        "ord_qty": "10",
        "ord_unpr": "70000",
        "ord_tmd": "091500",
        "tot_ccld_qty": "4",
        "psbl_qty": "6",
        "a_field_kis_added": "whatever",
    }
    order = PendingOrder.from_record(row, today=date(2026, 3, 10))
    assert (order.side, order.quantity, order.cancellable_quantity) == ("sell", 10, 6)
    assert order.price == Decimal(70000) and order.currency == "KRW"
    assert order.time == datetime(2026, 3, 10, 9, 15, tzinfo=order.time.tzinfo)  # type: ignore[union-attr]
    assert order.raw["a_field_kis_added"] == "whatever"
    assert "raw" not in order.to_dict()
    result = OrderResult.from_record(
        {"KRX_FWDG_ORD_ORGNO": "91252", "ODNO": "0000000008", "ORD_TMD": "100001"},
        today=date(2026, 3, 10),
    )
    assert (result.branch, result.order_no) == ("91252", "0000000008")
    assert result.time is not None and result.time.second == 1


def test_a_blank_chart_row_is_skipped() -> None:
    listing = resolve("005930")
    assert Bar.from_record({"stck_bsop_date": ""}, listing, F.BAR_DOMESTIC_DAILY) is None
    with pytest.raises(KISProtocolError, match="stck_clpr"):
        Bar.from_record({"stck_bsop_date": "20260310"}, listing, F.BAR_DOMESTIC_DAILY)


# --- the generated stubs ------------------------------------------------------------------


def test_stubs_cover_every_rest_api_by_id_and_alias() -> None:
    rest = [spec for spec in get_catalog() if spec.transport == "rest"]
    for spec in rest:
        types = typed.BY_API[spec.api_id]
        assert typed.BY_API[spec.alias] is types
        assert set(types.blocks) == {b.name for b in spec.response} - {"body"}
        reply_keys = set(types.reply.__annotations__)
        assert set(types.blocks) <= reply_keys
    price = typed.types_for("FHKST01010100")  # a TR_ID reaches its API's types
    assert price.reply is typed.InquirePriceReply
    assert set(typed.InquirePriceOutput.__annotations__) == set(
        get_catalog().get("inquire-price").blocks["output"]
    )


@pytest.mark.skipif(
    not list((ROOT.parent / "shared" / "kis").glob("kis-openapi-workbook-*.xlsx")),
    reason="KIS's workbook is not beside the repository",
)
def test_build_catalog_check_covers_the_stubs() -> None:
    done = subprocess.run(
        [sys.executable, "tools/build_catalog.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


SNIPPET = """\
from typing import cast
from stock_manager.adapters.broker.kis.catalog.typed import InquirePriceReply

def price(body: dict[str, object]) -> str:
    reply = cast(InquirePriceReply, body)
    return reply["output"]["stck_prpr"]

def wrong(body: dict[str, object]) -> str:
    reply = cast(InquirePriceReply, body)
    return reply["output"]["no_such_field"]
"""


@pytest.mark.skipif(
    shutil.which("mypy", path=str(Path(sys.executable).parent)) is None,
    reason="mypy is not installed beside this Python (the dev extra brings it)",
)
def test_mypy_checks_kis_field_names_through_the_stubs(tmp_path: Path) -> None:
    snippet = tmp_path / "usage.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "mypy"),
            "--strict",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(snippet),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if "error:" in line]
    # The right field passes (line 6); the wrong one is caught (line 10).
    assert errors, done.stdout
    assert all("usage.py:10:" in line for line in errors), done.stdout
    assert any('has no key "no_such_field"' in line for line in errors), done.stdout
