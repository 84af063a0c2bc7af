"""The call flow's send/retry loop, driven by hand: permits, retries, ambiguous orders."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ratelimit_helpers import PRICE_PARAMS

from stock_manager.adapters.broker.kis import (
    AccessToken,
    KISAmbiguousOutcomeError,
    KISConfig,
    KISProtocolError,
    KISRateLimitError,
    KISServerError,
    KISTransportError,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis._drive import Sleep
from stock_manager.adapters.broker.kis._flow import (
    AcquireBudget,
    Flow,
    GetToken,
    Send,
    exchange,
)
from stock_manager.adapters.broker.kis.protocol import (
    PreparedRequest,
    RawResponse,
    build_hashkey_request,
    build_request,
)
from stock_manager.adapters.broker.kis.protocol.models import KISResponse
from stock_manager.adapters.broker.kis.ratelimit import Permit

CONFIG = KISConfig(
    _env_file=None,
    kis_app_key="PSabcdefghijklmnopqrstuvwxyz01234567",
    kis_app_secret="s" * 180,
    base_url="http://127.0.0.1:8080",
)
ORDER = {"CANO": "12345678", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_DVSN": "01",
         "ORD_QTY": "7", "ORD_UNPR": "0"}  # fmt: skip
NO_SLEEP = RetryPolicy(max_retries=3, sleep=False)
NOW = datetime.now(UTC)
TOKEN = AccessToken(value="flow-token-value", expires_at=NOW + timedelta(days=1), issued_at=NOW)


def price_request() -> PreparedRequest:
    return build_request(CONFIG, "GET", api_id="inquire-price", params=PRICE_PARAMS)


def raw(status: int, body: Any) -> RawResponse:
    return RawResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())


OK = raw(200, {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "ok", "output": {"ODNO": "1"}})
LIMITED = raw(500, {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."})
SERVER = raw(500, {"rt_cd": "1", "msg_cd": "EGW00001", "msg1": "일시적인 오류가 발생했습니다."})
GARBLED = RawResponse(200, {"content-type": "application/json"}, b'{"rt_cd": "0", "ou')


class Driver:
    """Plays the shell: answers GetToken and AcquireBudget, records every action."""

    def __init__(self, flow: Flow[KISResponse]) -> None:
        self.flow = flow
        self.actions: list[object] = []
        self.permits = 0

    def _answer(self, action: object) -> object:
        if isinstance(action, GetToken):
            return TOKEN
        if isinstance(action, AcquireBudget):
            self.permits += 1
            return Permit(self.permits)
        return None

    def until_send(self, first: Any = None, error: BaseException | None = None) -> Send:
        """Advance to the next Send, feeding ``first`` (or throwing ``error``) in first."""
        action = self.flow.throw(error) if error is not None else self.flow.send(first)
        while True:
            self.actions.append(action)
            if isinstance(action, Send):
                return action
            action = self.flow.send(self._answer(action))

    def start(self) -> Send:
        return self.until_send(None)

    def finish(self, reply: RawResponse) -> KISResponse:
        with pytest.raises(StopIteration) as done:
            self.flow.send(reply)
        result: KISResponse = done.value.value
        return result


def test_each_attempt_takes_a_permit_and_sends_with_it() -> None:
    driver = Driver(exchange(price_request(), NO_SLEEP))
    send = driver.start()
    assert [type(a) for a in driver.actions] == [GetToken, AcquireBudget, Send]
    assert send.permit is not None and send.permit.handle == 1
    assert driver.finish(OK)["rt_cd"] == "0"


def test_hashkey_is_not_rate_limited() -> None:
    driver = Driver(exchange(build_hashkey_request(CONFIG, b"{}"), NO_SLEEP))
    send = driver.start()
    assert send.permit is None
    assert not any(isinstance(a, AcquireBudget) for a in driver.actions)


@pytest.mark.parametrize("api", ["inquire-price", "order-cash"])
def test_egw00201_goes_back_through_the_limiter_and_succeeds(api: str) -> None:
    if api == "order-cash":
        request = build_request(CONFIG, "POST", api_id=api, params=ORDER, variant="buy")
    else:
        request = price_request()
    driver = Driver(exchange(request, NO_SLEEP))
    first = driver.start()
    second = driver.until_send(LIMITED)
    third = driver.until_send(LIMITED)
    assert driver.permits == 3  # every retry queued for the budget again
    assert first.permit is not second.permit is not third.permit
    assert second.request.content == first.request.content
    assert driver.finish(OK)["output"]["ODNO"] == "1"


def test_retries_wait_with_backoff_bounded_by_max_wait() -> None:
    policy = RetryPolicy(max_retries=5, max_wait=0.05, base_delay=10.0, max_delay=10.0)
    driver = Driver(exchange(price_request(), policy))
    driver.start()
    action = driver.flow.send(LIMITED)
    while not isinstance(action, Sleep):  # jitter of exactly 0 would skip it: vanishingly rare
        action = driver.flow.send(driver._answer(action))
    assert 0 < action.seconds <= 0.05


def test_retries_stop_at_the_bound_with_the_last_error() -> None:
    driver = Driver(
        exchange(
            price_request(),
            RetryPolicy(max_retries=2, sleep=False),
        )
    )
    driver.start()
    driver.until_send(error=KISTransportError("dropped 1"))
    driver.until_send(SERVER)
    with pytest.raises(KISRateLimitError):
        driver.flow.send(LIMITED)
    assert driver.permits == 3


@pytest.mark.parametrize(
    ("failure", "cause"),
    [
        (KISTransportError("RemoteProtocolError: Server disconnected"), KISTransportError),
        (SERVER, KISServerError),
        (GARBLED, KISProtocolError),
    ],
    ids=["dropped", "EGW00001", "truncated"],
)
def test_an_order_whose_outcome_is_unknown_is_never_resent(failure: Any, cause: type) -> None:
    request = build_request(CONFIG, "POST", api_id="order-cash", params=ORDER, variant="buy")
    driver = Driver(exchange(request, NO_SLEEP))
    driver.start()
    before = datetime.now(UTC)
    with pytest.raises(KISAmbiguousOutcomeError) as caught:
        if isinstance(failure, BaseException):
            driver.flow.throw(failure)
        else:
            driver.flow.send(failure)
    error = caught.value
    assert isinstance(error.__cause__, cause)
    assert error.body == ORDER and error.tr_id == "VTTC0012U"
    assert before - timedelta(seconds=1) <= error.sent_at <= datetime.now(UTC)
    assert "orders.reconcile" in error.hint and "orders.reconcile" in str(error)
    assert CONFIG.app_secret not in str(error) and TOKEN.value not in str(error)
    assert driver.permits == 1  # sent once, never again


@pytest.mark.parametrize(
    "failure",
    [KISTransportError("ReadTimeout"), SERVER, GARBLED],
    ids=["timeout", "EGW00001", "truncated"],
)
def test_a_get_is_retried_after_transient_failures(failure: Any) -> None:
    driver = Driver(exchange(price_request(), NO_SLEEP))
    driver.start()
    if isinstance(failure, BaseException):
        driver.until_send(error=failure)
    else:
        driver.until_send(failure)
    assert driver.finish(OK)["rt_cd"] == "0"
    assert driver.permits == 2
