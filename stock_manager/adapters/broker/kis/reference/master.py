"""KIS's symbol master files, parsed: layouts as data, no I/O.

KIS publishes its listings as zipped files (``kospi_code.mst.zip``, ``kosdaq_code.mst.zip``,
``<market>mst.cod.zip`` abroad) whose layouts its sample repository documents
(``koreainvestment/open-trading-api``, ``stocks_info/``; the C headers 종목마스터정보(코스피).h,
(코스닥).h and 해외종목코드정보(...).h). This parser is our own, from those headers:

* Domestic lines are cp949 bytes: the 9-byte short code, the 12-byte standard code (ISIN), the
  Korean name, then a fixed-width ASCII tail of :data:`KOSPI_TAIL` (227 bytes) or
  :data:`KOSDAQ_TAIL` (221 bytes). The name is whatever lies between the codes and the tail,
  so it is cut from the end, in bytes (a Korean character is two), as KIS's sample does.
* Overseas lines are cp949 text, tab-separated, in the header's field order
  (:data:`OVERSEAS_FIELDS`); they carry the English name domestic files lack.

Every field is kept, by the header's name, in :attr:`Symbol.raw`; a line that does not fit the
layout raises :class:`KISProtocolError` naming the file and line, never its content.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from ..errors import KISProtocolError

__all__ = [
    "KOSDAQ_TAIL",
    "KOSPI_TAIL",
    "MASTER_FILES",
    "OVERSEAS_FIELDS",
    "Symbol",
    "parse_domestic",
    "parse_master",
    "parse_overseas",
    "unzip",
]

_FLAGS_KOSPI = (
    "mnin_cls_code_yn", "low_current_yn", "sprn_strr_nmix_issu_yn", "kospi200_apnt_cls_code",
    "kospi100_issu_yn", "kospi50_issu_yn", "krx_issu_yn", "etp_prod_cls_code", "elw_pblc_yn",
    "krx100_issu_yn", "krx_car_yn", "krx_smcn_yn", "krx_bio_yn", "krx_bank_yn",
    "etpr_undt_objt_co_yn", "krx_enrg_chms_yn", "krx_stel_yn", "short_over_cls_code",
    "krx_medi_cmnc_yn", "krx_cnst_yn", "krx_fnnc_svc_yn", "krx_scrt_yn", "krx_ship_yn",
    "krx_insu_yn", "krx_trnp_yn", "sri_nmix_yn",
)  # fmt: skip
_FLAGS_KOSDAQ = (
    "vntr_issu_yn", "low_current_yn", "krx_issu_yn", "etp_prod_cls_code", "krx100_issu_yn",
    "krx_car_yn", "krx_smcn_yn", "krx_bio_yn", "krx_bank_yn", "etpr_undt_objt_co_yn",
    "krx_enrg_chms_yn", "krx_stel_yn", "short_over_cls_code", "krx_medi_cmnc_yn", "krx_cnst_yn",
    "invt_alrm_yn", "krx_scrt_yn", "krx_ship_yn", "krx_insu_yn", "krx_trnp_yn", "ksq150_nmix_yn",
)  # fmt: skip
_HEAD = (("scrt_grp_cls_code", 2), ("avls_scal_cls_code", 1), ("bstp_larg_div_code", 4),
         ("bstp_medm_div_code", 4), ("bstp_smal_div_code", 4))  # fmt: skip
_MIDDLE = (
    ("stck_sdpr", 9), ("frml_mrkt_deal_qty_unit", 5), ("ovtm_mrkt_deal_qty_unit", 5),
    ("trht_yn", 1), ("sltr_yn", 1), ("mang_issu_yn", 1), ("mrkt_alrm_cls_code", 2),
    ("mrkt_alrm_risk_adnt_yn", 1), ("insn_pbnt_yn", 1), ("byps_lstn_yn", 1),
    ("flng_cls_code", 2), ("fcam_mod_cls_code", 2), ("icic_cls_code", 2), ("marg_rate", 3),
    ("crdt_able", 1), ("crdt_days", 3), ("prdy_vol", 12), ("stck_fcam", 12),
    ("stck_lstn_date", 8), ("lstn_stcn", 15), ("cpfn", 21), ("stac_month", 2), ("po_prc", 7),
    ("prst_cls_code", 1), ("ssts_hot_yn", 1), ("stange_runup_yn", 1), ("krx300_issu_yn", 1),
)  # fmt: skip
_END = (
    ("sale_account", 9), ("bsop_prfi", 9), ("op_prfi", 9), ("thtr_ntin", 5), ("roe", 9),
    ("base_date", 8), ("prdy_avls_scal", 9), ("grp_code", 3), ("co_crdt_limt_over_yn", 1),
    ("secu_lend_able_yn", 1), ("stln_able_yn", 1),
)  # fmt: skip

#: The tail of a KOSPI line (종목마스터정보(코스피).h after the name): (field, bytes).
KOSPI_TAIL: tuple[tuple[str, int], ...] = (
    *_HEAD,
    *((name, 1) for name in _FLAGS_KOSPI),
    *_MIDDLE,
    ("kospi_issu_yn", 1),
    *_END,
)
#: The tail of a KOSDAQ line (종목마스터정보(코스닥).h after the name).
KOSDAQ_TAIL: tuple[tuple[str, int], ...] = (
    *_HEAD,
    *((name, 1) for name in _FLAGS_KOSDAQ),
    *_MIDDLE,
    *_END,
)
#: The columns of an overseas line (해외종목코드정보(미국,중국,일본,홍콩,베트남).h).
OVERSEAS_FIELDS = (
    "ncod", "exid", "excd", "exnm", "symb", "rsym", "knam", "enam", "stis", "curr", "zdiv",
    "ztyp", "base", "bnit", "anit", "mstm", "metm", "isdr", "drcd", "icod", "sjong", "ttyp",
    "etyp", "ttyp_sb",
)  # fmt: skip
_SHORT_CODE, _STANDARD_CODE = 9, 12
_OVERSEAS_REQUIRED = OVERSEAS_FIELDS.index("enam") + 1
_ENCODING = "cp949"

#: Master file -> the market its symbols trade on (KIS's order exchange codes abroad).
MASTER_FILES: Mapping[str, str] = MappingProxyType(
    {
        "kospi_code.mst.zip": "KOSPI",
        "kosdaq_code.mst.zip": "KOSDAQ",
        "nasmst.cod.zip": "NASD",
        "nysmst.cod.zip": "NYSE",
        "amsmst.cod.zip": "AMEX",
        "tsemst.cod.zip": "TKSE",
        "hksmst.cod.zip": "SEHK",
        "shsmst.cod.zip": "SHAA",
        "szsmst.cod.zip": "SZAA",
        "hnxmst.cod.zip": "HASE",
        "hsxmst.cod.zip": "VNSE",
    }
)
_DOMESTIC = {"KOSPI": KOSPI_TAIL, "KOSDAQ": KOSDAQ_TAIL}
# An unpacked master is a few MB; anything far larger is not one (a zip bomb, a wrong file).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Symbol:
    """One listed symbol: code, names, market, and every field of its master line in ``raw``.

    ``kind`` is KIS's own class: the domestic group code (``ST`` stock, ``EF`` ETF, ``EN`` ETN,
    ...) or the overseas security type (``1`` index, ``2`` stock, ``3`` ETP, ``4`` warrant).
    ``name_en`` is empty for domestic symbols (their master files carry no English name).
    """

    code: str
    name: str
    market: str
    kind: str
    name_en: str = ""
    standard_code: str = ""
    currency: str = ""
    base_price: Decimal | None = None
    lot: int | None = None
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _fields(tail: bytes, layout: tuple[tuple[str, int], ...]) -> dict[str, str]:
    values, offset = {}, 0
    for name, width in layout:
        values[name] = tail[offset : offset + width].decode("ascii").strip()
        offset += width
    return values


def parse_domestic(data: bytes, market: str, *, source: str = "master") -> list[Symbol]:
    """The symbols of an unpacked KOSPI or KOSDAQ master (``market`` says which layout)."""
    layout = _DOMESTIC.get(market)
    if layout is None:
        raise ValueError(f"no domestic master layout for {market!r}")
    tail_bytes = sum(width for _name, width in layout)
    symbols = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        head, tail = line[:-tail_bytes], line[-tail_bytes:]
        if len(head) < _SHORT_CODE + _STANDARD_CODE or not tail.isascii():
            raise KISProtocolError(f"{source} line {number} does not fit the {market} layout")
        try:
            name = head[_SHORT_CODE + _STANDARD_CODE :].decode(_ENCODING).strip()
            code = head[:_SHORT_CODE].decode("ascii").strip()
            standard = head[_SHORT_CODE : _SHORT_CODE + _STANDARD_CODE].decode("ascii").strip()
        except UnicodeDecodeError:
            raise KISProtocolError(f"{source} line {number} is not cp949 text") from None
        raw = _fields(tail, layout)
        symbols.append(
            Symbol(
                code=code,
                name=name,
                market=market,
                kind=raw["scrt_grp_cls_code"],
                standard_code=standard,
                currency="KRW",
                base_price=_decimal(raw["stck_sdpr"]),
                lot=_int(raw["frml_mrkt_deal_qty_unit"]),
                raw=MappingProxyType(
                    {"mksc_shrn_iscd": code, "stnd_iscd": standard, "hts_kor_isnm": name, **raw}
                ),
            )
        )
    return symbols


def parse_overseas(data: bytes, market: str, *, source: str = "master") -> list[Symbol]:
    """The symbols of an unpacked overseas master listing ``market`` (``NASD``, ``TKSE``...)."""
    try:
        text = data.decode(_ENCODING)
    except UnicodeDecodeError:
        raise KISProtocolError(f"{source} is not cp949 text") from None
    symbols = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < _OVERSEAS_REQUIRED:
            raise KISProtocolError(f"{source} line {number} has {len(columns)} of 24 columns")
        raw = {name: value.strip() for name, value in zip(OVERSEAS_FIELDS, columns, strict=False)}
        symbols.append(
            Symbol(
                code=raw["symb"],
                name=raw["knam"],
                market=market,
                kind=raw.get("stis", ""),
                name_en=raw["enam"],
                currency=raw.get("curr", ""),
                base_price=_decimal(raw.get("base", "")),
                lot=_int(raw.get("bnit", "")),
                raw=MappingProxyType(raw),
            )
        )
    return symbols


def unzip(archive: bytes, *, source: str = "master") -> bytes:
    """The one file inside a master zip; :class:`KISProtocolError` if it is not such a zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            members = [info for info in opened.infolist() if not info.is_dir()]
            if len(members) != 1:
                raise KISProtocolError(f"{source} holds {len(members)} files, not one")
            if members[0].file_size > MAX_UNPACKED_BYTES:
                raise KISProtocolError(f"{source} unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            return opened.read(members[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError):
        raise KISProtocolError(f"{source} is not a readable zip file") from None


def parse_master(name: str, archive: bytes) -> list[Symbol]:
    """The symbols of master file ``name`` (a key of :data:`MASTER_FILES`), from its zip."""
    market = MASTER_FILES.get(name)
    if market is None:
        raise ValueError(f"unknown master file {name!r}: use one of {', '.join(MASTER_FILES)}")
    data = unzip(archive, source=name)
    if market in _DOMESTIC:
        return parse_domestic(data, market, source=name)
    return parse_overseas(data, market, source=name)
