"""``kis buy``, ``kis sell``, ``kis orders`` and ``kis cancel``: orders over ``client.orders``.

On the real domain (실전투자) every order and cancel asks first, on stderr, unless ``--yes``;
with ``--json`` there is no one to ask, so ``--yes`` is required. Paper (모의투자) never asks:
its orders move no money. The sandbox asks only when it plays the real domain, as KIS would.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.adapters.broker.kis.orders import Order

from .failures import EXIT_API, AcceptedOrderNotShownError, CliUsageError
from .options import common_options
from .session import Session
from .views import CsvOption, FieldsOption, LabelsOption, show_rows, view_of

__all__ = ["confirm_real", "order_document", "register"]

YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask before a real-domain (실전투자) order."),
]

ORDER_LABELS_KO = {
    "odno": "주문번호",
    "symbol": "종목코드",
    "side": "매도매수",
    "quantity": "주문수량",
    "price": "주문단가",
    "filled": "체결수량",
    "remaining": "잔여수량",
    "ordered_at": "주문시각",
    "action": "구분",
}


def confirm_real(session: Session, config: KISConfig, what: str, *, yes: bool) -> None:
    """Ask before ``what`` goes to the real domain; return only when it may be sent.

    Paper and ``--yes`` never ask. A "no", or no answer at all (stdin closed), sends nothing
    and exits 1; under ``--json`` a real order without ``--yes`` is a usage error (exit 2).
    """
    if config.is_paper or yes:
        return
    if session.output.json_mode:
        raise CliUsageError(f"{what} on the real domain needs --yes with --json (nothing sent)")
    try:
        agreed = typer.confirm(
            f"REAL account {config.account_no}: {what}. Send it?", default=False, err=True
        )
    except typer.Abort:
        agreed = False
    if not agreed:
        session.output.error("not sent: the order was not confirmed")
        raise typer.Exit(EXIT_API)


def order_document(order: Order) -> dict[str, Any]:
    """An order as JSON with stable keys (numbers as strings, times ISO-8601 KST)."""
    return {
        "odno": order.odno,
        "symbol": order.symbol,
        "side": order.side,
        "quantity": str(order.quantity),
        "price": None if order.price is None else str(order.price),
        "filled": None if order.filled is None else str(order.filled),
        "remaining": None if order.remaining is None else str(order.remaining),
        "ordered_at": None if order.ordered_at is None else order.ordered_at.isoformat(),
        "action": order.action,
        "original_odno": order.original_odno or None,
    }


def _show_order(session: Session, order: Order, headline: str) -> None:
    # The order is placed: if showing it fails, its number must still be told.
    try:
        output = session.output
        if output.json_mode:
            output.json({"order": order_document(order)})
            return
        output.line(f"[bold green]{output.escaped(headline)}[/]")
        document = order_document(order)
        output.pairs([(k, v) for k, v in document.items() if v is not None])
    except Exception as exc:
        raise AcceptedOrderNotShownError(order.odno, exc) from None


def _place(side: str, code: str, quantity: int, price: str | None, yes: bool) -> None:
    with Session.start() as session:
        if quantity < 1:
            raise CliUsageError("QTY must be a whole number of shares, 1 or more")
        config = session.config()
        at = f"at {price}" if price is not None else "at market"
        confirm_real(session, config, f"{side} {quantity} × {code} {at}", yes=yes)
        waiting = session.output.waiting(f"sending the {side} order…")
        with session.client(config) as client, waiting:
            helpers = client.orders
            send = helpers.buy if side == "buy" else helpers.sell
            order = send(code, quantity, price)
        _show_order(session, order, f"{side} order placed: ODNO {order.odno}")


@common_options
def buy(
    code: Annotated[str, typer.Argument(help="KRX code, e.g. 005930.", show_default=False)],
    quantity: Annotated[int, typer.Argument(help="Shares to buy.", show_default=False)],
    *,
    price: Annotated[
        str | None,
        typer.Option("--price", help="Limit price in KRW (default: at market).", metavar="P"),
    ] = None,
    yes: YesOption = False,
) -> None:
    """Buy QTY shares of CODE: a limit order with --price, else at market.

    Asks first on the real domain unless --yes. --json writes {"order": {"odno", "symbol",
    "side", "quantity", "price", "filled", "remaining", "ordered_at", "action",
    "original_odno"}}.
    """
    _place("buy", code, quantity, price, yes)


@common_options
def sell(
    code: Annotated[str, typer.Argument(help="KRX code, e.g. 005930.", show_default=False)],
    quantity: Annotated[int, typer.Argument(help="Shares to sell.", show_default=False)],
    *,
    price: Annotated[
        str | None,
        typer.Option("--price", help="Limit price in KRW (default: at market).", metavar="P"),
    ] = None,
    yes: YesOption = False,
) -> None:
    """Sell QTY shares of CODE: a limit order with --price, else at market.

    Asks first on the real domain unless --yes. --json as for `kis buy`.
    """
    _place("sell", code, quantity, price, yes)


@common_options
def orders(
    *,
    fields: FieldsOption = None,
    as_csv: CsvOption = False,
    labels: LabelsOption = "en",
) -> None:
    """Pending orders of the configured account: what is left to fill, modify or cancel.

    --json writes {"orders": [...]}, each as `kis buy` describes.
    """
    with Session.start() as session:
        output = session.output
        view = view_of(fields, as_csv, labels, output)
        with session.client() as client, output.waiting("reading pending orders…"):
            pending = client.orders.pending()
        documents = [order_document(o) for o in pending]
        if output.json_mode:
            output.json({"orders": documents})
            return
        if not documents:
            output.line("no pending orders")
            return
        rows = [{k: v for k, v in d.items() if k != "original_odno"} for d in documents]
        show_rows(
            output,
            f"{len(rows)} pending",
            rows,
            view,
            korean=ORDER_LABELS_KO,
            numbers=("quantity", "price", "filled", "remaining"),
        )


@common_options
def cancel(
    odno: Annotated[
        str, typer.Argument(help="Order number (ODNO), from `kis orders`.", show_default=False)
    ],
    *,
    yes: YesOption = False,
) -> None:
    """Cancel what is left of pending order ODNO.

    Asks first on the real domain unless --yes. --json writes {"order": ...} for the cancel
    (an order of its own, whose original_odno is ODNO).
    """
    with Session.start() as session:
        config = session.config()
        wanted = odno.strip().lstrip("0")
        with session.client(config) as client:
            with session.output.waiting("finding the order…"):
                pending = client.orders.pending()
            target = next((o for o in pending if o.odno.lstrip("0") == wanted), None)
            if target is None:
                known = ", ".join(o.odno for o in pending) or "none"
                raise CliUsageError(
                    f"no pending order {odno!r} (pending: {known}); `kis orders` lists them"
                )
            confirm_real(
                session,
                config,
                f"cancel order {target.odno} ({target.side} {target.remaining} × {target.symbol})",
                yes=yes,
            )
            with session.output.waiting("cancelling…"):
                cancelled = target.cancel()
        _show_order(session, cancelled, f"cancel sent for {target.odno}: ODNO {cancelled.odno}")


def register(app: typer.Typer) -> None:
    """Add ``buy``, ``sell``, ``orders`` and ``cancel`` to the ``kis`` group."""
    app.command("buy")(buy)
    app.command("sell")(sell)
    app.command("orders")(orders)
    app.command("cancel")(cancel)
