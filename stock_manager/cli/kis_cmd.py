"""``stock-manager kis ...``: the KIS OpenAPI from the command line."""

from __future__ import annotations

import typer

from . import kis_calls, kis_catalog, kis_daily, kis_orders, kis_watch
from .kis_token import token_app
from .options import common_options

__all__ = ["kis_app"]

kis_app = typer.Typer(
    help="Call KIS: prices, balance, orders, tokens, any REST API, and the API catalog.",
    no_args_is_help=True,
)


@kis_app.callback()
@common_options
def kis() -> None:
    """Call KIS: prices, balance, orders, tokens, any REST API, and the API catalog.

    Everyday: `kis price 005930`, `kis balance`, `kis buy 005930 10 --price 70000`, `kis orders`,
    `kis cancel ODNO`, `kis holidays`, `kis symbol 삼성전자`, `kis watch H0STCNT0 005930`.

        Configuration comes from KIS_* variables and .env (as for the library), overridden by
        the flags. Nothing configured? `stock-manager sandbox serve` prints the exports for a local
        sandbox, and `stock-manager demo` shows the whole flow.
    """


kis_app.add_typer(token_app, name="token")
kis_calls.register(kis_app)
kis_catalog.register(kis_app)
kis_daily.register(kis_app)
kis_orders.register(kis_app)
kis_watch.register(kis_app)
