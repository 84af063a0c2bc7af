"""The balance at 100 columns in a real terminal (a pty): no line wider, no value broken.

The command runs as its own process with a pseudo-terminal for stdout, so rich sees a terminal
of 100 columns as a user's shell would give it (window size and COLUMNS), colours and all.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from decimal import Decimal

import pytest
from cli_helpers import CLI, json_of, sandbox_env
from rich.cells import cell_len

STOCK_MANAGER = [sys.executable, "-c", "from stock_manager.cli import main; main()"]
WIDTH = 100
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


def _in_terminal(cli: CLI, *args: str, tmp_env: dict[str, str]) -> list[str]:
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, WIDTH, 0, 0))
    env = {
        **os.environ,
        **sandbox_env(cli.sandbox, cli.cache_dir),
        **tmp_env,
        "COLUMNS": str(WIDTH),
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [*STOCK_MANAGER, *args], stdout=secondary, stderr=subprocess.PIPE, env=env
    )
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    data = os.read(primary, 65536)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
    finally:
        os.close(primary)
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    text = _ANSI.sub("", b"".join(chunks).decode("utf-8"))
    return text.replace("\r\n", "\n").split("\n")


def _holdings(cli: CLI) -> list[dict[str, str]]:
    for symbol, quantity in (("005930", "12"), ("207940", "3"), ("000660", "100")):
        bought = cli("kis", "buy", symbol, quantity)
        assert bought.exit_code == 0, bought.output
    balance = cli("kis", "balance", "--json")
    assert balance.exit_code == 0, balance.output
    holdings: list[dict[str, str]] = json_of(balance)["holdings"]
    assert len(holdings) == 3
    return holdings


def test_balance_fits_100_columns_without_breaking_values(cli: CLI) -> None:
    holdings = _holdings(cli)
    lines = _in_terminal(cli, "kis", "balance", tmp_env={})
    assert max(cell_len(line) for line in lines) <= WIDTH
    text = "\n".join(lines)
    # A horizontal table: one line per holding holding its code, whole name and amounts.
    for holding in holdings:
        row = next((line for line in lines if holding["symbol"] in line), None)
        assert row is not None, text
        assert holding["name"] in row
        for key in ("quantity", "price", "value"):
            assert f"{Decimal(holding[key]):,}" in row, (key, row)
    assert "cash" in text


def test_wide_inquiry_turns_into_records_at_100_columns(cli: CLI) -> None:
    _holdings(cli)
    args = ["kis", "request", "GET", "/uapi/domestic-stock/v1/trading/inquire-balance"]
    for pair in (
        "AFHR_FLPR_YN=N", "OFL_YN=", "INQR_DVSN=02", "UNPR_DVSN=01", "FUND_STTL_ICLD_YN=N",
        "FNCG_AMT_AUTO_RDPT_YN=N", "PRCS_DVSN=00", "CTX_AREA_FK100=", "CTX_AREA_NK100=",
    ):  # fmt: skip
        args += ["-p", pair]
    lines = _in_terminal(cli, *args, tmp_env={})
    assert max(cell_len(line) for line in lines) <= WIDTH
    # Every one of output1's 26 field names is on a line of its own making, never cut.
    for name in ("pdno", "prdt_name", "hldg_qty", "pchs_avg_pric", "evlu_pfls_rt", "sbst_pric"):
        assert any(re.search(rf"(^|\s){name}(\s|$)", line) for line in lines), name
    assert any("삼성바이오로직스" in line for line in lines)
