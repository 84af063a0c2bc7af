"""``stock-manager kis tr-id`` and ``kis apis``: the API catalog, no server needed.

``kis apis show`` prints an API's reference page, rendered by :mod:`.api_pages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markdown import Markdown

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog

from .api_pages import api_page, page_path
from .failures import CliUsageError
from .options import common_options
from .session import Session

if TYPE_CHECKING:
    pass

__all__ = ["api_document", "register"]


def _tr_text(spec: ApiSpec, tr: str | Mapping[str, str] | None, paper: bool) -> str:
    if not spec.has_tr_id:
        return "—"
    if paper and not spec.paper_supported:
        return "not in paper"
    if isinstance(tr, Mapping):
        return ", ".join(f"{name} {value}" for name, value in tr.items())
    return tr or "—"


def _tr_json(tr: str | Mapping[str, str] | None) -> str | dict[str, str] | None:
    return dict(tr) if isinstance(tr, Mapping) else tr


def api_document(spec: ApiSpec) -> dict[str, Any]:
    """One catalog entry as JSON (stable keys)."""
    return {
        "api_id": spec.api_id,
        "alias": spec.alias,
        "aliases": list(spec.aliases),
        "name": spec.name,
        "category": spec.category,
        "transport": spec.transport,
        "method": spec.method,
        "path": spec.path,
        "tr_id": (
            {"real": _tr_json(spec.tr_id_real), "paper": _tr_json(spec.tr_id_paper)}
            if spec.has_tr_id
            else None
        ),
        "deprecated_tr_ids": dict(spec.deprecated_tr_ids),
        "paper_supported": spec.paper_supported,
        "needs_token": spec.needs_token,
        "order": spec.order,
        "rate_limited": spec.rate_limited,
        "paged": spec.paged,
        "page": f"docs/apis/{page_path(spec)}",
    }


@common_options
def tr_id(
    api_id: Annotated[
        str, typer.Argument(help="Official API id (v1_국내주식-001) or alias (order-cash).")
    ],
    *,
    paper: Annotated[
        bool | None,
        typer.Option(
            "--paper/--real",
            help="Which domain's TR_ID. [default: --env / KIS_ENVIRONMENT, else paper]",
            show_default=False,
        ),
    ] = None,
    variant: Annotated[
        str | None, typer.Option("--variant", help="buy/sell, recent/older, ... where several.")
    ] = None,
) -> None:
    """The TR_ID of a KIS API on the paper or real domain (all variants unless --variant)."""
    with Session.start() as session:
        if paper is None:
            paper = session.config(need_server=False).is_paper
        spec = get_catalog().get(api_id)
        variants: dict[str, str] | None = None
        value: str | None = None
        if spec.variants and variant is None:
            # The library insists on a variant; here listing them all is the useful answer.
            variants = {name: spec.tr_id_for(paper, name) or "" for name in spec.variants}
        else:
            value = spec.tr_id_for(paper, variant)
        environment = "paper" if paper else "real"
        output = session.output
        if output.json_mode:
            output.json(
                {
                    "api_id": spec.api_id,
                    "alias": spec.alias,
                    "name": spec.name,
                    "method": spec.method,
                    "path": spec.path,
                    "environment": environment,
                    "variant": variant,
                    "tr_id": value,
                    "variants": variants,
                }
            )
            return
        rows: list[tuple[str, Any]] = [
            ("api", f"{spec.api_id} ({spec.alias}) {spec.name}"),
            ("endpoint", f"{spec.method} {spec.path}"),
            ("environment", environment),
        ]
        if variants is not None:
            rows.extend((f"tr_id ({name})", tr) for name, tr in variants.items())
        else:
            rows.append(("tr_id", value if value is not None else "none: this API takes no TR_ID"))
        output.pairs(rows)


def _show(session: Session, api_id: str) -> None:
    spec = get_catalog().get(api_id)
    output = session.output
    page = api_page(spec)
    if output.json_mode:
        output.json({"api": api_document(spec), "markdown": page})
        return
    # The page holds KIS's text, never a secret; clean() still strips control characters.
    output.out.print(Markdown(output.clean(page)))


@common_options
def apis(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            help="TEXT to search for (Korean or English), or `show ID` for one API's page.",
            show_default=False,
        ),
    ] = None,
    *,
    category: Annotated[
        str | None, typer.Option("--category", help="Only this category (substring match).")
    ] = None,
    search: Annotated[
        str, typer.Option("--search", help="Text in the id, alias, name, path or TR_IDs.")
    ] = "",
) -> None:
    """List and search the KIS APIs; `apis show ID` prints one API's reference page.

    `stock-manager kis apis 잔고` or `kis apis balance` searches (Korean and English);
    `kis apis show order-cash` shows the page (parameters, response fields, an example).
    """
    with Session.start() as session:
        words = words or []
        if words[:1] == ["show"]:
            if len(words) != 2:
                raise CliUsageError("usage: stock-manager kis apis show ID (one API id or alias)")
            _show(session, words[1])
            return
        if len(words) > 1:
            raise CliUsageError(
                f"search for one TEXT (quote it if it has spaces: {' '.join(words)!r}), "
                "or `apis show ID`"
            )
        found = get_catalog().search(words[0] if words else search, category)
        output = session.output
        if output.json_mode:
            output.json({"count": len(found), "apis": [api_document(spec) for spec in found]})
            return
        if not found:
            output.line("no API matches", style="yellow")
            return
        output.records(
            f"{len(found)} KIS APIs",
            [
                {
                    "api_id": spec.api_id,
                    "alias": spec.alias,
                    "name": spec.name,
                    "method": "WS" if spec.transport == "websocket" else spec.method,
                    "path": spec.path,
                    "real": _tr_text(spec, spec.tr_id_real, paper=False),
                    "paper": _tr_text(spec, spec.tr_id_paper, paper=True),
                }
                for spec in found
            ],
        )


def register(app: typer.Typer) -> None:
    """Add ``tr-id`` and ``apis`` to the ``kis`` group."""
    app.command("tr-id")(tr_id)
    app.command("apis")(apis)
