"""``stock-manager demo``: the embedded-sandbox walk-through, and ``--live`` against a sandbox."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cli_helpers import CLI, json_of, printed, run_bare

DEMO_TIMEOUT = 60
STEPS = [
    "access token",
    "current price",
    "hashkey",
    "signed buy order",
    "more signed orders",
    "balance across pages",
    "approval key",
    "revoke",
]
# What the embedded sandbox's credentials look like: a JWT, a 36-character key, a long
# base64 secret, a uuid-like approval key. None may be printed whole.
SECRET_SHAPES = [
    re.compile(r"eyJ[\w-]{8,}"),
    re.compile(r"(?<![\w/+])[A-Za-z0-9]{36}(?![\w/+])"),
    re.compile(r"[A-Za-z0-9+/]{40,}"),
    re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
]


def _stock_manager() -> str:
    found = shutil.which("stock-manager", path=str(Path(sys.executable).parent))
    assert found, "the stock-manager console script is not installed in this environment"
    return found


def test_demo_exits_0_in_a_fresh_process(tmp_path: Path) -> None:
    cache = tmp_path / "user-token-cache"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KIS_")}
    # A user's settings must not leak into the embedded demo, nor the demo into their cache.
    env.update(
        KIS_APP_KEY="P" * 36,
        KIS_APP_SECRET="S" * 180,
        KIS_BASE_URL="http://127.0.0.1:9",
        KIS_CUSTTYPE="B",
        KIS_ENVIRONMENT="real",
        KIS_TOKEN_CACHE_DIR=str(cache),
        COLUMNS="120",
    )
    done = subprocess.run(
        [_stock_manager(), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for number, step in enumerate(STEPS, start=1):
        assert f"{number}. {step}" in done.stdout
    assert "3 pages" in done.stdout
    assert "Done." in done.stdout
    for shape in SECRET_SHAPES:
        assert not shape.search(done.stdout + done.stderr), shape.pattern
    assert not cache.exists() or not any(cache.iterdir())


def test_demo_json_reports_every_step() -> None:
    result = run_bare("demo", "--json")
    assert result.exit_code == 0, printed(result)
    document = json_of(result)
    assert document["mode"] == "sandbox"
    assert document["ok"] is True
    assert [step["name"] for step in document["steps"]] == STEPS
    assert all(step["ok"] and step["error"] is None for step in document["steps"])
    balance = document["steps"][STEPS.index("balance across pages")]["result"]
    assert balance["pages"] >= 2
    assert len(balance["holdings"]) == 5
    stats = document["sandbox_stats"]
    assert stats == {
        "tokens_issued": 1,
        "tokens_revoked": 1,
        "hashkeys_issued": 6,
        "approval_keys_issued": 1,
        "orders": 5,
        "rate_limited": 0,
    }
    for shape in SECRET_SHAPES:
        assert not shape.search(printed(result)), shape.pattern


def test_live_demo_is_read_only_by_default(cli: CLI) -> None:
    result = cli("demo", "--live")
    assert result.exit_code == 0, printed(result)
    stats = cli.sandbox.stats()
    assert stats["orders"] == []
    assert stats["tokens_revoked"] == 0  # the user's token is left alone
    assert stats["tokens_issued"] == 1
    assert stats["hashkeys_issued"] == 1
    assert "balance across pages" in result.stdout
    assert "signed buy order" not in result.stdout


def test_live_demo_places_one_order_when_asked(cli: CLI) -> None:
    result = cli("demo", "--live", "--place-order", "--symbol", "000660", "--json")
    assert result.exit_code == 0, printed(result)
    document = json_of(result)
    assert document["mode"] == "live"
    assert "signed buy order" in [step["name"] for step in document["steps"]]
    orders = cli.sandbox.stats()["orders"]
    assert len(orders) == 1
    assert orders[0]["body"]["PDNO"] == "000660"


def test_live_demo_asks_before_a_real_order(real_cli: CLI) -> None:
    declined = real_cli("demo", "--live", "--place-order", input="n\n")
    assert declined.exit_code != 0
    assert real_cli.sandbox.stats()["orders"] == []
    needs_yes = real_cli("demo", "--live", "--place-order", "--json")
    assert needs_yes.exit_code == 2
    assert "--yes" in needs_yes.stderr
    confirmed = real_cli("demo", "--live", "--place-order", "--yes")
    assert confirmed.exit_code == 0, printed(confirmed)
    assert [order["tr_id"] for order in real_cli.sandbox.stats()["orders"]] == ["TTTC0012U"]


def test_live_demo_needs_credentials() -> None:
    result = run_bare("demo", "--live")
    assert result.exit_code == 2
    assert "KIS_APP_KEY" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_live_demo_stops_at_an_api_error(cli: CLI) -> None:
    result = cli("demo", "--live", "--json", env={"KIS_APP_KEY": "Z" * 36})
    assert result.exit_code == 1
    document = json_of(result)
    assert document["ok"] is False
    assert document["steps"][0]["error"].startswith("EGW00103")
    assert "EGW00103" in result.stderr
