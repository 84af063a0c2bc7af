"""``stock-manager kis tr-id`` and ``kis apis``: the API catalog, no server needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import ApiSpec, get_catalog

from .options import common_options
from .session import Session

__all__ = ["register"]


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
        "name": spec.name,
        "category": spec.category,
        "method": spec.method,
        "path": spec.path,
        "tr_id": (
            {"real": _tr_json(spec.tr_id_real), "paper": _tr_json(spec.tr_id_paper)}
            if spec.has_tr_id
            else None
        ),
        "paper_supported": spec.paper_supported,
        "needs_token": spec.needs_token,
        "order": spec.order,
        "rate_limited": spec.rate_limited,
        "paged": spec.paged,
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


@common_options
def apis(
    *,
    category: Annotated[
        str | None, typer.Option("--category", help="Only this category (substring match).")
    ] = None,
    search: Annotated[
        str, typer.Option("--search", help="Text in the id, alias, name, path or TR_IDs.")
    ] = "",
) -> None:
    """List the KIS APIs the client knows, with their TR_IDs on both domains."""
    with Session.start() as session:
        found = get_catalog().search(search, category)
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
                    "method": spec.method,
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
