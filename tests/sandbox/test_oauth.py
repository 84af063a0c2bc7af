"""tokenP, revokeP and Approval: success, reuse, throttling and every refusal."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sandbox_helpers import PRICE, Caller

from stock_manager.sandbox import ManualClock

KST = timezone(timedelta(hours=9))


def _claims(token: str) -> tuple[dict[str, str], dict[str, object]]:
    head, body, signature = token.split(".")
    assert signature

    def decode(part: str) -> dict[str, object]:
        decoded: dict[str, object] = json.loads(
            base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        )
        return decoded

    return decode(head), decode(body)  # type: ignore[return-value]


def test_token_is_a_kis_shaped_jwt(kis: Caller) -> None:
    before = int(time.time())
    response = kis.issue_token()
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"access_token", "access_token_token_expired", "token_type", "expires_in"}
    assert answer["token_type"] == "Bearer"
    assert isinstance(answer["expires_in"], int)
    assert 86_390 <= answer["expires_in"] <= 86_400
    header, claims = _claims(answer["access_token"])
    assert header["alg"] == "HS512"
    assert claims["sub"] == "token" and claims["iss"] == "unogw"
    assert claims["jti"] == kis.app_key
    uuid.UUID(str(claims["aud"]))
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert claims["exp"] - claims["iat"] == 86_400
    assert before <= claims["iat"] <= int(time.time())
    expiry = answer["access_token_token_expired"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", expiry)
    expected = datetime.fromtimestamp(claims["exp"], KST).strftime("%Y-%m-%d %H:%M:%S")
    assert expiry == expected  # Korean time, not UTC
    assert kis.sandbox.stats()["tokens_issued"] == 1


def test_same_token_within_reissue_window(kis: Caller) -> None:
    first = kis.issue_token().json()
    second = kis.issue_token().json()
    assert second["access_token"] == first["access_token"]
    assert second["access_token_token_expired"] == first["access_token_token_expired"]
    assert kis.sandbox.stats()["tokens_issued"] == 2


def test_new_token_after_reissue_window(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real", reissue_window=0)
    first = kis.issue_token().json()["access_token"]
    second = kis.issue_token().json()["access_token"]
    assert first != second
    # Both stay valid: a new token does not revoke the old one.
    for token in (first, second):
        response = kis.client.get(
            PRICE,
            params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
            headers={**kis.headers("FHKST01010100"), "authorization": f"Bearer {token}"},
        )
        assert response.json()["rt_cd"] == "0"


def test_one_issuance_per_interval(caller_for: Callable[..., Caller], domain: str) -> None:
    kis = caller_for(domain, issue_interval=60)
    assert kis.issue_token().status_code == 200
    refused = kis.issue_token()
    assert refused.status_code == 403
    assert refused.json() == {
        "error_code": "EGW00133",
        "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
    }
    assert kis.sandbox.stats()["tokens_issued"] == 1
    # The interval is per app key: another app is not throttled.
    other = Caller(kis.sandbox, kis.client, kis.sandbox.register_app())
    assert other.issue_token().status_code == 200


def test_interval_elapses(caller_for: Callable[..., Caller]) -> None:
    clock = ManualClock()
    kis = caller_for("paper", issue_interval=60, clock=clock)
    assert kis.issue_token().status_code == 200
    assert kis.issue_token().status_code == 403
    clock.advance(59.9)
    assert kis.issue_token().status_code == 403  # KIS's minute is not over yet
    clock.advance(0.1)
    assert kis.issue_token().status_code == 200


def test_bad_key_and_secret(kis: Caller) -> None:
    bad_key = kis.client.post(
        "/oauth2/tokenP",
        json={"grant_type": "client_credentials", "appkey": "X" * 36, "appsecret": kis.app_secret},
    )
    assert bad_key.status_code == 403
    assert bad_key.json()["error_code"] == "EGW00103"
    assert bad_key.json()["error_description"] == "유효하지 않은 AppKey입니다."
    bad_secret = kis.client.post(
        "/oauth2/tokenP",
        json={"grant_type": "client_credentials", "appkey": kis.app_key, "appsecret": "nope"},
    )
    assert bad_secret.status_code == 403
    assert bad_secret.json()["error_code"] == "EGW00105"
    assert kis.sandbox.stats()["tokens_issued"] == 0


def test_malformed_token_requests(kis: Caller) -> None:
    for content in (b"not json", b"[1, 2]", b'{"appkey": "x"}'):
        response = kis.client.post(
            "/oauth2/tokenP", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 403
        assert response.json()["error_code"] == "EGW00100"
    wrong_grant = kis.client.post(
        "/oauth2/tokenP",
        json={"grant_type": "password", "appkey": kis.app_key, "appsecret": kis.app_secret},
    )
    assert wrong_grant.status_code == 403
    assert "grant_type" in wrong_grant.json()["error_description"]


def test_revoke_then_gateway_refuses(kis: Caller) -> None:
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    assert kis.get(PRICE, "FHKST01010100", params).json()["rt_cd"] == "0"
    response = kis.client.post(
        "/oauth2/revokeP",
        json={"appkey": kis.app_key, "appsecret": kis.app_secret, "token": kis.token},
    )
    assert response.status_code == 200
    assert response.json() == {"code": 200, "message": "접근토큰 폐기에 성공하였습니다"}
    refused = kis.get(PRICE, "FHKST01010100", params)
    assert refused.status_code == 500
    assert refused.json()["msg_cd"] == "EGW00121"
    assert kis.sandbox.stats()["tokens_revoked"] == 1
    # After revocation tokenP mints a new token rather than handing back the revoked one.
    fresh = kis.issue_token().json()["access_token"]
    assert fresh != kis.token


def test_revoke_refusals(kis: Caller) -> None:
    token = kis.token
    unknown = kis.client.post(
        "/oauth2/revokeP",
        json={"appkey": kis.app_key, "appsecret": kis.app_secret, "token": "a.b.c"},
    )
    assert unknown.status_code == 403 and unknown.json()["error_code"] == "EGW00121"
    bad_key = kis.client.post(
        "/oauth2/revokeP", json={"appkey": "K" * 36, "appsecret": kis.app_secret, "token": token}
    )
    assert bad_key.status_code == 403 and bad_key.json()["error_code"] == "EGW00103"
    bad_secret = kis.client.post(
        "/oauth2/revokeP", json={"appkey": kis.app_key, "appsecret": "S", "token": token}
    )
    assert bad_secret.status_code == 403 and bad_secret.json()["error_code"] == "EGW00105"
    # Another app cannot revoke this app's token.
    key, secret, _ = kis.sandbox.register_app()
    foreign = kis.client.post(
        "/oauth2/revokeP", json={"appkey": key, "appsecret": secret, "token": token}
    )
    assert foreign.status_code == 403 and foreign.json()["error_code"] == "EGW00121"
    missing = kis.client.post("/oauth2/revokeP", json={"appkey": kis.app_key})
    assert missing.status_code == 403 and missing.json()["error_code"] == "EGW00100"
    assert kis.sandbox.stats()["tokens_revoked"] == 0


def test_approval_key(kis: Caller) -> None:
    body = {"grant_type": "client_credentials", "appkey": kis.app_key, "secretkey": kis.app_secret}
    first = kis.client.post("/oauth2/Approval", json=body)
    second = kis.client.post("/oauth2/Approval", json=body)
    assert first.status_code == 200
    assert uuid.UUID(first.json()["approval_key"])
    assert first.json()["approval_key"] != second.json()["approval_key"]
    assert kis.sandbox.stats()["approval_keys_issued"] == 2


def test_approval_refusals(kis: Caller) -> None:
    bad_secret = kis.client.post(
        "/oauth2/Approval",
        json={"grant_type": "client_credentials", "appkey": kis.app_key, "secretkey": "x"},
    )
    assert bad_secret.status_code == 403 and bad_secret.json()["error_code"] == "EGW00105"
    # The secret travels as "secretkey"; "appsecret" alone is a malformed request.
    wrong_field = kis.client.post(
        "/oauth2/Approval",
        json={
            "grant_type": "client_credentials",
            "appkey": kis.app_key,
            "appsecret": kis.app_secret,
        },
    )
    assert wrong_field.status_code == 403 and wrong_field.json()["error_code"] == "EGW00100"
    assert kis.sandbox.stats()["approval_keys_issued"] == 0


def test_expire_tokens(caller_for: Callable[..., Caller]) -> None:
    clock = ManualClock()
    kis = caller_for("paper", issue_interval=60, clock=clock)
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "000660"}
    old = kis.token
    kis.sandbox.expire_tokens()
    expired = kis.get(PRICE, "FHKST01010100", params)
    assert expired.status_code == 500 and expired.json()["msg_cd"] == "EGW00123"
    # The issue interval still applies after an expiry...
    assert kis.issue_token().json()["error_code"] == "EGW00133"
    clock.advance(60)
    # ...and then a NEW token comes back, not the expired one.
    fresh = kis.issue_token().json()["access_token"]
    assert fresh != old
    ok = kis.client.get(
        PRICE,
        params=params,
        headers={**kis.headers("FHKST01010100"), "authorization": f"Bearer {fresh}"},
    )
    assert ok.json()["rt_cd"] == "0"


def test_token_lifetime_runs_out(caller_for: Callable[..., Caller]) -> None:
    clock = ManualClock()
    kis = caller_for("real", token_ttl=0.5, clock=clock)
    answer = kis.issue_token().json()
    assert answer["expires_in"] == 0  # whole seconds remaining
    kis._token = answer["access_token"]
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "000660"}
    assert kis.get(PRICE, "FHKST01010100", params).json()["rt_cd"] == "0"
    clock.advance(0.6)
    expired = kis.get(PRICE, "FHKST01010100", params)
    assert expired.status_code == 500 and expired.json()["msg_cd"] == "EGW00123"
