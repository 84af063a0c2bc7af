"""Every documented REST API answers through the sandbox's gateway (issue 15).

The expected replies come from the client's catalog, a reading of KIS's workbook independent of
the sandbox's own table; the requests are built by hand (sandbox_helpers), not by the client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal

import httpx
import pytest
from sandbox_helpers import Caller, rt

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog
from stock_manager.adapters.broker.kis.catalog.models import Param
from stock_manager.sandbox.app import HANDLERS

ENVELOPE = {"rt_cd", "msg_cd", "msg1"}
HANDLED = set(HANDLERS)  # the APIs with logic of their own, tested in their own files
GENERIC = [
    spec
    for spec in get_catalog()
    if spec.transport == "rest"
    and spec.auth == "token"
    and not spec.order
    and spec.path not in HANDLED
]
UNSERVED_ORDERS = [
    spec
    for spec in get_catalog()
    if spec.transport == "rest" and spec.order and spec.path not in HANDLED
]
ROUND_TIME = 20.0


def _tr_ids(tr: str | Mapping[str, str] | None) -> list[str]:
    if tr is None:
        return []
    return [tr] if isinstance(tr, str) else sorted(set(tr.values()))


def accepted_value(param: Param) -> str:
    """A value KIS takes for ``param``: empty where it may be, else the first listed code."""
    if param.empty_ok or not param.codes_complete:
        return ""
    return next(code for code in param.codes if code)


def required_fields(spec: ApiSpec, drop: str | None = None) -> dict[str, str]:
    """Every required key, named as KIS spells it (case is the gateway's job), each with an
    accepted value: empty, or the first code where the list is complete and has no empty one."""
    return {p.name: accepted_value(p) for p in spec.params if p.required and p.name != drop}


def send(
    kis: Caller, spec: ApiSpec, tr_id: str, fields: Mapping[str, str], **headers: str
) -> httpx.Response:
    """``fields`` as the GET query or the POST JSON body of ``spec``, nothing added."""
    if spec.method == "POST":
        return kis.post(spec.path, tr_id, dict(fields), complete=False, **headers)
    return kis.get(spec.path, tr_id, dict(fields), complete=False, **headers)


def _call(kis: Caller, spec: ApiSpec, tr_id: str, drop: str | None = None) -> httpx.Response:
    return send(kis, spec, tr_id, required_fields(spec, drop))


def missing_fields(
    spec: ApiSpec, body: Mapping[str, object], *, empty_lists: bool = False
) -> list[str]:
    """Every documented field absent from ``body`` (or a block of the wrong shape).

    ``empty_lists``: an empty array block passes (a handler's list of an empty account).
    """
    missing = []
    for block in spec.response:
        names = [f.name for f in block.fields]
        if block.name == "body":
            records: list[object] = [body]
        else:
            value = body.get(block.name)
            wanted = list if block.shape == "array" else dict
            if not isinstance(value, wanted) or (value == [] and not empty_lists):
                return [f"{block.name}: {type(value).__name__}, not a {block.shape}"]
            records = list(value) if isinstance(value, list) else [value]
        for record in records:
            assert isinstance(record, dict)
            missing += [
                f"{block.name}.{name}" for name in names if not isinstance(record.get(name), str)
            ]
    return missing


def test_the_selection_covers_the_workbook() -> None:
    # Guards the loop below: a selection that shrank would prove nothing.
    rest = [s for s in get_catalog() if s.transport == "rest" and s.auth == "token"]
    handled = [s for s in rest if s.path in HANDLED]
    assert len(GENERIC) + len([s for s in handled if not s.order]) == 254
    assert len(UNSERVED_ORDERS) + len([s for s in handled if s.order]) == 18
    assert len(GENERIC) > 150


@pytest.mark.parametrize("environment", ["real", "paper"])
def test_every_documented_api_answers_with_every_field(
    caller_for: Callable[..., Caller], environment: str
) -> None:
    kis = caller_for(environment)
    paper = environment == "paper"
    started = time.monotonic()
    failures: dict[str, object] = {}
    calls = 0
    for spec in GENERIC:
        for tr_id in _tr_ids(spec.tr_id_paper if paper else spec.tr_id_real):
            response = _call(kis, spec, tr_id)
            calls += 1
            body = response.json()
            if rt(response) != (200, "0", "MCA00000"):
                failures[f"{spec.api_id} {tr_id}"] = response.text[:200]
            elif missing := missing_fields(spec, body):
                failures[f"{spec.api_id} {tr_id}"] = missing[:5]
            elif spec.paged and response.headers.get("tr_cont") != "M":
                # A paging API's first page: the generic list always has a second one.
                failures[f"{spec.api_id} {tr_id}"] = f"tr_cont {response.headers.get('tr_cont')!r}"
            elif response.headers.get("tr_id") != tr_id or not response.headers.get("gt_uid"):
                failures[f"{spec.api_id} {tr_id}"] = dict(response.headers)
    assert failures == {}
    assert calls > (150 if not paper else 10)
    assert time.monotonic() - started < ROUND_TIME


def test_the_same_request_gets_the_same_answer(kis: Caller) -> None:
    path = "/uapi/overseas-price/v1/quotations/price"
    params = {"AUTH": "", "EXCD": "NAS", "SYMB": "AAPL"}
    first = kis.get(path, "HHDFS00000300", params, complete=False)
    again = kis.get(path, "HHDFS00000300", params, complete=False)
    other = kis.get(path, "HHDFS00000300", {**params, "SYMB": "MSFT"}, complete=False)
    assert rt(first) == (200, "0", "MCA00000"), first.text
    assert first.json() == again.json()
    assert first.json() != other.json()
    output = first.json()["output"]
    # Overseas prices carry KIS's four decimals ("267.5300"): a positive number, not text.
    assert Decimal(output["last"]) > 0


def test_values_are_plausible_for_their_names(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    spec = get_catalog().get("/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice")
    params = {p.name: "" for p in spec.params if p.required}
    response = kis.get(spec.path, spec.tr_id_for(False), params, complete=False)
    rows = response.json()["output2"]
    assert len(rows) > 1
    for row in rows:
        assert len(row["stck_bsop_date"]) == 8 and row["stck_bsop_date"].isdigit()
        assert row["stck_clpr"].isdigit() and row["acml_vol"].isdigit()
        assert row["prdy_vrss_sign"] in {"1", "2", "3", "4", "5"}
    assert rows[0]["stck_bsop_date"] > rows[1]["stck_bsop_date"]  # newest first, as KIS


def test_unserved_orders_are_still_not_found(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    for spec in UNSERVED_ORDERS:
        tr_id = _tr_ids(spec.tr_id_real)[0]
        response = _call(kis, spec, tr_id)
        assert rt(response) == (404, "1", "OPSQ0404"), (spec.api_id, response.text)
    assert kis.sandbox.stats()["orders"] == []


def test_a_missing_required_key_is_refused(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    refused = 0
    for spec in GENERIC:
        required = [p.name for p in spec.params if p.required]
        if not required:
            continue
        response = _call(kis, spec, _tr_ids(spec.tr_id_real)[0], drop=required[-1])
        assert rt(response) == (500, "1", "OPSQ2001"), (spec.api_id, response.text)
        assert response.json()["msg1"] == f"필수항목이 누락되었습니다. ({required[-1].upper()})"
        refused += 1
    assert refused > 200


def test_paper_refuses_what_paper_does_not_offer(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("paper")
    spec = next(s for s in GENERIC if not s.paper_supported)
    response = _call(kis, spec, _tr_ids(spec.tr_id_real)[0])
    assert rt(response) == (500, "1", "OPSQ0003"), response.text
