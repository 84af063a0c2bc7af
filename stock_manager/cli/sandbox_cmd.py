"""``stock-manager sandbox ...``: run the local KIS stand-in."""

from __future__ import annotations

import typer

sandbox_app = typer.Typer(help="Run the local KIS sandbox.", no_args_is_help=True)
