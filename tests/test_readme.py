"""The READMEs' and the migration page's promises: their Python examples run as shown, and their
tables, commands and links are real.

Each ```python block of README.md, README.ko.md and docs/migration.md runs in a fresh
interpreter whose KIS_* variables point at a fresh sandbox (the way a reader runs them after
`stock-manager sandbox serve`, which prints the REST and websocket URLs, the credentials and the
HTS ID), in an empty directory (no .env), with a temporary token cache and a temporary user cache
directory (symbol master files). The Korean README and the migration page also get a real key
pair (`KIS_REAL_*`, a second sandbox playing KIS's real domain), as their holiday examples tell
a paper reader to set. Other languages' blocks are text: the migration page shows the other
libraries' code as ```py, which is never run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stock_manager.adapters.broker import kis
from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.adapters.broker.kis._config_checks import env_var
from stock_manager.cli import app
from stock_manager.sandbox import KISSandbox

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
BLOCK_TIMEOUT = 60


@dataclass(frozen=True)
class Document:
    path: Path
    # At least this many runnable examples: a block lost in an edit fails here, not silently.
    min_python_blocks: int
    # The holiday API is real-only: these examples expect the paper reader's real key pair.
    real_pair: bool

    @property
    def name(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


README_DOC = Document(ROOT / "README.md", 7, real_pair=False)
KOREAN = Document(ROOT / "README.ko.md", 7, real_pair=True)
MIGRATION = Document(ROOT / "docs" / "migration.md", 8, real_pair=True)
DOCUMENTS = (README_DOC, KOREAN, MIGRATION)
TEXT = README_DOC.text


def blocks(language: str, text: str = TEXT) -> list[tuple[int, str]]:
    """(line number, code) of every fenced block in ``language``."""
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in FENCE.finditer(text)
        if match.group(1) == language
    ]


PYTHON_BLOCKS = [
    (doc, line, code) for doc in DOCUMENTS for line, code in blocks("python", doc.text)
]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[doc.name for doc in DOCUMENTS])
def test_each_document_has_python_examples(doc: Document) -> None:
    assert len(blocks("python", doc.text)) >= doc.min_python_blocks


def _run_block(code: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "cwd"
    work.mkdir()
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize(
    ("doc", "code"),
    [(doc, code) for doc, _, code in PYTHON_BLOCKS],
    ids=[f"{doc.path.name}:line{line}" for doc, line, _ in PYTHON_BLOCKS],
)
def test_python_block_runs_against_the_sandbox(doc: Document, code: str, tmp_path: Path) -> None:
    with KISSandbox("paper", issue_interval=0, rate_limit=0, page_size=2) as sb:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KIS_")}
        env.update(
            KIS_BASE_URL=sb.base_url,
            KIS_APP_KEY=sb.app_key,
            KIS_APP_SECRET=sb.app_secret,
            KIS_ACCOUNT_NO=sb.account_no,
            KIS_ENVIRONMENT="paper",
            KIS_WEBSOCKET_URL=sb.websocket_url,
            KIS_HTS_ID=sb.hts_id,
            KIS_TOKEN_CACHE_DIR=str(tmp_path / "tokens"),
            KIS_TOKEN_ISSUE_INTERVAL="0",
            # The sandbox has no limit here; the client's paper default (2/s) would only slow
            # the examples down.
            KIS_RATE_LIMIT_PER_SECOND="100",
            # platformdirs' user cache on Linux: the symbol masters land here, not in ~/.cache.
            XDG_CACHE_HOME=str(tmp_path / "cache"),
        )
        secrets = [sb.app_secret]
        if doc.real_pair:
            with KISSandbox("real", issue_interval=0, rate_limit=0) as real:
                env.update(
                    KIS_REAL_APP_KEY=real.app_key,
                    KIS_REAL_APP_SECRET=real.app_secret,
                    KIS_REAL_BASE_URL=real.base_url,
                )
                secrets.append(real.app_secret)
                done = _run_block(code, tmp_path, env)
                assert real.stats()["rate_limited"] == 0
        else:
            done = _run_block(code, tmp_path, env)
        assert done.returncode == 0, done.stderr[-3000:]
        for output in (done.stdout, done.stderr):
            for secret in secrets:
                assert secret not in output
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


def _cli_paths(text: str) -> list[list[str]]:
    """The command path (e.g. ['kis', 'token', 'issue']) of every `stock-manager` line."""
    paths = []
    for _, code in blocks("bash", text):
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


@pytest.mark.parametrize(
    ("doc", "least"), [(README_DOC, 10), (KOREAN, 5)], ids=[README_DOC.name, KOREAN.name]
)
def test_the_commands_the_documents_show_exist(doc: Document, least: int) -> None:
    paths = _cli_paths(doc.text)
    assert len(paths) >= least
    runner = CliRunner()
    for path in paths:
        # Arguments such as API ids are lower-case words too: --help stops at the first
        # word that is not a command, which still proves the command exists.
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"{doc.name}: stock-manager {' '.join(path)}: {result.output}"


def test_the_english_readme_links_the_korean_one_and_the_migration_page_first() -> None:
    top = TEXT[: TEXT.index("## Quickstart")]
    assert "](README.ko.md)" in top
    assert "](docs/migration.md)" in top


def test_the_korean_readme_goes_from_install_to_orders_and_realtime() -> None:
    headings = re.findall(r"^##+ (.+)$", KOREAN.text, re.MULTILINE)
    assert headings[0] == "빠른 시작"
    for wanted in ("설치", "주문", "실시간 시세와 체결 통보"):
        assert wanted in headings, f"README.ko.md has no section {wanted!r}"
    assert "](README.md)" in KOREAN.text[: KOREAN.text.index("## ")]


def test_the_migration_page_runs_only_our_code() -> None:
    """```python is ours and runs; ```py is another library's and only shown."""
    ours = blocks("python", MIGRATION.text)
    theirs = blocks("py", MIGRATION.text)
    assert all("stock_manager" in code for _, code in ours)
    assert not any("stock_manager" in code for _, code in theirs)
    for library in ("kis_auth", "pykis", "mojito"):
        assert any(library in code.lower() for _, code in theirs), library
    # Every task has the other libraries' code, then ours.
    assert len(theirs) >= 2 * len(ours)


def test_install_lines_never_assume_pypi() -> None:
    """The project is not on PyPI: every pip line installs it from a path or a git URL."""
    for doc in DOCUMENTS:
        for _, code in blocks("bash", doc.text):
            for row in code.replace("\\\n", " ").splitlines():
                words = shlex.split(row.split("#")[0])
                if words[:2] != ["pip", "install"] or not words[2:]:
                    continue
                target = words[-1]
                if "stock-manager" in target or target.startswith("."):
                    assert target.startswith(".") or "@ git+" in target, f"{doc.name}: {row}"
    assert "not on PyPI" in TEXT
    assert "PyPI에 올라가 있지 않습니다" in KOREAN.text


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[doc.name for doc in DOCUMENTS])
def test_relative_links_point_at_files(doc: Document) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.text):
        assert (doc.path.parent / target).exists(), f"{doc.name}: broken link {target}"
