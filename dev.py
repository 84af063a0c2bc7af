#!/usr/bin/env python3
"""One entry point for people and CI: ``python3 dev.py demo``, ``test``, ``quick`` and ``bench``.

It needs nothing but Python 3.11+: it creates ``.venv`` beside this file, installs into it the
project with the extras the task needs (when ``pyproject.toml`` changed or an extra is missing),
and runs the task there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"
PROJECT = "stock-manager"

# What each task installs: the demo only the command line (which brings the sandbox), the rest
# everything the suite and the benchmarks need.
EXTRA_OF_TASK = {"demo": "cli", "test": "dev", "quick": "dev", "bench": "dev"}

# The sans-I/O cores and the unit tests: no server process, no Redis, a few seconds in all.
QUICK_TESTS = (
    "tests/test_import_contracts.py",
    "tests/client/test_protocol.py",
    "tests/client/test_catalog.py",
    "tests/client/test_config.py",
    "tests/client/test_errors_redaction.py",
    "tests/client/test_flow.py",
    "tests/client/test_retry_tokens.py",
    "tests/ratelimit/test_retry_rules.py",
    "tests/ratelimit/test_retry_flow.py",
    "tests/ratelimit/test_local_budget.py",
    "tests/ratelimit/test_budget_registry.py",
    "tests/tokens/test_managers.py",
    "tests/reliability/test_hardening_protocol.py",
    "tests/reliability/test_sans_io_properties.py",
    "tests/cli/test_catalog_commands.py",
)


def _python() -> str:
    return str(BIN / "python")


def extras_closure(names: set[str]) -> set[str]:
    """``names`` and every extra they bring through ``stock-manager[...]`` self-references."""
    import tomllib  # noqa: PLC0415 - after main()'s version check: 3.10 has no tomllib

    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requires: dict[str, list[str]] = table["project"]["optional-dependencies"]
    found: set[str] = set()
    pending = [name for name in names if name in requires]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        for requirement in requires[name]:
            if requirement.startswith(f"{PROJECT}["):
                inner = requirement[len(PROJECT) + 1 : requirement.index("]")]
                pending.extend(extra.strip() for extra in inner.split(","))
    return found


def _installed() -> tuple[str, set[str]]:
    """(pyproject digest, extras) the last install recorded; an old or damaged stamp is none."""
    try:
        stamp = json.loads(STAMP.read_text(encoding="utf-8"))
        return str(stamp["pyproject"]), set(stamp["extras"])
    except (OSError, ValueError, KeyError, TypeError):
        return "", set()


def ensure_venv(extra: str) -> None:
    """Create .venv and install the project with ``extra``, only when something is missing.

    Extras accumulate: pip never uninstalls, so the stamp records everything installed so far,
    and ``demo`` after ``test`` (whose ``dev`` includes ``cli``) installs nothing.
    """
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    installed_digest, installed = _installed()
    wanted = extras_closure({extra})
    if installed_digest == digest and wanted <= installed:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstalling after a pyproject change keeps the extras already there, so the stamp stays true.
    extras = sorted(extras_closure({extra} | installed))
    print(f"installing stock-manager[{','.join(extras)}] into .venv", flush=True)
    subprocess.run(
        [_python(), "-m", "pip", "install", "--quiet", "-e", f".[{','.join(extras)}]"],
        cwd=ROOT,
        check=True,
    )
    STAMP.write_text(json.dumps({"pyproject": digest, "extras": extras}), encoding="utf-8")


def run(*args: str) -> int:
    print("$ " + " ".join(args), flush=True)
    return subprocess.run(list(args), cwd=ROOT, check=False).returncode


def task_demo(argv: list[str]) -> int:
    return run(str(BIN / "stock-manager"), "demo", *argv)


def _pytest(argv: list[str], *paths: str, workers: str = "auto") -> int:
    """pytest on ``workers`` processes (any ``-n`` in argv overrides it); no test run fails."""
    parallel = [] if any(a == "-n" or a.startswith("-n") for a in argv) else ["-n", workers]
    code = run(_python(), "-m", "pytest", *parallel, *paths, *argv)
    if code == 5:  # pytest found no test: never let that pass as green
        print("no tests ran", file=sys.stderr)
        return 1
    return code


def task_test(argv: list[str]) -> int:
    """Lint, format check, strict types, import contracts, then the whole test suite.

    ``-n 0`` (or any ``-n``) overrides the parallelism; other arguments go to pytest as given.
    """
    py = _python()
    for step in (
        [py, "-m", "ruff", "check", "."],
        [py, "-m", "ruff", "format", "--check", "."],
        [py, "-m", "mypy", "stock_manager"],
        # The contracts live in pyproject.toml [tool.importlinter]; no cache left in the tree.
        [str(BIN / "lint-imports"), "--no-cache", "--no-logo"],
    ):
        if run(*step) != 0:
            return 1
    if _catalog_check(py) != 0:
        return 1
    # The reference pages under docs/apis/ must say what the catalog says.
    if run(py, "tools/build_docs.py", "--check") != 0:
        return 1
    return _pytest(argv)


# tools/build_catalog.py exits with this when it finds no workbook to read.
NO_WORKBOOK = 2


def _catalog_check(py: str) -> int:
    """The generated catalog must match KIS's workbook (../shared/kis/); CI must have it."""
    code = run(py, "tools/build_catalog.py", "--check")
    if code == NO_WORKBOOK and os.environ.get("CI", "").lower() not in ("true", "1"):
        print("catalog check skipped: no KIS workbook under ../shared/kis/ (CI requires it)")
        return 0
    return code


def task_quick(argv: list[str]) -> int:
    """Only the sans-I/O and unit tests (QUICK_TESTS), in seconds: no lint, no servers.

    In one process: starting xdist workers costs more than these tests gain from them.
    """
    return _pytest(argv, *QUICK_TESTS, workers="0")


def task_bench(argv: list[str]) -> int:
    return run(_python(), "-m", "benchmarks", *argv)


TASKS = {"demo": task_demo, "test": task_test, "quick": task_quick, "bench": task_bench}


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the user has
        sys.exit(f"stock-manager needs Python 3.11+, this is {sys.version.split()[0]}")
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 dev.py {{{'|'.join(TASKS)}}} [args...]", file=sys.stderr)
        return 2
    ensure_venv(EXTRA_OF_TASK[sys.argv[1]])
    return TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
