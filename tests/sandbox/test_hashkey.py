"""POST /uapi/hashkey: HASH is HMAC-SHA256(app secret, exact body bytes), as documented."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from sandbox_helpers import Caller, rt


def _expected(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def test_hash_of_exact_bytes(kis: Caller) -> None:
    raw = b'{"CANO": "12345678", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_QTY": "1"}'
    response = kis.client.post(
        "/uapi/hashkey",
        content=raw,
        headers={
            "content-type": "application/json; charset=utf-8",
            "appkey": kis.app_key,
            "appsecret": kis.app_secret,
        },
    )
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"BODY", "HASH"}
    assert answer["BODY"] == {
        "CANO": "12345678",
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "ORD_QTY": "1",
    }
    assert answer["HASH"] == _expected(kis.app_secret, raw)
    # Same JSON, different bytes: a different hash.
    assert kis.hashkey(raw.replace(b", ", b",")) != answer["HASH"]
    assert kis.sandbox.stats()["hashkeys_issued"] == 2


def test_header_names_are_case_insensitive_and_extras_accepted(kis: Caller) -> None:
    raw = b'{"a": "1"}'
    response = kis.client.post(
        "/uapi/hashkey",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "appKey": kis.app_key,
            "appSecret": kis.app_secret,
            "authorization": "Bearer whatever",
            "custtype": "P",
            "tr_id": "TTTC0012U",
        },
    )
    assert response.status_code == 200
    assert response.json()["HASH"] == _expected(kis.app_secret, raw)


def test_hashkey_refusals(kis: Caller) -> None:
    def post(
        raw: bytes, content_type: str = "application/json", **headers: str
    ) -> tuple[int, str, str]:
        base = {"content-type": content_type, "appkey": kis.app_key, "appsecret": kis.app_secret}
        return rt(kis.client.post("/uapi/hashkey", content=raw, headers={**base, **headers}))

    assert post(b'{"a":1}', appkey="Z" * 36) == (500, "1", "EGW00103")
    assert post(b'{"a":1}', appsecret="wrong") == (500, "1", "EGW00105")
    assert post(b'{"a":1}', content_type="text/plain") == (500, "1", "EGW00132")
    assert post(b"{not json") == (500, "1", "OPSQ0001")
    assert post(b"[1, 2]") == (500, "1", "OPSQ0001")
    assert kis.sandbox.stats()["hashkeys_issued"] == 0


def test_hashkey_is_not_rate_limited(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("paper", rate_limit=1)
    hashes = {kis.hashkey(f'{{"n": {n}}}'.encode()) for n in range(5)}
    assert len(hashes) == 5
    assert kis.sandbox.stats()["rate_limited"] == 0
