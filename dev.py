#!/usr/bin/env python3
"""One entry point for people and CI: ``python3 dev.py demo`` and ``python3 dev.py test``.

It needs nothing but Python 3.11+: it creates ``.venv`` beside this file, installs the
project with its extras into it when ``pyproject.toml`` changed, and runs the task there.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def _python() -> str:
    return str(BIN / "python")


def ensure_venv(extras: str = "dev,redis,bench") -> None:
    """Create .venv and install the project, redoing the install only when pyproject changes."""
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the user has
        sys.exit(f"stock-manager needs Python 3.11+, this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing stock-manager and its tools into .venv", flush=True)
    subprocess.run(
        [_python(), "-m", "pip", "install", "--quiet", "-e", f".[{extras}]"], cwd=ROOT, check=True
    )
    STAMP.write_text(wanted)


def run(*args: str) -> int:
    print("$ " + " ".join(args), flush=True)
    return subprocess.run(list(args), cwd=ROOT, check=False).returncode


def task_demo(argv: list[str]) -> int:
    return run(str(BIN / "stock-manager"), "demo", *argv)


def task_test(argv: list[str]) -> int:
    """Lint, format check, strict types, then the whole test suite, on every core.

    ``-n 0`` (or any ``-n``) overrides the parallelism; other arguments go to pytest as given.
    """
    py = _python()
    for step in (
        [py, "-m", "ruff", "check", "."],
        [py, "-m", "ruff", "format", "--check", "."],
        [py, "-m", "mypy", "stock_manager"],
    ):
        if run(*step) != 0:
            return 1
    parallel = [] if any(a == "-n" or a.startswith("-n") for a in argv) else ["-n", "auto"]
    code = run(py, "-m", "pytest", *parallel, *argv)
    if code == 5:  # pytest found no test: never let that pass as green
        print("no tests ran", file=sys.stderr)
        return 1
    return code


def task_bench(argv: list[str]) -> int:
    return run(_python(), "-m", "benchmarks", *argv)


TASKS = {"demo": task_demo, "test": task_test, "bench": task_bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 dev.py {{{'|'.join(TASKS)}}} [args...]", file=sys.stderr)
        return 2
    ensure_venv()
    return TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
