"""The reconciliation figure (issue 17): orders through the helpers with replies dropped.

Against a real-domain sandbox whose market clock is pinned (2026-03-10 10:00 KST, seed 7),
``Orders(client, reconcile=True)`` sends N domestic market orders of 252670 (buys of 1-3
shares, every fourth a sell of 1) while the sandbox drops a share of order replies *after*
processing the order (``drop_after_rate``). Counted:

* ambiguous: replies dropped (the sandbox's own count), all resolved by the helpers;
* duplicates: orders KIS holds beyond the N asked for (a resend of a processed order);
* lost: orders asked for that KIS does not hold, or that the helpers did not return;
* balance: the sandbox's holding of 252670 vs the sum of what the helpers returned.

    python -m benchmarks.reconcile [--orders 300] [--drop 0.3] [--seed 17]

Prints the counts as JSON; exit code 1 unless duplicates, lost and unresolved are all 0 and
the balances match. tests/orders/test_reconcile_figure.py runs the same function.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient, balance_params
from stock_manager.adapters.broker.kis.orders import KISOrderNotPlacedError, Orders
from stock_manager.sandbox import KISSandbox, ManualClock

SYMBOL = "252670"  # a cheap ETF: the demo account's cash covers hundreds of orders
MARKET_TIME = "2026-03-10T10:00:00+09:00"
ORDER_CASH = "/uapi/domestic-stock/v1/trading/order-cash"


def holding(client: KISRestClient, symbol: str) -> int:
    """The account's quantity of ``symbol`` per KIS's balance inquiry (every page)."""
    params = balance_params(client.config)
    pages = client.iter_pages("GET", api_id="inquire-balance", params=params).collect()
    return sum(
        int(row["hldg_qty"]) for page in pages for row in page["output1"] if row["pdno"] == symbol
    )


def run_figure(
    sandbox: KISSandbox, config: KISConfig, *, orders: int = 300, drop: float = 0.3, seed: int = 17
) -> dict[str, Any]:
    """Send ``orders`` orders with ``drop`` of replies dropped after processing; the counts."""
    started = time.perf_counter()
    sandbox.set_faults(ORDER_CASH, drop_after_rate=drop, seed=seed)
    returned = []
    not_placed = 0
    expected = 0
    with KISRestClient(config) as client:
        helpers = Orders(
            client, reconcile=True, clock=sandbox.market_time, reconcile_delays=(0.05, 0.1)
        )
        for i in range(orders):
            selling = i % 4 == 3 and expected > 0
            quantity = 1 if selling else i % 3 + 1
            try:
                placed = (helpers.sell if selling else helpers.buy)(SYMBOL, quantity)
            except KISOrderNotPlacedError:
                not_placed += 1  # never expected with drop_after only: counted as unresolved
                continue
            returned.append(placed)
            expected += -quantity if selling else quantity
        sandbox.clear_faults()
        held = holding(client, SYMBOL)
    stats = sandbox.stats()
    at_kis = [o for o in stats["orders"] if o["path"] == ORDER_CASH]
    kis_numbers = [o["odno"] for o in at_kis]
    ours = [o.odno for o in returned]
    by_number = {o["odno"]: o for o in at_kis}
    mismatched = sum(
        1
        for o in returned
        if o.odno in by_number and int(by_number[o.odno]["body"]["ORD_QTY"]) != o.quantity
    )
    return {
        "orders": orders,
        "drop_after_rate": drop,
        "ambiguous": stats["faults"]["drop_after"],
        "unresolved": not_placed,
        "duplicates": len(kis_numbers)
        - len(set(kis_numbers))
        + max(0, len(at_kis) - orders)
        + (len(ours) - len(set(ours))),
        "lost": len(set(kis_numbers) ^ set(ours)) + (orders - len(returned)) + mismatched,
        "holding_kis": held,
        "holding_helpers": expected,
        "balances_match": held == expected,
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--drop", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    sandbox = KISSandbox(
        "real", rate_limit=0, issue_interval=1, seed=7, clock=ManualClock(), market_time=MARKET_TIME
    )
    with sandbox, tempfile.TemporaryDirectory() as cache:
        config = KISConfig(
            _env_file=None,
            kis_app_key=sandbox.app_key,
            kis_app_secret=sandbox.app_secret,
            environment="real",
            base_url=sandbox.base_url,
            account_no=sandbox.account_no,
            token_store="memory",  # noqa: S106 - a store kind, not a password
            token_cache_dir=cache,
            rate_limit_per_second=1000,
        )
        figure = run_figure(sandbox, config, orders=args.orders, drop=args.drop, seed=args.seed)
    print(json.dumps(figure, indent=2))
    ok = not (figure["duplicates"] or figure["lost"] or figure["unresolved"])
    return 0 if ok and figure["balances_match"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
