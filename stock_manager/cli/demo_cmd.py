"""``stock-manager demo``: the whole KIS flow against the embedded sandbox, or read-only ``--live``.

Without ``--live`` nothing outside this process is touched: the sandbox runs in a thread on
127.0.0.1, the configuration ignores every ``KIS_*`` variable and ``.env``, and tokens stay in
memory (the token cache directory is a temporary one, deleted at exit).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.bodies import cash_order_body
from stock_manager.adapters.broker.kis.redaction import fingerprint
from stock_manager.sandbox import KISSandbox

from . import demo_flow as flow
from .failures import CliUsageError
from .options import common_options
from .output import mask
from .session import Session
from .transcript import Transcript

__all__ = ["demo", "sandbox_config"]

# KIS allows paper 2 requests/s; the demo's sandbox allows 20 so that it finishes at once.
DEMO_RATE_LIMIT = 20.0
# Rows per balance page: small, so the demo's few holdings span several pages.
DEMO_PAGE_SIZE = 2


def sandbox_config(sandbox: KISSandbox, cache_dir: Path) -> KISConfig:
    """A configuration for ``sandbox`` that reads nothing from the environment or ``.env``."""
    # Every field is given explicitly because keyword arguments are the only source that
    # beats KIS_* variables: a developer's KIS_REDIS_URL or KIS_CUSTTYPE must not leak in.
    values: dict[str, Any] = {
        name: info.get_default(call_default_factory=True)
        for name, info in KISConfig.model_fields.items()
    }
    values.update(
        kis_app_key=sandbox.app_key,
        kis_app_secret=sandbox.app_secret,
        environment=sandbox.environment,
        base_url=sandbox.base_url,
        account_no=sandbox.account_no,
        token_store="memory",  # noqa: S106 (a store kind)
        token_cache_dir=cache_dir,
        rate_limit_per_second=DEMO_RATE_LIMIT,
    )
    return KISConfig(_env_file=None, **values)


def _run_sandbox_demo(session: Session) -> None:
    output = session.output
    transcript = Transcript(output)
    sandbox = KISSandbox("paper", rate_limit=DEMO_RATE_LIMIT, page_size=DEMO_PAGE_SIZE)
    with output.waiting("starting the embedded KIS sandbox…"):
        sandbox.start()
    stats: dict[str, Any] = {}
    error: BaseException | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="stock-manager-demo-") as cache_dir:
            config = sandbox_config(sandbox, Path(cache_dir))
            output.add_secret(sandbox.app_secret)
            transcript.heading(
                f"stock-manager demo: embedded KIS sandbox ({sandbox.environment})",
                [
                    ("sandbox", f"{sandbox.base_url} (loopback, this process only)"),
                    ("app key", f"{mask(sandbox.app_key)} (sha256 {fingerprint(sandbox.app_key)})"),
                    ("app secret", f"{mask(sandbox.app_secret)} (never printed)"),
                    ("account", sandbox.account_no),
                    ("tokens", "kept in memory; your token cache is not touched"),
                    ("rate limit", f"{DEMO_RATE_LIMIT:g}/s here (KIS paper: 2/s)"),
                ],
            )
            with KISRestClient(config) as client:
                flow.token_step(transcript, client)
                flow.price_step(transcript, client, flow.DEMO_SYMBOLS[0])
                flow.hashkey_step(
                    transcript, client, cash_order_body(config, flow.DEMO_SYMBOLS[0], 1)
                )
                flow.buy_steps(transcript, client, config, flow.DEMO_SYMBOLS)
                flow.balance_step(transcript, client, config)
                flow.approval_step(transcript, client)
                flow.revoke_step(transcript, client)
            stats = sandbox.stats()
    except Exception as exc:
        error = exc
        raise
    finally:
        sandbox.stop()
        _finish(
            session,
            transcript,
            mode="sandbox",
            environment="paper",
            base_url=sandbox.base_url,
            stats=stats,
            error=error,
        )


def _confirm_real_order(session: Session, config: KISConfig, symbol: str, yes: bool) -> None:
    if config.is_paper or yes:
        return
    if session.output.json_mode:
        raise CliUsageError("--place-order on the real domain needs --yes with --json")
    typer.confirm(
        f"Place a REAL market order for 1 share of {symbol} on account {config.account_no}?",
        abort=True,
        err=True,
    )


def _run_live_demo(session: Session, *, place_order: bool, symbol: str, yes: bool) -> None:
    config = session.config(need_server=False)
    if config.kis_app_key is None:
        raise CliUsageError(
            "demo --live runs against the KIS you configure: set KIS_APP_KEY and KIS_APP_SECRET "
            "(and KIS_ACCOUNT_NO; KIS_ENVIRONMENT=paper is the default), or drop --live to use "
            "the embedded sandbox"
        )
    if place_order and config.account_no is None:
        raise CliUsageError("--place-order needs the account: set KIS_ACCOUNT_NO or --account-no")
    if place_order:
        _confirm_real_order(session, config, symbol, yes)
    output = session.output
    transcript = Transcript(output)
    transcript.heading(
        f"stock-manager demo --live: KIS {config.environment}",
        [
            ("server", config.rest_base_url),
            ("app key", f"sha256 {config.app_key_fingerprint}"),
            ("account", config.account_no or "not set: the balance step is skipped"),
            ("orders", f"1 share of {symbol}" if place_order else "none (add --place-order)"),
            ("tokens", f"your configured store ({config.token_store}); the token is not revoked"),
        ],
    )
    error: BaseException | None = None
    try:
        with session.client(config) as client:
            flow.token_step(transcript, client)
            flow.price_step(transcript, client, symbol)
            if config.account_no is not None:
                flow.hashkey_step(transcript, client, cash_order_body(config, symbol, 1))
            else:
                flow.hashkey_step(transcript, client, {"PDNO": symbol, "ORD_QTY": "1"})
            if place_order:
                flow.buy_steps(transcript, client, config, (symbol,))
            if config.account_no is not None:
                flow.balance_step(transcript, client, config)
            flow.approval_step(transcript, client)
    except Exception as exc:
        error = exc
        raise
    finally:
        _finish(
            session,
            transcript,
            mode="live",
            environment=config.environment,
            base_url=config.rest_base_url,
            stats={},
            error=error,
        )


def _finish(
    session: Session,
    transcript: Transcript,
    *,
    mode: str,
    environment: str,
    base_url: str,
    stats: dict[str, Any],
    error: BaseException | None,
) -> None:
    output = session.output
    sandbox_stats = {
        "tokens_issued": stats.get("tokens_issued"),
        "tokens_revoked": stats.get("tokens_revoked"),
        "hashkeys_issued": stats.get("hashkeys_issued"),
        "approval_keys_issued": stats.get("approval_keys_issued"),
        "orders": len(stats.get("orders") or []),
        "rate_limited": stats.get("rate_limited"),
    }
    if output.json_mode:
        output.error_in_document = error is not None
        output.json(
            {
                "mode": mode,
                "environment": environment,
                "base_url": base_url,
                "ok": error is None,
                "steps": transcript.document(),
                "sandbox_stats": sandbox_stats if stats else None,
            }
        )
        return
    if error is not None:
        return
    output.line()
    if stats:
        output.line("[bold]What the sandbox counted[/]")
        output.pairs([(name.replace("_", " "), value) for name, value in sandbox_stats.items()])
        output.line()
        output.line(
            "[bold green]Done.[/] Next: `stock-manager sandbox serve` for a sandbox to point "
            "your code at, `stock-manager kis --help` for the commands."
        )
    else:
        output.line("[bold green]Done.[/]")


@common_options
def demo(
    *,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Run the read-only and hashkey steps against the KIS configured by KIS_* "
            "(paper by default) instead of the embedded sandbox.",
        ),
    ] = False,
    place_order: Annotated[
        bool,
        typer.Option(
            "--place-order", help="With --live: also place one market buy order of 1 share."
        ),
    ] = False,
    symbol: Annotated[
        str, typer.Option("--symbol", help="With --live: the stock to price and to order.")
    ] = "005930",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before a real-domain order.")
    ] = False,
) -> None:
    """Walk the KIS flow: token, price, hashkey, a signed order, balance pages, approval key,
    revoke; against an embedded sandbox unless --live."""
    with Session.start() as session:
        if live:
            _run_live_demo(session, place_order=place_order, symbol=symbol, yes=yes)
        else:
            _run_sandbox_demo(session)
