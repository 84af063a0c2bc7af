"""The small fixes of issue 19: --version, flags without <bool>, --env prod in one line, token
issue saying reused or new, the EGW00133 warning without the cache key, and ``sandbox serve``
with --write-env, --seed and a busy port."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import CLI, json_of, run_bare

from stock_manager.adapters.broker.kis.tokens.store import TokenKey
from stock_manager.cli.failures import without_cache_key

STOCK_MANAGER = [sys.executable, "-c", "from stock_manager.cli import main; main()"]


def test_version_prints_one_line() -> None:
    result = run_bare("--version")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("stock-manager ")


def test_flags_show_no_bool_metavar() -> None:
    for args in (("kis", "request", "--help"), ("kis", "buy", "--help"), ("--help",)):
        result = run_bare(*args)
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.stdout
    help_text = run_bare("kis", "request", "--help").stdout
    assert "--all-pages" in help_text and "<int range>" in help_text  # valued options keep it
    assert '{"error"' in run_bare("kis", "price", "--help").stdout  # the envelope documented


def test_bad_env_is_one_line(cli: CLI) -> None:
    result = cli("kis", "apis", "--env", "prod")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: --env must be paper (모의투자) or real (실전투자), not 'prod'"
    ]
    as_json = cli("--json", "kis", "apis", "--env", "prod")
    assert as_json.exit_code == 2
    assert json_of(as_json)["error"]["code"] == "usage"
    assert cli("kis", "apis", "--env", "REAL", "--json").exit_code == 0


def test_token_issue_says_reused_or_new(cli: CLI) -> None:
    first = cli("kis", "token", "issue", "--json")
    assert first.exit_code == 0, first.output
    assert json_of(first)["reused"] is False
    second = cli("kis", "token", "issue")
    assert second.exit_code == 0, second.output
    assert "reused the cached token" in second.stdout
    assert cli.sandbox.stats()["tokens_issued"] == 1


def test_cache_key_prefix_is_dropped_from_warnings() -> None:
    key = TokenKey("access_token", "paper", "https://openapivts.koreainvestment.com:29443", "ab12")
    line = f"{key.name}: KIS allows one issuance per 60 s per app key (EGW00133); waiting 3.0 s"
    assert without_cache_key(line) == (
        "KIS allows one issuance per 60 s per app key (EGW00133); waiting 3.0 s"
    )
    assert without_cache_key("real-time quotes: fine") == "real-time quotes: fine"


def _serve(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [*STOCK_MANAGER, "sandbox", "serve", "--port", "0", "--quiet", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return process, lines
    process.kill()
    raise AssertionError(f"the sandbox did not start: {lines}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _exports(lines: list[str]) -> dict[str, str]:
    line = next(x for x in lines if x.startswith("export "))
    return dict(pair.split("=", 1) for pair in line.removeprefix("export ").split())


def test_serve_writes_a_private_env_file_and_keeps_seeded_credentials(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    first, lines = _serve("--seed", "42", "--write-env", str(env_file), cwd=tmp_path)
    try:
        exports = _exports(lines)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        text = env_file.read_text(encoding="utf-8")
        for name, value in exports.items():
            assert f"{name}='{value}'" in text
    finally:
        _stop(first)
    second, again = _serve("--seed", "42", cwd=tmp_path)
    _stop(second)
    repeated = _exports(again)
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT_NO"):
        assert repeated[name] == exports[name]
    third, unseeded = _serve(cwd=tmp_path)
    _stop(third)
    assert _exports(unseeded)["KIS_APP_KEY"] != exports["KIS_APP_KEY"]
    assert any("--seed" in line for line in unseeded)


def test_serve_on_a_busy_port_gives_a_hint(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [*STOCK_MANAGER, "sandbox", "serve", "--port", str(port), "--quiet"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "400"},
        )
    assert result.returncode == 2
    assert "--port 0" in result.stderr and str(port) in result.stderr
