"""The retry table of issue 5, decided by RetryPolicy alone (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ratelimit_helpers import PRICE_PARAMS

from stock_manager.adapters.broker.kis import (
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISBusinessError,
    KISConfig,
    KISConnectError,
    KISError,
    KISProtocolError,
    KISTransportError,
    PreparedRequest,
    RetryPolicy,
    error_for,
)
from stock_manager.adapters.broker.kis.protocol import (
    build_hashkey_request,
    build_request,
    build_token_request,
)

CONFIG = KISConfig(
    _env_file=None,
    kis_app_key="k" * 36,
    kis_app_secret="s" * 180,
    base_url="http://127.0.0.1:9",
)
ORDER_BODY = {"CANO": "12345678", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_DVSN": "01",
              "ORD_QTY": "1", "ORD_UNPR": "0"}  # fmt: skip

GET = build_request(CONFIG, "GET", api_id="inquire-price", params=PRICE_PARAMS)
HASHKEY = build_hashkey_request(CONFIG, b"{}")
TOKEN = build_token_request(CONFIG)
ORDER = build_request(CONFIG, "POST", api_id="order-cash", params=ORDER_BODY, variant="buy")
UNKNOWN_POST = build_request(CONFIG, "POST", "/uapi/some/new-order", {"X": "1"}, tr_id="TTTX0000U")
SAFE = [GET, HASHKEY, TOKEN]
ORDERS = [ORDER, UNKNOWN_POST]


def gateway(code: str, status: int = 500) -> KISError:
    return error_for(code, "message", status_code=status)


ALWAYS_RETRIED = {
    "EGW00201": gateway("EGW00201"),
    "EGW00215": gateway("EGW00215"),
    "no connection": KISConnectError("refused"),
}
SAFE_ONLY = {
    "read timeout": KISTransportError("ReadTimeout during GET"),
    "dropped": KISTransportError("RemoteProtocolError: server disconnected"),
    "EGW00001": gateway("EGW00001"),
    "EGW00002": gateway("EGW00002"),
    "502 no code": error_for("", "", status_code=502),
    "500 unknown code": gateway("XYZ00001"),
    "HTML page": KISProtocolError("KIS sent an HTML page instead of JSON", status_code=503),
    "truncated": KISProtocolError("not valid JSON", status_code=200),
}
NEVER = {
    "business": KISBusinessError("APBK0952", "주문가능금액을 초과 했습니다", status_code=200),
    "bad key": gateway("EGW00103"),
    "bad hashkey": gateway("EGW00131"),
    "bad content-type": gateway("EGW00132"),
    "custtype": gateway("EGW00208"),
    "unknown tr_id": gateway("OPSQ0002"),
    "not in paper": gateway("OPSQ0003"),
    "404": KISAPIError("OPSQ0404", "no such path", status_code=404),
    "already ambiguous": KISAmbiguousOutcomeError("x", sent_at=datetime.now(UTC)),
    "not a KIS error": ValueError("bug"),
}


@pytest.mark.parametrize("request_", SAFE + ORDERS, ids=lambda r: r.path)
@pytest.mark.parametrize("failure", ALWAYS_RETRIED.values(), ids=ALWAYS_RETRIED.keys())
def test_unprocessed_failures_are_retried_for_everything(
    request_: PreparedRequest, failure: KISError
) -> None:
    policy = RetryPolicy()
    assert policy.is_retryable(request_, failure)
    assert not policy.is_ambiguous(request_, failure)


@pytest.mark.parametrize("failure", SAFE_ONLY.values(), ids=SAFE_ONLY.keys())
def test_transient_failures_are_retried_for_gets_and_idempotent_posts(failure: KISError) -> None:
    policy = RetryPolicy()
    for request in SAFE:
        assert policy.is_retryable(request, failure), request.path
        assert not policy.is_ambiguous(request, failure)


@pytest.mark.parametrize("failure", SAFE_ONLY.values(), ids=SAFE_ONLY.keys())
def test_transient_failures_of_orders_are_ambiguous_never_retried(failure: KISError) -> None:
    policy = RetryPolicy()
    for request in ORDERS:
        assert request.is_order
        assert not policy.is_retryable(request, failure), request.path
        assert policy.is_ambiguous(request, failure)


@pytest.mark.parametrize("failure", NEVER.values(), ids=NEVER.keys())
def test_refusals_and_business_errors_are_never_retried(failure: Exception) -> None:
    policy = RetryPolicy()
    for request in SAFE + ORDERS:
        assert not policy.is_retryable(request, failure)
        assert not policy.is_ambiguous(request, failure)


@pytest.mark.parametrize("code", ["EGW00201", "EGW00215", "EGW00121", "EGW00122", "EGW00123"])
def test_a_gateway_code_in_an_http_200_is_retried_for_queries_ambiguous_for_orders(
    code: str,
) -> None:
    # Regression (D32 half fixed): an HTTP 200 comes from behind the gateway, so it does not
    # prove the order was left undone; "rate limited, retry" would have resent it.
    policy = RetryPolicy()
    failure = gateway(code, 200)
    for request in ORDERS:
        assert not policy.is_retryable(request, failure), request.path
        assert policy.is_ambiguous(request, failure), request.path
    for request in SAFE:
        assert not policy.is_ambiguous(request, failure), request.path
    if code in {
        "EGW00201",
        "EGW00215",
    }:  # a token rejection is the flow's business, not the policy's
        for request in SAFE:
            assert policy.is_retryable(request, failure), request.path


def test_bounded_by_attempts_and_by_time() -> None:
    policy = RetryPolicy(max_retries=2, max_wait=5.0)
    limited = gateway("EGW00201")
    assert policy.should_retry(ORDER, limited, 0, 0.0)
    assert policy.should_retry(ORDER, limited, 1, 4.9)
    assert not policy.should_retry(ORDER, limited, 2, 0.0)
    assert not policy.should_retry(ORDER, limited, 0, 5.0)
    assert not RetryPolicy(max_retries=0).should_retry(GET, limited, 0, 0.0)


def test_backoff_is_exponential_with_full_jitter_and_can_be_switched_off() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0)
    for attempt, cap in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (500, 1.0)]:
        delays = [policy.delay(attempt) for _ in range(300)]
        assert all(0.0 <= d <= cap for d in delays)
        assert min(delays) < cap / 4 and max(delays) > cap * 3 / 4  # spread over [0, cap]
    assert {RetryPolicy(sleep=False).delay(n) for n in range(10)} == {0.0}


def test_config_knobs() -> None:
    policy = RetryPolicy.from_config(
        KISConfig(_env_file=None, max_retries=5, retry_max_wait=2.5), sleep=False
    )
    assert (policy.max_retries, policy.max_wait, policy.sleep) == (5, 2.5, False)
    default = RetryPolicy.from_config(KISConfig(_env_file=None))
    assert (default.max_retries, default.max_wait) == (3, 30.0)
