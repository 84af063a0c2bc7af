"""``stock-manager kis watch``: realtime records from the sandbox's websocket, in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import CLI

from stock_manager.sandbox import KISSandbox, ManualClock


@pytest.fixture
def watch_cli(sandbox_factory: Callable[..., KISSandbox], tmp_path: Path) -> CLI:
    """The CLI on a paper sandbox whose market stands at 10:00 and streams every 50 ms."""
    sandbox = sandbox_factory(
        "paper",
        seed=7,
        clock=ManualClock(),
        market_time="2026-03-10T10:00:00+09:00",
        stream_interval=0.05,
    )
    cli = CLI(sandbox, tmp_path / "token-cache")
    cli.env["KIS_WEBSOCKET_URL"] = sandbox.websocket_url
    return cli


def test_json_lines_one_record_each(watch_cli: CLI) -> None:
    result = watch_cli("kis", "watch", "H0STCNT0", "005930", "000660", "--json", "--count", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        record = json.loads(line)
        assert record["tr_id"] == "H0STCNT0"
        assert record["key"] in ("005930", "000660")
        assert record["fields"]["MKSC_SHRN_ISCD"] == record["key"]
        assert int(record["fields"]["STCK_PRPR"]) > 0


def test_the_table_shows_a_row_per_key(watch_cli: CLI) -> None:
    result = watch_cli("kis", "watch", "realtime-stock-ccnl-krx", "005930", "--count", "2")
    assert result.exit_code == 0, result.stderr
    assert "005930" in result.stdout and "STCK_PRPR" in result.stdout


def test_seconds_stops_the_watch(watch_cli: CLI) -> None:
    result = watch_cli("kis", "watch", "H0STASP0", "005930", "--json", "--seconds", "0.5")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip(), "no record in half a second"
    assert all(json.loads(line)["tr_id"] == "H0STASP0" for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("tr", "reason"),
    [("NOSUCHTR", "NOSUCHTR"), ("H0UNCNT0", "paper")],
)
def test_a_tr_that_cannot_be_watched_is_one_line_and_exit_2(
    watch_cli: CLI, tr: str, reason: str
) -> None:
    result = watch_cli("kis", "watch", tr, "005930", "--count", "1")
    assert result.exit_code == 2
    assert result.stdout == ""
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and reason in error_lines[0]
