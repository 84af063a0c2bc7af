"""Everyday commands against the sandbox: price, balance, buy/sell, orders, cancel, holidays,
symbol; the real-domain confirmation (answered through stdin); ``--json`` errors."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from cli_helpers import CLI, json_of

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient


def _client(cli: CLI) -> KISRestClient:
    config = KISConfig(
        _env_file=None,
        kis_app_key=cli.sandbox.app_key,
        kis_app_secret=cli.sandbox.app_secret,
        base_url=cli.sandbox.base_url,
        environment=cli.sandbox.environment,
        account_no=cli.sandbox.account_no,
        token_store="memory",
    )
    return KISRestClient(config)


def _resting_price(cli: CLI, symbol: str) -> str:
    """A limit buy price that rests (the lower limit: a valid tick, far below the market)."""
    with _client(cli) as client:
        lower = client.quote(symbol).lower_limit
    assert lower is not None
    return str(lower)


def _symbols_env(tmp_path: Path) -> dict[str, str | None]:
    # The symbol masters are cached under the user cache directory: a fresh one per test.
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}


def test_price_table_json_csv_and_korean_labels(cli: CLI, tmp_path: Path) -> None:
    env = _symbols_env(tmp_path)
    as_json = cli("kis", "price", "005930", "000660", "--json", env=env)
    assert as_json.exit_code == 0, as_json.output
    quotes = json_of(as_json)["quotes"]
    assert [q["symbol"] for q in quotes] == ["005930", "000660"]
    assert quotes[0]["name"] == "삼성전자"
    price = Decimal(quotes[0]["price"])
    assert price > 0

    table = cli("kis", "price", "005930", "000660", env=env)
    assert table.exit_code == 0, table.output
    assert f"{price:,}" in table.stdout  # thousands separators in the table
    assert "삼성전자" in table.stdout and "volume" in table.stdout

    korean = cli("kis", "price", "005930", "--labels", "ko", env=env)
    assert "현재가" in korean.stdout and "종목명" in korean.stdout

    as_csv = cli("kis", "price", "005930", "--csv", "--fields", "symbol,price", env=env)
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["symbol", "price"]
    assert rows[1][0] == "005930" and Decimal(rows[1][1]) == price  # plain number in CSV


def test_unknown_field_and_bad_labels_are_usage_errors(cli: CLI, tmp_path: Path) -> None:
    env = _symbols_env(tmp_path)
    unknown = cli("kis", "price", "005930", "--fields", "nope", env=env)
    assert unknown.exit_code == 2
    assert "no field 'nope'" in unknown.stderr and "price" in unknown.stderr
    labels = cli("kis", "price", "005930", "--labels", "fr")
    assert labels.exit_code == 2 and "--labels takes en or ko" in labels.stderr


def test_buy_then_balance_shows_the_holding_and_cash(cli: CLI) -> None:
    bought = cli("kis", "buy", "005930", "7", "--json")
    assert bought.exit_code == 0, bought.output
    order = json_of(bought)["order"]
    assert order["side"] == "buy" and order["quantity"] == "7" and order["odno"]

    balance = cli("kis", "balance", "--json")
    assert balance.exit_code == 0, balance.output
    document = json_of(balance)
    assert document["account"] == cli.sandbox.account_no  # filled from the configuration
    held = {h["symbol"]: h for h in document["holdings"]}
    assert held["005930"]["quantity"] == "7"
    assert Decimal(document["cash"]["cash"]) > 0

    table = cli("kis", "balance", "--labels", "ko")
    assert table.exit_code == 0, table.output
    assert "삼성전자" in table.stdout and "보유수량" in table.stdout and "예수금" in table.stdout


def test_limit_order_pending_then_cancelled(cli: CLI) -> None:
    price = _resting_price(cli, "000660")
    placed = cli("kis", "buy", "000660", "3", "--price", price, "--json")
    assert placed.exit_code == 0, placed.output
    odno = json_of(placed)["order"]["odno"]

    pending = cli("kis", "orders", "--json")
    assert pending.exit_code == 0, pending.output
    orders = json_of(pending)["orders"]
    assert [(o["odno"], o["remaining"]) for o in orders] == [(odno, "3")]
    shown = cli("kis", "orders")
    assert odno in shown.stdout and f"{Decimal(price):,}" in shown.stdout

    cancelled = cli("kis", "cancel", odno.lstrip("0"), "--json")
    assert cancelled.exit_code == 0, cancelled.output
    cancel = json_of(cancelled)["order"]
    assert cancel["action"] == "cancel" and cancel["original_odno"] == odno
    assert json_of(cli("kis", "orders", "--json"))["orders"] == []

    again = cli("kis", "cancel", odno, "--json")
    assert again.exit_code == 2
    assert json_of(again)["error"]["code"] == "usage"


def test_sell_of_what_is_not_held_is_kis_refusal_as_json(cli: CLI) -> None:
    result = cli("kis", "sell", "005930", "5", "--json")
    assert result.exit_code == 1, result.output
    error = json_of(result)["error"]
    # KIS's own message code, not a kind: the sandbox refuses the sale of shares not held.
    assert error["code"][:1].isalpha() and error["code"] not in ("usage", "unexpected")
    assert error["message"]
    assert cli.sandbox.stats()["orders"] == []


def test_real_domain_order_asks_through_stdin(real_cli: CLI) -> None:
    declined = real_cli("kis", "buy", "005930", "1", input="n\n")
    assert declined.exit_code == 1
    assert "Send it?" in declined.stderr and "not sent" in declined.stderr
    assert real_cli.sandbox.account_no in declined.stderr  # the prompt names the account
    no_answer = real_cli("kis", "buy", "005930", "1", input="")
    assert no_answer.exit_code == 1 and "not sent" in no_answer.stderr
    needs_yes = real_cli("kis", "buy", "005930", "1", "--json")
    assert needs_yes.exit_code == 2
    assert "--yes" in json_of(needs_yes)["error"]["message"]
    assert real_cli.sandbox.stats()["orders"] == []

    agreed = real_cli("kis", "buy", "005930", "1", input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert "order placed" in agreed.stdout
    with_yes = real_cli("kis", "buy", "005930", "1", "--yes", "--json")
    assert with_yes.exit_code == 0, with_yes.output
    assert "Send it?" not in with_yes.stderr
    assert len(real_cli.sandbox.stats()["orders"]) == 2


def test_real_domain_cancel_asks_too(real_cli: CLI) -> None:
    price = _resting_price(real_cli, "000660")
    placed = real_cli("kis", "buy", "000660", "1", "--price", price, "--yes", "--json")
    assert placed.exit_code == 0, placed.output
    odno = json_of(placed)["order"]["odno"]
    declined = real_cli("kis", "cancel", odno, input="n\n")
    assert declined.exit_code == 1 and "not sent" in declined.stderr
    assert [o["odno"] for o in json_of(real_cli("kis", "orders", "--json"))["orders"]] == [odno]


def test_request_of_an_order_api_asks_on_real_only(real_cli: CLI, cli: CLI) -> None:
    args = ("kis", "request", "POST", "--api-id", "order-cash", "--variant", "buy")
    body = ("-p", "PDNO=005930", "-p", "ORD_DVSN=01", "-p", "ORD_QTY=1", "-p", "ORD_UNPR=0")
    declined = real_cli(*args, *body, input="n\n")
    assert declined.exit_code == 1 and "Send it?" in declined.stderr
    assert real_cli.sandbox.stats()["orders"] == []
    # The account (CANO, ACNT_PRDT_CD) comes from the configuration.
    sent = real_cli(*args, *body, "--yes", "--json")
    assert sent.exit_code == 0, sent.output
    assert json_of(sent)["body"]["output"]["ODNO"]

    paper = cli(*args, *body, "--json")  # paper never asks
    assert paper.exit_code == 0, paper.output
    assert "Send it?" not in paper.stderr
    assert len(cli.sandbox.stats()["orders"]) == 1


def test_holidays_lists_closed_days(real_cli: CLI) -> None:
    result = real_cli("kis", "holidays", "--from", "2026-12-01", "--days", "14", "--json")
    assert result.exit_code == 0, result.output
    days = json_of(result)["days"]
    assert days and all(not d["open"] for d in days)
    weekend = {d["date"] for d in days if d["weekday"] in ("Sat", "Sun")}
    assert {"2026-12-05", "2026-12-06", "2026-12-12", "2026-12-13"} <= weekend
    shown = real_cli("kis", "holidays", "--from", "2026-12-01", "--days", "14", "--labels", "ko")
    assert "2026-12-05" in shown.stdout and "토" in shown.stdout
    bad = real_cli("kis", "holidays", "--from", "December")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr


def test_symbol_by_name_and_code(cli: CLI, tmp_path: Path) -> None:
    env = _symbols_env(tmp_path)
    by_name = cli("kis", "symbol", "삼성전자", "--exact", "--json", env=env)
    assert by_name.exit_code == 0, by_name.output
    symbols = json_of(by_name)["symbols"]
    assert symbols[0]["code"] == "005930" and symbols[0]["market"] == "KOSPI"
    by_code = cli("kis", "symbol", "005930", env=env)
    assert by_code.exit_code == 0 and "삼성전자" in by_code.stdout
    nothing = cli("kis", "symbol", "없는종목이름", env=env)
    assert nothing.exit_code == 0 and "no symbol matches" in nothing.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("kis", "price", "005930"),
        ("kis", "balance"),
        ("kis", "orders"),
        ("kis", "token", "issue"),
    ],
)
def test_connection_refused_is_a_json_error_with_a_hint(cli: CLI, args: tuple[str, ...]) -> None:
    result = cli(*args, "--json", env={"KIS_BASE_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    error = json_of(result)["error"]
    assert error["code"] == "connect"
    assert "sandbox serve" in error["message"] and "KIS_BASE_URL" in error["message"]
    assert "sandbox serve" in result.stderr  # people still get the line on stderr


def test_usage_error_is_a_json_error_with_exit_2(cli: CLI) -> None:
    result = cli("kis", "request", "PUT", "/uapi/x", "--json")
    assert result.exit_code == 2
    assert json_of(result) == {
        "error": {"code": "usage", "message": "METHOD must be GET or POST, not 'PUT'"}
    }
