"""Fixtures for the CLI tests (helpers in cli_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import CLI

from stock_manager.sandbox import KISSandbox


@pytest.fixture
def cli(paper_sandbox: KISSandbox, tmp_path: Path) -> CLI:
    """``stock-manager`` pointed at a paper sandbox, with a file token cache in tmp_path."""
    return CLI(paper_sandbox, tmp_path / "token-cache")


@pytest.fixture
def real_cli(real_sandbox: KISSandbox, tmp_path: Path) -> CLI:
    """``stock-manager`` pointed at a real-domain sandbox."""
    return CLI(real_sandbox, tmp_path / "token-cache")
