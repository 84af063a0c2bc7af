#!/usr/bin/env python3
"""Check the light core install: ``pip install .`` in a fresh venv, no extras.

It asserts that the client imports and works, that no server or CLI package came along, that
importing the client loads none of click, rich or pygments (httpx loads its optional command line
when they are installed), and that the console script names the missing extra in one line. It
prints the install's size, its package count and the client's import time.

Usage: ``python3 tools/check_core_install.py [PROJECT_DIR]`` (default: this repository). It needs
PyPI (or the machine's package index) and takes about a minute. Exit 0 when every check holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT_PACKAGE = "stock_manager.adapters.broker.kis"
# Distributions of the `sandbox` and `cli` extras (and what they pull in) that must stay out.
NOT_INSTALLED = ("starlette", "uvicorn", "typer", "rich", "click", "pygments")
NOT_IMPORTED = ("click", "rich", "pygments")
INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 120
IMPORT_TIME_RUNS = 3

# Runs inside the fresh venv, from an empty directory, with no KIS_* variable: prints JSON.
PROBE = f"""
import importlib.metadata, json, sys
from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

client = KISRestClient(KISConfig(token_store="memory"))
try:
    tr_id = client.get_tr_id("inquire-price", is_paper_trading=True)
finally:
    client.close()
installed = []
for name in {NOT_INSTALLED!r}:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        continue
    installed.append(name)
print(json.dumps({{
    "tr_id": tr_id,
    "installed": installed,
    "imported": [m for m in {NOT_IMPORTED!r} if m in sys.modules],
    "distributions": sorted(
        d.metadata["Name"] for d in importlib.metadata.distributions()
    ),
}}))
"""


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr[-3000:]}")
    return done.stdout


def copy_project(source: Path, target: Path) -> Path:
    """A copy of the sources, so that the build leaves nothing in the working tree."""
    # Exact names: a pattern such as "*cache*" would also drop any source file named after a cache.
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        ".hypothesis",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".grimp_cache",
        ".import_linter_cache",
        "__pycache__",
        "*.egg-info",
        "build",
        "dist",
    )
    shutil.copytree(source, target, ignore=ignore)
    return target


def directory_megabytes(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1_000_000


def purelib_of(python: str, cwd: Path, env: dict[str, str]) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(run([python, "-c", code], cwd=cwd, env=env, timeout=RUN_TIMEOUT).strip())


def import_time_ms(python: str, cwd: Path, env: dict[str, str]) -> float:
    """Best of a few runs of the client package's cumulative ``-X importtime`` figure."""
    best = float("inf")
    for _ in range(IMPORT_TIME_RUNS):
        done = subprocess.run(
            [python, "-X", "importtime", "-c", f"import {CLIENT_PACKAGE}"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        for line in done.stderr.splitlines():
            # "import time:      self [us] |  cumulative | imported package"
            fields = [part.strip() for part in line.removeprefix("import time:").split("|")]
            if len(fields) == 3 and fields[2] == CLIENT_PACKAGE:
                best = min(best, int(fields[1]) / 1000)
    return best


def main(argv: list[str]) -> int:
    project = Path(argv[0]).resolve() if argv else ROOT
    # No KIS_* setting of this machine may change what the probe sees.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KIS_")}
    env.pop("VIRTUAL_ENV", None)
    with tempfile.TemporaryDirectory(prefix="core-install-") as temp:
        work = Path(temp)
        env_dir = work / "venv"
        print(f"creating a fresh venv and running pip install {project} (no extras)", flush=True)
        venv.EnvBuilder(with_pip=True).create(env_dir)
        bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
        python = str(bindir / "python")
        bare_mb = directory_megabytes(purelib_of(python, work, env))
        source = copy_project(project, work / "src")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*pip, str(source)], cwd=work, env=env, timeout=INSTALL_TIMEOUT)
        empty = work / "cwd"
        empty.mkdir()
        probe = json.loads(run([python, "-c", PROBE], cwd=empty, env=env, timeout=RUN_TIMEOUT))
        script = subprocess.run(
            [str(bindir / "stock-manager"), "--help"],
            cwd=empty,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        import_ms = import_time_ms(python, empty, env)
        purelib = purelib_of(python, empty, env)
        # pip and setuptools come with every venv: they are not the project's.
        own = [d for d in probe["distributions"] if d.lower() not in {"pip", "setuptools"}]
        total_mb = directory_megabytes(purelib)
        print(
            f"site-packages: {total_mb:.1f} MB, {total_mb - bare_mb:.1f} MB more than a bare venv"
        )
        print(f"packages: {len(own)} besides pip/setuptools: {', '.join(own)}")
        print(f"import {CLIENT_PACKAGE}: {import_ms:.0f} ms cumulative (best of 3)")

    problems = []
    if probe["tr_id"] != "FHKST01010100":
        problems.append(f"the catalog answered {probe['tr_id']!r} for inquire-price (paper)")
    if probe["installed"]:
        problems.append(f"installed without an extra: {', '.join(probe['installed'])}")
    if probe["imported"]:
        problems.append(f"importing the client imported: {', '.join(probe['imported'])}")
    message = script.stderr.strip().splitlines()
    if script.returncode != 2 or len(message) != 1 or "stock-manager[cli]" not in message[0]:
        problems.append(
            f"`stock-manager` without the cli extra exited {script.returncode} with "
            f"{script.stderr[-1500:]!r} instead of one line naming 'stock-manager[cli]'"
        )
    for problem in problems:
        print(f"core install: {problem}", file=sys.stderr)
    if not problems:
        print("core install: the client works, with no server or CLI package installed or imported")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
