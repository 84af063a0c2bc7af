"""Issue 18: the clients' own transports (http.client for the blocking client, aiohttp for
asyncio) keep every guarantee of the httpx ones, and a burst queues instead of failing.

Everything crosses real HTTP on loopback: the sandbox in its own process for the burst, the
reliability suite's :class:`RawServer` for replies no KIS would send.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reliability"))
from raw_server import RawServer, Reply

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISConfig,
    KISConnectError,
    KISError,
    KISProtocolError,
    KISRestClient,
    KISTransportError,
    KISUsageError,
)
from stock_manager.sandbox import KISSandbox

HASHKEY = "/uapi/hashkey"
BODY = {"CANO": "12345678", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_QTY": "1"}
DEADLINE = 1.5
SLACK = 2.5  # a loaded 2-core machine; without a bound these calls last the server's 10 s


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


def _sync_hashkey(config: KISConfig) -> KISError:
    with KISRestClient(config) as client, pytest.raises(KISError) as caught:
        client.hashkey(BODY)
    return caught.value


def _async_hashkey(config: KISConfig) -> KISError:
    async def call() -> KISError:
        async with AsyncKISRestClient(config) as client:
            try:
                await client.hashkey(BODY)
            except KISError as exc:
                return exc
        raise AssertionError("the call succeeded")

    return asyncio.run(call())


SHELLS = {"sync": _sync_hashkey, "async": _async_hashkey}


def test_a_burst_of_1000_tasks_on_a_cold_async_client_has_no_errors() -> None:
    # Regression: 582 of 1,000 failed with KISConnectError (httpcore's PoolTimeout).
    with KISSandbox("real", process=True, rate_limit=0) as sandbox:
        config = _config(
            sandbox.base_url,
            kis_app_key=sandbox.app_key,
            kis_app_secret=sandbox.app_secret,
            environment="real",
            account_no=sandbox.account_no,
            timeout=10,
        )

        async def burst() -> list[str | BaseException]:
            async with AsyncKISRestClient(config) as client:
                calls = (client.hashkey({**BODY, "ORD_QTY": str(n)}) for n in range(1000))
                return await asyncio.gather(*calls, return_exceptions=True)

        results = asyncio.run(burst())
        served = sandbox.stats()["requests"].get(HASHKEY, 0)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert all(isinstance(r, str) and r for r in results)
    assert len(set(results)) == 1000  # every body signed on its own
    assert served == 1000


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "reply",
    [Reply(200, b'{"HASH": "h"}', trickle=0.3), Reply(200, continue_every=0.4)],
    ids=["trickled", "100-continue"],
)
def test_the_attempt_deadline_holds_against_a_slow_server(shell: str, reply: Reply) -> None:
    with RawServer({HASHKEY: reply}) as server:
        started = time.monotonic()
        error = SHELLS[shell](_config(server.base_url, request_deadline=DEADLINE))
        elapsed = time.monotonic() - started
        assert server.count(HASHKEY) == 1
    assert type(error) is KISTransportError, repr(error)
    assert "deadline" in str(error)
    assert elapsed < DEADLINE + SLACK, elapsed


OVERSIZED = {
    "announced": Reply(200, b"{}", content_length=64 * 1024**2),
    "endless-chunks": Reply(200, endless="chunked"),
    "endless-close": Reply(200, endless="close"),
    "gzip-bomb": Reply(
        200,
        gzip.compress(b"0" * (8 * 1024 * 1024), compresslevel=9),
        headers=(("content-type", "application/json"), ("content-encoding", "gzip")),
    ),
}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("reply", OVERSIZED.values(), ids=OVERSIZED.keys())
def test_a_reply_over_the_size_cap_is_refused_early(shell: str, reply: Reply) -> None:
    with RawServer({HASHKEY: reply}) as server:
        started = time.monotonic()
        error = SHELLS[shell](_config(server.base_url, max_reply_bytes=128 * 1024))
    assert type(error) is KISProtocolError, repr(error)
    assert "max_reply_bytes" in str(error)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("shell", SHELLS)
def test_a_gzip_reply_within_the_cap_is_decoded(shell: str) -> None:
    signed = gzip.compress(b'{"HASH": "abc"}')
    headers = (("content-type", "application/json"), ("content-encoding", "gzip"))
    with RawServer({HASHKEY: Reply(200, signed, headers=headers)}) as server:
        config = _config(server.base_url)
        if shell == "sync":
            with KISRestClient(config) as client:
                value = client.hashkey(BODY)
        else:

            async def call() -> str:
                async with AsyncKISRestClient(config) as client:
                    return await client.hashkey(BODY)

            value = asyncio.run(call())
    assert value == "abc"


@pytest.mark.parametrize("shell", SHELLS)
def test_a_redirect_is_not_followed(shell: str) -> None:
    moved = Reply(302, b"", headers=(("location", "/elsewhere"),))
    with RawServer({HASHKEY: moved, "/elsewhere": Reply.json(200, {"HASH": "x"})}) as server:
        error = SHELLS[shell](_config(server.base_url))
        assert server.count(HASHKEY) == 1
        assert server.count("/elsewhere") == 0
    assert isinstance(error, KISError)


def test_queued_requests_past_their_deadline_are_not_sent() -> None:
    # Every connection is taken by a request the server never answers; one more call waits
    # for a connection, runs out of time there, and must say nothing was sent.
    async def scenario(server: RawServer) -> tuple[list[Any], BaseException | None]:
        config = _config(server.base_url, request_deadline=3.0)
        async with AsyncKISRestClient(config) as client:
            hanging = [asyncio.create_task(client.hashkey(BODY)) for _ in range(100)]
            while server.count(HASHKEY) < 100:
                await asyncio.sleep(0.02)
            queued: BaseException | None = None
            try:
                await client.make_request("POST", HASHKEY, BODY, deadline=0.3)
            except KISError as exc:
                queued = exc
            return await asyncio.gather(*hanging, return_exceptions=True), queued

    with RawServer({HASHKEY: Reply(200, hang=True)}) as server:
        held, queued = asyncio.run(scenario(server))
        assert server.count(HASHKEY) == 100  # the queued call never reached the server
    assert type(queued) is KISConnectError, repr(queued)
    assert "nothing was sent" in str(queued)
    assert all(type(e) is KISTransportError for e in held)


def test_http_client_takes_an_httpx_client_of_the_right_colour() -> None:
    config = _config("http://127.0.0.1:9")
    with httpx.Client() as sync_http, pytest.raises(KISUsageError, match=r"httpx\.Client"):
        AsyncKISRestClient(config, http_client=sync_http)  # type: ignore[arg-type]
    with pytest.raises(KISUsageError, match=r"httpx\.Client"):
        KISRestClient(config, http_client=object())  # type: ignore[arg-type]


def test_a_connection_refused_is_not_sent() -> None:
    config = _config("http://127.0.0.1:9")  # the discard port: nothing listens on loopback
    assert type(_sync_hashkey(config)) is KISConnectError
    assert type(_async_hashkey(config)) is KISConnectError


def test_the_sync_pool_reuses_its_connection() -> None:
    with KISSandbox("real", rate_limit=0) as sandbox:
        config = _config(
            sandbox.base_url,
            kis_app_key=sandbox.app_key,
            kis_app_secret=sandbox.app_secret,
            environment="real",
            account_no=sandbox.account_no,
        )
        with KISRestClient(config) as client:
            hashes = {client.hashkey({**BODY, "ORD_QTY": str(n)}) for n in range(20)}
    assert len(hashes) == 20
