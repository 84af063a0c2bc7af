"""Issue 12, the sans-I/O core: what ``build_request`` refuses up front, what the reply parsers
refuse, and what ``safe_headers`` shows. Plain values in, typed errors out; no sockets (the
same inputs against the sandbox are rows of the bad-input table)."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    KISConfig,
    KISConfigError,
    KISProtocolError,
    KISUsageError,
)
from stock_manager.adapters.broker.kis.protocol import (
    build_request,
    parse_approval_key,
    parse_hashkey,
    parse_response,
    parse_token_grant,
)

KEY = "PSabcdefghijklmnopqrstuvwxyz01234567"
SECRET = "secret-" + "x" * 173
BASE = "http://127.0.0.1:8080"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
ORDER = {
    "CANO": "12345678",
    "ACNT_PRDT_CD": "01",
    "PDNO": "005930",
    "ORD_DVSN": "00",
    "ORD_QTY": "1",
    "ORD_UNPR": "70000",
}


def config(**overrides: Any) -> KISConfig:
    values: dict[str, Any] = {"kis_app_key": KEY, "kis_app_secret": SECRET, "base_url": BASE}
    values.update(overrides)
    return KISConfig(_env_file=None, **values)


def order(headers: dict[str, Any]) -> Any:
    return build_request(config(), "POST", api_id="order-cash", params=ORDER, variant="buy",
                         headers=headers)  # fmt: skip


# -- D14: header names and values follow HTTP's grammar ------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"x-note": " leading"},
        {"x-note": "trailing "},
        {"x-note": "trailing-tab\t"},
        {"x-note": "nul\x00inside"},
        {"x-note": "bell\x07"},
        {"x-note": "line\nbreak"},
        {"x note": "a name with a space"},
        {"x-note:": "a name with a colon"},
        {"x-노트": "a non-ASCII name"},
        {"": "an empty name"},
        {"x-\u212a": "KELVIN SIGN lower-cases to an ASCII k"},
    ],
    ids=repr,
)
def test_headers_outside_http_grammar_are_refused_before_anything_is_sent(
    headers: dict[str, str],
) -> None:
    with pytest.raises(KISUsageError, match="nothing was sent"):
        order(headers)


@pytest.mark.parametrize(
    "name",
    [
        "Content-Length",
        "transfer-encoding",
        "Host",
        "expect",
        "connection",
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
    ],
)
def test_framing_headers_are_refused_before_anything_is_sent(name: str) -> None:
    # Regression (review finding 2): httpx kept a caller's content-length: 2 on an 8-byte body,
    # h11 failed once the head was on the wire, and the order was reported "nothing was sent".
    with pytest.raises(KISUsageError, match=f"header {name} frames the HTTP message"):
        order({name: "2"})


def test_header_values_with_inner_spaces_and_tabs_or_empty_are_allowed() -> None:
    request = order({"x-note": "a b\tc", "x-empty": "", "X-Upper": "!#$%&'*+.^_`|~"})
    assert request.headers["x-note"] == "a b\tc"
    assert request.headers["x-empty"] == ""
    assert request.headers["x-upper"] == "!#$%&'*+.^_`|~"


def test_every_header_build_request_accepts_is_one_h11_accepts() -> None:
    # The check mirrors h11: what passes it must pass httpx and h11 too (a mismatch is an order
    # reported "may or may not have been executed" with nothing sent).
    import h11

    request = order({"x-note": "a b\tc", "x-empty": "", "X-Upper": "!#$%&'*+.^_`|~"})
    raw = httpx.Request(request.method, request.url, headers=dict(request.headers)).headers.raw
    h11.Request(method=b"POST", target=b"/", headers=raw)  # raises LocalProtocolError


def test_a_refused_secret_header_does_not_quote_the_value() -> None:
    with pytest.raises(KISUsageError) as caught:
        order({"hashkey": " " + "h" * 64})
    assert "h" * 64 not in str(caught.value)


# -- D17: paths and URLs the transport would refuse, refused before a token is fetched ----------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080\uff0fuapi/x",  # urlsplit: invalid under NFKC normalization
        "//evil\uff0fx/uapi",
        "http://[::1/x",  # urlsplit: invalid IPv6 URL
        PRICE_PATH + "?FID_INPUT_ISCD=\x00",
        PRICE_PATH + "\x7f",
        PRICE_PATH + "\x01",
        "/uapi" + "/a" * 50_000,
        "/uapi\uff0fdomestic-stock",  # a fullwidth slash typed with a Korean IME
        PRICE_PATH + "#fragment",  # never sent: the request would silently differ
    ],
    ids=lambda url: repr(url[:40]),
)
def test_unusable_paths_and_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(KISUsageError):
        build_request(config(), "GET", url, PRICE, tr_id="FHKST01010100")


def test_the_length_cap_is_on_the_whole_url_including_the_query() -> None:
    with pytest.raises(KISUsageError, match="8192"):
        build_request(config(), "GET", PRICE_PATH, {**PRICE, "X": "y" * 9000})
    # Short of the cap, and httpx agrees with the URL.
    request = build_request(config(), "GET", PRICE_PATH, {**PRICE, "X": "y" * 7000})
    assert httpx.URL(request.url).path == PRICE_PATH


def test_a_non_ascii_query_in_the_url_is_still_sent_percent_encoded() -> None:
    request = build_request(
        config(), "GET", PRICE_PATH + "?NAME=삼성", PRICE, tr_id="FHKST01010100"
    )
    assert httpx.URL(request.url).query.startswith(b"NAME=%EC%82%BC%EC%84%B1&")


# -- D24: GET parameters are finite numbers or strings, as the body's are ----------------------


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), True, False], ids=repr
)
def test_query_values_that_are_not_finite_numbers_or_strings_are_refused(value: Any) -> None:
    with pytest.raises(KISUsageError, match="FID_INPUT_ISCD"):
        build_request(config(), "GET", PRICE_PATH, {**PRICE, "FID_INPUT_ISCD": value})


def test_finite_numbers_and_none_are_still_query_values() -> None:
    values = {"A": 1, "B": 2.5, "C": None, "D": "x"}
    request = build_request(config(), "GET", PRICE_PATH, {**PRICE, **values})
    assert request.url.endswith("&A=1&B=2.5&C=&D=x")


# -- D2: credentials join the headers last; invalid ones are configuration errors -------------


@pytest.mark.parametrize("bad", ["secret-with-한글-" + "x" * 20, "secret\x00" + "x" * 20])
def test_an_app_secret_that_cannot_travel_in_a_header_is_a_config_error(bad: str) -> None:
    with pytest.raises(KISConfigError, match="kis_app_secret") as caught:
        build_request(config(kis_app_secret=bad), "GET", PRICE_PATH, PRICE)
    assert bad not in str(caught.value)


# -- D5: tokens, approval keys and hashes are credential values when parsed --------------------


TOKEN = "eyJ0eXAiOiJKV1Qi." + "t" * 40
EXPIRY = {"access_token_token_expired": "2099-12-31 23:59:59"}


@pytest.mark.parametrize(
    "value",
    [f" {TOKEN}", f"{TOKEN}\n", f"{TOKEN} x", f"{TOKEN}\x00", TOKEN + "t" * 5000, f"{TOKEN}한"],
    ids=lambda v: repr(v[-8:]),
)
def test_unusable_credentials_in_replies_are_protocol_errors_that_do_not_quote_them(
    value: str,
) -> None:
    calls = [
        lambda: parse_token_grant({"access_token": value, **EXPIRY}),
        lambda: parse_approval_key({"approval_key": value}),
        lambda: parse_hashkey({"HASH": value}),
    ]
    for call in calls:
        with pytest.raises(KISProtocolError, match="unusable") as caught:
            call()
        assert TOKEN not in str(caught.value)


def test_usable_credentials_are_returned_as_sent() -> None:
    assert parse_token_grant({"access_token": TOKEN, **EXPIRY}).value == TOKEN
    assert parse_hashkey({"HASH": "a" * 64}) == "a" * 64


# -- D33: a number too long for Python is named as such -----------------------------------------


def test_a_number_with_too_many_digits_is_named_not_called_cut_short() -> None:
    limit = sys.get_int_max_str_digits()
    body = b'{"rt_cd":"0","output":{"n":' + b"7" * (limit + 700) + b"}}"
    with pytest.raises(KISProtocolError) as caught:
        parse_response(200, {}, body)
    message = str(caught.value)
    assert f"more than {limit} digits" in message
    assert "cut short" not in message


def test_a_cut_short_reply_is_still_called_cut_short() -> None:
    with pytest.raises(KISProtocolError, match="cut short"):
        parse_response(200, {}, b'{"rt_cd":"0","output":{"n":12')


# -- D31: safe_headers shows the app key's fingerprint, not the key -----------------------------


def test_safe_headers_show_the_app_key_fingerprint_only() -> None:
    settings = config()
    request = build_request(settings, "GET", PRICE_PATH, PRICE)
    shown = request.safe_headers()
    assert shown["appkey"] == f"sha256 {settings.app_key_fingerprint}"
    assert shown["appsecret"] == "***"
    assert KEY not in repr(shown) and SECRET not in repr(shown)
    assert request.headers["appkey"] == KEY  # what is sent is unchanged
