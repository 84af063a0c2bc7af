"""Issue 18, review of the REST transports: one regression test per finding fixed.

Provoked on loopback wherever a small raw server can do it (:mod:`wire_server`, the reliability
suite's :class:`RawServer`); where the fault is a race no test can time (the watchdog's TLS
shutdown, aiohttp's keep-alive), the property the fix relies on is checked directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reliability"))
from raw_server import RawServer, Reply, token_reply
from reliability_helpers import ORDER_PATH, TOKEN_PATH, order_body
from wire_server import ScriptServer, read_head, stalled_port

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISAmbiguousOutcomeError,
    KISConfig,
    KISConnectError,
    KISError,
    KISProtocolError,
    KISRestClient,
)
from stock_manager.adapters.broker.kis._attempt import (
    KEEPALIVE_SECONDS,
    MIN_SEND_SECONDS,
    AttemptClock,
    ReplyReader,
)
from stock_manager.adapters.broker.kis._transport_async import AiohttpTransport
from stock_manager.adapters.broker.kis._transport_sync import _shutdown
from stock_manager.adapters.broker.kis.protocol import build_request

HASHKEY = "/uapi/hashkey"
BODY = {"CANO": "12345678", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_QTY": "1"}
SLACK = 2.5  # a loaded 2-core machine


def _config(base_url: str, **overrides: Any) -> KISConfig:
    values: dict[str, Any] = {
        "kis_app_key": "A" * 36,
        "kis_app_secret": "S" * 180,
        "environment": "paper",
        "base_url": base_url,
        "account_no": "12345678-01",
        "token_store": "memory",
        "rate_limit_per_second": 100_000,
        "max_retries": 0,
        "timeout": 3,
    }
    values.update(overrides)
    return KISConfig(_env_file=None, **values)


def _sync_hashkey(config: KISConfig, http_client: httpx.Client | None = None) -> str | KISError:
    with KISRestClient(config, http_client=http_client) as client:
        try:
            return client.hashkey(BODY)
        except KISError as exc:
            return exc


def _async_hashkey(
    config: KISConfig, http_client: httpx.AsyncClient | None = None
) -> str | KISError:
    async def call() -> str | KISError:
        async with AsyncKISRestClient(config, http_client=http_client) as client:
            try:
                return await client.hashkey(BODY)
            except KISError as exc:
                return exc

    return asyncio.run(call())


def _httpx_hashkey(config: KISConfig) -> str | KISError:
    with httpx.Client() as http:
        return _sync_hashkey(config, http)


SHELLS = {"sync": _sync_hashkey, "async": _async_hashkey}
EVERY_TRANSPORT = {**SHELLS, "httpx": _httpx_hashkey}


def _replying(head: bytes, body: bytes) -> ScriptServer:
    """A server answering every request with exactly ``head`` and ``body``, then closing."""

    def script(connection: socket.socket, _: threading.Event) -> None:
        request = read_head(connection)
        # Read the request body too: closing with unread bytes makes the kernel send a reset,
        # which the client may see before the reply (a flaky ConnectionResetError).
        announced = re.search(rb"content-length:\s*(\d+)", request, re.IGNORECASE)
        if announced:
            missing = int(announced.group(1)) - len(request.split(b"\r\n\r\n", 1)[1])
            while missing > 0 and (chunk := connection.recv(missing)):
                missing -= len(chunk)
        connection.sendall(head + b"\r\n\r\n" + body)

    return ScriptServer(script)


# -- 1: a garbled Content-Length never escapes as a plain ValueError ----------------------------


def test_reply_reader_ignores_a_length_in_non_ascii_digits() -> None:
    settings = _config("http://127.0.0.1:9")
    request = build_request(settings, "POST", HASHKEY, BODY)
    # "²".isdigit() is True but int("²") raises ValueError.
    reader = ReplyReader(request, 200, {"content-length": "²"}, 10, AttemptClock.start(5))
    reader.add(b'{"HASH":1}')
    assert reader.raw().content == b'{"HASH":1}'


def test_a_superscript_content_length_is_read_as_no_length() -> None:
    # http.client tolerates the header (it reads to the close); ReplyReader raised ValueError,
    # which no layer caught: an order would have been reported neither sent nor ambiguous.
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \xb2"
    head += b"\r\nconnection: close"
    with _replying(head, b'{"HASH": "h"}') as server:
        sync = _sync_hashkey(_config(server.url()))
        asynchronous = _async_hashkey(_config(server.url()))
    assert sync == "h"
    assert isinstance(asynchronous, str | KISError), repr(asynchronous)


# -- 6, 7: connecting, TLS included, is bounded and never reported as maybe sent ---------------


def _trickled_handshake(connection: socket.socket, stopping: threading.Event) -> None:
    # A TLS record header announcing 16 KiB, then one byte of it every 0.2 s: every read of
    # the handshake gets a byte long before a socket timeout.
    connection.sendall(b"\x16\x03\x03\x40\x00")
    until = time.monotonic() + 8
    while time.monotonic() < until and not stopping.wait(0.2):
        connection.sendall(b"\x00")


@pytest.mark.parametrize("shell", SHELLS)
def test_a_trickled_tls_handshake_ends_at_the_deadline_unsent(shell: str) -> None:
    deadline = 1.0
    with ScriptServer(_trickled_handshake) as server:
        config = _config(server.url("https"), request_deadline=deadline, connect_timeout=5)
        started = time.monotonic()
        error = SHELLS[shell](config)
        elapsed = time.monotonic() - started
    # Sync: the handshake ran before the watchdog was armed (8 s here, forever in general).
    # Async: the deadline fired while connecting and was reported as "may have been sent".
    assert type(error) is KISConnectError, repr(error)
    assert "could not connect" in str(error)
    assert elapsed < deadline + SLACK, elapsed


@pytest.mark.parametrize("shell", SHELLS)
def test_a_connect_cut_by_the_deadline_is_not_sent(shell: str) -> None:
    deadline = 0.5
    with stalled_port() as port:
        config = _config(f"http://127.0.0.1:{port}", request_deadline=deadline, connect_timeout=10)
        started = time.monotonic()
        error = SHELLS[shell](config)
        elapsed = time.monotonic() - started
    assert type(error) is KISConnectError, repr(error)  # an order would not be ambiguous
    assert elapsed < deadline + SLACK, elapsed


def _order_with_little_time(shell: str, server: RawServer) -> BaseException:
    config = _config(server.base_url)
    body = order_body(config)
    deadline = MIN_SEND_SECONDS / 2
    if shell == "sync":
        with KISRestClient(config) as client:
            client.access_token()  # a token at hand: the deadline is all for the order
            try:
                client.make_request("POST", ORDER_PATH, body, variant="buy", deadline=deadline)
            except KISError as exc:
                return exc
    else:

        async def call() -> BaseException:
            async with AsyncKISRestClient(config) as client:
                await client.access_token()
                try:
                    await client.make_request(
                        "POST", ORDER_PATH, body, variant="buy", deadline=deadline
                    )
                except KISError as exc:
                    return exc
            raise AssertionError("the order succeeded")

        return asyncio.run(call())
    raise AssertionError("the order succeeded")


@pytest.mark.parametrize("shell", SHELLS)
def test_an_order_with_too_little_time_left_is_not_sent(shell: str) -> None:
    # Sent with a few ms left, it could only time out: an ambiguous order for nothing.
    with RawServer({TOKEN_PATH: token_reply(), ORDER_PATH: Reply(200, hang=True)}) as server:
        error = _order_with_little_time(shell, server)
        assert server.count(ORDER_PATH) == 0
    assert type(error) is KISConnectError, repr(error)
    assert not isinstance(error, KISAmbiguousOutcomeError)
    assert "nothing was sent" in str(error)


# -- 5: aiohttp's idle connections are dropped before uvicorn's ---------------------------------


def test_the_async_pool_keeps_idle_connections_no_longer_than_the_sync_one() -> None:
    # The race (an order on a connection the server closes as it arrives) cannot be timed;
    # what prevents it is the keep-alive below uvicorn's 5 s, as in the sync pool.
    async def keepalive() -> object:
        transport = AiohttpTransport(
            connect_timeout=1, read_timeout=1, max_reply_bytes=1024, pool_size=4
        )
        session = transport._open()
        try:
            return session.connector._keepalive_timeout  # type: ignore[union-attr]
        finally:
            await transport.aclose()

    assert asyncio.run(keepalive()) == KEEPALIVE_SECONDS < 5


# -- 8: the watchdog's shutdown keeps a TLS socket's TLS state ---------------------------------


def test_the_watchdog_shutdown_leaves_a_tls_socket_encrypting() -> None:
    # SSLSocket.shutdown() drops the TLS object first: a write racing it (sendall between two
    # chunks) would go out in clear. The plain socket's shutdown keeps it.
    ours, theirs = socket.socketpair()
    context = ssl.create_default_context()
    tls = context.wrap_socket(ours, server_hostname="kis.test", do_handshake_on_connect=False)
    try:
        _shutdown(tls)
        assert tls._sslobj is not None  # type: ignore[attr-defined]
        with pytest.raises(OSError):  # ssl.SSLError included: never the bytes in clear
            tls.sendall(b"authorization: Bearer secret")
        theirs.settimeout(0.5)
        assert b"Bearer" not in theirs.recv(4096)
    finally:
        tls.close()
        theirs.close()


# -- 9: only the encodings asked for, and a compressed body must end ---------------------------


@pytest.mark.parametrize("transport", EVERY_TRANSPORT)
def test_each_transport_asks_for_gzip_and_deflate_only(transport: str) -> None:
    with RawServer({HASHKEY: Reply.json(200, {"HASH": "h"})}) as server:
        assert EVERY_TRANSPORT[transport](_config(server.base_url)) == "h"
        asked = server.requests[0].headers.get("accept-encoding")
    assert asked == "gzip, deflate"


@pytest.mark.parametrize("transport", EVERY_TRANSPORT)
def test_a_reply_in_an_encoding_not_asked_for_is_refused(transport: str) -> None:
    headers = (("content-type", "application/json"), ("content-encoding", "br"))
    with RawServer({HASHKEY: Reply(200, b"\x1b\x0b\x00\xf8", headers=headers)}) as server:
        error = EVERY_TRANSPORT[transport](_config(server.base_url))
    assert type(error) is KISProtocolError, repr(error)
    assert "content-encoding" in str(error)


@pytest.mark.parametrize("transport", EVERY_TRANSPORT)
def test_a_gzip_body_cut_before_its_end_is_refused(transport: str) -> None:
    whole = gzip.compress(json.dumps({"HASH": "h", "pad": "p" * 200}).encode())
    headers = (("content-type", "application/json"), ("content-encoding", "gzip"))
    # Its trailer (CRC and length) cut off: every byte of JSON is there, but not the end.
    with RawServer({HASHKEY: Reply(200, whole[:-8], headers=headers)}) as server:
        error = EVERY_TRANSPORT[transport](_config(server.base_url))
    assert type(error) is KISProtocolError, repr(error)
    assert "ends before" in str(error)


# -- 14: the httpx path inflates within the cap ------------------------------------------------


def test_the_httpx_path_never_inflates_a_chunk_past_the_cap() -> None:
    # 32 MB of zeros compress into one 32 KiB chunk; httpx's decoder inflated it whole.
    bomb = gzip.compress(b"0" * (32 * 1024 * 1024), compresslevel=9)
    headers = (("content-type", "application/json"), ("content-encoding", "gzip"))
    with RawServer({HASHKEY: Reply(200, bomb, headers=headers)}) as server:
        config = _config(server.base_url, max_reply_bytes=128 * 1024)
        tracemalloc.start()
        try:
            error = _httpx_hashkey(config)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert type(error) is KISProtocolError, repr(error)
    assert "max_reply_bytes" in str(error)
    assert peak < 8 * 1024 * 1024, peak


# -- 13: a forked child keeps the attempt deadline ---------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_keeps_the_attempt_deadline() -> None:
    deadline = 0.5
    with RawServer({HASHKEY: Reply.json(200, {"HASH": "h"})}) as server:
        config = _config(server.base_url, request_deadline=deadline, timeout=4)
        with KISRestClient(config) as client:
            assert client.hashkey(BODY) == "h"  # the parent's watchdog thread is running
            server.replies[HASHKEY] = Reply(200, hang=True)
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: report how long a hanging call took, then leave at once
                code = 1
                try:
                    started = time.monotonic()
                    with contextlib.suppress(KISError):
                        client.hashkey(BODY)
                    os.write(write, f"{time.monotonic() - started:.3f}".encode())
                    code = 0
                finally:
                    os._exit(code)
            os.close(write)
            try:
                with os.fdopen(read, "rb") as pipe:
                    answer = pipe.read()
            finally:
                _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # Without a watchdog thread of its own the child waited for the read timeout (4 s).
    assert float(answer) < deadline + SLACK / 2, answer


# -- 10 (the aiohttp part): nothing opened after aclose ----------------------------------------


def test_the_async_transport_opens_nothing_once_closed() -> None:
    # A flow already past the client's own check reached send() after aclose(): it opened a
    # fresh session nobody would close.
    async def scenario(server: RawServer) -> BaseException:
        transport = AiohttpTransport(
            connect_timeout=1, read_timeout=1, max_reply_bytes=1024, pool_size=4
        )
        await transport.aclose()
        request = build_request(_config(server.base_url), "POST", HASHKEY, BODY)
        try:
            await transport.send(request, AttemptClock.start(2))
        except KISError as exc:
            assert transport._session is None
            return exc
        raise AssertionError("sent after aclose")

    with RawServer({HASHKEY: Reply.json(200, {"HASH": "h"})}) as server:
        error = asyncio.run(scenario(server))
        assert server.count() == 0
    assert type(error) is KISConnectError, repr(error)
