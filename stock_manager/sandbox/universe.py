"""The sandbox's listed instruments: real names, plausible late-2026 prices, KIS's market codes.

Only these codes are listed; any other code is unlisted and answered as KIS answers an unknown
code (see :mod:`stock_manager.sandbox.inquiry`). Prices are the previous close on
:data:`ANCHOR_DAY`; :mod:`stock_manager.sandbox.walk` moves them from there.

Choices where KIS or the exchanges publish nothing stable to copy:

* Derivative short codes are fixed, not derived from the anchor day: ``101W12`` (KOSPI200
  futures), ``105W12`` (mini), ``111W12``/``112W12`` (stock futures on 삼성전자/SK하이닉스) and
  ``201W12xxx``/``301W12xxx`` (KOSPI200 call/put, strike ``xxx``). They read like KIS's short
  codes and stay the same whatever day the sandbox plays.
* The two ETNs and the three KTB codes are sandbox-only (their names say so): real ETN short
  codes carry a ``Q`` prefix that KIS's six-character stock fields cannot take, and KTB ISINs
  roll every issue.
* Overseas futures are three CME Group contracts (E-mini S&P 500 ``ESZ26``, E-mini Nasdaq-100
  ``NQZ26``, WTI crude ``CLF27``) with CME's multipliers (50, 20, 1,000 USD per point), all under
  the market code ``CME`` as KIS's overseas futures APIs name the exchange.
* Board lots are KIS's where well known (100 in Tokyo, Hong Kong, Shanghai, Shenzhen, Hanoi and
  Ho Chi Minh for these names); 1 elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = [
    "ANCHOR_DAY",
    "DOMESTIC_KINDS",
    "KINDS",
    "MARKETS",
    "UNIVERSE",
    "Instrument",
    "domestic",
    "lookup",
]

MARKETS = (
    "KOSPI",
    "KOSDAQ",
    "NASD",
    "NYSE",
    "AMEX",
    "TKSE",
    "SEHK",
    "SHAA",
    "SZAA",
    "HASE",
    "VNSE",
    "KRX_FUTURES",
    "KRX_OPTIONS",
    "KRX_BONDS",
    "CME",
)
KINDS = (
    "stock",
    "etf",
    "etn",
    "overseas_stock",
    "index_future",
    "stock_future",
    "index_option",
    "bond",
    "overseas_future",
)
DOMESTIC_KINDS = frozenset({"stock", "etf", "etn"})
CURRENCIES = frozenset({"KRW", "USD", "JPY", "HKD", "CNY", "VND"})

#: The day whose previous close is each instrument's ``base_price`` (a KRX trading day).
ANCHOR_DAY = date(2026, 1, 2)


@dataclass(frozen=True)
class Instrument:
    """One listed instrument as KIS knows it."""

    code: str
    name: str
    name_en: str
    market: str
    kind: str
    currency: str
    base_price: Decimal
    lot: int = 1
    multiplier: int = 1

    def __post_init__(self) -> None:
        # The universe is data typed by hand: a typo should fail at import, not in a handler.
        if self.market not in MARKETS:
            raise ValueError(f"{self.code}: unknown market {self.market!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.code}: unknown kind {self.kind!r}")
        if self.currency not in CURRENCIES:
            raise ValueError(f"{self.code}: unknown currency {self.currency!r}")
        if self.base_price <= 0 or self.lot < 1 or self.multiplier < 1:
            raise ValueError(f"{self.code}: base_price, lot and multiplier must be positive")

    @property
    def is_domestic(self) -> bool:
        """A KOSPI/KOSDAQ stock, ETF or ETN (what the domestic-stock APIs serve)."""
        return self.kind in DOMESTIC_KINDS


def _krx(  # noqa: PLR0917 - one row of the table below, read positionally
    code: str, name: str, name_en: str, market: str, price: int, kind: str = "stock"
) -> Instrument:
    return Instrument(code, name, name_en, market, kind, "KRW", Decimal(price))


def _abroad(  # noqa: PLR0917 - one row of the table below, read positionally
    code: str, name: str, name_en: str, market: str, currency: str, price: str, lot: int = 1
) -> Instrument:
    return Instrument(code, name, name_en, market, "overseas_stock", currency, Decimal(price), lot)


def _cme(code: str, name: str, name_en: str, price: str, multiplier: int) -> Instrument:
    return Instrument(
        code, name, name_en, "CME", "overseas_future", "USD", Decimal(price), 1, multiplier
    )


UNIVERSE: tuple[Instrument, ...] = (
    # KOSPI stocks
    _krx("005930", "삼성전자", "Samsung Electronics", "KOSPI", 98_500),
    _krx("000660", "SK하이닉스", "SK hynix", "KOSPI", 560_000),
    _krx("005380", "현대차", "Hyundai Motor", "KOSPI", 265_000),
    _krx("035420", "NAVER", "NAVER", "KOSPI", 255_000),
    _krx("035720", "카카오", "Kakao", "KOSPI", 60_100),
    _krx("051910", "LG화학", "LG Chem", "KOSPI", 330_000),
    _krx("006400", "삼성SDI", "Samsung SDI", "KOSPI", 280_000),
    _krx("207940", "삼성바이오로직스", "Samsung Biologics", "KOSPI", 1_650_000),
    _krx("068270", "셀트리온", "Celltrion", "KOSPI", 185_000),
    _krx("105560", "KB금융", "KB Financial Group", "KOSPI", 118_000),
    _krx("000270", "기아", "Kia", "KOSPI", 115_000),
    _krx("012330", "현대모비스", "Hyundai Mobis", "KOSPI", 320_000),
    # KOSDAQ stocks (셀트리온헬스케어 merged into 셀트리온 in 2023: 휴젤 instead)
    _krx("247540", "에코프로비엠", "EcoPro BM", "KOSDAQ", 150_000),
    _krx("086520", "에코프로", "EcoPro", "KOSDAQ", 95_000),
    _krx("145020", "휴젤", "Hugel", "KOSDAQ", 310_000),
    _krx("196170", "알테오젠", "Alteogen", "KOSDAQ", 470_000),
    _krx("028300", "HLB", "HLB", "KOSDAQ", 48_500),
    _krx("263750", "펄어비스", "Pearl Abyss", "KOSDAQ", 33_000),
    _krx("293490", "카카오게임즈", "Kakao Games", "KOSDAQ", 16_500),
    # ETFs and (sandbox-only) ETNs, all on KOSPI
    _krx("069500", "KODEX 200", "KODEX 200", "KOSPI", 57_000, "etf"),
    _krx("102110", "TIGER 200", "TIGER 200", "KOSPI", 57_100, "etf"),
    _krx("122630", "KODEX 레버리지", "KODEX Leverage", "KOSPI", 45_000, "etf"),
    _krx("252670", "KODEX 200선물인버스2X", "KODEX 200 Futures Inverse 2X", "KOSPI", 1_015, "etf"),
    _krx(
        "590010",
        "샌드박스 레버리지 WTI원유 선물 ETN",
        "Sandbox Leveraged WTI ETN",
        "KOSPI",
        12_300,
        "etn",
    ),
    _krx(
        "590020",
        "샌드박스 인버스 KOSPI200 ETN",
        "Sandbox Inverse KOSPI200 ETN",
        "KOSPI",
        8_450,
        "etn",
    ),
    # US (KIS lists NYSE Arca under AMEX)
    _abroad("AAPL", "애플", "Apple", "NASD", "USD", "270.00"),
    _abroad("MSFT", "마이크로소프트", "Microsoft", "NASD", "USD", "510.00"),
    _abroad("NVDA", "엔비디아", "NVIDIA", "NASD", "USD", "185.00"),
    _abroad("TSLA", "테슬라", "Tesla", "NASD", "USD", "430.00"),
    _abroad("AMZN", "아마존닷컴", "Amazon.com", "NASD", "USD", "230.00"),
    _abroad("IBM", "IBM", "IBM", "NYSE", "USD", "300.00"),
    _abroad("KO", "코카콜라", "Coca-Cola", "NYSE", "USD", "70.00"),
    _abroad("JPM", "JP모간체이스", "JPMorgan Chase", "NYSE", "USD", "310.00"),
    _abroad("SPY", "SPDR S&P 500 ETF", "SPDR S&P 500 ETF Trust", "AMEX", "USD", "680.00"),
    # Asia
    _abroad("7203", "도요타자동차", "Toyota Motor", "TKSE", "JPY", "2900", 100),
    _abroad("6758", "소니그룹", "Sony Group", "TKSE", "JPY", "3500", 100),
    _abroad("00700", "텐센트", "Tencent Holdings", "SEHK", "HKD", "600.0", 100),
    _abroad("09988", "알리바바그룹", "Alibaba Group", "SEHK", "HKD", "150.0", 100),
    _abroad("600519", "귀주모태주", "Kweichow Moutai", "SHAA", "CNY", "1450.00", 100),
    _abroad("000858", "오량액", "Wuliangye Yibin", "SZAA", "CNY", "125.50", 100),
    _abroad("SHS", "사이공하노이증권", "Saigon-Hanoi Securities", "HASE", "VND", "15000", 100),
    _abroad(
        "PVS",
        "페트로베트남기술서비스",
        "PetroVietnam Technical Services",
        "HASE",
        "VND",
        "33000",
        100,
    ),
    _abroad("VNM", "비나밀크", "Vinamilk", "VNSE", "VND", "61000", 100),
    _abroad("VIC", "빈그룹", "Vingroup", "VNSE", "VND", "95000", 100),
    # KRX derivatives (fixed sandbox codes, see the module docstring)
    Instrument(
        "101W12",
        "코스피200 F 202612",
        "KOSPI200 Futures Dec 2026",
        "KRX_FUTURES",
        "index_future",
        "KRW",
        Decimal("565.00"),
        multiplier=250_000,
    ),
    Instrument(
        "105W12",
        "미니코스피200 F 202612",
        "Mini KOSPI200 Futures Dec 2026",
        "KRX_FUTURES",
        "index_future",
        "KRW",
        Decimal("565.00"),
        multiplier=50_000,
    ),
    Instrument(
        "111W12",
        "삼성전자 F 202612",
        "Samsung Electronics Futures Dec 2026",
        "KRX_FUTURES",
        "stock_future",
        "KRW",
        Decimal(99_000),
        multiplier=10,
    ),
    Instrument(
        "112W12",
        "SK하이닉스 F 202612",
        "SK hynix Futures Dec 2026",
        "KRX_FUTURES",
        "stock_future",
        "KRW",
        Decimal(562_000),
        multiplier=10,
    ),
    Instrument(
        "201W12560",
        "코스피200 C 202612 560.0",
        "KOSPI200 Call Dec 2026 560",
        "KRX_OPTIONS",
        "index_option",
        "KRW",
        Decimal("14.20"),
        multiplier=250_000,
    ),
    Instrument(
        "201W12570",
        "코스피200 C 202612 570.0",
        "KOSPI200 Call Dec 2026 570",
        "KRX_OPTIONS",
        "index_option",
        "KRW",
        Decimal("9.35"),
        multiplier=250_000,
    ),
    Instrument(
        "301W12560",
        "코스피200 P 202612 560.0",
        "KOSPI200 Put Dec 2026 560",
        "KRX_OPTIONS",
        "index_option",
        "KRW",
        Decimal("8.60"),
        multiplier=250_000,
    ),
    Instrument(
        "301W12550",
        "코스피200 P 202612 550.0",
        "KOSPI200 Put Dec 2026 550",
        "KRX_OPTIONS",
        "index_option",
        "KRW",
        Decimal("5.45"),
        multiplier=250_000,
    ),
    # CME Group futures as KIS's overseas futures APIs name them (OVRS_FUTR_FX_PDNO: root, month
    # code, two-digit year; exchange code "CME" for the whole group, NYMEX's crude included)
    _cme("ESZ26", "E-mini S&P 500 2612", "E-mini S&P 500 Dec 2026", "6950.00", 50),
    _cme("NQZ26", "E-mini 나스닥100 2612", "E-mini Nasdaq-100 Dec 2026", "25500.00", 20),
    _cme("CLF27", "WTI 원유 2701", "Crude Oil WTI Jan 2027", "62.00", 1_000),
    # KTB (sandbox-only codes), price per 10,000 won of face value
    Instrument(
        "KR103502GE97",
        "샌드박스 국고채 3년",
        "Sandbox KTB 3Y",
        "KRX_BONDS",
        "bond",
        "KRW",
        Decimal(9_985),
    ),
    Instrument(
        "KR103503GE96",
        "샌드박스 국고채 10년",
        "Sandbox KTB 10Y",
        "KRX_BONDS",
        "bond",
        "KRW",
        Decimal(9_870),
    ),
    Instrument(
        "KR103504GE95",
        "샌드박스 국고채 30년",
        "Sandbox KTB 30Y",
        "KRX_BONDS",
        "bond",
        "KRW",
        Decimal(9_640),
    ),
)

_BY_CODE: dict[str, tuple[Instrument, ...]] = {}
for _instrument in UNIVERSE:
    _BY_CODE[_instrument.code.upper()] = (*_BY_CODE.get(_instrument.code.upper(), ()), _instrument)


def lookup(code: str, market: str | None = None) -> Instrument | None:
    """The listed instrument with this code (tickers case-insensitive), or None if unlisted.

    ``market`` narrows the search to one of :data:`MARKETS` (a code may in principle be listed on
    two exchanges, such as ``000858`` in Shenzhen and a KRX code of the same digits).
    """
    if not isinstance(code, str):
        return None
    for instrument in _BY_CODE.get(code.strip().upper(), ()):
        if market is None or instrument.market == market:
            return instrument
    return None


def domestic(code: str) -> Instrument | None:
    """A listed KOSPI/KOSDAQ stock, ETF or ETN, or None."""
    for instrument in _BY_CODE.get(code.strip().upper() if isinstance(code, str) else "", ()):
        if instrument.is_domestic:
            return instrument
    return None
