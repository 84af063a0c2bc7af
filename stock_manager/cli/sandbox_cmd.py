"""``stock-manager sandbox ...``: run the local KIS stand-in."""

from __future__ import annotations

import signal
import threading
import time
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from stock_manager.sandbox import KISSandbox, SandboxConfigError, SandboxError
from stock_manager.sandbox.sessions import KST, parse_market_time

from .config_cmd import render_env, write_private

__all__ = ["parse_market_time_option", "sandbox_app", "sandbox_settings"]

sandbox_app = typer.Typer(help="Run the local KIS sandbox.", no_args_is_help=True)


def parse_market_time_option(value: str, today: date | None = None) -> datetime | str:
    """``--market-time``: an ISO datetime (naive means KST), ``HH:MM`` (``today``, KST, by
    default the real date) or ``wall``; a ValueError says what is accepted."""
    if today is None:
        today = datetime.fromtimestamp(time.time(), KST).date()
    return parse_market_time(value, today)


@sandbox_app.command()
def serve(
    *,
    env: Annotated[str, typer.Option("--env", help="KIS domain to play: paper or real.")] = "paper",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 8080,
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    rate_limit: Annotated[
        float | None,
        typer.Option("--rate-limit", help="Requests per second per app key (0: no limit)."),
    ] = None,
    issue_interval: Annotated[
        float, typer.Option("--issue-interval", help="Seconds between token issuances per key.")
    ] = 60,
    page_size: Annotated[
        int | None,
        typer.Option(
            "--page-size", help="Rows per page of account lists (default: KIS's rows per call)."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed: the same app key, secret and account on every start (and repeatable "
            "faults), so an exported KIS_* or a --write-env file stays valid."
        ),
    ] = None,
    write_env: Annotated[
        Path | None,
        typer.Option(
            "--write-env",
            metavar="FILE",
            help="Also write the KIS_* settings to FILE (mode 0600, replaced if it exists), "
            "for the library and the CLI to read as .env.",
            show_default=False,
        ),
    ] = None,
    block_deprecated_tr_ids: Annotated[
        bool,
        typer.Option(
            "--block-deprecated-tr-ids",
            help="Refuse deprecated TR_IDs (OPSQ0002) instead of serving them as their successors.",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not print a line per request.")
    ] = False,
    market_time: Annotated[
        str | None,
        typer.Option(
            "--market-time",
            help="Market time to start at: ISO datetime, HH:MM (today, KST) or 'wall' "
            "(default: 10:00 KST of the current trading day).",
        ),
    ] = None,
) -> None:
    """Serve the sandbox until Ctrl-C, printing its URL, demo credentials and each request.

    Each request prints one line: time, method, path, tr_id, HTTP status, rt_cd and
    milliseconds (``--quiet`` turns them off).
    """
    console = Console(soft_wrap=True, highlight=False)
    errors = Console(stderr=True, soft_wrap=True, highlight=False)
    # KISSandbox checks every option (loopback host, port range, finite rates) and says what is
    # wrong in one line: SandboxConfigError below.
    try:
        start = None if market_time is None else parse_market_time_option(market_time)
    except ValueError as exc:
        errors.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    try:
        sandbox = KISSandbox(
            env,  # type: ignore[arg-type]  # checked by the sandbox
            rate_limit=rate_limit,
            issue_interval=issue_interval,
            page_size=page_size,
            seed=seed,
            block_deprecated=block_deprecated_tr_ids,
            market_time=start,
            request_log=None if quiet else _print_line,
            host=host,
            port=port,
        ).start()
    except (SandboxConfigError, SandboxError) as exc:
        errors.print(f"error: {exc}{_hint(exc, port)}", markup=False)
        raise typer.Exit(2) from None
    settings = sandbox_settings(sandbox)
    if write_env is not None:
        try:
            write_private(
                write_env, render_env(settings, by="stock-manager sandbox serve"), force=True
            )
        except OSError as exc:
            sandbox.stop()
            errors.print(
                f"error: cannot write {write_env}: {exc.strerror or type(exc).__name__}",
                markup=False,
            )
            raise typer.Exit(2) from None

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        console.print(
            f"[bold]KIS sandbox ({sandbox.environment})[/] listening on {escape(sandbox.base_url)}"
        )
        console.print(f"Market time: {sandbox.market.clock.describe()}", markup=False)
        console.print("Demo credentials (sandbox only, safe to show):")
        console.print(f"  app key     {sandbox.app_key}", markup=False)
        console.print(f"  app secret  {sandbox.app_secret}", markup=False)
        console.print(f"  account     {sandbox.account_no}", markup=False)
        console.print("Point a client at it:")
        console.print(
            "export " + " ".join(f"{name}={value}" for name, value in settings.items()),
            markup=False,
        )
        if write_env is not None:
            console.print(f"Wrote {write_env} (mode 0600).", markup=False)
        if seed is None:
            console.print("New credentials each start: --seed N keeps them.", markup=False)
        console.print("Press Ctrl-C to stop.")
        console.file.flush()
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()


def sandbox_settings(sandbox: KISSandbox) -> dict[str, str]:
    """The KIS_* settings that point a client at ``sandbox``, in the export line's order."""
    return {
        "KIS_BASE_URL": sandbox.base_url,
        "KIS_APP_KEY": sandbox.app_key,
        "KIS_APP_SECRET": sandbox.app_secret,
        "KIS_ACCOUNT_NO": sandbox.account_no,
        "KIS_ENVIRONMENT": sandbox.environment,
        "KIS_WEBSOCKET_URL": sandbox.websocket_url,
        "KIS_HTS_ID": sandbox.hts_id,
    }


def _hint(exc: Exception, port: int) -> str:
    if "in use" in str(exc).lower():
        return (
            f" (another program, perhaps a sandbox already running, holds port {port}: "
            "pass --port 0 for a free one, or another --port)"
        )
    return ""


def _print_line(line: str) -> None:
    # Called from the server's thread; print() writes one line at a time, and the line holds
    # no markup (paths are the caller's text), so it bypasses rich.
    print(line, flush=True)
