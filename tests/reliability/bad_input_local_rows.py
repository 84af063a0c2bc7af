"""Rows of the bad-input table refused locally: configuration and call arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bad_input import Ctx, local
from reliability_helpers import HASHKEY_PATH, PRICE, PRICE_PATH, order_body

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISConfigError,
    KISForeignURLError,
    KISPaperTradingUnsupportedError,
    KISTokenStoreError,
    KISUnknownAPIError,
    KISUsageError,
    KISVariantError,
)

__all__ = ["ARGUMENT_ROWS", "CONFIG_ROWS"]


def _from_env(name: str, value: str) -> Callable[[Ctx], Any]:
    def call(ctx: Ctx) -> Any:
        ctx.monkeypatch.setenv(name, value)
        return KISConfig(_env_file=None, kis_app_key="A" * 36, kis_app_secret="S" * 180)

    return call


def _with(**overrides: Any) -> Callable[[Ctx], Any]:
    """Build the config only (the error, if any, is raised at construction)."""
    return lambda ctx: ctx.config(**overrides)


def _price_with(**overrides: Any) -> Callable[[Ctx], Any]:
    """Build the config and make a quotation call with it."""
    return lambda ctx: ctx.price(ctx.config(**overrides))


def _fresh_app_rate(rate: float) -> Callable[[Ctx], Any]:
    # A key of its own: the rate of an app key's budget is fixed by its first client.
    def call(ctx: Ctx) -> Any:
        key, secret, account = ctx.sandbox.register_app()
        overrides = {"kis_app_key": key, "kis_app_secret": secret, "account_no": account}
        return ctx.price(ctx.config(rate_limit_per_second=rate, **overrides))

    return call


def _file_as_cache_dir(ctx: Ctx) -> Any:
    blocker = ctx.tmp_path / "not-a-directory"
    blocker.write_text("x")
    return ctx.price(ctx.config(token_store="file", token_cache_dir=blocker))


def _nul_in_cache_dir(ctx: Ctx) -> Any:
    return ctx.price(ctx.config(token_store="file", token_cache_dir=f"{ctx.tmp_path}/\x00"))


def _deep_body() -> dict[str, Any]:
    body: dict[str, Any] = {}
    node = body
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    return body


def _body_with(**fields: Any) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.order(body={**order_body(ctx.config()), **fields})


def _query(params: Any, **kwargs: Any) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.call("GET", PRICE_PATH, params, **kwargs)


def _pages(ctx: Ctx) -> Any:
    with ctx.client() as client:
        return list(client.iter_pages("GET", PRICE_PATH, PRICE, max_pages=0))


def _hashkey(body: Any) -> Callable[[Ctx], Any]:
    def call(ctx: Ctx) -> Any:
        with ctx.client() as client:
            return client.hashkey(body)

    return call


def _tr_id(api_id: str, **kwargs: Any) -> Callable[[Ctx], Any]:
    def call(ctx: Ctx) -> Any:
        with ctx.client() as client:
            return client.get_tr_id(api_id, **kwargs)

    return call


CRLF = "a\r\nx-injected: 1"
EVIL = "https://evil.example.com"
NOWHERE = "/uapi/domestic-stock/v1/quotations/nothing-here"
# With tr_id= a path off the catalog is not refused for its unknown TR_ID: its own defect is.
PRICE_TR_ID = "FHKST01010100"

CONFIG_ROWS = [
    local("missing-app-key", _price_with(kis_app_key=None), KISConfigError),
    local("missing-app-secret", _price_with(kis_app_secret=None), KISConfigError),
    local("blank-app-secret", _price_with(kis_app_secret="   "), KISConfigError),
    local("bad-environment", _with(environment="live"), KISConfigError),
    local("bad-environment-from-env", _from_env("KIS_ENVIRONMENT", "staging"), KISConfigError),
    local("bad-custtype", _with(custtype="X"), KISConfigError),
    local("corporate-on-paper", _with(custtype="B"), KISConfigError),
    local("corporate-without-headers", _with(custtype="B", environment="real"), KISConfigError),
    local("account-too-short", _with(account_no="1234-5678"), KISConfigError),
    local("account-letters", _with(account_no="ABCDEFGH-01"), KISConfigError),
    local(
        "account-non-ascii-digits",
        _with(account_no="١٢٣٤٥٦٧٨-01"),
        KISConfigError,
    ),
    local("negative-timeout", _with(timeout=-1), KISConfigError),
    local("zero-connect-timeout", _with(connect_timeout=0), KISConfigError),
    local("timeout-not-a-number-from-env", _from_env("KIS_TIMEOUT", "soon"), KISConfigError),
    local(
        "infinite-timeout",
        _price_with(timeout=float("inf")),
        KISConfigError,
    ),
    local("infinite-rate-limit", _fresh_app_rate(float("inf")), KISConfigError),
    local("zero-rate-limit", _with(rate_limit_per_second=0), KISConfigError),
    local("negative-max-retries", _with(max_retries=-1), KISConfigError),
    local("negative-retries-from-env", _from_env("KIS_MAX_RETRIES", "-3"), KISConfigError),
    local("base-url-not-http", _with(base_url="ftp://127.0.0.1/"), KISConfigError),
    local("base-url-with-query", _with(base_url="http://127.0.0.1:1/?x=1"), KISConfigError),
    local(
        "base-url-port-out-of-range",
        _with(base_url="http://127.0.0.1:99999"),
        KISConfigError,
    ),
    local("unknown-token-store", _with(token_store="disk"), KISConfigError),
    local("token-cache-dir-is-a-file", _file_as_cache_dir, KISTokenStoreError),
    local("token-cache-dir-with-nul", _nul_in_cache_dir, KISConfigError),
    local(
        "app-secret-not-sendable-in-a-header",
        _price_with(kis_app_secret="S" * 170 + "한"),
        KISConfigError,
    ),
]

ARGUMENT_ROWS = [
    local("method-delete", lambda c: c.call("DELETE", PRICE_PATH), KISUsageError),
    local("method-empty", lambda c: c.call("", PRICE_PATH), KISUsageError),
    local(
        "method-none",
        lambda c: c.call(None, PRICE_PATH),
        KISUsageError,
    ),
    local(
        "absolute-url-other-host",
        lambda c: c.call("GET", EVIL + PRICE_PATH, PRICE),
        KISForeignURLError,
    ),
    local(
        "absolute-url-same-host-other-port",
        lambda c: c.call("GET", "http://127.0.0.1:1" + PRICE_PATH, PRICE),
        KISForeignURLError,
    ),
    local(
        "absolute-url-other-scheme",
        lambda c: c.call("GET", c.sandbox.base_url.replace("http:", "https:") + PRICE_PATH),
        KISForeignURLError,
    ),
    local(
        "url-with-crlf",
        lambda c: c.call("GET", PRICE_PATH + "\r\nhost: evil.example.com", PRICE),
        KISUsageError,
    ),
    local("neither-url-nor-api-id", lambda c: c.call("GET"), KISUsageError),
    local("body-not-json-serializable", _body_with(note=object()), KISUsageError),
    local("body-with-a-set", _body_with(tags={"a"}), KISUsageError),
    local(
        "body-with-nan",
        _hashkey({"ORD_UNPR": float("nan")}),
        KISUsageError,
    ),
    local(
        "body-with-lone-surrogate",
        _body_with(note="\ud800"),
        KISUsageError,
    ),
    local(
        "body-nested-too-deep",
        _hashkey(_deep_body()),
        KISUsageError,
    ),
    local("order-body-a-list", lambda c: c.order(body=[1, 2]), KISUsageError),
    local("hashkey-of-a-list", _hashkey([1, 2]), KISUsageError),
    local(
        "hashkey-of-a-string",
        lambda c: c.call("POST", HASHKEY_PATH, params='{"a": 1}'),
        KISUsageError,
    ),
    local(
        "query-params-a-list",
        _query([("FID_INPUT_ISCD", "005930")]),
        KISUsageError,
    ),
    local("query-value-a-dict", _query({**PRICE, "FID_INPUT_ISCD": {"a": 1}}), KISUsageError),
    local(
        "query-value-lone-surrogate",
        _query({**PRICE, "FID_INPUT_ISCD": "\udcff"}),
        KISUsageError,
    ),
    local(
        "unknown-api-id",
        lambda c: c.call("GET", api_id="inquire-prices"),
        KISUnknownAPIError,
    ),
    local("api-id-wrong-method", lambda c: c.call("GET", api_id="order-cash"), KISUsageError),
    local(
        "api-id-and-another-path",
        lambda c: c.call("GET", PRICE_PATH + "x", api_id="inquire-price"),
        KISUsageError,
    ),
    local(
        "paper-unsupported-api-in-paper",
        lambda c: c.call("POST", api_id="order-resv", params={}),
        KISPaperTradingUnsupportedError,
    ),
    local("missing-variant", lambda c: c.order(variant=None), KISVariantError),
    local("unknown-variant", lambda c: c.order(variant="short"), KISVariantError),
    # The catalog knows TTTC0012U is the real domain's: KIS would answer OPSQ0002.
    local("real-tr-id-on-paper", lambda c: c.order(variant=None, tr_id="TTTC0012U"), KISUsageError),
    local("variant-of-a-single-tr-api", _query(PRICE, variant="buy"), KISVariantError),
    local("unknown-uapi-path-without-tr-id", lambda c: c.call("GET", NOWHERE), KISUsageError),
    local("bad-tr-cont", _query(PRICE, tr_cont="X"), KISUsageError),
    local("hashkey-on-a-get", _query(PRICE, hashkey=True), KISUsageError),
    local("header-value-not-a-string", _query(PRICE, headers={"x-note": 1}), KISUsageError),
    local(
        "header-crlf-on-an-order",
        lambda c: c.order(headers={"x-note": CRLF}),
        KISUsageError,
    ),
    local(
        "header-crlf-on-a-query",
        _query(PRICE, headers={"x-note": CRLF}),
        KISUsageError,
    ),
    local(
        "header-non-ascii",
        _query(PRICE, headers={"x-note": "한글"}),
        KISUsageError,
    ),
    local(
        "tr-id-non-ascii",
        lambda c: c.order(variant=None, tr_id="VTTC0012U한"),
        KISUsageError,
    ),
    # Outside HTTP's grammar: h11 refused these only after a token was fetched, an order was
    # then reported "may or may not have been executed", a non-ASCII name escaped as a
    # UnicodeEncodeError.
    local(
        "header-value-leading-space-on-an-order",
        lambda c: c.order(headers={"x-note": " x"}),
        KISUsageError,
    ),
    local("header-value-trailing-tab", _query(PRICE, headers={"x-note": "x\t"}), KISUsageError),
    local("header-name-non-ascii", _query(PRICE, headers={"x-노트": "x"}), KISUsageError),
    local(
        "header-name-with-a-colon-on-an-order",
        lambda c: c.order(headers={"x-note:": "x"}),
        KISUsageError,
    ),
    local("query-value-nan", _query({**PRICE, "FID_INPUT_ISCD": float("nan")}), KISUsageError),
    local("query-value-infinite", _query({**PRICE, "FID_INPUT_ISCD": float("inf")}), KISUsageError),
    local("query-value-a-bool", _query({**PRICE, "FID_INPUT_ISCD": True}), KISUsageError),
    local(
        "url-of-100-kib",
        lambda c: c.call("GET", PRICE_PATH + "x" * 100_000, PRICE, tr_id=PRICE_TR_ID),
        KISUsageError,
    ),
    local(
        "url-query-too-long",
        _query({**PRICE, "FID_INPUT_ISCD": "0" * 9000}),
        KISUsageError,
    ),
    local(
        "url-with-nul-in-the-query",
        lambda c: c.call("GET", PRICE_PATH + "?FID_INPUT_ISCD=\x00", PRICE),
        KISUsageError,
    ),
    local(
        "url-with-a-fullwidth-slash-after-the-host",
        lambda c: c.call("GET", c.sandbox.base_url + "\uff0fuapi", PRICE),
        KISUsageError,
    ),
    local(
        "path-with-a-fullwidth-slash",
        lambda c: c.call("GET", PRICE_PATH.replace("/v1/", "/v1\uff0f"), PRICE, tr_id=PRICE_TR_ID),
        KISUsageError,
    ),
    local("max-pages-zero", _pages, KISUsageError),
    local("get-tr-id-unknown", _tr_id("no-such-api"), KISUnknownAPIError),
    local(
        "get-tr-id-paper-unsupported",
        _tr_id("order-resv", is_paper_trading=True),
        KISPaperTradingUnsupportedError,
    ),
    local("get-tr-id-missing-variant", _tr_id("order-cash"), KISVariantError),
]
