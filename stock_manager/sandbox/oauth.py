"""The calls outside the gateway: tokenP, revokeP, Approval (OAuth envelope) and hashkey.

A tokenP/revokeP/Approval body that is not a JSON object, or lacks a field, is refused with
403 ``EGW00100`` (a sandbox choice; KIS's code for it is not public). A wrong ``grant_type``
gets the same code.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from stock_manager.sandbox.codes import oauth_envelope, rt_envelope
from stock_manager.sandbox.gateway import compute_hashkey, is_json_content_type, parse_json_object
from stock_manager.sandbox.state import OAuthRejected, SandboxState

GRANT_TYPE = "client_credentials"


async def _body_fields(request: Request, *names: str, grant: bool = False) -> dict[str, Any]:
    body = parse_json_object(await request.body())
    if body is None:
        raise OAuthRejected("EGW00100", "요청 본문이 JSON 객체가 아닙니다.")
    missing = [name for name in names if not isinstance(body.get(name), str) or not body[name]]
    if missing:
        raise OAuthRejected("EGW00100", f"필수 항목이 누락되었습니다: {', '.join(missing)}")
    if grant and body.get("grant_type") != GRANT_TYPE:
        raise OAuthRejected("EGW00100", f"grant_type 은 {GRANT_TYPE} 이어야 합니다.")
    return body


def _refused(exc: OAuthRejected) -> JSONResponse:
    return JSONResponse(oauth_envelope(exc.code, exc.description), status_code=403)


class OAuthEndpoints:
    """Starlette endpoints bound to one sandbox's state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def token(self, request: Request) -> JSONResponse:
        """POST /oauth2/tokenP."""
        try:
            body = await _body_fields(request, "grant_type", "appkey", "appsecret", grant=True)
            answer = self.state.issue_token(body["appkey"], body["appsecret"])
        except OAuthRejected as exc:
            return _refused(exc)
        return JSONResponse(answer)

    async def revoke(self, request: Request) -> JSONResponse:
        """POST /oauth2/revokeP."""
        try:
            body = await _body_fields(request, "appkey", "appsecret", "token")
            self.state.revoke_token(body["appkey"], body["appsecret"], body["token"])
        except OAuthRejected as exc:
            return _refused(exc)
        return JSONResponse({"code": 200, "message": "접근토큰 폐기에 성공하였습니다"})

    async def approval(self, request: Request) -> JSONResponse:
        """POST /oauth2/Approval (the secret travels as ``secretkey``)."""
        try:
            body = await _body_fields(request, "grant_type", "appkey", "secretkey", grant=True)
            key = self.state.issue_approval_key(body["appkey"], body["secretkey"])
        except OAuthRejected as exc:
            return _refused(exc)
        return JSONResponse({"approval_key": key})

    async def hashkey(self, request: Request) -> JSONResponse:
        """POST /uapi/hashkey: HASH = hex HMAC-SHA256(app secret, exact body bytes).

        Errors use the ``rt_cd`` envelope with HTTP 500, like the gateway: EGW00103/EGW00105
        for credentials, EGW00132 for a non-JSON content-type, OPSQ0001 for a body that is
        not a JSON object. Not rate limited.
        """
        headers = request.headers
        try:
            app = self.state.authenticate(headers.get("appkey"), headers.get("appsecret"))
        except OAuthRejected as exc:
            return JSONResponse(rt_envelope(exc.code), status_code=500)
        if not is_json_content_type(headers.get("content-type")):
            return JSONResponse(rt_envelope("EGW00132"), status_code=500)
        raw = await request.body()
        body = parse_json_object(raw)
        if body is None:
            return JSONResponse(rt_envelope("OPSQ0001"), status_code=500)
        self.state.count_hashkey()
        return JSONResponse({"BODY": body, "HASH": compute_hashkey(app.app_secret, raw)})

    async def hashkey_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """:meth:`hashkey` as a bare ASGI app, reached without Starlette's routing."""
        response = await self.hashkey(Request(scope, receive))
        await response(scope, receive, send)
