"""Helpers for the CLI tests: run ``stock-manager`` in-process against a sandbox.

:class:`CLI` invokes the command line with a sandbox's KIS_* variables (the way a user exports
them after ``stock-manager sandbox serve``), checks that no credential appears in anything it
printed, and returns the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from stock_manager.cli import app
from stock_manager.sandbox import KISSandbox

# Rich wraps at the terminal width; a wide one keeps each output line whole.
WIDE = {"COLUMNS": "250"}


def sandbox_env(sandbox: KISSandbox, cache_dir: Path) -> dict[str, str]:
    """The KIS_* variables pointing at ``sandbox`` (file token store in ``cache_dir``)."""
    return {
        "KIS_BASE_URL": sandbox.base_url,
        "KIS_APP_KEY": sandbox.app_key,
        "KIS_APP_SECRET": sandbox.app_secret,
        "KIS_ACCOUNT_NO": sandbox.account_no,
        "KIS_ENVIRONMENT": sandbox.environment,
        "KIS_TOKEN_CACHE_DIR": str(cache_dir),
        "KIS_TOKEN_ISSUE_INTERVAL": "1",
        # The sandbox fixtures have no limit; the client's paper default would only be slow.
        "KIS_RATE_LIMIT_PER_SECOND": "1000",
    }


def printed(result: Any) -> str:
    """Everything a run printed, stdout and stderr."""
    return f"{result.stdout}\n{result.stderr}"


def assert_no_secret(result: Any, secrets: Iterable[str]) -> None:
    """No secret appears in the output, not even split by whitespace or line breaks."""
    text = printed(result)
    squeezed = re.sub(r"\s+", "", text)
    for secret in secrets:
        if secret:
            assert secret not in text, "a secret was printed"
            assert secret not in squeezed, "a secret was printed (wrapped)"


def json_of(result: Any) -> Any:
    """The JSON document a ``--json`` run wrote on stdout."""
    return json.loads(result.stdout)


class CLI:
    """Runs ``stock-manager`` against one sandbox; no run may print a credential.

    The credentials are the app secret, and every token or approval key found in the token
    cache after a run; each run's output is checked against all of them, also the earlier runs'
    (a token printed before it was cached would otherwise slip through). Runs with
    ``reveal=True`` print a credential on purpose and are not checked.
    """

    def __init__(self, sandbox: KISSandbox, cache_dir: Path) -> None:
        self.sandbox = sandbox
        self.cache_dir = cache_dir
        self.env = {**WIDE, **sandbox_env(sandbox, cache_dir)}
        self.secrets: set[str] = {sandbox.app_secret}
        self.outputs: list[Any] = []

    def learn(self, secret: str) -> None:
        """Also check that ``secret`` never appears."""
        self.secrets.add(secret)
        for result in self.outputs:
            assert_no_secret(result, [secret])

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str | None] | None = None,
        reveal: bool = False,
    ) -> Any:
        result = CliRunner().invoke(app, list(args), input=input, env={**self.env, **(env or {})})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"uncaught {result.exception!r}: {printed(result)}")
        if not reveal:
            self.outputs.append(result)
            assert_no_secret(result, self.secrets)
        for value in cached_values(self.cache_dir):
            self.learn(value)
        return result


def cached_values(cache_dir: Path) -> list[str]:
    """The token and approval-key values in a file token cache."""
    values = []
    for path in cache_dir.glob("*.json"):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("token"), str):
            values.append(entry["token"])
    return values


def run_bare(*args: str, env: dict[str, str | None] | None = None) -> Any:
    """``stock-manager`` with no KIS_* configuration at all."""
    return CliRunner().invoke(app, list(args), env={**WIDE, **(env or {})})
