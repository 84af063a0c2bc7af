"""One attempt on the wire, for both shells: its wall-clock bound and its size-capped reply.

:class:`AttemptClock` is the deadline of one attempt (``config.attempt_deadline``), checked
before sending and between reply chunks; :class:`ReplyReader` gathers a streamed reply and
refuses one larger than ``config.max_reply_bytes`` before buffering it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from .errors import KISProtocolError, KISTransportError
from .protocol import PreparedRequest, RawResponse

__all__ = ["AttemptClock", "ReplyReader", "deadline_error"]


def deadline_error(request: PreparedRequest, limit: float, cause: str) -> KISTransportError:
    """The attempt took longer than ``limit`` seconds (``cause``: where it stood)."""
    return KISTransportError(
        f"no complete reply to {request.method} {request.path} within the {limit:g} s deadline "
        f"of one attempt ({cause}); raise request_deadline if KIS is this slow"
    )


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


class ReplyReader:
    """Collects a streamed reply's decoded bytes, within ``max_reply_bytes`` and the attempt's
    deadline.

    A ``Content-Length`` over the cap is refused before reading; a body without one (or a
    compressed one) is counted as it is decoded, so neither an endless body nor a gzip bomb
    is buffered. The errors are :class:`KISProtocolError` and :class:`KISTransportError`,
    which the flow turns into an ambiguous outcome for an order.
    """

    def __init__(
        self,
        request: PreparedRequest,
        response: httpx.Response,
        limit: int,
        clock: AttemptClock,
    ) -> None:
        self._request = request
        self._response = response
        self._limit = limit
        self._clock = clock
        self._chunks: list[bytes] = []
        self._size = 0
        announced = response.headers.get("content-length", "").strip()
        if announced.isdigit() and int(announced) > limit:
            raise self._too_large(f"it announces {announced} bytes")

    def add(self, chunk: bytes) -> None:
        """Take one decoded chunk; raises once the reply is too large or too late."""
        self._size += len(chunk)
        if self._size > self._limit:
            raise self._too_large(f"more than {self._limit} bytes arrived")
        out_of_time = self._clock.ran_out()
        if out_of_time is not None:
            raise deadline_error(self._request, out_of_time, "the body was still arriving")
        self._chunks.append(chunk)

    def raw(self) -> RawResponse:
        """The whole reply, once every chunk is in."""
        response = self._response
        return RawResponse(
            response.status_code, dict(response.headers.items()), b"".join(self._chunks)
        )

    def _too_large(self, why: str) -> KISProtocolError:
        return KISProtocolError(
            f"the reply to {self._request.method} {self._request.path} is larger than "
            f"max_reply_bytes ({self._limit}): {why}; it was not read further",
            status_code=self._response.status_code,
        )
