"""Regression tests for the review of the realtime shells: approval-key renewal after a burst,
one websocket for concurrent subscribers, close racing connect, a reader that meets an
unexpected error, a cancelled aclose, a write to a peer that stopped reading, TLS on abort.

Over real sockets against the sandbox (its market at 10:00, streaming every 50 ms); every wait
is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRealtimeClient,
    AsyncKISRestClient,
    KISConfig,
    KISRealtimeClient,
    KISRealtimeError,
    KISRestClient,
    KISUsageError,
    ReconnectPolicy,
)
from stock_manager.adapters.broker.kis.realtime import RealtimeProtocol
from stock_manager.adapters.broker.kis.realtime._shell import KeyRenewal
from stock_manager.adapters.broker.kis.tokens.store import (
    APPROVAL_KEY,
    MemoryTokenStore,
    TokenEntry,
    TokenKey,
)
from stock_manager.sandbox import KISSandbox, ManualClock

WAIT = 5.0
FAST = ReconnectPolicy(
    base=0.05, cap=0.2, floor=0.01, silence_timeout=5.0, reply_timeout=WAIT, close_timeout=1.0
)
STALE = "stale-approval-key-the-sandbox-never-issued-0000"
PAIRS = [("H0STCNT0", "005930"), ("H0STCNT0", "000660"), ("H0STASP0", "005930")]

Start = Callable[..., KISSandbox]


@pytest.fixture
def start(sandbox_factory: Callable[..., KISSandbox]) -> Start:
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


def realtime_config(
    config_for: Callable[..., KISConfig], sb: KISSandbox, **extra: Any
) -> KISConfig:
    return config_for(sb, websocket_url=sb.websocket_url, hts_id=sb.hts_id, **extra)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    ends_at = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends_at, f"timed out waiting for {what}"
        time.sleep(0.02)


def stale_entry() -> TokenEntry:
    now = datetime.now(UTC)
    return TokenEntry(
        APPROVAL_KEY, issued_at=now, value=STALE, expires_at=now + timedelta(hours=20)
    )


def all_active(rt: KISRealtimeClient | AsyncKISRealtimeClient) -> bool:
    registrations = rt.registrations
    return len(registrations) == len(PAIRS) and all(
        r.state == "active" for r in registrations.values()
    )


# --- finding 2: OPSP0011 for every frame of a burst -------------------------------------------


def test_a_stale_key_refused_for_a_whole_burst_is_renewed_once(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    errors: list[KISRealtimeError] = []
    with (
        KISRestClient(realtime_config(config_for, sb)) as rest,
        KISRealtimeClient(rest=rest, policy=FAST, on_error=errors.append) as rt,
    ):
        for pair in PAIRS:
            rt.subscribe(*pair)
        # The cached key goes stale: the reconnect sends all three pairs with a key the
        # sandbox never issued, and each of the three frames is refused with OPSP0011.
        rest.approval_keys.invalidate(rest.approval_key())
        rest.token_store.save(rest.approval_keys.key, stale_entry())
        assert sb.drop_websockets() == 1
        wait_until(lambda: rt.connections == 2, "a reconnect")
        wait_until(lambda: all_active(rt) or rt.error is not None, "the pairs again")
        assert rt.error is None
        assert all_active(rt)
        rt.next(timeout=WAIT)  # the stream goes on
        assert rest.approval_key() != STALE
    assert errors == []
    assert sb.stats()["approval_keys_issued"] == 2  # one renewal for the three refusals


@pytest.mark.anyio
async def test_async_a_stale_key_refused_for_a_whole_burst_is_renewed_once(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    async with (
        AsyncKISRestClient(realtime_config(config_for, sb)) as rest,
        AsyncKISRealtimeClient(rest=rest, policy=FAST) as rt,
    ):
        for pair in PAIRS:
            await rt.subscribe(*pair)
        await rest.approval_keys.invalidate(await rest.approval_key())
        rest.token_store.save(rest.approval_keys.key, stale_entry())
        assert sb.drop_websockets() == 1
        ends_at = time.monotonic() + WAIT
        while rt.connections < 2 or not (all_active(rt) or rt.error is not None):
            assert time.monotonic() < ends_at, "timed out waiting for the pairs again"
            await asyncio.sleep(0.02)
        assert rt.error is None
        await rt.next(timeout=WAIT)
    assert sb.stats()["approval_keys_issued"] == 2


def test_key_renewal_tells_stale_refusals_from_a_refused_new_key() -> None:
    renewal = KeyRenewal()
    renewal.sent("old", 3)
    renewal.answered(False, "old")
    assert renewal.refused("old") == "renew"
    renewal.renewed("new")
    renewal.sent("new", 3)
    for _ in range(2):  # the rest of the old burst
        renewal.answered(False, "new")
        assert renewal.refused("new") == "stale"
    renewal.answered(False, "new")  # a frame sent with the new key: no second renewal
    assert renewal.refused("new") == "fatal"
    # A confirmation of the new key allows one renewal again later (a key expiring).
    renewal.session_started()
    renewal.sent("new", 2)
    renewal.answered(True, "new")
    renewal.answered(False, "new")
    assert renewal.refused("new") == "renew"


# --- finding 11: an unexpected error in the reader ---------------------------------------------


class FailingStore(MemoryTokenStore):
    """A token store whose discard fails as a file store's may (a disk gone)."""

    fail = False

    def discard(self, key: TokenKey, value: str) -> bool:
        if self.fail:
            raise OSError(28, "No space left on device")
        return super().discard(key, value)


def test_the_reader_ends_the_stream_with_an_error_on_an_unexpected_exception(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    store = FailingStore()
    with (
        KISRestClient(realtime_config(config_for, sb), token_store=store) as rest,
        KISRealtimeClient(rest=rest, policy=FAST) as rt,
    ):
        rt.subscribe("H0STCNT0", "005930")
        rest.approval_keys.invalidate(rest.approval_key())
        store.save(rest.approval_keys.key, stale_entry())
        store.fail = True
        sb.drop_websockets()
        started = time.monotonic()
        with pytest.raises(KISRealtimeError, match="OSError"):
            while True:  # records already queued come first, then the error
                rt.next(timeout=WAIT)
        assert time.monotonic() - started < WAIT
        with pytest.raises(KISRealtimeError):
            rt.subscribe("H0STCNT0", "000660")
    wait_until(lambda: sb.stats()["websocket_sessions"] == 0, "the session to end")


@pytest.mark.anyio
async def test_async_the_reader_ends_the_stream_with_an_error_on_an_unexpected_exception(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    store = FailingStore()
    async with (
        AsyncKISRestClient(realtime_config(config_for, sb), token_store=store) as rest,
        AsyncKISRealtimeClient(rest=rest, policy=FAST) as rt,
    ):
        await rt.subscribe("H0STCNT0", "005930")
        await rest.approval_keys.invalidate(await rest.approval_key())
        store.save(rest.approval_keys.key, stale_entry())
        store.fail = True
        sb.drop_websockets()
        with pytest.raises(KISRealtimeError, match="OSError"):
            while True:
                await rt.next(timeout=WAIT)


# --- finding 3: one websocket for concurrent subscribers ----------------------------------------


def test_threads_subscribing_at_once_open_one_websocket(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    symbols = ["005930", "000660", "005380", "035420"]
    barrier = threading.Barrier(len(symbols))
    failures: list[BaseException] = []
    with KISRealtimeClient(realtime_config(config_for, sb), policy=FAST) as rt:

        def subscribe(symbol: str) -> None:
            barrier.wait(WAIT)
            try:
                rt.subscribe("H0STCNT0", symbol)
            except BaseException as exc:  # reported by the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=subscribe, args=(s,)) for s in symbols]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(2 * WAIT)
        assert failures == []
        assert rt.connections == 1
        assert sb.stats()["websocket_sessions"] == 1
        assert sorted(key for _, key in rt.registrations) == sorted(symbols)


# --- finding 10: close() while connect() opens the websocket ------------------------------------


class CloseWhileOpening(KISRealtimeClient):
    """Another thread closes the client just as the websocket opened."""

    def _open(self) -> Any:
        ws = super()._open()
        closer = threading.Thread(target=self.close)
        closer.start()
        closer.join(WAIT)
        return ws


def test_close_during_connect_leaves_no_websocket_open(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    sb.set_stream_faults(hold_in_use=60)  # a socket left open would hold the app key
    config = realtime_config(config_for, sb)
    rt = CloseWhileOpening(config, policy=FAST)
    with pytest.raises(KISUsageError, match="closed"):
        rt.subscribe("H0STCNT0", "005930")
    assert not rt.connected
    wait_until(lambda: sb.stats()["websocket_sessions"] == 0, "the session to end")
    with KISRealtimeClient(config, policy=FAST) as again:
        assert again.subscribe("H0STCNT0", "005930").state == "active"


class AsyncCloseWhileOpening(AsyncKISRealtimeClient):
    async def _open(self) -> Any:
        ws = await super()._open()
        await self.aclose()
        return ws


@pytest.mark.anyio
async def test_async_close_during_connect_leaves_no_websocket_open(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    sb.set_stream_faults(hold_in_use=60)
    config = realtime_config(config_for, sb)
    rt = AsyncCloseWhileOpening(config, policy=FAST)
    with pytest.raises(KISUsageError, match="closed"):
        await rt.subscribe("H0STCNT0", "005930")
    assert not rt.connected
    ends_at = time.monotonic() + WAIT
    while sb.stats()["websocket_sessions"]:
        assert time.monotonic() < ends_at, "the session did not end"
        await asyncio.sleep(0.02)
    async with AsyncKISRealtimeClient(config, policy=FAST) as again:
        assert (await again.subscribe("H0STCNT0", "005930")).state == "active"


# --- finding 12: aclose() and the caller's cancellation ---------------------------------------


@pytest.mark.anyio
async def test_a_cancelled_aclose_stops_the_reader_and_is_not_swallowed(
    start: Start, config_for: Callable[..., KISConfig]
) -> None:
    sb = start()
    arrived = asyncio.Event()
    never = asyncio.Event()

    async def stuck(record: object) -> None:
        arrived.set()
        await never.wait()  # the reader stays here until it is cancelled

    rt = AsyncKISRealtimeClient(realtime_config(config_for, sb), policy=FAST, on_record=stuck)
    await rt.subscribe("H0STCNT0", "005930")
    await asyncio.wait_for(arrived.wait(), WAIT)
    sb.drop_websockets()  # so that aclose()'s close frame returns at once
    await asyncio.sleep(0.2)
    closing = asyncio.create_task(rt.aclose())
    await asyncio.sleep(0.3)  # aclose() now waits for the reader
    assert not closing.done()
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(closing, WAIT)
    assert closing.cancelled()
    assert not rt.connected  # the reader was stopped and its connection ended


# --- finding 15: a write to a peer that stopped reading ----------------------------------------


@pytest.fixture
def deaf_peer() -> Iterator[str]:
    """A websocket endpoint that answers the opening handshake, then never reads again."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited when accepted
    server.settimeout(WAIT)
    done = threading.Event()

    def serve() -> None:
        try:
            peer, _ = server.accept()
        except OSError:
            return
        with peer:
            request = b""
            while b"\r\n\r\n" not in request:
                request += peer.recv(4096)
            line = next(
                h for h in request.split(b"\r\n") if h.lower().startswith(b"sec-websocket-key:")
            )
            key = line.split(b":", 1)[1].strip()
            magic = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            accept = base64.b64encode(hashlib.sha1(key + magic).digest())  # noqa: S324
            peer.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            done.wait(3 * WAIT)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{server.getsockname()[1]}"
    done.set()
    server.close()
    thread.join(WAIT)


def test_a_write_to_a_peer_that_stopped_reading_is_cut_after_send_timeout(
    start: Start, config_for: Callable[..., KISConfig], deaf_peer: str
) -> None:
    sb = start()
    policy = ReconnectPolicy(
        base=0.05, cap=0.1, floor=0.01, connect_timeout=0.5, close_timeout=0.3, send_timeout=0.3
    )
    config = config_for(sb, websocket_url=deaf_peer, hts_id=sb.hts_id)
    rt = KISRealtimeClient(config, policy=policy)
    try:
        rt.subscribe("H0STCNT0", "005930", wait=False)
        ws = rt._ws
        assert ws is not None
        # More than any socket buffer holds: the write blocks until the connection is cut.
        writer = threading.Thread(target=rt._send, args=(ws, "x" * 8_000_000), daemon=True)
        started = time.monotonic()
        writer.start()
        writer.join(WAIT)
        assert not writer.is_alive(), "the write was not cut"
        assert time.monotonic() - started < 2.0
        wait_until(lambda: rt._ws is not ws, "the reader to drop the connection")
    finally:
        started = time.monotonic()
        rt.close()
        assert time.monotonic() - started < WAIT


# --- finding 8: the abort keeps the TLS layer -------------------------------------------------


def test_abort_shuts_the_tcp_socket_without_dropping_tls() -> None:
    plain, peer = socket.socketpair()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with peer, context.wrap_socket(plain, do_handshake_on_connect=False) as tls:
        KISRealtimeClient._abort(None, SimpleNamespace(socket=tls))  # type: ignore[arg-type]
        peer.settimeout(WAIT)
        assert peer.recv(1) == b""  # the peer sees the end
        # SSLSocket.shutdown() would have dropped the TLS object, so a concurrent write could
        # go out in clear.
        assert tls._sslobj is not None  # type: ignore[attr-defined]


# --- finding 15: the cap above KIS's ----------------------------------------------------------


def test_a_cap_above_kis_is_allowed_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "stock_manager.kis.realtime")
    RealtimeProtocol("k" * 32, paper=True, max_registrations=41)
    assert "above KIS" not in caplog.text
    protocol = RealtimeProtocol("k" * 32, paper=True, max_registrations=42)
    assert protocol.max_registrations == 42
    assert "max_registrations=42 is above KIS's 41" in caplog.text
