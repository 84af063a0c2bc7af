"""The ``stock-manager`` console script: the CLI when its extra is installed, one clear line if not.

The core install (``pip install stock-manager``) is the client alone, yet it installs this script
too: without the guard, running it would end in a traceback about ``typer``.
"""

from __future__ import annotations

import sys

# The top-level modules that ``stock-manager[cli]`` (which brings ``[sandbox]``) installs and the
# command line imports when it starts. Any other missing module is a real bug: let it raise.
CLI_EXTRA_MODULES = frozenset({"typer", "click", "rich", "starlette", "uvicorn"})


def main() -> None:
    """Run the command line, or exit 2 naming the extra to install."""
    try:
        from stock_manager.cli import main as cli_main  # noqa: PLC0415 - the import is the check
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in CLI_EXTRA_MODULES:
            raise
        print(
            f"stock-manager: the command line needs its extra ({missing} is not installed): "
            "pip install 'stock-manager[cli]'",
            file=sys.stderr,
        )
        # 2, as the CLI's own usage and configuration errors.
        raise SystemExit(2) from None
    cli_main()
