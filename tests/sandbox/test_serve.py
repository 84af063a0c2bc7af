"""``stock-manager sandbox serve`` as a real process."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx


def _cli() -> list[str]:
    return [sys.executable, "-c", "from stock_manager.cli import main; main()"]


def test_serve_prints_url_and_credentials_then_serves() -> None:
    process = subprocess.Popen(
        [
            *_cli(),
            "sandbox",
            "serve",
            "--env",
            "real",
            "--port",
            "0",
            "--seed",
            "3",
            "--issue-interval",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, f"serve exited early: {process.stderr.read() if process.stderr else ''}"
            lines.append(line)
            if line.startswith("export "):
                break
        exports = dict(re.findall(r"(KIS_\w+)=(\S+)", lines[-1]))
        assert set(exports) == {
            "KIS_BASE_URL",
            "KIS_APP_KEY",
            "KIS_APP_SECRET",
            "KIS_ACCOUNT_NO",
            "KIS_ENVIRONMENT",
            "KIS_WEBSOCKET_URL",
            "KIS_HTS_ID",
        }
        assert exports["KIS_WEBSOCKET_URL"].startswith("ws://127.0.0.1:")
        assert exports["KIS_ENVIRONMENT"] == "real"
        assert exports["KIS_BASE_URL"] in lines[0]
        assert len(exports["KIS_APP_SECRET"]) == 180
        body = {
            "grant_type": "client_credentials",
            "appkey": exports["KIS_APP_KEY"],
            "appsecret": exports["KIS_APP_SECRET"],
        }
        response = httpx.post(f"{exports['KIS_BASE_URL']}/oauth2/tokenP", json=body, timeout=10)
        assert response.status_code == 200 and response.json()["token_type"] == "Bearer"
        token = response.json()["access_token"]
        quote = httpx.get(
            f"{exports['KIS_BASE_URL']}/uapi/domestic-stock/v1/quotations/inquire-price",
            params={"fid_cond_mrkt_div_code": "J", "fid_input_iscd": "005930"},
            headers={
                "authorization": f"Bearer {token}",
                "appkey": exports["KIS_APP_KEY"],
                "appsecret": exports["KIS_APP_SECRET"],
                "tr_id": "FHKST01010100",
            },
            timeout=10,
        )
        assert quote.json()["rt_cd"] == "0"
        # One line per request: method, path, tr_id, status, rt_cd, milliseconds; no secrets.
        assert process.stdout.readline().startswith("Press Ctrl-C")
        logged = [process.stdout.readline() for _ in range(2)]
        assert re.match(r"\d\d:\d\d:\d\d POST /oauth2/tokenP - 200 rt_cd=- [\d.]+ms$", logged[0])
        assert re.match(
            r"\d\d:\d\d:\d\d GET /uapi/domestic-stock/v1/quotations/inquire-price "
            r"FHKST01010100 200 rt_cd=0 [\d.]+ms$",
            logged[1],
        )
        assert not any(exports["KIS_APP_SECRET"] in line or token in line for line in logged)
    finally:
        process.terminate()
        process.wait(10)
    assert process.returncode == 0


def test_serve_refuses_a_public_host() -> None:
    result = subprocess.run(
        [*_cli(), "sandbox", "serve", "--host", "0.0.0.0"],  # noqa: S104 - must be refused
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_quiet_prints_no_request_lines() -> None:
    process = subprocess.Popen(
        [*_cli(), "sandbox", "serve", "--quiet", "--port", "0", "--issue-interval", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and not line.startswith("export "):
            line = process.stdout.readline()
            assert line, "serve exited early"
        base_url = dict(re.findall(r"(KIS_\w+)=(\S+)", line))["KIS_BASE_URL"]
        for _ in range(3):
            httpx.post(f"{base_url}/oauth2/tokenP", json={}, timeout=10)
        process.terminate()
        rest, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert "tokenP" not in rest and "rt_cd=" not in rest, rest
