"""The asyncio client's own transport: an :mod:`aiohttp` session with a pool to the KIS host.

Chosen by measurement (``python -m benchmarks --only async_hashkey async_per_call``): aiohttp's
per-call cost is a fraction of ``httpx.AsyncClient``'s, and its pool hands a connection to a
waiting request in constant time, where httpcore's bookkeeping grows with the queue
(encode/httpcore#1035). The client still never lets more requests into the pool than it has
connections (its semaphore): a burst queues in our code, where the wait counts against the
deadline and is never taken for a request that may have left.

The session is opened on first use, inside the running loop (aiohttp binds it to that loop).
Redirects are never followed; cookies are not kept; environment proxies are not read here (the
client falls back to httpx when one applies); the reply is decoded by
:class:`._attempt.ReplyReader` within the size cap; TLS is verified against certifi's bundle;
idle connections are dropped after :data:`._attempt.KEEPALIVE_SECONDS`, as the blocking
client's are.

Whether a failed request may have left is told by a trace hook: until the pool has handed the
request a connection (new or reused), nothing was written, whatever interrupted it (the
attempt's deadline during DNS, TCP or TLS included).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp

from ._attempt import (
    ACCEPT_ENCODING,
    KEEPALIVE_SECONDS,
    AttemptClock,
    ReplyReader,
    deadline_error,
    not_sent_error,
    tls_context,
)
from .errors import KISConnectError, KISError, KISProtocolError, KISTransportError
from .protocol import PreparedRequest, RawResponse
from .redaction import redact

__all__ = ["AiohttpTransport"]

_CHUNK = 65536


class _Attempt:
    """What the trace hooks learn about one request."""

    __slots__ = ("connected",)

    def __init__(self) -> None:
        self.connected = False


async def _connected(session: aiohttp.ClientSession, context: SimpleNamespace, _: object) -> None:
    attempt = context.trace_request_ctx
    if isinstance(attempt, _Attempt):
        attempt.connected = True


class AiohttpTransport:
    """Sends through one :class:`aiohttp.ClientSession` of at most ``pool_size`` connections."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_reply_bytes: int,
        pool_size: int,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )
        self._limit = max_reply_bytes
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._pool_size,
            limit_per_host=self._pool_size,
            ssl=tls_context(),
            keepalive_timeout=KEEPALIVE_SECONDS,  # aiohttp's 15 s outlive uvicorn's 5 s
        )
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(_connected)
        trace.on_connection_reuseconn.append(_connected)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            # A request's own Accept-Encoding wins; without one, aiohttp would add br and zstd
            # whenever their modules happen to be importable, which ReplyReader cannot decode.
            headers={"Accept-Encoding": ACCEPT_ENCODING},
            auto_decompress=False,  # ReplyReader decodes, counting against the size cap
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            trace_configs=[trace],
        )
        return self._session

    async def send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        if self._closed:  # a session opened now would never be closed
            raise KISConnectError(
                f"{request.method} {request.path}: the client's connections are closed; "
                "nothing was sent"
            )
        session = self._session or self._open()
        attempt = _Attempt()
        failure: Exception | None = None
        connected = True
        try:
            async with asyncio.timeout(clock.left()):
                return await self._receive(session, request, clock, attempt)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            failure, connected = exc, False  # refused, DNS, TLS, connect timeout: not sent
        except Exception as exc:  # aiohttp's, the deadline's, ReplyReader's, a garbled reply's
            failure, connected = exc, attempt.connected
        if isinstance(failure, KISError):
            # The size cap or the deadline seen between chunks: its frames hold the reply's
            # chunks (a token) and the request's headers.
            error = failure.with_traceback(None)
        elif connected:
            error = self._error(failure, request, clock)
        else:
            error = not_sent_error(request, _detail(failure), clock.ran_out())
        del failure  # its frames hold the request's headers, credentials included
        raise error  # outside the except: nothing chained

    async def _receive(
        self,
        session: aiohttp.ClientSession,
        request: PreparedRequest,
        clock: AttemptClock,
        attempt: _Attempt,
    ) -> RawResponse:
        async with session.request(
            request.method,
            request.url,
            data=request.content or None,
            headers=request.headers,
            allow_redirects=False,
            trace_request_ctx=attempt,
        ) as response:
            reader = ReplyReader(request, response.status, response.headers, self._limit, clock)
            async for chunk in response.content.iter_chunked(_CHUNK):
                reader.add(chunk)
            return reader.raw()

    @staticmethod
    def _error(
        failure: Exception | None, request: PreparedRequest, clock: AttemptClock
    ) -> KISError:
        """Once a connection was handed over, every failure may mean the request was sent."""
        out_of_time = clock.ran_out()
        name = type(failure).__name__
        if out_of_time is not None or (
            isinstance(failure, TimeoutError) and not isinstance(failure, aiohttp.ClientError)
        ):
            return deadline_error(request, out_of_time or clock.seconds, name)
        what = f"{request.method} {request.path}"
        if isinstance(failure, aiohttp.SocketTimeoutError):
            return KISTransportError(f"ReadTimeout: no reply data in time during {what}")
        if isinstance(failure, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
            return KISTransportError(
                f"RemoteProtocolError: the server closed the connection mid-reply ({name}) "
                f"during {what}"
            )
        if isinstance(failure, aiohttp.ClientConnectionError):
            return KISTransportError(f"{_detail(failure)} during {what}")
        # A garbled reply, or what no library documents: typed all the same, so that an
        # order is reported ambiguous and never resent.
        return KISProtocolError(f"unreadable reply to {what}: {name}")

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _detail(exc: BaseException) -> str:
    """The class and the OS's words, never aiohttp's text (it may quote a header)."""
    name = type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return f"{name}: {redact(exc.strerror)}"
    return name
