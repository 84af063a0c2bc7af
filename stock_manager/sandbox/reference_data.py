"""Reference data as KIS serves it: the holiday APIs and the symbol master files.

국내휴장일조회 (chk-holiday, CTCA0903R) answers one row per day from ``BASS_DT`` on, with KRX's
calendar from :mod:`.sessions`; 해외결제일자조회 (countries-holiday, CTOS5011R) one row per
overseas stock market with the settlement dates of a trade on ``TRAD_DT``. The master files
(``/common/master/kospi_code.mst.zip``, ``kosdaq_code.mst.zip`` and the overseas
``<market>mst.cod.zip``) hold the sandbox's own universe in KIS's layouts, so a client's
download and parser run offline.

Choices where KIS publishes nothing to copy:

* chk-holiday answers :data:`HOLIDAY_ROWS` consecutive days, one page (its paging keys are sent
  blank). On 31 December (KRX's year-end closing day) banks work: ``bzdy_yn`` and ``tr_day_yn``
  are "Y", ``opnd_yn`` and ``sttl_day_yn`` "N". Every other day's four flags agree.
* countries-holiday settles US trades T+1 and other markets' T+2 local business days (weekends
  and the markets' holidays in :mod:`.sessions` skipped); the domestic settlement date is the
  first KRX trading day after the local one.
* Master files: the layouts of KIS's sample repository (``stocks_info/``), every field the
  universe does not know blank or zero; standard codes are ``KR7`` + code + ``00`` + the ISIN
  check digit; the Korean name is padded to 40 bytes of cp949 as in KIS's files.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from stock_manager.sandbox import sessions
from stock_manager.sandbox.codes import success
from stock_manager.sandbox.fields import bad, text
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import UNIVERSE, Instrument

__all__ = ["HANDLERS", "HOLIDAY_ROWS", "MASTER_FILES", "MASTER_PATH", "master_file"]

CHK_HOLIDAY = "/uapi/domestic-stock/v1/quotations/chk-holiday"
COUNTRIES_HOLIDAY = "/uapi/overseas-stock/v1/quotations/countries-holiday"
MASTER_PATH = "/common/master/{name}"
HOLIDAY_ROWS = 30

Reply = tuple[dict[str, Any], str]


def _day(value: str, name: str) -> date:
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        raise bad(name, value)
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise bad(name, value) from None


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _holiday_row(day: date) -> dict[str, str]:
    opened = sessions.is_trading_day(day, "KOSPI")
    year_end = (day.month, day.day) == (12, 31) and day.weekday() < 5
    banks = opened or year_end
    return {
        "bass_dt": day.strftime("%Y%m%d"),
        # KIS counts 01 = Sunday ... 07 = Saturday.
        "wday_dvsn_cd": f"{(day.weekday() + 1) % 7 + 1:02d}",
        "bzdy_yn": _yn(banks),
        "tr_day_yn": _yn(banks),
        "opnd_yn": _yn(opened),
        "sttl_day_yn": _yn(opened),
    }


def chk_holiday(state: SandboxState, call: GatewayCall) -> Reply:
    """국내휴장일조회: :data:`HOLIDAY_ROWS` days from ``BASS_DT`` with KRX's calendar."""
    start = _day(text(call.params, "BASS_DT"), "BASS_DT")
    rows = [_holiday_row(start + timedelta(days=offset)) for offset in range(HOLIDAY_ROWS)]
    return success(output=rows, ctx_area_fk="", ctx_area_nk=""), ""


# The catalog's codes for countries-holiday (prdt_type_cd, tr_natn_cd, natn_eng_abrv_cd).
_OVERSEAS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("NASD", "512", "840", "미국", "US", "나스닥"),
    ("NYSE", "513", "840", "미국", "US", "뉴욕"),
    ("AMEX", "529", "840", "미국", "US", "아멕스"),
    ("TKSE", "515", "392", "일본", "JP", "도쿄"),
    ("SEHK", "501", "344", "홍콩", "HK", "홍콩"),
    ("HASE", "507", "704", "베트남", "VN", "하노이"),
    ("VNSE", "508", "704", "베트남", "VN", "호치민"),
    ("SHAA", "551", "156", "중국", "CN", "상해A"),
    ("SZAA", "552", "156", "중국", "CN", "심천A"),
)
_US = frozenset({"NASD", "NYSE", "AMEX"})


def _settlement(market: str, trade: date) -> tuple[date, date]:
    local = trade
    for _ in range(1 if market in _US else 2):
        local = sessions.next_trading_day(local, market)
    return local, sessions.next_trading_day(local, "KOSPI")


def countries_holiday(state: SandboxState, call: GatewayCall) -> Reply:
    """해외결제일자조회: each overseas stock market's settlement dates for ``TRAD_DT``."""
    trade = _day(text(call.params, "TRAD_DT"), "TRAD_DT")
    rows = []
    for market, product, country, country_name, country_code, market_name in _OVERSEAS:
        local, domestic = _settlement(market, trade)
        rows.append(
            {
                "prdt_type_cd": product,
                "tr_natn_cd": country,
                "tr_natn_name": country_name,
                "natn_eng_abrv_cd": country_code,
                "tr_mket_cd": product[1:],
                "tr_mket_name": market_name,
                "acpl_sttl_dt": local.strftime("%Y%m%d"),
                "dmst_sttl_dt": domestic.strftime("%Y%m%d"),
            }
        )
    return success(output=rows, ctx_area_fk="", ctx_area_nk=""), ""


HANDLERS: dict[str, Callable[[SandboxState, GatewayCall], Reply]] = {
    CHK_HOLIDAY: chk_holiday,
    COUNTRIES_HOLIDAY: countries_holiday,
}

# --- master files ---------------------------------------------------------------------------------

# Tail layouts (field, width) of KIS's sample repository's 종목마스터정보(코스피).h / (코스닥).h,
# after the 9-byte short code, 12-byte standard code and the Korean name.
_KOSPI_TAIL = (
    ("scrt_grp_cls_code", 2), ("avls_scal_cls_code", 1), ("bstp_larg_div_code", 4),
    ("bstp_medm_div_code", 4), ("bstp_smal_div_code", 4), ("flags", 26), ("stck_sdpr", 9),
    ("frml_mrkt_deal_qty_unit", 5), ("ovtm_mrkt_deal_qty_unit", 5), ("trht_yn", 1),
    ("sltr_yn", 1), ("mang_issu_yn", 1), ("rest", 164),
)  # fmt: skip
_KOSDAQ_TAIL = (
    ("scrt_grp_cls_code", 2), ("avls_scal_cls_code", 1), ("bstp_larg_div_code", 4),
    ("bstp_medm_div_code", 4), ("bstp_smal_div_code", 4), ("flags", 21), ("stck_sdpr", 9),
    ("frml_mrkt_deal_qty_unit", 5), ("ovtm_mrkt_deal_qty_unit", 5), ("trht_yn", 1),
    ("sltr_yn", 1), ("mang_issu_yn", 1), ("rest", 163),
)  # fmt: skip
_NAME_BYTES = 40
_GROUPS = {"stock": "ST", "etf": "EF", "etn": "EN"}
# Overseas files: KIS's file prefix, its exchange code in the file, and the market it lists.
_OVERSEAS_FILES = {
    "nas": ("NAS", "NASD", "US"),
    "nys": ("NYS", "NYSE", "US"),
    "ams": ("AMS", "AMEX", "US"),
    "tse": ("TSE", "TKSE", "JP"),
    "hks": ("HKS", "SEHK", "HK"),
    "shs": ("SHS", "SHAA", "CN"),
    "szs": ("SZS", "SZAA", "CN"),
    "hnx": ("HNX", "HASE", "VN"),
    "hsx": ("HSX", "VNSE", "VN"),
}
MASTER_FILES = (
    "kospi_code.mst.zip",
    "kosdaq_code.mst.zip",
    *(f"{prefix}mst.cod.zip" for prefix in _OVERSEAS_FILES),
)


def _isin(code: str) -> str:
    """``KR7`` + code + ``00`` + the ISIN check digit (Luhn over the letters' numbers)."""
    body = f"KR7{code}00"
    digits = "".join(str(int(char, 36)) for char in body)
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value // 10 + value % 10
    return f"{body}{(10 - total % 10) % 10}"


def _tail(layout: tuple[tuple[str, int], ...], instrument: Instrument) -> bytes:
    values = {
        "scrt_grp_cls_code": _GROUPS[instrument.kind],
        "stck_sdpr": f"{int(instrument.base_price):09d}",
        "frml_mrkt_deal_qty_unit": f"{instrument.lot:05d}",
        "ovtm_mrkt_deal_qty_unit": f"{instrument.lot:05d}",
        "trht_yn": "N",
        "sltr_yn": "N",
        "mang_issu_yn": "N",
    }
    return "".join(values.get(name, "").ljust(width)[:width] for name, width in layout).encode()


def _domestic_line(instrument: Instrument, layout: tuple[tuple[str, int], ...]) -> bytes:
    name = instrument.name.encode("cp949")[:_NAME_BYTES].ljust(_NAME_BYTES)
    head = instrument.code.ljust(9).encode() + _isin(instrument.code).encode() + name
    return head + _tail(layout, instrument) + b"\n"


def _overseas_line(instrument: Instrument, prefix: str) -> bytes:
    exchange, _market, country = _OVERSEAS_FILES[prefix]
    base = f"{instrument.base_price:f}"
    decimals = len(base.partition(".")[2])
    fields = (
        country, exchange, exchange, exchange, instrument.code, f"D{exchange}{instrument.code}",
        instrument.name, instrument.name_en, "2", instrument.currency, str(decimals), "",
        base, str(instrument.lot), str(instrument.lot), "", "", "N", "", "", "0", "", "", "",
    )  # fmt: skip
    return "\t".join(fields).encode("cp949") + b"\n"


@lru_cache(maxsize=len(MASTER_FILES))
def master_file(name: str) -> bytes | None:
    """The zip KIS serves as ``/common/master/<name>``, or None for a file it has not."""
    inner = name.removesuffix(".zip")
    if name in {"kospi_code.mst.zip", "kosdaq_code.mst.zip"}:
        market = "KOSPI" if name.startswith("kospi") else "KOSDAQ"
        layout = _KOSPI_TAIL if market == "KOSPI" else _KOSDAQ_TAIL
        lines = [
            _domestic_line(item, layout)
            for item in UNIVERSE
            if item.market == market and item.is_domestic
        ]
    elif name.endswith("mst.cod.zip") and name.removesuffix("mst.cod.zip") in _OVERSEAS_FILES:
        prefix = name.removesuffix("mst.cod.zip")
        market = _OVERSEAS_FILES[prefix][1]
        lines = [
            _overseas_line(item, prefix)
            for item in UNIVERSE
            if item.market == market and item.kind == "overseas_stock"
        ]
    else:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inner, b"".join(lines))
    return buffer.getvalue()


async def master_endpoint(request: Request) -> Response:
    """GET ``/common/master/<name>``: the zip, or 404 as a static file host answers."""
    data = master_file(str(request.path_params.get("name", "")))
    if data is None:
        return PlainTextResponse("Not Found", 404)
    return Response(data, 200, media_type="application/zip")
