"""``stock-manager config init``: an interactive 0600 .env, the secret never echoed."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner, Result

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.cli import app

APP_KEY = "PSinitAppKey0000000000000000000000A1"
SECRET = "InitSecret+/=" * 14
REAL_KEY = "PSinitRealKey000000000000000000000B2"
REAL_SECRET = "RealInitSecret+/" * 11


def run(*args: str, input: str) -> Result:
    return CliRunner().invoke(app, ["config", "init", *args], input=input, env={"COLUMNS": "200"})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_a_private_env_the_config_reads_back(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    answers = [
        "paper",
        APP_KEY,
        SECRET,
        "1234",
        "12345678-01",  # a wrong account is asked again
        "hong123",
        "y",
        REAL_KEY,
        REAL_SECRET,
    ]
    result = run("--path", str(target), input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    output = result.output
    assert mode(target) == 0o600
    assert SECRET not in output and REAL_SECRET not in output and APP_KEY not in output
    assert "must be 8 digits" in output
    config = KISConfig(_env_file=target)
    assert config.environment == "paper" and config.kis_app_key == APP_KEY
    assert config.app_secret == SECRET and config.account_no == "12345678-01"
    assert config.hts_id == "hong123"
    assert config.has_real_key and config.real_key_config().app_secret == REAL_SECRET


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "my.env"
    target.write_text("KIS_APP_KEY='keep'\n")
    target.chmod(0o644)
    refused = run("--path", str(target), input="real\n")
    assert refused.exit_code == 2
    assert "--force" in refused.output
    assert target.read_text() == "KIS_APP_KEY='keep'\n"

    answers = ["real", APP_KEY, SECRET, "", ""]
    forced = run("--path", str(target), "--force", input="\n".join(answers) + "\n")
    assert forced.exit_code == 0, forced.output
    assert mode(target) == 0o600  # replaced by a private file, not rewritten in place
    text = target.read_text()
    assert "KIS_ENVIRONMENT='real'" in text and f"KIS_APP_SECRET='{SECRET}'" in text
    assert "KIS_ACCOUNT_NO" not in text and "KIS_REAL_APP_KEY" not in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".env-")]


def test_init_asks_again_for_a_secret_that_cannot_be_one(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    answers = ["paper", APP_KEY, "bad secret'", SECRET, "", "", "n"]
    result = run("--path", str(target), input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "bad secret" not in result.output
    assert KISConfig(_env_file=target).app_secret == SECRET
    assert run("--path", str(tmp_path / "no" / ".env"), input="").exit_code == 2
