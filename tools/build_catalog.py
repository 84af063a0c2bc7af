#!/usr/bin/env python3
"""Generate the KIS API catalog from KIS's workbook plus the reviewed corrections.

    python tools/build_catalog.py [--workbook PATH]          write the data files
    python tools/build_catalog.py --check [--workbook PATH]  exit 1 if the committed data differs

Reads ``KIS-CATALOG.md``'s workbook (every sheet: the index row, overview, Layout sections and
examples), applies ``tools/catalog_corrections.toml`` (each correction states what the workbook says
today, so a build that fixed or changed it fails loudly here), and writes one JSON file per category
under ``stock_manager/adapters/broker/kis/catalog/data/`` plus ``index.json``, and the sandbox's own
route table ``stock_manager/sandbox/kis_routes.json``. The output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORRECTIONS = ROOT / "tools" / "catalog_corrections.toml"
DATA_DIR = ROOT / "stock_manager" / "adapters" / "broker" / "kis" / "catalog" / "data"
SANDBOX_ROUTES = ROOT / "stock_manager" / "sandbox" / "kis_routes.json"
SANDBOX_REALTIME = ROOT / "stock_manager" / "sandbox" / "kis_realtime.json"
WORKBOOK_GLOB = "kis-openapi-workbook-*.xlsx"
PAPER_UNSUPPORTED = "모의투자 미지원"
TR_ID = re.compile(r"[A-Z0-9]{6,15}")


class CorrectionError(Exception):
    """A correction no longer matches the workbook (or the workbook has something new)."""


# --- reading the workbook -------------------------------------------------------------------


def default_workbook() -> Path | None:
    """The newest workbook under ../shared/kis/ beside the repository."""
    found = sorted((ROOT.parent / "shared" / "kis").glob(WORKBOOK_GLOB))
    return found[-1] if found else None


def build_of(workbook: Path) -> str:
    match = re.search(r"(\d{4}-\d{2})", workbook.name)
    if not match:
        raise CorrectionError(f"cannot tell the workbook build from its name {workbook.name!r}")
    return match.group(1)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _clean(value: Any) -> str:
    """Cell text with KIS's CR/LF normalised and outer blanks (and stray quotes) removed."""
    text = _text(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if text.startswith("'"):  # a leading apostrophe is Excel's "text" marker left in the cell
        text = text[1:].strip()
    return text.strip("'").strip() if text.endswith("'") else text


def read_workbook(path: Path) -> tuple[list[dict[str, str]], dict[str, list[tuple[Any, ...]]]]:
    import openpyxl  # noqa: PLC0415 - a dev-only dependency, needed only when building

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Workbook contains no default style": harmless
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    names = book.sheetnames
    index_rows = list(book[names[0]].iter_rows(values_only=True))
    header = [_text(c).strip() for c in index_rows[0]]
    index = []
    for row in index_rows[1:]:
        if not any(c not in (None, "") for c in row):
            continue
        index.append({header[i]: _text(row[i]) for i in range(len(header)) if header[i]})
    sheets = {}
    for position, entry in enumerate(index, start=1):
        # Sheets follow the index order; their names replace "/" with "_" (Excel forbids "/").
        sheet = book[names[position]]
        if sheet.title != entry["API 명"].replace("/", "_"):
            raise CorrectionError(f"sheet {sheet.title!r} is not index row {entry['순번']}")
        sheets[entry["API 명"]] = [
            tuple(r) + (None,) * 8 for r in sheet.iter_rows(values_only=True)
        ]
    book.close()
    return index, sheets


def parse_sheet(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Overview, Layout rows by section, and the examples of one API sheet."""
    overview, request_example, response_example = "", "", ""
    sections: dict[str, list[dict[str, str]]] = {}
    section = None
    in_layout = False
    for row in rows:
        first = _text(row[0]).strip()
        if first == "구분":
            in_layout = True
            continue
        if first == "Example":
            in_layout = False
            continue
        if not in_layout:
            if first == "개요" and row[1] is not None:
                overview = _clean(row[1])
            elif first.startswith("Request Example"):
                request_example = _text(row[1])
            elif first == "Response Example":
                response_example = _text(row[1])
            continue
        if first:
            section = first
        if section is None or not _text(row[1]).strip():
            continue
        sections.setdefault(section, []).append(
            {
                "name": _text(row[1]).strip(),
                "name_ko": _clean(row[2]),
                "type": _clean(row[3]),
                "required": _clean(row[4]),
                "length": _clean(row[5]),
                "description": _clean(row[6]),
            }
        )
    return {
        "overview": overview,
        "sections": sections,
        "request_example": request_example,
        "response_example": response_example,
    }


# --- interpreting descriptions --------------------------------------------------------------

CODE_LINE = re.compile(r"^\s*(?:-\s*)?([A-Za-z0-9]{1,6})\s*(?::|@)\s*(\S.*?)\s*,?$")
# Meaning first, code after: "한국거래소 : KRX", "대체거래소 (NXT) : NXT" (upper-case codes only).
# A list that says it is not all: "... 등" at a line's end, "...", "…".
ETCETERA = re.compile(r"(?:\s등\.?\s*$|\.{3}|…)", re.MULTILINE)
MEANING_FIRST_LINE = re.compile(r"^\s*(\S.*?[가-힣)])\s*:\s*([A-Z]{2,5})\s*$")
# "00 전체" (a code, blanks, its meaning): read only where every line of a description has it.
SPACED_CODE_LINE = re.compile(r"^\s*(\d{1,4})\s+([^\s:@].*?)\s*,?$")
# "없음: 전체", "공란 : 전체": what leaving the key empty means, written as if it were a code.
NONE_LINE = re.compile(r"^\s*(?:없음|공란|공백)\s*:\s*(\S.*?)\s*,?$")
# "[매도] 22 : ..." labels the codes after it (a side, not a venue): the label is not the code.
LABEL = re.compile(r"^\s*\[(?!(?:KRX|NXT|SOR)\])[^\]]{1,10}\]\s*")
VENUE_LINE = re.compile(r"^\s*\[(KRX|NXT|SOR)\]\s*$")
# One piece per code: "NYS : 뉴욕, NAS : 나스닥" and "00 : 전체 / 01 : 매도" state several per line.
PIECE_BREAK = re.compile(r"(?:,|\s/)\s*(?=[A-Za-z0-9]{1,6}\s*[:@])|\s/\s*(?=\d{1,4}\s)")
NOT_CODES = ("ex", "eg", "http", "https")
DEFAULT_PATTERNS = (
    re.compile(r"미입력\s*시\s*:?\s*([A-Za-z0-9]+)(?:로|으로|\s|$)"),
    # "N : 기본값", "01 : 기본값", "0: 기본 1:장마감": the code whose meaning is "default"
    re.compile(r"(?:^|[\s,])([A-Za-z0-9]{1,6})\s*[:@]\s*기본(?:값)?(?![가-힣])", re.MULTILINE),
    # "V(Default)", "\"0\"(Default)", "02(Default)"
    re.compile(r"""(?:^|[\s,(])["']?([A-Za-z0-9]{1,6})["']?\s*\(\s*default\s*\)""", re.I | re.M),
    # "1 : 시간외 (Default)": a code line whose meaning ends in (Default)
    re.compile(r"^\s*([A-Za-z0-9]{1,6})\s*[:@][^\n]*\(\s*default\s*\)", re.I | re.MULTILINE),
    # "(Default : DS(정순))"
    re.compile(r"default\s*:\s*([A-Za-z0-9]{1,6})", re.IGNORECASE),
)
EMPTY_WORDS = ("공란", "공백", "미입력", "없음:")
# "공란으로 비우지 않음 \"0\"으로 입력", "(공백 불가)": the description forbids the empty value.
NOT_EMPTY = re.compile(r"비우지\s*않|(?:공백|공란)\s*불가|(?<![0-9])\"?0\"?\s*으로\s*입력")


def _pieces(description: str) -> list[str]:
    return [
        LABEL.sub("", piece)
        for line in description.split("\n")
        for piece in PIECE_BREAK.split(line)
        if piece.strip()
    ]


def parse_codes(description: str) -> tuple[dict[str, str], dict[str, dict[str, str]], bool]:
    """Allowed codes stated line by line (``00 : 지정가``, ``01@일반매도``), per venue when split.

    Complete only when every non-blank line is a code (or a venue heading), there are at least
    two codes and they all have one width: a description mixing codes with prose may allow more.
    A labelled list (``[매도] 22 : ...``) stays open: its codes depend on something else.
    ``없음: 전체`` states what the empty value means: it is listed first, as code ``""``.
    """
    codes: dict[str, str] = {}
    by_venue: dict[str, dict[str, str]] = {}
    venue = None
    prose = bool(
        LABEL.search(description)
        or re.search(r"\n\s*\[(?!KRX|NXT|SOR)", description)
        # "07 : 시간외 단일가 등", "1: 1분봉, 5: 5분봉 ...": the list names some of the values.
        or ETCETERA.search(description)
    )
    pieces = _pieces(description)
    spaced = [SPACED_CODE_LINE.match(p) for p in pieces if not NONE_LINE.match(p)]
    use_spaced = len(spaced) >= 2 and all(spaced)
    for line in pieces:
        heading = VENUE_LINE.match(line)
        if heading:
            venue = heading.group(1)
            by_venue[venue] = {}
            continue
        empty = NONE_LINE.match(line)
        if empty:
            codes.setdefault("", empty.group(1))
            continue
        match = (SPACED_CODE_LINE if use_spaced else CODE_LINE).match(line)
        if not match or match.group(1).lower() in NOT_CODES:
            flipped = MEANING_FIRST_LINE.match(line)
            if flipped is None:
                prose = True
                continue
            meaning, code = flipped.group(1), flipped.group(2)
        else:
            code, meaning = match.group(1), match.group(2)
        codes.setdefault(code, meaning)
        if venue is not None:
            by_venue[venue][code] = meaning
    stated = [code for code in codes if code]
    if not stated:
        return {}, by_venue, False  # "공란 : 최초 조회시" alone is prose, not a code list
    widths = {len(code) for code in stated}
    # Lists of 3+ digit numbers are identifiers (product types, countries), of which a
    # description names the ones it thinks of: open. "00 전체 / 01 체결" divisions are closed.
    numbered = all(code.isdigit() and len(code) >= 3 for code in stated)
    closed_form = (not use_spaced or widths <= {1, 2}) and not numbered
    complete = not prose and closed_form and len(stated) >= 2 and len(widths) == 1
    return codes, by_venue, complete


def parse_default(description: str) -> str | None:
    """The value a description states KIS uses when the key is not given (first phrasing wins)."""
    for pattern in DEFAULT_PATTERNS:
        match = pattern.search(description)
        if match:
            return match.group(1)
    return None


def says_empty_is_taken(description: str) -> bool:
    """The description says the key may be sent empty (공란/공백/미입력), in its own words:
    not inside another code's meaning ("01: 종목별 (매수순번 공백입력)"), and not forbidding it."""
    if NOT_EMPTY.search(description):
        return False
    own = [p for p in _pieces(description) if NONE_LINE.match(p) or not CODE_LINE.match(p)]
    return any(word in piece for piece in own for word in EMPTY_WORDS)


def parse_length(text: str) -> int | None:
    match = re.match(r"^\s*(\d+)", text)
    return int(match.group(1)) if match else None


# KIS writes a zero-width space after "건" in some overviews.
ROWS = re.compile(r"(?:한\s*번의\s*(?:호출|조회)에|^)\s*(?:최대|최근)?\s*(\d+)\s*건\u200b?까지")


def rows_per_call(overview: str) -> tuple[int | None, int | None]:
    """(real, paper) rows per call where the overview states them ("최대 50건")."""
    real = paper = None
    for raw in overview.split("\n"):
        line = raw.strip()
        match = ROWS.search(line)
        if not match or line.startswith("※"):
            continue
        count = int(match.group(1))
        has_real, has_paper = "실전" in line, "모의" in line
        if has_paper and not has_real:
            paper = paper if paper is not None else count
        elif has_real and not has_paper:
            real = real if real is not None else count
        else:
            real = real if real is not None else count
            paper = paper if paper is not None else count
    return real, paper


def block_shape(name: str, type_text: str, example: str) -> str:
    """Object or array, from KIS's response example (the Type column only as a fallback)."""
    match = re.search(r'"' + re.escape(name) + r'"\s*:\s*([\[{])', example, re.IGNORECASE)
    if match:
        return "array" if match.group(1) == "[" else "object"
    return "array" if "array" in type_text.lower() else "object"


# --- the build ------------------------------------------------------------------------------


class Builder:
    def __init__(self, workbook: Path, corrections: Mapping[str, Any]) -> None:
        self.source = build_of(workbook)
        self.corrections = corrections
        self.index, self.sheets = read_workbook(workbook)
        self.applied: dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.applied[kind] = self.applied.get(kind, 0) + 1

    def _row(self, key: str) -> dict[str, str]:
        """The index row with this API 명 or API ID (as the workbook spells it)."""
        found = [r for r in self.index if key in (r["API 명"], r["API ID"])]
        if len(found) != 1:
            raise CorrectionError(f"correction names {key!r}: {len(found)} index rows match")
        return found[0]

    def build(self) -> list[dict[str, Any]]:
        c = self.corrections
        for fix in c.get("index", []):
            row = self._row(fix["api"])
            if row[fix["field"]] != fix["expect"]:
                raise CorrectionError(
                    f"index correction for {fix['api']!r} {fix['field']}: the workbook now says "
                    f"{row[fix['field']]!r}, not {fix['expect']!r}: review the correction"
                )
            if fix["field"] == "API ID":  # KIS's own text stays findable as an alias
                extra = [fix["expect"].strip(), *fix.get("aliases", [])]
                row["_aliases"] = "|".join([row.get("_aliases", ""), *extra])
            row[fix["field"]] = fix["value"]
            self._count(fix["kind"])
        for fix in c.get("confirm", []):
            row = self._row(fix["api"])
            if row[fix["field"]] != fix["expect"]:
                raise CorrectionError(
                    f"confirmed fact for {fix['api']!r} {fix['field']} changed: "
                    f"{row[fix['field']]!r} (expected {fix['expect']!r})"
                )
            self._count(fix["kind"])
        variants = {fix["api"]: fix for fix in c.get("tr_variants", [])}
        apis = [self._api(row, variants) for row in self.index]
        unused = set(variants) - {a["api_id"] for a in apis} - {a["name"] for a in apis}
        if unused:
            raise CorrectionError(f"TR variant tables match no API: {sorted(unused)}")
        self._apply_per_api(apis)
        self._assign_aliases(apis)
        return apis

    # one API from its index row and sheet
    def _api(self, row: dict[str, str], variants: Mapping[str, Any]) -> dict[str, Any]:
        name = row["API 명"]
        sheet = parse_sheet(self.sheets[name])
        transport = "websocket" if row["API 통신방식"].strip().upper() == "WEBSOCKET" else "rest"
        api_id = row["API ID"].strip()
        aliases = sorted(set(row.get("_aliases", "").split("|")) - {"", api_id})
        path = row["URL 명"].strip()
        method = row["HTTP Method"].strip().upper()
        tr = self._tr(row, variants.get(api_id) or variants.get(name))
        sections = sheet["sections"]
        header = {r["name"].lower(): r for r in sections.get("Request Header", [])}
        params_rows = sections.get("Request Query Parameter", []) + sections.get("Request Body", [])
        if transport == "websocket":
            params_rows = [r for r in params_rows if r["name"].lower() != "tr_id"]
        params = [self._param(r) for r in params_rows]
        response, repeated = self._blocks(
            sections.get("Response Body", []), sheet["response_example"], transport
        )
        real_rows, paper_rows = (
            rows_per_call(sheet["overview"]) if transport == "rest" else (None, None)
        )
        if tr["tr_id"] is None or tr["tr_id"]["paper"] is None:
            paper_rows = None  # a real-only API has no paper row count, whatever the prose says
        entry = {
            "api_id": api_id,
            "aliases": aliases,
            "name": name,
            "category": row["메뉴 위치"].strip(),
            "transport": transport,
            "method": method,
            "path": path,
            "auth": "approval" if transport == "websocket" else "token",
            "tr_id": tr["tr_id"],
            "default_variant": tr["default_variant"],
            "deprecated_tr_ids": {},
            "order": False,
            "params": params,
            "response": response,
            "paging": {
                "form": "none",
                "keys": [],
                "rows_real": real_rows,
                "rows_paper": paper_rows,
            },
            "overview": sheet["overview"],
            "tr_id_note": header.get("tr_id", {}).get("description", ""),
            "repeated_blocks": repeated,
            "source": self.source,
        }
        entry["paging"].update(self._paging(params, path))
        _mark_first_page(params, entry["paging"]["form"], entry["paging"]["keys"])
        return entry

    def _tr(self, row: dict[str, str], table: Mapping[str, Any] | None) -> dict[str, Any]:
        real, paper = row["실전 TR_ID"], row["모의 TR_ID"]
        if table is not None:
            if (real, paper) != (table["expect_real"], table["expect_paper"]):
                raise CorrectionError(
                    f"TR_ID cells of {row['API 명']!r} changed: {real!r} / {paper!r}: review "
                    "its tr_variants correction"
                )
            self._count(table["kind"])
            return {
                "tr_id": {"real": table["real"], "paper": table.get("paper") or None},
                "default_variant": table.get("default_variant"),
            }
        real, paper = real.strip(), paper.strip()
        if not real and not paper:
            return {"tr_id": None, "default_variant": None}
        for value in (real, paper):
            if value != PAPER_UNSUPPORTED and not TR_ID.fullmatch(value):
                raise CorrectionError(
                    f"{row['API 명']!r} has a TR_ID cell {value!r} this script cannot read: "
                    "add a tr_variants correction"
                )
        return {
            "tr_id": {"real": real, "paper": None if paper == PAPER_UNSUPPORTED else paper},
            "default_variant": None,
        }

    def _param(self, row: dict[str, str]) -> dict[str, Any]:
        codes, by_venue, complete = parse_codes(row["description"])
        length = parse_length(row["length"])
        # Conservative: a code longer than the field ("KRX : J" is written meaning-first), a
        # meaning that still holds another code (", X 환율", "NX, 통합 : UN"), or an instrument
        # code (an index list names some of many) leaves the list open.
        complete = complete and not (
            any(length is not None and len(code) > length for code in codes)
            or any(re.search(r"[:@]|,\s*[A-Za-z0-9]{1,4}\s", m) for m in codes.values())
            or "ISCD" in row["name"].upper()
        )
        required = row["required"].upper() == "Y"
        return {
            "name": row["name"],
            "name_ko": row["name_ko"],
            "type": row["type"] or "string",
            "required": required,
            "length": length,
            "description": row["description"],
            "codes": codes,
            "codes_by_venue": by_venue,
            "codes_complete": complete,
            "default": parse_default(row["description"]),
            "empty_ok": required
            and (
                row["name"].upper().startswith(("CTX_AREA", "CTS"))
                or says_empty_is_taken(row["description"])
            ),
        }

    def _blocks(
        self, rows: list[dict[str, str]], example: str, transport: str
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """The response blocks, and the names of blocks the sheet documents a second time."""

        def field(r: dict[str, str]) -> list[Any]:
            return [
                r["name"],
                r["name_ko"],
                r["type"] or "string",
                parse_length(r["length"]),
                r["description"],
            ]

        if transport == "websocket":
            return [{"name": "record", "shape": "array", "fields": [field(r) for r in rows]}], []
        blocks: list[dict[str, Any]] = [{"name": "body", "shape": "object", "fields": []}]
        for r in rows:
            if re.fullmatch(r"(output|outblock)\d*", r["name"], re.IGNORECASE):
                name = r["name"]
                spelled = re.search(r'"(' + re.escape(name) + r')"\s*:', example, re.IGNORECASE)
                name = spelled.group(1) if spelled else name.lower()
                shape = block_shape(name, r["type"], example)
                blocks.append({"name": name, "shape": shape, "fields": []})
                if any(b["name"] == name for b in blocks[:-1]):
                    # A sheet that documents a block twice (국내선물-024): the first layout is
                    # kept; a [[block_repeat]] correction must name the repeats (the example
                    # was checked by hand), else the build fails.
                    blocks[-1]["repeat"] = True
            else:
                blocks[-1]["fields"].append(field(r))
        repeated = [b["name"] for b in blocks if b.get("repeat")]
        blocks = [b for b in blocks if not b.pop("repeat", False)]
        if blocks[0]["name"] == "body" and not blocks[0]["fields"]:
            blocks.pop(0)
        return blocks, repeated

    def _paging(self, params: list[dict[str, Any]], path: str) -> dict[str, Any]:
        names = {p["name"].upper(): p["name"] for p in params}
        for fk, nk in (("CTX_AREA_FK100", "CTX_AREA_NK100"), ("CTX_AREA_FK200", "CTX_AREA_NK200")):
            if fk in names and nk in names:
                return {"form": "tr_cont", "keys": [names[fk], names[nk]]}
        if "KEYB" in names:
            if "NEXT" in names:
                return {"form": "next_keyb", "keys": [names["NEXT"], names["KEYB"]]}
            return {"form": "keyb", "keys": [names["KEYB"]]}
        if "INDEX_KEY" in names and "QRY_TP" in names:
            return {"form": "index_key", "keys": [names["QRY_TP"], names["INDEX_KEY"]]}
        blank = sorted(n for u, n in names.items() if u.startswith(("CTX_AREA", "CTS_KEY")))
        if blank:
            return {"form": "blank", "keys": blank}
        cursor = [names[k] for k in ("FID_INPUT_HOUR_1",) if k in names]
        if cursor and "chartprice" in path:
            return {"form": "cursor", "keys": cursor}
        if "chartprice" in path and "FID_INPUT_DATE_1" in names and "FID_INPUT_DATE_2" in names:
            return {
                "form": "cursor",
                "keys": [names["FID_INPUT_DATE_1"], names["FID_INPUT_DATE_2"]],
            }
        return {"form": "none", "keys": []}

    def _find(self, apis: list[dict[str, Any]], key: str) -> dict[str, Any]:
        found = [a for a in apis if key in (a["api_id"], a["name"], *a["aliases"])]
        if len(found) != 1:
            raise CorrectionError(f"correction names {key!r}: {len(found)} APIs match")
        return found[0]

    def _apply_per_api(self, apis: list[dict[str, Any]]) -> None:
        steps = {
            "deprecated": self._deprecated,
            "param_rename": self._param_rename,
            "param_drop": self._param_drop,
            "param_range": self._param_range,
            "block": self._block,
            "block_repeat": self._block_repeat,
            "param_default": self._param_default,
            "realtime_fields": self._realtime_fields,
            "auth": self._auth,
            "rows": self._rows,
        }
        for section, step in steps.items():
            for fix in self.corrections.get(section, []):
                step(self._find(apis, fix["api"]), fix, apis)
                self._count(fix["kind"])
        routes = {(a["method"], a["path"]): a for a in apis}
        for fix in self.corrections.get("order", []):
            api = routes.get((fix["method"], fix["path"]))
            if api is None:
                raise CorrectionError(
                    f"order API {fix['method']} {fix['path']} is not in KIS's list"
                )
            api["order"] = True
            self._count(fix["kind"])
        for api in apis:
            api.pop("tr_id_note")
            if api.pop("repeated_blocks"):
                raise CorrectionError(
                    f"{api['api_id']} documents a response block twice: add a [[block_repeat]] "
                    "correction once KIS's example says which layout is right"
                )

    def _deprecated(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        if fix["old"] not in api["tr_id_note"] + " " + self._row(fix["api"])["실전 TR_ID"]:
            raise CorrectionError(f"{fix['api']!r} no longer mentions deprecated {fix['old']}")
        if fix["new"] not in _tr_values(api["tr_id"]):
            raise CorrectionError(f"{fix['api']!r}: successor {fix['new']} is not a current TR")
        api["deprecated_tr_ids"][fix["old"]] = fix["new"]

    def _param_rename(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        params = [p for p in api["params"] if p["name"] == fix["expect"]]
        if len(params) != 1:
            raise CorrectionError(f"{fix['api']!r} has no parameter {fix['expect']!r} any more")
        params[0]["name"] = fix["value"]

    def _param_drop(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        if [p["name"] for p in api["params"]] != fix["expect"]:
            raise CorrectionError(f"{fix['api']!r} parameters changed: review its param_drop")
        api["params"] = []

    def _param_range(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        at = [i for i, p in enumerate(api["params"]) if p["name"] == fix["expect"]]
        if len(at) != 1:
            raise CorrectionError(f"{fix['api']!r} has no range element {fix['expect']!r} any more")
        template = api["params"][at[0]]
        name_ko = template["name_ko"].rstrip("….")
        expanded = [
            {
                **template,
                "name": f"{fix['prefix']}{number:0{fix['width']}d}",
                "name_ko": name_ko,
                "required": False,
                "empty_ok": False,
            }
            for number in range(fix["first"], fix["last"] + 1)
        ]
        api["params"][at[0] : at[0] + 1] = expanded
        for param in api["params"]:
            if param["name"] in fix.get("optional", []):
                param["required"] = False

    def _block(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        # ``first_field`` picks the block by its first field: two blocks whose names the layout
        # swapped are renamed one at a time, and for a moment both carry the same name.
        first = fix.get("first_field")
        blocks = [
            b
            for b in api["response"]
            if b["name"] == fix["expect"] and (first is None or b["fields"][0][0] == first)
        ]
        if len(blocks) != 1:
            raise CorrectionError(f"{fix['api']!r} has no block {fix['expect']!r} any more")
        blocks[0]["name"], blocks[0]["shape"] = fix["name"], fix["shape"]

    def _block_repeat(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        # The repeats were dropped while reading (the first layout is kept); this names them.
        if api["repeated_blocks"] != fix["blocks"]:
            raise CorrectionError(
                f"{fix['api']!r} repeats blocks {api['repeated_blocks']}, not {fix['blocks']}"
            )
        api["repeated_blocks"] = []

    def _param_default(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        found = [p for p in api["params"] if p["name"] == fix["param"]]
        if len(found) != 1 or found[0]["description"] != fix["expect"]:
            raise CorrectionError(f"{fix['api']!r} {fix['param']}: its description changed")
        param = found[0]
        if param["default"] is not None or fix["value"] not in param["codes"]:
            raise CorrectionError(
                f"{fix['api']!r} {fix['param']}: the workbook now states default "
                f"{param['default']!r} or no code {fix['value']!r}: review the correction"
            )
        param["default"] = fix["value"]

    def _realtime_fields(
        self, api: dict[str, Any], fix: Mapping[str, Any], apis: list[dict[str, Any]]
    ) -> None:
        fields = api["response"][0]["fields"]
        if len(fields) != fix["expect_width"]:
            raise CorrectionError(f"{fix['api']!r} now documents {len(fields)} fields")
        # KIS may still send the documented width: records that narrow must parse too.
        api["response"][0]["documented_width"] = fix["expect_width"]
        donor = {f[0]: f for f in self._find(apis, fix["copy_from"])["response"][0]["fields"]}
        for name in fix["append"]:
            if name not in donor:
                raise CorrectionError(f"{fix['copy_from']!r} no longer documents {name}")
            fields.append(list(donor[name]))

    def _auth(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        api["auth"] = fix["value"]

    def _rows(self, api: dict[str, Any], fix: Mapping[str, Any], _: Any) -> None:
        api["paging"]["rows_real"], api["paging"]["rows_paper"] = fix["real"], fix["paper"]

    def _assign_aliases(self, apis: list[dict[str, Any]]) -> None:
        c = self.corrections
        fixed = {fix["api"]: fix["alias"] for fix in c.get("alias", [])}
        words = c["realtime_alias_words"]
        taken: dict[str, str] = {}
        for api in apis:
            key = next((k for k in (api["api_id"], api["name"]) if k in fixed), None)
            if key is not None:
                api["alias"] = fixed[key]
                self._count("alias")
            elif api["transport"] == "websocket":
                api["alias"] = _realtime_alias(api["name"], words)
            else:
                api["alias"] = _qualified(api["path"])
            if api["alias"] in taken:
                raise CorrectionError(
                    f"alias {api['alias']!r} of {api['api_id']} collides with "
                    f"{taken[api['alias']]}: add an [[alias]] correction"
                )
            taken[api["alias"]] = api["api_id"]


def _mark_first_page(params: list[dict[str, Any]], form: str, keys: list[str]) -> None:
    """What the first page sends for the continuation keys, so a call by name alone works.

    A continuation key goes empty on the first page (``empty_ok``, required or not: the next
    page's value comes from the reply) except ``QRY_TP``, which is ``Q`` first, then ``P``. A
    cursor (a date or time the caller moves) is the caller's to choose: never assumed empty.
    """
    if form == "cursor":
        return
    for param in params:
        if param["name"] not in keys:
            continue
        if form == "index_key" and param["name"].upper() == "QRY_TP":
            param["default"], param["empty_ok"] = "Q", False
        else:
            param["empty_ok"] = True


def _realtime_alias(name: str, words: Mapping[str, str]) -> str:
    """A readable English alias from KIS's Korean name, word by word (table in the corrections)."""
    text = name
    for korean in sorted(words, key=len, reverse=True):
        text = text.replace(korean, f" {words[korean]} ")
    text = re.sub(r"[()]", " ", text)
    parts = text.split()
    if any(re.search(r"[가-힣]", part) for part in parts):
        raise CorrectionError(f"no English words for {name!r}: extend realtime_alias_words")
    return "-".join(["realtime", *parts]).lower()


def _qualified(path: str) -> str:
    """``/uapi/<service>/v1/<group>/<extra...>/<last>`` -> ``<service word>-<extra>-<last>``."""
    parts = path.strip("/").split("/")
    service, rest = parts[1], parts[4:]
    word = re.sub(r"^domestic-", "", re.sub(r"-(stock|price)$", "", service))
    return "-".join(p for p in (word if word != "domestic" else "", *rest) if p)


def _tr_values(tr: Any) -> set[str]:
    found: set[str] = set()
    if tr is None:
        return found
    for side in (tr["real"], tr["paper"]):
        if isinstance(side, str):
            found.add(side)
        elif side:
            found.update(side.values())
    return found


# --- writing --------------------------------------------------------------------------------


def slug(category: str) -> str:
    table = {
        "OAuth인증": "oauth",
        "국내주식": "domestic-stock",
        "국내선물옵션": "domestic-futureoption",
        "해외주식": "overseas-stock",
        "해외선물옵션": "overseas-futureoption",
        "장내채권": "domestic-bond",
        "주문/계좌": "trading",
        "기본시세": "quotations",
        "ELW 시세": "elw",
        "업종/기타": "sector-etc",
        "종목정보": "stock-info",
        "시세분석": "analysis",
        "순위분석": "ranking",
        "실시간시세": "realtime",
    }
    match = re.fullmatch(r"\[(.+?)\]\s*(.+)", category)
    words = [match.group(1), match.group(2)] if match else [category]
    try:
        return "-".join(table[w] for w in words)
    except KeyError as exc:
        raise CorrectionError(f"no file name for category {category!r}") from exc


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def render(
    apis: list[dict[str, Any]], source: str, corrections: Mapping[str, Any] | None = None
) -> dict[Path, str]:
    """Every generated file and its text (``corrections`` gives the realtime table the
    documented widths that a ``[[realtime_fields]]`` correction widened)."""
    files: dict[Path, str] = {}
    categories: dict[str, list[dict[str, Any]]] = {}
    for api in apis:
        categories.setdefault(api["category"], []).append(api)
    index: dict[str, Any] = {"source": source, "categories": []}
    for category, members in categories.items():
        name = slug(category)
        index["categories"].append(
            {"category": category, "file": f"{name}.json", "apis": len(members)}
        )
        body = {"source": source, "category": category, "apis": members}
        # One API per line: diffs of a new workbook build read API by API.
        lines = ",\n".join(_dump(api).rstrip("\n") for api in members)
        head = _dump({k: v for k, v in body.items() if k != "apis"}).rstrip("}\n")
        files[DATA_DIR / f"{name}.json"] = f'{head},"apis":[\n{lines}\n]}}\n'
    files[DATA_DIR / "index.json"] = _dump(index)
    files[SANDBOX_ROUTES] = _dump(sandbox_routes(apis, source))
    files[SANDBOX_REALTIME] = _dump(sandbox_realtime(apis, source, corrections or {}))
    files.update(typed_stubs(apis, source))
    return files


def sandbox_realtime(
    apis: list[dict[str, Any]], source: str, corrections: Mapping[str, Any]
) -> dict[str, Any]:
    """The sandbox's own realtime table: one entry per real TR_ID of a websocket API.

    Each entry: the API ID and name, the ordered field names of the live record (the catalog's,
    widened where a correction says KIS sends more than it documents), the documented width
    (``documented``, the workbook's, when it differs), the paper TR_ID (None when the paper
    server does not carry it), and whether the TR is an encrypted notice (통보).
    """
    widened = {fix["api"]: fix["expect_width"] for fix in corrections.get("realtime_fields", [])}
    trs: dict[str, Any] = {}
    for api in apis:
        if api["transport"] != "websocket" or api["tr_id"] is None:
            continue
        fields = [f[0] for f in api["response"][0]["fields"]] if api["response"] else []
        documented = widened.get(api["api_id"], len(fields))
        trs[api["tr_id"]["real"]] = {
            "api_id": api["api_id"],
            "name": api["name"],
            "paper": api["tr_id"]["paper"],
            "notice": "통보" in api["name"],
            "documented": documented,
            "fields": fields,
        }
    return {"source": source, "trs": dict(sorted(trs.items()))}


def sandbox_routes(apis: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """The sandbox's own table: one entry per REST path (it imports nothing from the client)."""
    routes = {}
    for api in apis:
        if api["transport"] != "rest" or api["auth"] != "token":
            continue
        tr, deprecated = api["tr_id"], api["deprecated_tr_ids"]

        def roles(side: Any, paper: bool) -> dict[str, str]:
            if side is None:
                return {}
            if isinstance(side, str):
                found = {side: "default"}
            else:
                found = {}
                for variant, value in side.items():
                    found.setdefault(value, variant)
            return found

        routes[api["path"]] = {
            "api_id": api["api_id"],
            "method": api["method"],
            "real": roles(tr["real"], False) if tr else {},
            "paper": roles(tr["paper"], True) if tr else {},
            "deprecated": dict(sorted(deprecated.items())),
            "order": api["order"],
            "required": [p["name"] for p in api["params"] if p["required"]],
            "paging": api["paging"]["form"],
            "rows": {"real": api["paging"]["rows_real"], "paper": api["paging"]["rows_paper"]},
            "keys": _sandbox_paging_keys(api),
            "codes": _sandbox_codes(api),
            # The documented reply, so the sandbox can answer every API with each field:
            # block name, object/array shape, and [name, type, length] per field, in order.
            "response": [
                {
                    "name": block["name"],
                    "shape": block["shape"],
                    "fields": [[f[0], f[2], f[3]] for f in block["fields"]],
                }
                for block in api["response"]
            ],
        }
    return {"source": source, "routes": dict(sorted(routes.items()))}


# Where a continuation key comes back when the layout does not show it: the lower-case request
# name at the top of the body, where KIS sends it (and where the client's pager looks first).
_REPLY_FIELD = {"NEXT": "next", "KEYB": "keyb", "INDEX_KEY": "index_key"}
# Parameters whose parsed code list KIS's own request example contradicts: left unchecked by
# the sandbox (a wrong parse must not refuse what KIS accepts). (API ID, name) -> the example's.
_SANDBOX_UNCHECKED: dict[tuple[str, str], str] = {
    ("해외선물-012", "CRCY_CD"): '":"KRW" (a typo in the example; KRW is listed)',
    ("해외선물-014", "ACNT_TR_TYPE_CD"): "%% (all; the description lists 1/2/3 only)",
}
# Required keys whose description lists codes without an empty one, sent empty by KIS's own
# request example: KIS takes the empty value (QRY_TP empty is a first page, as Q).
_SANDBOX_EMPTY_TAKEN = frozenset(
    {
        ("국내주식-166", "FID_DIV_CLS_CODE"),
        ("v1_국내선물-002", "NMPR_TYPE_CD"),
        ("해외선물-017", "QRY_TP"),
        ("해외선물-018", "QRY_TP"),
        ("해외선물-020", "QRY_TP"),
    }
)


def _sandbox_paging_keys(api: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each continuation parameter and the reply field (block, name) that carries its next value.

    ``QRY_TP`` has no reply field (the caller switches it from Q to P); a key the layout does not
    document in the reply comes back at the top of the body under its lower-case name.
    """
    form, keys = api["paging"]["form"], api["paging"]["keys"]
    if form not in ("tr_cont", "keyb", "next_keyb", "index_key"):
        return [{"param": name, "block": None, "field": None} for name in keys]
    found: list[dict[str, Any]] = []
    for name in keys:
        if name.upper() == "QRY_TP":
            found.append({"param": name, "block": None, "field": None})
            continue
        wanted = _REPLY_FIELD.get(name.upper(), name.lower())
        place = next(
            (
                (block["name"], field[0])
                for block in api["response"]
                if block["name"] == "body" or block["shape"] == "object"
                for field in block["fields"]
                if field[0].lower() == wanted
            ),
            ("body", wanted),
        )
        found.append({"param": name, "block": place[0], "field": place[1]})
    return found


def _sandbox_codes(api: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The values KIS accepts for each parameter whose code list is complete.

    Per-venue lists (``[KRX]``/``[NXT]``/``[SOR]``) are merged: which venue a call is for is not
    known from another parameter of the same call in general, and refusing a value one venue
    takes would be worse than admitting one it does not. ``""`` in the list (``없음: 전체``),
    ``empty_ok`` and an optional key (empty is taken as not given) let an empty value through.
    """
    codes: dict[str, dict[str, Any]] = {}
    for param in api["params"]:
        if not param["codes_complete"] or (api["api_id"], param["name"]) in _SANDBOX_UNCHECKED:
            continue
        values = set(param["codes"])
        for venue_codes in param["codes_by_venue"].values():
            values.update(venue_codes)
        codes[param["name"]] = {
            "values": sorted(values),
            # An optional key sent empty is taken as not given.
            "empty_ok": bool(
                param["empty_ok"]
                or "" in values
                or not param["required"]
                or (api["api_id"], param["name"]) in _SANDBOX_EMPTY_TAKEN
            ),
        }
    return codes


# --- typed stubs ----------------------------------------------------------------------------

TYPED_DIR = ROOT / "stock_manager" / "adapters" / "broker" / "kis" / "catalog" / "typed"
_TYPED_HEAD = '''"""{title}

Generated by ``tools/build_catalog.py`` from the catalog (KIS's workbook {source}): do not edit;
``build_catalog.py --check`` fails when this file and the catalog disagree. Every value is a
string, as KIS sends them; the comments are KIS's Korean field names.
"""

from __future__ import annotations
'''
# Names a class-syntax field cannot take (the annotations below would read them as the field).
_SHADOWING = frozenset({"str", "list", "NotRequired", "TypedDict", "annotations"})
_LINE = 100


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))


def _width(text: str) -> int:
    import unicodedata  # noqa: PLC0415 - only the typed stubs measure text

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _comment(code: str, note: str) -> str:
    """``code`` with ``# note`` after it, the note cut to keep the line within the limit."""
    note = " ".join(note.split())
    while note and _width(f"{code}  # {note}") > _LINE:
        note = note[:-1].rstrip()
    return f"{code}  # {note}" if note else code


def _typed_names(api: Mapping[str, Any]) -> dict[str, str]:
    """The generated names of one API's types: ``params``, ``reply`` and each block's."""
    stem = _camel(api["alias"])
    names = {"params": f"{stem}Params", "reply": f"{stem}Reply"}
    for block in api["response"]:
        if block["name"] != "body":
            names[block["name"]] = f"{stem}{_camel(block['name'])}"
    return names


def _typed_dict(name: str, doc: str, rows: list[tuple[str, str, bool, str]]) -> list[str]:
    """One TypedDict: class syntax, or the functional form when a key is no identifier.

    ``rows``: (key, annotation, required, Korean name); keys already unique.
    """
    functional = any(
        not key.isidentifier() or keyword.iskeyword(key) or key in _SHADOWING for key, *_ in rows
    )

    def annotation(kind: str, required: bool) -> str:
        return kind if required else f"NotRequired[{kind}]"

    if functional:
        lines = [f"# {doc}", f"{name} = TypedDict(", f'    "{name}",', "    {"]
        lines += [
            _comment(f'        "{key}": {annotation(kind, req)},', note)
            for key, kind, req, note in rows
        ]
        return [*lines, "    },", ")"]
    lines = [f"class {name}(TypedDict):", f'    """{doc}"""']
    if rows:
        lines.append("")
    lines += [
        _comment(f"    {key}: {annotation(kind, req)}", note) for key, kind, req, note in rows
    ]
    return lines


def _unique(rows: list[tuple[str, str, bool, str]]) -> list[tuple[str, str, bool, str]]:
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            kept.append(row)
    return kept


def _api_types(api: Mapping[str, Any]) -> list[list[str]]:
    names = _typed_names(api)
    # KIS's name and id, or the id alone where the docstring would pass the line limit.
    what = f"{api['name']} ({api['api_id']})"
    if _width(f'    """{what}: ``outblock1`` (object)."""') > _LINE:
        what = api["api_id"]
    account = {"CANO", "ACNT_PRDT_CD"}
    params = [
        (
            p["name"],
            "str",
            # What the client cannot fill in itself (see protocol/validate.py) is required.
            p["required"]
            and p["default"] is None
            and not p["empty_ok"]
            and p["name"] not in account,
            p["name_ko"],
        )
        for p in api["params"]
    ]
    found = [_typed_dict(names["params"], f"{what}: request parameters.", _unique(params))]
    reply: list[tuple[str, str, bool, str]] = []
    for block in api["response"]:
        fields = [(f[0], "str", True, f[1]) for f in block["fields"]]
        if block["name"] == "body":
            reply = fields + reply
            continue
        name = names[block["name"]]
        doc = f"{what}: ``{block['name']}`` ({block['shape']})."
        found.append(_typed_dict(name, doc, _unique(fields)))
        kind = f"list[{name}]" if block["shape"] == "array" else name
        reply.append((block["name"], kind, True, ""))
    found.append(_typed_dict(names["reply"], f"{what}: the reply body.", _unique(reply)))
    return found


def typed_stubs(apis: list[dict[str, Any]], source: str) -> dict[Path, str]:
    """TypedDict stubs of every REST API (one module per category) and the package index.

    Names come from the alias (``inquire-price`` -> ``InquirePriceParams``,
    ``InquirePriceOutput``, ``InquirePriceReply``); ``typed/__init__.py`` re-exports them all
    and maps each API id and alias to its types (:data:`BY_API`).
    """
    rest = [api for api in apis if api["transport"] == "rest"]
    modules: dict[str, list[dict[str, Any]]] = {}
    for api in rest:
        modules.setdefault(slug(api["category"]).replace("-", "_"), []).append(api)
    files: dict[Path, str] = {}
    exported: dict[str, list[str]] = {}
    taken: dict[str, str] = {}
    for module, members in sorted(modules.items()):
        chunks: list[list[str]] = []
        for api in members:
            for kind, name in _typed_names(api).items():
                if name in taken:
                    raise CorrectionError(
                        f"typed name {name} of {api['api_id']} ({kind}) is taken by {taken[name]}"
                    )
                taken[name] = api["api_id"]
            chunks.extend(_api_types(api))
        body = "\n\n\n".join("\n".join(chunk) for chunk in chunks)
        used = [n for n in ("NotRequired", "TypedDict") if re.search(rf"\b{n}\b", body)]
        head = _TYPED_HEAD.format(
            title=f"Typed stubs of KIS's {members[0]['category']} APIs.", source=source
        )
        imports = f"from typing import {', '.join(used)}\n" if used else ""
        files[TYPED_DIR / f"{module}.py"] = f"{head}\n{imports}\n\n{body}\n"
        exported[module] = sorted(name for api in members for name in _typed_names(api).values())
    files[TYPED_DIR / "__init__.py"] = _typed_index(rest, exported, source)
    return files


_INDEX_DOC = '''"""Static types of every KIS REST API, generated from the catalog.

Generated by ``tools/build_catalog.py`` from the catalog (KIS's workbook {source}): do not edit;
``build_catalog.py --check`` fails when this package and the catalog disagree.

An IDE completes KIS's field names and mypy checks them::

    from typing import cast
    from stock_manager.adapters.broker.kis.catalog.typed import InquirePriceReply

    answer = client.make_request("GET", api_id="inquire-price", params=...)
    reply = cast(InquirePriceReply, answer.json())
    reply["output"]["stck_prpr"]  # a str, as KIS sends every value

Each API has ``<Alias>Params`` (the request), ``<Alias>Reply`` (the body: envelope and blocks)
and one type per block (``<Alias>Output1``...), named from its alias. :data:`BY_API` maps an API
id or alias to them at runtime; :func:`types_for` takes any key the catalog does.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple
'''


def _typed_index(rest: list[dict[str, Any]], exported: Mapping[str, list[str]], source: str) -> str:
    lines = [_INDEX_DOC.format(source=source)]
    for module, names in exported.items():
        lines.append(f"from .{module} import (")
        lines += [f"    {name}," for name in names]
        lines.append(")")
    lines += [
        "",
        "",
        "class ApiTypes(NamedTuple):",
        '    """The generated types of one API (TypedDict classes, for ``cast`` and checks)."""',
        "",
        "    params: object",
        "    reply: object",
        "    blocks: Mapping[str, object]",
        "",
        "",
        "def _types(params: object, reply: object, **blocks: object) -> ApiTypes:",
        "    return ApiTypes(params, reply, MappingProxyType(blocks))",
        "",
        "",
        "_BY_ID: dict[str, ApiTypes] = {",
    ]
    for api in rest:
        names = _typed_names(api)
        lines += [f'    "{api["api_id"]}": _types(', f"        {names['params']},"]
        lines.append(f"        {names['reply']},")
        lines += [f"        {b}={n}," for b, n in names.items() if b not in ("params", "reply")]
        lines.append("    ),")
    lines += ["}", "_ALIASES: dict[str, str] = {"]
    lines += [f'    "{api["alias"]}": "{api["api_id"]}",' for api in rest]
    lines += [
        "}",
        "#: API id and alias -> the API's types.",
        "BY_API: Mapping[str, ApiTypes] = MappingProxyType(",
        "    {**_BY_ID, **{alias: _BY_ID[api_id] for alias, api_id in _ALIASES.items()}}",
        ")",
        "",
        "",
        "def types_for(key: str) -> ApiTypes:",
        '    """The types of the API with this id, alias, Korean name, TR_ID or path."""',
        "    from .. import get_catalog  # noqa: PLC0415 - the catalog loads its data on demand",
        "",
        "    return _BY_ID[get_catalog().get(key).api_id]",
        "",
        "",
        "__all__ = [",
        '    "BY_API",',
    ]
    every = sorted([*(name for names in exported.values() for name in names), "ApiTypes"])
    lines += [f'    "{name}",' for name in every]
    lines += ['    "types_for",', "]", ""]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workbook", type=Path, default=None, help="KIS's workbook (.xlsx)")
    parser.add_argument("--check", action="store_true", help="compare with the committed data")
    args = parser.parse_args(list(argv) if argv is not None else None)
    workbook = args.workbook or default_workbook()
    if workbook is None or not workbook.is_file():
        print(
            f"build_catalog: no workbook ({workbook or '../shared/kis/' + WORKBOOK_GLOB})",
            file=sys.stderr,
        )
        return 2
    corrections = tomllib.loads(CORRECTIONS.read_text(encoding="utf-8"))
    try:
        builder = Builder(workbook, corrections)
        apis = builder.build()
        files = render(apis, builder.source, corrections)
    except CorrectionError as exc:
        print(f"build_catalog: {exc}", file=sys.stderr)
        return 1
    if args.check:
        generated = [*sorted(DATA_DIR.glob("*.json")), *sorted(TYPED_DIR.glob("*.py"))]
        stale = [p for p in generated if p not in files]
        differ = [
            p
            for p, text in files.items()
            if not p.is_file() or p.read_text(encoding="utf-8") != text
        ]
        if differ or stale:
            for path in differ:
                print(f"differs: {path.relative_to(ROOT)}", file=sys.stderr)
            for path in stale:
                print(f"not generated any more: {path.relative_to(ROOT)}", file=sys.stderr)
            print(
                "build_catalog --check: run `python tools/build_catalog.py` and review the diff",
                file=sys.stderr,
            )
            return 1
        print(
            f"build_catalog --check: {len(apis)} APIs from {workbook.name} match the committed data"
        )
        return 0
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    TYPED_DIR.mkdir(parents=True, exist_ok=True)
    for stale in [*DATA_DIR.glob("*.json"), *TYPED_DIR.glob("*.py")]:
        if stale not in files:
            stale.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(builder.applied.items()))
    print(f"build_catalog: {len(apis)} APIs from {workbook.name}; corrections applied: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
