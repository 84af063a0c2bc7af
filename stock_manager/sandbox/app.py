"""The sandbox's ASGI application: OAuth calls, hashkey, the ``/uapi`` gateway and admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stock_manager.sandbox import (
    bond_trading,
    documented,
    futures_inquiries,
    futures_orders,
    overseas_inquiries,
    overseas_orders,
    quotes,
    reference_data,
    shapes,
    stock_inquiries,
    stock_orders,
    tables,
)
from stock_manager.sandbox.access_log import RequestLog, Sink
from stock_manager.sandbox.admin import AdminEndpoints, admin_only
from stock_manager.sandbox.codes import BusinessError, rt_envelope
from stock_manager.sandbox.control import SandboxControl
from stock_manager.sandbox.gateway import GatewayCall, GatewayRejection, admit
from stock_manager.sandbox.guard import RequestGuard, starlette_error_handler
from stock_manager.sandbox.limits import ServerLimits
from stock_manager.sandbox.oauth import OAuthEndpoints
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.wire import ASGIApp, FaultLayer, Receive, Scope, Send

Handler = Callable[[SandboxState, GatewayCall], tuple[dict[str, object], str]]

#: The APIs with logic of their own; every other documented non-order API gets its documented
#: reply (:mod:`.documented`), and an order API without a handler is refused as unknown
#: (OPSQ0404): a made-up success would tell a caller an order was taken.
HANDLERS: dict[str, Handler] = {
    **quotes.HANDLERS,
    **stock_orders.HANDLERS,
    **stock_inquiries.HANDLERS,
    **futures_orders.HANDLERS,
    **futures_inquiries.HANDLERS,
    **bond_trading.HANDLERS,
    **overseas_orders.HANDLERS,
    **overseas_inquiries.HANDLERS,
    **reference_data.HANDLERS,
}


def _gateway_headers(tr_id: str, tr_cont: str = "") -> dict[str, str]:
    return {"tr_id": tr_id, "tr_cont": tr_cont, "gt_uid": uuid.uuid4().hex}


class GatewayEndpoint:
    """Every ``/uapi`` path except hashkey: admission checks, then the API's handler.

    A documented API without a handler gets its documented reply (:mod:`.documented`).
    """

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def handle(self, request: Request) -> JSONResponse:
        """Answer one gateway call."""
        path = request.url.path
        tr_id = request.headers.get("tr_id", "")
        route = tables.ROUTES.get(path)
        handler = HANDLERS.get(path)
        if handler is None and route is not None and tables.CATALOG_ROUTES[path]["order"]:
            route = None
        if route is None:
            return JSONResponse(rt_envelope("OPSQ0404"), 404, _gateway_headers(tr_id))
        if request.method != route.method:
            return JSONResponse(rt_envelope("OPSQ0405"), 405, _gateway_headers(tr_id))
        try:
            call = await admit(
                self.state,
                route,
                path,
                headers=request.headers,
                params=request.query_params.multi_items(),
                read_body=request.body,
            )
        except GatewayRejection as exc:
            body = rt_envelope(exc.msg_cd, exc.msg1)
            return JSONResponse(body, exc.status, _gateway_headers(tr_id))
        try:
            with self.state.lock:
                answer, tr_cont = (handler or documented.answer)(self.state, call)
                if handler is not None:
                    shapes.complete(path, answer)
        except BusinessError as exc:
            answer, tr_cont = exc.body(), ""
        return JSONResponse(answer, 200, _gateway_headers(tr_id, tr_cont))


class HashkeyFastPath:
    """Sends POST /uapi/hashkey straight to its endpoint, everything else to Starlette.

    Hashkey is the one call a client makes before every order, and Starlette's routing and
    middleware cost about as much as the endpoint itself; skipping them for this path keeps
    the sandbox well clear of being a bottleneck (see benchmarks/sandbox_throughput.py).
    """

    def __init__(self, hashkey: ASGIApp, rest: ASGIApp) -> None:
        self.hashkey = hashkey
        self.rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if (
            scope["type"] == "http"
            and scope["path"] == tables.HASHKEY
            and scope["method"] == "POST"
        ):
            await self.hashkey(scope, receive, send)
        else:
            await self.rest(scope, receive, send)


def build_app(
    control: SandboxControl,
    limits: ServerLimits | None = None,
    *,
    request_log: Sink | None = None,
) -> ASGIApp:
    """The complete ASGI app for one sandbox (``limits`` default to :class:`ServerLimits`).

    With ``request_log``, each request's line (:mod:`.access_log`) goes to it.
    """
    oauth = OAuthEndpoints(control.state)
    admin = AdminEndpoints(control)
    gateway = GatewayEndpoint(control.state)
    routes = [
        Route(tables.TOKEN_PATH, oauth.token, methods=["POST"]),
        Route(tables.REVOKE, oauth.revoke, methods=["POST"]),
        Route(tables.APPROVAL, oauth.approval, methods=["POST"]),
        Route(tables.HASHKEY, oauth.hashkey, methods=["POST"]),
        Route("/uapi/{rest:path}", gateway.handle, methods=["GET", "POST"]),
        Route(reference_data.MASTER_PATH, reference_data.master_endpoint, methods=["GET"]),
        Route("/_sandbox/stats", admin_only(admin.stats), methods=["GET"]),
        Route("/_sandbox/reset", admin_only(admin.reset), methods=["POST"]),
        Route("/_sandbox/expire", admin_only(admin.expire), methods=["POST"]),
        Route("/_sandbox/apps", admin_only(admin.apps), methods=["POST"]),
        Route("/_sandbox/faults", admin_only(admin.faults), methods=["POST"]),
        Route("/_sandbox/market-time", admin_only(admin.market_time), methods=["GET", "POST"]),
        Route("/_sandbox/streams", admin_only(admin.streams), methods=["GET", "POST"]),
    ]
    starlette = Starlette(routes=routes, exception_handlers={Exception: starlette_error_handler})
    fast = HashkeyFastPath(oauth.hashkey_asgi, starlette)
    app = RequestGuard(FaultLayer(fast, control.state, control.faults), limits or ServerLimits())
    return app if request_log is None else RequestLog(app, request_log)
