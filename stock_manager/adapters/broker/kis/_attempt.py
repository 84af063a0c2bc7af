"""One attempt on the wire, for every transport: its wall-clock bound and its size-capped reply.

:class:`AttemptClock` is the deadline of one attempt (``config.attempt_deadline``), checked
before sending and between reply chunks; :class:`ReplyReader` gathers a streamed reply and
refuses one larger than ``config.max_reply_bytes`` before buffering it (decoding gzip/deflate
itself, so a compression bomb is counted as it inflates). :class:`Transport` and
:class:`AsyncTransport` are what the shells send through; the transports live in
``_transport_*`` modules and raise only the typed errors built here.
"""

from __future__ import annotations

import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import certifi

from .errors import KISConnectError, KISProtocolError, KISTransportError
from .protocol import PreparedRequest, RawResponse

__all__ = [
    "ACCEPT_ENCODING",
    "KEEPALIVE_SECONDS",
    "MIN_SEND_SECONDS",
    "POOL_SIZE",
    "AsyncTransport",
    "AttemptClock",
    "ReplyReader",
    "Transport",
    "deadline_error",
    "late_error",
    "not_sent_error",
    "queued_error",
    "tls_context",
]

#: Connections a client keeps open to KIS, and so the requests it lets be in flight at once:
#: one more would queue inside the HTTP library (httpcore fails such bursts with PoolTimeout);
#: it queues in our code instead, where its wait counts against its deadline.
POOL_SIZE = 100

#: An idle connection older than this is closed rather than reused, by every transport: servers
#: drop idle ones (uvicorn after 5 s), and reusing one just as it is dropped fails a call that
#: may have left (an order then is ambiguous).
KEEPALIVE_SECONDS = 4.0

#: An attempt with less time than this left when it gets a connection is not sent: no reply
#: could come back in time, and sending would only turn an order into an ambiguous one.
MIN_SEND_SECONDS = 0.05

#: What every transport asks for: exactly the encodings :class:`ReplyReader` decodes. Libraries
#: add ``br``/``zstd`` on their own when a decoder for it happens to be installed.
ACCEPT_ENCODING = "gzip, deflate"


def deadline_error(request: PreparedRequest, limit: float, cause: str) -> KISTransportError:
    """The attempt took longer than ``limit`` seconds (``cause``: where it stood)."""
    return KISTransportError(
        f"no complete reply to {request.method} {request.path} within the {limit:g} s deadline "
        f"of one attempt ({cause}); raise request_deadline if KIS is this slow"
    )


def not_sent_error(request: PreparedRequest, detail: str, limit: float | None) -> KISConnectError:
    """No connection could be made for ``request`` (``detail``: the cause, no secrets)."""
    late = f" within the {limit:g} s deadline" if limit is not None else ""
    return KISConnectError(
        f"could not connect for {request.method} {request.path}{late} ({detail})"
    )


def queued_error(request: PreparedRequest, clock: AttemptClock) -> KISConnectError:
    """The attempt's time ran out while it waited for a free connection: nothing was sent."""
    return KISConnectError(
        f"{request.method} {request.path} waited {clock.seconds:g} s (its deadline) for one of "
        f"the client's {POOL_SIZE} connections, all busy; nothing was sent"
    )


def late_error(request: PreparedRequest, clock: AttemptClock) -> KISConnectError:
    """A connection was free, but too little of the attempt's time was left to use it."""
    return KISConnectError(
        f"{request.method} {request.path} had {clock.left():.3f} s of its {clock.seconds:g} s "
        f"deadline left when a connection was free, less than the {MIN_SEND_SECONDS:g} s a "
        "reply needs; nothing was sent"
    )


def tls_context() -> ssl.SSLContext:
    """Certificates and host names verified against certifi's CA bundle, as httpx does."""
    return ssl.create_default_context(cafile=certifi.where())


_CLOCK_SLACK = 0.01


@dataclass(frozen=True)
class AttemptClock:
    """The wall-clock bound of one attempt: ``seconds`` long, ending at ``ends_at`` (on
    :func:`time.monotonic`)."""

    seconds: float
    ends_at: float

    @classmethod
    def start(cls, seconds: float) -> AttemptClock:
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.ends_at - time.monotonic())

    def ran_out(self) -> float | None:
        """The attempt's limit if it has run out (for the error message), else ``None``."""
        # A socket timeout set to the time left may fire a hair early (timer granularity).
        return self.seconds if self.left() < _CLOCK_SLACK else None


class Transport(Protocol):
    """How the blocking client exchanges one request for its reply.

    ``send`` raises only :class:`KISConnectError` (nothing was sent), :class:`KISTransportError`
    (it may have been sent) or :class:`KISProtocolError`, with no header value in the text and
    no library exception chained (their frames hold the credentials).
    """

    def send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse: ...
    def close(self) -> None: ...


class AsyncTransport(Protocol):
    """:class:`Transport` for asyncio."""

    async def send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse: ...
    async def aclose(self) -> None: ...


# zlib's wbits: gzip header, zlib header, or auto-detect either (what "deflate" may mean).
_GZIP, _ANY = 16 + zlib.MAX_WBITS, 32 + zlib.MAX_WBITS
_WBITS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": _ANY}
_PLAIN = ("", "identity")


class ReplyReader:
    """Collects a streamed reply's decoded bytes, within ``limit`` bytes and the attempt's
    deadline.

    A ``Content-Length`` over the cap is refused before reading; a body without one (or a
    compressed one) is counted as it is decoded, so neither an endless body nor a gzip bomb
    is buffered. Every transport hands it the raw bytes (httpx's own decoder inflates a whole
    chunk at once, 64 KiB into up to 64 MB). An encoding it cannot decode, and a compressed
    body that stops before its end, are refused: either would pass for a whole reply. The
    errors are :class:`KISProtocolError` and :class:`KISTransportError`, which the flow turns
    into an ambiguous outcome for an order.
    """

    def __init__(
        self,
        request: PreparedRequest,
        status: int,
        headers: Mapping[str, str],
        limit: int,
        clock: AttemptClock,
    ) -> None:
        self._request = request
        self._status = status
        self._headers = headers
        self._limit = limit
        self._clock = clock
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: zlib._Decompress | None = None
        self._compressed = False  # any compressed byte in: an empty body has no gzip trailer
        announced = (headers.get("content-length") or "").strip()
        # isdigit() alone takes "²", which int() refuses; http.client ignores such a length.
        if announced.isascii() and announced.isdigit() and int(announced) > limit:
            raise self._too_large(f"it announces {announced} bytes")
        encoding = (headers.get("content-encoding") or "").strip().lower()
        if encoding in _WBITS:
            self._decoder = zlib.decompressobj(_WBITS[encoding])
        elif encoding not in _PLAIN:
            raise self._undecodable(f"its content-encoding is not one of {ACCEPT_ENCODING}")

    def add(self, chunk: bytes) -> None:
        """Take one chunk off the wire; raises once the reply is too large or too late."""
        if self._decoder is not None:
            self._compressed = self._compressed or bool(chunk)
            try:
                # At most one byte past the cap per call: a bomb never inflates further.
                chunk = self._decoder.decompress(chunk, self._limit - self._size + 1)
            except zlib.error:
                raise self._undecodable("its content-encoding does not decode") from None
        self._size += len(chunk)
        if self._size > self._limit:
            raise self._too_large(f"more than {self._limit} bytes arrived")
        out_of_time = self._clock.ran_out()
        if out_of_time is not None:
            raise deadline_error(self._request, out_of_time, "the body was still arriving")
        self._chunks.append(chunk)

    def raw(self) -> RawResponse:
        """The whole reply, once every chunk is in."""
        if self._decoder is not None:
            # An output under add()'s max_length means all input was consumed: only what
            # the decoder still holds back is left.
            try:
                tail = self._decoder.flush()
            except zlib.error:
                raise self._undecodable("its content-encoding does not decode") from None
            if self._compressed and not self._decoder.eof:
                raise self._undecodable("its compressed body ends before the end of its data")
            self._decoder = None
            self._size += len(tail)
            if self._size > self._limit:
                raise self._too_large(f"more than {self._limit} bytes arrived")
            self._chunks.append(tail)
        return RawResponse(self._status, dict(self._headers.items()), b"".join(self._chunks))

    def _undecodable(self, why: str) -> KISProtocolError:
        return KISProtocolError(
            f"unreadable reply to {self._request.method} {self._request.path}: {why}",
            status_code=self._status,
        )

    def _too_large(self, why: str) -> KISProtocolError:
        return KISProtocolError(
            f"the reply to {self._request.method} {self._request.path} is larger than "
            f"max_reply_bytes ({self._limit}): {why}; it was not read further",
            status_code=self._status,
        )
