"""``Symbols(client)`` / ``AsyncSymbols(client)``: name ↔ code lookup from KIS's master files.

The files are downloaded from KIS's download host (:data:`KIS_MASTER_URL`; a client configured
for a loopback sandbox downloads from the sandbox instead, which serves the same paths) and kept
zipped in ``<user cache dir>/stock-manager/symbols`` (platformdirs) or ``cache_dir``. A file is
downloaded again once a KST day: KIS rebuilds them each morning before the market opens. A
download that fails while an older copy exists keeps the older copy (a warning), since yesterday's
listings answer almost every lookup; with no copy at all the error is raised.

Lookups are by code (``005930``, ``AAPL``; case-insensitive) or by Korean or English name, exact
or contained, ignoring case and spaces. The index is one pure core (:class:`SymbolIndex`) shared
by both shells.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import platformdirs

from .._config_checks import is_loopback_host
from ..errors import KISProtocolError, KISTransportError, KISUsageError
from ..redaction import logger
from .master import MASTER_FILES, Symbol, parse_master
from .sessions import KST

if TYPE_CHECKING:
    from ..aio import AsyncKISRestClient
    from ..client import KISRestClient
    from ..config import KISConfig

__all__ = [
    "KIS_MASTER_URL",
    "AsyncSymbols",
    "SymbolIndex",
    "Symbols",
    "default_symbol_directory",
]

#: KIS's download host for master files (its sample repository's stocks_info/ scripts).
KIS_MASTER_URL = "https://new.real.download.dws.co.kr"
MASTER_PATH = "/common/master/"
#: A zipped master is at most a few MB; a reply far larger is not one.
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
#: The files loaded when none are named: KOSPI, KOSDAQ and every overseas stock market.
DEFAULT_FILES = tuple(MASTER_FILES)

Clock = Callable[[], datetime]


def default_symbol_directory() -> Path:
    """``<user cache dir>/stock-manager/symbols`` (platformdirs)."""
    return platformdirs.user_cache_path("stock-manager", appauthor=False) / "symbols"


def master_url_for(config: KISConfig) -> str:
    """KIS's download host, or the configured base URL when that is a loopback sandbox."""
    host = httpx.URL(config.rest_base_url).host
    return config.rest_base_url.rstrip("/") if is_loopback_host(host) else KIS_MASTER_URL


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


class SymbolIndex:
    """Symbols by code and by folded name; no I/O."""

    def __init__(self, symbols: Iterable[Symbol]) -> None:
        self.symbols = tuple(symbols)
        self._by_code: dict[str, list[Symbol]] = {}
        for symbol in self.symbols:
            self._by_code.setdefault(symbol.code.upper(), []).append(symbol)

    def get(self, code: str, market: str | None = None) -> Symbol | None:
        """The symbol listed under ``code`` (on ``market`` if given), or None."""
        for symbol in self._by_code.get(str(code).strip().upper(), ()):
            if market is None or symbol.market == market.upper():
                return symbol
        return None

    def find(self, name: str, *, exact: bool = False, market: str | None = None) -> list[Symbol]:
        """Symbols whose Korean or English name is ``name`` (``exact``) or contains it."""
        wanted = _fold(str(name))
        if not wanted:
            raise KISUsageError("name must not be blank")
        found = []
        for symbol in self.symbols:
            if market is not None and symbol.market != market.upper():
                continue
            names = [_fold(symbol.name), _fold(symbol.name_en)]
            if any(n and (n == wanted if exact else wanted in n) for n in names):
                found.append(symbol)
        # Exact matches first, then shorter names: "삼성전자" before "삼성전자우".
        found.sort(key=lambda s: (_fold(s.name) != wanted and _fold(s.name_en) != wanted,
                                  len(s.name)))  # fmt: skip
        return found


class _Disk:
    """The zipped masters on disk and the once-a-KST-day refresh rule."""

    def __init__(self, directory: Path, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock

    def path(self, name: str) -> Path:
        return self.directory / name

    def fresh(self, name: str) -> bool:
        try:
            written = os.stat(self.path(name)).st_mtime
        except OSError:
            return False
        today = self.clock().astimezone(KST).date()
        return datetime.fromtimestamp(written, KST).date() == today

    def read(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except OSError:
            return None

    def write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, self.path(name))
            # The refresh rule reads the file's time: stamp it with the clock's now.
            stamp = self.clock().timestamp()
            os.utime(self.path(name), (stamp, stamp))
        finally:
            with suppress(OSError):
                os.unlink(temporary)


def _check_names(files: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in files if name not in MASTER_FILES]
    if unknown:
        raise KISUsageError(f"unknown master files {unknown}: use names of MASTER_FILES")
    return tuple(files)


def _checked_reply(name: str, response: httpx.Response) -> bytes:
    if response.status_code != 200:
        raise KISProtocolError(
            f"the master file {name} was not served", status_code=response.status_code
        )
    if len(response.content) > MAX_DOWNLOAD_BYTES:
        raise KISProtocolError(f"the master file {name} is larger than {MAX_DOWNLOAD_BYTES} bytes")
    parse_master(name, response.content)  # a damaged file never replaces a good copy
    return response.content


class _Base:
    def __init__(
        self,
        config: KISConfig,
        *,
        base_url: str | None,
        cache_dir: Path | str | None,
        files: Sequence[str],
        clock: Clock | None,
    ) -> None:
        self.base_url = (base_url or master_url_for(config)).rstrip("/")
        self.files = _check_names(files)
        directory = Path(cache_dir).expanduser() if cache_dir else default_symbol_directory()
        self._disk = _Disk(directory, clock or (lambda: datetime.now(UTC)))
        self._timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
        self._index: SymbolIndex | None = None

    @property
    def cache_dir(self) -> Path:
        """Where the zipped masters are kept."""
        return self._disk.directory

    def url(self, name: str) -> str:
        """Where master file ``name`` is downloaded from."""
        return f"{self.base_url}{MASTER_PATH}{name}"

    def _stale(self, force: bool) -> list[str]:
        return [name for name in self.files if force or not self._disk.fresh(name)]

    def _fallback(self, name: str, error: Exception) -> None:
        if self._disk.read(name) is None:
            raise error
        logger.warning("master file %s not refreshed (%s); using the cached copy", name, error)

    def _build(self) -> SymbolIndex:
        symbols: list[Symbol] = []
        for name in self.files:
            data = self._disk.read(name)
            if data is not None:
                symbols.extend(parse_master(name, data))
        self._index = SymbolIndex(symbols)
        return self._index

    def _current(self) -> SymbolIndex | None:
        index = self._index
        if index is None or any(not self._disk.fresh(name) for name in self.files):
            return None
        return index


class Symbols(_Base):
    """Symbol lookup for a :class:`KISRestClient`'s domain (or ``base_url``).

    ``files`` names the masters to load (default all of :data:`~.master.MASTER_FILES`);
    ``clock`` stands in for the time that decides the daily refresh.
    """

    def __init__(
        self,
        client: KISRestClient,
        *,
        base_url: str | None = None,
        cache_dir: Path | str | None = None,
        files: Sequence[str] = DEFAULT_FILES,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            client.config, base_url=base_url, cache_dir=cache_dir, files=files, clock=clock
        )
        self.client = client

    def refresh(self, *, force: bool = False) -> SymbolIndex:
        """Download the masters not yet fetched today (every one with ``force``); re-index."""
        stale = self._stale(force)
        if stale:
            with httpx.Client(timeout=self._timeout, follow_redirects=False) as http:
                for name in stale:
                    try:
                        data = _checked_reply(name, http.get(self.url(name)))
                    except httpx.HTTPError as exc:
                        self._fallback(name, KISTransportError(f"{name}: {type(exc).__name__}"))
                    except KISProtocolError as exc:
                        self._fallback(name, exc)
                    else:
                        self._disk.write(name, data)
        return self._build()

    def index(self) -> SymbolIndex:
        """Today's index, downloading and parsing what is missing or stale."""
        return self._current() or self.refresh()

    def get(self, code: str, market: str | None = None) -> Symbol | None:
        """The symbol listed under ``code`` (on ``market`` if given), or None."""
        return self.index().get(code, market)

    def find(self, name: str, *, exact: bool = False, market: str | None = None) -> list[Symbol]:
        """Symbols whose Korean or English name is, or contains, ``name``."""
        return self.index().find(name, exact=exact, market=market)


class AsyncSymbols(_Base):
    """:class:`Symbols` for an :class:`AsyncKISRestClient`: downloads awaited, disk in a thread."""

    def __init__(
        self,
        client: AsyncKISRestClient,
        *,
        base_url: str | None = None,
        cache_dir: Path | str | None = None,
        files: Sequence[str] = DEFAULT_FILES,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            client.config, base_url=base_url, cache_dir=cache_dir, files=files, clock=clock
        )
        self.client = client

    async def refresh(self, *, force: bool = False) -> SymbolIndex:
        """See :meth:`Symbols.refresh`."""
        stale = await asyncio.to_thread(self._stale, force)
        if stale:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                for name in stale:
                    try:
                        data = _checked_reply(name, await http.get(self.url(name)))
                    except httpx.HTTPError as exc:
                        error = KISTransportError(f"{name}: {type(exc).__name__}")
                        await asyncio.to_thread(self._fallback, name, error)
                    except KISProtocolError as exc:
                        await asyncio.to_thread(self._fallback, name, exc)
                    else:
                        await asyncio.to_thread(self._disk.write, name, data)
        return await asyncio.to_thread(self._build)

    async def index(self) -> SymbolIndex:
        """See :meth:`Symbols.index`."""
        return await asyncio.to_thread(self._current) or await self.refresh()

    async def get(self, code: str, market: str | None = None) -> Symbol | None:
        """See :meth:`Symbols.get`."""
        return (await self.index()).get(code, market)

    async def find(
        self, name: str, *, exact: bool = False, market: str | None = None
    ) -> list[Symbol]:
        """See :meth:`Symbols.find`."""
        return (await self.index()).find(name, exact=exact, market=market)
