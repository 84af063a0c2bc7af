"""AsyncKISRestClient against the sandbox: the sync client's scenarios, awaited."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISAmbiguousOutcomeError,
    KISBusinessError,
    KISConfig,
    KISConfigError,
    KISConnectError,
    KISCredentialsError,
    KISForeignURLError,
    KISInvalidHashkeyError,
    KISProtocolError,
    KISRateLimitError,
    KISServerError,
    KISTokenIssueThrottledError,
    KISTransportError,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis.bodies import balance_params, cash_order_body
from stock_manager.adapters.broker.kis.protocol import encode_body
from stock_manager.adapters.broker.kis.tokens import MemoryTokenStore
from stock_manager.sandbox import KISSandbox

pytestmark = pytest.mark.anyio

ConfigFor = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]

PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
NO_RETRY = RetryPolicy(max_retries=0, sleep=False)
#: A KRX trading day (Tuesday) at 10:00 KST: the regular session is open, so the sandbox's
#: exchange takes market orders and fills them at once, whatever day the suite runs.
MARKET_TIME = "2026-03-10T10:00:00+09:00"


def order(config: KISConfig, pdno: str = "005930", qty: int = 1) -> dict[str, str]:
    """A cash order at market for ``config``'s account (defaults: 1 share of 005930).

    At market because the sandbox is a market: a limit outside the day's band is refused and
    one below the price rests unfilled, and a sell needs shares a buy has already filled.
    """
    return cash_order_body(config, pdno, qty)


async def test_hashkey_call_like_the_seed(
    paper_sandbox: KISSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_BASE_URL", paper_sandbox.base_url)
    config = KISConfig(kis_app_key=paper_sandbox.app_key, kis_app_secret=paper_sandbox.app_secret)
    body = {"CANO": paper_sandbox.account_no[:8], "PDNO": "005930"}
    async with AsyncKISRestClient(config) as client:
        assert client.get_tr_id(api_id="Hashkey", is_paper_trading=False) is None
        response = await client.make_request(method="post", url="/uapi/hashkey", params=body)
        signature = await client.hashkey(body)
    expected = hmac.new(
        paper_sandbox.app_secret.encode(), encode_body(body), hashlib.sha256
    ).hexdigest()
    assert response["BODY"] == body
    assert response["HASH"] == expected == signature


@pytest.mark.parametrize(
    ("environment", "buy_tr", "sell_tr"),
    [("paper", "VTTC0012U", "VTTC0011U"), ("real", "TTTC0012U", "TTTC0011U")],
)
async def test_signed_cash_orders_buy_and_sell_on_both_domains(
    sandbox_factory: SandboxFactory,
    config_for: ConfigFor,
    environment: str,
    buy_tr: str,
    sell_tr: str,
) -> None:
    sb = sandbox_factory(environment, market_time=MARKET_TIME)
    config = config_for(sb)
    async with AsyncKISRestClient(config) as client:
        bought = await client.make_request(
            "POST", api_id="order-cash", variant="buy", params=order(config, qty=2), hashkey=True
        )
        sold = await client.make_request(
            "POST", api_id="order-cash", variant="sell", params=order(config), hashkey=True
        )
    assert (bought.tr_id, sold.tr_id) == (buy_tr, sell_tr)
    assert [o["tr_id"] for o in sb.stats()["orders"]] == [buy_tr, sell_tr]
    assert sb.stats()["hashkeys_issued"] == 2


async def test_tampered_signature_is_rejected(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    async with AsyncKISRestClient(config) as client:
        signature = await client.hashkey(order(config, qty=1))
        with pytest.raises(KISInvalidHashkeyError):
            await client.make_request(
                "POST",
                api_id="order-cash",
                variant="buy",
                params=order(config, qty=50),
                headers={"hashkey": signature},
            )
    assert paper_sandbox.stats()["orders"] == []


async def test_concurrent_tasks_share_one_token(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    async with AsyncKISRestClient(config_for(paper_sandbox)) as client:
        replies = await asyncio.gather(
            *(client.make_request("GET", api_id="inquire-price", params=PRICE) for _ in range(16))
        )
    assert all(r["rt_cd"] == "0" for r in replies)
    stats = paper_sandbox.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"][PRICE_PATH] == 16


async def test_expired_token_is_replaced_and_the_call_replayed(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("real", issue_interval=0)
    async with AsyncKISRestClient(config_for(sb)) as client:
        first = await client.access_token()
        sb.expire_tokens()
        await client.make_request("GET", api_id="inquire-price", params=PRICE)
        assert (await client.access_token()).value != first.value
    assert sb.stats()["tokens_issued"] == 2
    assert sb.stats()["requests"][PRICE_PATH] == 2


async def test_revoke_approval_and_aclose(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", issue_interval=0)
    client = AsyncKISRestClient(config_for(sb))
    assert len(await client.approval_key()) >= 32
    assert not await client.revoke()
    await client.access_token()
    assert await client.revoke()
    await client.access_token()
    await client.aclose(revoke=True)
    stats = sb.stats()
    assert stats["approval_keys_issued"] == 1
    assert stats["tokens_revoked"] == 2
    assert stats["tokens_issued"] == 2


async def test_async_pages_to_the_last_page_and_the_bound(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", page_size=2, market_time=MARKET_TIME)
    config = config_for(sb)
    params = balance_params(config)
    codes = ["005930", "000660", "035420"]
    async with AsyncKISRestClient(config) as client:
        for code in codes:
            await client.make_request(
                "POST", api_id="order-cash", variant="buy", params=order(config, code)
            )  # filled at once: each buy is a holding the balance lists
        pages = [p async for p in client.iter_pages("GET", api_id="inquire-balance", params=params)]
        with pytest.raises(KISProtocolError, match="max_pages=1"):
            async for _ in client.iter_pages(
                "GET", api_id="inquire-balance", params=params, max_pages=1
            ):
                pass
    assert [p.tr_cont for p in pages] == ["M", "D"]
    assert sorted(row["pdno"] for p in pages for row in p["output1"]) == sorted(codes)


async def test_async_errors_from_the_sandbox(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", issue_interval=60, market_time=MARKET_TIME)
    config = config_for(sb)
    async with AsyncKISRestClient(config_for(sb, kis_app_secret="W" * 180)) as wrong:
        with pytest.raises(KISCredentialsError):
            await wrong.access_token()
    async with (
        AsyncKISRestClient(config, retry_policy=NO_RETRY) as client,
        # A store of its own: it stands for another process, which must ask KIS itself.
        AsyncKISRestClient(
            config_for(sb, token_max_wait=0), token_store=MemoryTokenStore()
        ) as second,
    ):
        await client.access_token()
        with pytest.raises(KISTokenIssueThrottledError):
            await second.access_token()
        sb.set_faults(PRICE_PATH, rate_limit_rate=1.0, seed=1)
        with pytest.raises(KISRateLimitError):
            await client.make_request("GET", api_id="inquire-price", params=PRICE)
        sb.clear_faults()
        sb.set_faults(PRICE_PATH, error_rate=1.0, seed=2)
        with pytest.raises(KISServerError):
            await client.make_request("GET", api_id="inquire-price", params=PRICE)
        sb.clear_faults()
        sb.set_faults(PRICE_PATH, garble_rate=1.0, garble_kind="html", seed=3)
        with pytest.raises(KISProtocolError, match="HTML"):
            await client.make_request("GET", api_id="inquire-price", params=PRICE)
        sb.clear_faults()
        sb.set_faults(PRICE_PATH, drop_before_rate=1.0, seed=4)
        with pytest.raises(KISTransportError):
            await client.make_request("GET", api_id="inquire-price", params=PRICE)
        sb.clear_faults()
        with pytest.raises(KISBusinessError) as caught:
            await client.make_request(
                "POST", api_id="order-cash", variant="sell", params=order(config)
            )
        assert caught.value.code == "APBK0400"
        sb.set_faults(ORDER_PATH, drop_after_rate=1.0, seed=5)
        with pytest.raises(KISAmbiguousOutcomeError) as lost:
            await client.make_request(
                "POST", api_id="order-cash", variant="buy", params=order(config), hashkey=True
            )
        assert lost.value.body == order(config)
    assert len(sb.stats()["orders"]) == 1
    assert sb.stats()["requests"][ORDER_PATH] == 2


async def test_async_refusals_before_sending(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    home = sandbox_factory("paper")
    elsewhere = sandbox_factory("paper")
    async with AsyncKISRestClient(config_for(home)) as client:
        with pytest.raises(KISForeignURLError):
            await client.make_request("POST", f"{elsewhere.base_url}/uapi/hashkey", {"A": "1"})
    no_key = KISConfig(_env_file=None, base_url=home.base_url, token_store="memory")
    async with AsyncKISRestClient(no_key) as client:
        with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
            await client.approval_key()
    assert home.stats()["requests"] == {}
    assert elsewhere.stats()["requests"] == {}


async def test_async_connect_error_and_supplied_client() -> None:
    config = KISConfig(
        _env_file=None,
        kis_app_key="k" * 36,
        kis_app_secret="s" * 180,
        base_url="http://127.0.0.1:9",  # the discard port: nothing listens on loopback
        token_store="memory",
    )
    http = httpx.AsyncClient()
    async with AsyncKISRestClient(
        config, http_client=http, retry_policy=RetryPolicy(max_retries=1, sleep=False)
    ) as client:
        with pytest.raises(KISConnectError):
            await client.hashkey({"A": "1"})
    assert not http.is_closed
    await http.aclose()
