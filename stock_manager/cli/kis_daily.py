"""Everyday look-ups: ``kis price``, ``kis balance``, ``kis holidays`` and ``kis symbol``.

Thin over the library's helpers (``client.quote``, ``client.balance``, ``client.market``,
``client.symbols``); the account is the configured one (KIS_ACCOUNT_NO or ``--account-no``).
Under ``--json`` each writes one document whose numbers are strings, exactly as KIS sent them
(no float rounding); tables format them for reading.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import KISError, KISRestClient
from stock_manager.adapters.broker.kis.answers.market import Quote
from stock_manager.adapters.broker.kis.reference.sessions import KST
from stock_manager.adapters.broker.kis.reference.symbols import Symbols

from .failures import CliUsageError
from .options import common_options
from .session import Session
from .views import CsvOption, FieldsOption, LabelsOption, show_rows, view_of

__all__ = ["register"]

# The domestic masters only: naming a KRX code needs neither the overseas files nor their
# download.
_DOMESTIC_MASTERS = ("kospi_code.mst.zip", "kosdaq_code.mst.zip")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAYS_KO = ("월", "화", "수", "목", "금", "토", "일")

PRICE_LABELS_KO = {
    "symbol": "종목코드",
    "name": "종목명",
    "price": "현재가",
    "change": "전일대비",
    "change_rate": "등락률(%)",
    "volume": "거래량",
}
PRICE_LABELS_EN = {"symbol": "code", "change_rate": "%"}
HOLDING_LABELS_KO = {
    "symbol": "종목코드",
    "name": "종목명",
    "quantity": "보유수량",
    "orderable_quantity": "주문가능",
    "average_price": "매입평균가",
    "price": "현재가",
    "value": "평가금액",
    "profit": "평가손익",
    "profit_rate": "수익률(%)",
}
HOLDING_LABELS_EN = {
    "symbol": "code",
    "quantity": "qty",
    "orderable_quantity": "orderable",
    "average_price": "avg price",
    "profit_rate": "%",
}
CASH_LABELS_KO = {
    "cash": "예수금",
    "stock_value": "유가평가금액",
    "total_value": "총평가금액",
    "purchase_amount": "매입금액합계",
    "profit": "평가손익합계",
}


def _text(value: Decimal | int | None) -> str | None:
    return None if value is None else str(value)


def _names(client: KISRestClient, codes: list[str]) -> dict[str, str]:
    # A name is a help, not the point: a master that cannot be had leaves the names blank.
    try:
        symbols = Symbols(client, files=_DOMESTIC_MASTERS)
        found = {code: symbols.get(code) for code in codes}
    except KISError:
        return {}
    return {code: symbol.name for code, symbol in found.items() if symbol is not None}


def _quote_row(quote: Quote, name: str) -> dict[str, Any]:
    return {
        "symbol": quote.symbol,
        "name": name,
        "price": _text(quote.price),
        "change": _text(quote.change),
        "change_rate": _text(quote.change_rate),
        "volume": _text(quote.volume),
    }


@common_options
def price(
    codes: Annotated[
        list[str], typer.Argument(help="KRX codes, e.g. 005930 000660.", show_default=False)
    ],
    *,
    fields: FieldsOption = None,
    as_csv: CsvOption = False,
    labels: LabelsOption = "en",
) -> None:
    """Current price of one or more stocks: name, price, change, %, volume.

    --json writes {"quotes": [{"symbol", "name", "price", "change", "change_rate", "volume",
    "market", "currency", "as_of"}]}, numbers as KIS's strings.
    """
    with Session.start() as session:
        output = session.output
        view = view_of(fields, as_csv, labels, output)
        if len(codes) > 30:
            raise CliUsageError("at most 30 codes at a time (KIS allows 20 calls a second)")
        with session.client() as client, output.waiting("asking KIS for prices…"):
            quotes = [client.quote(code.strip()) for code in codes]
            names = _names(client, [q.symbol for q in quotes])
        rows = [_quote_row(q, names.get(q.symbol, "")) for q in quotes]
        if output.json_mode:
            documents = [
                {**row, "market": q.market, "currency": q.currency, "as_of": q.as_of.isoformat()}
                for row, q in zip(rows, quotes, strict=True)
            ]
            output.json({"quotes": documents})
            return
        show_rows(
            output,
            None,
            rows,
            view,
            korean=PRICE_LABELS_KO,
            english=PRICE_LABELS_EN,
            numbers=("price", "change", "change_rate", "volume"),
        )


@common_options
def balance(
    *,
    fields: FieldsOption = None,
    as_csv: CsvOption = False,
    labels: LabelsOption = "en",
) -> None:
    """Holdings and cash of the configured account (every page).

    --json writes {"account", "holdings": [{"symbol", "name", "quantity", "orderable_quantity",
    "average_price", "price", "value", "profit", "profit_rate"}], "cash": {"cash",
    "stock_value", "total_value", "purchase_amount", "profit"}}, numbers as strings.
    """
    with Session.start() as session:
        output = session.output
        view = view_of(fields, as_csv, labels, output)
        config = session.config()
        with session.client(config) as client, output.waiting("reading the account…"):
            account = client.balance()
        holdings = [
            {
                "symbol": h.symbol,
                "name": h.name,
                "quantity": _text(h.quantity),
                "orderable_quantity": _text(h.orderable_quantity),
                "average_price": _text(h.average_price),
                "price": _text(h.price),
                "value": _text(h.value),
                "profit": _text(h.profit),
                "profit_rate": _text(h.profit_rate),
            }
            for h in account.holdings
        ]
        cash = {
            "cash": _text(account.cash),
            "stock_value": _text(account.stock_value),
            "total_value": _text(account.total_value),
            "purchase_amount": _text(account.purchase_amount),
            "profit": _text(account.profit),
        }
        if output.json_mode:
            output.json({"account": config.account_no, "holdings": holdings, "cash": cash})
            return
        if view.csv:
            show_rows(output, None, holdings, view, korean=HOLDING_LABELS_KO)
            return
        if holdings:
            show_rows(
                output,
                f"{config.account_no}: {len(holdings)} holdings",
                holdings,
                view,
                korean=HOLDING_LABELS_KO,
                english=HOLDING_LABELS_EN,
                numbers=[k for k in holdings[0] if k not in ("symbol", "name")],
            )
        else:
            output.line(f"{output.escaped(config.account_no)}: no holdings")
        names = CASH_LABELS_KO if view.korean else {}
        output.pairs(
            [(names.get(k, k.replace("_", " ")), _amount(v)) for k, v in cash.items()],
            title="cash (KRW)" if not view.korean else "예수금 (원)",
        )


def _amount(value: str | None) -> str:
    return "" if value is None else f"{Decimal(value):,}"


@common_options
def holidays(
    *,
    days: Annotated[
        int, typer.Option("--days", min=1, max=92, help="How many days ahead to look.")
    ] = 30,
    start: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="First day (default today, KST)."),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="List open days too, with KIS's four flags.")
    ] = False,
    fields: FieldsOption = None,
    as_csv: CsvOption = False,
    labels: LabelsOption = "en",
) -> None:
    """Days KRX is closed (weekends and holidays) in the coming --days, from KIS's calendar.

    --json writes {"days": [{"date", "weekday", "open", "business_day", "trading_day",
    "settlement_day"}]}.
    """
    with Session.start() as session:
        output = session.output
        view = view_of(fields, as_csv, labels, output)
        try:
            first = date.fromisoformat(start) if start else datetime.now(KST).date()
        except ValueError:
            raise CliUsageError(f"--from takes YYYY-MM-DD, not {start!r}") from None
        rows: list[dict[str, Any]] = []
        with session.client() as client, output.waiting("reading KRX's calendar…"):
            for offset in range(days):
                info = client.market.day_info(first + timedelta(days=offset))
                if info.open and not everything:
                    continue
                weekdays = _WEEKDAYS_KO if view.korean else _WEEKDAYS
                rows.append(
                    {
                        "date": info.day.isoformat(),
                        "weekday": weekdays[info.day.weekday()],
                        "open": info.open,
                        "business_day": info.business_day,
                        "trading_day": info.trading_day,
                        "settlement_day": info.settlement_day,
                    }
                )
        if output.json_mode:
            output.json({"days": rows})
            return
        korean = {
            "date": "날짜",
            "weekday": "요일",
            "open": "개장일",
            "business_day": "영업일",
            "trading_day": "거래일",
            "settlement_day": "결제일",
        }
        shown = [{k: _yes_no(v) for k, v in row.items()} for row in rows]
        last = first + timedelta(days=days - 1)
        title = f"KRX {first} … {last}: {len([r for r in rows if not r['open']])} closed days"
        show_rows(output, title, shown, view, korean=korean, numbers=())


def _yes_no(value: Any) -> Any:
    return ("yes" if value else "no") if isinstance(value, bool) else value


@common_options
def symbol(
    name: Annotated[
        str, typer.Argument(help="A code or (part of) a name: 삼성전자, samsung, AAPL.")
    ],
    *,
    market: Annotated[
        str | None, typer.Option("--market", help="Only this market: KOSPI, KOSDAQ, NASD...")
    ] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Whole names only.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 20,
    fields: FieldsOption = None,
    as_csv: CsvOption = False,
    labels: LabelsOption = "en",
) -> None:
    """Find symbols by code or name in KIS's master files (downloaded once a day, cached).

    --json writes {"symbols": [{"code", "name", "name_en", "market", "kind", "currency"}]}.
    """
    with Session.start() as session:
        output = session.output
        view = view_of(fields, as_csv, labels, output)
        with session.client() as client, output.waiting("reading KIS's symbol lists…"):
            by_code = client.symbols.get(name, market)
            found = [by_code] if by_code is not None else []
            found += [s for s in client.symbols.find(name, exact=exact, market=market)
                      if s is not by_code]  # fmt: skip
        rows = [
            {
                "code": s.code,
                "name": s.name,
                "name_en": s.name_en,
                "market": s.market,
                "kind": s.kind,
                "currency": s.currency,
            }
            for s in found[:limit]
        ]
        if output.json_mode:
            output.json({"symbols": rows, "total": len(found)})
            return
        if not rows:
            output.line(f"no symbol matches {output.escaped(name)!s}")
            return
        korean = {
            "code": "종목코드",
            "name": "종목명",
            "name_en": "영문명",
            "market": "시장",
            "kind": "구분",
            "currency": "통화",
        }
        title = f"{len(found)} found" + (f", first {limit}" if len(found) > limit else "")
        show_rows(output, title, rows, view, korean=korean, numbers=())


def register(app: typer.Typer) -> None:
    """Add ``price``, ``balance``, ``holidays`` and ``symbol`` to the ``kis`` group."""
    app.command("price")(price)
    app.command("balance")(balance)
    app.command("holidays")(holidays)
    app.command("symbol")(symbol)
