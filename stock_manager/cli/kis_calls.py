"""``stock-manager kis hashkey``, ``kis approval-key`` and ``kis request``: calls to KIS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import (
    ApiSpec,
    KISConfig,
    KISResponse,
    KISRestClient,
    KISUsageError,
)
from stock_manager.adapters.broker.kis.protocol import parse_hashkey
from stock_manager.adapters.broker.kis.redaction import fingerprint

from .failures import AcceptedOrder, CliUsageError
from .inputs import parse_body, parse_params
from .kis_orders import YesOption, confirm_real
from .options import common_options
from .output import Output, mask
from .session import Session
from .views import (
    CsvOption,
    FieldsOption,
    LabelsOption,
    View,
    catalog_labels,
    format_number,
    numeric_keys,
    select_fields,
    view_of,
    write_csv,
)

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


def _show_pages(
    output: Output,
    method: str,
    path: str,
    pages: list[KISResponse],
    *,
    view: View,
    spec: ApiSpec | None,
) -> None:
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
    body = _merge_pages(pages)
    if view.csv:
        _write_csv(output, body, view, spec)
        return
    output.line(f"[dim]{output.escaped(summary)}[/]")
    if view.fields is not None:
        body = _only_fields(body, view.fields)
    labels = catalog_labels(spec) if view.korean else {}
    rows = [row for value in body.values() for row in _records(value)]
    numbers = numeric_keys(rows)
    output.body(_formatted_body(body, numbers), labels=labels, right=numbers)
    if len(pages) == 1 and last.has_next:
        output.line("[dim]more pages follow: add --all-pages[/]")


def _records(value: Any) -> list[Mapping[str, Any]]:
    items = [value] if isinstance(value, Mapping) else value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, Mapping)]


def _only_fields(body: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    # Each block keeps the fields it has; a name no block has is a typo, said as such.
    wanted = {name.casefold() for name in fields}
    seen: set[str] = set()

    def keep(record: Mapping[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in record.items() if k.casefold() in wanted}
        seen.update(k.casefold() for k in kept)
        return kept

    kept: dict[str, Any] = {}
    for key, value in body.items():
        if isinstance(value, Mapping):
            kept[key] = keep(value)
        elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
            kept[key] = [keep(v) for v in value]
    missing = [name for name in fields if name.casefold() not in seen]
    if missing:
        names = sorted({k for v in body.values() for r in _records(v) for k in r})
        raise CliUsageError(
            f"no field {', '.join(map(repr, missing))} in this reply; its fields are: "
            f"{', '.join(names) or '(none)'}"
        )
    return {k: v for k, v in kept.items() if v}


def _formatted_body(body: Mapping[str, Any], numbers: set[str]) -> dict[str, Any]:
    def formatted(record: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: (format_number(v) or v) if k in numbers and v != "" else v for k, v in record.items()
        }

    result: dict[str, Any] = {}
    for key, value in body.items():
        if isinstance(value, Mapping):
            result[key] = formatted(value)
        elif isinstance(value, list):
            result[key] = [formatted(v) if isinstance(v, Mapping) else v for v in value]
        else:
            result[key] = value
    return result


def _write_csv(output: Output, body: Mapping[str, Any], view: View, spec: ApiSpec | None) -> None:
    # CSV holds one table: the reply's first list of records (output1's rows), else its
    # object (inquire-price's output) as one row.
    lists = [v for v in body.values() if isinstance(v, list) and v]
    rows: list[Mapping[str, Any]] = next(
        (v for v in lists if all(isinstance(r, Mapping) for r in v)), []
    )
    if not rows:
        rows = [v for v in body.values() if isinstance(v, Mapping)][:1]
    if not rows:
        raise CliUsageError("--csv: this reply holds no rows (try --json)")
    chosen = select_fields(rows, view.fields)
    write_csv(output, chosen, catalog_labels(spec) if view.korean else {})


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
    yes: YesOption = False,
    fields: FieldsOption = None,
    as_csv: CsvOption = False,
    labels: LabelsOption = "en",
) -> None:
    """Call any KIS REST API and show the reply (tables, or the JSON with --json).

    The account fields CANO and ACNT_PRDT_CD are filled from the configured account when the
    API takes them and they are not given. An order API (POST) on the real domain asks first
    unless --yes. --json writes {"status_code", "tr_id", "tr_cont", "gt_uid", "body"}, the
    body as KIS sent it; with --all-pages {"page_count", "pages": [{... "body"}]}. A failure
    writes {"error": {"code", "message"}} (see --help of the root).
    """
    with Session.start() as session:
        view = view_of(fields, as_csv, labels, session.output)
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
        config = session.config()
        with session.client(config) as client:
            spec = _spec_of(client, method, path, api_id)
            params = _with_account(params, spec, config)
            if method == "POST" and spec is not None and spec.order:
                confirm_real(session, config, f"{spec.name} ({spec.api_id})", yes=yes)
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
            _show_pages(output, method, shown_path, pages, view=view, spec=spec)


def _spec_of(
    client: KISRestClient, method: str, path: str | None, api_id: str | None
) -> ApiSpec | None:
    try:
        if api_id is not None:
            return client.catalog.get(api_id)
    except KISUsageError:
        return None  # the request itself says what is wrong with the id
    return client.catalog.find(method, path) if path is not None else None


def _with_account(
    params: dict[str, Any], spec: ApiSpec | None, config: KISConfig
) -> dict[str, Any]:
    # The two account fields every account API takes: from the config, as the library's
    # helpers fill them, unless the user gave them.
    if spec is None or config.account_no is None:
        return params
    names = {p.name for p in spec.params}
    filled = dict(params)
    for name, value in (("CANO", config.cano), ("ACNT_PRDT_CD", config.acnt_prdt_cd)):
        if name in names and not any(k.upper() == name for k in filled):
            filled[name] = value
    return filled


def register(app: typer.Typer) -> None:
    """Add ``hashkey``, ``approval-key`` and ``request`` to the ``kis`` group."""
    app.command("hashkey")(hashkey)
    app.command("approval-key")(approval_key)
    app.command("request")(request)
