"""One line per request (method, path, tr_id, status, rt_cd, milliseconds) for ``sandbox serve``.

An ASGI layer outside everything else, so refused, faulty and admin requests are logged too. The
``rt_cd`` is read from the first bytes of the reply (KIS puts it first); OAuth replies have none
and show ``-``. The line carries no header values but the TR_ID and no body: credentials never
reach it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from stock_manager.sandbox.wire import ASGIApp, Message, Receive, Scope, Send

RT_CD = re.compile(rb'"rt_cd"\s*:\s*"([^"]{0,4})"')
# How much of a reply is searched for rt_cd: it comes first in every KIS envelope.
HEAD_BYTES = 256
SHOWN_PATH = 120  # a junk path is cut, not echoed at any length
NO_VALUE = "-"

Sink = Callable[[str], None]


def _printable(text: str, limit: int) -> str:
    cleaned = "".join(ch if ch.isprintable() and not ch.isspace() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."


class RequestLog:
    """Calls ``sink`` with one line when each HTTP request's reply is complete (or dropped)."""

    def __init__(self, app: ASGIApp, sink: Sink) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        head = b""

        async def watch(message: Message) -> None:
            nonlocal status, head
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and len(head) < HEAD_BYTES:
                head += bytes(message.get("body", b""))[: HEAD_BYTES - len(head)]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.sink(self._line(scope, status, head, time.perf_counter() - started))

    @staticmethod
    def _line(scope: Scope, status: int, head: bytes, seconds: float) -> str:
        tr_id = NO_VALUE
        for name, value in scope.get("headers", []):
            if name == b"tr_id":
                tr_id = _printable(value.decode("latin-1"), 16) or NO_VALUE
                break
        found = RT_CD.search(head)
        rt_cd = found.group(1).decode("ascii", "replace") if found else NO_VALUE
        shown = str(status) if status else "dropped"
        return (
            f"{time.strftime('%H:%M:%S')} {scope.get('method', '?')} "
            f"{_printable(str(scope.get('path', '')), SHOWN_PATH)} {tr_id} {shown} "
            f"rt_cd={rt_cd} {seconds * 1000:.1f}ms"
        )
