"""The ``stock-manager`` command line: a thin layer over the library and the sandbox.

::

    stock-manager demo [--live [--place-order]]      the whole flow, embedded sandbox by default
    stock-manager kis token issue|status|revoke      access tokens
    stock-manager kis hashkey BODY                   hashkey of an order body
    stock-manager kis approval-key                   websocket approval key
    stock-manager kis request METHOD PATH ...        any KIS REST API
    stock-manager kis price|balance|orders|holidays|symbol   everyday look-ups
    stock-manager kis buy|sell CODE QTY [--price P] / kis cancel ODNO   orders
    stock-manager kis tr-id API_ID / kis apis        the API catalog
    stock-manager sandbox serve                      the local KIS sandbox
    stock-manager config init [--path] [--force]     write a 0600 .env interactively

Exit codes: 0 success, 1 KIS/network error, 2 usage or configuration error.
"""

from __future__ import annotations

from importlib import metadata
from typing import Annotated

import typer

from stock_manager.cli import help_format
from stock_manager.cli.config_cmd import config_app
from stock_manager.cli.demo_cmd import demo
from stock_manager.cli.kis_cmd import kis_app
from stock_manager.cli.options import common_options
from stock_manager.cli.sandbox_cmd import sandbox_app

__all__ = ["app", "main", "version"]

help_format.install()


def version() -> str:
    """The installed distribution's version (``unknown`` when run from an uninstalled tree)."""
    try:
        return metadata.version("stock-manager")
    except metadata.PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"stock-manager {version()}")
        raise typer.Exit()


app = typer.Typer(
    name="stock-manager",
    help="KIS OpenAPI toolkit: a client, a local KIS sandbox and tools around them.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback's local variables could hold a secret: never show them.
    pretty_exceptions_show_locals=False,
)


@app.callback()
@common_options
def root(
    *,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """KIS OpenAPI toolkit: a client, a local KIS sandbox and tools around them.

    Start with `stock-manager demo`. Exit codes: 0 ok, 1 KIS or network error, 2 usage or
    configuration error.
    """


app.add_typer(kis_app, name="kis")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(config_app, name="config")
app.command("demo")(demo)


def main() -> None:
    """Console-script entry point."""
    app()
