"""The sandbox's realtime websocket, over real sockets with a raw ``websockets`` client.

Frames are checked against KIS-REALTIME.md (control replies and codes, ``0|TR|NNN|payload``
bundles, encrypted notices) and against the sandbox's own REST answers (prices agree with
inquire-price at the same market moment). The market stands still (ManualClock) unless moved.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sandbox_helpers import Caller, market_options, rt
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.sync.client import ClientConnection, connect

from stock_manager.sandbox import KISSandbox, ManualClock, SandboxConfigError
from stock_manager.sandbox.streams import layouts
from stock_manager.sandbox.streams.notices import decrypt

FAST = {"stream_interval": 0.05, "pingpong_interval": 5.0}
WAIT = 3.0  # seconds any expected frame may take (ticks are 50 ms)


def approval(sb: KISSandbox, key: str | None = None, secret: str | None = None) -> str:
    body = {
        "grant_type": "client_credentials",
        "appkey": key or sb.app_key,
        "secretkey": secret or sb.app_secret,
    }
    response = httpx.post(f"{sb.base_url}/oauth2/Approval", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["approval_key"])


def request(approval_key: str, tr_id: str, tr_key: str, tr_type: str = "1") -> str:
    return json.dumps(
        {
            "header": {
                "approval_key": approval_key,
                "custtype": "P",
                "tr_type": tr_type,
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        }
    )


def control(ws: ClientConnection) -> dict[str, Any]:
    """The next control reply (data frames and PINGPONG skipped)."""
    deadline = time.monotonic() + WAIT
    while True:
        frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        assert isinstance(frame, str)
        if frame[:1] in "01" and frame[1:2] == "|":
            continue
        message: dict[str, Any] = json.loads(frame)
        if message["header"]["tr_id"] != "PINGPONG":
            return message


def subscribe(ws: ClientConnection, key: str, tr_id: str, tr_key: str, tr_type: str = "1") -> Any:
    ws.send(request(key, tr_id, tr_key, tr_type))
    return control(ws)


def code_of(message: dict[str, Any]) -> tuple[str, str]:
    return message["body"]["rt_cd"], message["body"]["msg_cd"]


def data_frames(ws: ClientConnection, tr_id: str, wanted: int) -> list[tuple[str, int, str]]:
    """``wanted`` data frames of ``tr_id`` as (encrypted flag, count, payload)."""
    found: list[tuple[str, int, str]] = []
    deadline = time.monotonic() + WAIT
    while len(found) < wanted:
        frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        assert isinstance(frame, str)
        if frame.startswith("{"):
            continue
        flag, tr, count, payload = frame.split("|", 3)
        if tr == tr_id:
            found.append((flag, int(count), payload))
    return found


def split_records(count: int, payload: str) -> list[list[str]]:
    fields = payload.split("^")
    assert len(fields) % count == 0
    width = len(fields) // count
    return [fields[i * width : (i + 1) * width] for i in range(count)]


@contextmanager
def session(sb: KISSandbox) -> Iterator[ClientConnection]:
    with connect(sb.websocket_url, open_timeout=5, close_timeout=1) as ws:
        yield ws


@pytest.fixture
def sandbox(make_sandbox: Callable[..., KISSandbox]) -> Callable[..., KISSandbox]:
    def make(environment: str = "paper", **options: Any) -> KISSandbox:
        return make_sandbox(environment, **{**FAST, **market_options(), **options})

    return make


def test_h0stcnt0_streams_bundles_at_the_price_inquire_price_answers(
    sandbox: Callable[..., KISSandbox], client_for: Callable[[KISSandbox], httpx.Client]
) -> None:
    sb = sandbox()
    price = Caller(sb, client_for(sb)).quote("005930")["stck_prpr"]
    width = len(layouts.available("paper")["H0STCNT0"].fields)
    with session(sb) as ws:
        reply = subscribe(ws, approval(sb), "H0STCNT0", "005930")
        assert code_of(reply) == ("0", "OPSP0000")
        assert reply["header"]["tr_id"] == "H0STCNT0"
        output = reply["body"]["output"]
        assert len(output["iv"]) == 16 and len(output["key"]) == 32
        frames = data_frames(ws, "H0STCNT0", 12)
    assert {flag for flag, _, _ in frames} == {"0"}
    assert any(count > 1 for _, count, _ in frames), "no multi-record bundle in 12 frames"
    for _, count, payload in frames:
        assert len(payload.split("^")) == count * width
        for record in split_records(count, payload):
            assert record[0] == "005930" and record[1] == "100000"
            assert record[2] == price
    sent = sb.stats()["records_sent"]["H0STCNT0"]
    assert sent >= sum(count for _, count, _ in frames)
    sb.reset()
    assert (
        "H0STCNT0" not in sb.stats()["records_sent"]
        or sb.stats()["records_sent"]["H0STCNT0"] < sent
    )


@pytest.mark.parametrize("width", [62, 59])
def test_h0stasp0_has_the_live_62_fields_or_the_documented_59(
    sandbox: Callable[..., KISSandbox], width: int
) -> None:
    sb = sandbox(orderbook_fields=width)
    instrument = sb.market.lookup("005930")
    assert instrument is not None
    best_ask = sb.market.snapshot(instrument).asks[0]
    with session(sb) as ws:
        assert code_of(subscribe(ws, approval(sb), "H0STASP0", "005930"))[1] == "OPSP0000"
        _, count, payload = data_frames(ws, "H0STASP0", 1)[0]
    record = split_records(count, payload)[0]
    assert len(payload.split("^")) == count * width
    assert record[0] == "005930" and record[3] == str(best_ask[0])
    assert record[23] == str(best_ask[1])  # ASKP_RSQN1


def test_bad_orderbook_width_is_refused() -> None:
    with pytest.raises(SandboxConfigError, match="orderbook_fields"):
        KISSandbox(orderbook_fields=60)
    with pytest.raises(SandboxConfigError, match="stream_interval"):
        KISSandbox(stream_interval=0)


def test_control_codes(sandbox: Callable[..., KISSandbox]) -> None:
    sb = sandbox()
    key = approval(sb)
    with session(sb) as ws:
        assert code_of(subscribe(ws, key, "H0STCNT0", "005930")) == ("0", "OPSP0000")
        assert code_of(subscribe(ws, key, "H0STCNT0", "005930")) == ("1", "OPSP0002")
        assert code_of(subscribe(ws, key, "H0STCNT0", "005930", "2")) == ("0", "OPSP0001")
        assert code_of(subscribe(ws, key, "H0STCNT0", "005930", "2")) == ("1", "OPSP0003")
        assert code_of(subscribe(ws, key, "H0STCNT0", "999999")) == ("1", "OPSP8992")
        # The paper server carries five TRs only.
        assert code_of(subscribe(ws, key, "H0STNAV0", "069500")) == ("1", "OPSP8991")
        assert code_of(subscribe(ws, key, "H0STCNI0", sb.hts_id)) == ("1", "OPSP8991")
        refused = subscribe(ws, "0" * 36, "H0STCNT0", "005930")
        assert code_of(refused) == ("1", "OPSP0011")
        assert "0" * 36 not in refused["body"]["msg1"]
        for raw, code in (
            ("not json", "OPSP9999"),
            ("[1]", "OPSP9999"),
            ("{}", "OPSP9998"),
            ('{"header": {}}', "OPSP9997"),
            ('{"header": {}, "body": {}}', "OPSP9996"),
            (request(key, "H0STCNT0", "005930", "3"), "OPSP8997"),
            (request(key, "H0STCNT0", "005930").replace('"P"', '"X"'), "OPSP8998"),
        ):
            ws.send(raw)
            assert code_of(control(ws)) == ("1", code), raw
        ws.send(b"\x00binary")
        assert code_of(control(ws)) == ("1", "OPSP9990")
        # Still alive after every refusal.
        assert code_of(subscribe(ws, key, "H0STASP0", "005930")) == ("0", "OPSP0000")


def test_the_42nd_pair_is_refused_and_the_session_lives(
    sandbox: Callable[..., KISSandbox],
) -> None:
    sb = sandbox("real")
    key = approval(sb)
    trs = ["H0STCNT0", "H0STASP0", "H0STANC0", "H0STMKO0", "H0STPGM0"]
    pairs = [
        (tr, code)
        for tr in trs
        for code in layouts.listed_keys(layouts.available("real")[tr])
        if code.isdigit()
    ][:42]
    assert len(pairs) == 42
    with session(sb) as ws:
        for tr, code in pairs[:41]:
            assert code_of(subscribe(ws, key, tr, code))[1] == "OPSP0000", (tr, code)
        assert code_of(subscribe(ws, key, *pairs[41])) == ("1", "OPSP0008")
        assert code_of(subscribe(ws, key, *pairs[0], "2"))[1] == "OPSP0001"
        assert code_of(subscribe(ws, key, *pairs[41]))[1] == "OPSP0000"


def test_a_second_session_of_one_app_key_gets_opsp8996_and_a_dropped_connection(
    sandbox: Callable[..., KISSandbox],
) -> None:
    sb = sandbox()
    key = approval(sb)
    other_app = sb.register_app()
    with session(sb) as first, session(sb) as second, session(sb) as third:
        assert code_of(subscribe(first, key, "H0STCNT0", "005930"))[1] == "OPSP0000"
        second.send(request(approval(sb), "H0STCNT0", "000660"))
        reply = json.loads(second.recv(timeout=WAIT))
        assert reply["header"]["tr_id"] == "(null)"
        assert code_of(reply) == ("9", "OPSP8996")
        with pytest.raises(ConnectionClosedError) as closed:
            second.recv(timeout=WAIT)
        assert closed.value.rcvd is None  # no close frame
        other = approval(sb, other_app[0], other_app[1])
        assert code_of(subscribe(third, other, "H0STCNT0", "005930"))[1] == "OPSP0000"
        assert code_of(subscribe(first, key, "H0STASP0", "005930"))[1] == "OPSP0000"
        assert sb.stats()["websocket_sessions"] == 2


def test_pingpong_arrives_and_an_echo_is_taken_silently(
    sandbox: Callable[..., KISSandbox],
) -> None:
    sb = sandbox(pingpong_interval=0.1)
    with session(sb) as ws:
        ping = json.loads(ws.recv(timeout=WAIT))
        assert ping["header"]["tr_id"] == "PINGPONG"
        assert len(ping["header"]["datetime"]) == 14 and "body" not in ping
        ws.send(json.dumps(ping))
        reply = subscribe(ws, approval(sb), "H0STCNT0", "005930")
        assert code_of(reply)[1] == "OPSP0000"  # the echo got no reply of its own


def _notices(ws: ClientConnection, tr_id: str, wanted: int, iv: str, key: str) -> list[list[str]]:
    records = []
    for flag, count, payload in data_frames(ws, tr_id, wanted):
        assert (flag, count) == ("1", 1)
        records.append(decrypt(payload, key, iv).split("^"))
    return records


def test_rest_orders_produce_encrypted_notices_in_order(
    sandbox: Callable[..., KISSandbox], client_for: Callable[[KISSandbox], httpx.Client]
) -> None:
    sb = sandbox()
    kis = Caller(sb, client_for(sb))
    instrument = sb.market.lookup("005930")
    assert instrument is not None
    now = sb.market.now()
    steps = list(sb.market.path(instrument, now, now + timedelta(minutes=30)))
    limit = min(price for _, price, _ in steps)
    moment = next(m for m, price, _ in steps if price <= limit)
    with session(sb) as ws:
        reply = subscribe(ws, approval(sb), "H0STCNI9", sb.hts_id)
        assert code_of(reply)[1] == "OPSP0000"
        iv, key = reply["body"]["output"]["iv"], reply["body"]["output"]["key"]
        placed = kis.order("buy", "005930", qty="900", price=str(limit), dvsn="00")
        assert rt(placed)[:2] == (200, "0"), placed.text
        odno = placed.json()["output"]["ODNO"]
        sb.set_market_time(moment)  # the walk crosses the limit: a partial fill
        (accepted, fill) = _notices(ws, "H0STCNI9", 2, iv, key)
        cancelled = kis.revise(odno)
        assert rt(cancelled)[:2] == (200, "0"), cancelled.text
        (cancel,) = _notices(ws, "H0STCNI9", 1, iv, key)
    for record in (accepted, fill, cancel):
        assert len(record) == 26
        assert record[0] == sb.hts_id and record[8] == "005930"
        assert record[1] == kis.cano + kis.product
    # CNTG_YN 1 acceptance with the order's quantity and price; 2 a fill with its own.
    assert (accepted[2], accepted[5], accepted[13]) == (odno, "0", "1")
    assert (accepted[9], accepted[10]) == ("0000000900", str(limit).zfill(9))
    assert (fill[2], fill[13]) == (odno, "2")
    filled = int(fill[9])
    assert 0 < filled < 900 and len(fill[9]) == 10 and int(fill[10]) <= limit
    assert (cancel[3], cancel[5]) == (odno, "2")
    assert int(cancel[9]) == 900 - filled and cancel[24] == instrument.name  # the remainder
    assert sb.stats()["records_sent"]["H0STCNI9"] == 3


def test_a_wrong_hts_id_drops_the_connection(sandbox: Callable[..., KISSandbox]) -> None:
    sb = sandbox()
    with session(sb) as ws:
        ws.send(request(approval(sb), "H0STCNI9", "nobody"))
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=WAIT)
        assert closed.value.rcvd is None


def test_drop_websockets_drops_every_session(sandbox: Callable[..., KISSandbox]) -> None:
    sb = sandbox()
    with session(sb) as ws, session(sb) as idle:
        assert code_of(subscribe(ws, approval(sb), "H0STCNT0", "005930"))[1] == "OPSP0000"
        assert sb.drop_websockets() == 2
        for connection in (ws, idle):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    connection.recv(timeout=WAIT)
            assert closed.value.rcvd is None
    deadline = time.monotonic() + WAIT
    while sb.stats()["websocket_sessions"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sb.stats()["websocket_sessions"] == 0


def test_hold_in_use_keeps_the_slot_after_an_abnormal_close(
    sandbox: Callable[..., KISSandbox],
) -> None:
    clock = ManualClock()
    sb = sandbox(**{**market_options(), "clock": clock})
    sb.set_stream_faults(hold_in_use=30)
    key = approval(sb)
    with session(sb) as ws:
        assert code_of(subscribe(ws, key, "H0STCNT0", "005930"))[1] == "OPSP0000"
        sb.drop_websockets()
    time.sleep(0.1)
    with session(sb) as ws:
        assert code_of(subscribe(ws, key, "H0STCNT0", "005930"))[1] == "OPSP8996"
    clock.advance(31)
    with session(sb) as ws:
        assert code_of(subscribe(ws, key, "H0STCNT0", "005930"))[1] == "OPSP0000"
    with pytest.raises(SandboxConfigError):
        sb.set_stream_faults(hold_in_use=-1)


def test_invalid_utf8_and_silence(sandbox: Callable[..., KISSandbox]) -> None:
    sb = sandbox(pingpong_interval=0.05)
    with session(sb) as ws:
        assert code_of(subscribe(ws, approval(sb), "H0STCNT0", "005930"))[1] == "OPSP0000"
        sb.set_stream_faults(invalid_utf8=True)
        deadline = time.monotonic() + WAIT
        while True:
            raw = ws.recv(timeout=max(0.01, deadline - time.monotonic()), decode=False)
            assert isinstance(raw, bytes)
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                break
        sb.set_stream_faults(silence=True)
        time.sleep(0.2)  # frames already in flight arrive first
        while True:
            try:
                ws.recv(timeout=0.01)
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.4)
        sb.set_stream_faults(silence=False)
        assert ws.recv(timeout=WAIT)


def test_process_mode_streams_and_drops(make_sandbox: Callable[..., KISSandbox]) -> None:
    sb = make_sandbox("paper", process=True, **FAST)
    assert sb.websocket_url.startswith("ws://127.0.0.1:") and sb.hts_id.startswith("sb")
    with session(sb) as ws:
        reply = subscribe(ws, approval(sb), "H0STCNI9", sb.hts_id)
        assert code_of(reply)[1] == "OPSP0000"
        assert sb.stats()["websocket_sessions"] == 1
        sb.set_stream_faults(hold_in_use=0.5)
        assert sb.drop_websockets() == 1
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=WAIT)
