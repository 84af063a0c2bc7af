"""The KIS gateway's admission checks for ``/uapi`` calls, in KIS's order.

Each failed check raises :class:`GatewayRejection` carrying the HTTP 500 ``rt_cd`` envelope
KIS answers with; a call that passes becomes a :class:`GatewayCall` for the handler.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stock_manager.sandbox.codes import BusinessError, missing_key_message
from stock_manager.sandbox.fields import bad
from stock_manager.sandbox.state import App, OAuthRejected, SandboxState
from stock_manager.sandbox.tables import GatewayRoute
from stock_manager.sandbox.tokens import TokenRejected

CORPORATE_HEADERS = ("personalseckey", "seq_no", "phone_number", "ip_addr")


class GatewayRejection(Exception):
    """A call the gateway refuses before any handler runs."""

    def __init__(self, msg_cd: str, msg1: str | None = None, status: int = 500) -> None:
        super().__init__(msg_cd)
        self.msg_cd = msg_cd
        self.msg1 = msg1
        self.status = status


@dataclass
class GatewayCall:
    """An admitted call: who made it, with which TR_ID, and its parameters or body."""

    app: App
    path: str
    tr_id: str
    role: str
    tr_cont: str
    params: Mapping[str, str]
    body: dict[str, Any] = field(default_factory=dict)


def compute_hashkey(app_secret: str, body: bytes) -> str:
    """The sandbox's HASH: hex HMAC-SHA256 keyed by the app secret over the exact body bytes."""
    return hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def is_json_content_type(value: str | None) -> bool:
    """``application/json`` with any parameters (charset...)."""
    return bool(value) and str(value).split(";", 1)[0].strip().lower() == "application/json"


def parse_json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        parsed = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # undecodable, not JSON, NaN/Infinity, absurdly deep
        return None
    return parsed if isinstance(parsed, dict) else None


def _reject_constant(name: str) -> Any:
    # Python reads NaN/Infinity, but they are not JSON and KIS refuses them.
    raise ValueError(f"{name} is not JSON")


async def admit(
    state: SandboxState,
    route: GatewayRoute,
    path: str,
    *,
    headers: Mapping[str, str],
    params: Iterable[tuple[str, str]],
    read_body: Callable[[], Awaitable[bytes]],
) -> GatewayCall:
    """Run every gateway check on one call; raise :class:`GatewayRejection` at the first failure.

    The body is read only once the headers have passed (credentials, token, content-type,
    custtype, TR_ID, rate limit), so an unauthenticated caller cannot make the sandbox buffer
    anything; the required keys are checked last, on the parsed body or query, then the values
    of coded parameters (a business error, HTTP 200, as KIS answers bad input). The call
    carries the query under upper-case names.
    """
    try:
        app = state.authenticate(headers.get("appkey"), headers.get("appsecret"))
        with state.lock:
            state.tokens.verify(app.app_key, headers.get("authorization"), state.clock.time())
    except OAuthRejected as exc:
        raise GatewayRejection(exc.code) from None
    except TokenRejected as exc:
        raise GatewayRejection(exc.code) from None

    if route.method == "POST" and not is_json_content_type(headers.get("content-type")):
        raise GatewayRejection("EGW00132")

    # Live KIS treats a missing custtype as P: clients in wide use never send it on REST calls.
    custtype = headers.get("custtype", "P")
    if custtype not in ("P", "B"):
        raise GatewayRejection("EGW00208")
    if custtype == "B":
        if state.environment == "paper":
            raise GatewayRejection("EGW00210")
        missing = [name for name in CORPORATE_HEADERS if not headers.get(name)]
        if missing:
            raise GatewayRejection(
                "EGW00208", f"법인고객(custtype B)은 {', '.join(missing)} 헤더가 필요합니다."
            )

    tr_id = headers.get("tr_id") or ""
    if not tr_id:
        raise GatewayRejection("OPSQ0002")
    if not route.offered_in(state.environment):
        raise GatewayRejection("OPSQ0003")
    role = route.role_of(tr_id, state.environment, accept_deprecated=not state.block_deprecated)
    if role is None:
        raise GatewayRejection("OPSQ0002")

    if not state.admit(app):
        raise GatewayRejection("EGW00201")

    raw_body = await read_body() if route.method == "POST" else b""
    hashkey = headers.get("hashkey")
    if hashkey is not None and not hmac.compare_digest(
        hashkey.encode(), compute_hashkey(app.app_secret, raw_body).encode()
    ):
        raise GatewayRejection("EGW00131")

    body: dict[str, Any] = {}
    if route.method == "POST":
        parsed = parse_json_object(raw_body)
        if parsed is None:
            raise GatewayRejection("OPSQ0001")
        body = parsed
    query = upper_case_names(params)
    present = body if route.method == "POST" else query
    absent = first_missing(route.required, present)
    if absent is not None:
        raise GatewayRejection("OPSQ2001", missing_key_message(absent))
    refused = first_bad_code(route, present)
    if refused is not None:
        raise GatewayRejection(refused.msg_cd, refused.msg1, status=200)
    return GatewayCall(app, path, tr_id, role, headers.get("tr_cont") or "", query, body)


def upper_case_names(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query parameters under upper-case names: KIS matches query names without regard to case.

    When a name comes more than once, in any spelling, the first one sent wins.
    """
    named: dict[str, str] = {}
    for name, value in params:
        named.setdefault(name.upper(), value)
    return named


def first_missing(required: tuple[str, ...], present: Mapping[str, Any]) -> str | None:
    """The first required key absent from ``present`` (present but empty is fine, as at KIS)."""
    return next((name for name in required if name not in present), None)


def first_bad_code(route: GatewayRoute, present: Mapping[str, Any]) -> BusinessError | None:
    """The OPSQ2002 rejection of the first present value outside its complete code list.

    An empty value passes where the parameter takes one (``empty_ok``) and for paging keys,
    which are empty on a first page. Only lists the workbook states completely are checked,
    so a value KIS might take is never refused on a guess.
    """
    for name, rule in route.codes.items():
        value = present.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            return BusinessError(
                "OPSQ2002", f"입력값이 올바르지 않습니다. ({name}: 문자열이어야 합니다)"
            )
        if value == "" and (rule.empty_ok or name in route.continuation):
            continue
        if value not in rule.values:
            return bad(name, value)
    return None
