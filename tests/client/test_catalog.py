"""The API catalog and get_tr_id (no network).

Expected TR_IDs are written out here from KIS's published TR_ID table, independently of
catalog.json, so a typo on either side fails.
"""

from __future__ import annotations

import pytest

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISPaperTradingUnsupportedError,
    KISRestClient,
    KISUnknownAPIError,
    KISVariantError,
    get_catalog,
)

# (api_id, variant, real, paper); paper None = not offered in paper trading.
TR_TABLE = [
    ("v1_국내주식-001", "sell", "TTTC0011U", "VTTC0011U"),
    ("v1_국내주식-001", "buy", "TTTC0012U", "VTTC0012U"),
    ("v1_국내주식-003", None, "TTTC0013U", "VTTC0013U"),
    ("v1_국내주식-002", "sell", "TTTC0051U", None),
    ("v1_국내주식-002", "buy", "TTTC0052U", None),
    ("v1_국내주식-017", None, "CTSC0008U", None),
    ("v1_국내주식-006", None, "TTTC8434R", "VTTC8434R"),
    ("v1_국내주식-007", None, "TTTC8908R", "VTTC8908R"),
    ("v1_국내주식-005", "recent", "TTTC0081R", "VTTC0081R"),
    ("v1_국내주식-005", "older", "CTSC9215R", "VTSC9215R"),
    ("v1_국내주식-008", None, "FHKST01010100", "FHKST01010100"),
    ("v1_해외주식-001", "buy", "TTTT1002U", "VTTT1002U"),
    ("v1_해외주식-001", "sell", "TTTT1006U", "VTTT1001U"),
    ("v1_해외주식-003", None, "TTTT1004U", "VTTT1004U"),
]

OAUTH = [
    ("인증-001", "POST", "/oauth2/tokenP"),
    ("인증-002", "POST", "/oauth2/revokeP"),
    ("Hashkey", "POST", "/uapi/hashkey"),
    ("실시간-000", "POST", "/oauth2/Approval"),
]


@pytest.fixture
def client() -> KISRestClient:
    # No credentials: catalog look-ups must work without them.
    return KISRestClient(KISConfig(_env_file=None))


@pytest.mark.parametrize(("api_id", "variant", "real", "paper"), TR_TABLE)
def test_tr_ids_match_the_protocol_table(
    client: KISRestClient, api_id: str, variant: str | None, real: str, paper: str | None
) -> None:
    assert client.get_tr_id(api_id, is_paper_trading=False, variant=variant) == real
    if paper is None:
        with pytest.raises(KISPaperTradingUnsupportedError, match="모의투자 미지원"):
            client.get_tr_id(api_id, is_paper_trading=True, variant=variant)
    else:
        assert client.get_tr_id(api_id, is_paper_trading=True, variant=variant) == paper


@pytest.mark.parametrize(("api_id", "method", "path"), OAUTH)
def test_oauth_apis_take_no_tr_id_and_are_not_rate_limited(
    client: KISRestClient, api_id: str, method: str, path: str
) -> None:
    spec = get_catalog().get(api_id)
    assert (spec.method, spec.path) == (method, path)
    assert not spec.rate_limited
    assert not spec.needs_token
    assert not spec.order
    assert client.get_tr_id(api_id, is_paper_trading=False) is None
    assert client.get_tr_id(api_id, is_paper_trading=True) is None


def test_seed_call_hashkey_has_no_tr_id(client: KISRestClient) -> None:
    assert client.get_tr_id(api_id="Hashkey", is_paper_trading=False) is None


def test_none_means_the_configured_environment() -> None:
    paper = KISRestClient(KISConfig(_env_file=None, environment="paper"))
    real = KISRestClient(KISConfig(_env_file=None, environment="real"))
    assert paper.get_tr_id("inquire-balance") == "VTTC8434R"
    assert real.get_tr_id("inquire-balance") == "TTTC8434R"


def test_aliases_and_ids_reach_the_same_api() -> None:
    catalog = get_catalog()
    assert catalog.get("order-cash") is catalog.get("v1_국내주식-001")
    assert catalog.get("TOKEN") is catalog.get("인증-001")
    assert catalog.get("hashkey") is catalog.get("Hashkey")


def test_unknown_api_suggests_close_names(client: KISRestClient) -> None:
    with pytest.raises(KISUnknownAPIError) as caught:
        client.get_tr_id("order-csh")
    assert "order-cash" in caught.value.suggestions
    assert "order-cash" in str(caught.value)


def test_missing_variant_lists_the_variants(client: KISRestClient) -> None:
    with pytest.raises(KISVariantError) as caught:
        client.get_tr_id("order-cash", is_paper_trading=True)
    assert set(caught.value.variants) == {"buy", "sell"}
    assert "buy" in str(caught.value)
    assert "sell" in str(caught.value)
    with pytest.raises(KISVariantError, match="recent"):
        client.get_tr_id("inquire-daily-ccld", is_paper_trading=False, variant="yesterday")
    with pytest.raises(KISVariantError, match="single TR_ID"):
        client.get_tr_id("inquire-balance", variant="buy")
    with pytest.raises(KISVariantError, match="no TR_ID"):
        client.get_tr_id("Hashkey", variant="buy")


def test_find_by_route_and_search() -> None:
    catalog = get_catalog()
    spec = catalog.find("post", "/uapi/domestic-stock/v1/trading/order-cash")
    assert spec is not None
    assert spec.alias == "order-cash"
    assert catalog.find("GET", "/uapi/domestic-stock/v1/trading/order-cash") is None
    assert catalog.find("GET", "/uapi/nowhere") is None
    found = {s.alias for s in catalog.search("잔고")}
    assert {"inquire-balance", "overseas-inquire-balance"} <= found
    assert [s.alias for s in catalog.search("VTTC8434R")] == ["inquire-balance"]
    oauth = catalog.search(category="OAuth")
    assert {s.api_id for s in oauth} == {row[0] for row in OAUTH}


def test_every_entry_is_consistent() -> None:
    catalog = get_catalog()
    assert len(catalog) >= len({row[0] for row in TR_TABLE}) + len(OAUTH)
    aliases = [spec.alias for spec in catalog]
    assert len(aliases) == len(set(aliases))
    for spec in catalog:
        assert spec.path.startswith("/"), spec.api_id
        assert spec.method in ("GET", "POST"), spec.api_id
        if spec.order:
            assert spec.method == "POST", spec.api_id
        if spec.needs_token:
            assert spec.rate_limited, spec.api_id
            assert spec.has_tr_id, spec.api_id
        if spec.has_tr_id:
            real_ids = spec.tr_id_real
            assert real_ids, spec.api_id
            # A paper TR_ID is never blank: it is an id, a variant map, or "not supported".
            assert spec.paper_supported == (spec.tr_id_paper is not None), spec.api_id
