"""Rows of the bad-input table answered by a server: the sandbox's faults and refusals, and
replies only a raw server can send (malformed tokens, unknown codes, redirects, cut bodies)."""

from __future__ import annotations

from typing import Any

from bad_input import Ctx, at_raw, at_sandbox, order, price
from raw_server import Reply
from reliability_helpers import (
    APPROVAL_PATH,
    BALANCE_PATH,
    HASHKEY_PATH,
    ORDER_PATH,
    PRICE_PATH,
    TOKEN_PATH,
    order_body,
)

from stock_manager.adapters.broker.kis import (
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISBusinessError,
    KISCredentialsError,
    KISInvalidHashkeyError,
    KISProtocolError,
    KISRateLimitError,
    KISServerError,
    KISTokenIssueThrottledError,
    KISTransportError,
)
from stock_manager.adapters.broker.kis.bodies import balance_params

__all__ = ["RAW_ROWS", "SANDBOX_ROWS"]


def _fault(path: str = PRICE_PATH, **rates: Any) -> dict[str, Any]:
    return {"path": path, "seed": 1, **rates}


def _garble(kind: str, path: str = PRICE_PATH) -> dict[str, Any]:
    return _fault(path, garble_rate=1.0, garble_kind=kind)


def _order_recorded_once(ctx: Ctx, before: dict[str, Any]) -> None:
    orders = ctx.sandbox.stats()["orders"]
    assert len(orders) == len(before["orders"]) + 1, "the order behind the lost reply was placed"


def _no_order_recorded(ctx: Ctx, before: dict[str, Any]) -> None:
    assert len(ctx.sandbox.stats()["orders"]) == len(before["orders"])


def _followed_nowhere(ctx: Ctx, before: dict[str, Any]) -> None:
    assert ctx.server is not None
    assert ctx.server.count(PRICE_PATH) == 1, "the redirect was not followed"


def _other_account_order(ctx: Ctx) -> Any:
    _, _, other_account = ctx.sandbox.register_app()
    config = ctx.config()
    return ctx.order(config, body=order_body(config, CANO=other_account[:8]))


def _hashkey(ctx: Ctx) -> Any:
    with ctx.client() as client:
        return client.hashkey({"a": "1"})


def _approval_key(ctx: Ctx) -> Any:
    with ctx.client() as client:
        return client.approval_key()


def _all_pages(ctx: Ctx) -> Any:
    config = ctx.config()
    with ctx.client(config) as client:
        return list(client.iter_pages("GET", BALANCE_PATH, balance_params(config), max_pages=3))


def _page(**fields: Any) -> dict[str, Reply]:
    """An inquire-balance page that says more follow, with ``fields`` in its body."""
    return {BALANCE_PATH: Reply.json(200, {"rt_cd": "0", **fields}, tr_cont="M")}


def _token(**fields: Any) -> dict[str, Reply]:
    """A tokenP reply with ``fields`` changed (None drops a field)."""
    document: dict[str, Any] = {
        "access_token": "raw-token-" + "v" * 40,
        "access_token_token_expired": "2099-12-31 23:59:59",
        "expires_in": 86400,
        **fields,
    }
    return {TOKEN_PATH: Reply.json(200, {k: v for k, v in document.items() if v is not None})}


def _oauth(status: int, code: str) -> dict[str, Reply]:
    return {TOKEN_PATH: Reply.json(status, {"error_code": code, "error_description": "?"})}


def _price(reply: Reply) -> dict[str, Reply]:
    return {PRICE_PATH: reply}


def _order(reply: Reply) -> dict[str, Reply]:
    return {ORDER_PATH: reply}


def _rt(status: int, rt_cd: Any, msg_cd: str = "", **fields: Any) -> Reply:
    return Reply.json(status, {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": "?", **fields})


def _nested(depth: int) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}"


ORDER_OK = b'{"rt_cd":"0","output":{"ODNO":"0000000001"}}'
PRICE_OK = b'{"rt_cd":"0","output":{"stck_prpr":"1000"}}'
NOWHERE = "/uapi/domestic-stock/v1/quotations/nothing-here"

SANDBOX_ROWS = [
    at_sandbox("empty-body", price, KISProtocolError, faults=_garble("empty")),
    at_sandbox("html-error-page", price, KISProtocolError, faults=_garble("html")),
    at_sandbox("truncated-json", price, KISProtocolError, faults=_garble("truncated")),
    at_sandbox("json-array", price, KISProtocolError, faults=_garble("array")),
    at_sandbox(
        "truncated-json-to-an-order",
        order,
        KISAmbiguousOutcomeError,
        faults=_garble("truncated", ORDER_PATH),
        check=_no_order_recorded,
    ),
    at_sandbox("500-server-error", price, KISServerError, faults=_fault(error_rate=1.0)),
    at_sandbox("500-rate-limited", price, KISRateLimitError, faults=_fault(rate_limit_rate=1.0)),
    at_sandbox(
        "dropped-before-the-reply", price, KISTransportError, faults=_fault(drop_before_rate=1.0)
    ),
    at_sandbox(
        "order-processed-reply-dropped",
        order,
        KISAmbiguousOutcomeError,
        faults=_fault(ORDER_PATH, drop_after_rate=1.0),
        check=_order_recorded_once,
    ),
    at_sandbox(
        "403-wrong-app-secret",
        lambda c: c.price(c.config(kis_app_secret="S" * 180)),
        KISCredentialsError,
    ),
    at_sandbox(
        "403-unknown-app-key",
        lambda c: c.price(c.config(kis_app_key="K" * 36)),
        KISCredentialsError,
    ),
    at_sandbox("200-other-account", _other_account_order, KISBusinessError),
    at_sandbox(
        "200-not-enough-cash",
        lambda c: c.order(body=order_body(c.config(), quantity=10**6)),
        KISBusinessError,
    ),
    at_sandbox(
        "tampered-hashkey",
        lambda c: c.order(headers={"hashkey": "0" * 64}),
        KISInvalidHashkeyError,
    ),
    at_sandbox(
        "unknown-uapi-path",
        lambda c: c.call("GET", NOWHERE, tr_id="FHKST01010100"),
        KISAPIError,
    ),
]

RAW_ROWS = [
    at_raw("token-without-access-token", price, KISProtocolError, _token(access_token=None)),
    at_raw("token-access-token-a-number", price, KISProtocolError, _token(access_token=12345)),
    at_raw(
        "token-without-expiry",
        price,
        KISProtocolError,
        _token(access_token_token_expired=None, expires_in=None),
    ),
    at_raw(
        "token-expiry-wrong-types",
        price,
        KISProtocolError,
        _token(access_token_token_expired=7, expires_in=[1]),
    ),
    at_raw(
        "token-expires-in-overflows",
        price,
        KISProtocolError,
        _token(access_token_token_expired=None, expires_in=10**12),
    ),
    at_raw(
        "token-expiry-in-year-1",
        price,
        KISProtocolError,
        _token(access_token_token_expired="0001-01-01 00:00:00", expires_in=None),
    ),
    at_raw(
        "token-with-crlf",
        price,
        KISProtocolError,
        _token(access_token="raw-token\r\nx-injected: 1" + "v" * 30),
    ),
    at_raw(
        "token-with-surrounding-spaces",
        price,
        KISProtocolError,
        _token(access_token=" raw-token-" + "v" * 40 + " "),
    ),
    at_raw("token-of-5000-characters", price, KISProtocolError, _token(access_token="v" * 5000)),
    at_raw(
        "token-already-expired",
        price,
        KISProtocolError,
        _token(access_token_token_expired=None, expires_in=-5),
    ),
    at_raw(
        "token-expiry-in-the-past",
        price,
        KISProtocolError,
        _token(access_token_token_expired="2000-01-01 00:00:00", expires_in=None),
    ),
    at_raw(
        "token-reply-an-html-page",
        price,
        KISProtocolError,
        {TOKEN_PATH: Reply.raw(200, b"<html><body>maintenance</body></html>", "text/html")},
    ),
    at_raw("403-oauth-envelope", price, KISCredentialsError, _oauth(403, "EGW00105")),
    at_raw("403-oauth-envelope-unknown-code", price, KISAPIError, _oauth(403, "EGW00999")),
    at_raw(
        "403-token-throttled",
        lambda c: c.price(c.config(token_max_wait=0)),
        KISTokenIssueThrottledError,
        _oauth(403, "EGW00133"),
    ),
    at_raw(
        "hashkey-without-hash",
        _hashkey,
        KISProtocolError,
        {HASHKEY_PATH: Reply.json(200, {"BODY": {"a": "1"}})},
    ),
    at_raw(
        "hashkey-hash-a-number",
        _hashkey,
        KISProtocolError,
        {HASHKEY_PATH: Reply.json(200, {"BODY": {"a": "1"}, "HASH": 12})},
    ),
    at_raw(
        "hashkey-hash-with-a-trailing-space",
        _hashkey,
        KISProtocolError,
        {HASHKEY_PATH: Reply.json(200, {"BODY": {"a": "1"}, "HASH": "a" * 64 + " "})},
    ),
    at_raw(
        "approval-key-with-a-leading-space",
        _approval_key,
        KISProtocolError,
        {APPROVAL_PATH: Reply.json(200, {"approval_key": " a2585daf-8c09-4587-9fce"})},
    ),
    at_raw(
        "approval-without-key",
        _approval_key,
        KISProtocolError,
        {APPROVAL_PATH: Reply.json(200, {"approval": "x"})},
    ),
    at_raw("500-rt-cd-unknown-egw-code", price, KISAPIError, _price(_rt(500, "1", "EGW09999"))),
    at_raw("500-rt-cd-envelope", price, KISServerError, _price(_rt(500, "1", "EGW00002"))),
    at_raw("500-empty-json-object", price, KISServerError, _price(Reply.json(500, {}))),
    at_raw("200-business-error", price, KISBusinessError, _price(_rt(200, "1", "APBK9999"))),
    at_raw(
        "200-rt-cd-null",
        price,
        KISProtocolError,
        _price(_rt(200, None, output={})),
    ),
    at_raw(
        "200-rt-cd-null-to-an-order",
        order,
        KISAmbiguousOutcomeError,
        _order(_rt(200, None, output={})),
    ),
    at_raw("200-json-array", price, KISProtocolError, _price(Reply.json(200, [{"rt_cd": "0"}]))),
    at_raw("200-not-utf8", price, KISProtocolError, _price(Reply.raw(200, b'{"rt_cd":"\xff"}'))),
    at_raw(
        "200-nested-too-deep",
        price,
        KISProtocolError,
        _price(Reply.raw(200, _nested(100_000))),
    ),
    at_raw(
        "200-a-number-of-5000-digits",
        price,
        KISProtocolError,
        _price(Reply.raw(200, b'{"rt_cd":"0","output":{"n":' + b"7" * 5000 + b"}}")),
    ),
    at_raw(
        "paging-more-forever",
        _all_pages,
        KISProtocolError,
        _page(ctx_area_fk100="A", ctx_area_nk100="B"),
    ),
    at_raw(
        "paging-ctx-area-an-object",
        _all_pages,
        KISProtocolError,
        _page(ctx_area_fk100={"a": 1}, ctx_area_nk100="B"),
    ),
    at_raw(
        "302-to-another-host",
        price,
        KISProtocolError,
        _price(Reply(302, b"", (("location", "http://evil.example.com/steal"),))),
        check=_followed_nowhere,
    ),
    at_raw(
        "reply-cut-mid-body", price, KISTransportError, _price(Reply(200, PRICE_OK, cut_after=10))
    ),
    at_raw(
        "reply-cut-mid-body-to-an-order",
        order,
        KISAmbiguousOutcomeError,
        _order(Reply(200, ORDER_OK, cut_after=10)),
    ),
    at_raw(
        "no-reply-before-the-timeout",
        lambda c: c.price(c.config(timeout=0.3)),
        KISTransportError,
        _price(Reply(200, hang=True)),
    ),
    at_raw(
        "html-500-to-an-order",
        order,
        KISAmbiguousOutcomeError,
        _order(Reply.raw(500, b"<html>502 Bad Gateway</html>", "text/html")),
    ),
]
