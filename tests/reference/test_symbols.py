"""Symbols(client): KIS's master files downloaded from the sandbox, parsed, cached on disk for a
KST day, and looked up by code, Korean name and English name; the parser against lines in the
layouts of KIS's sample repository (stocks_info/*.h)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.aio import AsyncKISRestClient
from stock_manager.adapters.broker.kis.errors import KISProtocolError, KISUsageError
from stock_manager.adapters.broker.kis.reference import AsyncSymbols, Symbols, parse_master
from stock_manager.adapters.broker.kis.reference.master import (
    KOSDAQ_TAIL,
    KOSPI_TAIL,
    parse_domestic,
    parse_overseas,
)
from stock_manager.adapters.broker.kis.reference.symbols import KIS_MASTER_URL, master_url_for
from stock_manager.sandbox import KISSandbox

ConfigFor = Callable[..., KISConfig]
SandboxFactory = Callable[..., KISSandbox]
KST = ZoneInfo("Asia/Seoul")
FILES = ("kospi_code.mst.zip", "kosdaq_code.mst.zip", "nasmst.cod.zip")

# The KOSPI tail of 종목마스터정보(코스피).h, field by field (bytes), written out here apart from
# the parser's table so that a slip in either is caught: 5 codes, 26 one-byte flags, then the
# price, lots, states, dates and financials down to 대주가능여부.
KOSPI_WIDTHS_FROM_HEADER = (
    [2, 1, 4, 4, 4] + [1] * 26 + [9, 5, 5, 1, 1, 1, 2, 1, 1, 1, 2, 2, 2, 3, 1, 3, 12, 12, 8, 15,
    21, 2, 7, 1, 1, 1, 1, 1, 9, 9, 9, 5, 9, 8, 9, 3, 1, 1, 1]
)  # fmt: skip


def kospi_line() -> bytes:
    """삼성전자 as a KOSPI master line: 9-byte code, ISIN, the name padded to 40 bytes of cp949,
    then the tail with the values the header describes (ST 주권, 기준가 9 digits, 매매수량단위
    5 digits, 거래정지 N, 상장일자 YYYYMMDD, ...)."""
    values = {
        0: "ST", 1: "1", 2: "0027", 3: "0013", 4: "0000", 10: "Y",
        31: "000272000", 32: "00001", 33: "00001", 34: "N", 35: "N", 36: "N", 37: "00",
        49: "19750611", 50: "000005846278", 53: "0000000", 58: "Y",
    }  # fmt: skip
    tail = "".join(values.get(i, "").ljust(w) for i, w in enumerate(KOSPI_WIDTHS_FROM_HEADER))
    name = "삼성전자".encode("cp949").ljust(40)
    return b"005930   KR7005930003" + name + tail.encode("ascii")


def test_parser_layouts_match_the_headers() -> None:
    assert [w for _n, w in KOSPI_TAIL] == KOSPI_WIDTHS_FROM_HEADER
    assert sum(w for _n, w in KOSPI_TAIL) == 227
    assert sum(w for _n, w in KOSDAQ_TAIL) == 221


def test_parser_reads_a_kospi_line_of_the_documented_layout() -> None:
    line = kospi_line()
    assert len(line) == 9 + 12 + 40 + 227
    (symbol,) = parse_domestic(line + b"\n", "KOSPI")
    assert (symbol.code, symbol.standard_code, symbol.name) == (
        "005930",
        "KR7005930003",
        "삼성전자",
    )
    assert symbol.kind == "ST" and symbol.market == "KOSPI" and symbol.currency == "KRW"
    assert symbol.base_price == Decimal(272000)
    assert symbol.lot == 1
    assert symbol.raw["bstp_larg_div_code"] == "0027"
    assert symbol.raw["kospi50_issu_yn"] == "Y"
    assert symbol.raw["trht_yn"] == "N"
    assert symbol.raw["stck_lstn_date"] == "19750611"
    assert symbol.raw["kospi_issu_yn"] == "Y"


def test_parser_reads_an_overseas_line_of_the_documented_layout() -> None:
    columns = ["US", "NAS", "NAS", "NASDAQ", "AAPL", "DNASAAPL", "애플", "APPLE INC", "2",
               "USD", "4", "", "270.0000", "1", "1", "0930", "1600", "N", "", "", "0", "", "",
               ""]  # fmt: skip
    (symbol,) = parse_overseas("\t".join(columns).encode("cp949") + b"\r\n", "NASD")
    assert (symbol.code, symbol.name, symbol.name_en) == ("AAPL", "애플", "APPLE INC")
    assert symbol.base_price == Decimal("270.0000") and symbol.currency == "USD"
    assert symbol.raw["rsym"] == "DNASAAPL" and symbol.kind == "2"


def test_parser_refuses_what_does_not_fit() -> None:
    with pytest.raises(KISProtocolError, match="line 1 does not fit the KOSPI layout"):
        parse_domestic("005930   KR7005930003삼성전자\n".encode("cp949"), "KOSPI")
    with pytest.raises(KISProtocolError, match="not a readable zip"):
        parse_master("kospi_code.mst.zip", b"<html>maintenance</html>")
    with pytest.raises(KISProtocolError, match="columns"):
        parse_overseas(b"US\tNAS\n", "NASD")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.mst", b"")
        archive.writestr("b.mst", b"")
    with pytest.raises(KISProtocolError, match="2 files"):
        parse_master("kospi_code.mst.zip", buffer.getvalue())


def master_downloads(sandbox: KISSandbox) -> int:
    return int(sandbox.stats()["requests"].get("(other)", 0))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 10, 7, 0, tzinfo=KST)

    def __call__(self) -> datetime:
        return self.now


def test_symbols_download_parse_cache_and_lookup(
    sandbox_factory: SandboxFactory, config_for: ConfigFor, tmp_path: Path
) -> None:
    sandbox = sandbox_factory("real")
    clock = Clock()
    with KISRestClient(config_for(sandbox)) as client:
        assert master_url_for(client.config) == sandbox.base_url  # loopback: the sandbox serves
        symbols = Symbols(client, cache_dir=tmp_path, files=FILES, clock=clock)
        samsung = symbols.get("005930")
        assert samsung is not None and samsung.name == "삼성전자" and samsung.market == "KOSPI"
        assert samsung.standard_code == "KR7005930003"
        assert symbols.get("247540") is not None  # KOSDAQ
        assert symbols.get("aapl", market="NASD") is not None
        assert symbols.get("999999") is None
        assert [s.code for s in symbols.find("삼성전자", exact=True)] == ["005930"]
        assert {s.code for s in symbols.find("삼성")} >= {"005930", "006400", "207940"}
        assert [s.code for s in symbols.find("apple", exact=True)] == ["AAPL"]  # English name
        assert "NVDA" in {s.code for s in symbols.find("NVID")}
        assert {s.code for s in symbols.find("카카오")} == {"035720", "293490"}
        assert master_downloads(sandbox) == 3
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)

        # Another instance (another process) the same day reads the disk, not the server.
        again = Symbols(client, cache_dir=tmp_path, files=FILES, clock=clock)
        assert again.get("000660") is not None
        assert master_downloads(sandbox) == 3

        clock.now += timedelta(days=1)  # the next KST day: every file is fetched again
        assert symbols.get("005930") is not None
        assert master_downloads(sandbox) == 6


def test_a_failed_refresh_keeps_yesterdays_copy(
    sandbox_factory: SandboxFactory, config_for: ConfigFor, tmp_path: Path
) -> None:
    sandbox = sandbox_factory("real")
    clock = Clock()
    with KISRestClient(config_for(sandbox)) as client:
        Symbols(client, cache_dir=tmp_path, files=FILES[:1], clock=clock).refresh()
        clock.now += timedelta(days=1)
        gone = Symbols(
            client, base_url=sandbox.base_url + "/missing", cache_dir=tmp_path, files=FILES[:1],
            clock=clock,
        )  # fmt: skip
        assert gone.get("005930") is not None  # the server answered 404: the copy stands
        with pytest.raises(KISProtocolError, match="was not served"):
            Symbols(
                client, base_url=sandbox.base_url + "/missing", cache_dir=tmp_path / "empty",
                files=FILES[:1], clock=clock,
            ).get("005930")  # fmt: skip


def test_defaults_and_bad_input(config_for: ConfigFor, tmp_path: Path) -> None:
    config = KISConfig(_env_file=None, kis_app_key="k" * 36, kis_app_secret="s" * 180)
    assert master_url_for(config) == KIS_MASTER_URL
    with KISRestClient(config) as client:
        with pytest.raises(KISUsageError, match="unknown master files"):
            Symbols(client, files=["nope.zip"])
        symbols = Symbols(client, cache_dir=tmp_path, files=())
        assert symbols.url("kospi_code.mst.zip") == (
            "https://new.real.download.dws.co.kr/common/master/kospi_code.mst.zip"
        )
        with pytest.raises(KISUsageError, match="blank"):
            symbols.find("  ")


@pytest.mark.anyio
async def test_async_symbols(
    sandbox_factory: SandboxFactory, config_for: ConfigFor, tmp_path: Path
) -> None:
    sandbox = sandbox_factory("real")
    async with AsyncKISRestClient(config_for(sandbox)) as client:
        symbols = AsyncSymbols(client, cache_dir=tmp_path, files=FILES, clock=Clock())
        hynix = await symbols.get("000660")
        assert hynix is not None and hynix.name == "SK하이닉스"
        assert [s.code for s in await symbols.find("Tesla", exact=True)] == ["TSLA"]
        assert (await symbols.find("SK하이닉스", exact=True))[0].lot == 1
    assert master_downloads(sandbox) == 3
