"""The /uapi gateway's admission checks, in KIS's order, on both domains."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from sandbox_helpers import (
    BALANCE,
    ORDER_CASH,
    ORDER_CREDIT,
    ORDER_RESV,
    PRICE,
    Caller,
    rt,
)

QUOTE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
CORPORATE = {
    "personalseckey": "sec",
    "seq_no": "01",
    "phone_number": "01012345678",
    "ip_addr": "127.0.0.1",
    "gt_uid": "g" * 32,
}


def _price(kis: Caller, **headers: str) -> httpx.Response:
    return kis.get(PRICE, "FHKST01010100", QUOTE, **headers)


def test_success_headers(kis: Caller) -> None:
    first = _price(kis)
    second = _price(kis)
    assert first.status_code == 200
    body = first.json()
    assert (body["rt_cd"], body["msg_cd"], body["msg1"]) == (
        "0",
        "MCA00000",
        "정상처리 되었습니다.",
    )
    assert first.headers["tr_id"] == "FHKST01010100"
    assert first.headers["tr_cont"] == ""
    assert first.headers["gt_uid"] and first.headers["gt_uid"] != second.headers["gt_uid"]
    raw_names = [name for name, _ in first.headers.raw]
    assert b"tr_id" in raw_names and b"gt_uid" in raw_names  # lower-case on the wire


def test_bad_credentials(kis: Caller) -> None:
    assert rt(_price(kis, appkey="A" * 36)) == (500, "1", "EGW00103")
    assert rt(_price(kis, appsecret="nope")) == (500, "1", "EGW00105")


def test_bad_tokens(kis: Caller) -> None:
    token = kis.token
    for authorization in ("", "Token abc", f"Bearer {token}x", "Bearer a.b.c", token):
        response = _price(kis, authorization=authorization)
        assert rt(response) == (500, "1", "EGW00121"), authorization
    assert response.headers["tr_id"] == "FHKST01010100"
    # A valid token of another app is not this app's token.
    other = Caller(kis.sandbox, kis.client, kis.sandbox.register_app())
    response = _price(kis, authorization=f"Bearer {other.token}")
    assert rt(response) == (500, "1", "EGW00121")
    # A token of another sandbox is unknown here.
    headers = kis.headers("FHKST01010100")
    del headers["authorization"]
    response = kis.client.get(PRICE, params=QUOTE, headers=headers)
    assert rt(response) == (500, "1", "EGW00121")


def test_token_from_another_sandbox(
    kis: Caller, caller_for: Callable[..., Caller], domain: str
) -> None:
    elsewhere = caller_for(domain)
    assert rt(_price(kis, authorization=f"Bearer {elsewhere.token}")) == (500, "1", "EGW00121")


def test_post_needs_json_content_type(kis: Caller) -> None:
    response = kis.post(
        ORDER_CASH, kis.tr["buy"], {"CANO": kis.cano}, **{"content-type": "text/plain"}
    )
    assert rt(response) == (500, "1", "EGW00132")
    assert kis.sandbox.stats()["orders"] == []


def test_custtype(kis: Caller) -> None:
    assert rt(_price(kis, custtype="X")) == (500, "1", "EGW00208")
    headers = kis.headers("FHKST01010100")
    del headers["custtype"]
    # Live KIS reads a missing custtype as P (clients in wide use never send it).
    assert rt(kis.client.get(PRICE, params=QUOTE, headers=headers)) == (200, "0", "MCA00000")


def test_corporate_custtype(caller_for: Callable[..., Caller]) -> None:
    paper = caller_for("paper")
    assert rt(_price(paper, custtype="B", **CORPORATE)) == (500, "1", "EGW00210")
    real = caller_for("real")
    missing = _price(real, custtype="B")
    assert rt(missing) == (500, "1", "EGW00208")
    assert "personalseckey" in missing.json()["msg1"]
    assert rt(_price(real, custtype="B", **CORPORATE)) == (200, "0", "MCA00000")


def test_tr_id_checks(kis: Caller) -> None:
    other = "real" if kis.sandbox.environment == "paper" else "paper"
    other_buy = {"paper": "VTTC0012U", "real": "TTTC0012U"}[other]
    missing = kis.post(ORDER_CASH, None, {})
    assert rt(missing) == (500, "1", "OPSQ0002")
    assert missing.json()["msg1"] == "없는 서비스 코드 입니다"
    assert rt(kis.post(ORDER_CASH, other_buy, {})) == (500, "1", "OPSQ0002")
    assert rt(kis.post(ORDER_CASH, kis.tr["balance"], {})) == (500, "1", "OPSQ0002")
    assert rt(kis.get(BALANCE, kis.tr["buy"], kis.account_params())) == (500, "1", "OPSQ0002")
    # The other domain's deprecated TR_IDs stay wrong here (this domain's: test_gateway_rules).
    deprecated = {"real": ("VTTC0801U", "VTTC0802U"), "paper": ("TTTC0801U", "TTTC0802U")}
    for tr_id in deprecated[kis.sandbox.environment]:
        assert rt(kis.post(ORDER_CASH, tr_id, {})) == (500, "1", "OPSQ0002")
    assert kis.sandbox.stats()["orders"] == []


def test_apis_not_offered_in_paper(caller_for: Callable[..., Caller]) -> None:
    paper = caller_for("paper")
    for path, tr_id in ((ORDER_CREDIT, "TTTC0052U"), (ORDER_RESV, "CTSC0008U")):
        response = paper.post(path, tr_id, {"CANO": paper.cano})
        assert rt(response) == (500, "1", "OPSQ0003")
        assert response.json()["msg1"] == "모의투자에서는 해당업무가 제공되지 않습니다"


def test_hashkey_header(kis: Caller) -> None:
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.product,
        "PDNO": "005930",
        "ORD_DVSN": "01",
        "ORD_QTY": "1",
        "ORD_UNPR": "0",
    }
    assert rt(kis.post(ORDER_CASH, kis.tr["buy"], body, hashkey=True))[1] == "0"
    raw = json.dumps(body).encode()
    stale = kis.hashkey(raw)
    changed = json.dumps({**body, "ORD_QTY": "2"}).encode()
    headers = {**kis.headers(kis.tr["buy"]), "hashkey": stale}
    response = kis.client.post(ORDER_CASH, content=changed, headers=headers)
    assert rt(response) == (500, "1", "EGW00131")
    assert len(kis.sandbox.stats()["orders"]) == 1


def test_post_body_must_be_a_json_object(kis: Caller) -> None:
    response = kis.client.post(ORDER_CASH, content=b"[]", headers=kis.headers(kis.tr["buy"]))
    assert rt(response) == (500, "1", "OPSQ0001")


def test_unknown_path_and_method(kis: Caller) -> None:
    unknown = kis.get("/uapi/domestic-stock/v1/nothing-here", "FHKST01010100", {})
    assert rt(unknown) == (404, "1", "OPSQ0404")
    wrong_method = kis.get(ORDER_CASH, kis.tr["buy"], {})
    assert rt(wrong_method) == (405, "1", "OPSQ0405")
    assert kis.sandbox.stats()["requests"][ORDER_CASH] == 1


def test_rate_limit(caller_for: Callable[..., Caller], domain: str) -> None:
    kis = caller_for(domain, rate_limit=3)
    kis.token  # noqa: B018 - issue before the burst
    answers = [rt(_price(kis)) for _ in range(4)]
    assert answers[:3] == [(200, "0", "MCA00000")] * 3
    assert answers[3] == (500, "1", "EGW00201")
    limited = _price(kis)
    assert limited.json()["msg1"] == "초당 거래건수를 초과하였습니다."
    stats = kis.sandbox.stats()
    assert stats["rate_limited"] == 2
    # The limit is per app key.
    other = Caller(kis.sandbox, kis.client, kis.sandbox.register_app())
    assert rt(_price(other))[1] == "0"


def test_default_rate_limits(caller_for: Callable[..., Caller]) -> None:
    paper = caller_for("paper", rate_limit=None)
    paper.token  # noqa: B018
    statuses = [rt(_price(paper))[2] for _ in range(3)]
    assert statuses.count("EGW00201") == 1  # 2 per second on paper
    real = caller_for("real", rate_limit=None)
    real.token  # noqa: B018
    statuses = [rt(_price(real))[2] for _ in range(21)]
    assert statuses.count("EGW00201") == 1  # 20 per second on real
