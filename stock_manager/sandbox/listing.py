"""What every account inquiry needs: KIS's number formats, its rows per call, and a page.

Amounts are strings as KIS sends them: whole won for KRW, two decimals for rates. Rows per call
come from the sandbox's route table (KIS's overview: balance 50 real / 20 paper...).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.paging import Pager
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.tables import CATALOG_ROUTES


def won(value: Decimal | int) -> str:
    """A KRW amount as KIS writes it: whole won."""
    return str(int(Decimal(value).quantize(Decimal(1), ROUND_HALF_UP)))


def rate(numerator: Decimal, denominator: Decimal) -> str:
    """A percentage with two decimals ("0.00" when the denominator is zero)."""
    if not denominator:
        return "0.00"
    return f"{numerator * 100 / denominator:.2f}"


def rows_per_call(state: SandboxState, path: str, fallback: int) -> int:
    """KIS's rows per call for the API on the sandbox's domain (or the sandbox's page_size)."""
    if state.page_size is not None:
        return state.page_size
    rows = CATALOG_ROUTES[path].get("rows") or {}
    found = rows.get(state.environment) or rows.get("real")
    return int(found) if found else fallback


def page_of(
    state: SandboxState,
    call: GatewayCall,
    rows: Sequence[dict[str, str]],
    scope: str,
    size: int,
    *,
    width: int = 100,
) -> tuple[Sequence[dict[str, str]], str, str, str]:
    """One page of ``rows``: (rows, tr_cont, fk, nk) for the ``CTX_AREA_FK{width}`` form."""
    keys = {
        "CTX_AREA_FK100": call.params.get(f"CTX_AREA_FK{width}", ""),
        "CTX_AREA_NK100": call.params.get(f"CTX_AREA_NK{width}", ""),
    }
    page = Pager(state.signing_key, size).page(rows, scope, call.tr_cont, keys)
    return page.rows, page.tr_cont, page.ctx_area_fk100, page.ctx_area_nk100


def amount(value: Decimal | int, places: int = 2) -> str:
    """A foreign-currency amount or price with ``places`` decimals."""
    return f"{Decimal(value):.{places}f}"
