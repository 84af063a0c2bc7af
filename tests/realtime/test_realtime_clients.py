"""The realtime clients (sync and asyncio) against the sandbox's websocket, over real sockets.

The market stands still at 10:00 of a trading day (ManualClock) and the sandbox streams every
50 ms, so each wait here is a fraction of a second; every wait is bounded. Backoff settings are
small so that reconnects take milliseconds, and the watchdog's silence limit half a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRealtimeClient,
    AsyncKISRestClient,
    KISAppKeyInUseError,
    KISConfig,
    KISRealtimeClient,
    KISRealtimeError,
    KISRealtimePaperUnsupportedError,
    KISRealtimeProtocolError,
    KISRestClient,
    KISSubscriptionLimitError,
    KISUnknownAPIError,
    ReconnectPolicy,
    cash_order_body,
)
from stock_manager.adapters.broker.kis.realtime import Record
from stock_manager.sandbox import KISSandbox, ManualClock

WAIT = 5.0  # seconds any expected record or reply may take (ticks are 50 ms)
FAST = ReconnectPolicy(
    base=0.05, cap=0.2, floor=0.01, silence_timeout=5.0, reply_timeout=WAIT, close_timeout=1.0
)
SYMBOLS = [
    "005930", "000660", "005380", "035420", "035720", "051910", "006400", "207940", "068270",
    "105560", "000270", "012330", "247540", "086520", "145020", "196170", "028300", "263750",
    "293490", "069500", "102110", "122630", "252670", "590010", "590020",
]  # fmt: skip

Start = Callable[..., KISSandbox]


@pytest.fixture
def start(sandbox_factory: Callable[..., KISSandbox]) -> Start:
    """A sandbox whose market stands at 10:00 of a trading day and streams every 50 ms."""

    def make(environment: str = "paper", **options: Any) -> KISSandbox:
        values: dict[str, Any] = {
            "seed": 7,
            "clock": ManualClock(),
            "market_time": "2026-03-10T10:00:00+09:00",
            "stream_interval": 0.05,
            "pingpong_interval": 5.0,
            "issue_interval": 0,
        }
        return sandbox_factory(environment, **{**values, **options})

    return make


def realtime_config(config_for: Callable[..., KISConfig], sb: KISSandbox) -> KISConfig:
    return config_for(sb, websocket_url=sb.websocket_url, hts_id=sb.hts_id)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    ends_at = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends_at, f"timed out waiting for {what}"
        time.sleep(0.02)


def records(rt: KISRealtimeClient, n: int) -> list[Record]:
    return [rt.next(timeout=WAIT) for _ in range(n)]


def drain(rt: KISRealtimeClient) -> None:
    try:
        while True:
            rt.next(timeout=0)
    except TimeoutError:
        pass


# --- sync -----------------------------------------------------------------------------------


def test_records_are_typed_and_priced_as_inquire_price_answers(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    config = realtime_config(config_for, sb)
    with KISRestClient(config) as rest, KISRealtimeClient(rest=rest, policy=FAST) as rt:
        params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
        price = rest.make_request("GET", api_id="inquire-price", params=params)["output"]
        registration = rt.subscribe("H0STCNT0", "005930")
        assert (registration.tr_id, registration.state) == ("H0STCNT0", "active")
        got = records(rt, 5)
    for record in got:
        assert (record.tr_id, record.key) == ("H0STCNT0", "005930")
        assert record["STCK_PRPR"] == price["stck_prpr"]
        assert record.int("STCK_PRPR") == int(price["stck_prpr"])
        assert record["MKSC_SHRN_ISCD"] == "005930"


def test_every_record_of_every_multi_record_frame_is_delivered(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    got: list[Record] = []
    config = realtime_config(config_for, sb)
    with KISRealtimeClient(config, on_record=got.append, policy=FAST) as rt:
        rt.subscribe("H0STCNT0", "005930")
        wait_until(lambda: len(got) >= 60, "60 records")
        # Once KIS confirms the release, every frame sent before it has been read (one TCP
        # stream, in order) and no more come: the counts must agree exactly.
        rt.unsubscribe("H0STCNT0", "005930")
        sent = sb.stats()["records_sent"]["H0STCNT0"]
        assert rt.registrations == {}
    # The sandbox sends bundles of several records per frame (tests/sandbox/test_streams.py).
    assert len(got) == sent >= 60


@pytest.mark.parametrize("width", [62, 59])
def test_the_order_book_parses_at_its_live_and_its_documented_width(
    start: Start, config_for: Callable[..., KISConfig], width: int
) -> None:
    sb = start(orderbook_fields=width)
    with KISRealtimeClient(realtime_config(config_for, sb), policy=FAST) as rt:
        rt.subscribe("H0STASP0", "000660")
        record = rt.next(timeout=WAIT)
    assert (record.tr_id, record.key) == ("H0STASP0", "000660")
    assert len(record.values) == width and record.extra == ()
    assert record.int("ASKP1") > record.int("BIDP1") > 0
    assert ("KMID_PRC" in record) is (width == 62)


def test_an_order_placed_over_rest_arrives_as_a_decrypted_notice(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    config = realtime_config(config_for, sb)
    with KISRestClient(config) as rest, KISRealtimeClient(rest=rest, policy=FAST) as rt:
        registration = rt.subscribe("H0STCNI0")  # the real notice TR: its paper twin, HTS ID
        assert (registration.tr_id, registration.tr_key) == ("H0STCNI9", sb.hts_id)
        body = cash_order_body(config, "005930", 1)
        reply = rest.make_request("POST", api_id="order-cash", variant="buy", params=body)
        odno = reply["output"]["ODNO"]
        notices = [r for r in records(rt, 2) if r["ODER_NO"].lstrip("0") == odno.lstrip("0")]
    assert notices, "no notice for the order"
    first = notices[0]
    assert (first.tr_id, first.key) == ("H0STCNI9", sb.hts_id)
    assert first["CUST_ID"] == sb.hts_id and first["STCK_SHRN_ISCD"] == "005930"
    assert first["CNTG_YN"] in ("1", "2")


def test_the_cap_refuses_the_42nd_pair_before_sending(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    refused: list[KISRealtimeError] = []
    config = realtime_config(config_for, sb)
    with KISRealtimeClient(config, policy=FAST, on_error=refused.append) as rt:
        pairs = [(tr, s) for tr in ("H0STCNT0", "H0STASP0") for s in SYMBOLS][:41]
        for tr, symbol in pairs:
            rt.subscribe(tr, symbol)
        # All 41 confirmed by the server (it answers OPSP0008 past its own count of 41).
        assert sum(r.state == "active" for r in rt.registrations.values()) == 41
        with pytest.raises(KISSubscriptionLimitError) as caught:
            rt.subscribe("H0STASP0", SYMBOLS[-1])
        assert caught.value.code is None  # refused here: KIS would have said OPSP0008
        rt.subscribe(*pairs[0])  # a pair already held counts once
        time.sleep(0.2)
        assert len(rt.registrations) == 41
    assert refused == []


def test_a_second_session_on_the_app_key_fails_after_bounded_attempts(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    config = realtime_config(config_for, sb)
    policy = ReconnectPolicy(base=0.02, cap=0.05, floor=0.0, in_use_attempts=3)
    with KISRealtimeClient(config, policy=FAST) as first:
        first.subscribe("H0STCNT0", "005930")
        second = KISRealtimeClient(config, policy=policy)
        try:
            started = time.monotonic()
            with pytest.raises(KISAppKeyInUseError) as caught:
                second.subscribe("H0STCNT0", "000660")
            assert time.monotonic() - started < WAIT
            assert second.connections == 3
            assert "3 times" in str(caught.value)
            with pytest.raises(KISAppKeyInUseError):
                second.next(timeout=1)
        finally:
            second.close()
        assert first.next(timeout=WAIT).key == "005930"  # the first session is untouched


def test_a_dropped_connection_is_reconnected_and_resubscribed(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    with KISRealtimeClient(realtime_config(config_for, sb), policy=FAST) as rt:
        rt.subscribe("H0STCNT0", "005930")
        rt.subscribe("H0STASP0", "005930")
        records(rt, 3)
        for round_ in (2, 3):
            assert sb.drop_websockets() == 1
            wait_until(lambda n=round_: rt.connections == n, "a reconnect")  # type: ignore[misc]
            wait_until(
                lambda: all(r.state == "active" for r in rt.registrations.values()),
                "the registrations confirmed again",
            )
            drain(rt)
            assert {r.tr_id for r in records(rt, 20)} == {"H0STCNT0", "H0STASP0"}
    # One approval key for every connection (the token store's).
    assert sb.stats()["approval_keys_issued"] == 1


def test_the_watchdog_reconnects_after_silence(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    policy = ReconnectPolicy(base=0.05, cap=0.1, floor=0.01, silence_timeout=0.5)
    with KISRealtimeClient(realtime_config(config_for, sb), policy=policy) as rt:
        rt.subscribe("H0STCNT0", "005930")
        rt.next(timeout=WAIT)
        sb.set_stream_faults(silence=True)
        wait_until(lambda: rt.connections >= 2, "the watchdog's reconnect")
        sb.set_stream_faults(silence=False)
        drain(rt)
        assert rt.next(timeout=WAIT).key == "005930"


def test_a_frame_that_is_not_utf8_does_not_end_the_stream(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    errors: list[KISRealtimeError] = []
    with KISRealtimeClient(
        realtime_config(config_for, sb), policy=FAST, on_error=errors.append
    ) as rt:
        rt.subscribe("H0STCNT0", "005930")
        rt.next(timeout=WAIT)
        sb.set_stream_faults(invalid_utf8=True)
        wait_until(lambda: bool(errors), "the bad frame's error event")
        drain(rt)
        assert rt.next(timeout=WAIT).key == "005930"
        assert rt.connections == 1  # read leniently: the connection stayed
    assert isinstance(errors[0], KISRealtimeProtocolError)


def test_paper_refuses_a_real_only_tr_before_connecting(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    with KISRealtimeClient(realtime_config(config_for, sb), policy=FAST) as rt:
        with pytest.raises(KISRealtimePaperUnsupportedError, match="paper"):
            rt.subscribe("H0UNCNT0", "005930")
        with pytest.raises(KISUnknownAPIError):
            rt.subscribe("NOSUCHTR", "005930")
        assert rt.connections == 0 and rt.registrations == {}
    assert sb.stats()["approval_keys_issued"] == 0


def test_unsubscribe_stops_the_pair(start: Start, config_for: Callable[..., KISConfig]) -> None:
    sb = start()
    with KISRealtimeClient(realtime_config(config_for, sb), policy=FAST) as rt:
        rt.subscribe("H0STCNT0", "005930")
        rt.subscribe("H0STCNT0", "000660")
        rt.unsubscribe("H0STCNT0", "005930")
        assert list(rt.registrations) == [("H0STCNT0", "000660")]
        drain(rt)
        assert {r.key for r in records(rt, 10)} == {"000660"}
        rt.unsubscribe("H0STCNT0", "005930")  # again: harmless


def test_close_sends_a_close_frame_and_is_idempotent(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    # An abnormal close would keep the app key's slot "in use" for a minute.
    sb.set_stream_faults(hold_in_use=60)
    config = realtime_config(config_for, sb)
    rt = KISRealtimeClient(config, policy=FAST)
    rt.subscribe("H0STCNT0", "005930")
    rt.close()
    rt.close()
    assert not rt.connected
    assert all(r.key == "005930" for r in rt)  # what was received is still handed out
    with pytest.raises(StopIteration):
        next(iter(rt))
    wait_until(lambda: sb.stats()["websocket_sessions"] == 0, "the session to end")
    with KISRealtimeClient(config, policy=FAST) as again:
        assert again.subscribe("H0STCNT0", "005930").state == "active"


def test_no_approval_key_in_the_logs(
    start: Start, config_for: Callable[..., KISConfig], caplog: pytest.LogCaptureFixture
) -> None:
    sb = start()
    caplog.set_level(logging.DEBUG)
    config = realtime_config(config_for, sb)
    with KISRestClient(config) as rest, KISRealtimeClient(rest=rest, policy=FAST) as rt:
        rt.subscribe("H0STCNT0", "005930")
        rt.next(timeout=WAIT)
        sb.drop_websockets()
        wait_until(lambda: rt.connections == 2, "a reconnect")
        rt.subscribe("H0STASP0", "005930")
        key = rest.approval_key()
    # The client's side only: the sandbox's server logs what it receives, as KIS's would.
    client_lines = "\n".join(
        r.getMessage()
        for r in caplog.records
        if not r.name.startswith(("websockets.server", "stock_manager.sandbox"))
    )
    assert "reconnecting" in client_lines  # the client did log
    assert key not in client_lines
    assert key[:12] not in client_lines


def test_records_wait_in_a_bounded_queue_without_loss(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    with KISRealtimeClient(realtime_config(config_for, sb), policy=FAST, queue_size=5) as rt:
        rt.subscribe("H0STCNT0", "005930")
        time.sleep(0.5)  # the consumer is away: the reader waits, the queue holds 5
        got = records(rt, 30)
        rt.unsubscribe("H0STCNT0", "005930", wait=False)
        wait_until(lambda: rt.registrations == {}, "the release")
        try:
            while True:
                got.append(rt.next(timeout=0.3))
        except TimeoutError:
            pass
    assert len(got) == sb.stats()["records_sent"]["H0STCNT0"]


def test_iteration_ends_when_another_thread_closes(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    rt = KISRealtimeClient(realtime_config(config_for, sb), policy=FAST)
    rt.subscribe("H0STCNT0", "005930")
    timer = threading.Timer(0.3, rt.close)
    timer.start()
    started = time.monotonic()
    count = sum(1 for _ in rt)
    timer.join()
    assert count > 0 and time.monotonic() - started < WAIT


# --- asyncio --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_records_priced_and_every_record_delivered(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    config = realtime_config(config_for, sb)
    async with (
        AsyncKISRestClient(config) as rest,
        AsyncKISRealtimeClient(rest=rest, policy=FAST) as rt,
    ):
        params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
        price = (await rest.make_request("GET", api_id="inquire-price", params=params))["output"]
        await rt.subscribe("H0STCNT0", "005930")
        got = [await rt.next(timeout=WAIT) for _ in range(40)]
        await rt.unsubscribe("H0STCNT0", "005930")
        try:
            while True:
                got.append(await rt.next(timeout=0.3))
        except TimeoutError:
            pass
    assert {r["STCK_PRPR"] for r in got} == {price["stck_prpr"]}
    assert len(got) == sb.stats()["records_sent"]["H0STCNT0"]


@pytest.mark.anyio
async def test_async_order_book_at_59_fields_and_a_notice(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start(orderbook_fields=59)
    config = realtime_config(config_for, sb)
    async with (
        AsyncKISRestClient(config) as rest,
        AsyncKISRealtimeClient(rest=rest, policy=FAST) as rt,
    ):
        await rt.subscribe("H0STASP0", "005930")
        await rt.subscribe("H0STCNI9")
        body = cash_order_body(config, "005930", 1)
        reply = await rest.make_request("POST", api_id="order-cash", variant="buy", params=body)
        odno = reply["output"]["ODNO"].lstrip("0")
        book: Record | None = None
        notice: Record | None = None
        async for record in rt:
            if record.tr_id == "H0STASP0":
                book = record
            elif record["ODER_NO"].lstrip("0") == odno:
                notice = record
            if book is not None and notice is not None:
                break
    assert book is not None and len(book.values) == 59 and "KMID_PRC" not in book
    assert notice is not None and notice.key == sb.hts_id


@pytest.mark.anyio
async def test_async_reconnects_after_a_drop_and_survives_bad_utf8(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    errors: list[KISRealtimeError] = []

    async def on_error(error: KISRealtimeError) -> None:
        errors.append(error)

    config = realtime_config(config_for, sb)
    async with AsyncKISRealtimeClient(config, policy=FAST, on_error=on_error) as rt:
        await rt.subscribe("H0STCNT0", "005930")
        await rt.next(timeout=WAIT)
        sb.drop_websockets()
        started = time.monotonic()
        while rt.connections < 2 or rt.registrations[("H0STCNT0", "005930")].state != "active":
            assert time.monotonic() - started < WAIT
            await rt.next(timeout=WAIT)
        sb.set_stream_faults(invalid_utf8=True)
        while not errors:
            assert time.monotonic() - started < 2 * WAIT
            await rt.next(timeout=WAIT)
        assert (await rt.next(timeout=WAIT)).key == "005930"
        assert rt.connections == 2
    assert isinstance(errors[0], KISRealtimeProtocolError)
    assert sb.stats()["approval_keys_issued"] == 1


@pytest.mark.anyio
async def test_async_second_session_fails_after_bounded_attempts_and_close_is_clean(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    sb.set_stream_faults(hold_in_use=60)
    config = realtime_config(config_for, sb)
    policy = ReconnectPolicy(base=0.02, cap=0.05, floor=0.0, in_use_attempts=2)
    first = AsyncKISRealtimeClient(config, policy=FAST)
    await first.subscribe("H0STCNT0", "005930")
    second = AsyncKISRealtimeClient(config, policy=policy)
    try:
        with pytest.raises(KISAppKeyInUseError):
            await second.subscribe("H0STCNT0", "000660")
        assert second.connections == 2
    finally:
        await second.aclose()
    await first.aclose()
    await first.aclose()
    # What was received before the close is still handed out; then iteration ends.
    leftover = [record async for record in first]
    assert all(r.key == "005930" for r in leftover)
    with pytest.raises(StopAsyncIteration):
        await first.__anext__()
    # A clean close frees the slot at once (an abnormal one would hold it for a minute).
    async with AsyncKISRealtimeClient(config, policy=FAST) as again:
        assert (await again.subscribe("H0STCNT0", "005930")).state == "active"
