"""The README's promises: its Python examples run as shown, and its tables and commands are real.

Each ```python block runs in a fresh interpreter whose KIS_* variables point at a fresh sandbox
(the way a reader runs them after `stock-manager sandbox serve`), in an empty directory (no
.env), with a temporary token cache and a temporary user cache directory (symbol master files).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.broker import kis
from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.adapters.broker.kis._config_checks import env_var
from stock_manager.cli import app
from stock_manager.sandbox import KISSandbox

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
BLOCK_TIMEOUT = 60


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, code) of every fenced block in ``language``."""
    return [
        (TEXT.count("\n", 0, match.start()) + 1, match.group(2))
        for match in FENCE.finditer(TEXT)
        if match.group(1) == language
    ]


PYTHON_BLOCKS = blocks("python")


def test_the_readme_has_python_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 7


@pytest.mark.parametrize(
    "code", [code for _, code in PYTHON_BLOCKS], ids=[f"line{line}" for line, _ in PYTHON_BLOCKS]
)
def test_python_block_runs_against_the_sandbox(code: str, tmp_path: Path) -> None:
    with KISSandbox("paper", issue_interval=0, rate_limit=0, page_size=2) as sb:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KIS_")}
        env.update(
            KIS_BASE_URL=sb.base_url,
            KIS_APP_KEY=sb.app_key,
            KIS_APP_SECRET=sb.app_secret,
            KIS_ACCOUNT_NO=sb.account_no,
            KIS_ENVIRONMENT="paper",
            KIS_TOKEN_CACHE_DIR=str(tmp_path / "tokens"),
            KIS_TOKEN_ISSUE_INTERVAL="0",
            # The sandbox has no limit here; the client's paper default (2/s) would only slow
            # the examples down.
            KIS_RATE_LIMIT_PER_SECOND="100",
            # platformdirs' user cache on Linux: the symbol masters land here, not in ~/.cache.
            XDG_CACHE_HOME=str(tmp_path / "cache"),
        )
        work = tmp_path / "cwd"
        work.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        for output in (done.stdout, done.stderr):
            assert sb.app_secret not in output
        assert sb.stats()["rate_limited"] == 0


def test_quickstart_comes_first_with_exactly_the_two_commands() -> None:
    first_heading = re.search(r"^## (.+)$", TEXT, re.MULTILINE)
    assert first_heading is not None
    assert first_heading.group(1) == "Quickstart"
    line, code = blocks("bash")[0]
    commands = [row.split("#")[0].strip() for row in code.splitlines() if row.strip()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"], f"README line {line}"


def test_every_config_variable_is_in_the_table() -> None:
    for field in KISConfig.model_fields:
        assert f"| `{env_var(field)}` | `{field}` |" in TEXT, f"{env_var(field)} missing"


def test_every_error_class_is_in_the_table() -> None:
    for name in kis.__all__:
        if name.startswith("KIS") and name.endswith("Error"):
            assert f"| `{name}` |" in TEXT, f"{name} is not in the README's error table"


def _cli_paths() -> list[list[str]]:
    """The command path (e.g. ['kis', 'token', 'issue']) of every `stock-manager` line."""
    paths = []
    for _, code in blocks("bash"):
        for row in code.replace("\\\n", " ").splitlines():
            words = shlex.split(row.split("#")[0])
            if words[:1] != ["stock-manager"]:
                continue
            path = []
            for word in words[1:]:
                if word.startswith("-") or not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                path.append(word)
            paths.append(path)
    return paths


def test_the_commands_the_readme_shows_exist() -> None:
    paths = _cli_paths()
    assert len(paths) >= 10
    runner = CliRunner()
    for path in paths:
        # Arguments such as API ids are lower-case words too: --help stops at the first
        # word that is not a command, which still proves the command exists.
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"stock-manager {' '.join(path)}: {result.output}"
