"""Deterministic synthetic quotes: the same stock code always gets the same prices.

Prices derive from a SHA-256 of the code, so a test can predict nothing but can rely on
repeatability across runs and sandboxes; they respect KRX tick sizes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

_MIN_PRICE = 1_000
_MAX_PRICE = 500_000

# KRX tick sizes (호가단위): (upper bound exclusive, tick).
_TICKS = ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500))


def tick_size(price: int) -> int:
    """The KRX tick for a price level."""
    for bound, tick in _TICKS:
        if price < bound:
            return tick
    return 1_000


def round_to_tick(price: int) -> int:
    """Round ``price`` down to its tick, never below one tick."""
    tick = tick_size(price)
    return max(tick, price - price % tick)


@dataclass(frozen=True)
class Quote:
    """One synthetic day for a stock: previous close, open, high, low, last, volume."""

    code: str
    previous_close: int
    open: int
    high: int
    low: int
    last: int
    volume: int

    def as_kis_output(self) -> dict[str, str]:
        """The ``output`` of inquire-price, KIS field names, every value a string."""
        change = self.last - self.previous_close
        sign = "2" if change > 0 else "5" if change < 0 else "3"
        rate = f"{change * 100 / self.previous_close:.2f}"
        upper = round_to_tick(self.previous_close * 130 // 100)
        lower = round_to_tick(self.previous_close * 70 // 100)
        return {
            "iscd_stat_cls_code": "55",
            "marg_rate": "20.00",
            "rprs_mrkt_kor_name": "KOSPI",
            "bstp_kor_isnm": "샌드박스",
            "stck_prpr": str(self.last),
            "prdy_vrss": str(change),
            "prdy_vrss_sign": sign,
            "prdy_ctrt": rate,
            "stck_oprc": str(self.open),
            "stck_hgpr": str(self.high),
            "stck_lwpr": str(self.low),
            "stck_mxpr": str(upper),
            "stck_llam": str(lower),
            "stck_sdpr": str(self.previous_close),
            "acml_vol": str(self.volume),
            "acml_tr_pbmn": str(self.volume * self.last),
            "per": "10.00",
            "pbr": "1.00",
            "eps": str(self.last // 10),
            "bps": str(self.last),
            "w52_hgpr": str(upper),
            "w52_lwpr": str(lower),
            "hts_avls": str(self.last * 10_000 // 100_000_000),
            "stck_shrn_iscd": self.code,
        }


def quote(code: str) -> Quote:
    """The synthetic quote for a stock code (any string; validated by the caller)."""
    digest = hashlib.sha256(code.encode("utf-8")).digest()
    base = _MIN_PRICE + int.from_bytes(digest[:4], "big") % (_MAX_PRICE - _MIN_PRICE)
    previous_close = round_to_tick(base)
    tick = tick_size(previous_close)
    # Moves of up to +-20 ticks keep the day plausible and the numbers varied.
    move = (digest[4] % 41) - 20
    last = round_to_tick(max(_MIN_PRICE, previous_close + move * tick))
    open_ = round_to_tick(max(_MIN_PRICE, previous_close + ((digest[5] % 11) - 5) * tick))
    high = max(open_, last, previous_close) + (digest[6] % 5) * tick
    low = max(tick, min(open_, last, previous_close) - (digest[7] % 5) * tick)
    volume = 1_000 + int.from_bytes(digest[8:11], "big") % 5_000_000
    return Quote(code, previous_close, open_, high, low, last, volume)


_NAMES = {
    "005930": "삼성전자",
    "000660": "SK하이닉스",
    "035420": "NAVER",
    "035720": "카카오",
    "005380": "현대차",
    "051910": "LG화학",
}


def stock_name(code: str) -> str:
    """A display name: the real one for a few well-known codes, a made-up one otherwise."""
    return _NAMES.get(code, f"샌드박스{code}")
