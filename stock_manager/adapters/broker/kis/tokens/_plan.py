"""The decisions behind every token manager, written once for threads and for asyncio.

:class:`TokenCache` holds a manager's settings and its in-memory token;
:meth:`TokenCache.refresh_plan` is the cold path as a generator of steps (load the stored
entry, issue, sleep, save) that :class:`~.managers.TokenManager` performs with blocking calls
and :class:`~.managers.AsyncTokenManager` with ``await`` (through the drivers of
:mod:`.._drive`), both while holding the store's lock for the key. The managers differ only in
how they wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from .._drive import Effect, Effects, Sleep, ask
from ..errors import KISTokenIssueThrottledError, KISTokenStoreError
from ..protocol.models import AccessToken
from ..redaction import logger, register_secret
from .store import (
    ACCESS_TOKEN,
    MemoryTokenStore,
    TokenEntry,
    TokenKey,
    TokenStore,
    token_lock_timeout,
)

if TYPE_CHECKING:
    from ..config import KISConfig

__all__ = [
    "Issue",
    "Load",
    "Plan",
    "Save",
    "TokenCache",
    "TokenSettings",
    "entry_of",
    "settings_from",
    "token_of",
    "utcnow",
]

# The key of a manager made without one: its private memory store holds nothing else.
_PRIVATE_KEY = TokenKey(ACCESS_TOKEN, "local", "", "private")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Load(Effect[TokenEntry | None]):
    """Read the stored entry of the key; the result is a ``TokenEntry`` or None."""


@dataclass(frozen=True)
class Issue(Effect[AccessToken]):
    """Ask KIS for a new token; the result is an ``AccessToken`` (or KIS's error)."""


@dataclass(frozen=True)
class Save(Effect[bool]):
    """Store ``entry`` through the lease; the result is False if the lease was lost."""

    entry: TokenEntry


#: The cold path: yields :class:`Load`, :class:`Issue`, :class:`Save` and :class:`Sleep`.
Plan = Effects[Effect[Any], AccessToken]


class TokenSettings(TypedDict):
    """The timing knobs of a token manager, as :func:`settings_from` reads them from a config."""

    refresh_margin: float
    issue_interval: float
    max_wait: float
    lock_timeout: float


def settings_from(config: KISConfig) -> TokenSettings:
    """The token settings of a :class:`~..config.KISConfig`."""
    return TokenSettings(
        refresh_margin=config.token_refresh_margin,
        issue_interval=config.token_issue_interval,
        max_wait=config.token_max_wait,
        lock_timeout=token_lock_timeout(config),
    )


class _Held(NamedTuple):
    token: AccessToken
    fresh_until: datetime  # until then the hot path hands the token out without a look


def token_of(entry: TokenEntry) -> AccessToken | None:
    """The token a stored entry holds (None for a tombstone)."""
    if entry.value is None or entry.expires_at is None:
        return None
    register_secret(entry.value)  # read from a store: mask it in logs like a fresh one
    return AccessToken(entry.value, entry.expires_at, entry.issued_at, entry.token_type)


def entry_of(key: TokenKey, token: AccessToken) -> TokenEntry:
    """The entry that stores ``token`` under ``key``."""
    return TokenEntry(key.kind, token.issued_at, token.value, token.expires_at, token.token_type)


class TokenCache:
    """Settings, the in-memory token and the cold-path decisions shared by both managers."""

    def __init__(
        self,
        *,
        store: TokenStore | None,
        key: TokenKey | Callable[[], TokenKey] | None,
        refresh_margin: float,
        issue_interval: float,
        max_wait: float,
        lock_timeout: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.store: TokenStore = store if store is not None else MemoryTokenStore()
        # A callable key is resolved on the first cold path: it needs the app key, which a
        # client made for catalog look-ups only does not have.
        self._key = key if key is not None else _PRIVATE_KEY
        self.refresh_margin = refresh_margin
        self.issue_interval = issue_interval
        self.max_wait = max_wait
        self.lock_timeout = lock_timeout
        self._clock = clock
        self._held: _Held | None = None
        # The last value KIS rejected: never adopted again from a store that lags behind.
        self._rejected: str | None = None

    @property
    def key(self) -> TokenKey:
        """The store key of this manager's credential."""
        if not isinstance(self._key, TokenKey):
            self._key = self._key()
        return self._key

    @property
    def current(self) -> AccessToken | None:
        """The token held in memory now, without issuing or loading one."""
        held = self._held
        return held.token if held is not None else None

    def _fresh(self) -> AccessToken | None:
        """The hot path: the held token if it needs no refresh (no I/O, no lock)."""
        held = self._held
        if held is not None and self._clock() < held.fresh_until:
            return held.token
        return None

    def _hold(self, token: AccessToken, fresh_until: datetime | None = None) -> AccessToken:
        if fresh_until is None:
            fresh_until = token.expires_at - timedelta(seconds=self.refresh_margin)
        self._held = _Held(token, fresh_until)
        return token

    def _drop(self, value: str) -> bool:
        """Compare-and-delete in memory: forget the held token only if it is ``value``."""
        held = self._held
        if held is None or held.token.value != value:
            return False
        self._held = None
        self._rejected = value
        return True

    def _valid(self, token: AccessToken | None, margin: float = 0.0) -> AccessToken | None:
        if token is None or token.value == self._rejected:
            return None
        return None if token.expires_within(margin, self._clock()) else token

    def _best(self, entry: TokenEntry | None) -> AccessToken | None:
        """The unexpired token with the later expiry: the one in memory or the stored one."""
        candidates = [self._valid(self.current), self._valid(token_of(entry) if entry else None)]
        found = [token for token in candidates if token is not None]
        return max(found, key=lambda token: token.expires_at) if found else None

    def _pause_after_refusal(self, entry: TokenEntry | None) -> float:
        """Seconds until KIS allows the next issuance, from the last one we know of."""
        known = [token.issued_at for token in (entry, self.current) if token is not None]
        if known:
            pause = (
                max(known) + timedelta(seconds=self.issue_interval) - self._clock()
            ).total_seconds()
            if 0 < pause <= self.issue_interval:
                return pause
        # Someone we do not know of issued, at most one interval ago.
        return self.issue_interval

    def refresh_plan(self) -> Plan:
        """The cold path, run under the store's lock for the key.

        Adopt a token another thread or process stored meanwhile; otherwise issue one. If KIS
        refuses (EGW00133), keep a token that is still valid, or wait until the interval since
        the last known issuance has passed (at most ``max_wait``), look again, and issue once
        more. Never more than two issuance attempts.
        """
        entry = yield from ask(Load())
        candidate = self._best(entry)
        if candidate is not None and self._valid(candidate, self.refresh_margin):
            return self._hold(candidate)
        try:
            token = yield from ask(Issue())
        except KISTokenIssueThrottledError as refused:
            pause = self._pause_after_refusal(entry)
            if candidate is not None:
                logger.info(
                    "%s: KIS refused an early refresh (EGW00133); keeping the current one, "
                    "valid until %s, and trying again in %.1f s",
                    self.key.name,
                    candidate.expires_at.isoformat(),
                    pause,
                )
                until = min(candidate.expires_at, self._clock() + timedelta(seconds=pause))
                return self._hold(candidate, until)
            if pause > self.max_wait:
                refused.add_note(
                    f"the next issuance is allowed in {pause:.0f} s, more than token_max_wait="
                    f"{self.max_wait:g} s (KIS_TOKEN_MAX_WAIT)"
                )
                raise
            logger.warning(
                "%s: KIS allows one issuance per %g s per app key (EGW00133); waiting %.1f s",
                self.key.name,
                self.issue_interval,
                pause,
            )
            yield from ask(Sleep(pause))  # KIS refused an issuance this soon
            entry = yield from ask(Load())
            candidate = self._best(entry)
            if candidate is not None and self._valid(candidate, self.refresh_margin):
                return self._hold(candidate)
            token = yield from ask(Issue())
        logger.info("%s issued, expires at %s", self.key.name, token.expires_at.isoformat())
        try:
            if not (yield from ask(Save(entry_of(self.key, token)))):
                logger.warning(
                    "%s: the store lock was lost; the new token is kept in memory only",
                    self.key.name,
                )
        except KISTokenStoreError as exc:
            logger.warning("%s: the new token is kept in memory only: %s", self.key.name, exc)
        return self._hold(token)
