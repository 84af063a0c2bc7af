"""The ``stock-manager`` command line: a thin layer over the library and the sandbox."""

from __future__ import annotations

import typer

from stock_manager.cli.sandbox_cmd import sandbox_app

app = typer.Typer(
    name="stock-manager",
    help="KIS OpenAPI toolkit: a client, a local KIS sandbox and tools around them.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(sandbox_app, name="sandbox")


def main() -> None:
    """Console-script entry point."""
    app()
