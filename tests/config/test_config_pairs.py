"""A paper config holding a real key pair: real-only market data goes through the real key and
the real domain (two sandboxes on loopback), orders and account calls never do."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISConfig,
    KISConfigError,
    KISPaperTradingUnsupportedError,
    KISRestClient,
    KISUsageError,
)
from stock_manager.adapters.broker.kis._routing import goes_to_real_key, may_use_real_key
from stock_manager.adapters.broker.kis.bodies import cash_order_body
from stock_manager.adapters.broker.kis.catalog import get_catalog
from stock_manager.adapters.broker.kis.ratelimit.shared import BudgetKey
from stock_manager.adapters.broker.kis.tokens.store import ACCESS_TOKEN, TokenKey
from stock_manager.sandbox import KISSandbox

SandboxFactory = Callable[..., KISSandbox]
ConfigFor = Callable[..., KISConfig]

MARKET_TIME = "2026-03-10T10:00:00+09:00"
QUOTE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
REAL_ONLY_QUOTE = "inquire-price-2"  # 주식현재가 시세2: KIS offers it on the real domain only
QUOTE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price-2"


def requests_to(sandbox: KISSandbox, path: str) -> int:
    return int(sandbox.stats()["requests"].get(path, 0))


@pytest.fixture
def pair(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> tuple[KISSandbox, KISSandbox, KISConfig]:
    paper = sandbox_factory("paper", market_time=MARKET_TIME)
    real = sandbox_factory("real", market_time=MARKET_TIME)
    config = config_for(
        paper,
        real_app_key=real.app_key,
        real_app_secret=real.app_secret,
        real_base_url=real.base_url,
        real_account_no=real.account_no,
    )
    return paper, real, config


def test_real_only_quote_goes_through_the_real_key_and_domain(
    pair: tuple[KISSandbox, KISSandbox, KISConfig],
) -> None:
    paper, real, config = pair
    with KISRestClient(config) as client:
        routed = client.make_request("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE)
        by_path = client.make_request(
            "GET", f"{QUOTE_PATH}?FID_COND_MRKT_DIV_CODE=J", {"FID_INPUT_ISCD": "005930"}
        )
        paged = client.iter_pages("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE).collect()
        request = client.build_request("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE)
        sent = client.send(request)
        own = client.make_request("GET", api_id="inquire-price", params=QUOTE)

    assert routed["rt_cd"] == "0" and routed.tr_id == "FHPST01010000"
    assert routed["output"]["stck_prpr"]
    assert by_path["rt_cd"] == "0" and sent["rt_cd"] == "0"
    assert len(paged) == 1 and paged[0]["rt_cd"] == "0"
    assert request.url.startswith(real.base_url) and request.headers["appkey"] == real.app_key
    assert requests_to(real, QUOTE_PATH) == 4
    assert requests_to(paper, QUOTE_PATH) == 0
    # A call the paper key can make stays with it.
    assert own["rt_cd"] == "0"
    assert requests_to(paper, "/uapi/domestic-stock/v1/quotations/inquire-price") == 1
    assert requests_to(real, "/uapi/domestic-stock/v1/quotations/inquire-price") == 0
    # One token per key and domain.
    assert paper.stats()["tokens_issued"] == 1
    assert real.stats()["tokens_issued"] == 1


def test_without_a_real_pair_the_call_is_refused_with_the_reason(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with KISRestClient(config_for(paper_sandbox)) as client:
        with pytest.raises(KISPaperTradingUnsupportedError) as caught:
            client.make_request("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE)
        with pytest.raises(KISPaperTradingUnsupportedError):
            client.iter_pages("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE)
    message = str(caught.value)
    assert "모의투자 미지원" in message and "KIS_REAL_APP_KEY" in message
    assert paper_sandbox.stats()["requests"] == {}
    assert paper_sandbox.stats()["tokens_issued"] == 0


def test_orders_and_account_calls_never_switch_domain(
    pair: tuple[KISSandbox, KISSandbox, KISConfig],
) -> None:
    paper, real, config = pair
    with KISRestClient(config) as client:
        placed = client.make_request(
            "POST", api_id="order-cash", variant="buy", params=cash_order_body(config, "005930", 1)
        )
        balance = client.make_request(
            "GET",
            api_id="inquire-balance",
            params={
                "AFHR_FLPR_YN": "N",
                "INQR_DVSN": "02",
                "UNPR_DVSN": "01",
                "FUND_STTL_ICLD_YN": "N",
                "FNCG_AMT_AUTO_RDPT_YN": "N",
                "PRCS_DVSN": "00",
                "OFL_YN": "",
            },
        )
        # Real-only account inquiry and real-only order: refused, not routed.
        with pytest.raises(KISPaperTradingUnsupportedError) as account:
            client.make_request("GET", api_id="inquire-psbl-sell", params={"PDNO": "005930"})
        with pytest.raises(KISPaperTradingUnsupportedError) as order:
            client.make_request("POST", api_id="order-resv", params={"PDNO": "005930"})
        # An order built for the real domain and key, handed to the paper client: not sent.
        real_client = KISRestClient(config.real_key_config())
        try:
            foreign = real_client.build_request(
                "POST",
                api_id="order-cash",
                variant="buy",
                params=cash_order_body(config.real_key_config(), "005930", 1),
            )
        finally:
            real_client.close()
        with pytest.raises(KISUsageError):
            client.send(foreign)
    assert placed["rt_cd"] == "0" and placed.tr_id == "VTTC0012U"
    assert balance["rt_cd"] == "0"
    assert "CANO" in str(account.value) and "never" in str(account.value)
    assert "order" in str(order.value)
    assert [o["tr_id"] for o in paper.stats()["orders"]] == ["VTTC0012U"]
    assert real.stats()["orders"] == []
    assert real.stats()["requests"] == {}  # nothing at all reached the real domain
    assert real.stats()["tokens_issued"] == 0


def test_no_order_or_account_api_of_the_catalog_may_use_the_real_key() -> None:
    config = KISConfig(
        _env_file=None,
        kis_app_key="PSpaperkey",
        kis_app_secret="p" * 40,
        real_app_key="PSrealkey",
        real_app_secret="r" * 40,
        environment="paper",
    )
    routed = refused = 0
    for spec in get_catalog():
        takes_account = any(p.name.upper() in ("CANO", "ACNT_PRDT_CD") for p in spec.params)
        try:
            goes = goes_to_real_key(spec, config)
        except KISPaperTradingUnsupportedError:
            refused += 1
            assert spec.order or takes_account or spec.transport != "rest"
            continue
        if goes:
            routed += 1
            assert not spec.order and not takes_account and may_use_real_key(spec)
    assert routed > 100 and refused > 50  # market data is most of the real-only APIs
    real_config = config.real_key_config()
    assert not any(goes_to_real_key(spec, real_config) for spec in get_catalog())


def test_tokens_and_budgets_are_per_key_and_domain(
    pair: tuple[KISSandbox, KISSandbox, KISConfig],
) -> None:
    _, real, config = pair
    real_config = config.real_key_config()
    assert real_config.environment == "real" and real_config.rest_base_url == real.base_url
    assert real_config.app_key == real.app_key and real_config.account_no == real.account_no
    assert real_config.requests_per_second == 20.0 and config.requests_per_second == 2.0
    assert not real_config.has_real_key and config.has_real_key
    assert BudgetKey.for_config(real_config) != BudgetKey.for_config(config)
    assert TokenKey.for_config(real_config, ACCESS_TOKEN) != TokenKey.for_config(
        config, ACCESS_TOKEN
    )
    with KISRestClient(config) as client:
        client.make_request("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE)
        companion = client._real
        assert companion is not None and companion.rate_limiter is not client.rate_limiter
        assert companion.token_store is client.token_store
    assert client._real is None and companion._closed


@pytest.mark.anyio
async def test_async_client_routes_the_same_way(
    pair: tuple[KISSandbox, KISSandbox, KISConfig],
) -> None:
    paper, real, config = pair
    async with AsyncKISRestClient(config) as client:
        routed = await client.make_request("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE)
        pages = await client.iter_pages("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE).collect()
        sent = await client.send(client.build_request("GET", api_id=REAL_ONLY_QUOTE, params=QUOTE))
        with pytest.raises(KISPaperTradingUnsupportedError):
            await client.make_request("GET", api_id="inquire-psbl-sell", params={"PDNO": "005930"})
    assert routed["rt_cd"] == "0" and sent["rt_cd"] == "0" and pages[0]["rt_cd"] == "0"
    assert requests_to(real, QUOTE_PATH) == 3 and requests_to(paper, QUOTE_PATH) == 0
    assert real.stats()["orders"] == []


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"real_app_key": "PSrealkey"}, "KIS_REAL_APP_SECRET"),
        ({"real_app_key": "PSpaperkey", "real_app_secret": "r" * 40}, "same key"),
        (
            {"real_app_key": "PSr", "real_app_secret": "r" * 40, "real_base_url": "ftp://x"},
            "KIS_REAL_BASE_URL",
        ),
        ({"real_account_no": "1234"}, "KIS_REAL_ACCOUNT_NO"),
    ],
)
def test_bad_real_pair_values_are_refused_by_name(values: dict[str, Any], named: str) -> None:
    with pytest.raises(KISConfigError) as caught:
        KISConfig(_env_file=None, kis_app_key="PSpaperkey", kis_app_secret="p" * 40, **values)
    assert named in str(caught.value)
    assert "r" * 40 not in str(caught.value)


def test_real_pair_from_the_environment_is_masked(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "S3cr3t" * 30
    monkeypatch.setenv("KIS_REAL_APP_KEY", "PSrealkey1234")
    monkeypatch.setenv("KIS_REAL_APP_SECRET", secret)
    monkeypatch.setenv("KIS_REAL_ACCOUNT_NO", "1234567801")
    config = KISConfig(_env_file=None, kis_app_key="PSpaperkey", kis_app_secret="p" * 40)
    assert config.has_real_key and config.real_account_no == "12345678-01"
    shown = f"{config!r} {config.model_dump()} {config.model_dump_json()}"
    assert secret not in shown and "PSrealkey1234" not in shown
    with pytest.raises(KISConfigError):
        KISConfig(_env_file=None, environment="real").real_key_config()
    with caplog.at_level(logging.WARNING):
        KISConfig(_env_file=None, real_app_key="PSx", real_app_secret="Zq9Xw")
    assert "real_app_secret (KIS_REAL_APP_SECRET) is implausibly short" in caplog.text
    assert "Zq9Xw" not in caplog.text


def test_a_dotenv_may_not_point_the_real_key_elsewhere(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("KIS_REAL_BASE_URL=https://attacker.example\n", encoding="utf-8")
    with pytest.raises(KISConfigError) as caught:
        KISConfig(
            _env_file=dotenv,
            kis_app_key="PSpaperkey",
            kis_app_secret="p" * 40,
            real_app_key="PSrealkey",
            real_app_secret="r" * 40,
        )
    assert "real_base_url (KIS_REAL_BASE_URL) comes from the .env file" in str(caught.value)
