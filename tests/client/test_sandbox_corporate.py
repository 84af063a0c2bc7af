"""Corporate (custtype B) header rules, against the sandbox's gateway checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stock_manager.adapters.broker.kis import KISAPIError, KISConfig, KISConfigError, KISRestClient
from stock_manager.sandbox import KISSandbox

ConfigFor = Callable[..., KISConfig]

PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
CORPORATE = {
    "custtype": "B",
    "personalseckey": "corporate-personal-security-key",
    "seq_no": "001",
    "phone_number": "01012345678",
    "ip_addr": "10.0.0.1",
}


def test_corporate_customer_on_the_real_domain(
    real_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    config = config_for(real_sandbox, **CORPORATE)
    order = {
        "CANO": config.cano,
        "ACNT_PRDT_CD": config.acnt_prdt_cd,
        "PDNO": "005930",
        "ORD_DVSN": "01",
        "ORD_QTY": "1",
        "ORD_UNPR": "0",
    }
    with KISRestClient(config) as client:
        quote = client.make_request("GET", api_id="inquire-price", params=PRICE)
        placed = client.make_request(
            "POST", api_id="order-cash", variant="buy", params=order, hashkey=True
        )
    assert quote["rt_cd"] == "0"
    assert placed["rt_cd"] == "0"
    assert len(real_sandbox.stats()["orders"]) == 1


def test_the_gateway_insists_on_every_corporate_header(
    real_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with KISRestClient(config_for(real_sandbox, **CORPORATE)) as client:
        for header in ("personalseckey", "seq_no", "phone_number", "ip_addr"):
            with pytest.raises(KISAPIError) as caught:
                client.make_request(
                    "GET", api_id="inquire-price", params=PRICE, headers={header: ""}
                )
            assert caught.value.code == "EGW00208"
            assert header in caught.value.message


def test_corporate_configuration_without_its_headers_is_refused(
    real_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with pytest.raises(KISConfigError, match="phone_number"):
        config_for(real_sandbox, custtype="B", personalseckey="k" * 20, seq_no="1", ip_addr="1")
    assert real_sandbox.stats()["requests"] == {}


def test_corporate_customers_cannot_use_paper(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    with pytest.raises(KISConfigError, match="EGW00210"):
        config_for(paper_sandbox, **CORPORATE)
    # Forcing the header anyway gets KIS's own answer.
    with KISRestClient(config_for(paper_sandbox)) as client:
        with pytest.raises(KISAPIError) as caught:
            client.make_request(
                "GET", api_id="inquire-price", params=PRICE, headers={"custtype": "B"}
            )
        assert caught.value.code == "EGW00210"
        assert "paper" in str(caught.value)
        with pytest.raises(KISAPIError) as caught:
            client.make_request(
                "GET", api_id="inquire-price", params=PRICE, headers={"custtype": "X"}
            )
        assert caught.value.code == "EGW00208"
        assert "KIS_CUSTTYPE" in str(caught.value)
