"""Every error class, each produced by the sandbox over loopback or by bad input to the client."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISBusinessError,
    KISConfig,
    KISConfigError,
    KISConnectError,
    KISCredentialsError,
    KISInvalidTokenError,
    KISPaperTradingUnsupportedError,
    KISProtocolError,
    KISRateLimitError,
    KISRestClient,
    KISServerError,
    KISTokenIssueThrottledError,
    KISTransportError,
    KISUnknownAPIError,
    KISUsageError,
    KISVariantError,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis.tokens import MemoryTokenStore, TokenManager
from stock_manager.sandbox import KISSandbox

ConfigFor = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]

PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
NO_RETRY = RetryPolicy(max_retries=0, sleep=False)
#: A KRX trading day (Tuesday) at 10:00 KST: the regular session is open, so the sandbox's
#: exchange takes market orders (and refuses them for cash or shares, not for the hour).
MARKET_TIME = "2026-03-10T10:00:00+09:00"


def order(config: KISConfig, qty: int = 1) -> dict[str, str]:
    """A cash order at market: the sandbox refuses a limit outside the day's band (APBK0509/
    APBK0510) before it looks at cash or shares, so a fixed limit price would hide them."""
    return {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.acnt_prdt_cd,
        "PDNO": "005930",
        "ORD_DVSN": "01",
        "ORD_QTY": str(qty),
        "ORD_UNPR": "0",
    }


def credit_buy(config: KISConfig) -> dict[str, str]:
    """A complete order-credit body: a new margin-loan buy (CRDT_TYPE 23) dated today."""
    return {**order(config), "CRDT_TYPE": "23", "LOAN_DT": datetime.now(UTC).strftime("%Y%m%d")}


def price(client: KISRestClient) -> None:
    client.make_request("GET", api_id="inquire-price", params=PRICE)


# -- credentials and tokens --------------------------------------------------------------------


def test_wrong_secret_and_unknown_key(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    wrong_secret = "W" * 180
    with KISRestClient(config_for(paper_sandbox, kis_app_secret=wrong_secret)) as client:
        with pytest.raises(KISCredentialsError) as caught:
            price(client)
        assert caught.value.code == "EGW00105"
        assert caught.value.status_code == 403
        assert wrong_secret not in str(caught.value)
        with pytest.raises(KISCredentialsError) as caught:
            client.hashkey({"A": "1"})  # the gateway envelope this time
        assert caught.value.code == "EGW00105"
    with KISRestClient(config_for(paper_sandbox, kis_app_key="X" * 36)) as client:
        with pytest.raises(KISCredentialsError) as caught:
            client.access_token()
        assert caught.value.code == "EGW00103"
    assert paper_sandbox.stats()["tokens_issued"] == 0


def test_second_issuance_within_the_interval_is_throttled_when_waiting_is_off(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    # token_max_wait=0: the client may not wait out EGW00133, so KIS's refusal surfaces as is.
    sb = sandbox_factory("paper", issue_interval=60)
    no_wait = config_for(sb, token_max_wait=0)
    # The second client has a store of its own: it stands for another process (in one process
    # the memory store is shared, and the second client would simply reuse the first token).
    with (
        KISRestClient(config_for(sb)) as first,
        KISRestClient(no_wait, token_store=MemoryTokenStore()) as second,
    ):
        first.access_token()
        with pytest.raises(KISTokenIssueThrottledError) as caught:
            second.access_token()
    assert caught.value.code == "EGW00133"
    assert "1분당 1회" in caught.value.message
    assert sb.stats()["tokens_issued"] == 1


def test_a_revoked_token_is_replaced_by_one_replay(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    sb = sandbox_factory("paper", issue_interval=0)
    with KISRestClient(config_for(sb)) as victim:
        shared = victim.access_token()
        revoked = httpx.post(  # someone else revokes the token behind the client's back
            f"{sb.base_url}/oauth2/revokeP",
            json={"appkey": sb.app_key, "appsecret": sb.app_secret, "token": shared.value},
        )
        assert revoked.status_code == 200
        price(victim)  # EGW00121 -> drop, reissue, replay
        assert victim.access_token().value != shared.value
    assert sb.stats()["tokens_revoked"] == 1
    assert sb.stats()["tokens_issued"] == 2


def test_an_invalid_token_rejected_twice_is_raised(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with KISRestClient(config_for(paper_sandbox)) as client:
        bogus = client.access_token()
        client.tokens.invalidate(bogus.value)
        forged = type(bogus)(
            value=bogus.value[:-4] + "AAAA", expires_at=bogus.expires_at, issued_at=bogus.issued_at
        )
        client.tokens = TokenManager(lambda: forged)
        with pytest.raises(KISInvalidTokenError) as caught:
            price(client)
    assert caught.value.code == "EGW00121"
    assert caught.value.status_code == 500
    assert paper_sandbox.stats()["requests"][PRICE_PATH] == 2


# -- limits, server failures, garbage ----------------------------------------------------------


def test_over_the_rate_limit(sandbox_factory: SandboxFactory, config_for: ConfigFor) -> None:
    sb = sandbox_factory("paper", rate_limit=1)
    with KISRestClient(config_for(sb), retry_policy=NO_RETRY) as client:
        price(client)
        with pytest.raises(KISRateLimitError) as caught:
            price(client)
    assert caught.value.code == "EGW00201"
    assert caught.value.tr_id == "FHKST01010100"
    assert caught.value.gt_uid
    assert sb.stats()["rate_limited"] == 1


def test_injected_rate_limit_and_server_errors(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with KISRestClient(config_for(paper_sandbox), retry_policy=NO_RETRY) as client:
        client.access_token()
        paper_sandbox.set_faults(PRICE_PATH, rate_limit_rate=1.0, seed=1)
        with pytest.raises(KISRateLimitError):
            price(client)
        paper_sandbox.clear_faults()
        paper_sandbox.set_faults(PRICE_PATH, error_rate=1.0, seed=2)
        with pytest.raises(KISServerError) as caught:
            price(client)
        assert caught.value.code in ("EGW00001", "EGW00002")
        assert caught.value.status_code == 500


@pytest.mark.parametrize("kind", ["html", "empty", "truncated", "array"])
def test_garbled_replies_are_protocol_errors(
    paper_sandbox: KISSandbox, config_for: ConfigFor, kind: str
) -> None:
    with KISRestClient(config_for(paper_sandbox), retry_policy=NO_RETRY) as client:
        client.access_token()
        paper_sandbox.set_faults(PRICE_PATH, garble_rate=1.0, garble_kind=kind, seed=3)
        with pytest.raises(KISProtocolError) as caught:
            price(client)
    assert paper_sandbox.app_secret not in str(caught.value)
    assert len(str(caught.value)) < 400


def test_dropped_connection_on_a_query(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    with KISRestClient(config_for(paper_sandbox), retry_policy=NO_RETRY) as client:
        client.access_token()
        paper_sandbox.set_faults(PRICE_PATH, drop_before_rate=1.0, seed=4)
        with pytest.raises(KISTransportError) as caught:
            price(client)
        assert not isinstance(caught.value, KISConnectError | KISAmbiguousOutcomeError)
        paper_sandbox.clear_faults()
        price(client)  # the pool recovers


def test_read_timeout_is_a_transport_error(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox, timeout=0.3)
    with KISRestClient(config, retry_policy=NO_RETRY) as client:
        client.access_token()
        paper_sandbox.set_faults(PRICE_PATH, latency=1.0)
        with pytest.raises(KISTransportError, match="ReadTimeout"):
            price(client)


def test_lost_order_reply_is_ambiguous_and_never_resent(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    paper_sandbox = sandbox_factory("paper", market_time=MARKET_TIME)
    config = config_for(paper_sandbox)
    with KISRestClient(config) as client:
        client.access_token()
        paper_sandbox.set_faults(ORDER_PATH, drop_after_rate=1.0, seed=5)
        before = datetime.now(UTC)
        with pytest.raises(KISAmbiguousOutcomeError) as caught:
            client.make_request(
                "POST", api_id="order-cash", variant="buy", params=order(config), hashkey=True
            )
    error = caught.value
    assert error.body == order(config)
    assert error.tr_id == "VTTC0012U"
    assert error.sent_at >= before
    assert "orders.reconcile" in str(error)
    stats = paper_sandbox.stats()
    assert len(stats["orders"]) == 1  # it was executed; the client did not send it again
    assert stats["requests"][ORDER_PATH] == 1


def test_order_timeout_is_ambiguous(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    config = config_for(paper_sandbox, timeout=0.3)
    with KISRestClient(config) as client:
        client.access_token()
        paper_sandbox.set_faults(ORDER_PATH, latency=1.0)
        with pytest.raises(KISAmbiguousOutcomeError, match="ReadTimeout"):
            client.make_request("POST", api_id="order-cash", variant="buy", params=order(config))
    assert paper_sandbox.stats()["requests"][ORDER_PATH] == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_nothing_listening_is_a_connect_error_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = KISConfig(
        _env_file=None,
        kis_app_key="k" * 36,
        kis_app_secret="s" * 180,
        base_url=f"http://127.0.0.1:{_closed_port()}",
        account_no="12345678-01",
        token_store="memory",
    )
    policy = RetryPolicy(max_retries=2, sleep=False)
    with (
        caplog.at_level(logging.DEBUG, logger="stock_manager.kis"),
        KISRestClient(config, retry_policy=policy) as client,
        pytest.raises(KISConnectError, match="could not connect"),
    ):
        client.make_request("POST", api_id="order-cash", variant="buy", params=order(config))
    attempts = [r for r in caplog.records if "/oauth2/tokenP" in r.getMessage()]
    assert len(attempts) == 3  # first try + 2 retries: nothing was ever sent


# -- business rejections -----------------------------------------------------------------------


def test_business_rejections(sandbox_factory: SandboxFactory, config_for: ConfigFor) -> None:
    real_sandbox = sandbox_factory("real", market_time=MARKET_TIME)
    config = config_for(real_sandbox)
    with KISRestClient(config) as client:
        with pytest.raises(KISBusinessError) as caught:
            client.make_request(
                "POST", api_id="order-cash", variant="buy", params=order(config, qty=10_000_000)
            )
        assert caught.value.code == "APBK0952"
        assert caught.value.status_code == 200
        assert caught.value.tr_id == "TTTC0012U"
        with pytest.raises(KISBusinessError) as caught:
            client.make_request("POST", api_id="order-cash", variant="sell", params=order(config))
        assert caught.value.code == "APBK0400"
        other = {**order(config), "CANO": "00000000"}
        with pytest.raises(KISBusinessError):
            client.make_request("POST", api_id="order-cash", variant="buy", params=other)
    assert real_sandbox.stats()["orders"] == []


# -- the gateway's TR_ID checks ----------------------------------------------------------------


def test_tr_id_of_the_other_domain_or_deprecated(
    sandbox_factory: SandboxFactory, config_for: ConfigFor
) -> None:
    # Started to block deprecated TR_IDs, as KIS may one day (by default it serves them).
    paper_sandbox = sandbox_factory("paper", block_deprecated=True)
    config = config_for(paper_sandbox)
    with KISRestClient(config) as client:
        # The real domain's TR_ID on paper: the catalog knows it, so nothing is sent.
        with pytest.raises(KISUsageError, match="the paper domain takes VTTC0011U, VTTC0012U"):
            client.make_request("POST", ORDER_PATH, order(config), tr_id="TTTC0012U")
        assert paper_sandbox.stats()["requests"] == {}
        # A deprecated paper TR_ID goes out (with a warning); a KIS that blocked it refuses it.
        with pytest.raises(KISAPIError) as caught:
            client.make_request("POST", ORDER_PATH, order(config), tr_id="VTTC0802U")
        assert type(caught.value) is KISAPIError
        assert caught.value.code == "OPSQ0002"
        assert "TR_ID" in str(caught.value)


def test_real_only_api_called_on_paper_anyway(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    with KISRestClient(config) as client:
        with pytest.raises(KISPaperTradingUnsupportedError):
            client.make_request(
                "POST", api_id="order-credit", variant="buy", params=credit_buy(config)
            )
        # The real TR_ID passed by hand on paper: refused the same way, before sending.
        with pytest.raises(KISPaperTradingUnsupportedError, match="모의투자"):
            client.make_request(
                "POST",
                "/uapi/domestic-stock/v1/trading/order-credit",
                credit_buy(config),
                tr_id="TTTC0052U",
            )
        assert paper_sandbox.stats()["requests"] == {}


def test_unknown_path_is_a_404_api_error(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    with KISRestClient(config_for(paper_sandbox)) as client, pytest.raises(KISAPIError) as caught:
        client.make_request("GET", "/uapi/domestic-stock/v1/quotations/nowhere", tr_id="X1")
    assert caught.value.status_code == 404


# -- bad input: refused before anything is sent -----------------------------------------------


def test_bad_input_is_refused_before_sending(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(paper_sandbox)
    with KISRestClient(config) as client:
        with pytest.raises(KISUnknownAPIError, match="order-cash"):
            client.make_request("POST", api_id="order-csh", params=order(config))
        with pytest.raises(KISVariantError, match="buy"):
            client.make_request("POST", api_id="order-cash", params=order(config))
        with pytest.raises(KISUsageError, match="hashkey=True"):
            client.make_request("GET", api_id="inquire-price", params=PRICE, hashkey=True)
        with pytest.raises(KISUsageError, match="tr_cont"):
            client.make_request("GET", api_id="inquire-price", params=PRICE, tr_cont="M")
    no_key = KISConfig(_env_file=None, base_url=paper_sandbox.base_url, token_store="memory")
    with KISRestClient(no_key) as client:
        assert client.get_tr_id("inquire-price") == "FHKST01010100"  # catalog use needs no key
        with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
            client.hashkey({"A": "1"})
        with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
            price(client)
    assert paper_sandbox.stats()["requests"] == {}
