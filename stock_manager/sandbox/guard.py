"""The outermost ASGI layer: bounded request bodies, and a KIS-shaped answer for any failure.

* A ``Content-Length`` above the limit is refused with 413 before a byte of the body is read;
  a chunked body is cut off with 413 as soon as it passes the limit.
* Reading a body takes at most ``body_timeout`` seconds (408 after that).
* An exception escaping a handler becomes a 500 ``EGW00002`` envelope and one log line (type and
  place, never values: they may hold a secret), instead of uvicorn's text/plain 500 and a
  traceback. A client that hangs up mid-request is one debug line.

Refusals carry ``connection: close`` because the rest of the body is never read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from stock_manager.sandbox.codes import oauth_envelope, rt_envelope
from stock_manager.sandbox.limits import ServerLimits
from stock_manager.sandbox.wire import (
    ADMIN_PREFIX,
    ASGIApp,
    DropConnection,
    Message,
    Receive,
    Scope,
    Send,
    gateway_headers,
    request_tr_id,
    send_bytes,
)

logger = logging.getLogger(__name__)

OAUTH_PREFIX = "/oauth2/"
INTERNAL_ERROR = "EGW00002"
TOO_LARGE = "EGW00413"
TOO_SLOW = "EGW00408"
# More digits than any real Content-Length; int() of a longer string is refused by Python itself.
_MAX_LENGTH_DIGITS = 18
_CLOSE = (b"connection", b"close")


class RequestRefused(Exception):
    """A request refused while its body is read: too large or too slow."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


def too_large(limit: int) -> RequestRefused:
    """The refusal of a body over ``limit`` bytes."""
    return RequestRefused(413, TOO_LARGE, f"요청 본문이 너무 큽니다. (최대 {limit} 바이트)")


def envelope_for(path: str, code: str, message: str | None = None) -> dict[str, Any]:
    """The error body KIS would use on ``path``: OAuth shape, ``rt_cd`` shape, or admin's."""
    if path.startswith(OAUTH_PREFIX):
        return oauth_envelope(code, message)
    body = rt_envelope(code, message)
    if path.startswith(ADMIN_PREFIX):
        return {"error": body["msg1"]}
    return body


def failure_reply(path: str, exc: BaseException) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` answering a request that failed with ``exc``."""
    if isinstance(exc, RequestRefused):
        return exc.status, envelope_for(path, exc.code, exc.message)
    return 500, envelope_for(path, INTERNAL_ERROR)


async def starlette_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's last-resort handler: the same answer the guard gives outside Starlette."""
    status, body = failure_reply(request.url.path, exc)
    extra = _extra_headers(request.url.path, request.headers.get("tr_id", ""))
    return JSONResponse(body, status, {k.decode(): v.decode("latin-1") for k, v in extra})


def _extra_headers(path: str, tr_id: str) -> list[tuple[bytes, bytes]]:
    if path.startswith((OAUTH_PREFIX, ADMIN_PREFIX)):
        return [_CLOSE]
    return [_CLOSE, *gateway_headers(tr_id)]


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value) if len(value) <= _MAX_LENGTH_DIGITS else 10**_MAX_LENGTH_DIGITS
    return None


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"


class BoundedBody:
    """A ``receive`` that refuses a body past the size limit or the time limit."""

    def __init__(self, receive: Receive, limits: ServerLimits) -> None:
        self._receive = receive
        self._limits = limits
        self._received = 0
        self._deadline: float | None = None
        self._done = False

    async def __call__(self) -> Message:
        """The next ASGI message, bounded while the body is still arriving."""
        if self._done:  # after the body only a disconnect can come, and it is not ours to bound
            return await self._receive()
        if self._deadline is None:
            self._deadline = time.monotonic() + self._limits.body_timeout
        try:
            message = await asyncio.wait_for(
                self._receive(), max(self._deadline - time.monotonic(), 0)
            )
        except TimeoutError:
            seconds = self._limits.body_timeout
            raise RequestRefused(
                408, TOO_SLOW, f"요청 본문을 {seconds:g}초 안에 받지 못했습니다."
            ) from None
        if message["type"] != "http.request":
            self._done = True
            return message
        self._received += len(message.get("body", b""))
        if self._received > self._limits.max_body_bytes:
            raise too_large(self._limits.max_body_bytes)
        self._done = not message.get("more_body", False)
        return message


class RequestGuard:
    """Bounds bodies and turns any escaping exception into an envelope and one log line."""

    def __init__(self, app: ASGIApp, limits: ServerLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limits.max_body_bytes:
            await self._reply(scope, send, too_large(self.limits.max_body_bytes))
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, BoundedBody(receive, self.limits), tracked)
        except DropConnection:
            raise  # a planned fault: uvicorn closes the socket, QuietDrops keeps the log clean
        except ClientDisconnect:
            logger.debug("sandbox: client left during %s %s", scope["method"], scope["path"])
        except RequestRefused as exc:
            logger.info("sandbox: refused %s %s: %s", scope["method"], scope["path"], exc.code)
            if not started:
                await self._reply(scope, send, exc)
        except Exception as exc:
            logger.error(
                "sandbox: %s %s failed with %s at %s; answered 500 %s",
                scope["method"],
                scope["path"],
                type(exc).__name__,
                _where(exc),
                INTERNAL_ERROR,
            )
            if not started:
                await self._reply(scope, send, exc)

    async def _reply(self, scope: Scope, send: Send, exc: BaseException) -> None:
        path = scope["path"]
        status, body = failure_reply(path, exc)
        raw = json.dumps(body, ensure_ascii=False).encode()
        await send_bytes(send, status, raw, extra=_extra_headers(path, request_tr_id(scope)))
