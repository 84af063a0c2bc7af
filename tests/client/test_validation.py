"""Parameters checked against the catalog before anything is sent (issue 14).

Unit tests build requests against small catalogs made here (the shipped data changes with
KIS's workbook); the sandbox tests show that a refused call sends nothing at all.
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.catalog import ApiSpec, Catalog, get_catalog
from stock_manager.adapters.broker.kis.catalog.models import Param
from stock_manager.adapters.broker.kis.errors import KISUsageError
from stock_manager.adapters.broker.kis.protocol import build_request
from stock_manager.sandbox import KISSandbox
from tests.conftest import ConfigFor

BALANCE = "/uapi/domestic-stock/v1/trading/inquire-balance"
ORDER = "/uapi/domestic-stock/v1/trading/order-cash"
ORD_DVSN_KRX = {"00": "지정가", "01": "시장가"}
ORD_DVSN_NXT = {"00": "지정가"}


def _config(account: str | None = "12345678-01", environment: str = "paper") -> KISConfig:
    return KISConfig(
        _env_file=None,
        environment=environment,
        kis_app_key="A" * 36,
        kis_app_secret="S" * 180,
        account_no=account,
        token_store="memory",
    )


def _balance(**changes: object) -> ApiSpec:
    params = (
        Param("CANO", required=True),
        Param("ACNT_PRDT_CD", required=True),
        Param("AFHR_FLPR_YN", required=True, default="N", codes={"N": "", "Y": "", "X": ""}),
        Param(
            "INQR_DVSN",
            required=True,
            codes={"01": "대출일별", "02": "종목별"},
            codes_complete=True,
        ),
        Param("OFL_YN"),
        Param("CTX_AREA_FK100", required=True, empty_ok=True),
        Param("CTX_AREA_NK100", required=True, empty_ok=True),
    )
    spec = get_catalog().get("inquire-balance")
    return dataclasses.replace(spec, params=params, **changes)  # type: ignore[arg-type]


def _order() -> ApiSpec:
    params = (
        Param("CANO", required=True),
        Param("ACNT_PRDT_CD", required=True),
        Param("PDNO", required=True),
        Param(
            "ORD_DVSN",
            required=True,
            codes={**ORD_DVSN_KRX},
            codes_complete=True,
            codes_by_venue={"KRX": ORD_DVSN_KRX, "NXT": ORD_DVSN_NXT},
        ),
        Param("EXCG_ID_DVSN_CD", default="KRX", codes={"KRX": "", "NXT": "", "SOR": ""}),
        Param("ORD_QTY", required=True),
    )
    spec = get_catalog().get("order-cash")
    deprecated = {"VTTC0802U": "VTTC0012U", "TTTC0802U": "TTTC0012U"}
    return dataclasses.replace(spec, params=params, deprecated_tr_ids=deprecated)


CATALOG = Catalog([_balance(), _order()])


def _get(params: dict[str, object] | None, config: KISConfig | None = None) -> dict[str, str]:
    request = build_request(
        config or _config(), "GET", api_id="inquire-balance", params=params, catalog=CATALOG
    )
    query = request.url.partition("?")[2]
    return dict(pair.split("=", 1) for pair in query.split("&") if pair)


def test_the_account_the_defaults_and_the_empty_keys_are_filled() -> None:
    sent = _get({"INQR_DVSN": "02"})
    assert sent == {
        "INQR_DVSN": "02",
        "CANO": "12345678",
        "ACNT_PRDT_CD": "01",
        "AFHR_FLPR_YN": "N",
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
    }


def test_what_the_caller_gave_is_kept_and_query_names_match_in_any_case() -> None:
    sent = _get({"cano": "87654321", "INQR_DVSN": "01", "ctx_area_fk100": "K"})
    assert sent["cano"] == "87654321" and "CANO" not in sent
    assert sent["ctx_area_fk100"] == "K" and "CTX_AREA_FK100" not in sent


def test_every_missing_required_key_is_named() -> None:
    with pytest.raises(KISUsageError) as caught:
        _get({}, _config(account=None))
    message = str(caught.value)
    for name in ("CANO", "ACNT_PRDT_CD", "INQR_DVSN"):
        assert name in message
    assert "AFHR_FLPR_YN" not in message  # it has a default
    assert "OPSQ2001" in message and "KIS_ACCOUNT_NO" in message


def test_a_missing_key_with_an_account_configured_does_not_ask_for_one() -> None:
    with pytest.raises(KISUsageError, match="INQR_DVSN") as caught:
        _get({})
    assert "KIS_ACCOUNT_NO" not in str(caught.value)


def test_an_unknown_key_is_a_warning_and_is_sent(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        sent = _get({"INQR_DVSN": "02", "INQR_DVSM": "02"})
    assert sent["INQR_DVSM"] == "02"
    assert "INQR_DVSM" in caplog.text and "no parameter" in caplog.text


def test_a_code_outside_a_complete_list_is_refused() -> None:
    with pytest.raises(KISUsageError, match=r"INQR_DVSN '03' is not one of KIS's codes"):
        _get({"INQR_DVSN": "03"})


def test_a_code_outside_an_incomplete_list_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        sent = _get({"INQR_DVSN": "02", "AFHR_FLPR_YN": "Z"})
    assert sent["AFHR_FLPR_YN"] == "Z"
    assert "AFHR_FLPR_YN 'Z'" in caplog.text


def _post(body: dict[str, object], **kwargs: object) -> object:
    return build_request(
        _config(),
        "POST",
        api_id="order-cash",
        variant="buy",
        params=body,
        catalog=CATALOG,
        **kwargs,  # type: ignore[arg-type]
    )


def test_codes_are_checked_per_venue() -> None:
    body = {"PDNO": "005930", "ORD_DVSN": "01", "ORD_QTY": "1"}
    _post(body)  # market orders exist on KRX, the default venue
    with pytest.raises(KISUsageError, match="ORD_DVSN '01' is not one of KIS's codes on NXT"):
        _post({**body, "EXCG_ID_DVSN_CD": "NXT"})


def test_lower_case_keys_in_a_post_body_are_refused_with_the_fix() -> None:
    with pytest.raises(KISUsageError) as caught:
        _post({"pdno": "005930", "Ord_Dvsn": "00", "ORD_QTY": "1"})
    assert "pdno -> PDNO" in str(caught.value) and "Ord_Dvsn -> ORD_DVSN" in str(caught.value)


def test_a_deprecated_tr_id_is_a_warning_naming_its_successor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = {"PDNO": "005930", "ORD_DVSN": "00", "ORD_QTY": "1"}
    with caplog.at_level(logging.WARNING, logger="stock_manager"):
        request = _post(body, tr_id="VTTC0802U")
    assert getattr(request, "tr_id", None) == "VTTC0802U"
    assert "VTTC0802U" in caplog.text and "use VTTC0012U" in caplog.text


def test_a_spec_without_params_is_passed_through() -> None:
    bare = Catalog([dataclasses.replace(_balance(), params=())])
    request = build_request(_config(), "GET", api_id="inquire-balance", params={}, catalog=bare)
    assert "?" not in request.url


# -- against the sandbox: a refused call sends nothing --------------------------------------


def test_refusals_send_nothing(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    config = config_for(paper_sandbox)
    body = {"PDNO": "005930", "ORD_DVSN": "01", "ORD_QTY": "1", "ORD_UNPR": "0"}
    refusals = [
        lambda c: c.make_request("GET", api_id="inquire-balance", params={"INQR_DVSN": "03"}),
        lambda c: c.make_request("GET", api_id="inquire-balance", params={}),
        lambda c: c.make_request(
            "POST",
            api_id="order-cash",
            variant="buy",
            params={k.lower(): v for k, v in body.items()},
        ),
        lambda c: c.make_request(
            "POST", api_id="order-cash", variant="buy", params={**body, "EXCG_ID_DVSN_CD": "NXT"}
        ),
        lambda c: list(c.iter_pages("GET", api_id="inquire-balance", params={})),
    ]
    with KISRestClient(config, catalog=CATALOG) as client:
        for refuse in refusals:
            with pytest.raises(KISUsageError):
                refuse(client)
    stats = paper_sandbox.stats()
    assert stats["requests"] == {}
    assert stats["tokens_issued"] == 0


def test_an_inquiry_by_name_alone_works(paper_sandbox: KISSandbox, config_for: ConfigFor) -> None:
    # The shipped catalog: the account and every key KIS takes empty or defaulted are filled.
    with KISRestClient(config_for(paper_sandbox)) as client:
        reply = client.make_request("GET", api_id="inquire-balance")
    assert reply["rt_cd"] == "0"
    assert paper_sandbox.stats()["requests"][BALANCE] == 1


def test_keys_written_into_the_url_count_as_given(
    paper_sandbox: KISSandbox, config_for: ConfigFor
) -> None:
    path = "/uapi/domestic-stock/v1/quotations/inquire-price"
    with KISRestClient(config_for(paper_sandbox)) as client:
        price = client.make_request("GET", f"{path}?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930")
        assert price["rt_cd"] == "0"
        with pytest.raises(KISUsageError, match="FID_INPUT_ISCD"):
            client.make_request("GET", f"{path}?FID_COND_MRKT_DIV_CODE=J")


def test_only_blanks_that_mean_nothing_are_filled() -> None:
    # period-rights: CUST_RNCNO25 is documented as "공란" and nothing else: sent as "".
    rights = build_request(
        _config(environment="real"),
        "GET",
        api_id="period-rights",
        params={"INQR_DVSN": "03", "INQR_STRT_DT": "20260101", "INQR_END_DT": "20260131"},
    )
    assert "CUST_RNCNO25=&" in rights.url
    # inquire-psbl-order: a blank PDNO asks for something else (the amount alone): not guessed.
    with pytest.raises(KISUsageError, match="PDNO"):
        build_request(_config(), "GET", api_id="inquire-psbl-order", params={"ORD_DVSN": "01"})


def test_a_tr_id_of_the_other_domain_is_refused_before_sending() -> None:
    order = {"PDNO": "005930", "ORD_DVSN": "00", "ORD_QTY": "1", "ORD_UNPR": "70000"}
    with pytest.raises(KISUsageError, match=r"real domain; the paper domain takes VTTC0011U"):
        build_request(_config(), "POST", api_id="order-cash", params=order, tr_id="TTTC0012U")
    # Deprecated and of the other domain: judged by its successor (TTTC0012U, a real TR).
    with pytest.raises(KISUsageError, match="OPSQ0002"):
        build_request(_config(), "POST", api_id="order-cash", params=order, tr_id="TTTC0802U")
    paper = build_request(_config(), "POST", api_id="order-cash", params=order, tr_id="VTTC0012U")
    assert paper.tr_id == "VTTC0012U"


def test_a_number_in_an_order_body_is_refused_with_the_string_to_send() -> None:
    order = {"PDNO": "005930", "ORD_DVSN": "00", "ORD_QTY": 1, "ORD_UNPR": "70000"}
    with pytest.raises(KISUsageError, match='ORD_QTY: "1"'):
        build_request(_config(), "POST", api_id="order-cash", variant="buy", params=order)
