"""httpx's shape for calls: build_request() -> sign() -> send(), on both clients, against the
sandbox over loopback."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISAmbiguousOutcomeError,
    KISConfig,
    KISForeignURLError,
    KISRestClient,
    KISUsageError,
    PreparedRequest,
)
from stock_manager.adapters.broker.kis.bodies import cash_order_body
from stock_manager.sandbox import KISSandbox

ConfigFor = Callable[..., KISConfig]

PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
#: A KRX trading day (Tuesday) at 10:00 KST: the regular session is open, so the sandbox's
#: exchange takes the orders below and fills them at once, whatever day the suite runs.
MARKET_TIME = "2026-03-10T10:00:00+09:00"


@pytest.fixture
def paper_sandbox(sandbox_factory: Callable[..., KISSandbox]) -> KISSandbox:
    """The shared fixture's paper sandbox, its market pinned at :data:`MARKET_TIME`."""
    return sandbox_factory("paper", market_time=MARKET_TIME)


def _buy(client: KISRestClient | AsyncKISRestClient, config: KISConfig) -> PreparedRequest:
    # At market: the sandbox refuses a limit outside the day's band and rests one below the
    # price, so a fixed limit price would test the market instead of build/sign/send.
    body = cash_order_body(config, "005930", 2)
    return client.build_request("POST", api_id="order-cash", variant="buy", params=body)


def test_build_request_is_pure_and_send_gets_the_token(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with KISRestClient(config_for(paper_sandbox)) as client:
        request = client.build_request("GET", api_id="inquire-price", params=PRICE)
        assert (request.method, request.path, request.tr_id) == ("GET", PRICE_PATH, "FHKST01010100")
        assert "authorization" not in request.headers  # the token joins per attempt, in send
        assert paper_sandbox.stats()["requests"] == {}  # building talks to nobody
        price = client.send(request)
    assert price["rt_cd"] == "0"
    assert price.tr_id == "FHKST01010100"
    stats = paper_sandbox.stats()
    assert stats["requests"][PRICE_PATH] == 1
    assert stats["tokens_issued"] == 1


def test_a_signed_prepared_order_is_sent_once(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    with KISRestClient(config) as client:
        request = _buy(client, config)
        signed = client.sign(request)
        assert "hashkey" not in request.headers  # sign returns a copy
        assert signed.headers["hashkey"] == client.hashkey(request.body or {})
        assert signed.content == request.content
        placed = client.send(signed)
    assert placed["rt_cd"] == "0"
    stats = paper_sandbox.stats()
    assert [o["body"] for o in stats["orders"]] == [request.body]
    assert stats["requests"][ORDER_PATH] == 1


def test_a_prepared_order_whose_reply_is_lost_is_not_sent_again(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    with KISRestClient(config) as client:
        signed = client.sign(_buy(client, config))
        paper_sandbox.set_faults(ORDER_PATH, drop_after_rate=1.0, seed=5)
        with pytest.raises(KISAmbiguousOutcomeError):
            client.send(signed)
    stats = paper_sandbox.stats()
    assert len(stats["orders"]) == 1  # executed once; the retry policy did not resend it
    assert stats["requests"][ORDER_PATH] == 1


def test_send_and_sign_refuse_what_they_cannot_do_before_sending(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    client = KISRestClient(config)
    query = client.build_request("GET", api_id="inquire-price", params=PRICE)
    with pytest.raises(KISUsageError, match="POST body"):
        client.sign(query)
    with pytest.raises(KISUsageError, match="deadline"):
        client.send(query, deadline=0)
    order = _buy(client, config)
    client.close()
    with pytest.raises(KISUsageError, match="closed"):
        client.send(order)
    with pytest.raises(KISUsageError, match="closed"):
        client.sign(order)
    assert paper_sandbox.stats()["requests"] == {}


def test_async_build_sign_send_a_query_and_an_order_once(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)

    async def scenario() -> None:
        async with AsyncKISRestClient(config) as client:
            query = client.build_request("GET", api_id="inquire-price", params=PRICE)
            assert "authorization" not in query.headers
            assert (await client.send(query))["rt_cd"] == "0"
            request = _buy(client, config)
            signed = await client.sign(request)
            assert signed.headers["hashkey"] == await client.hashkey(request.body or {})
            assert (await client.send(signed))["rt_cd"] == "0"
            paper_sandbox.set_faults(ORDER_PATH, drop_after_rate=1.0, seed=5)
            with pytest.raises(KISAmbiguousOutcomeError):
                await client.send(signed)
        with pytest.raises(KISUsageError, match="closed"):
            await client.send(query)

    asyncio.run(asyncio.wait_for(scenario(), 30))
    stats = paper_sandbox.stats()
    assert stats["requests"][PRICE_PATH] == 1
    assert stats["requests"][ORDER_PATH] == 2  # one placed, one lost: neither sent twice
    assert len(stats["orders"]) == 2
    assert stats["tokens_issued"] == 1


# -- a request handed in from outside is vetted, not trusted ----------------------------------


def test_an_edited_order_that_claims_to_be_a_query_is_still_sent_once(
    sandbox_factory: Callable[..., KISSandbox], config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", market_time=MARKET_TIME)
    config = config_for(sb, max_retries=3)
    with KISRestClient(config) as client:
        # Flags edited (or a PreparedRequest built by hand): the catalog says it is an order.
        disguised = dataclasses.replace(_buy(client, config), is_order=False)
        client.access_token()
        sb.set_faults(ORDER_PATH, drop_after_rate=1.0)  # processed, then the reply is lost
        with pytest.raises(KISAmbiguousOutcomeError):
            client.send(disguised)
    assert len(sb.stats()["orders"]) == 1  # never retried as if it were a query


def test_a_request_pointed_at_another_host_never_gets_the_token(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with KISRestClient(config_for(paper_sandbox)) as client:
        request = client.build_request("GET", api_id="inquire-price", params=PRICE)
        elsewhere = dataclasses.replace(request, url="http://127.0.0.1:9" + PRICE_PATH)
        with pytest.raises(KISForeignURLError):
            client.send(elsewhere)
        with pytest.raises(KISForeignURLError):
            client.sign(dataclasses.replace(_buy(client, client.config), url=elsewhere.url))
    assert paper_sandbox.stats()["tokens_issued"] == 0


def test_a_request_built_for_another_app_key_is_refused_unsent(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    other = config_for(paper_sandbox, kis_app_key="B" * 36)
    with KISRestClient(other) as builder, KISRestClient(config_for(paper_sandbox)) as client:
        request = builder.build_request("GET", api_id="inquire-price", params=PRICE)
        with pytest.raises(KISUsageError, match="another app key"):
            client.send(request)
    assert paper_sandbox.stats()["requests"] == {}
