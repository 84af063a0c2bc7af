"""The /_sandbox HTTP admin surface, and its loopback-only guard."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import httpx
from sandbox_helpers import ORDER_CASH, Caller, rt

from stock_manager.sandbox.app import build_app
from stock_manager.sandbox.control import SandboxControl
from stock_manager.sandbox.faults import FaultPlan
from stock_manager.sandbox.state import SandboxState

STATS_KEYS = {
    "tokens_issued",
    "tokens_revoked",
    "approval_keys_issued",
    "hashkeys_issued",
    "rate_limited",
    "requests",
    "orders",
    "faults",
    "records_sent",
    "websocket_sessions",
}


def test_stats_over_http_match_python(kis: Caller) -> None:
    kis.order("buy")
    over_http = kis.client.get("/_sandbox/stats").json()
    assert set(over_http) == STATS_KEYS
    assert over_http == kis.sandbox.stats()
    assert over_http["requests"][ORDER_CASH] == 1
    assert "/_sandbox/stats" not in over_http["requests"]
    assert set(over_http["faults"]) == {
        "error",
        "rate_limit",
        "drop_before",
        "drop_after",
        "garble",
        "latency",
    }


def test_stats_is_a_snapshot(kis: Caller) -> None:
    kis.order("buy")
    snapshot = kis.sandbox.stats()
    snapshot["orders"].clear()
    snapshot["requests"].clear()
    assert len(kis.sandbox.stats()["orders"]) == 1


def test_faults_endpoint(kis: Caller) -> None:
    set_rule = kis.client.post(
        "/_sandbox/faults", json={"path": ORDER_CASH, "error_rate": 1.0, "seed": 5}
    )
    assert set_rule.status_code == 200 and ORDER_CASH in set_rule.json()["rules"]
    assert rt(kis.order("buy"))[0] == 500
    assert kis.client.post("/_sandbox/faults", json={"clear": True}).status_code == 200
    assert rt(kis.order("buy"))[1] == "0"
    bad = kis.client.post("/_sandbox/faults", json={"error_rate": 2})
    assert bad.status_code == 400 and "error_rate" in bad.json()["error"]
    unknown = kis.client.post("/_sandbox/faults", json={"explode": True})
    assert unknown.status_code == 400
    not_json = kis.client.post(
        "/_sandbox/faults", content=b"nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400


def test_expire_endpoint(kis: Caller) -> None:
    kis.token  # noqa: B018
    assert kis.client.post("/_sandbox/expire", json={}).status_code == 200
    assert rt(kis.order("buy")) == (500, "1", "EGW00123")


def test_apps_endpoint(kis: Caller) -> None:
    answer = kis.client.post("/_sandbox/apps", json={}).json()
    assert re.fullmatch(r"[A-Za-z0-9]{36}", answer["app_key"])
    assert len(answer["app_secret"]) == 180
    assert re.fullmatch(r"\d{8}-01", answer["account_no"])
    other = Caller(
        kis.sandbox, kis.client, (answer["app_key"], answer["app_secret"], answer["account_no"])
    )
    assert rt(other.order("buy"))[1] == "0"


def test_reset_endpoint(caller_for: Callable[..., Caller]) -> None:
    kis = caller_for("real", issue_interval=60)
    kis.order("buy", qty="3")
    kis.sandbox.set_faults("/uapi/hashkey", error_rate=1.0)
    assert kis.client.post("/_sandbox/reset", json={}).status_code == 200
    stats = kis.sandbox.stats()
    assert stats["orders"] == [] and stats["tokens_issued"] == 0 and stats["requests"] == {}
    # Tokens are forgotten, the issue interval starts over, holdings are gone, faults cleared.
    assert rt(kis.order("buy")) == (500, "1", "EGW00121")
    kis._token = None
    balance = kis.get(
        "/uapi/domestic-stock/v1/trading/inquire-balance", "TTTC8434R", kis.account_params()
    )
    assert (
        balance.json()["output1"] == []
        and balance.json()["output2"][0]["dnca_tot_amt"] == "100000000"
    )
    kis.hashkey(b"{}")
    # The ODNO sequence keeps increasing across a reset, so order numbers stay unique.
    assert int(kis.order("buy").json()["output"]["ODNO"]) > 1


def test_admin_is_loopback_only() -> None:
    state = SandboxState(
        "paper",
        token_ttl=60,
        reissue_window=60,
        issue_interval=0,
        rate_limit=0,
        page_size=5,
        seed=1,
    )
    app = build_app(SandboxControl(state, FaultPlan()))

    async def statuses(client_host: str) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(client_host, 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return [
                (await client.request(method, f"/_sandbox/{path}", json={})).status_code
                for method, path in (
                    ("GET", "stats"),
                    ("POST", "reset"),
                    ("POST", "apps"),
                    ("POST", "expire"),
                )
            ]

    assert asyncio.run(statuses("10.1.2.3")) == [403, 403, 403, 403]
    assert state.apps == {}  # the refused POST /apps registered nothing
    assert asyncio.run(statuses("::1")) == [200, 200, 200, 200]
    assert len(state.apps) == 1
