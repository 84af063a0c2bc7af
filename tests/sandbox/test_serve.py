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
        }
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
