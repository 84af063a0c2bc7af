"""``/_sandbox/...``: the control surface over HTTP, for loopback clients only.

``GET stats``; ``POST reset``; ``POST expire``; ``POST apps`` (answers ``app_key``,
``app_secret``, ``account_no``); ``POST faults`` with the ``set_faults`` arguments as JSON
(``{"clear": true}`` clears). A bad fault rule answers 400 ``{"error": ...}``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from stock_manager.sandbox.control import SandboxControl
from stock_manager.sandbox.faults import FaultConfigError
from stock_manager.sandbox.gateway import parse_json_object

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
    "seed",
}


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine."""
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_only(endpoint: Endpoint) -> Endpoint:
    """Refuse non-loopback clients with 403."""

    async def guarded(request: Request) -> JSONResponse:
        if not is_loopback(request.client.host if request.client else None):
            return JSONResponse({"error": "the sandbox admin API is loopback-only"}, 403)
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
