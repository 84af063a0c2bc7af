"""The API reference under docs/apis/: in step with the catalog, complete, and its examples run.

The examples of the APIs the sandbox serves run as a reader runs them: a fresh interpreter whose
KIS_* variables point at a fresh sandbox (on the real domain for real-only APIs).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog
from stock_manager.cli.api_pages import api_page, example, index_page, page_path, pages
from stock_manager.sandbox import KISSandbox
from stock_manager.sandbox.tables import APPROVAL, HASHKEY, REVOKE, ROUTES, TOKEN_PATH

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "apis"
SPECS = list(get_catalog())
EXAMPLE_TIMEOUT = 60
# Examples that need state no generated example has: a modify/cancel needs the number of an
# earlier order. The sandbox's refusal (that order does not exist) shows the request itself was
# whole: a missing or malformed key is refused first, with OPSQ2001/OPSQ2002.
REFUSED_FOR_STATE = {"order-rvsecncl": "APBK1010", "overseas-order-rvsecncl": "APBK1010"}
# What the sandbox answers today: its gateway routes (on the domains it offers them) and OAuth.
SERVED = [
    spec
    for spec in SPECS
    if spec.transport == "rest"
    and (
        spec.path in {TOKEN_PATH, REVOKE, HASHKEY, APPROVAL}
        or (spec.path in ROUTES and ROUTES[spec.path].method == spec.method)
    )
]


def _build_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "tools" / "build_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_pages_match_the_catalog() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_check_fails_on_an_edited_a_missing_or_a_stale_page(tmp_path: Path) -> None:
    build = _build_docs()
    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.main(["--check", "--out", str(tmp_path)]) == 0
    page = tmp_path / page_path(SPECS[0])
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    (tmp_path / "stale.md").write_text("# gone\n", encoding="utf-8")
    (tmp_path / page_path(SPECS[-1])).unlink()
    expected = pages(get_catalog())
    assert build.differences(expected, tmp_path) == [
        f"missing: {page_path(SPECS[-1])}",
        "not generated (stale): stale.md",
        f"differs: {page_path(SPECS[0])}",
    ]
    assert build.main(["--check", "--out", str(tmp_path)]) == 1
    # Writing again repairs all three.
    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.differences(expected, tmp_path) == []


def test_one_page_per_api_and_an_index_linking_each() -> None:
    files = pages(get_catalog())
    assert len(files) == len(SPECS) + 1
    index = index_page(get_catalog())
    for spec in SPECS:
        assert f"]({page_path(spec)})" in index, spec.api_id
        assert f"`{spec.api_id}`" in index
    assert all(path.isascii() for path in files), "page paths must stay ASCII"


@pytest.mark.parametrize("spec", SPECS, ids=[spec.alias for spec in SPECS])
def test_a_page_holds_everything_the_catalog_knows(spec: ApiSpec) -> None:
    page = api_page(spec)
    assert f"`{spec.api_id}`" in page
    assert spec.path in page
    for tr in spec.tr_ids():
        assert f"`{tr}`" in page, tr
    for old, new in spec.deprecated_tr_ids.items():
        assert f"| `{old}` | `{new}` |" in page
    for param in spec.params:
        assert f"| `{param.name}` |" in page, param.name
    for block in spec.response:
        assert f"### `{block.name}`" in page
        for field in block.fields:
            assert f"`{field.name}` |" in page, (block.name, field.name)
    if not spec.paper_supported:
        assert "not offered (모의투자 미지원)" in page


@pytest.mark.parametrize("spec", SPECS, ids=[spec.alias for spec in SPECS])
def test_every_example_compiles_and_leaves_out_what_the_client_fills(spec: ApiSpec) -> None:
    code = example(spec)
    compile(code, f"<example of {spec.alias}>", "exec")
    assert f"```python\n{code}```" in api_page(spec)
    for name in ("CANO", "ACNT_PRDT_CD"):
        assert f'"{name}"' not in code
    for param in spec.params:
        if param.empty_ok and param.name in spec.paging.keys and spec.paging.form == "tr_cont":
            assert f'"{param.name}"' not in code  # a blank continuation key: the client's job
        needed = (
            param.required and not param.empty_ok and param.name not in ("CANO", "ACNT_PRDT_CD")
        )
        if needed and spec.transport == "rest" and spec.auth == "token":
            assert f'"{param.name}":' in code, f"required {param.name} missing"


def test_the_sandbox_serves_some_documented_apis() -> None:
    # Guards the selection below: an empty list would make the run test prove nothing.
    assert {spec.alias for spec in SERVED} >= {"token", "hashkey", "order-cash", "inquire-price"}


@pytest.mark.parametrize("spec", SERVED, ids=[spec.alias for spec in SERVED])
def test_example_runs_against_the_sandbox(spec: ApiSpec, tmp_path: Path) -> None:
    environment = "paper" if spec.paper_supported else "real"
    with KISSandbox(environment, issue_interval=0, rate_limit=0) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KIS_")}
        env.update(
            KIS_BASE_URL=sandbox.base_url,
            KIS_APP_KEY=sandbox.app_key,
            KIS_APP_SECRET=sandbox.app_secret,
            KIS_ACCOUNT_NO=sandbox.account_no,
            KIS_ENVIRONMENT=environment,
            KIS_TOKEN_CACHE_DIR=str(tmp_path / "tokens"),
            KIS_TOKEN_ISSUE_INTERVAL="0",
            KIS_RATE_LIMIT_PER_SECOND="100",
        )
        done = subprocess.run(
            [sys.executable, "-c", example(spec)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=EXAMPLE_TIMEOUT,
            check=False,
        )
        if spec.alias in REFUSED_FOR_STATE:
            assert done.returncode == 1, done.stdout
            assert f"KISBusinessError: {REFUSED_FOR_STATE[spec.alias]} " in done.stderr
            return
        assert done.returncode == 0, done.stderr[-3000:]
        assert sandbox.app_secret not in done.stdout + done.stderr
        # The block an example prints is there: None would mean the call answered nothing.
        assert not re.fullmatch(r"None\s*", done.stdout), done.stdout
