"""``/_sandbox/...``: the control surface over HTTP, for this machine only (:func:`admin_refusal`).

``GET stats``; ``POST reset``; ``POST expire``; ``POST apps`` (answers ``app_key``,
``app_secret``, ``account_no``); ``POST faults`` with the ``set_faults`` arguments as JSON
(``{"clear": true}`` clears). A bad fault rule answers 400 ``{"error": ...}``.
``GET market-time`` answers ``{"market_time": ISO, "mode": "running"|"wall", "describe": ...}``;
``POST market-time`` with ``{"market_time": "2026-12-01T09:00:00+09:00" | "HH:MM" | "wall"}``
moves the market clock and answers the same (400 ``{"error": ...}`` for a bad value).
``GET streams`` answers ``{"websocket_url": ..., "websocket_sessions": N}``; ``POST streams``
with ``{"drop": true}`` drops every websocket session (answers ``{"dropped": N}``), or with any
of ``silence``, ``invalid_utf8``, ``hold_in_use`` sets those websocket faults.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from stock_manager.sandbox.control import SandboxControl
from stock_manager.sandbox.faults import FaultConfigError
from stock_manager.sandbox.gateway import is_json_content_type, parse_json_object
from stock_manager.sandbox.loopback import is_loopback, is_loopback_authority, is_loopback_origin
from stock_manager.sandbox.state import SandboxConfigError

__all__ = ["AdminEndpoints", "admin_only"]

Endpoint = Callable[[Request], Awaitable[JSONResponse]]

FAULT_ARGUMENTS = {
    "path",
    "error_rate",
    "rate_limit_rate",
    "drop_before_rate",
    "drop_after_rate",
    "garble_rate",
    "garble_kind",
    "latency",
    "page_change_rate",
    "seed",
}

STREAM_FAULTS = {"silence", "invalid_utf8", "hold_in_use"}


def admin_refusal(request: Request) -> str | None:
    """Why an admin call is refused, or None when it may proceed.

    Besides a loopback client, the ``Host`` must be a loopback name (a DNS-rebound page
    reaches 127.0.0.1 under its own name), an ``Origin`` if any must be a loopback page,
    and a POST must say ``application/json``: browsers send that type cross-origin only
    after a CORS preflight, which the sandbox never grants. Together they keep web pages
    from injecting faults or reading a new app's secret.
    """
    if not is_loopback(request.client.host if request.client else None):
        return "the sandbox admin API is loopback-only"
    if not is_loopback_authority(request.headers.get("host", "")):
        return "the sandbox admin API answers only a loopback Host (127.0.0.1, localhost, [::1])"
    origin = request.headers.get("origin")
    if origin is not None and not is_loopback_origin(origin):
        return "the sandbox admin API refuses calls from web pages of other origins"
    if request.method == "POST" and not is_json_content_type(request.headers.get("content-type")):
        return "sandbox admin POSTs must have content-type: application/json"
    return None


def admin_only(endpoint: Endpoint) -> Endpoint:
    """Refuse with 403 what :func:`admin_refusal` refuses."""

    async def guarded(request: Request) -> JSONResponse:
        reason = admin_refusal(request)
        if reason is not None:
            return JSONResponse({"error": reason}, 403)
        return await endpoint(request)

    return guarded


class AdminEndpoints:
    """Starlette endpoints over a :class:`SandboxControl`."""

    def __init__(self, control: SandboxControl) -> None:
        self.control = control

    async def stats(self, request: Request) -> JSONResponse:
        """GET /_sandbox/stats."""
        return JSONResponse(self.control.stats())

    async def reset(self, request: Request) -> JSONResponse:
        """POST /_sandbox/reset."""
        self.control.reset()
        return JSONResponse({"ok": True})

    async def expire(self, request: Request) -> JSONResponse:
        """POST /_sandbox/expire."""
        self.control.expire_tokens()
        return JSONResponse({"ok": True})

    async def apps(self, request: Request) -> JSONResponse:
        """POST /_sandbox/apps: register another app."""
        key, secret, account = self.control.register_app()
        return JSONResponse({"app_key": key, "app_secret": secret, "account_no": account})

    async def faults(self, request: Request) -> JSONResponse:
        """POST /_sandbox/faults."""
        body = parse_json_object(await request.body())
        if body is None:
            return JSONResponse({"error": "the body must be a JSON object"}, 400)
        if body.get("clear") is True:
            self.control.clear_faults()
            return JSONResponse({"ok": True})
        unknown = set(body) - FAULT_ARGUMENTS
        if unknown:
            return JSONResponse({"error": f"unknown fields: {', '.join(sorted(unknown))}"}, 400)
        arguments: dict[str, Any] = dict(body)
        try:
            self.control.set_faults(**arguments)
        except (FaultConfigError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"ok": True, "rules": self.control.faults.rules()})

    async def streams(self, request: Request) -> JSONResponse:
        """GET /_sandbox/streams; POST it to drop sessions or set websocket faults."""
        control = self.control
        try:
            if request.method == "POST":
                body = parse_json_object(await request.body())
                if body is None:
                    return JSONResponse({"error": "the body must be a JSON object"}, 400)
                if body.get("drop") is True and len(body) == 1:
                    return JSONResponse({"dropped": control.drop_websockets()})
                unknown = set(body) - STREAM_FAULTS
                if unknown or not body:
                    return JSONResponse(
                        {"error": f"expected drop or {', '.join(sorted(STREAM_FAULTS))}"}, 400
                    )
                control.set_stream_faults(**body)
            return JSONResponse(
                {
                    "websocket_url": control.websocket_url(),
                    "websocket_sessions": control.state.stats()["websocket_sessions"],
                }
            )
        except (SandboxConfigError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)

    def _market_time_answer(self) -> JSONResponse:
        clock = self.control.state.market_clock
        return JSONResponse(
            {
                "market_time": clock.now().isoformat(),
                "mode": "wall" if clock.follows_wall else "running",
                "describe": clock.describe(),
            }
        )

    async def market_time(self, request: Request) -> JSONResponse:
        """GET /_sandbox/market-time; POST it with ``{"market_time": ...}`` to move the clock."""
        if request.method == "POST":
            body = parse_json_object(await request.body())
            if body is None or set(body) != {"market_time"}:
                return JSONResponse(
                    {"error": 'the body must be a JSON object {"market_time": ...}'}, 400
                )
            value = body["market_time"]
            if not isinstance(value, str):
                return JSONResponse(
                    {"error": "market_time must be an ISO-8601 datetime, 'HH:MM' or 'wall'"}, 400
                )
            try:
                self.control.set_market_time(value)
            except SandboxConfigError as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return self._market_time_answer()
