"""``stock-manager kis hashkey``, ``kis approval-key`` and ``kis request``: calls to KIS."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import KISResponse
from stock_manager.adapters.broker.kis.protocol import parse_hashkey
from stock_manager.adapters.broker.kis.redaction import fingerprint

from .failures import AcceptedOrder, CliUsageError
from .inputs import parse_body, parse_params
from .options import common_options
from .output import Output, mask
from .session import Session

__all__ = ["register", "response_document"]


@common_options
def hashkey(
    body: Annotated[
        str,
        typer.Argument(
            help="The JSON body to sign: inline JSON, @file.json, or - for stdin.",
            show_default=False,
        ),
    ],
) -> None:
    """Ask KIS for the hashkey (HASH) of an order body; prints the HASH."""
    with Session.start() as session:
        data = parse_body(body)
        with session.client() as client, session.output.waiting("asking KIS for the hashkey…"):
            response = client.make_request("POST", "/uapi/hashkey", params=data)
        # The library's own check: a HASH is printed as is for copying, so it must be a value a
        # header can carry, never escape sequences for the terminal (KISProtocolError otherwise).
        value = parse_hashkey(response)
        output = session.output
        if output.json_mode:
            output.json({"hash": value, "body": response.get("BODY")})
        else:
            output.raw(str(value))


@common_options
def approval_key(
    *,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Print the key itself (it is a credential).")
    ] = False,
) -> None:
    """Get a websocket approval key (실시간 접속키); shown masked unless --reveal."""
    with Session.start() as session:
        config = session.config()
        with session.client(config) as client, session.output.waiting("getting an approval key…"):
            key = client.approval_key()
        output = session.output
        if not reveal:
            output.add_secret(key)
        if output.json_mode:
            output.json(
                {
                    "environment": config.environment,
                    "approval_key": key if reveal else mask(key),
                    "approval_key_fingerprint": fingerprint(key),
                    "revealed": reveal,
                },
                reveal=reveal,
            )
        elif reveal:
            output.raw(key)
        else:
            output.pairs(
                [
                    ("environment", config.environment),
                    ("approval key", f"{mask(key)} (sha256 {fingerprint(key)})"),
                    ("valid", "24 hours, for one websocket session; --reveal prints it"),
                ]
            )


def response_document(response: KISResponse) -> dict[str, Any]:
    """A reply as JSON (stable keys): status, KIS headers and the body."""
    return {
        "status_code": response.status_code,
        "tr_id": response.tr_id,
        "tr_cont": response.tr_cont,
        "gt_uid": response.gt_uid,
        "body": response.json(),
    }


def _merge_pages(pages: list[KISResponse]) -> dict[str, Any]:
    # The paged part is a list that differs from page to page (output1's rows): concatenate
    # it. A list repeated on every page (output2's summary) and the scalars: the last page's.
    merged: dict[str, Any] = dict(pages[-1].json())
    for key, value in pages[-1].items():
        if isinstance(value, list) and any(page.get(key) != value for page in pages):
            merged[key] = [row for page in pages for row in (page.get(key) or [])]
    return merged


def _show_pages(output: Output, method: str, path: str, pages: list[KISResponse]) -> None:
    last = pages[-1]
    summary = f"{method} {path} → HTTP {last.status_code}"
    if last.tr_id:
        summary += f"  tr_id {last.tr_id}"
    if last.gt_uid:
        summary += f"  gt_uid {last.gt_uid}"
    if len(pages) > 1:
        summary += f"  ({len(pages)} pages)"
    elif last.tr_cont:
        summary += f"  tr_cont {last.tr_cont}"
    # The headers are the server's strings: "[/]" there must show, not end the markup.
    output.line(f"[dim]{output.escaped(summary)}[/]")
    output.body(_merge_pages(pages))
    if len(pages) == 1 and last.has_next:
        output.line("[dim]more pages follow: add --all-pages[/]")


@common_options
def request(
    method: Annotated[str, typer.Argument(help="GET or POST.", show_default=False)],
    path: Annotated[
        str | None,
        typer.Argument(
            help="API path such as /uapi/domestic-stock/v1/quotations/inquire-price "
            "(optional with --api-id).",
            show_default=False,
        ),
    ] = None,
    *,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="KEY=VALUE",
            help="KEY=VALUE, repeatable: the query of a GET, fields of a POST body.",
            show_default=False,
        ),
    ] = None,
    body: Annotated[
        str | None,
        typer.Option(
            "--body",
            metavar="JSON|@FILE|-",
            help="POST body: inline JSON, @file.json or - (stdin).",
            show_default=False,
        ),
    ] = None,
    tr_id: Annotated[
        str | None, typer.Option("--tr-id", help="TR_ID to send (else the catalog's).")
    ] = None,
    api_id: Annotated[
        str | None,
        typer.Option("--api-id", help="Catalog API id or alias: supplies path and TR_ID."),
    ] = None,
    variant: Annotated[
        str | None, typer.Option("--variant", help="TR_ID variant (buy/sell, recent/older).")
    ] = None,
    hashkey: Annotated[
        bool, typer.Option("--hashkey", help="Sign the POST body with a hashkey first.")
    ] = False,
    all_pages: Annotated[
        bool, typer.Option("--all-pages", help="Follow tr_cont to the last page.")
    ] = False,
    max_pages: Annotated[
        int, typer.Option("--max-pages", min=1, help="Stop paging after this many pages.")
    ] = 100,
) -> None:
    """Call any KIS REST API and show the reply (tables, or the JSON with --json)."""
    with Session.start() as session:
        method = method.upper()
        if method not in ("GET", "POST"):
            raise CliUsageError(f"METHOD must be GET or POST, not {method!r}")
        if tr_id is not None and api_id is not None:
            raise CliUsageError("pass --tr-id or --api-id, not both")
        if all_pages and method == "POST":
            # Paging repeats the call once per page: for an order, one order per page.
            raise CliUsageError(
                "--all-pages follows the pages of an inquiry (GET); a POST is sent once: "
                "drop --all-pages"
            )
        if all_pages and hashkey:
            raise CliUsageError("--hashkey signs one POST body; it does not go with --all-pages")
        if path is None and api_id is None:
            raise CliUsageError("pass a PATH (such as /uapi/...) or --api-id")
        params: dict[str, Any] = parse_params(param or [])
        if body is not None:
            if method == "GET":
                raise CliUsageError("a GET has no body: pass its query as --param KEY=VALUE")
            params = {**parse_body(body), **params}
        call: dict[str, Any] = {"tr_id": tr_id, "api_id": api_id, "variant": variant}
        output = session.output
        with session.client() as client:
            if all_pages:
                # collect(): one consistent pass (pages read before a SYDB0050 restart are
                # stale), and an error rather than a part shown as the whole.
                with output.waiting(f"{method} {path or api_id}: reading every page…"):
                    pages = client.iter_pages(
                        method, path, params, max_pages=max_pages, **call
                    ).collect()
            else:
                with output.waiting(f"{method} {path or api_id}…"):
                    pages = [client.make_request(method, path, params, hashkey=hashkey, **call)]
        with AcceptedOrder() as accepted:
            accepted.reply = pages[-1]
            if output.json_mode:
                if all_pages:
                    output.json(
                        {"page_count": len(pages), "pages": [response_document(p) for p in pages]}
                    )
                else:
                    output.json(response_document(pages[0]))
                return
            shown_path = path or (pages[0].request.path if pages[0].request else api_id or "")
            _show_pages(output, method, shown_path, pages)


def register(app: typer.Typer) -> None:
    """Add ``hashkey``, ``approval-key`` and ``request`` to the ``kis`` group."""
    app.command("hashkey")(hashkey)
    app.command("approval-key")(approval_key)
    app.command("request")(request)
