"""Fault injection at the ASGI level, outside Starlette, where a reply can be withheld or mangled.

To drop a connection the layer starts a response that promises a body and then raises
:class:`DropConnection`; uvicorn then closes the socket mid-reply and the client sees a dropped
connection (httpx ``RemoteProtocolError``). :class:`QuietDrops` keeps those planned failures out
of uvicorn's error log.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from stock_manager.sandbox.codes import rt_envelope, success
from stock_manager.sandbox.faults import NO_FAULT, PAGE_CHANGE, FaultDecision, FaultPlan
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.tables import CATALOG_ROUTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ADMIN_PREFIX = "/_sandbox/"
# KIS's answer when the data changed between two pages of one inquiry: start again.
PAGE_CHANGED = {
    "rt_cd": "7",
    "msg_cd": "SYDB0050",
    "msg1": "조회이후에 자료가 변경되었습니다(다시 조회하세요)",
}
JSON_TYPE = b"application/json; charset=utf-8"
_HTML_ERROR = (
    b"<html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>Internal Server Error</h1><p>upstream gateway error</p></body></html>"
)


class DropConnection(Exception):
    """Raised on purpose so that uvicorn closes the connection without a full reply."""


class QuietDrops(logging.Filter):
    """Drop uvicorn's "Exception in ASGI application" records caused by :class:`DropConnection`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except planned connection drops."""
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DropConnection)


_QUIET_DROPS = QuietDrops()


def install_quiet_drops() -> None:
    """Attach the filter to uvicorn's error logger once per process."""
    logger = logging.getLogger("uvicorn.error")
    if _QUIET_DROPS not in logger.filters:
        logger.addFilter(_QUIET_DROPS)


def gateway_headers(tr_id: str, tr_cont: str = "") -> list[tuple[bytes, bytes]]:
    """KIS's lower-case ``tr_id``/``tr_cont``/``gt_uid`` response headers."""
    return [
        (b"tr_id", tr_id.encode("latin-1", "replace")),
        (b"tr_cont", tr_cont.encode("latin-1")),
        (b"gt_uid", uuid.uuid4().hex.encode("ascii")),
    ]


def request_header(scope: Scope, wanted: bytes) -> str:
    """The request's header ``wanted`` (lower-case; "" when absent), read from the ASGI scope."""
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return str(value.decode("latin-1"))
    return ""


def request_tr_id(scope: Scope) -> str:
    """The request's ``tr_id`` header ("" when absent), read straight from the ASGI scope."""
    return request_header(scope, b"tr_id")


def is_continuation(scope: Scope) -> bool:
    """Whether a ``/uapi`` request asks for a page after the first, before anything parses it.

    ``tr_cont: N`` on any API; by its paging form, ``KEYB`` set, ``NEXT`` "1" or ``QRY_TP``
    "P" (query names in any case, as the gateway reads them).
    """
    entry = CATALOG_ROUTES.get(scope.get("path", ""))
    if entry is None:
        return False
    if request_header(scope, b"tr_cont").strip().upper() == "N":
        return True
    form = entry["paging"]
    if form not in ("keyb", "next_keyb", "index_key"):
        return False
    raw = scope.get("query_string", b"").decode("latin-1")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        query.setdefault(name.upper(), value.strip())
    if form == "keyb":
        return bool(query.get("KEYB"))
    if form == "next_keyb":
        return query.get("NEXT") == "1"
    return query.get("QRY_TP", "").upper() == "P"


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON_TYPE,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """One complete HTTP reply."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


async def drop(send: Send) -> None:
    """Promise a body, send none, and make the server close the socket."""
    headers = [(b"content-type", JSON_TYPE), (b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise DropConnection


def garbled_body(kind: str) -> tuple[int, bytes, bytes]:
    """``(status, body, content-type)`` of a broken reply of ``kind``."""
    if kind == "html":
        return 500, _HTML_ERROR, b"text/html; charset=utf-8"
    if kind == "empty":
        return 200, b"", JSON_TYPE
    whole = json.dumps(success(output={"ODNO": "0000000000"}), ensure_ascii=False).encode()
    if kind == "truncated":
        return 200, whole[: len(whole) // 2], JSON_TYPE
    return 200, b"[" + whole + b"]", JSON_TYPE  # "array"


class FaultLayer:
    """Counts every KIS request and applies the fault plan around the inner app."""

    def __init__(self, app: ASGIApp, state: SandboxState, faults: FaultPlan) -> None:
        self.app = app
        self.state = state
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        self.state.count_request(path)
        decision = self.faults.draw(path, self.faults.active() and is_continuation(scope))
        if decision is NO_FAULT:
            await self.app(scope, receive, send)
            return
        await self._faulty(decision, scope, receive, send)

    async def _faulty(
        self, decision: FaultDecision, scope: Scope, receive: Receive, send: Send
    ) -> None:
        count = self.state.count_fault
        if decision.latency > 0:
            count("latency")
            await self.state.clock.async_sleep(decision.latency)
        extra = gateway_headers(request_tr_id(scope))
        if decision.drop_before:
            count("drop_before")
            await drop(send)
        elif decision.rate_limit:
            count("rate_limit")
            body = json.dumps(rt_envelope("EGW00201"), ensure_ascii=False).encode()
            await send_bytes(send, 500, body, extra=extra)
        elif decision.error_code:
            count("error")
            body = json.dumps(rt_envelope(decision.error_code), ensure_ascii=False).encode()
            await send_bytes(send, 500, body, extra=extra)
        elif decision.garble_kind:
            count("garble")
            status, body, content_type = garbled_body(decision.garble_kind)
            await send_bytes(send, status, body, content_type, extra)
        elif decision.page_change:
            count(PAGE_CHANGE)
            body = json.dumps(PAGE_CHANGED, ensure_ascii=False).encode()
            await send_bytes(send, 200, body, extra=extra)
        elif decision.drop_after:

            async def withhold(message: Message) -> None:
                return None

            await self.app(scope, receive, withhold)
            count("drop_after")
            await drop(send)
        else:
            await self.app(scope, receive, send)
