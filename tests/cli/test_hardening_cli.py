"""The command line against hostile input: crafted replies, endless bodies, bad serve options.

Replies no faithful KIS would send (markup and escape sequences in headers and fields, a HASH
that is a terminal command) come from a small raw server on loopback; the rest runs the CLI
in-process, or as a process where only a process can show the fault (stdout on a full disk,
stdin that never ends).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import WIDE, printed
from reliability.raw_server import RawServer, Reply, token_reply
from typer.testing import CliRunner

from stock_manager.adapters.broker.kis import KISBusinessError, KISConfig, KISRestClient
from stock_manager.cli import app
from stock_manager.cli.demo_flow import buy_steps
from stock_manager.cli.output import Output, mask_fields
from stock_manager.cli.transcript import Transcript
from stock_manager.sandbox import KISSandbox

ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
HASHKEY_PATH = "/uapi/hashkey"
ACCOUNT = "12345678-01"
SECRET = "raw-server-app-secret-" + "s" * 60
ODNO = "0000117057"
ORDER_BODY = json.dumps(
    {
        "CANO": "12345678",
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "ORD_DVSN": "01",
        "ORD_QTY": "1",
        "ORD_UNPR": "0",
    }
)
ORDER_ARGS = ("kis", "request", "POST", ORDER_PATH, "--variant", "buy", "--body", ORDER_BODY)
PRICE_ARGS = (
    *("kis", "request", "GET", PRICE_PATH),
    *("-p", "FID_COND_MRKT_DIV_CODE=J", "-p", "FID_INPUT_ISCD=005930"),
)
# Markup that, read as markup, ends the dim style and prints a red verdict of its own.
FORGED = "[/dim][bold red]ORDER REJECTED - nothing was placed[/]"
# Characters a terminal acts on: ESC (OSC title, clear screen), BEL, CR, DEL, C1 CSI, and
# the right-to-left override.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\r\x7f\x9b2J\u202egnp.exe"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TIMEOUT = 60


def _accepted_order(**headers: str) -> Reply:
    body = {
        "rt_cd": "0",
        "msg_cd": "APBK0013",
        "msg1": "주문 전송 완료 되었습니다.",
        "output": {"KRX_FWDG_ORD_ORGNO": "00950", "ODNO": ODNO, "ORD_TMD": "121052"},
    }
    return Reply.json(200, body, **headers)


def _env(server: RawServer, tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        **WIDE,
        "KIS_BASE_URL": server.base_url,
        "KIS_APP_KEY": "raw-server-app-key-" + "k" * 17,
        "KIS_APP_SECRET": SECRET,
        "KIS_ACCOUNT_NO": ACCOUNT,
        "KIS_ENVIRONMENT": "paper",
        "KIS_TOKEN_CACHE_DIR": str(tmp_path / "token-cache"),
        "KIS_RATE_LIMIT_PER_SECOND": "1000",
        "KIS_MAX_RETRIES": "0",
        **overrides,
    }


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert isinstance(result.exception, SystemExit | None), f"uncaught {result.exception!r}"
    return result


def _process(env: dict[str, str], *args: str, **streams: Any) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from stock_manager.cli import main; main()", *args]
    return subprocess.run(
        command,
        env={**os.environ, **env},
        text=True,
        timeout=TIMEOUT,
        check=False,
        **streams,
    )


def _error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# -- D10: server strings are never markup; an accepted order always shows its number ----------


def test_markup_in_reply_headers_shows_as_typed(tmp_path: Path) -> None:
    order = _accepted_order(tr_id="[/]", gt_uid=FORGED)
    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: order}) as server:
        result = _run(_env(server, tmp_path), *ORDER_ARGS)
        assert server.count(ORDER_PATH) == 1

    assert result.exit_code == 0, printed(result)
    assert "unexpected" not in printed(result)
    assert ODNO in result.stdout
    # The forged verdict shows as the literal header value, brackets and all.
    assert "tr_id [/]" in result.stdout
    assert FORGED in result.stdout


def test_markup_in_reply_field_names_shows_as_typed(tmp_path: Path) -> None:
    body = {
        "rt_cd": "0",
        "msg_cd": "MCA00000",
        "msg1": "[bold]ok",
        "output": {"[/]": "1", "stck_prpr": "[red]70000"},
        "[/]rows": [{"[/]": "a", "b": "[/]"}],
    }
    with RawServer({"/oauth2/tokenP": token_reply(), PRICE_PATH: Reply.json(200, body)}) as server:
        result = _run(_env(server, tmp_path), *PRICE_ARGS)

    assert result.exit_code == 0, printed(result)
    assert "[bold]ok" in result.stdout
    assert "[red]70000" in result.stdout
    assert "[/]rows (1)" in result.stdout


def test_an_accepted_order_that_cannot_be_shown_still_tells_its_number(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full to make writing the reply fail")
    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: _accepted_order()}) as server:
        with open("/dev/full", "w", encoding="utf-8") as full:  # every write: ENOSPC
            finished = _process(_env(server, tmp_path), *ORDER_ARGS, stdout=full, stderr=-1)
        assert server.count(ORDER_PATH) == 1

    assert finished.returncode == 1, finished.stderr
    assert f"ODNO {ODNO}" in finished.stderr
    assert "do not send it again" in finished.stderr


# -- D27: the HASH is validated, control characters never reach the terminal ------------------


def test_a_hash_that_is_a_terminal_command_is_refused(tmp_path: Path) -> None:
    reply = Reply.json(200, {"BODY": {}, "HASH": HOSTILE})
    with RawServer({HASHKEY_PATH: reply}) as server:
        env = _env(server, tmp_path)
        shown = _run(env, "kis", "hashkey", '{"PDNO": "005930"}')
        as_json = _run(env, "--json", "kis", "hashkey", '{"PDNO": "005930"}')

    for result in (shown, as_json):
        assert result.exit_code == 1, printed(result)
        assert "HASH" in _error_line(result.stderr)
        assert not UNSAFE.search(printed(result))
    assert shown.stdout == ""
    # Under --json, only the error envelope: never the hostile value.
    assert json.loads(as_json.stdout)["error"]["code"] == "protocol"


def test_control_characters_in_a_reply_are_stripped_for_people(tmp_path: Path) -> None:
    body = {
        "rt_cd": "0",
        "msg_cd": "MCA00000",
        "msg1": HOSTILE,
        "output": {"stck_prpr": "70000", HOSTILE: HOSTILE},
    }
    # Header values travel as latin-1: 0x9b arrives as the C1 CSI, U+009B.
    reply = Reply.json(200, body, tr_id="FHKST01010100\x9b2J", gt_uid="\x9b31m")
    with RawServer({"/oauth2/tokenP": token_reply(), PRICE_PATH: reply}) as server:
        env = _env(server, tmp_path)
        shown = _run(env, *PRICE_ARGS)
        as_json = _run(env, "--json", *PRICE_ARGS)

    assert shown.exit_code == 0, printed(shown)
    assert "70,000" in shown.stdout  # numbers formatted for people
    assert "gnp.exe" in shown.stdout  # the text stays, only the controls go
    assert not UNSAFE.search(printed(shown))
    # JSON keeps every character, escaped: a program reading it gets the server's exact values.
    assert as_json.exit_code == 0, printed(as_json)
    assert not UNSAFE.search(as_json.stdout)
    document = json.loads(as_json.stdout)
    assert document["body"]["msg1"] == HOSTILE
    assert document["body"]["output"][HOSTILE] == HOSTILE
    assert document["tr_id"] == "FHKST01010100\x9b2J"


def test_control_characters_in_a_kis_error_are_stripped(tmp_path: Path) -> None:
    body = {"rt_cd": "1", "msg_cd": "APBK0952", "msg1": "주문가능금액 초과" + HOSTILE}
    reply = Reply.json(200, body)
    with RawServer({"/oauth2/tokenP": token_reply(), ORDER_PATH: reply}) as server:
        result = _run(_env(server, tmp_path), *ORDER_ARGS)

    assert result.exit_code == 1, printed(result)
    assert "APBK0952" in _error_line(result.stderr)
    assert not UNSAFE.search(printed(result))


# -- issue 14: --all-pages never shows a part of the pages as the whole -----------------------

DAILY_PATH = "/uapi/overseas-price/v1/quotations/dailyprice"  # paged by KEYB
DAILY_ARGS = (
    *("kis", "request", "GET", "--api-id", "overseas-dailyprice", "--all-pages"),
    *(
        "-p",
        "AUTH=",
        "-p",
        "EXCD=NAS",
        "-p",
        "SYMB=AAPL",
        "-p",
        "GUBN=0",
        "-p",
        "MODP=0",
        "-p",
        "BYMD=",
    ),
)


def test_all_pages_refuses_pages_that_stop_without_kis_marking_the_last(tmp_path: Path) -> None:
    # Every page names the same KEYB: more follow, yet asking again would return the same page.
    page = {"rt_cd": "0", "msg_cd": "MCI00000", "msg1": "ok", "output1": {"keyb": "K1"},
            "output2": [{"xymd": "20260102"}]}  # fmt: skip
    with RawServer({"/oauth2/tokenP": token_reply(), DAILY_PATH: Reply.json(200, page)}) as server:
        result = _run(_env(server, tmp_path), "--json", *DAILY_ARGS)
        assert server.count(DAILY_PATH) == 2  # the first page, then KEYB=K1, then no new key

    assert result.exit_code == 1, printed(result)
    # No page on stdout, only the error envelope: a part is never shown as the whole.
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "protocol" and "part only" in error["message"]
    # The library's warning, then the error: the pages read are a part only.
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "part only" in last, result.stderr


# -- D13: bodies are read up to 1 MiB, from regular files only ---------------------------------


def test_hashkey_refuses_a_device(tmp_path: Path) -> None:
    with RawServer({HASHKEY_PATH: Reply.json(200, {"HASH": "a" * 64})}) as server:
        result = _run(_env(server, tmp_path), "kis", "hashkey", "@/dev/zero")
        assert server.count() == 0

    assert result.exit_code == 2
    assert "not a regular file" in _error_line(result.stderr)


def test_hashkey_refuses_a_fifo_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "body.fifo"
    os.mkfifo(fifo)
    with RawServer({HASHKEY_PATH: Reply.json(200, {"HASH": "a" * 64})}) as server:
        finished = _process(
            _env(server, tmp_path), "kis", "hashkey", f"@{fifo}", capture_output=True
        )
        assert server.count() == 0

    assert finished.returncode == 2
    assert "not a regular file" in _error_line(finished.stderr)


def test_hashkey_refuses_a_body_over_one_mebibyte(tmp_path: Path) -> None:
    big = json.dumps({"PDNO": "005930", "padding": "x" * (1024 * 1024)})
    path = tmp_path / "big.json"
    path.write_text(big, encoding="utf-8")
    with RawServer({HASHKEY_PATH: Reply.json(200, {"HASH": "a" * 64})}) as server:
        env = _env(server, tmp_path)
        from_file = _run(env, "kis", "hashkey", f"@{path}")
        from_stdin = _run(env, "kis", "hashkey", "-", stdin=big)
        assert server.count() == 0

    for result in (from_file, from_stdin):
        assert result.exit_code == 2
        assert "more than 1 MiB" in _error_line(result.stderr)


def test_hashkey_stops_reading_an_endless_stdin(tmp_path: Path) -> None:
    with RawServer({HASHKEY_PATH: Reply.json(200, {"HASH": "a" * 64})}) as server:
        with open("/dev/zero", "rb") as endless:
            finished = _process(
                _env(server, tmp_path), "kis", "hashkey", "-", stdin=endless, capture_output=True
            )
        assert server.count() == 0

    assert finished.returncode == 2
    assert "stdin holds more than 1 MiB" in _error_line(finished.stderr)


# -- D25: whole values are masked, not substrings of innocent ones ------------------------------


def test_a_short_secret_does_not_mask_innocent_values(tmp_path: Path) -> None:
    body = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "ok", "output": {"stck_prpr": "70000"}}
    replies = {"/oauth2/tokenP": token_reply(), PRICE_PATH: Reply.json(200, body)}
    with RawServer(replies) as server:
        env = _env(server, tmp_path, KIS_APP_SECRET="0")
        as_json = _run(env, "--json", *PRICE_ARGS)
        shown = _run(env, *PRICE_ARGS)

    assert as_json.exit_code == 0, printed(as_json)
    assert json.loads(as_json.stdout)["body"]["output"]["stck_prpr"] == "70000"
    assert shown.exit_code == 0, printed(shown)
    assert "70,000" in shown.stdout


def test_masking_rules() -> None:
    long_secret = "L" * 20
    data = {
        "stck_prpr": "70000",
        "equal": "0",
        "quoted": f"secret is {long_secret}.",
        "nested": [long_secret, "10"],
        "access_token": "tok-" + "t" * 30,
    }
    masked = mask_fields(data, ["0", long_secret])

    assert masked["stck_prpr"] == "70000"  # a short secret inside a value: left alone
    assert masked["equal"] == "…"  # the whole value is the secret
    assert masked["quoted"] == "secret is LLLL….", masked["quoted"]
    assert masked["nested"] == ["LLLL…", "10"]
    assert masked["access_token"] == "tok-…"


def test_output_json_masks_yet_keeps_short_secret_lookalikes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = Output(json_mode=True, secrets=["0"])
    output.json({"stck_prpr": "70000", "appsecret": "0"})
    document = json.loads(capsys.readouterr().out)
    assert document == {"stck_prpr": "70000", "appsecret": "…"}


# -- D23, D29: sandbox serve refuses bad numbers and non-loopback hosts in one line -------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--port", "99999"), "port must be from 0 to 65535"),
        (("--port", "-1"), "port must be from 0 to 65535"),
        (("--rate-limit", "nan"), "rate_limit"),
        (("--rate-limit", "inf"), "rate_limit"),
        (("--rate-limit", "-1"), "rate_limit"),
        (("--issue-interval", "nan"), "issue_interval"),
        (("--page-size", "0"), "page_size"),
        (("--host", "10.0.0.1"), "loopback"),
        (("--host", "::ffff:127.0.0.1"), "loopback"),
        (("--host", "0.0.0.0"), "loopback"),  # noqa: S104 - must be refused
        (("--host", "example.com"), "loopback"),
        (("--host", "[/]"), "loopback"),
    ],
)
def test_serve_refuses_bad_options_in_one_line(args: tuple[str, ...], needle: str) -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", *args], env=WIDE)
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert result.exit_code == 2
    assert needle in _error_line(result.stderr)
    assert "Traceback" not in printed(result)


def test_serve_binds_another_loopback_address() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from stock_manager.cli import main; main()",
            *("sandbox", "serve", "--host", "127.0.0.2", "--port", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=TIMEOUT)
    assert "listening on http://127.0.0.2:" in first, stderr


# -- D10: the demo's later orders fail after earlier ones were placed ---------------------------


def test_a_failing_later_demo_order_still_shows_the_numbers_already_placed(
    paper_sandbox: KISSandbox,
    config_for: Callable[..., KISConfig],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = config_for(paper_sandbox)
    transcript = Transcript(Output())
    # The third symbol is one the sandbox refuses (a business error) after two orders went in.
    with KISRestClient(config) as client, pytest.raises(KISBusinessError):
        buy_steps(transcript, client, config, ("005930", "000660", "035420", "BAD-CODE"))
    placed = [order["odno"] for order in paper_sandbox.stats()["orders"]]
    assert len(placed) == 3
    shown = capsys.readouterr().out
    for number in placed:
        assert number in shown, f"order {number} was placed but never shown"
    assert transcript.steps[-1].result["odno"] == placed[1:]
