"""Bad input on the command line: the exit code, one line on stderr, and nothing sent.

Exit 2 for usage and configuration errors, 1 for KIS or network errors; the message is a single
``error: ...`` line naming the problem, never a traceback. Rows refused before any request
(``local``) must leave the sandbox's request counters untouched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from reliability_helpers import ORDER_PATH, PRICE_PATH, requests_sent
from typer.testing import CliRunner

from stock_manager.cli import app
from stock_manager.sandbox import KISSandbox

PRICE_ARGS = ("-p", "FID_COND_MRKT_DIV_CODE=J", "-p", "FID_INPUT_ISCD=005930")


@dataclass(frozen=True)
class CliCase:
    name: str
    args: tuple[str, ...]
    exit_code: int
    fragment: str
    where: Literal["local", "sandbox"] = "local"
    env: dict[str, str | None] = field(default_factory=dict)
    faults: dict[str, Any] | None = None
    stdin: str | None = None


def row(case: CliCase, *marks: pytest.MarkDecorator) -> Any:
    return pytest.param(case, id=f"{case.where}-{case.name}", marks=marks)


def _order_args(quantity: str) -> tuple[str, ...]:
    return ("kis", "request", "POST", ORDER_PATH, "--variant", "buy", "--body", quantity)


NOTHING: dict[str, str | None] = {"KIS_APP_KEY": None, "KIS_APP_SECRET": None, "KIS_BASE_URL": None}

ROWS = [
    row(
        CliCase(
            "nothing-configured",
            ("kis", "token", "issue"),
            2,
            "no KIS server configured",
            env=NOTHING,
        )
    ),
    row(
        CliCase(
            "bad-environment",
            ("kis", "token", "issue"),
            2,
            "KIS_ENVIRONMENT",
            env={"KIS_ENVIRONMENT": "staging"},
        )
    ),
    row(
        CliCase(
            "bad-account",
            ("kis", "token", "issue"),
            2,
            "KIS_ACCOUNT_NO",
            env={"KIS_ACCOUNT_NO": "12-34"},
        )
    ),
    row(
        CliCase(
            "corporate-on-paper",
            ("kis", "token", "issue"),
            2,
            "EGW00210",
            env={"KIS_CUSTTYPE": "B"},
        )
    ),
    row(
        CliCase(
            "negative-timeout",
            ("kis", "token", "issue"),
            2,
            "KIS_TIMEOUT",
            env={"KIS_TIMEOUT": "-1"},
        )
    ),
    row(
        CliCase(
            "negative-retries",
            ("kis", "token", "issue"),
            2,
            "KIS_MAX_RETRIES",
            env={"KIS_MAX_RETRIES": "-1"},
        )
    ),
    row(
        CliCase(
            "missing-secret",
            ("kis", "token", "issue"),
            2,
            "KIS_APP_SECRET",
            env={"KIS_APP_SECRET": None},
        )
    ),
    row(CliCase("method-delete", ("kis", "request", "DELETE", PRICE_PATH), 2, "GET or POST")),
    row(
        CliCase(
            "foreign-url",
            ("kis", "request", "GET", "https://evil.example.com" + PRICE_PATH, *PRICE_ARGS),
            2,
            "refusing to send KIS credentials",
        )
    ),
    row(CliCase("hashkey-of-a-list", ("kis", "hashkey", "[1, 2]"), 2, "must be a JSON object")),
    row(CliCase("hashkey-not-json", ("kis", "hashkey", "{PDNO: 005930}"), 2, "not valid JSON")),
    row(
        CliCase(
            "hashkey-missing-file", ("kis", "hashkey", "@/nonexistent/body.json"), 2, "cannot read"
        )
    ),
    row(
        CliCase("hashkey-from-a-device", ("kis", "hashkey", "@/dev/zero"), 2, "not a regular file")
    ),
    row(
        CliCase(
            "hashkey-stdin-not-json",
            ("kis", "hashkey", "-"),
            2,
            "stdin is not valid JSON",
            stdin="\x00",
        )
    ),
    row(
        CliCase(
            "order-without-variant",
            ("kis", "request", "POST", ORDER_PATH, "--body", "{}"),
            2,
            "--variant",
        )
    ),
    row(
        CliCase(
            "unknown-api-id",
            ("kis", "request", "GET", "--api-id", "inquire-prices"),
            2,
            "apis --search",
        )
    ),
    row(
        CliCase(
            "paper-unsupported",
            ("kis", "tr-id", "order-resv", "--paper"),
            2,
            "not offered in paper",
        )
    ),
    row(
        CliCase(
            "param-without-value",
            ("kis", "request", "GET", PRICE_PATH, "-p", "FID"),
            2,
            "KEY=VALUE",
        )
    ),
    row(
        CliCase(
            "get-with-a-body",
            ("kis", "request", "GET", PRICE_PATH, "--body", "{}"),
            2,
            "GET has no body",
        )
    ),
    row(
        CliCase(
            "tr-id-and-api-id",
            ("kis", "request", "GET", PRICE_PATH, "--tr-id", "X", "--api-id", "inquire-price"),
            2,
            "not both",
        )
    ),
    row(
        CliCase(
            "infinite-rate-limit",
            ("kis", "request", "GET", PRICE_PATH, *PRICE_ARGS),
            2,
            "KIS_RATE_LIMIT_PER_SECOND",
            env={"KIS_RATE_LIMIT_PER_SECOND": "inf"},
        ),
    ),
    row(
        CliCase(
            "infinite-timeout",
            ("kis", "request", "GET", PRICE_PATH, *PRICE_ARGS),
            2,
            "KIS_TIMEOUT",
            env={"KIS_TIMEOUT": "inf"},
        ),
    ),
    row(
        CliCase(
            "param-lone-surrogate",
            ("kis", "request", "GET", PRICE_PATH, *PRICE_ARGS, "-p", "FID_INPUT_ISCD=\udcff"),
            2,
            "GET parameter",
        ),
    ),
    row(
        CliCase(
            "body-nested-too-deep", ("kis", "hashkey", '{"a":' * 3000 + "1" + "}" * 3000), 2, "JSON"
        ),
    ),
    row(
        CliCase(
            "wrong-secret",
            ("kis", "token", "issue"),
            1,
            "EGW00105",
            "sandbox",
            env={"KIS_APP_SECRET": "x" * 180},
        )
    ),
    row(CliCase("not-enough-cash", _order_args("QTY"), 1, "APBK0952", "sandbox")),
    row(
        CliCase(
            "html-error-page",
            ("kis", "request", "GET", PRICE_PATH, *PRICE_ARGS),
            1,
            "HTML page",
            "sandbox",
            faults={"path": PRICE_PATH, "garble_rate": 1.0, "garble_kind": "html"},
        )
    ),
    row(
        CliCase(
            "order-reply-lost",
            _order_args("QTY"),
            1,
            "may or may not have been placed",
            "sandbox",
            faults={"path": ORDER_PATH, "drop_after_rate": 1.0},
        )
    ),
]


@pytest.mark.parametrize("case", ROWS)
def test_cli_bad_input(
    case: CliCase, rel_sandbox: KISSandbox, tmp_path: Path, figures: Counter[str]
) -> None:
    figures["inputs tried: CLI rows"] += 1
    env = _env(rel_sandbox, tmp_path)
    env.update(case.env)
    args = tuple(_order_body(rel_sandbox, arg, case.name) for arg in case.args)
    if case.faults is not None:
        rel_sandbox.set_faults(**case.faults)
    before = requests_sent(rel_sandbox)
    result = CliRunner().invoke(app, list(args), env=env, input=case.stdin)
    sent = requests_sent(rel_sandbox) - before

    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"one line on stderr, got {len(lines)}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output + result.stderr
    assert "unexpected" not in lines[0], lines[0]
    assert result.exit_code == case.exit_code, lines[0]
    assert case.fragment in lines[0], lines[0]
    if case.where == "local":
        assert sent == 0, f"refused locally, yet {sent} request(s) were sent"
    else:
        assert sent >= 1


def _env(sandbox: KISSandbox, tmp_path: Path) -> dict[str, str | None]:
    return {
        "KIS_BASE_URL": sandbox.base_url,
        "KIS_APP_KEY": sandbox.app_key,
        "KIS_APP_SECRET": sandbox.app_secret,
        "KIS_ACCOUNT_NO": sandbox.account_no,
        "KIS_ENVIRONMENT": sandbox.environment,
        "KIS_TOKEN_CACHE_DIR": str(tmp_path / "token-cache"),
        "KIS_TOKEN_ISSUE_INTERVAL": "0",
        "KIS_RATE_LIMIT_PER_SECOND": "100000",
        "KIS_MAX_RETRIES": "0",
        "COLUMNS": "250",
    }


def _order_body(sandbox: KISSandbox, arg: str, name: str) -> str:
    if arg != "QTY":
        return arg
    cano, _, product = sandbox.account_no.partition("-")
    # At market: more shares than the account's cash buys (not-enough-cash), or one share
    # (order-reply-lost). A limit price would meet the day's band before the cash check.
    quantity = "1000000" if name == "not-enough-cash" else "1"
    return (
        f'{{"CANO": "{cano}", "ACNT_PRDT_CD": "{product}", "PDNO": "005930", '
        f'"ORD_DVSN": "01", "ORD_QTY": "{quantity}", "ORD_UNPR": "0"}}'
    )
