"""``kis hashkey``, ``kis approval-key`` and ``kis request`` against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import CLI, json_of

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.bodies import balance_params
from stock_manager.sandbox import KISSandbox

ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"


def _order(cli: CLI, symbol: str = "005930") -> dict[str, str]:
    cano, product = cli.sandbox.account_no.split("-")
    return {
        "CANO": cano,
        "ACNT_PRDT_CD": product,
        "PDNO": symbol,
        "ORD_DVSN": "01",
        "ORD_QTY": "1",
        "ORD_UNPR": "0",
    }


def _library_hash(cli: CLI, body: dict[str, str]) -> str:
    config = KISConfig(
        _env_file=None,
        kis_app_key=cli.sandbox.app_key,
        kis_app_secret=cli.sandbox.app_secret,
        base_url=cli.sandbox.base_url,
        token_store="memory",
    )
    with KISRestClient(config) as client:
        return client.hashkey(body)


def test_hashkey_inline_file_and_stdin_agree(cli: CLI, tmp_path: Path) -> None:
    body = _order(cli)
    text = json.dumps(body)
    path = tmp_path / "order.json"
    path.write_text(text, encoding="utf-8")

    inline = cli("kis", "hashkey", text)
    from_file = cli("kis", "hashkey", f"@{path}")
    from_stdin = cli("kis", "hashkey", "-", input=text)
    for result in (inline, from_file, from_stdin):
        assert result.exit_code == 0, result.output
    value = inline.stdout.strip()
    assert len(value) == 64  # the sandbox's HMAC-SHA256 in hex, alone on stdout
    assert from_file.stdout.strip() == from_stdin.stdout.strip() == value
    assert value == _library_hash(cli, body)
    assert cli.sandbox.stats()["hashkeys_issued"] == 4


def test_hashkey_json_echoes_the_body(cli: CLI) -> None:
    body = _order(cli)
    result = cli("kis", "hashkey", json.dumps(body), "--json")
    assert result.exit_code == 0
    document = json_of(result)
    assert set(document) == {"hash", "body"}
    assert document["body"] == body


def test_approval_key_masked_unless_revealed(cli: CLI) -> None:
    masked = cli("kis", "approval-key", "--json")
    assert masked.exit_code == 0, masked.output
    document = json_of(masked)
    assert set(document) == {"environment", "approval_key", "approval_key_fingerprint", "revealed"}
    assert document["approval_key"].endswith("…")
    assert document["revealed"] is False

    revealed = cli("kis", "approval-key", "--reveal", reveal=True)
    key = revealed.stdout.strip()
    assert len(key) >= 32
    cli.learn(key)  # also checks the earlier, masked output does not contain it
    people = cli("kis", "approval-key")
    assert "approval key" in people.stdout
    assert cli.sandbox.stats()["approval_keys_issued"] >= 1


def test_request_get_with_params(cli: CLI) -> None:
    result = cli(
        "kis",
        "request",
        "GET",
        PRICE_PATH,
        "--param",
        "FID_COND_MRKT_DIV_CODE=J",
        "-p",
        "FID_INPUT_ISCD=005930",
        "--json",
    )
    assert result.exit_code == 0, result.output
    document = json_of(result)
    assert set(document) == {"status_code", "tr_id", "tr_cont", "gt_uid", "body"}
    assert document["status_code"] == 200
    assert document["tr_id"] == "FHKST01010100"
    assert int(document["body"]["output"]["stck_prpr"]) > 0


def test_request_for_people_renders_tables(cli: CLI) -> None:
    result = cli(
        "kis", "request", "get", "--api-id", "inquire-price", "-p", "FID_COND_MRKT_DIV_CODE=J",
        "-p", "FID_INPUT_ISCD=000660",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "HTTP 200" in result.stdout
    assert "stck_prpr" in result.stdout
    assert "FHKST01010100" in result.stdout


def test_request_signed_order_from_a_file(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(_order(cli, "035420")), encoding="utf-8")
    result = cli(
        "kis", "request", "POST", "--api-id", "order-cash", "--variant", "buy", "--hashkey",
        "--body", f"@{path}", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    odno = json_of(result)["body"]["output"]["ODNO"]
    orders = cli.sandbox.stats()["orders"]
    assert [(order["odno"], order["tr_id"]) for order in orders] == [(odno, "VTTC0012U")]
    assert orders[0]["body"]["PDNO"] == "035420"


def test_request_params_complete_a_post_body(cli: CLI) -> None:
    body = _order(cli, "000660")
    body.pop("ORD_QTY")
    result = cli(
        "kis", "request", "POST", ORDER_PATH, "--tr-id", "VTTC0012U", "--body", json.dumps(body),
        "--param", "ORD_QTY=2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert cli.sandbox.stats()["orders"][0]["body"]["ORD_QTY"] == "2"


@pytest.fixture
def paged_cli(sandbox_factory: Callable[..., KISSandbox], tmp_path: Path) -> CLI:
    """A sandbox with 2 balance rows per page, holding 5 stocks: 3 pages."""
    cli = CLI(sandbox_factory("paper", page_size=2), tmp_path / "token-cache")
    for symbol in SYMBOLS:
        placed = cli(
            "kis", "request", "POST", "--api-id", "order-cash", "--variant", "buy",
            "--body", json.dumps(_order(cli, symbol)),
        )  # fmt: skip
        assert placed.exit_code == 0, placed.output
    return cli


def _balance_params(cli: CLI) -> list[str]:
    """``-p KEY=VALUE`` for every key of the first inquire-balance page (bodies.balance_params)."""
    config = KISConfig(
        _env_file=None,
        kis_app_key=cli.sandbox.app_key,
        kis_app_secret=cli.sandbox.app_secret,
        base_url=cli.sandbox.base_url,
        account_no=cli.sandbox.account_no,
    )
    return [
        arg for key, value in balance_params(config).items() for arg in ("-p", f"{key}={value}")
    ]


def test_request_all_pages(paged_cli: CLI) -> None:
    cli = paged_cli
    args = ["kis", "request", "GET", "--api-id", "inquire-balance", *_balance_params(cli)]
    one = cli(*args, "--json")
    assert json_of(one)["tr_cont"] == "M"  # more pages follow
    people = cli(*args)
    assert "--all-pages" in people.stdout

    every = cli(*args, "--all-pages", "--json")
    assert every.exit_code == 0, every.output
    document = json_of(every)
    assert document["page_count"] == 3
    assert [page["tr_cont"] for page in document["pages"]] == ["M", "M", "D"]
    rows = [row["pdno"] for page in document["pages"] for row in page["body"]["output1"]]
    assert sorted(rows) == sorted(SYMBOLS)

    table = cli(*args, "--all-pages")
    assert "3 pages" in table.stdout
    for symbol in SYMBOLS:
        assert symbol in table.stdout


SYMBOLS = ("005930", "000660", "035420", "035720", "051910")


def test_request_all_pages_refuses_a_post_before_sending(cli: CLI) -> None:
    # Regression (D1): paging re-sent the POST for every page a reply announced.
    placed = cli(
        "kis", "request", "POST", "--api-id", "order-cash", "--variant", "buy",
        "--body", json.dumps(_order(cli)), "--all-pages",
    )  # fmt: skip
    assert placed.exit_code == 2, placed.output
    assert "--all-pages" in placed.output and "GET" in placed.output
    stats = cli.sandbox.stats()
    assert stats["orders"] == []
    assert stats["requests"].get(ORDER_PATH, 0) == 0
