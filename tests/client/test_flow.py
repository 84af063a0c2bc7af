"""The shared call flow, driven by hand with plain values (no sockets, no client)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    AccessToken,
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISConfig,
    KISConnectError,
    KISCredentialsError,
    KISTokenExpiredError,
    KISTransportError,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis._drive import Effect, Sleep, arun, ask, run
from stock_manager.adapters.broker.kis._flow import (
    AcquireBudget,
    DropToken,
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

CONFIG = KISConfig(
    _env_file=None,
    kis_app_key="PSabcdefghijklmnopqrstuvwxyz01234567",
    kis_app_secret="s" * 180,
    base_url="http://127.0.0.1:8080",
)
ORDER = {"CANO": "12345678", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_DVSN": "01",
         "ORD_QTY": "1", "ORD_UNPR": "0"}  # fmt: skip
NO_SLEEP = RetryPolicy(max_retries=3, sleep=False)
ATTEMPT = CONFIG.attempt_deadline
# A complete inquire-price query: the client refuses one missing a required key before sending.
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


def price_request() -> PreparedRequest:
    return build_request(CONFIG, "GET", api_id="inquire-price", params=PRICE)


def token(value: str) -> AccessToken:
    now = datetime.now(UTC)
    return AccessToken(value=value, expires_at=now + timedelta(days=1), issued_at=now)


def raw(status: int, body: dict[str, Any], **headers: str) -> RawResponse:
    return RawResponse(status, headers, json.dumps(body).encode())


OK = raw(200, {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "ok", "output": {}})
EXPIRED = raw(500, {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."})


def test_gateway_call_gets_a_token_waits_for_budget_then_sends() -> None:
    request = price_request()
    flow = exchange(request, NO_SLEEP, attempt_seconds=ATTEMPT)
    assert isinstance(next(flow), GetToken)
    budget = flow.send(token("first-token-value"))
    assert isinstance(budget, AcquireBudget)
    send = flow.send(None)
    assert isinstance(send, Send)
    assert send.request.headers["authorization"] == "Bearer first-token-value"
    with pytest.raises(StopIteration) as done:
        flow.send(OK)
    assert done.value.value["rt_cd"] == "0"


def test_hashkey_call_needs_neither_token_nor_budget() -> None:
    flow = exchange(build_hashkey_request(CONFIG, b"{}"), NO_SLEEP, attempt_seconds=ATTEMPT)
    send = next(flow)
    assert isinstance(send, Send)
    assert "authorization" not in send.request.headers
    with pytest.raises(StopIteration) as done:
        flow.send(raw(200, {"BODY": {}, "HASH": "abc"}))
    assert done.value.value["HASH"] == "abc"


def test_expired_token_is_dropped_and_the_call_replayed_once() -> None:
    request = build_request(CONFIG, "POST", api_id="order-cash", params=ORDER, variant="buy")
    flow = exchange(request, RetryPolicy(max_retries=0, sleep=False), attempt_seconds=ATTEMPT)
    old, new = token("old-token-value"), token("new-token-value")
    assert isinstance(next(flow), GetToken)
    flow.send(old)  # -> AcquireBudget
    first = flow.send(None)
    assert isinstance(first, Send)
    drop = flow.send(EXPIRED)
    assert drop == DropToken(old)
    assert isinstance(flow.send(True), GetToken)
    flow.send(new)
    second = flow.send(None)
    assert isinstance(second, Send)
    assert second.request.headers["authorization"] == "Bearer new-token-value"
    assert second.request.content == first.request.content
    with pytest.raises(StopIteration):
        flow.send(OK)


def test_a_second_token_rejection_is_raised() -> None:
    flow = exchange(
        price_request(),
        NO_SLEEP,
        attempt_seconds=ATTEMPT,
    )
    next(flow)
    flow.send(token("stale-token-one"))
    flow.send(None)
    assert isinstance(flow.send(EXPIRED), DropToken)
    flow.send(True)
    flow.send(token("stale-token-two"))
    flow.send(None)
    with pytest.raises(KISTokenExpiredError):
        flow.send(EXPIRED)


def test_lost_reply_to_an_order_is_ambiguous_and_not_resent() -> None:
    request = build_request(CONFIG, "POST", api_id="order-cash", params=ORDER, variant="buy")
    flow = exchange(request, NO_SLEEP, attempt_seconds=ATTEMPT)
    next(flow)
    flow.send(token("order-token-value"))
    flow.send(None)
    before = datetime.now(UTC)
    with pytest.raises(KISAmbiguousOutcomeError) as caught:
        flow.throw(KISTransportError("RemoteProtocolError: server disconnected"))
    error = caught.value
    assert error.body == ORDER
    assert error.tr_id == "VTTC0012U"
    assert before - timedelta(seconds=1) <= error.sent_at <= datetime.now(UTC)
    assert "orders.reconcile" in str(error)
    assert isinstance(error.__cause__, KISTransportError)


def test_lost_reply_to_a_query_is_raised_as_transport_error() -> None:
    once = RetryPolicy(max_retries=0, sleep=False)
    flow = exchange(
        price_request(),
        once,
        attempt_seconds=ATTEMPT,
    )
    next(flow)
    flow.send(token("query-token-value"))
    flow.send(None)
    with pytest.raises(KISTransportError) as caught:
        flow.throw(KISTransportError("ReadTimeout"))
    assert not isinstance(caught.value, KISAmbiguousOutcomeError)


def test_connection_failures_are_retried_up_to_the_bound() -> None:
    request = build_hashkey_request(CONFIG, b"{}")
    flow = exchange(request, RetryPolicy(max_retries=2, sleep=False), attempt_seconds=ATTEMPT)
    sends = [next(flow)]
    sends.append(flow.throw(KISConnectError("refused 1")))
    sends.append(flow.throw(KISConnectError("refused 2")))
    assert all(isinstance(action, Send) for action in sends)
    with pytest.raises(KISConnectError, match="refused 3"):
        flow.throw(KISConnectError("refused 3"))


def test_retries_sleep_with_jitter_when_sleeping_is_on() -> None:
    policy = RetryPolicy(max_retries=1, base_delay=0.5, max_delay=0.5)
    flow = exchange(build_hashkey_request(CONFIG, b"{}"), policy, attempt_seconds=ATTEMPT)
    next(flow)
    action = flow.throw(KISConnectError("refused"))
    if isinstance(action, Sleep):  # a jitter of exactly 0 skips the sleep
        assert 0 < action.seconds <= 0.5
        action = flow.send(None)
    assert isinstance(action, Send)


def test_errors_the_policy_does_not_retry_are_raised_at_once() -> None:
    flow = exchange(
        price_request(),
        NO_SLEEP,
        attempt_seconds=ATTEMPT,
    )
    next(flow)
    flow.send(token("limit-token-value"))
    flow.send(None)
    with pytest.raises(KISCredentialsError):  # a wrong key is final: retrying cannot help
        flow.send(raw(500, {"rt_cd": "1", "msg_cd": "EGW00103", "msg1": "bad app key"}))


@pytest.mark.parametrize("code", ["EGW00123", "EGW00201"])
def test_an_order_answered_200_with_a_gateway_code_is_ambiguous_not_replayed(code: str) -> None:
    # Regression (D32): a 200 comes from behind the gateway; only a refusal proves nothing ran,
    # so the order is neither replayed nor reported as "rate limited / token expired".
    request = build_request(CONFIG, "POST", api_id="order-cash", params=ORDER, variant="buy")
    flow = exchange(request, NO_SLEEP, attempt_seconds=ATTEMPT)
    next(flow)
    flow.send(token("order-token-value"))
    flow.send(None)
    in_200 = raw(200, {"rt_cd": "1", "msg_cd": code, "msg1": "gateway code"})
    with pytest.raises(KISAmbiguousOutcomeError) as caught:
        flow.send(in_200)
    assert isinstance(caught.value.__cause__, KISAPIError)
    assert caught.value.__cause__.code == code


def test_each_send_carries_the_attempt_time_limit_capped_by_the_call_deadline() -> None:
    request = price_request()
    flow = exchange(request, NO_SLEEP, attempt_seconds=20.0)
    next(flow)
    flow.send(token("limit-token-value"))
    send = flow.send(None)
    assert isinstance(send, Send) and send.time_limit == 20.0
    flow = exchange(request, NO_SLEEP, attempt_seconds=20.0, ends_at=time.monotonic() + 0.5)
    next(flow)
    flow.send(token("limit-token-value"))
    send = flow.send(None)
    assert isinstance(send, Send) and 0 < send.time_limit <= 0.5


def test_no_retry_starts_after_the_call_deadline() -> None:
    request = build_hashkey_request(CONFIG, b"{}")
    flow = exchange(
        request,
        RetryPolicy(max_retries=5, sleep=False),
        attempt_seconds=ATTEMPT,
        ends_at=time.monotonic() + 0.01,
    )
    next(flow)
    time.sleep(0.02)
    with pytest.raises(KISConnectError):
        flow.throw(KISConnectError("refused"))


def test_a_passed_call_deadline_stops_the_flow_before_token_budget_or_send() -> None:
    # Regression (review finding 4): the token and budget steps ran whatever the deadline.
    request = build_request(CONFIG, "POST", api_id="order-cash", params=ORDER, variant="buy")
    flow = exchange(request, NO_SLEEP, attempt_seconds=ATTEMPT, ends_at=time.monotonic() - 1)
    with pytest.raises(KISConnectError, match=r"deadline passed before .* nothing was sent"):
        next(flow)
    ends_at = time.monotonic() + 0.05
    flow = exchange(request, NO_SLEEP, attempt_seconds=ATTEMPT, ends_at=ends_at)
    assert isinstance(next(flow), GetToken)
    time.sleep(0.06)  # the token took the whole deadline
    with pytest.raises(KISConnectError, match="nothing was sent"):
        flow.send(token("late-token-value"))


# -- the drivers: one per colour, shared by both clients and both token managers -------------


@dataclass(frozen=True)
class Fetch(Effect[str]):
    """An effect of this test: its result is a str."""

    number: int


def _recovering(log: list[str]) -> Generator[Effect[object], object, str]:
    """Asks twice; recovers from a failed first ask, records how it ends."""
    try:
        try:
            first = yield from ask(Fetch(1))
        except KISConnectError as exc:
            first = f"caught {exc}"
        second = yield from ask(Fetch(2))
        return f"{first}, {second}"
    finally:
        log.append("closed")


def _perform_failing_once(effect: Effect[object]) -> object:
    assert isinstance(effect, Fetch)
    if effect.number == 1:
        raise KISConnectError("refused")
    return "fetched"


def test_run_sends_results_and_throws_an_action_failure_into_the_flow() -> None:
    log: list[str] = []
    assert run(_recovering(log), _perform_failing_once) == "caught refused, fetched"
    assert log == ["closed"]


def test_arun_sends_results_and_throws_an_action_failure_into_the_flow() -> None:
    async def perform(effect: Effect[object]) -> object:
        await asyncio.sleep(0)
        return _perform_failing_once(effect)

    log: list[str] = []
    assert asyncio.run(arun(_recovering(log), perform)) == "caught refused, fetched"
    assert log == ["closed"]


def _watching(log: list[str]) -> Generator[Effect[object], object, None]:
    try:
        yield from ask(Fetch(1))
    except BaseException as exc:  # records what reaches the flow, then lets it go
        log.append(type(exc).__name__)
        raise


def test_a_base_exception_is_not_thrown_into_the_flow_and_the_flow_is_closed() -> None:
    def interrupted(effect: Effect[object]) -> object:
        raise KeyboardInterrupt

    async def cancelled(effect: Effect[object]) -> object:
        raise asyncio.CancelledError

    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run(_watching(log), interrupted)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(arun(_watching(log), cancelled))
    assert log == ["GeneratorExit", "GeneratorExit"]  # only closed, never handed the interrupt
