"""The reference page of an API, rendered from the catalog: one renderer for two readers.

``stock-manager kis apis show`` prints :func:`api_page` in the terminal and
``tools/build_docs.py`` writes :func:`pages` under ``docs/apis/``, so the terminal and the
repository always say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from stock_manager.adapters.broker.kis import ApiSpec, Catalog
from stock_manager.adapters.broker.kis.config import KIS_DOMAINS
from stock_manager.adapters.broker.kis.protocol.validate import ACCOUNT_KEYS, sent_blank

from .api_examples import example, first_variant, py_literal

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis.catalog import Param

__all__ = ["api_page", "category_slug", "index_page", "page_path", "pages"]

# KIS's realtime endpoints : plain ws://, the path is ignored by the server.
WEBSOCKET_DOMAINS = {
    "real": "ws://ops.koreainvestment.com:21000",
    "paper": "ws://ops.koreainvestment.com:31000",
}
# Category names are Korean; file names stay ASCII so that a checkout on macOS (which rewrites
# Korean file names to another Unicode form) does not show every page as changed.
_CATEGORY_WORDS = {
    "OAuth인증": "oauth",
    "국내주식": "domestic-stock",
    "국내선물옵션": "domestic-futureoption",
    "해외주식": "overseas-stock",
    "해외선물옵션": "overseas-futureoption",
    "장내채권": "bond",
    "주문/계좌": "trading",
    "기본시세": "quotations",
    "ELW 시세": "elw",
    "업종/기타": "sector",
    "종목정보": "info",
    "시세분석": "analysis",
    "순위분석": "ranking",
    "실시간시세": "realtime",
}
# The client fills these itself (the configured account), so examples leave them out.
_PAGING = {
    "none": "One call answers everything: no paging.",
    "tr_cont": (
        "Header `tr_cont: N` with {keys} sent back from the previous reply's lower-case fields, "
        "until the reply's `tr_cont` is `D` or `E`. `client.iter_pages(...)` does this."
    ),
    "keyb": "{keys} from the previous reply asks for the next page (header `tr_cont` unused).",
    "next_keyb": "{keys}: `NEXT` `1` and the previous reply's last time as `KEYB` (next page).",
    "index_key": "{keys}: `QRY_TP` `Q` for the first page, then `P` with the reply's `INDEX_KEY`.",
    "cursor": "No continuation key: move the time or date parameter {keys} yourself for more rows.",
    "blank": "Continuation keys {keys}: sent blank (the client fills them), no real paging.",
}


# -- reference pages -------------------------------------------------------------------------------


def _cell(text: object) -> str:
    """A value made safe for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|") or " "


def _code(text: str) -> str:
    return f"`{text}`" if text else "(blank)"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows)
    return [*lines, ""]


def category_slug(category: str) -> str:
    """``"[국내주식] 주문/계좌"`` -> ``"domestic-stock-trading"`` (a folder name)."""
    words = [word.strip() for word in re.split(r"[\[\]]", category) if word.strip()]
    slug = "-".join(_CATEGORY_WORDS.get(word, word) for word in words)
    return re.sub(r"[^\w.-]+", "-", slug).strip("-").lower()


def page_path(spec: ApiSpec) -> str:
    """Where ``spec``'s page lives in ``docs/apis/``: ``"domestic-stock-trading/order-cash.md"``."""
    return f"{category_slug(spec.category)}/{re.sub(r'[^A-Za-z0-9._-]+', '-', spec.alias)}.md"


def _tr_rows(spec: ApiSpec) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for environment, tr in (("real", spec.tr_id_real), ("paper", spec.tr_id_paper)):
        if environment == "paper" and not spec.paper_supported:
            rows.append(("paper", "", "not offered (모의투자 미지원)"))
        elif isinstance(tr, Mapping):
            rows.extend((environment, name, _code(value)) for name, value in tr.items())
        else:
            rows.append((environment, "", _code(tr or "")))
    return rows


def _codes_text(param: Param) -> str:
    """The parsed codes, bare: their meanings are in the description beside them."""
    parts = [
        f"{venue}: " + " ".join(_code(code) for code in codes)
        for venue, codes in param.codes_by_venue.items()
    ]
    if param.codes and not parts:
        parts.append(" ".join(_code(code) for code in param.codes))
    if parts and param.codes_complete:
        parts.append("no other value")
    if param.default is not None:
        parts.append(f"default {_code(param.default)}")
    return "; ".join(parts)


def _required_text(param: Param, spec: ApiSpec) -> str:
    if param.name in ACCOUNT_KEYS:
        return "yes (the client fills it from the account)"
    if sent_blank(spec, param):
        return (
            'yes, "" (the client sends it blank)' if param.required else 'no (the client sends "")'
        )
    if not param.required:
        return "no"
    if param.empty_ok:
        return 'yes, may be "" (pass it: blank means something here)'
    return "yes"


def _header_rows(spec: ApiSpec) -> list[tuple[str, str]]:
    if spec.transport == "websocket":
        return [
            ("approval_key", "`client.approval_key()` (a secret: never log it)"),
            ("custtype", "`P` individual, `B` corporate"),
            ("tr_type", "`1` subscribe, `2` unsubscribe"),
            ("content-type", "`utf-8`"),
        ]
    rows = [("content-type", "`application/json; charset=utf-8`")]
    if spec.auth == "none":
        return rows  # the credentials travel in the body
    rows.append(("appkey, appsecret", "from `KISConfig` (never logged)"))
    if spec.auth == "app":
        return rows
    rows.insert(
        1, ("authorization", "`Bearer <access token>`: the client gets, caches and renews it")
    )
    if spec.has_tr_id:
        rows.append(("tr_id", "the TR_ID above for the configured environment (and variant)"))
    rows.append(
        (
            "custtype",
            "`P` (`KIS_CUSTTYPE`; `B` adds personalseckey, seq_no, phone_number, ip_addr, gt_uid)",
        )
    )
    rows.append(("tr_cont", '`""`, or `N` for the next page'))
    if spec.method == "POST":
        rows.append(
            ("hashkey", "optional: `make_request(..., hashkey=True)` signs the exact body sent")
        )
    return rows


def _facts(spec: ApiSpec) -> list[str]:
    names = ", ".join(f"`{name}`" for name in (spec.alias, *spec.aliases) if name != spec.api_id)
    transport = "WebSocket (realtime)" if spec.transport == "websocket" else f"REST {spec.method}"
    rows: list[tuple[str, str]] = [
        ("API id", f"`{spec.api_id}`"),
        ("names", names),
        ("category", spec.category),
        ("transport", transport),
        ("path", f"`{spec.path}`"),
        ("paper trading", "offered" if spec.paper_supported else "not offered (모의투자 미지원)"),
    ]
    if spec.order:
        rows.append(
            (
                "order",
                "yes: changes state; after a lost reply check the order inquiries, never resend",
            )
        )
    rows.append(("source", f"KIS workbook build {spec.source}"))
    return [*(f"- **{name}**: {value}" for name, value in rows), ""]


def _endpoint(spec: ApiSpec) -> list[str]:
    domains = WEBSOCKET_DOMAINS if spec.transport == "websocket" else KIS_DOMAINS
    rows = []
    for environment in ("real", "paper"):
        if environment == "paper" and not spec.paper_supported:
            rows.append((environment, "not offered (모의투자 미지원)"))
        else:
            suffix = "" if spec.transport == "websocket" else spec.path
            verb = "connect" if spec.transport == "websocket" else spec.method
            rows.append((environment, f"{verb} `{domains[environment]}{suffix}`"))
    lines = ["## Endpoint and headers", "", *_table(["environment", "request"], rows)]
    title = (
        "Subscription message header"
        if spec.transport == "websocket"
        else "Headers the client sends"
    )
    return [*lines, f"{title}:", "", *_table(["header", "value"], _header_rows(spec))]


def _parameters(spec: ApiSpec) -> list[str]:
    where = {"GET": "query string", "POST": "JSON body"}.get(spec.method, "request")
    if spec.transport == "websocket":
        where = "subscription `body.input`"
    lines = [f"## Request parameters ({where})", ""]
    if not spec.params:
        return [*lines, "None.", ""]
    rows = [
        (
            f"`{p.name}`",
            p.name_ko,
            _required_text(p, spec),
            p.type,
            p.length if p.length is not None else "",
            p.description,
            _codes_text(p),
        )
        for p in spec.params
    ]
    header = ["name", "한글명", "required", "type", "length", "description", "codes, default"]
    return [*lines, *_table(header, rows)]


def _response(spec: ApiSpec) -> list[str]:
    lines = ["## Response", ""]
    if not spec.response:
        return [*lines, "No documented body fields.", ""]
    realtime = spec.transport == "websocket"
    for block in spec.response:
        if realtime:
            shape = "fields in this order, `^`-separated, one record after another"
        elif block.name == "body":
            shape = "the top-level fields of the reply"
        else:
            shape = "one object" if block.shape == "object" else "an array: one object per row"
        lines += [f"### `{block.name}` ({shape})", ""]
        header = ["#", "field", "한글명", "type", "length", "description"]
        rows = [
            (
                index,
                f"`{f.name}`",
                f.name_ko,
                f.type,
                f.length if f.length is not None else "",
                f.description,
            )
            for index, f in enumerate(block.fields, start=1)
        ]
        lines += _table(
            header if realtime else header[1:], [r if realtime else r[1:] for r in rows]
        )
    return lines


def _paging(spec: ApiSpec) -> list[str]:
    paging = spec.paging
    keys = ", ".join(f"`{key}`" for key in paging.keys) or "the continuation keys"
    lines = ["## Paging", "", _PAGING.get(paging.form, paging.form).format(keys=keys), ""]
    limits = [
        f"{name} {rows}"
        for name, rows in (("real", paging.rows_real), ("paper", paging.rows_paper))
        if rows
    ]
    if limits:
        lines += [f"Rows per call: {', '.join(limits)}.", ""]
    return lines


def api_page(spec: ApiSpec) -> str:
    """The reference page of one API, in Markdown."""
    lines = [f"# {spec.name} (`{spec.alias}`)", "", *_facts(spec)]
    if spec.overview.strip():
        lines += [
            "## Overview",
            "",
            *(line.rstrip() for line in spec.overview.strip().splitlines()),
            "",
        ]
    lines += ["## TR_IDs", ""]
    if spec.has_tr_id:
        lines += _table(["environment", "variant", "TR_ID"], _tr_rows(spec))
        variant = first_variant(spec)
        call = f"client.get_tr_id({py_literal(spec.alias)}" + (
            f", variant={py_literal(variant)})" if variant else ")"
        )
        lines += [f"`{call}` gives the configured environment's TR_ID.", ""]
    else:
        lines += ["None: this API takes no TR_ID.", ""]
    if spec.deprecated_tr_ids:
        lines += ["Deprecated TR_IDs (KIS may block them without notice; the client warns):", ""]
        lines += _table(
            ["deprecated", "use instead"],
            [(f"`{o}`", f"`{n}`") for o, n in spec.deprecated_tr_ids.items()],
        )
    lines += [*_endpoint(spec), *_parameters(spec), *_response(spec), *_paging(spec)]
    lines += ["## Example", "", "```python", example(spec).rstrip("\n"), "```", ""]
    return "\n".join(lines)


def _categories(catalog: Iterable[ApiSpec]) -> dict[str, list[ApiSpec]]:
    grouped: dict[str, list[ApiSpec]] = {}
    for spec in catalog:
        grouped.setdefault(spec.category, []).append(spec)
    return grouped


def index_page(catalog: Catalog) -> str:
    """``docs/apis/README.md``: every API by category, each linking to its page."""
    specs = list(catalog)
    sources = sorted({spec.source for spec in specs})
    lines = [
        "# KIS API reference",
        "",
        f"{len(specs)} APIs from KIS's workbook (build {', '.join(sources)}), one page each.",
        "Generated by `python tools/build_docs.py` from the package's catalog: do not edit by",
        "hand. In the terminal: `stock-manager kis apis [TEXT]` searches, and",
        "`stock-manager kis apis show ID` shows a page.",
        "",
    ]
    for category, members in _categories(specs).items():
        lines += [f"## {category} ({len(members)})", ""]
        rows = [
            (
                f"`{spec.api_id}`",
                f"[`{spec.alias}`]({page_path(spec)})",
                spec.name,
                "WS" if spec.transport == "websocket" else spec.method,
                f"`{spec.path}`",
                "yes" if spec.paper_supported else "no",
            )
            for spec in members
        ]
        lines += _table(["API id", "alias", "name", "method", "path", "paper"], rows)
    return "\n".join(lines)


def pages(catalog: Catalog) -> dict[str, str]:
    """Every file under ``docs/apis/``: relative path -> Markdown."""
    files = {"README.md": index_page(catalog)}
    for spec in catalog:
        path = page_path(spec)
        if path in files:
            raise ValueError(f"two APIs would share the page {path}: give one another alias")
        files[path] = api_page(spec)
    return files


# -- commands --------------------------------------------------------------------------------------
