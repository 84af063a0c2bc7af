"""The market calendar's pure core, shared by :class:`~.market.Market` and its async twin.

KIS's 국내휴장일조회 (``chk-holiday``) answers one row per day from ``BASS_DT`` on; its overview
asks for one call a day, because it runs on KIS's ledger service. So the days it answered are
kept as one compact entry, valid until midnight KST, in the client's token store (kind
:data:`~..tokens.store.REFERENCE_DATA`): every process and machine sharing the store (file,
Redis) reads the same entry, and a store lock makes the first of them the only one to ask KIS.

The entry's value has to pass the store's rules for a token (visible ASCII, at most 4,096
characters), so days are written as runs: ``1|<fetched on>|<first day><one hex digit per
day>.<...>``, each digit the four flags of :class:`DayInfo`. A calendar too long for that
keeps its latest days.

Field names come from the catalog's ``output`` block of ``chk-holiday`` and
``overseas-countries-holiday`` (:data:`DAY_FIELDS`, :data:`SETTLEMENT_FIELDS`; a test holds
them to the catalog).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from ..errors import KISProtocolError
from ..protocol.models import MAX_CREDENTIAL_LENGTH
from ..tokens.store import REFERENCE_DATA, TokenEntry, TokenKey
from .sessions import KST

__all__ = [
    "DAY_API",
    "DAY_FIELDS",
    "SETTLEMENT_API",
    "SETTLEMENT_FIELDS",
    "DayInfo",
    "Settlement",
    "calendar_key",
    "day_params",
    "decode",
    "encode",
    "parse_days",
    "parse_settlements",
    "settlement_params",
]

DAY_API = "chk-holiday"
SETTLEMENT_API = "overseas-countries-holiday"
FORMAT = "1"
#: The data-set label in the entry's key (the key's ``environment`` slot).
DATA_SET = "krxcalendar"

#: DayInfo attribute -> KIS field of chk-holiday's ``output``.
DAY_FIELDS = {
    "day": "bass_dt",
    "business_day": "bzdy_yn",
    "trading_day": "tr_day_yn",
    "open": "opnd_yn",
    "settlement_day": "sttl_day_yn",
}
#: Settlement attribute -> KIS field of countries-holiday's ``output``.
SETTLEMENT_FIELDS = {
    "product_type": "prdt_type_cd",
    "country": "natn_eng_abrv_cd",
    "market_name": "tr_mket_name",
    "local_settlement": "acpl_sttl_dt",
    "domestic_settlement": "dmst_sttl_dt",
}
# countries-holiday's product types (the catalog's description of prdt_type_cd) as KIS's
# order exchange codes.
_PRODUCT_MARKETS = {
    "512": "NASD",
    "513": "NYSE",
    "529": "AMEX",
    "515": "TKSE",
    "501": "SEHK",
    "543": "SEHK",
    "558": "SEHK",
    "507": "HASE",
    "508": "VNSE",
    "551": "SHAA",
    "552": "SZAA",
}
_FLAGS = ("business_day", "trading_day", "open", "settlement_day")


@dataclass(frozen=True)
class DayInfo:
    """One day of KRX's calendar as KIS states it.

    ``open`` is the one to trade by (KIS: "주문을 넣고자 할 경우 개장일여부를 사용"); the others say
    whether banks work, securities business (transfers) runs, and trades settle.
    """

    day: date
    business_day: bool
    trading_day: bool
    open: bool
    settlement_day: bool

    def digit(self) -> str:
        """The day's four flags as one hex digit (the cache's encoding)."""
        bits = sum(1 << index for index, name in enumerate(_FLAGS) if getattr(self, name))
        return format(bits, "x")

    @classmethod
    def from_digit(cls, day: date, digit: str) -> DayInfo:
        """The day :meth:`digit` wrote."""
        bits = int(digit, 16)
        flags = [bool(bits >> index & 1) for index in range(len(_FLAGS))]
        return cls(day, *flags)


@dataclass(frozen=True)
class Settlement:
    """When a trade made on ``trade_day`` in one overseas market settles, abroad and here."""

    market: str
    product_type: str
    country: str
    market_name: str
    trade_day: date
    local_settlement: date
    domestic_settlement: date


def _date(value: object, field: str) -> date:
    text = str(value or "")
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise KISProtocolError(f"{field} is not a YYYYMMDD date", excerpt=text[:16]) from None


def _flag(row: Mapping[str, Any], field: str) -> bool:
    value = row.get(field)
    if value not in ("Y", "N"):
        raise KISProtocolError(f"{field} is not Y or N", excerpt=str(value)[:16])
    return bool(value == "Y")


def _rows(body: Mapping[str, Any], api: str) -> list[Mapping[str, Any]]:
    rows = body.get("output")
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        raise KISProtocolError(f"{api} answered no list of rows in output")
    return rows


def day_params(day: date) -> dict[str, str]:
    """chk-holiday's query for the days from ``day`` (its paging keys are sent blank)."""
    return {"BASS_DT": day.strftime("%Y%m%d"), "CTX_AREA_NK": "", "CTX_AREA_FK": ""}


def settlement_params(day: date) -> dict[str, str]:
    """countries-holiday's query for trades on ``day``."""
    return {"TRAD_DT": day.strftime("%Y%m%d"), "CTX_AREA_NK": "", "CTX_AREA_FK": ""}


def parse_days(body: Mapping[str, Any]) -> dict[date, DayInfo]:
    """chk-holiday's rows by day; :class:`KISProtocolError` for a row that is not one."""
    days: dict[date, DayInfo] = {}
    for row in _rows(body, DAY_API):
        day = _date(row.get(DAY_FIELDS["day"]), DAY_FIELDS["day"])
        flags = {name: _flag(row, DAY_FIELDS[name]) for name in _FLAGS}
        days[day] = DayInfo(day, **flags)
    return days


def parse_settlements(body: Mapping[str, Any], trade_day: date) -> tuple[Settlement, ...]:
    """countries-holiday's rows; a product type KIS adds later keeps its code as the market."""
    found = []
    for row in _rows(body, SETTLEMENT_API):
        product = str(row.get(SETTLEMENT_FIELDS["product_type"], ""))
        found.append(
            Settlement(
                market=_PRODUCT_MARKETS.get(product, product),
                product_type=product,
                country=str(row.get(SETTLEMENT_FIELDS["country"], "")),
                market_name=str(row.get(SETTLEMENT_FIELDS["market_name"], "")),
                trade_day=trade_day,
                local_settlement=_date(
                    row.get(SETTLEMENT_FIELDS["local_settlement"]),
                    SETTLEMENT_FIELDS["local_settlement"],
                ),
                domestic_settlement=_date(
                    row.get(SETTLEMENT_FIELDS["domestic_settlement"]),
                    SETTLEMENT_FIELDS["domestic_settlement"],
                ),
            )
        )
    return tuple(found)


# --- the shared entry --------------------------------------------------------------------------


def calendar_key(base_url: str, app_key_fingerprint: str) -> TokenKey:
    """The store key of the calendar entry for one KIS domain and app key."""
    return TokenKey(REFERENCE_DATA, DATA_SET, base_url, app_key_fingerprint)


def _runs(days: Iterable[DayInfo]) -> list[str]:
    runs: list[str] = []
    previous: date | None = None
    for info in sorted(days, key=lambda item: item.day):
        if previous is not None and info.day == previous + timedelta(days=1):
            runs[-1] += info.digit()
        else:
            runs.append(info.day.strftime("%Y%m%d") + info.digit())
        previous = info.day
    return runs


def encode(days: Mapping[date, DayInfo], fetched_on: date) -> str:
    """The entry value for ``days`` fetched on ``fetched_on``; the latest days if too long."""
    kept = dict(days)
    while True:
        value = f"{FORMAT}|{fetched_on:%Y%m%d}|{'.'.join(_runs(kept.values()))}"
        if len(value) <= MAX_CREDENTIAL_LENGTH:
            return value
        for day in sorted(kept)[: max(1, len(kept) // 10)]:
            del kept[day]


def decode(value: str) -> tuple[date, dict[date, DayInfo]] | None:
    """The fetch day and days :func:`encode` wrote; None for a value it did not write."""
    try:
        version, fetched, runs = value.split("|")
        if version != FORMAT:
            return None
        fetched_on = datetime.strptime(fetched, "%Y%m%d").date()
        days: dict[date, DayInfo] = {}
        for run in filter(None, runs.split(".")):
            first = datetime.strptime(run[:8], "%Y%m%d").date()
            for offset, digit in enumerate(run[8:]):
                day = first + timedelta(days=offset)
                days[day] = DayInfo.from_digit(day, digit)
    except ValueError:
        return None
    return fetched_on, days


def entry_for(days: Mapping[date, DayInfo], now: datetime) -> TokenEntry:
    """The entry holding ``days`` fetched at ``now``: it expires at the next midnight KST."""
    today = now.astimezone(KST).date()
    midnight = datetime.combine(today + timedelta(days=1), time(0), KST)
    return TokenEntry(REFERENCE_DATA, issued_at=now, value=encode(days, today), expires_at=midnight)


def days_of(entry: TokenEntry | None, now: datetime) -> dict[date, DayInfo] | None:
    """The days of an entry fetched today (KST), or None when there is none or it is stale."""
    if entry is None or entry.value is None or entry.expires_at is None:
        return None
    if entry.expires_at <= now:
        return None
    decoded = decode(entry.value)
    if decoded is None or decoded[0] != now.astimezone(KST).date():
        return None
    return decoded[1]
