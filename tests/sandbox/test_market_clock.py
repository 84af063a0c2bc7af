"""The sandbox's market clock, directly and over HTTP (KISSandbox, admin API, inquire-price)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
import pytest
from sandbox_helpers import BALANCE, PRICE, Caller, rt

from stock_manager.cli.sandbox_cmd import parse_market_time_option
from stock_manager.sandbox import KISSandbox, ManualClock, SandboxConfigError, tables
from stock_manager.sandbox.market import Market
from stock_manager.sandbox.quotes import PRICE_FIELDS
from stock_manager.sandbox.sessions import KST, MarketClock
from stock_manager.sandbox.universe import Instrument, lookup


def _listed(code: str) -> Instrument:
    instrument = lookup(code)
    assert instrument is not None
    return instrument


SAMSUNG = _listed("005930")


def _epoch(*args: int) -> float:
    year, month, day, hour, minute = args
    return datetime(year, month, day, hour, minute, tzinfo=KST).timestamp()


def _price(kis: Caller, code: str = "005930") -> dict[str, str]:
    response = kis.get(
        PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code}
    )
    assert rt(response) == (200, "0", "MCA00000"), response.text
    output: dict[str, str] = response.json()["output"]
    return output


# --- MarketClock -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ((2026, 12, 1, 3, 0), datetime(2026, 12, 1, 10, tzinfo=KST)),  # a trading day, early
        ((2026, 12, 1, 21, 0), datetime(2026, 12, 1, 10, tzinfo=KST)),  # a trading day, late
        ((2026, 12, 5, 15, 0), datetime(2026, 12, 4, 10, tzinfo=KST)),  # Saturday -> Friday
        ((2026, 12, 25, 12, 0), datetime(2026, 12, 24, 10, tzinfo=KST)),  # 성탄절 -> the day before
    ],
)
def test_default_start_is_ten_of_the_current_trading_day(
    wall: tuple[int, ...], expected: datetime
) -> None:
    clock = ManualClock(start=_epoch(*wall))
    market_clock = MarketClock(clock)
    assert market_clock.now() == expected
    clock.advance(90)
    assert market_clock.now() == expected.replace(minute=1, second=30)
    assert (
        market_clock.describe() == f"{expected.replace(minute=1, second=30).isoformat()} (running)"
    )


def test_wall_follows_the_clock() -> None:
    clock = ManualClock(start=_epoch(2026, 12, 6, 3, 15))
    market_clock = MarketClock(clock, "wall")
    assert market_clock.now() == datetime(2026, 12, 6, 3, 15, tzinfo=KST)
    clock.advance(60)
    assert market_clock.now() == datetime(2026, 12, 6, 3, 16, tzinfo=KST)
    assert market_clock.follows_wall and market_clock.describe().endswith("(wall)")


def test_set_accepts_datetimes_iso_text_and_clock_times() -> None:
    clock = ManualClock(start=_epoch(2026, 12, 2, 20, 0))
    market_clock = MarketClock(clock, "wall")
    market_clock.set(datetime(2026, 12, 1, 9, 0))  # naive: KST
    assert market_clock.now() == datetime(2026, 12, 1, 9, tzinfo=KST)
    assert not market_clock.follows_wall
    clock.advance(30)
    assert market_clock.now() == datetime(2026, 12, 1, 9, 0, 30, tzinfo=KST)
    market_clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    assert market_clock.now() == datetime(2026, 12, 1, 9, 30, tzinfo=KST)
    assert market_clock.now().utcoffset() == KST.utcoffset(None)
    market_clock.set("2026-11-30T15:00:00+09:00")
    assert market_clock.now() == datetime(2026, 11, 30, 15, tzinfo=KST)
    market_clock.set("09:15")  # today by the clock, KST
    assert market_clock.now() == datetime(2026, 12, 2, 9, 15, tzinfo=KST)
    market_clock.set("WALL")
    assert market_clock.now() == datetime(2026, 12, 2, 20, 0, 30, tzinfo=KST)


@pytest.mark.parametrize(
    "bad", ["tomorrow", "2026-12-01", "25:00", "9", "", 42, 1.5, None, b"09:00"]
)
def test_bad_market_times_are_refused(bad: object) -> None:
    market_clock = MarketClock(ManualClock())
    before = market_clock.now()
    with pytest.raises(ValueError, match="market_time must be"):
        market_clock.set(bad)  # type: ignore[arg-type]
    assert market_clock.now() == before
    if bad is not None:
        with pytest.raises(SandboxConfigError, match="market_time must be"):
            KISSandbox(market_time=bad)  # type: ignore[arg-type]


def test_cli_market_time_parser() -> None:
    today = date(2026, 12, 1)
    assert parse_market_time_option("09:15", today) == datetime(2026, 12, 1, 9, 15, tzinfo=KST)
    assert parse_market_time_option("wall", today) == "wall"
    assert parse_market_time_option("2026-11-30T15:00:00", today) == datetime(
        2026, 11, 30, 15, tzinfo=KST
    )
    assert parse_market_time_option("2026-11-30T06:00:00+00:00", today) == datetime(
        2026, 11, 30, 15, tzinfo=KST
    )
    with pytest.raises(ValueError, match="HH:MM"):
        parse_market_time_option("noon", today)


# --- over HTTP -------------------------------------------------------------------------------


def test_inquire_price_answers_the_market_at_market_time(
    caller_for: Callable[..., Caller],
) -> None:
    start = datetime(2026, 12, 1, 9, 30, tzinfo=KST)
    kis = caller_for("paper", clock=ManualClock(), market_time=start)
    sandbox = kis.sandbox
    assert sandbox.market_time() == start
    # An independent market with the same (default) seed at the same moment agrees.
    independent = Market(None, MarketClock(ManualClock(), start)).snapshot(SAMSUNG)
    output = _price(kis)
    assert output["stck_prpr"] == str(int(independent.last))
    assert output["stck_hgpr"] == str(int(independent.high))
    assert output["acml_vol"] == str(independent.volume)
    assert output["stck_sdpr"] == str(int(independent.previous_close))
    assert output["stck_mxpr"] == str(int(independent.upper or 0))
    assert output["prdy_vrss_sign"] == independent.sign
    assert output["hts_avls"] != "0" and output["stck_shrn_iscd"] == "005930"
    assert sandbox.market.snapshot(SAMSUNG).last == independent.last

    sandbox.set_market_time("2026-12-01T17:00:00+09:00")
    close = sandbox.market.walk.close(SAMSUNG, date(2026, 12, 1))
    assert _price(kis)["stck_prpr"] == str(int(close))
    sandbox.set_market_time(datetime(2026, 12, 5, 11, 0))  # Saturday: Friday's close
    assert _price(kis)["stck_prpr"] == str(
        int(sandbox.market.walk.close(SAMSUNG, date(2026, 12, 4)))
    )
    with pytest.raises(SandboxConfigError):
        sandbox.set_market_time("soon")


def test_a_market_order_fills_at_the_quoted_price(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("paper", clock=ManualClock(), market_time="2026-12-01T11:00:00+09:00")
    quoted = int(_price(kis, "000660")["stck_prpr"])
    assert rt(kis.order("buy", "000660", qty="1")) == (200, "0", "MCA00000")
    assert kis.sandbox.stats()["orders"][0]["body"]["PDNO"] == "000660"
    balance = kis.get(BALANCE, kis.tr["balance"], kis.account_params()).json()
    assert balance["output1"][0]["prpr"] == str(quoted)
    assert balance["output1"][0]["pchs_amt"] == str(quoted)
    assert balance["output1"][0]["prdt_name"] == "SK하이닉스"


def test_an_unlisted_code_answers_zeros(kis: Caller) -> None:
    output = _price(kis, "999999")
    assert set(output) == set(PRICE_FIELDS)
    assert output["stck_prpr"] == "0" and output["stck_mxpr"] == "0"
    assert output["rprs_mrkt_kor_name"] == "" and output["stck_shrn_iscd"] == ""
    documented = tables.CATALOG_ROUTES[tables.INQUIRE_PRICE]["response"]
    names = {
        field[0] for block in documented if block["name"] == "output" for field in block["fields"]
    }
    assert set(_price(kis, "005930")) == names
    # A code listed abroad is not a domestic stock.
    assert _price(kis, "600519")["stck_prpr"] == "0"


def test_admin_market_time(make_sandbox: Callable[..., KISSandbox]) -> None:
    sandbox = make_sandbox("paper", clock=ManualClock(), market_time="2026-12-01T10:00:00+09:00")
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as admin:
        got = admin.get("/_sandbox/market-time")
        if got.status_code == 404:
            pytest.skip("/_sandbox/market-time is not routed in app.py yet")
        assert got.json() == {
            "market_time": "2026-12-01T10:00:00+09:00",
            "mode": "running",
            "describe": "2026-12-01T10:00:00+09:00 (running)",
        }
        moved = admin.post(
            "/_sandbox/market-time", json={"market_time": "2026-12-02T15:30:00+09:00"}
        )
        assert (
            moved.status_code == 200 and moved.json()["market_time"] == "2026-12-02T15:30:00+09:00"
        )
        assert sandbox.market_time() == datetime(2026, 12, 2, 15, 30, tzinfo=KST)
        assert (
            admin.post("/_sandbox/market-time", json={"market_time": "wall"}).json()["mode"]
            == "wall"
        )
        for bad in ({"market_time": "later"}, {"market_time": 5}, {"when": "wall"}):
            refused = admin.post("/_sandbox/market-time", json=bad)
            assert refused.status_code == 400 and "market_time" in refused.json()["error"]
        assert (
            admin.post(
                "/_sandbox/market-time", content=b"09:00", headers={"content-type": "text/plain"}
            ).status_code
            == 403
        )
