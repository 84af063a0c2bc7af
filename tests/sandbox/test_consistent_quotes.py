"""Generic replies agree with the sandbox's market for the symbol they name (issue 15).

Raw HTTP against a sandbox frozen at a market moment with a fixed seed: the price inquire-price
shows for 삼성전자 is the price every other quote API shows for it at that moment, overseas and
futures quotes are the market's snapshot, book levels sit on the tick grid in order, a request
answers the same twice, and an unlisted code gets inquire-price's zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sandbox_helpers import TRADING_DAY, Caller, market_options, rt

from stock_manager.sandbox import tables, walk

Q = "/uapi/domestic-stock/v1/quotations/"
ASKING = Q + "inquire-asking-price-exp-ccn"
CCNL = Q + "inquire-ccnl"
DAILY = Q + "inquire-daily-price"
MINUTES = Q + "inquire-time-itemchartprice"
OVERSEAS_PRICE = "/uapi/overseas-price/v1/quotations/price"
OVERSEAS_ASKING = "/uapi/overseas-price/v1/quotations/inquire-asking-price"
FUTURES_PRICE = "/uapi/domestic-futureoption/v1/quotations/inquire-price"
SAMSUNG = "005930"
DAY = TRADING_DAY.replace("-", "")


def ask(kis: Caller, path: str, **params: str) -> dict[str, Any]:
    """A successful GET of ``path`` with its required keys (first listed code, else blank)."""
    entry = tables.CATALOG_ROUTES[path]
    sent = {name.upper(): "" for name in entry["required"]}
    for name, rule in entry["codes"].items():
        if name.upper() in sent and rule["values"]:
            sent[name.upper()] = sorted(rule["values"])[0]
    sent.update(params)
    tr_id = next(iter(entry[kis.sandbox.environment]))
    response = kis.get(path, tr_id, sent)
    assert rt(response)[:2] == (200, "0"), response.text
    body: dict[str, Any] = response.json()
    return body


def domestic(code: str) -> dict[str, str]:
    return {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code}


@pytest.fixture
def at_ten(caller_for: Callable[..., Caller]) -> Caller:
    return caller_for("real", **market_options("10:00"))


def test_samsung_price_agrees_across_quote_apis(at_ten: Caller) -> None:
    quote = at_ten.quote(SAMSUNG)
    price = quote["stck_prpr"]
    asking = ask(at_ten, ASKING, **domestic(SAMSUNG))
    trades = ask(at_ten, CCNL, **domestic(SAMSUNG))["output"]
    chart = ask(
        at_ten, MINUTES, **domestic(SAMSUNG), FID_INPUT_HOUR_1="100000", FID_PW_DATA_INCU_YN="N"
    )
    assert int(price) > 0
    assert asking["output2"]["stck_prpr"] == price
    assert asking["output2"]["stck_sdpr"] == quote["stck_sdpr"]
    assert trades[0]["stck_prpr"] == price
    assert trades[0]["prdy_vrss"] == quote["prdy_vrss"]
    assert trades[0]["prdy_vrss_sign"] == quote["prdy_vrss_sign"]
    assert trades[0]["stck_cntg_hour"] <= "100000"
    assert chart["output1"]["stck_prpr"] == price
    assert chart["output1"]["hts_kor_isnm"] == "삼성전자"
    assert chart["output1"]["acml_vol"] == quote["acml_vol"]
    latest = chart["output2"][0]
    assert (latest["stck_bsop_date"], latest["stck_prpr"]) == (DAY, price)
    assert latest["stck_cntg_hour"] == "100000"  # the minute that opens with the 10:00 step
    assert int(latest["stck_lwpr"]) <= int(price) <= int(latest["stck_hgpr"])


def test_daily_close_at_1530_is_the_close_inquire_price_shows(
    caller_for: Callable[..., Caller],
) -> None:
    kis = caller_for("real", **market_options("15:30"))
    quote = kis.quote(SAMSUNG)
    rows = ask(kis, DAILY, **domestic(SAMSUNG), FID_PERIOD_DIV_CODE="D")["output"]
    assert rows[0]["stck_bsop_date"] == DAY
    assert rows[0]["stck_clpr"] == quote["stck_prpr"]
    assert rows[0]["acml_vol"] == quote["acml_vol"]
    assert rows[0]["stck_oprc"] == quote["stck_oprc"]
    assert rows[0]["prdy_vrss"] == quote["prdy_vrss"]
    # Newest first, one trading day apart, and each day's change is against the day before.
    assert rows[1]["stck_bsop_date"] < rows[0]["stck_bsop_date"]
    assert int(rows[0]["stck_clpr"]) - int(rows[1]["stck_clpr"]) == int(rows[0]["prdy_vrss"])


def test_overseas_price_is_the_markets_snapshot(at_ten: Caller) -> None:
    market = at_ten.sandbox.market
    apple = market.lookup("AAPL", "NASD")
    assert apple is not None
    snap = market.snapshot(apple)
    output = ask(at_ten, OVERSEAS_PRICE, EXCD="NAS", SYMB="AAPL")["output"]
    assert output["last"] == f"{snap.last:.4f}"
    assert output["base"] == f"{snap.previous_close:.4f}"
    assert output["sign"] == snap.sign
    assert output["rate"] == str(snap.rate)
    assert output["tvol"] == str(snap.volume)
    assert output["zdiv"] == "4"


def test_futures_price_is_the_markets_snapshot(at_ten: Caller) -> None:
    market = at_ten.sandbox.market
    future = market.lookup("101W12")
    assert future is not None
    snap = market.snapshot(future)
    output = ask(at_ten, FUTURES_PRICE, FID_COND_MRKT_DIV_CODE="F", FID_INPUT_ISCD="101W12")
    first = output["output1"]
    assert first["futs_prpr"] == f"{snap.last:.2f}"
    assert first["futs_prdy_clpr"] == f"{snap.previous_close:.2f}"
    assert first["hts_kor_isnm"] == future.name
    assert first["futs_mxpr"] == f"{snap.upper:.2f}"
    # The index blocks are not about the future: they keep their own values.
    assert output["output2"]["hts_kor_isnm"] != future.name


def test_book_levels_are_on_the_grid_and_ordered(at_ten: Caller) -> None:
    market = at_ten.sandbox.market
    samsung = market.lookup(SAMSUNG)
    assert samsung is not None
    book = ask(at_ten, ASKING, **domestic(SAMSUNG))["output1"]
    asks = [Decimal(book[f"askp{n}"]) for n in range(1, 11)]
    bids = [Decimal(book[f"bidp{n}"]) for n in range(1, 11)]
    assert asks == sorted(asks) and len(set(asks)) == 10
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == 10
    assert bids[0] < asks[0]
    assert all(walk.on_tick(samsung, price) for price in asks + bids)
    quantities = [int(book[f"askp_rsqn{n}"]) for n in range(1, 11)]
    assert all(q > 0 for q in quantities)
    assert int(book["total_askp_rsqn"]) == sum(quantities)

    apple = market.lookup("AAPL", "NASD")
    assert apple is not None
    levels = ask(at_ten, OVERSEAS_ASKING, EXCD="NAS", SYMB="AAPL")["output2"]
    pasks = [Decimal(levels[f"pask{n}"]) for n in range(1, 11)]
    pbids = [Decimal(levels[f"pbid{n}"]) for n in range(1, 11)]
    assert pasks == sorted(pasks) and pbids == sorted(pbids, reverse=True)
    assert pbids[0] < pasks[0]
    assert all(walk.on_tick(apple, price) for price in pasks + pbids)


def test_the_same_request_gets_the_same_reply(at_ten: Caller) -> None:
    for path, params in (
        (ASKING, domestic(SAMSUNG)),
        (CCNL, domestic(SAMSUNG)),
        (OVERSEAS_PRICE, {"EXCD": "NAS", "SYMB": "AAPL"}),
    ):
        assert ask(at_ten, path, **params) == ask(at_ten, path, **params)


def test_an_unlisted_code_gets_zeros_in_the_same_shape(at_ten: Caller) -> None:
    listed = ask(at_ten, ASKING, **domestic(SAMSUNG))
    unlisted = ask(at_ten, ASKING, **domestic("999999"))
    assert {k: sorted(v) for k, v in unlisted.items() if isinstance(v, dict)} == {
        k: sorted(v) for k, v in listed.items() if isinstance(v, dict)
    }
    assert unlisted["output2"]["stck_prpr"] == "0"
    assert unlisted["output2"]["stck_shrn_iscd"] == ""
    assert unlisted["output1"]["askp1"] == "0"
    assert unlisted["output1"]["bidp_rsqn1"] == "0"
    chart = ask(
        at_ten, MINUTES, **domestic("999999"), FID_INPUT_HOUR_1="100000", FID_PW_DATA_INCU_YN="N"
    )
    assert chart["output1"]["stck_prpr"] == "0"
    assert chart["output1"]["hts_kor_isnm"] == ""
    assert all(row["stck_prpr"] == "0" and row["stck_bsop_date"] == "" for row in chart["output2"])
    overseas = ask(at_ten, OVERSEAS_PRICE, EXCD="NAS", SYMB="ZZZZ")["output"]
    assert (overseas["last"], overseas["tvol"]) == ("0", "0")
