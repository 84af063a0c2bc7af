"""Issue 12: no order sent twice or lost (D1, D9, D32, the ambiguous error's place in the tree),
over loopback against the sandbox (faults) and raw servers (replies the sandbox never sends)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from raw_server import RawServer, Reply, token_reply
from reliability_helpers import ConfigFactory, order_body

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISAmbiguousOutcomeError,
    KISConfig,
    KISError,
    KISInvalidTokenError,
    KISRateLimitError,
    KISRestClient,
    KISTokenExpiredError,
    KISTransportError,
    KISUsageError,
    RetryPolicy,
)
from stock_manager.sandbox import KISSandbox

ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
PLACED = {"rt_cd": "0", "msg_cd": "APBK0013", "msg1": "주문 전송 완료", "output": {"ODNO": "1"}}
NO_SLEEP = RetryPolicy(max_retries=3, sleep=False)


def _order(client: KISRestClient, config: KISConfig, **kwargs: Any) -> Any:
    body = order_body(config)
    return client.make_request("POST", api_id="order-cash", variant="buy", params=body, **kwargs)


# -- D1: paging never repeats an order ----------------------------------------------------------


def test_iter_pages_refuses_an_order_before_sending_it(rel_config: ConfigFactory) -> None:
    # Regression (D1): one iter_pages over an order answered `tr_cont: M` placed 5 orders.
    more = Reply.json(200, PLACED, tr_cont="M")
    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: more}) as server:
        config = rel_config(server)
        body = order_body(config)
        with KISRestClient(config) as client:
            for call in (
                lambda: client.iter_pages("POST", api_id="order-cash", variant="buy", params=body),
                lambda: client.iter_pages("post", ORDER_PATH, body, tr_id="VTTC0012U"),
                lambda: client.iter_pages("POST", "/uapi/some/new-order", body, tr_id="X"),
            ):
                with pytest.raises(KISUsageError, match="iter_pages"):
                    list(call())  # raised at the call already; list() drains the old generator
        assert server.count() == 0


def test_async_iter_pages_refuses_an_order_before_sending_it(rel_config: ConfigFactory) -> None:
    more = Reply.json(200, PLACED, tr_cont="M")

    async def scenario(config: KISConfig) -> None:
        async with AsyncKISRestClient(config) as client:
            with pytest.raises(KISUsageError, match="iter_pages"):
                pages = client.iter_pages(
                    "POST", api_id="order-cash", variant="buy", params=order_body(config)
                )
                async for _ in pages:  # the old async generator sent on the first page
                    pass

    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: more}) as server:
        asyncio.run(scenario(rel_config(server)))
        assert server.count() == 0


def test_iter_pages_still_pages_an_inquiry(
    rel_sandbox: KISSandbox, rel_config: ConfigFactory
) -> None:
    config = rel_config(rel_sandbox)
    with KISRestClient(config) as client:
        pages = list(client.iter_pages("GET", api_id="inquire-price", params=PRICE))
    assert len(pages) == 1 and pages[0]["rt_cd"] == "0"


# -- D32: a gateway code in an HTTP 200 never replays an order ---------------------------------


def _refusal(code: str, status: int) -> Reply:
    return Reply.json(status, {"rt_cd": "1", "msg_cd": code, "msg1": "refused"})


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("EGW00201", KISRateLimitError),
        ("EGW00215", KISRateLimitError),
        ("EGW00121", KISInvalidTokenError),
        ("EGW00122", KISInvalidTokenError),
        ("EGW00123", KISTokenExpiredError),
    ],
)
def test_an_order_answered_200_with_a_gateway_code_is_sent_once_and_ambiguous(
    rel_config: ConfigFactory, code: str, error: type[KISError]
) -> None:
    # Regression (D32): a 200 comes from behind the gateway, yet the order was replayed; then
    # it raised KISRateLimitError ("nothing was done ... retry"), inviting a resend.
    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: _refusal(code, 200)}) as server:
        config = rel_config(server)
        with (
            KISRestClient(config, retry_policy=NO_SLEEP) as client,
            pytest.raises(KISAmbiguousOutcomeError) as caught,
        ):
            _order(client, config)
        assert isinstance(caught.value.__cause__, error)  # KIS's code is kept as the cause
        assert server.count(ORDER_PATH) == 1


@pytest.mark.parametrize(
    ("code", "sends"),
    [("EGW00201", 1 + NO_SLEEP.max_retries), ("EGW00123", 2)],
)
def test_a_gateway_refusal_still_replays_the_order(
    rel_config: ConfigFactory, code: str, sends: int
) -> None:
    # A non-200 refusal proves nothing was done: retried (EGW00201) or replayed once with a
    # fresh token (EGW00123), as before.
    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: _refusal(code, 500)}) as server:
        config = rel_config(server)
        with KISRestClient(config, retry_policy=NO_SLEEP) as client, pytest.raises(KISError):
            _order(client, config)
        assert server.count(ORDER_PATH) == sends


# -- the ambiguous outcome is not a transport error --------------------------------------------


def test_a_lost_order_reply_escapes_an_except_transport_error_retry(
    rel_sandbox: KISSandbox, rel_config: ConfigFactory
) -> None:
    # Regression: KISAmbiguousOutcomeError subclassed KISTransportError, so the natural
    # `except KISTransportError: retry` placed the order again.
    config = rel_config(rel_sandbox)
    rel_sandbox.set_faults(ORDER_PATH, drop_after_rate=1.0)
    before = len(rel_sandbox.stats()["orders"])
    with KISRestClient(config) as client, pytest.raises(KISAmbiguousOutcomeError) as caught:
        for _ in range(3):
            try:
                _order(client, config)
            except KISTransportError:
                continue
    assert not isinstance(caught.value, KISTransportError)
    assert len(rel_sandbox.stats()["orders"]) == before + 1


# -- D9: an order cancelled after it left is reported ------------------------------------------


def _notes(error: BaseException) -> list[str]:
    notes: list[str] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is not None:
            notes += getattr(current, "__notes__", [])
            pending += [current.__cause__, current.__context__]
    return notes


async def _cancel_after(call: Any, seconds: float) -> Any:
    task = asyncio.ensure_future(call)
    await asyncio.sleep(seconds)
    task.cancel()
    return await task


@pytest.mark.parametrize("how", ["wait_for", "task.cancel"])
def test_an_order_cancelled_after_sending_is_logged_and_noted(
    rel_sandbox: KISSandbox,
    rel_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    # Regression (D9): the caller saw only CancelledError/TimeoutError, nothing was logged,
    # although KIS may have executed the order.
    config = rel_config(rel_sandbox)
    rel_sandbox.set_faults(ORDER_PATH, latency=1.0)
    sent_before = rel_sandbox.stats()["requests"].get(ORDER_PATH, 0)

    async def scenario() -> BaseException:
        async with AsyncKISRestClient(config) as client:
            await client.access_token()  # so the cancellation lands on the order itself
            call = client.make_request(
                "POST", api_id="order-cash", variant="buy", params=order_body(config, quantity=3)
            )
            try:
                if how == "wait_for":
                    await asyncio.wait_for(call, 0.4)
                else:
                    await _cancel_after(call, 0.4)
            except (asyncio.CancelledError, TimeoutError) as exc:
                return exc
        raise AssertionError("the order was not cancelled")

    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        error = asyncio.run(scenario())
    expected = TimeoutError if how == "wait_for" else asyncio.CancelledError
    assert isinstance(error, expected)  # asyncio's meaning is kept
    assert rel_sandbox.stats()["requests"].get(ORDER_PATH, 0) == sent_before + 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(ORDER_PATH in w and "VTTC0012U" in w and "'ORD_QTY': '3'" in w for w in warnings)
    # Regression (D9 note): "cancelled after it was sent" was claimed even when the cancel
    # came during connect or the pool wait.
    assert any("may have been sent and executed" in note for note in _notes(error))
    assert not any("after it was sent" in note for note in _notes(error))
    # Where the docstring says it is: on the CancelledError, the TimeoutError's __cause__.
    noted = error.__cause__ if how == "wait_for" else error
    assert noted is not None and any("may have been sent" in n for n in _notes(noted))
    assert all(config.app_secret not in w for w in warnings)


def test_a_cancelled_query_is_not_reported(
    rel_sandbox: KISSandbox, rel_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    config = rel_config(rel_sandbox)
    rel_sandbox.set_faults(PRICE_PATH, latency=1.0)

    async def scenario() -> None:
        async with AsyncKISRestClient(config) as client:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(
                    client.make_request("GET", api_id="inquire-price", params=PRICE), 0.4
                )

    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- deadline=: an ambiguous outcome instead of a bare timeout ---------------------------------


def test_a_call_deadline_turns_a_slow_order_into_an_ambiguous_outcome(
    rel_sandbox: KISSandbox, rel_config: ConfigFactory
) -> None:
    config = rel_config(rel_sandbox)
    rel_sandbox.set_faults(ORDER_PATH, latency=3.0)

    async def in_async() -> KISError:
        async with AsyncKISRestClient(config) as client:
            with pytest.raises(KISAmbiguousOutcomeError) as caught:
                await client.make_request(
                    "POST", api_id="order-cash", variant="buy", params=order_body(config),
                    deadline=0.5,
                )  # fmt: skip
        return caught.value

    with KISRestClient(config) as client:
        client.access_token()
        started = time.monotonic()
        with pytest.raises(KISAmbiguousOutcomeError) as caught:
            _order(client, config, deadline=0.5)
        assert time.monotonic() - started < 2.5
        assert "deadline" in str(caught.value)
        with pytest.raises(KISUsageError, match="deadline"):
            _order(client, config, deadline=0)
    started = time.monotonic()
    assert "deadline" in str(asyncio.run(in_async()))
    assert time.monotonic() - started < 2.5


def test_an_order_with_a_wrong_content_length_header_is_refused_unsent(
    rel_config: ConfigFactory,
) -> None:
    # Regression (review finding 2): the head with content-length: 2 went out, then h11's
    # LocalProtocolError was reported as "nothing was sent" (KISConnectError).
    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: Reply.json(200, {})}) as server:
        config = rel_config(server)
        with KISRestClient(config) as client, pytest.raises(KISUsageError, match="content-length"):
            _order(client, config, headers={"content-length": "2"})
        assert server.count(ORDER_PATH) == 0
