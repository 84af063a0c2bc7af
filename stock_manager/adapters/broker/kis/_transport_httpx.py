"""The httpx transports: a caller's ``httpx.Client``/``AsyncClient`` (``http_client=``), and the
client's own pool when a proxy from the environment applies to KIS (httpx honours those).

Behaviour is that of the clients before the faster transports came: the attempt deadline is
kept in our own pools by wrapping httpcore's network backend (every socket read and write is
cut to the time left); a caller's client keeps its own timeouts, the deadline being checked
between body chunks and, on the async client, by ``asyncio.timeout`` around the exchange.
The body is read raw and decoded by :class:`._attempt.ReplyReader`, within the size cap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from contextvars import ContextVar
from ssl import SSLContext
from typing import Any
from urllib.parse import urlsplit
from urllib.request import (  # type: ignore[attr-defined]  # public, missing from typeshed
    getproxies_environment,
    proxy_bypass_environment,
)

import httpcore
import httpx

from ._attempt import ACCEPT_ENCODING, AttemptClock, ReplyReader, deadline_error, not_sent_error
from .errors import KISConfigError, KISConnectError, KISError, KISProtocolError, KISTransportError
from .protocol import PreparedRequest, RawResponse
from .redaction import redact

__all__ = [
    "AsyncHttpxTransport",
    "HttpxTransport",
    "bounded_client",
    "environment_proxy",
    "httpx_error",
]

# Failures that happen before a byte of the request is on the wire. LocalProtocolError: h11
# checks the request head before producing any of its bytes, but it also raises once the head
# is out, when the body does not match a caller's content-length or transfer-encoding. The
# exception does not say which (only its text does), so those framing headers are refused in
# build_request (protocol/requests.py) and httpx frames every body itself: what is left is
# the pre-send validation, and "nothing was sent" holds, for an order too.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
# httpx errors whose text is safe to show: OS errors, timeouts, decoder errors. Protocol errors
# are not: h11 quotes the offending header line ("Illegal header value b'Bearer ...'").
_SAFE_TEXT = (
    httpx.ConnectError,
    httpx.TimeoutException,
    httpx.ReadError,
    httpx.WriteError,
    httpx.DecodingError,
)


def httpx_error(
    exc: httpx.HTTPError, request: PreparedRequest, *, out_of_time: float | None = None
) -> KISError:
    """The typed error for ``exc``; ``out_of_time`` is the attempt's limit if it ran out.

    The message is built from the exception's class (and its text only where that cannot
    quote a header, which may hold a credential); callers raise it outside the ``except``
    so that httpx's frames (h11's header lists) are not chained to it.
    """
    what = f"{request.method} {request.path}"
    name = type(exc).__name__
    text = redact(str(exc)) if isinstance(exc, _SAFE_TEXT) else ""
    detail = f"{name}: {text}" if text else name
    if isinstance(exc, httpx.LocalProtocolError):
        return KISConnectError(
            f"{what} could not be sent ({name}: the HTTP library refused to write it); "
            "nothing was sent"
        )
    if isinstance(exc, _NOT_SENT):
        return not_sent_error(request, detail, out_of_time)
    if out_of_time is not None:
        return deadline_error(request, out_of_time, name)
    if isinstance(exc, httpx.TransportError):
        return KISTransportError(f"{detail} during {what}")
    return KISProtocolError(f"unreadable reply to {what}: {detail}")


def _build(client: httpx.Client | httpx.AsyncClient, request: PreparedRequest) -> httpx.Request:
    headers = request.headers
    if not any(name.lower() == "accept-encoding" for name in headers):
        # Not httpx's default, which adds br/zstd when their modules are installed.
        headers = {**headers, "Accept-Encoding": ACCEPT_ENCODING}
    return client.build_request(
        request.method, request.url, headers=headers, content=request.content or None
    )


class HttpxTransport:
    """Sends through an :class:`httpx.Client` (closed by :meth:`close` only if ``owned``)."""

    def __init__(self, client: httpx.Client, max_reply_bytes: int, *, owned: bool) -> None:
        self.client = client
        self._limit = max_reply_bytes
        self._owned = owned

    def send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        failure: httpx.HTTPError | KISError | None = None
        bound = _ATTEMPT_ENDS_AT.set(clock.ends_at)  # read by _BoundedStream on every I/O
        try:
            return self._receive(request, clock)
        except (httpx.HTTPError, KISError) as exc:
            failure = exc
        finally:
            _ATTEMPT_ENDS_AT.reset(bound)
        error = _typed(failure, request, clock)
        del failure  # its frames hold h11's header lists, credentials included
        raise error  # outside the except: nothing chained

    def _receive(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        http = self.client
        response = http.send(_build(http, request), follow_redirects=False, stream=True)
        try:
            reader = ReplyReader(
                request, response.status_code, response.headers, self._limit, clock
            )
            for chunk in response.iter_raw():
                reader.add(chunk)
            return reader.raw()
        finally:
            response.close()

    def close(self) -> None:
        if self._owned:
            self.client.close()


class AsyncHttpxTransport:
    """Sends through an :class:`httpx.AsyncClient` (closed by :meth:`aclose` only if ``owned``)."""

    def __init__(self, client: httpx.AsyncClient, max_reply_bytes: int, *, owned: bool) -> None:
        self.client = client
        self._limit = max_reply_bytes
        self._owned = owned

    async def send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        failure: httpx.HTTPError | KISError | TimeoutError | None = None
        try:
            async with asyncio.timeout(clock.left()):
                return await self._receive(request, clock)
        except (httpx.HTTPError, KISError, TimeoutError) as exc:  # TimeoutError: the deadline
            failure = exc
        if isinstance(failure, TimeoutError):
            error: KISError = deadline_error(request, clock.seconds, "TimeoutError")
        else:
            error = _typed(failure, request, clock)
        del failure  # its frames hold h11's header lists, credentials included
        raise error  # outside the except: nothing chained

    async def _receive(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        http = self.client
        response = await http.send(_build(http, request), follow_redirects=False, stream=True)
        try:
            reader = ReplyReader(
                request, response.status_code, response.headers, self._limit, clock
            )
            async for chunk in response.aiter_raw():
                reader.add(chunk)
            return reader.raw()
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()


def _typed(
    failure: httpx.HTTPError | KISError | None, request: PreparedRequest, clock: AttemptClock
) -> KISError:
    if isinstance(failure, httpx.HTTPError):
        return httpx_error(failure, request, out_of_time=clock.ran_out())
    if failure is None:  # pragma: no cover - every path out of the try returns or sets it
        return KISProtocolError(f"no reply to {request.method} {request.path}")
    # ReplyReader's (the size cap, the deadline between chunks): its frames hold the chunks.
    return failure.with_traceback(None)


# The monotonic time at which the current thread's attempt must end. No default: our sockets
# are only used inside HttpxTransport.send, which sets it; anything else is a bug that must not
# go unbounded.
_ATTEMPT_ENDS_AT: ContextVar[float] = ContextVar("kis_attempt_ends_at")


def _within_attempt(timeout: float | None, late: type[Exception]) -> float:
    """``timeout`` cut to what is left of the attempt; ``late`` once nothing is left.

    httpx has no overall deadline: its read timeout restarts with every byte, so a server that
    trickles a byte a second (or ``100 Continue`` a second) would hold a call forever.
    """
    left = _ATTEMPT_ENDS_AT.get() - time.monotonic()
    if left <= 0:
        raise late("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the attempt's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_attempt(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_attempt(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _within_attempt(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, handing out :class:`_BoundedStream` connections."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _within_attempt(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return _BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = _within_attempt(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bounded_client(timeout: httpx.Timeout) -> httpx.Client:
    """An httpx client (environment proxies included) whose sockets keep the attempt deadline.

    httpx offers no public hook for the network backend, so the pools' backend is wrapped in
    place. Should a new httpx rename what this reaches for, construction fails (every client
    test with it) rather than the deadline silently not applying.
    """
    client = httpx.Client(timeout=timeout)
    for transport in (client._transport, *client._mounts.values()):
        if transport is None:  # a mount that disables proxying for some hosts: nothing to wrap
            continue
        pool = getattr(transport, "_pool", None)
        if pool is None or not hasattr(pool, "_network_backend"):
            client.close()
            raise KISConfigError(
                f"this httpx ({httpx.__version__}) has no {type(transport).__name__}._pool."
                "_network_backend to bound: the attempt deadline cannot be kept; pin the httpx "
                "version stock_manager supports"
            )
        pool._network_backend = _BoundedBackend(pool._network_backend)
    return client


def environment_proxy(url: str) -> bool:
    """Whether httpx would send a request to ``url`` through a proxy from the environment
    (``HTTP(S)_PROXY``/``ALL_PROXY``, unless ``NO_PROXY`` names the host): the clients' own
    transports speak to KIS directly, so in that case the client uses httpx, as it did before."""
    parts = urlsplit(url)
    proxies = getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not proxy_bypass_environment(parts.hostname or "", proxies)
