"""The generic replies page as KIS pages, per paging form (issue 15).

Each form is walked over raw HTTP to its last page: the first page holds KIS's rows per call for
the domain, the second the rest, the continuation value comes back where the form carries it,
and a value the sandbox did not issue is refused. SYDB0050 is injected only on continuations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx
import pytest
from sandbox_helpers import Caller, rt
from test_every_route import missing_fields, required_fields, send

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog
from stock_manager.sandbox.app import HANDLERS
from stock_manager.sandbox.documented import ARRAY_ROWS, DEFAULT_ROWS

CATALOG = get_catalog()
# One API per form, each with an array block to count and no handler of its own (a handler's
# lists hold what the account holds, so they would not show the generic pages).
TR_CONT_100 = CATALOG.get("해외주식-051")  # CTX_AREA_FK100/NK100, 20 rows (real only)
TR_CONT_200 = CATALOG.get("해외선물-030")  # CTX_AREA_FK200/NK200, no rows stated (real only)
KEYB = CATALOG.get("v1_해외주식-010")  # KEYB, 100 rows on both domains
UNSTATED = CATALOG.get("v1_해외주식-015")  # KEYB, no rows stated, offered in paper
NEXT_KEYB = CATALOG.get("v1_해외주식-030")  # NEXT + KEYB, 120 rows
INDEX_KEY = CATALOG.get("해외선물-038")  # QRY_TP + INDEX_KEY, 40 rows
FORMS = [TR_CONT_100, TR_CONT_200, KEYB, NEXT_KEYB, INDEX_KEY]
SYDB0050 = (200, "7", "SYDB0050")


def _rows_per_call(spec: ApiSpec, environment: str) -> int:
    stated = spec.paging.rows_paper if environment == "paper" else spec.paging.rows_real
    return stated or DEFAULT_ROWS


def _tr_id(spec: ApiSpec, environment: str) -> str:
    tr_id = spec.tr_id_for(environment == "paper")
    assert tr_id is not None
    return tr_id


def _array(spec: ApiSpec) -> str:
    return next(block.name for block in spec.response if block.shape == "array")


def _value(reply: Mapping[str, object], name: str) -> str:
    # Where the client's pager looks: the top level, then the object blocks.
    for scope in [reply, *(v for v in reply.values() if isinstance(v, dict))]:
        if isinstance(scope, Mapping) and name in scope:
            value = scope[name]
            assert isinstance(value, str)
            return value
    raise AssertionError(f"no {name} in the reply")


def _next(spec: ApiSpec, sent: dict[str, str], reply: httpx.Response) -> tuple[dict[str, str], str]:
    """The next page's fields and tr_cont header, as KIS's paging form says to ask."""
    body = reply.json()
    form = spec.paging.form
    fields = dict(sent)
    if form == "tr_cont":
        for key in spec.paging.keys:
            fields[key] = _value(body, key.lower())
        return fields, "N"
    if form == "keyb":
        fields["KEYB"] = _value(body, "keyb")
    elif form == "next_keyb":
        assert _value(body, "next") == "1"
        fields |= {"NEXT": "1", "KEYB": _value(body, "keyb")}
    else:
        fields |= {"QRY_TP": "P", "INDEX_KEY": _value(body, "index_key")}
    return fields, ""


def _first(spec: ApiSpec) -> dict[str, str]:
    fields = required_fields(spec)
    if spec.paging.form == "index_key":
        fields["QRY_TP"] = "Q"
    return fields


def _walk(kis: Caller, spec: ApiSpec) -> list[httpx.Response]:
    environment = kis.sandbox.environment
    tr_id = _tr_id(spec, environment)
    fields, tr_cont = _first(spec), ""
    pages = []
    for _ in range(5):
        response = send(kis, spec, tr_id, fields, tr_cont=tr_cont)
        assert rt(response) == (200, "0", "MCA00000"), response.text
        assert missing_fields(spec, response.json()) == []
        pages.append(response)
        if response.headers["tr_cont"] == "D":
            return pages
        fields, tr_cont = _next(spec, fields, response)
    raise AssertionError("no last page after 5 pages")


@pytest.mark.parametrize("spec", FORMS, ids=lambda spec: spec.paging.form)
def test_each_form_pages_through_to_the_last_page(
    caller_for: Callable[..., Caller], spec: ApiSpec
) -> None:
    kis = caller_for("real")
    pages = _walk(kis, spec)
    per_call = _rows_per_call(spec, "real")
    assert [page.headers["tr_cont"] for page in pages] == ["M", "D"]
    counts = [len(page.json()[_array(spec)]) for page in pages]
    assert counts == [per_call, max(1, per_call // 2)]
    first, last = (page.json()[_array(spec)] for page in pages)
    assert first[0] != last[0]  # the second page continues the list, it does not repeat it


def test_rows_per_call_follow_the_domain(caller_for: Callable[..., Caller]) -> None:
    # KIS's stated rows for the domain where it states them, the default where it does not.
    # (No API without a handler states rows for real only and is offered in paper, so the two
    # cases are shown on two APIs per domain.)
    for environment in ("real", "paper"):
        kis = caller_for(environment)
        for spec, per_call in ((KEYB, 100), (UNSTATED, DEFAULT_ROWS)):
            assert _rows_per_call(spec, environment) == per_call
            pages = _walk(kis, spec)
            assert [len(page.json()["output2"]) for page in pages] == [per_call, per_call // 2]
    assert _rows_per_call(TR_CONT_100, "real") == 20 != DEFAULT_ROWS


def test_pages_are_the_same_for_the_same_request(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    again = [page.json() for page in _walk(kis, KEYB)]
    assert [page.json() for page in _walk(kis, KEYB)] == again


@pytest.mark.parametrize("spec", FORMS, ids=lambda spec: spec.paging.form)
def test_a_forged_continuation_is_refused(caller_for: Callable[..., Caller], spec: ApiSpec) -> None:
    kis = caller_for("real")
    tr_id = _tr_id(spec, "real")
    first = send(kis, spec, tr_id, _first(spec))
    fields, tr_cont = _next(spec, _first(spec), first)
    forged = dict(fields)
    key = {"keyb": "KEYB", "next_keyb": "KEYB", "index_key": "INDEX_KEY"}.get(
        spec.paging.form, spec.paging.keys[-1]
    )
    forged[key] = "000001" + "0" * 12
    response = send(kis, spec, tr_id, forged, tr_cont=tr_cont)
    assert rt(response) == (200, "1", "OPSQ2003"), response.text
    assert key.rsplit("_", 1)[-1] in response.json()["msg1"]
    # The continuation the sandbox issued still works after the refusal.
    assert rt(send(kis, spec, tr_id, fields, tr_cont=tr_cont))[1] == "0"


def test_a_continuation_from_other_conditions_is_refused(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    tr_id = _tr_id(KEYB, "real")
    fields = {**_first(KEYB), "SYMB": "AAPL"}
    issued = send(kis, KEYB, tr_id, fields).json()["keyb"]
    other = send(kis, KEYB, tr_id, {**fields, "SYMB": "MSFT", "KEYB": issued})
    assert rt(other) == (200, "1", "OPSQ2003"), other.text


@pytest.mark.parametrize("spec", [TR_CONT_200, KEYB, INDEX_KEY], ids=lambda s: s.paging.form)
def test_sydb0050_only_on_continuations(caller_for: Callable[..., Caller], spec: ApiSpec) -> None:
    kis = caller_for("real")
    kis.sandbox.set_faults(spec.path, page_change_rate=1.0, seed=7)
    tr_id = _tr_id(spec, "real")
    for _ in range(3):
        first = send(kis, spec, tr_id, _first(spec))
        assert rt(first) == (200, "0", "MCA00000"), first.text  # a first page never
    fields, tr_cont = _next(spec, _first(spec), first)
    changed = send(kis, spec, tr_id, fields, tr_cont=tr_cont)
    assert rt(changed) == SYDB0050
    assert changed.json()["msg1"] == "조회이후에 자료가 변경되었습니다(다시 조회하세요)"
    assert changed.headers["tr_id"] == tr_id
    assert kis.sandbox.stats()["faults"]["page_change"] == 1
    kis.sandbox.clear_faults()
    assert rt(send(kis, spec, tr_id, fields, tr_cont=tr_cont))[1] == "0"


def test_sydb0050_never_without_the_fault(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    kis.sandbox.set_faults(TR_CONT_200.path, error_rate=0.0)  # a rule, but no page changes
    assert len(_walk(kis, TR_CONT_200)) == 2
    assert "page_change" not in kis.sandbox.stats()["faults"]


def test_the_samples_have_no_handler() -> None:
    # A sample that gained a handler would page the account's rows, not the generic ones.
    assert not {spec.path for spec in [*FORMS, UNSTATED]} & set(HANDLERS)


def test_cursor_and_blank_forms_stay_one_page(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real")
    for form in ("cursor", "blank"):
        spec = next(
            s
            for s in CATALOG
            if s.paging.form == form
            and not s.order
            and s.path not in HANDLERS
            and any(b.shape == "array" for b in s.response)
        )
        response = send(kis, spec, _tr_id(spec, "real"), required_fields(spec))
        assert rt(response) == (200, "0", "MCA00000"), response.text
        assert response.headers["tr_cont"] == ""
        assert len(response.json()[_array(spec)]) == ARRAY_ROWS
