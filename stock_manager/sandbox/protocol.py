"""uvicorn's httptools protocol plus a bound on how long a request head may take to arrive.

uvicorn's keep-alive timer covers an idle connection, but it is cancelled by the first byte of
a request, so a client that sends half a head holds the connection (and its memory) forever.
The head timer runs from the connection's start, and again from the first byte of each later
request, until the head is complete; then the connection is closed.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete within ``head_timeout``."""

    head_timeout: float = 5.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head."""
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        """The first byte of a later request starts the clock again."""
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_head_timer()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        """The head arrived in time."""
        self._cancel_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the timer with the connection."""
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def head_timeout_protocol(seconds: float) -> type[HeadTimeoutProtocol]:
    """The protocol class for one server, with its own head timeout."""

    class Protocol(HeadTimeoutProtocol):
        head_timeout = seconds

    return Protocol
