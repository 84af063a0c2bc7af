"""inquire-price (주식현재가 시세): the sandbox's market at its market time, in KIS's fields.

For a well-formed code under which nothing is listed, KIS's answer is not documented; the sandbox
answers as users report of the live server: ``rt_cd`` "0" with every documented ``output`` field
present, text fields blank and numbers "0" (clients detect it by ``stck_prpr == "0"``). Fields
the market does not model (listed shares, PER, foreign holdings...) carry fixed plausible values;
52-week, 250-day and year extremes are of daily closes plus today's range.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.sandbox import fields, sessions, tables, walk
from stock_manager.sandbox.codes import BusinessError, success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.market import Market, Snapshot
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.universe import Instrument

Reply = tuple[dict[str, Any], str]

MARKET_DIVISIONS = {"J", "NX", "UN"}


def _documented_price_fields() -> tuple[str, ...]:
    for block in tables.CATALOG_ROUTES[tables.INQUIRE_PRICE]["response"]:
        if block["name"] == "output":
            return tuple(str(field[0]) for field in block["fields"])
    raise RuntimeError("kis_routes.json documents no output block for inquire-price")


PRICE_FIELDS = _documented_price_fields()
# Fields that hold text, codes, flags or dates: blank for an unlisted code (the rest are "0").
_TEXT_FIELD = re.compile(r".*(_yn|_code|_name|_isnm|_date|_cnnm|_iscd)$")
_MARKET_NAMES = {"stock": "", "etf": "ETF", "etn": "ETN"}
_LISTED_SHARES = 100_000_000  # not modelled: a round number for turnover rate and market cap
_TWO = Decimal("0.01")


def _extremes(
    market: Market, instrument: Instrument, snapshot: Snapshot, since: date
) -> tuple[Decimal, str, Decimal, str]:
    """Highest and lowest of the closes since ``since`` and today's range, with their dates."""
    day = snapshot.trading_day
    stamp = day.strftime("%Y%m%d")
    high, high_date, low, low_date = snapshot.high, stamp, snapshot.low, stamp
    past = _past_extremes(market.walk, instrument, day, since)
    if past is not None:
        if past[0] > high:
            high, high_date = past[0], past[1]
        if past[2] < low:
            low, low_date = past[2], past[3]
    return high, high_date, low, low_date


# The closes before today never change: a year of them is walked once per (instrument, day);
# plain dict access, whose worst race between threads is computing an entry twice.
_PAST: dict[tuple[int, str, str, date, date], tuple[Decimal, str, Decimal, str] | None] = {}
_PAST_LIMIT = 4096


def _past_extremes(
    prices: walk.PriceWalk, instrument: Instrument, day: date, since: date
) -> tuple[Decimal, str, Decimal, str] | None:
    key = (prices.seed, instrument.market, instrument.code, day, since)
    if key in _PAST:
        return _PAST[key]
    found: tuple[Decimal, str, Decimal, str] | None = None
    earlier = sessions.previous_trading_day(day, instrument.market)
    while earlier >= since:
        close = prices.close(instrument, earlier)
        stamp = earlier.strftime("%Y%m%d")
        if found is None:
            found = (close, stamp, close, stamp)
        else:
            high, high_date, low, low_date = found
            # Strictly greater/less: on a tie the most recent day keeps its place.
            if close > high:
                high, high_date = close, stamp
            if close < low:
                low, low_date = close, stamp
            found = (high, high_date, low, low_date)
        earlier = sessions.previous_trading_day(earlier, instrument.market)
    if len(_PAST) >= _PAST_LIMIT:
        _PAST.clear()  # a bounded cache: a long-running sandbox starts over rather than grow
    _PAST[key] = found
    return found


def _vs(price: Decimal, reference: Decimal) -> str:
    return str(((reference - price) * 100 / price).quantize(_TWO)) if price else "0.00"


def _listed_output(market: Market, instrument: Instrument) -> dict[str, str]:
    snap = market.snapshot(instrument)
    last, previous = snap.last, snap.previous_close
    yesterday = market.walk.day_path(
        instrument, sessions.previous_trading_day(snap.trading_day, instrument.market)
    )
    prior_volume = yesterday.total_volume[-1] if yesterday.total_volume else 0
    # Pivot points from the previous day's range, KIS's 피봇/디마크 fields.
    if yesterday.prices:
        p_high, p_low, p_close = yesterday.highs[-1], yesterday.lows[-1], yesterday.prices[-1]
    else:
        p_high = p_low = p_close = previous
    pivot = (p_high + p_low + p_close) / 3

    def grid(value: Decimal) -> str:
        return str(int(walk.round_to_tick(instrument, value)))

    day = snap.trading_day
    d250 = _extremes(market, instrument, snap, day - timedelta(days=365))
    w52 = _extremes(market, instrument, snap, day - timedelta(weeks=52))
    year = _extremes(market, instrument, snap, date(day.year, 1, 1))
    upper = snap.upper if snap.upper is not None else last
    lower = snap.lower if snap.lower is not None else last
    average = (snap.turnover / snap.volume).quantize(_TWO) if snap.volume else last
    face = 100 if instrument.code == "005930" else 0 if instrument.kind != "stock" else 500
    values = {
        "iscd_stat_cls_code": "55",
        "marg_rate": "20.00",
        "rprs_mrkt_kor_name": _MARKET_NAMES[instrument.kind] or instrument.market,
        "new_hgpr_lwpr_cls_code": "",
        "bstp_kor_isnm": "유가증권" if instrument.market == "KOSPI" else "코스닥",
        "temp_stop_yn": "N",
        "oprc_rang_cont_yn": "N",
        "clpr_rang_cont_yn": "N",
        "crdt_able_yn": "Y",
        "grmn_rate_cls_code": "40",
        "elw_pblc_yn": "N",
        "stck_prpr": str(int(last)),
        "prdy_vrss": str(int(snap.change)),
        "prdy_vrss_sign": snap.sign,
        "prdy_ctrt": str(snap.rate),
        "acml_tr_pbmn": str(int(snap.turnover)),
        "acml_vol": str(snap.volume),
        "prdy_vrss_vol_rate": str((Decimal(snap.volume * 100) / prior_volume).quantize(_TWO))
        if prior_volume
        else "0.00",
        "stck_oprc": str(int(snap.open)),
        "stck_hgpr": str(int(snap.high)),
        "stck_lwpr": str(int(snap.low)),
        "stck_mxpr": str(int(upper)),
        "stck_llam": str(int(lower)),
        "stck_sdpr": str(int(previous)),
        "wghn_avrg_stck_prc": str(average),
        "hts_frgn_ehrt": "30.00",
        "frgn_ntby_qty": "0",
        "pgtr_ntby_qty": "0",
        "pvt_scnd_dmrs_prc": grid(pivot + (p_high - p_low)),
        "pvt_frst_dmrs_prc": grid(2 * pivot - p_low),
        "pvt_pont_val": grid(pivot),
        "pvt_frst_dmsp_prc": grid(2 * pivot - p_high),
        "pvt_scnd_dmsp_prc": grid(pivot - (p_high - p_low)),
        "dmrs_val": grid(2 * pivot - p_low),
        "dmsp_val": grid(2 * pivot - p_high),
        "cpfn": str(face * _LISTED_SHARES // 100_000_000),
        "rstc_wdth_prc": str(int(upper - previous)),
        "stck_fcam": str(face),
        "stck_sspr": grid(previous * Decimal("0.7")),
        "aspr_unit": str(int(snap.tick)),
        "hts_deal_qty_unit_val": str(instrument.lot),
        "lstn_stcn": str(_LISTED_SHARES),
        "hts_avls": str(int(last) * _LISTED_SHARES // 100_000_000),
        "per": "10.00",
        "pbr": "1.00",
        "stac_month": "12",
        "vol_tnrt": str((Decimal(snap.volume * 100) / _LISTED_SHARES).quantize(_TWO)),
        "eps": f"{int(last) // 10}.00",
        "bps": f"{int(last)}.00",
        "d250_hgpr": str(int(d250[0])),
        "d250_hgpr_date": d250[1],
        "d250_hgpr_vrss_prpr_rate": _vs(d250[0], last),
        "d250_lwpr": str(int(d250[2])),
        "d250_lwpr_date": d250[3],
        "d250_lwpr_vrss_prpr_rate": _vs(d250[2], last),
        "stck_dryy_hgpr": str(int(year[0])),
        "dryy_hgpr_vrss_prpr_rate": _vs(year[0], last),
        "dryy_hgpr_date": year[1],
        "stck_dryy_lwpr": str(int(year[2])),
        "dryy_lwpr_vrss_prpr_rate": _vs(year[2], last),
        "dryy_lwpr_date": year[3],
        "w52_hgpr": str(int(w52[0])),
        "w52_hgpr_vrss_prpr_ctrt": _vs(w52[0], last),
        "w52_hgpr_date": w52[1],
        "w52_lwpr": str(int(w52[2])),
        "w52_lwpr_vrss_prpr_ctrt": _vs(w52[2], last),
        "w52_lwpr_date": w52[3],
        "whol_loan_rmnd_rate": "0.00",
        "ssts_yn": "Y",
        "stck_shrn_iscd": instrument.code,
        "fcam_cnnm": str(face),
        "cpfn_cnnm": f"{face * _LISTED_SHARES // 100_000_000} 억",
        "apprch_rate": "0.00",
        "frgn_hldn_qty": str(_LISTED_SHARES * 30 // 100),
        "vi_cls_code": "N",
        "ovtm_vi_cls_code": "N",
        "last_ssts_cntg_qty": "0",
        "invt_caful_yn": "N",
        "mrkt_warn_cls_code": "00",
        "short_over_yn": "N",
        "sltr_yn": "N",
        "mang_issu_cls_code": "N",
    }
    # Whatever KIS documents and the sandbox has no model for is still present, as "0".
    return {name: values.get(name, "0") for name in PRICE_FIELDS}


def unlisted_price_output() -> dict[str, str]:
    """inquire-price's ``output`` for a code nothing is listed under: every documented field,
    text blank and numbers "0" (see the module docstring)."""
    return {name: "" if _TEXT_FIELD.fullmatch(name) else "0" for name in PRICE_FIELDS}


def inquire_price(state: SandboxState, call: GatewayCall) -> Reply:
    """The current price of FID_INPUT_ISCD at the sandbox's market time."""
    market = fields.text(call.params, "FID_COND_MRKT_DIV_CODE")
    if market not in MARKET_DIVISIONS:
        raise BusinessError(
            "OPSQ2002", f"입력값이 올바르지 않습니다. (FID_COND_MRKT_DIV_CODE={market!r})"
        )
    code = fields.stock_code(call.params, "FID_INPUT_ISCD")
    instrument = state.market.lookup(code)
    if instrument is None or not instrument.is_domestic:
        return success(output=unlisted_price_output()), ""
    return success(output=_listed_output(state.market, instrument)), ""


HANDLERS = {tables.INQUIRE_PRICE: inquire_price}
