"""Every injected fault kind, seeded; what each does to processing and to the counters."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from sandbox_helpers import ORDER_CASH, PRICE, Caller, rt

from stock_manager.sandbox import FaultConfigError, KISSandbox


@pytest.fixture
def paper(caller_for: Callable[..., Caller]) -> Caller:
    kis = caller_for("paper", seed=7)
    kis.token  # noqa: B018 - issued before any fault is set
    return kis


def test_error(paper: Caller) -> None:
    paper.sandbox.set_faults(ORDER_CASH, error_rate=1.0, seed=1)
    codes = set()
    for _ in range(12):
        response = paper.order("buy")
        status, rt_cd, msg_cd = rt(response)
        assert (status, rt_cd) == (500, "1")
        codes.add(msg_cd)
        assert response.headers["tr_id"] == "VTTC0012U"
    assert codes == {"EGW00001", "EGW00002"}
    stats = paper.sandbox.stats()
    assert stats["orders"] == []  # nothing processed
    assert stats["faults"]["error"] == 12
    assert stats["requests"][ORDER_CASH] == 12
    # Only that path is affected.
    quote = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    assert rt(paper.get(PRICE, "FHKST01010100", quote))[1] == "0"


def test_rate_limit(paper: Caller) -> None:
    paper.sandbox.set_faults(ORDER_CASH, rate_limit_rate=1.0)
    assert rt(paper.order("buy")) == (500, "1", "EGW00201")
    stats = paper.sandbox.stats()
    assert stats["rate_limited"] == 1 and stats["faults"]["rate_limit"] == 1
    assert stats["orders"] == []


def test_drop_before(paper: Caller) -> None:
    paper.sandbox.set_faults(ORDER_CASH, drop_before_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        paper.order("buy")
    stats = paper.sandbox.stats()
    assert stats["orders"] == [] and stats["faults"]["drop_before"] == 1


def test_drop_after(paper: Caller) -> None:
    paper.sandbox.set_faults(ORDER_CASH, drop_after_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        paper.order("buy", qty="4")
    stats = paper.sandbox.stats()
    assert len(stats["orders"]) == 1  # processed, reply lost
    assert stats["orders"][0]["body"]["ORD_QTY"] == "4"
    assert stats["faults"]["drop_after"] == 1
    # The pooled client recovers on a fresh connection.
    paper.sandbox.clear_faults()
    assert rt(paper.order("buy"))[1] == "0"


@pytest.mark.parametrize("kind", ["html", "empty", "truncated", "array"])
def test_garble(paper: Caller, kind: str) -> None:
    paper.sandbox.set_faults(ORDER_CASH, garble_rate=1.0, garble_kind=kind)
    response = paper.order("buy")
    if kind == "html":
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("text/html")
    elif kind == "empty":
        assert response.status_code == 200 and response.content == b""
    elif kind == "truncated":
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()
    else:
        assert response.status_code == 200 and isinstance(response.json(), list)
    stats = paper.sandbox.stats()
    assert stats["orders"] == [] and stats["faults"]["garble"] == 1


def test_garble_random_uses_every_kind(paper: Caller) -> None:
    paper.sandbox.set_faults(PRICE, garble_rate=1.0, seed=3)
    quote = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    shapes = set()
    for _ in range(30):
        response = paper.get(PRICE, "FHKST01010100", quote)
        shapes.add(
            (response.status_code, response.headers["content-type"][:9], len(response.content) > 0)
        )
    assert len(shapes) >= 3


def test_latency(paper: Caller) -> None:
    paper.sandbox.set_faults("*", latency=0.2)
    started = time.monotonic()
    assert rt(paper.order("buy"))[1] == "0"
    assert time.monotonic() - started >= 0.2  # the delay is the behaviour under test
    assert paper.sandbox.stats()["faults"]["latency"] == 1


def _outcomes(sandbox: KISSandbox, client: httpx.Client, seed: int) -> list[str]:
    sandbox.set_faults("/uapi/hashkey", error_rate=0.4, garble_rate=0.3, seed=seed)
    headers = {
        "content-type": "application/json",
        "appkey": sandbox.app_key,
        "appsecret": sandbox.app_secret,
    }
    outcomes = []
    for _ in range(25):
        response = client.post("/uapi/hashkey", content=b"{}", headers=headers)
        outcomes.append(f"{response.status_code}:{response.content[:12]!r}")
    return outcomes


def test_seeded_faults_repeat(
    make_sandbox: Callable[..., KISSandbox], client_for: Callable[[KISSandbox], httpx.Client]
) -> None:
    first = make_sandbox("paper")
    second = make_sandbox("paper")
    run_a = _outcomes(first, client_for(first), seed=42)
    run_b = _outcomes(second, client_for(second), seed=42)
    assert run_a == run_b
    assert len(set(run_a)) > 1  # some requests failed, some did not
    assert _outcomes(first, client_for(first), seed=43) != run_a


def test_exact_path_rule_wins_and_clear(paper: Caller) -> None:
    paper.sandbox.set_faults("*", error_rate=1.0)
    paper.sandbox.set_faults(ORDER_CASH)  # all-zero rule for this path
    assert rt(paper.order("buy"))[1] == "0"
    quote = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    assert rt(paper.get(PRICE, "FHKST01010100", quote))[0] == 500
    paper.sandbox.clear_faults()
    assert rt(paper.get(PRICE, "FHKST01010100", quote))[1] == "0"


def test_faults_on_oauth_paths(paper: Caller) -> None:
    paper.sandbox.set_faults("/oauth2/tokenP", drop_after_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        paper.issue_token()
    assert paper.sandbox.stats()["tokens_issued"] == 2  # issued, answer lost


def test_bad_fault_rules(paper: Caller) -> None:
    with pytest.raises(FaultConfigError, match="error_rate"):
        paper.sandbox.set_faults(error_rate=1.5)
    with pytest.raises(FaultConfigError, match="garble_kind"):
        paper.sandbox.set_faults(garble_rate=1.0, garble_kind="xml")
    with pytest.raises(FaultConfigError, match="path"):
        paper.sandbox.set_faults("uapi/hashkey", error_rate=0.5)
    with pytest.raises(FaultConfigError, match="latency"):
        paper.sandbox.set_faults(latency=-1)


def test_page_change_rate_is_a_checked_fault_argument(paper: Caller) -> None:
    with pytest.raises(FaultConfigError):
        paper.sandbox.set_faults(page_change_rate=1.5)
    answer = paper.client.post("/_sandbox/faults", json={"page_change_rate": 0.5})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rules"]["*"]["page_change_rate"] == 0.5
    # A first page is never a page change, whatever the rate.
    paper.sandbox.set_faults(page_change_rate=1.0)
    quote = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    assert rt(paper.get(PRICE, paper.tr["price"], quote))[1] == "0"
