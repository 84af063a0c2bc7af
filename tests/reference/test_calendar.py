"""Market(client): KRX's calendar from the sandbox's 국내휴장일조회, cached once a day and shared
through the token store; session hours at pinned times (US daylight saving included)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.aio import AsyncKISRestClient
from stock_manager.adapters.broker.kis.catalog import get_catalog
from stock_manager.adapters.broker.kis.errors import (
    KISBusinessError,
    KISProtocolError,
    KISUsageError,
)
from stock_manager.adapters.broker.kis.reference import AsyncMarket, DayInfo, Market
from stock_manager.adapters.broker.kis.reference.calendar import (
    DAY_API,
    DAY_FIELDS,
    SETTLEMENT_API,
    SETTLEMENT_FIELDS,
    decode,
    encode,
    parse_days,
)
from stock_manager.adapters.broker.kis.tokens import FileTokenStore, MemoryTokenStore
from stock_manager.sandbox import KISSandbox

ConfigFor = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]

KST = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
CHK_HOLIDAY = "/uapi/domestic-stock/v1/quotations/chk-holiday"


def kst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KST)


class Clock:
    """A settable now, for the once-a-day rule."""

    def __init__(self, now: str) -> None:
        self.now = kst(now)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def real(sandbox_factory: SandboxFactory) -> KISSandbox:
    return sandbox_factory("real")  # 국내휴장일조회 is offered on the real domain only


def holiday_calls(sandbox: KISSandbox) -> int:
    return int(sandbox.stats()["requests"].get(CHK_HOLIDAY, 0))


def test_field_names_exist_in_the_catalog_blocks() -> None:
    catalog = get_catalog()
    for api, mapped in ((DAY_API, DAY_FIELDS), (SETTLEMENT_API, SETTLEMENT_FIELDS)):
        block = next(b for b in catalog.get(api).response if b.name == "output")
        names = {field.name for field in block.fields}
        assert set(mapped.values()) <= names, api


def test_sandbox_answers_krx_holidays(real: KISSandbox, config_for: ConfigFor) -> None:
    with KISRestClient(config_for(real)) as client:
        body = client.make_request(
            "GET",
            api_id=DAY_API,
            params={"BASS_DT": "20260213", "CTX_AREA_NK": "", "CTX_AREA_FK": ""},
        )
    days = parse_days(body)
    assert days[date(2026, 2, 13)].open  # Friday before 설날
    for closed in (date(2026, 2, 14), date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18)):
        assert not days[closed].open, closed
    assert days[date(2026, 2, 19)].open
    assert body["output"][0]["wday_dvsn_cd"] == "06"  # KIS: 01 Sunday ... 06 Friday


def test_holidays_cached_once_a_day(real: KISSandbox, config_for: ConfigFor) -> None:
    clock = Clock("2026-03-10T08:00:00")
    with KISRestClient(config_for(real), token_store=MemoryTokenStore()) as client:
        market = Market(client, clock=clock)
        assert market.is_holiday(date(2026, 3, 1))  # a Sunday; KIS answers the days from it
        assert market.is_holiday(date(2026, 3, 2))  # 삼일절, substitute holiday
        assert not market.is_holiday(date(2026, 3, 3))
        assert holiday_calls(real) == 1
        # Another Market on the same store (another helper, another thread) asks KIS nothing.
        again = Market(client, clock=clock)
        assert again.day_info(date(2026, 3, 4)) == DayInfo(date(2026, 3, 4), True, True, True, True)
        assert holiday_calls(real) == 1
        clock.now += timedelta(days=1)  # the next KST day: asked once more
        assert not again.is_holiday(date(2026, 3, 11))
        assert market.is_holiday(date(2026, 3, 14))
        assert holiday_calls(real) == 2


def test_calendar_shared_across_processes_through_the_file_store(
    real: KISSandbox, config_for: ConfigFor, tmp_path: Path
) -> None:
    clock = Clock("2026-05-04T07:00:00")
    # Two stores on one directory: what two processes of the user share.
    first = KISRestClient(config_for(real), token_store=FileTokenStore(tmp_path))
    second = KISRestClient(config_for(real), token_store=FileTokenStore(tmp_path))
    with first, second:
        assert Market(first, clock=clock).is_holiday(date(2026, 5, 5))  # 어린이날
        assert Market(second, clock=clock).is_holiday(date(2026, 5, 25))  # 부처님오신날 (대체)
        assert not Market(second, clock=clock).is_holiday(date(2026, 5, 6))
    assert holiday_calls(real) == 1
    assert len(list(tmp_path.glob("krxcalendar-reference-data-*.json"))) == 1


def test_a_day_outside_the_cached_window_asks_again(
    real: KISSandbox, config_for: ConfigFor
) -> None:
    clock = Clock("2026-03-10T08:00:00")
    with KISRestClient(config_for(real), token_store=MemoryTokenStore()) as client:
        market = Market(client, clock=clock)
        assert not market.is_holiday(date(2026, 3, 10))
        assert market.is_holiday(date(2026, 9, 25))  # 추석, beyond the first answer's days
        assert not market.is_holiday(date(2026, 3, 11))  # both answers are kept
        assert holiday_calls(real) == 2


@pytest.mark.parametrize(
    ("market", "at", "expected"),
    [
        ("KRX", "2026-03-10T10:00:00", True),
        ("KRX", "2026-03-10T08:59:59", False),
        ("KOSPI", "2026-03-10T15:29:59", True),
        ("KRX", "2026-03-10T15:30:00", False),
        ("KRX", "2026-03-02T10:00:00", False),  # a holiday
        ("KRX", "2026-03-07T10:00:00", False),  # a Saturday
        ("NASD", "2026-03-10T22:30:00", True),  # 09:30 EDT (DST since 8 March)
        ("NASD", "2026-03-06T22:30:00", False),  # 08:30 EST: not yet open
        ("NASD", "2026-03-06T23:30:00", True),  # 09:30 EST
        ("TKSE", "2026-03-10T11:45:00", False),  # Tokyo's lunch break
        ("TKSE", "2026-03-10T13:00:00", True),
    ],
)
def test_is_open_at_pinned_times(
    real: KISSandbox, config_for: ConfigFor, market: str, at: str, expected: bool
) -> None:
    with KISRestClient(config_for(real), token_store=MemoryTokenStore()) as client:
        assert (
            Market(client, clock=Clock("2026-03-10T08:00:00")).is_open(market, kst(at)) is expected
        )


def test_next_session_skips_holidays_and_follows_dst(
    real: KISSandbox, config_for: ConfigFor
) -> None:
    with KISRestClient(config_for(real), token_store=MemoryTokenStore()) as client:
        market = Market(client, clock=Clock("2026-02-13T16:00:00"))
        after_friday = market.next_session()  # Friday after the close, then three days of 설날
        assert after_friday.opens == kst("2026-02-19T09:00:00")
        assert after_friday.closes == kst("2026-02-19T15:30:00")
        during = market.next_session("KRX", kst("2026-02-19T10:00:00"))
        assert during.opens == kst("2026-02-19T09:00:00")  # the session in progress
        us = market.next_session("NASD", kst("2026-03-09T12:00:00"))
        assert us.opens == datetime(2026, 3, 9, 9, 30, tzinfo=NEW_YORK)
        assert us.opens == kst("2026-03-09T22:30:00")
        assert us.closes == kst("2026-03-10T05:00:00")


def test_overseas_settlement_dates(real: KISSandbox, config_for: ConfigFor) -> None:
    with KISRestClient(config_for(real), token_store=MemoryTokenStore()) as client:
        market = Market(client, clock=Clock("2026-03-10T08:00:00"))
        rows = {row.market: row for row in market.settlements(date(2026, 3, 13))}
        assert market.settlements(date(2026, 3, 13))  # the second asks nothing
    path = "/uapi/overseas-stock/v1/quotations/countries-holiday"
    assert real.stats()["requests"][path] == 1
    assert rows["NASD"].local_settlement == date(2026, 3, 16)  # T+1 over the weekend
    assert rows["NASD"].domestic_settlement == date(2026, 3, 17)
    assert rows["TKSE"].local_settlement == date(2026, 3, 17)  # T+2
    assert rows["NASD"].country == "US"


def test_bad_input_is_a_typed_error(real: KISSandbox, config_for: ConfigFor) -> None:
    with KISRestClient(config_for(real), token_store=MemoryTokenStore()) as client:
        market = Market(client)
        with pytest.raises(KISUsageError, match="unknown market"):
            market.is_open("LSE")
        with pytest.raises(KISUsageError, match="day must be a date"):
            market.is_holiday("2026-03-02")  # type: ignore[arg-type]


def test_a_bad_row_is_a_protocol_error() -> None:
    with pytest.raises(KISProtocolError, match="opnd_yn"):
        parse_days({"output": [{"bass_dt": "20260310", "bzdy_yn": "Y", "tr_day_yn": "Y",
                                "opnd_yn": "?", "sttl_day_yn": "Y"}]})  # fmt: skip


def test_encoding_round_trips_and_keeps_the_latest_days() -> None:
    start = date(2026, 1, 1)
    days = {
        start + timedelta(days=n): DayInfo(
            start + timedelta(days=n), n % 2 == 0, True, n % 3 == 0, False
        )
        for n in range(40)
    }
    days.pop(start + timedelta(days=10))  # a gap makes a second run
    value = encode(days, date(2026, 1, 5))
    assert value.count(".") == 1
    assert decode(value) == (date(2026, 1, 5), days)
    many = {start + timedelta(days=n): DayInfo(start + timedelta(days=n), True, True, True, True)
            for n in range(6000)}  # fmt: skip
    long_value = encode(many, start)
    assert len(long_value) <= 4096
    _fetched, kept = decode(long_value) or (None, {})
    assert max(kept) == max(many) and min(kept) > start
    assert decode("2|garbage") is None and decode("1|2026|xx") is None


@pytest.mark.anyio
async def test_async_market_shares_the_logic(real: KISSandbox, config_for: ConfigFor) -> None:
    clock = Clock("2026-02-13T16:00:00")
    async with AsyncKISRestClient(config_for(real), token_store=MemoryTokenStore()) as client:
        market = AsyncMarket(client, clock=clock)
        assert not await market.is_open("KRX")  # 16:00 on Friday 13 February
        assert await market.is_holiday(date(2026, 2, 17))
        session = await market.next_session("KRX")
        assert session.opens == kst("2026-02-19T09:00:00")
        assert (await market.day_info(date(2026, 2, 19))).open
        rows = await market.settlements()
        assert {row.market for row in rows} >= {"NASD", "NYSE", "AMEX", "TKSE", "SEHK"}
    assert holiday_calls(real) == 1


def test_sandbox_refuses_a_bad_day(real: KISSandbox, config_for: ConfigFor) -> None:
    params = {"BASS_DT": "20261340", "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
    with (
        KISRestClient(config_for(real), token_store=MemoryTokenStore()) as client,
        pytest.raises(KISBusinessError, match="BASS_DT"),
    ):
        client.make_request("GET", api_id=DAY_API, params=params)
