"""Every non-order REST API answers KIS's own request example, as KIS would (issue 15).

The examples are read from KIS's workbook by the tests' own reader (``tests/catalog``), not the
generator; the calls are raw HTTP (sandbox_helpers), not the project's client. Each API is called
with its example's values as written, with the names lower-cased (GET), without a custtype header,
and without its last required key; in paper, a real-only API is refused. An API whose sheet has no
example is called with its required keys (``test_every_route.required_fields``). Order APIs are
left to their own tests: the helpers here take any ``ApiSpec``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import Caller, rt
from test_every_route import missing_fields, required_fields

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog
from stock_manager.sandbox import tables

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "catalog"))
from workbook_reader import read_workbook, workbook_path

CATALOG = get_catalog()
BUILD: str = getattr(next(iter(CATALOG)), "source", "2026-01")
ACCOUNT_KEYS = ("CANO", "ACNT_PRDT_CD")
WALK = [
    spec for spec in CATALOG if spec.transport == "rest" and spec.auth == "token" and not spec.order
]
ROUND_TIME = 30.0


@pytest.fixture(scope="session")
def examples() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """(method, path) -> the sheet's request example pairs; the workbook is read once."""
    apis = read_workbook(workbook_path(BUILD))
    return {(api.method, api.path): api.request_example for api in apis}


def example_fields(
    spec: ApiSpec, example: tuple[tuple[str, str], ...], cano: str, product: str
) -> tuple[dict[str, str], list[str]]:
    """The fields to send for ``spec`` from its example, and what had to be changed in it.

    The account placeholders become the caller's account; a required key the example leaves
    out gets an accepted value; an example that shows a later page (``QRY_TP`` "P" with an
    ``INDEX_KEY`` KIS issued) asks for the first page instead, since a continuation value the
    sandbox did not issue is refused as KIS refuses it. POST keys are upper-case, as KIS says.
    """
    changed: list[str] = []
    fields = {name.upper() if spec.method == "POST" else name: value for name, value in example}
    upper = {name.upper(): name for name in fields}
    for key, value in zip(ACCOUNT_KEYS, (cano, product), strict=True):
        if key in upper:
            fields[upper[key]] = value
    for name, value in required_fields(spec).items():
        if name.upper() not in upper:
            fields[name] = value
            changed.append(f"added {name}")
    if spec.paging.form == "index_key":
        qry_tp = upper.get("QRY_TP")
        if qry_tp is not None and fields[qry_tp].strip().upper() == "P":
            fields[qry_tp] = "Q"
            fields[upper.get("INDEX_KEY", "INDEX_KEY")] = ""
            changed.append("first page")
    return fields, changed


def call(
    kis: Caller,
    spec: ApiSpec,
    tr_id: str,
    fields: Mapping[str, str],
    *,
    custtype: bool = True,
) -> httpx.Response:
    """``fields`` as ``spec``'s GET query or POST JSON body, with or without a custtype header."""
    headers = kis.headers(tr_id)
    if not custtype:
        del headers["custtype"]
    if spec.method == "POST":
        return kis.client.post(spec.path, json=dict(fields), headers=headers)
    return kis.client.get(spec.path, params=dict(fields), headers=headers)


def problem(spec: ApiSpec, response: httpx.Response) -> object | None:
    """What is wrong with a reply that should be KIS's success, or None."""
    if rt(response) != (200, "0", "MCA00000"):
        return response.text[:200]
    # A handler lists what the fresh account holds: nothing, as KIS answers an empty list.
    missing = missing_fields(spec, response.json(), empty_lists=spec.path in tables.ROUTES)
    return missing[:5] or None


def _tr_ids(spec: ApiSpec, paper: bool) -> list[str]:
    tr = spec.tr_id_paper if paper else spec.tr_id_real
    if tr is None:
        return []
    return [tr] if isinstance(tr, str) else sorted(set(tr.values()))


def test_the_walk_covers_the_workbook(
    examples: Mapping[tuple[str, str], tuple[tuple[str, str], ...]],
) -> None:
    assert len(WALK) == 254  # 250 generic + 4 with handlers
    with_example = [s for s in WALK if examples.get((s.method, s.path))]
    assert len(with_example) > 230


@pytest.mark.parametrize("environment", ["real", "paper"])
def test_every_api_answers_its_workbook_example(
    caller_for: Callable[..., Caller],
    examples: Mapping[tuple[str, str], tuple[tuple[str, str], ...]],
    environment: str,
) -> None:
    kis = caller_for(environment)
    paper = environment == "paper"
    started = time.monotonic()
    failures: dict[str, object] = {}
    counts = {"example": 0, "no example": 0, "changed": 0, "refused in paper": 0, "calls": 0}
    for spec in WALK:
        example = examples.get((spec.method, spec.path), ())
        counts["example" if example else "no example"] += 1
        fields, changed = example_fields(spec, example, kis.cano, kis.product)
        counts["changed"] += bool(changed)
        tr_ids = _tr_ids(spec, paper)
        if not tr_ids:
            response = call(kis, spec, _tr_ids(spec, False)[0], fields)
            counts["calls"] += 1
            counts["refused in paper"] += 1
            if rt(response) != (500, "1", "OPSQ0003"):
                failures[f"{spec.api_id} paper"] = response.text[:200]
            continue
        for tr_id in tr_ids:
            counts["calls"] += 1
            if trouble := problem(spec, call(kis, spec, tr_id, fields)):
                failures[f"{spec.api_id} {tr_id}"] = trouble
        tr_id = tr_ids[0]
        if spec.method == "GET":
            lower = {name.lower(): value for name, value in fields.items()}
            if trouble := problem(spec, call(kis, spec, tr_id, lower)):
                failures[f"{spec.api_id} {tr_id} lower-case"] = trouble
        if trouble := problem(spec, call(kis, spec, tr_id, fields, custtype=False)):
            failures[f"{spec.api_id} {tr_id} no custtype"] = trouble
        counts["calls"] += 1 + (spec.method == "GET")
        required = [p.name for p in spec.params if p.required]
        if required:
            dropped = {k: v for k, v in fields.items() if k.upper() != required[-1].upper()}
            response = call(kis, spec, tr_id, dropped)
            counts["calls"] += 1
            if (
                rt(response) != (500, "1", "OPSQ2001")
                or required[-1].upper() not in (response.json()["msg1"])
            ):
                failures[f"{spec.api_id} {tr_id} without {required[-1]}"] = response.text[:200]
    print(f"\nworkbook examples, {environment}: {counts}")
    assert failures == {}
    assert counts["example"] > 230 and counts["calls"] > (900 if not paper else 250)
    assert time.monotonic() - started < ROUND_TIME


def test_a_value_outside_the_code_list_is_refused(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    spec = CATALOG.get("/uapi/overseas-price/v1/quotations/price-detail")
    coded = next(p for p in spec.params if p.required and p.codes_complete)
    fields = {**required_fields(spec), coded.name: "ZZ?"}
    response = call(kis, spec, _tr_ids(spec, False)[0], fields)
    assert rt(response) == (200, "1", "OPSQ2002"), response.text
    assert response.json()["msg1"] == f"입력값이 올바르지 않습니다. ({coded.name.upper()}='ZZ?')"
