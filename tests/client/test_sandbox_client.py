"""KISRestClient against the sandbox over loopback: the happy paths and the token lifecycle."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISForeignURLError,
    KISInvalidHashkeyError,
    KISProtocolError,
    KISRestClient,
    KISTokenExpiredError,
)
from stock_manager.adapters.broker.kis.bodies import balance_params, cash_order_body
from stock_manager.adapters.broker.kis.protocol import encode_body
from stock_manager.adapters.broker.kis.tokens import TokenManager
from stock_manager.sandbox import KISSandbox

ConfigFor = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]

PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
#: A KRX trading day (Tuesday) at 10:00 KST: the regular session is open, so the sandbox's
#: exchange takes market orders and fills them at once, whatever day the suite runs.
MARKET_TIME = "2026-03-10T10:00:00+09:00"


def order(config: KISConfig, pdno: str = "005930", qty: int = 1) -> dict[str, str]:
    """A cash order at market for ``config``'s account (defaults: 1 share of 005930).

    At market because the sandbox is a market: a limit outside the day's band is refused and
    one below the price rests unfilled, and a sell needs shares a buy has already filled.
    """
    return cash_order_body(config, pdno, qty)


def test_seed_snippet_runs_verbatim(
    paper_sandbox: KISSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_BASE_URL", paper_sandbox.base_url)
    body = {
        "CANO": paper_sandbox.account_no[:8],
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "ORD_DVSN": "00",
        "ORD_QTY": "1",
        "ORD_UNPR": "70000",
    }

    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

    config = KISConfig(kis_app_key=paper_sandbox.app_key, kis_app_secret=paper_sandbox.app_secret)
    client = KISRestClient(config)
    tr_id = client.get_tr_id(api_id="Hashkey", is_paper_trading=False)
    response = client.make_request(method="post", url="/uapi/hashkey", params=body)

    assert tr_id is None
    assert response["BODY"] == body
    expected = hmac.new(
        paper_sandbox.app_secret.encode(), encode_body(body), hashlib.sha256
    ).hexdigest()
    assert response["HASH"] == expected  # the hash of the compact bytes the client sent
    assert response.status_code == 200
    assert paper_sandbox.stats()["hashkeys_issued"] == 1
    assert paper_sandbox.stats()["tokens_issued"] == 0  # hashkey needs no access token
    client.close()


@pytest.mark.parametrize(
    ("environment", "buy_tr", "sell_tr"),
    [("paper", "VTTC0012U", "VTTC0011U"), ("real", "TTTC0012U", "TTTC0011U")],
)
def test_signed_cash_orders_buy_and_sell_on_both_domains(
    sandbox_factory: SandboxFactory,
    config_for: ConfigFor,
    environment: str,
    buy_tr: str,
    sell_tr: str,
) -> None:
    sb = sandbox_factory(environment, market_time=MARKET_TIME)
    config = config_for(sb)
    with KISRestClient(config) as client:
        bought = client.make_request(
            "POST", api_id="order-cash", variant="buy", params=order(config, qty=3), hashkey=True
        )
        sold = client.make_request(
            "post",
            "/uapi/domestic-stock/v1/trading/order-cash",
            order(config, qty=2),
            variant="sell",
            hashkey=True,
        )
    assert bought["rt_cd"] == "0"
    assert sold["rt_cd"] == "0"
    assert bought.tr_id == buy_tr
    assert sold.tr_id == sell_tr
    assert int(sold["output"]["ODNO"]) > int(bought["output"]["ODNO"])
    stats = sb.stats()
    assert [o["tr_id"] for o in stats["orders"]] == [buy_tr, sell_tr]
    assert stats["orders"][0]["body"] == order(config, qty=3)
    assert stats["hashkeys_issued"] == 2
    assert stats["tokens_issued"] == 1


def test_tampered_signature_is_rejected_and_nothing_is_ordered(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    with KISRestClient(config) as client:
        signed_for = client.hashkey(order(config, qty=1))
        with pytest.raises(KISInvalidHashkeyError) as caught:
            client.make_request(
                "POST",
                api_id="order-cash",
                variant="buy",
                params=order(config, qty=100),
                headers={"hashkey": signed_for},
            )
    assert caught.value.code == "EGW00131"
    assert caught.value.tr_id == "VTTC0012U"
    assert paper_sandbox.stats()["orders"] == []


def test_hashkey_method_matches_what_make_request_signs(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    body = {**order(config), "NOTE": "삼성전자"}
    with KISRestClient(config) as client:
        assert client.hashkey(body) == client.make_request("POST", "/uapi/hashkey", body)["HASH"]


def test_quotation_and_the_token_is_issued_once(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    with KISRestClient(config_for(paper_sandbox)) as client:
        prices = [
            client.make_request("GET", api_id="inquire-price", params=params) for _ in range(3)
        ]
        token = client.access_token()
    assert {p["output"]["stck_prpr"] for p in prices} == {prices[0]["output"]["stck_prpr"]}
    assert int(prices[0]["output"]["stck_prpr"]) > 0
    assert prices[0].gt_uid
    assert prices[0].gt_uid != prices[1].gt_uid
    assert token.value.count(".") == 2  # a JWT
    assert paper_sandbox.stats()["tokens_issued"] == 1


def test_concurrent_threads_share_one_token(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "000660"}
    failures: list[BaseException] = []
    with KISRestClient(config_for(paper_sandbox)) as client:
        barrier = threading.Barrier(12)

        def worker() -> None:
            barrier.wait()
            try:
                client.make_request("GET", api_id="inquire-price", params=params)
            except BaseException as exc:  # collected for the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert failures == []
    stats = paper_sandbox.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"]["/uapi/domestic-stock/v1/quotations/inquire-price"] == 12


def test_expired_token_is_replaced_and_the_call_replayed(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", issue_interval=0, market_time=MARKET_TIME)
    config = config_for(sb)
    with KISRestClient(config) as client:
        first = client.access_token()
        sb.expire_tokens()
        placed = client.make_request(
            "POST", api_id="order-cash", variant="buy", params=order(config), hashkey=True
        )
        second = client.access_token()
    assert placed["rt_cd"] == "0"
    assert second.value != first.value
    stats = sb.stats()
    assert stats["tokens_issued"] == 2
    assert len(stats["orders"]) == 1  # the rejected attempt was not processed, the replay was
    assert stats["requests"]["/uapi/domestic-stock/v1/trading/order-cash"] == 2


def test_a_token_rejected_twice_is_raised(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    with KISRestClient(config_for(paper_sandbox)) as client:
        stale = client.access_token()
        paper_sandbox.expire_tokens()
        # A manager that keeps handing out the stale token: the flow replays once, then gives up.
        client.tokens = TokenManager(lambda: stale)
        with pytest.raises(KISTokenExpiredError) as caught:
            client.make_request("GET", api_id="inquire-price", params=PRICE)
    assert caught.value.code == "EGW00123"
    assert (
        paper_sandbox.stats()["requests"]["/uapi/domestic-stock/v1/quotations/inquire-price"] == 2
    )


def test_revoke_then_a_new_token_is_issued(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("real", issue_interval=0)
    with KISRestClient(config_for(sb)) as client:
        assert not client.revoke()  # nothing to revoke yet
        first = client.access_token()
        assert client.revoke()
        assert client.tokens.current is None
        client.make_request("GET", api_id="inquire-price", params=PRICE)
        assert client.access_token().value != first.value
    stats = sb.stats()
    assert stats["tokens_revoked"] == 1
    assert stats["tokens_issued"] == 2


def test_close_can_revoke(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    client = KISRestClient(config_for(paper_sandbox))
    client.access_token()
    client.close(revoke=True)
    assert paper_sandbox.stats()["tokens_revoked"] == 1


def test_approval_key(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    with KISRestClient(config_for(paper_sandbox)) as client:
        key = client.approval_key()
    assert len(key) >= 32
    stats = paper_sandbox.stats()
    assert stats["approval_keys_issued"] == 1
    assert stats["tokens_issued"] == 0


def _buy_five(client: KISRestClient, config: KISConfig) -> list[str]:
    """Hold five stocks: one filled market buy of each (a holding is what the balance lists)."""
    codes = ["005930", "000660", "035420", "051910", "068270"]
    for code in codes:
        client.make_request("POST", api_id="order-cash", variant="buy", params=order(config, code))
    return codes


def test_iter_pages_follows_tr_cont_to_the_last_page(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", page_size=2, market_time=MARKET_TIME)
    config = config_for(sb)
    with KISRestClient(config) as client:
        codes = _buy_five(client, config)
        pages = list(
            client.iter_pages("GET", api_id="inquire-balance", params=balance_params(config))
        )
    assert [p.tr_cont for p in pages] == ["M", "M", "D"]
    assert [p.has_next for p in pages] == [True, True, False]
    rows = [row["pdno"] for p in pages for row in p["output1"]]
    assert sorted(rows) == sorted(codes)
    assert sb.stats()["requests"]["/uapi/domestic-stock/v1/trading/inquire-balance"] == 3


def test_iter_pages_stops_at_the_page_bound(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", page_size=2, market_time=MARKET_TIME)
    config = config_for(sb)
    with KISRestClient(config) as client:
        _buy_five(client, config)
        seen = []
        with pytest.raises(KISProtocolError, match="max_pages=2"):
            for page in client.iter_pages(
                "GET",
                "/uapi/domestic-stock/v1/trading/inquire-balance",
                balance_params(config),
                max_pages=2,
            ):
                seen.append(page)
    assert len(seen) == 2
    assert sb.stats()["requests"]["/uapi/domestic-stock/v1/trading/inquire-balance"] == 2


def test_daily_fills_with_a_variant(sandbox_factory: SandboxFactory, config_for: ConfigFor) -> None:
    sb = sandbox_factory("paper", market_time=MARKET_TIME)
    config = config_for(sb)
    day = sb.market_time().strftime("%Y%m%d")  # the market's day, not the wall clock's
    params = {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.acnt_prdt_cd,
        "INQR_STRT_DT": day,
        "INQR_END_DT": day,
        "SLL_BUY_DVSN_CD": "00",
        "INQR_DVSN": "00",
        "PDNO": "",
        "CCLD_DVSN": "00",
        "ORD_GNO_BRNO": "",
        "ODNO": "",
        "INQR_DVSN_3": "00",
        "INQR_DVSN_1": "",
        "EXCG_ID_DVSN_CD": "KRX",  # paper trading serves KRX only
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
    }
    with KISRestClient(config) as client:
        placed = client.make_request(
            "POST", api_id="order-cash", variant="buy", params=order(config, qty=2)
        )
        pages = list(
            client.iter_pages("GET", api_id="inquire-daily-ccld", variant="recent", params=params)
        )
    assert pages[0].tr_id == "VTTC0081R"
    assert pages[-1].tr_cont in ("D", "E", "")
    rows = [row for p in pages for row in p["output1"] if row["odno"] == placed["output"]["ODNO"]]
    assert [(r["pdno"], r["ord_qty"], r["tot_ccld_qty"]) for r in rows] == [("005930", "2", "2")]


def test_url_pinning_sends_nothing_to_another_host(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    home = sandbox_factory("paper")
    elsewhere = sandbox_factory("paper")
    with KISRestClient(config_for(home)) as client:
        with pytest.raises(KISForeignURLError):
            client.make_request("POST", f"{elsewhere.base_url}/uapi/hashkey", {"A": "1"})
        with pytest.raises(KISForeignURLError):
            client.make_request(
                "GET",
                home.base_url.replace("127.0.0.1", "localhost") + "/uapi/hashkey",
            )
        same_host = client.make_request("POST", f"{home.base_url}/uapi/hashkey", {"A": "1"})
    assert same_host["BODY"] == {"A": "1"}
    assert elsewhere.stats()["requests"] == {}
    assert home.stats()["requests"] == {"/uapi/hashkey": 1}


def test_a_supplied_http_client_is_used_and_left_open(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> None:
        seen.append(request.url.path)

    http = httpx.Client(event_hooks={"request": [record]}, follow_redirects=True)
    with KISRestClient(config_for(paper_sandbox), http_client=http) as client:
        client.hashkey({"A": "1"})
    assert seen == ["/uapi/hashkey"]
    assert not http.is_closed
    http.close()


def test_debug_logs_show_calls_but_no_secret(
    sandbox_factory: SandboxFactory, config_for: ConfigFor, caplog: pytest.LogCaptureFixture
) -> None:
    sb = sandbox_factory("paper", issue_interval=0, market_time=MARKET_TIME)
    config = config_for(sb)
    with caplog.at_level(logging.DEBUG), KISRestClient(config) as client:
        client.make_request(
            "POST", api_id="order-cash", variant="buy", params=order(config), hashkey=True
        )
        token = client.access_token().value
        signature = client.hashkey(order(config))
        approval = client.approval_key()
        logging.getLogger("stock_manager.kis").debug(
            "pretend a bug logged %s %s %s %s", token, approval, signature, sb.app_secret
        )
        client.revoke()
    text = caplog.text
    assert "POST /uapi/domestic-stock/v1/trading/order-cash tr_id=VTTC0012U -> 200" in text
    for secret in (sb.app_secret, token, approval, signature):
        assert secret not in text
    assert "pretend a bug logged *** *** *** ***" in text


def test_responses_expose_headers_and_body(real_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    config = config_for(real_sandbox)
    with KISRestClient(config) as client:
        response = client.make_request(
            "GET",
            "/uapi/domestic-stock/v1/trading/inquire-psbl-order",
            {
                "CANO": config.cano,
                "ACNT_PRDT_CD": config.acnt_prdt_cd,
                "PDNO": "005930",
                "ORD_UNPR": "70000",
                "ORD_DVSN": "00",
                "CMA_EVLU_AMT_ICLD_YN": "N",
                "OVRS_ICLD_YN": "N",
            },
        )
    body: dict[str, Any] = response.json()
    assert response.tr_id == "TTTC8908R"
    assert response.headers["tr_id"] == "TTTC8908R"
    assert body["rt_cd"] == "0"
    assert "output" in response
    assert "KISResponse(status_code=200" in repr(response)
