"""Failures: one line on stderr, exit 1 for KIS/network errors, 2 for usage/config errors."""

from __future__ import annotations

import socket

import pytest
from cli_helpers import CLI, printed, run_bare

PRICE = ["kis", "request", "GET", "/uapi/domestic-stock/v1/quotations/inquire-price"]
PRICE_PARAMS = ["-p", "FID_COND_MRKT_DIV_CODE=J", "-p", "FID_INPUT_ISCD=005930"]


def _one_error_line(result: object, *needles: str) -> str:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in printed(result)
    return lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([*PRICE, "--param", "FID_INPUT_ISCD"], "KEY=VALUE"),
        ([*PRICE, "--param", "=005930"], "KEY=VALUE"),
        ([*PRICE, "--body", "{}"], "GET has no body"),
        (["kis", "request", "PUT", "/uapi/x"], "GET or POST"),
        (["kis", "request", "GET"], "PATH"),
        (
            ["kis", "request", "GET", "/uapi/x", "--tr-id", "A", "--api-id", "inquire-price"],
            "not both",
        ),
        (["kis", "hashkey", "{not json"], "not valid JSON"),
        (["kis", "hashkey", "[1, 2]"], "JSON object"),
        (["kis", "hashkey", "@/nonexistent/order.json"], "cannot read"),
        (
            ["kis", "request", "POST", "--api-id", "order-cash", "--body", "{}"],
            "--variant sell|buy",
        ),
        (["kis", "request", "GET", "--api-id", "no-such-api"], "kis apis"),
        (["kis", "request", "GET", "https://example.com/uapi/x", "--tr-id", "X"], "refusing"),
        (
            ["kis", "request", "GET", "--api-id", "inquire-price", *PRICE_PARAMS, "--hashkey"],
            "POST",
        ),
    ],
)
def test_usage_errors_exit_2(cli: CLI, args: list[str], needle: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2, printed(result)
    assert result.stdout == ""
    _one_error_line(result, needle)
    assert cli.sandbox.stats()["orders"] == []


def test_typer_usage_error_exits_2(cli: CLI) -> None:
    result = cli("kis", "request")  # METHOD missing
    assert result.exit_code == 2


def test_nothing_configured_points_at_the_sandbox_and_the_demo() -> None:
    result = run_bare("kis", "token", "issue")
    assert result.exit_code == 2
    line = _one_error_line(result, "stock-manager sandbox serve", "stock-manager demo")
    assert "KIS_APP_KEY" in line


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"KIS_ACCOUNT_NO": "12-34"}, "KIS_ACCOUNT_NO"),
        ({"KIS_ENVIRONMENT": "production"}, "KIS_ENVIRONMENT"),
        ({"KIS_TIMEOUT": "-1"}, "KIS_TIMEOUT"),
        ({"KIS_APP_SECRET": None}, "KIS_APP_SECRET"),
    ],
)
def test_config_errors_exit_2(cli: CLI, env: dict[str, str | None], needle: str) -> None:
    result = cli("kis", "hashkey", '{"a": "1"}', env=env)
    assert result.exit_code == 2, printed(result)
    _one_error_line(result, needle)


def test_bad_env_flag_is_refused_by_the_parser(cli: CLI) -> None:
    result = cli("--env", "prod", "kis", "apis")
    assert result.exit_code == 2
    assert "prod" in result.stderr


def test_api_error_names_the_kis_code(cli: CLI) -> None:
    result = cli("kis", "token", "issue", "--app-key", "X" * 36)
    assert result.exit_code == 1
    _one_error_line(result, "EGW00103", "KIS_APP_KEY")


def test_wrong_secret_is_an_api_error_without_the_secret(cli: CLI) -> None:
    wrong = "W" * 180
    cli.learn(wrong)
    result = cli("kis", "approval-key", env={"KIS_APP_SECRET": wrong})
    assert result.exit_code == 1
    _one_error_line(result, "EGW00105")


def test_gateway_refusal_and_business_rejection_exit_1(cli: CLI) -> None:
    refused = cli(*PRICE, *PRICE_PARAMS, "--tr-id", "TTTC0000R")
    assert refused.exit_code == 1
    _one_error_line(refused, "OPSQ0002", "tr_id=TTTC0000R")

    cano, product = cli.sandbox.account_no.split("-")
    body = (
        f'{{"CANO": "{cano}", "ACNT_PRDT_CD": "{product}", "PDNO": "005930", '
        '"ORD_DVSN": "00", "ORD_QTY": "0", "ORD_UNPR": "70000"}'
    )
    rejected = cli(
        "kis", "request", "POST", "--api-id", "order-cash", "--variant", "buy", "--body", body
    )
    assert rejected.exit_code == 1
    _one_error_line(rejected, "APBK0634")


def test_a_server_that_is_not_there_exits_1(cli: CLI) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe is closed.
    result = cli(
        "kis",
        "hashkey",
        "{}",
        env={"KIS_BASE_URL": f"http://127.0.0.1:{port}", "KIS_MAX_RETRIES": "0"},
    )
    assert result.exit_code == 1
    _one_error_line(result, "connect")


def test_debug_adds_the_traceback_and_logs_but_no_secret(cli: CLI) -> None:
    result = cli("--debug", *PRICE, *PRICE_PARAMS, "--tr-id", "TTTC0000R")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "OPSQ0002" in result.stderr.splitlines()[-1]
    assert "stock_manager.kis" in result.stderr  # the DEBUG request log
    ok = cli(*PRICE, *PRICE_PARAMS, "--debug")
    assert ok.exit_code == 0
    assert "inquire-price" in ok.stderr


def test_app_secret_flag_works_and_warns(cli: CLI) -> None:
    result = cli(
        "kis", "hashkey", "{}", "--app-secret", cli.sandbox.app_secret, env={"KIS_APP_SECRET": None}
    )
    assert result.exit_code == 0, printed(result)
    assert "KIS_APP_SECRET" in result.stderr  # the warning
    assert len(result.stdout.strip()) == 64
