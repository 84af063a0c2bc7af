"""The sans-I/O core: plain values in, requests and typed errors out. No sockets."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    AccessToken,
    KISAPIError,
    KISBusinessError,
    KISConfig,
    KISConfigError,
    KISCredentialsError,
    KISForeignURLError,
    KISInvalidHashkeyError,
    KISInvalidTokenError,
    KISPaperTradingUnsupportedError,
    KISProtocolError,
    KISRateLimitError,
    KISServerError,
    KISTokenExpiredError,
    KISTokenIssueThrottledError,
    KISUsageError,
    KISVariantError,
)
from stock_manager.adapters.broker.kis.bodies import balance_params, cash_order_body
from stock_manager.adapters.broker.kis.catalog import get_catalog
from stock_manager.adapters.broker.kis.protocol import (
    PageCursor,
    build_approval_request,
    build_hashkey_request,
    build_request,
    build_revoke_request,
    build_token_request,
    encode_body,
    parse_approval_key,
    parse_hashkey,
    parse_response,
    parse_token_grant,
    resolve_url,
)
from stock_manager.adapters.broker.kis.protocol.models import KISResponse
from stock_manager.adapters.broker.kis.redaction import register_secret

KEY = "PSabcdefghijklmnopqrstuvwxyz01234567"
SECRET = "secret-" + "x" * 173
BASE = "http://127.0.0.1:8080"
ORDER = {
    "CANO": "12345678",
    "ACNT_PRDT_CD": "01",
    "PDNO": "005930",
    "ORD_DVSN": "00",
    "ORD_QTY": "1",
    "ORD_UNPR": "70000",
}
# A complete inquire-price query: the client refuses one missing a required key before sending.
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
CORPORATE = {
    "environment": "real",
    "custtype": "B",
    "personalseckey": "personal-sec-key-0123456789",
    "seq_no": "001",
    "phone_number": "01012345678",
    "ip_addr": "10.0.0.1",
}


def config(**overrides: Any) -> KISConfig:
    values: dict[str, Any] = {"kis_app_key": KEY, "kis_app_secret": SECRET, "base_url": BASE}
    values.update(overrides)
    return KISConfig(_env_file=None, **values)


def token(value: str = "eyJ0eXAiOiJKV1Qi.token-one") -> AccessToken:
    now = datetime.now(UTC)
    return AccessToken(value=value, expires_at=now + timedelta(hours=24), issued_at=now)


def body_of(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


# -- building requests -------------------------------------------------------------------------


def test_get_request_puts_params_in_the_query_and_gateway_headers() -> None:
    request = build_request(
        config(),
        "get",
        "/uapi/domestic-stock/v1/quotations/inquire-price",
        {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
    )
    assert request.method == "GET"
    assert request.url == (
        f"{BASE}/uapi/domestic-stock/v1/quotations/inquire-price"
        "?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930"
    )
    assert request.content == b""
    assert request.tr_id == "FHKST01010100"
    assert request.headers["tr_id"] == "FHKST01010100"
    assert request.headers["appkey"] == KEY
    assert request.headers["appsecret"] == SECRET
    assert request.headers["custtype"] == "P"
    assert request.headers["tr_cont"] == ""
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert "authorization" not in request.headers
    assert request.needs_token
    assert request.rate_limited
    assert not request.is_order
    issued = token()
    with_token = request.with_token(issued)
    assert with_token.headers["authorization"] == "Bearer eyJ0eXAiOiJKV1Qi.token-one"
    assert {k: v for k, v in with_token.headers.items() if k != "authorization"} == dict(
        request.headers
    )
    assert "authorization" not in request.headers


def test_post_body_is_compact_utf8_json_and_signing_keeps_the_bytes() -> None:
    body = {**ORDER, "MEMO": "삼성전자"}
    request = build_request(
        config(), "POST", "/uapi/domestic-stock/v1/trading/order-cash", body, variant="buy"
    )
    assert request.content == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert "삼성전자".encode() in request.content
    assert request.tr_id == "VTTC0012U"
    assert request.is_order
    assert request.body == body
    signed = request.with_hashkey("abc123").with_token(token())
    assert signed.content is request.content
    assert signed.headers["hashkey"] == "abc123"
    hash_request = build_hashkey_request(config(), request.content)
    assert hash_request.content == request.content
    assert hash_request.url == f"{BASE}/uapi/hashkey"
    assert hash_request.headers["appkey"] == KEY
    assert hash_request.headers["appsecret"] == SECRET
    assert not hash_request.needs_token
    assert not hash_request.rate_limited


def test_api_id_supplies_path_and_tr_id_on_the_real_domain() -> None:
    request = build_request(
        config(environment="real"), "POST", api_id="order-cash", params=ORDER, variant="sell"
    )
    assert request.path == "/uapi/domestic-stock/v1/trading/order-cash"
    assert request.tr_id == "TTTC0011U"
    assert request.url == f"{BASE}/uapi/domestic-stock/v1/trading/order-cash"


@pytest.mark.parametrize(
    ("api_id", "variant", "params_of"),
    [
        ("inquire-balance", None, balance_params),
        ("order-cash", "buy", lambda settings: cash_order_body(settings, "005930", 1, 70000)),
    ],
)
def test_the_body_helpers_give_every_required_key_themselves(
    api_id: str, variant: str | None, params_of: Callable[[KISConfig], dict[str, str]]
) -> None:
    # Not left to the defaults the client fills in: a helper's call is complete as written.
    settings = config(account_no="12345678-01")
    params = params_of(settings)
    spec = get_catalog().get(api_id)
    required = [p.name for p in spec.params if p.required]
    assert required and set(required) <= set(params)
    request = build_request(settings, spec.method, api_id=api_id, params=params, variant=variant)
    assert request.headers["tr_id"] in spec.tr_ids()


def test_explicit_tr_id_overrides_the_catalog() -> None:
    request = build_request(config(), "POST", api_id="order-cash", params=ORDER, tr_id="VTTC0802U")
    assert request.headers["tr_id"] == "VTTC0802U"


def test_call_mistakes_are_refused_before_sending() -> None:
    with pytest.raises(KISVariantError):
        build_request(config(), "POST", api_id="order-cash", params=ORDER)
    with pytest.raises(KISPaperTradingUnsupportedError):
        build_request(config(), "POST", api_id="order-credit", params=ORDER, variant="buy")
    with pytest.raises(KISUsageError, match="GET or POST"):
        build_request(config(), "DELETE", "/uapi/hashkey")
    with pytest.raises(KISUsageError, match="tr_id="):
        build_request(config(), "GET", "/uapi/domestic-stock/v1/quotations/not-in-catalog")
    with pytest.raises(KISUsageError, match="lives at"):
        build_request(config(), "GET", "/uapi/other", api_id="inquire-price")
    with pytest.raises(KISUsageError, match="is a POST API"):
        build_request(config(), "GET", api_id="order-cash", variant="buy")
    with pytest.raises(KISUsageError, match="JSON"):
        build_request(config(), "POST", "/uapi/hashkey", {"when": datetime.now(UTC)})
    with pytest.raises(KISUsageError, match="url="):
        build_request(config(), "GET")


def test_unknown_paths_need_a_token_and_unknown_posts_are_orders() -> None:
    request = build_request(config(), "POST", "/uapi/new-api/v1/thing", {"A": "1"}, tr_id="X1")
    assert request.api is None
    assert request.is_order
    assert request.needs_token
    assert request.rate_limited
    get = build_request(config(), "GET", "/uapi/new-api/v1/thing", tr_id="X2")
    assert not get.is_order


def test_missing_credentials_are_reported_when_a_request_is_built() -> None:
    empty = KISConfig(_env_file=None, base_url=BASE)
    with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
        build_request(empty, "POST", "/uapi/hashkey", ORDER)
    with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
        build_token_request(empty)


# -- URL pinning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/uapi/hashkey",
        "http://127.0.0.1:8081/uapi/hashkey",
        "https://127.0.0.1:8080/uapi/hashkey",
        "http://localhost:8080/uapi/hashkey",
        "//evil.example.com/uapi/hashkey",
        "http://127.0.0.1:8080@evil.example.com/uapi/hashkey",
    ],
)
def test_absolute_urls_to_other_hosts_are_refused(url: str) -> None:
    with pytest.raises(KISForeignURLError, match="refusing"):
        build_request(config(), "POST", url, ORDER)


def test_absolute_url_on_the_configured_host_is_allowed() -> None:
    request = build_request(config(), "POST", f"{BASE}/uapi/hashkey", ORDER)
    assert request.url == f"{BASE}/uapi/hashkey"
    assert request.api is not None
    assert request.api.api_id == "Hashkey"
    real = config(base_url=None, environment="real")
    url = "https://openapi.koreainvestment.com/uapi/hashkey"
    with pytest.raises(KISForeignURLError):
        build_request(real, "POST", url, ORDER)  # port 443 is not 9443
    ok = build_request(real, "POST", "https://openapi.koreainvestment.com:9443/uapi/hashkey")
    assert ok.url == "https://openapi.koreainvestment.com:9443/uapi/hashkey"


def test_resolve_url_keeps_a_base_path_prefix() -> None:
    url, path, query = resolve_url("http://proxy.local/kis", "uapi/hashkey?x=1")
    assert (url, path, query) == ("http://proxy.local/kis/uapi/hashkey", "/uapi/hashkey", "x=1")
    with pytest.raises(KISUsageError):
        resolve_url(BASE, "/uapi/hash key")


# -- corporate headers -------------------------------------------------------------------------


def test_corporate_requests_carry_the_corporate_headers_and_a_fresh_gt_uid() -> None:
    corp = config(**CORPORATE)
    first = build_request(corp, "GET", api_id="inquire-price", params=PRICE).with_token(token())
    second = build_request(corp, "GET", api_id="inquire-price", params=PRICE).with_token(token())
    assert first.headers["custtype"] == "B"
    assert first.headers["personalseckey"] == CORPORATE["personalseckey"]
    assert first.headers["seq_no"] == "001"
    assert first.headers["phone_number"] == "01012345678"
    assert first.headers["ip_addr"] == "10.0.0.1"
    assert len(first.headers["gt_uid"]) == 32
    assert first.headers["gt_uid"] != second.headers["gt_uid"]
    replayed = first.with_token(token("another-token-value"))
    assert replayed.headers["gt_uid"] != first.headers["gt_uid"]
    assert "personal-sec-key" not in repr(first)
    assert first.safe_headers()["personalseckey"] == "***"


def test_individual_requests_carry_no_corporate_headers() -> None:
    request = build_request(
        config(mac_address="00:11:22:33:44:55"), "GET", api_id="inquire-price", params=PRICE
    )
    for name in ("personalseckey", "seq_no", "phone_number", "ip_addr", "gt_uid"):
        assert name not in request.headers
    assert request.headers["mac_address"] == "00:11:22:33:44:55"


def test_prepared_request_repr_shows_no_secret() -> None:
    request = build_request(config(), "POST", api_id="order-cash", params=ORDER, variant="buy")
    text = repr(request.with_token(token()).with_hashkey("h" * 64))
    assert SECRET not in text
    assert "token-one" not in text
    assert "h" * 64 not in text
    assert "VTTC0012U" in text


# -- OAuth requests ----------------------------------------------------------------------------


def test_oauth_requests_put_credentials_in_the_body_only() -> None:
    grant = build_token_request(config())
    assert grant.url == f"{BASE}/oauth2/tokenP"
    assert json.loads(grant.content) == {
        "grant_type": "client_credentials",
        "appkey": KEY,
        "appsecret": SECRET,
    }
    approval = build_approval_request(config())
    assert approval.url == f"{BASE}/oauth2/Approval"
    assert json.loads(approval.content) == {
        "grant_type": "client_credentials",
        "appkey": KEY,
        "secretkey": SECRET,
    }
    revoke = build_revoke_request(config(), token())
    assert revoke.url == f"{BASE}/oauth2/revokeP"
    assert json.loads(revoke.content)["token"] == token().value
    for request in (grant, approval, revoke):
        assert set(request.headers) == {"content-type"}
        assert request.body is None
        assert not request.rate_limited
        assert not request.needs_token
        assert not request.is_order


def test_encode_body_is_compact_and_deterministic() -> None:
    assert encode_body({"B": "나", "A": 1}) == '{"B":"나","A":1}'.encode()
    assert encode_body(None) == b"{}"


# -- reading replies ---------------------------------------------------------------------------


def test_success_reply_reads_like_its_body() -> None:
    body = {
        "rt_cd": "0",
        "msg_cd": "MCA00000",
        "msg1": "정상처리 되었습니다.",
        "output": {"a": "1"},
    }
    response = parse_response(
        200, {"TR_ID": "VTTC8434R", "tr_cont": "M", "GT_UID": "g-1"}, body_of(body)
    )
    assert isinstance(response, KISResponse)
    assert response["rt_cd"] == "0"
    assert response.get("output") == {"a": "1"}
    assert dict(response) == body
    assert response.json() == body
    assert response.status_code == 200
    assert response.tr_id == "VTTC8434R"
    assert response.gt_uid == "g-1"
    assert response.tr_cont == "M"
    assert response.has_next
    assert response.headers["tr_cont"] == "M"


@pytest.mark.parametrize(
    ("tr_cont", "more"), [("F", True), ("M", True), ("D", False), ("E", False), ("", False)]
)
def test_has_next_follows_tr_cont(tr_cont: str, more: bool) -> None:
    response = parse_response(200, {"tr_cont": tr_cont}, body_of({"rt_cd": "0"}))
    assert response.has_next is more


def test_hashkey_reply_without_rt_cd_is_a_success() -> None:
    response = parse_response(200, {}, body_of({"BODY": ORDER, "HASH": "ab" * 32}))
    assert response["BODY"] == ORDER
    assert parse_hashkey(response) == "ab" * 32


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (500, "EGW00201", KISRateLimitError),
        (200, "EGW00201", KISRateLimitError),
        (500, "EGW00215", KISRateLimitError),
        (500, "EGW00121", KISInvalidTokenError),
        (500, "EGW00122", KISInvalidTokenError),
        (500, "EGW00123", KISTokenExpiredError),
        (500, "EGW00131", KISInvalidHashkeyError),
        (500, "EGW00103", KISCredentialsError),
        (500, "EGW00105", KISCredentialsError),
        (500, "EGW02004", KISCredentialsError),
        (500, "EGW00001", KISServerError),
        (500, "EGW00002", KISServerError),
        (500, "OPSQ0002", KISAPIError),
        (200, "APBK0952", KISBusinessError),
    ],
)
def test_gateway_errors_map_to_their_class(
    status: int, code: str, expected: type[KISAPIError]
) -> None:
    body = {"rt_cd": "1", "msg_cd": code, "msg1": "메시지"}
    with pytest.raises(KISAPIError) as caught:
        parse_response(status, {"tr_id": "VTTC8434R", "gt_uid": "gt-7"}, body_of(body))
    error = caught.value
    assert type(error) is expected
    assert (error.code, error.message, error.status_code) == (code, "메시지", status)
    assert (error.tr_id, error.gt_uid) == ("VTTC8434R", "gt-7")
    assert str(error).startswith(f"{code} 메시지 (HTTP {status}, tr_id=VTTC8434R, gt_uid=gt-7)")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("EGW00133", KISTokenIssueThrottledError),
        ("EGW00103", KISCredentialsError),
        ("EGW00105", KISCredentialsError),
        ("EGW00121", KISInvalidTokenError),
    ],
)
def test_oauth_envelope_errors_map_to_their_class(code: str, expected: type[KISAPIError]) -> None:
    body = {"error_code": code, "error_description": "설명"}
    with pytest.raises(expected) as caught:
        parse_response(403, {}, body_of(body))
    assert caught.value.code == code
    assert caught.value.message == "설명"
    assert caught.value.status_code == 403


def test_request_tr_id_is_reported_when_kis_does_not_echo_it() -> None:
    settings = config(account_no="12345678-01")
    request = build_request(
        settings, "GET", api_id="inquire-balance", params=balance_params(settings)
    )
    with pytest.raises(KISRateLimitError) as caught:
        parse_response(500, {}, body_of({"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "x"}), request)
    assert caught.value.tr_id == "VTTC8434R"


def test_error_status_without_a_code() -> None:
    with pytest.raises(KISServerError, match="HTTP 502"):
        parse_response(502, {}, body_of({"detail": "bad gateway"}))
    with pytest.raises(KISAPIError) as caught:
        parse_response(404, {}, body_of({"detail": "nope"}))
    assert type(caught.value) is KISAPIError


@pytest.mark.parametrize(
    ("status", "headers", "body", "fragment"),
    [
        (500, {"content-type": "text/html"}, b"<html><body>Internal error</body></html>", "HTML"),
        (200, {}, b"", "empty"),
        (200, {}, b'{"rt_cd": "0", "output": {"stck_p', "not valid JSON"),
        (200, {}, b'[{"rt_cd": "0"}]', "JSON list"),
        (200, {}, b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
)
def test_garbage_replies_raise_protocol_error(
    status: int, headers: dict[str, str], body: bytes, fragment: str
) -> None:
    with pytest.raises(KISProtocolError, match=fragment) as caught:
        parse_response(status, headers, body)
    assert caught.value.status_code == status
    assert len(str(caught.value)) < 300


def test_protocol_error_excerpt_masks_known_secrets() -> None:
    leaked = "leaked-token-value-0123456789"
    register_secret(leaked)
    with pytest.raises(KISProtocolError) as caught:
        parse_response(200, {}, f'{{"access_token": "{leaked}", '.encode())
    assert leaked not in str(caught.value)
    assert "***" in str(caught.value)


def test_token_grant_expiry_comes_from_korean_time() -> None:
    now = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    grant = {
        "access_token": "eyJ.grant.one",
        "access_token_token_expired": "2024-01-02 08:16:59",
        "token_type": "Bearer",
        "expires_in": 86400,
    }
    issued = parse_token_grant(grant, now=now)
    assert issued.value == "eyJ.grant.one"
    assert issued.expires_at == datetime(2024, 1, 1, 23, 16, 59, tzinfo=UTC)
    assert issued.issued_at == now
    assert issued.expires_at.tzinfo is UTC
    assert "eyJ.grant.one" not in repr(issued)


def test_token_grant_falls_back_to_expires_in() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    issued = parse_token_grant({"access_token": "eyJ.grant.two", "expires_in": "3600"}, now=now)
    assert issued.expires_at == now + timedelta(hours=1)
    garbled = {
        "access_token": "eyJ.grant.three",
        "access_token_token_expired": "soon",
        "expires_in": 60,
    }
    assert parse_token_grant(garbled, now=now).expires_at == now + timedelta(minutes=1)


@pytest.mark.parametrize(
    "grant",
    [
        {"access_token_token_expired": "2024-01-02 08:16:59"},
        {"access_token": "", "expires_in": 10},
        {"access_token": "eyJ.grant.four"},
    ],
)
def test_incomplete_token_grants_raise_protocol_error(grant: dict[str, Any]) -> None:
    with pytest.raises(KISProtocolError):
        parse_token_grant(grant)


def test_hashkey_and_approval_replies_need_their_field() -> None:
    with pytest.raises(KISProtocolError, match="HASH"):
        parse_hashkey({"BODY": ORDER, "hash": "lower-case is not what KIS sends"})
    with pytest.raises(KISProtocolError, match="approval_key"):
        parse_approval_key({"approval": "x"})
    assert parse_approval_key({"approval_key": "a1b2c3d4-e5f6"}) == "a1b2c3d4-e5f6"


# -- paging ------------------------------------------------------------------------------------


def page(tr_cont: str, fk: str = "", nk: str = "") -> KISResponse:
    body = {"rt_cd": "0", "output1": [], "ctx_area_fk100": fk, "ctx_area_nk100": nk}
    return parse_response(200, {"tr_cont": tr_cont}, body_of(body))


def test_page_cursor_carries_ctx_areas_and_asks_for_the_next_page() -> None:
    cursor = PageCursor({"CANO": "12345678", "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""}, 10)
    assert cursor.tr_cont == ""
    assert cursor.advance(page("M", "fk-1", "nk-1"))
    assert cursor.tr_cont == "N"
    assert cursor.params == {"CANO": "12345678", "CTX_AREA_FK100": "fk-1", "CTX_AREA_NK100": "nk-1"}
    assert cursor.advance(page("F", "fk-2", "nk-2"))
    assert cursor.params["CTX_AREA_NK100"] == "nk-2"
    assert not cursor.advance(page("D"))
    assert cursor.pages == 3


def test_page_cursor_stops_a_server_that_never_ends() -> None:
    cursor = PageCursor(None, 2)
    assert cursor.advance(page("M", "a", "b"))
    with pytest.raises(KISProtocolError, match="max_pages=2"):
        cursor.advance(page("M", "a", "b"))
    with pytest.raises(KISUsageError):
        PageCursor(None, 0)
