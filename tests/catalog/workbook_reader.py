"""A second, deliberately simple reader of KIS's API workbook, for the agreement tests.

It shares nothing with ``tools/build_catalog.py`` on purpose: two readers written apart that agree
are evidence; one reader checked against itself is not. It reads only what the tests compare (the
``API 목록`` index, and per API sheet the request parameter names with Required, and the response
field names by block), and interprets nothing beyond that: corrections are the generator's job, and
the tests look them up in ``tools/catalog_corrections.*`` where the two disagree.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]  # no stubs in the venv

REPO = Path(__file__).resolve().parents[2]
#: Where the workbook builds live, beside the repository (also in CI): ``../shared/kis/``.
WORKBOOK_DIR = REPO.parent / "shared" / "kis"

INDEX_SHEET = "API 목록"
STREAM_PATH = "/tryitout"
PARAM_SECTIONS = ("Request Query Parameter", "Request Body")
#: A REST response block starts at a row named like this (KIS writes ``Output1`` and
#: ``outblock1`` too); every other row of the Response Body belongs to the block above it.
BLOCK_ROW = re.compile(r"(output|outblock)\d*", re.IGNORECASE)
#: A block name the sheet documents a second time is kept apart as ``<name><REPEAT><n>``
#: (``output2#2``): read as written, not merged into the first, not chosen between.
REPEAT = "#"
#: A TR_ID inside free text such as ``(구) JTCE1001U (신) STTN1101U``: an upper-case word of
#: 8-13 letters and digits (HDFFF020 is the shortest, FHKST01010100 the longest).
TR_ID = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Z0-9]{7,12}(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Param:
    name: str
    required: bool
    section: str  # "Request Query Parameter" or "Request Body"


@dataclass(frozen=True)
class WorkbookApi:
    """One row of the index, with what its own sheet says about parameters and fields."""

    number: int
    transport: str  # as written: "REST" or "WEBSOCKET"
    category: str
    name: str
    id_text: str  # the API ID cell as written (the name again for the rows without an id)
    tr_real_text: str
    tr_paper_text: str
    method: str
    path: str
    params: tuple[Param, ...]
    blocks: dict[str, tuple[str, ...]]  # block name as written -> field names, in order
    tr_id_row_text: str  # the request's ``tr_id`` row description (the variant table)
    #: The sheet's ``Request Example`` as (name, value) pairs in the order written: the first
    #: object of a JSON-like example, or ``NAME:value`` lines ("" when the example has none).
    request_example: tuple[tuple[str, str], ...] = ()

    @property
    def tr_real(self) -> tuple[str, ...]:
        return tuple(TR_ID.findall(self.tr_real_text))

    @property
    def tr_paper(self) -> tuple[str, ...]:
        return tuple(TR_ID.findall(self.tr_paper_text))

    @property
    def tr_in_sheet(self) -> tuple[str, ...]:
        """Every TR_ID the sheet's ``tr_id`` row names (Asian exchanges, night TRs, old TRs)."""
        return tuple(TR_ID.findall(self.tr_id_row_text))

    @property
    def paper_supported(self) -> bool:
        # No TR at all (OAuth, hashkey, approval): nothing to refuse. A real TR with no paper
        # TR (``모의투자 미지원``, or blank as on 국내주식-182): not offered in paper.
        return not self.tr_real or bool(self.tr_paper)

    @property
    def required_params(self) -> set[str]:
        return {p.name for p in self.params if p.required}


def workbook_path(build: str) -> Path:
    return WORKBOOK_DIR / f"kis-openapi-workbook-{build}.xlsx"


def _text(cell: object) -> str:
    return "" if cell is None else str(cell)


#: ``"NAME": "value"`` (or an unquoted value) inside a JSON-like example.
EXAMPLE_PAIR = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:\s*(?:"([^"]*)"|([^\s",}{]+))')
#: ``NAME:value`` on a line of its own (the value may be blank or hold blanks).
EXAMPLE_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:(.*)$")


def parse_request_example(text: str) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs of a sheet's request example, as KIS wrote them.

    KIS writes them three ways: JSON (with stray commas, sometimes a second object for a
    second use of the API, sometimes wrapped in ``"input": {...}``), ``NAME:value`` lines, or
    ``없음``. Only the first object is read; ``_comment`` keys are notes, not parameters.
    """
    pairs: list[tuple[str, str]] = []
    if '"' in text and EXAMPLE_PAIR.search(text):
        start = text.index("{") if "{" in text else 0
        end = text.find("}", start)
        first = text[start : end if end >= 0 else len(text)]
        for match in EXAMPLE_PAIR.finditer(first):
            name = match.group(1)
            if name.lower() == "input" or name.startswith("_"):
                continue
            value = match.group(2) if match.group(2) is not None else match.group(3)
            pairs.append((name, value))
    else:
        for line in text.splitlines():
            match = EXAMPLE_LINE.match(line)
            if match:
                pairs.append((match.group(1), match.group(2).strip()))
    seen: set[str] = set()
    unique = []
    for name, value in pairs:  # a key written twice (a typo in the example): the first wins
        if name.upper() not in seen:
            seen.add(name.upper())
            unique.append((name, value))
    return tuple(unique)


def _read_sheet(
    rows: list[tuple[object, ...]],
) -> tuple[tuple[Param, ...], dict[str, tuple[str, ...]], str, str]:
    params: list[Param] = []
    blocks: dict[str, list[str]] = {}
    tr_id_row = ""
    section = ""
    in_layout = False
    # A realtime TR is known by its URL, not the transport label (three rows are mislabelled,
    # and the approval-key row says WEBSOCKET though it is a REST POST): its Response Body is
    # the ordered record, with no block rows.
    realtime = any(
        _text(r[0]) == "URL 명" and _text(r[1]).strip().startswith(STREAM_PATH) for r in rows
    )
    # Rows before the first block row (rt_cd, msg_cd, msg1, continuation keys) are the body's own
    # fields: kept as block "body"; a realtime TR has its one block "record".
    current: list[str] = []
    blocks["record" if realtime else "body"] = current
    request_example = ""
    examples = False
    for row in rows:
        first, element = _text(row[0]).strip(), _text(row[1]).strip()
        if examples:
            if first.startswith("Request Example") and not request_example:
                request_example = _text(row[1])
            continue
        if first == "구분":
            in_layout = True
            continue
        if first == "Example":
            examples = True
            continue
        if not in_layout:
            continue
        if first:
            section = first
        if not element:
            continue
        if element == "tr_id" and section in ("Request Header", "Request Body"):
            tr_id_row = _text(row[6])
        if section in PARAM_SECTIONS:
            params.append(Param(element, _text(row[4]).strip() == "Y", section))
        elif section == "Response Body":
            if not realtime and BLOCK_ROW.fullmatch(element):
                name, n = element, 1
                while name in blocks:
                    n += 1
                    name = f"{element}{REPEAT}{n}"
                current = blocks[name] = []
            else:
                current.append(element)
    kept = {k: tuple(v) for k, v in blocks.items() if v or k != "body"}
    return tuple(params), kept, tr_id_row, request_example


@functools.cache
def read_workbook(path: Path) -> tuple[WorkbookApi, ...]:
    """Every API of the index, in the index's order, each with its sheet read."""
    with warnings.catch_warnings():
        # KIS's file has no default style; openpyxl says so on every load. Harmless for values.
        warnings.filterwarnings("ignore", "Workbook contains no default style", UserWarning)
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        index = [tuple(_text(c) for c in r) for r in book[INDEX_SHEET].iter_rows(values_only=True)]
        # Sheets are found by the ``API ID`` row they hold: titles and even the sheet's own
        # ``API 명`` replace the ``/`` that Excel forbids in a title.
        sheets: dict[str, list[tuple[object, ...]]] = {}
        for title in book.sheetnames:
            if title == INDEX_SHEET:
                continue
            rows = list(book[title].iter_rows(values_only=True))
            api_id = next(_text(r[1]).strip() for r in rows if _text(r[0]) == "API ID")
            sheets[api_id] = rows
    finally:
        book.close()
    apis = []
    for row in index[1:]:
        if not row[0].strip():
            continue
        number, transport, category, name, id_text, tr_real, tr_paper, method, path_ = row[:9]
        params, blocks, tr_id_row, example = _read_sheet(sheets[id_text.strip()])
        apis.append(
            WorkbookApi(
                number=int(number),
                transport=transport.strip(),
                category=category.strip(),
                name=name,
                id_text=id_text.strip(),
                tr_real_text=tr_real,
                tr_paper_text=tr_paper,
                method=method.strip().upper(),
                path=path_.strip(),
                params=params,
                blocks=blocks,
                tr_id_row_text=tr_id_row,
                request_example=parse_request_example(example),
            )
        )
    return tuple(apis)
