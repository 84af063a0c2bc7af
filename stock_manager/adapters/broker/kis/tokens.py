"""Access tokens: the value KIS issued, when it expires, and who holds the current one.

:class:`TokenManager` (threads) and :class:`AsyncTokenManager` (asyncio tasks) keep the current
token in memory, issue one through a callable when there is none or it is within
``refresh_margin`` seconds of expiry, and let a caller drop a token KIS rejected. Issuance runs
under one lock, so concurrent first calls issue once and the others reuse the result.

The client only ever calls :meth:`get`, :meth:`invalidate` and :meth:`revoke`; persistent stores
and cross-process locking plug in behind those three.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .errors import KISInvalidTokenError
from .redaction import logger

__all__ = ["AccessToken", "AsyncTokenManager", "TokenManager"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AccessToken:
    """An OAuth access token; ``value`` never appears in its repr."""

    value: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)

    def __post_init__(self) -> None:
        for name in ("expires_at", "issued_at"):
            stamp: datetime = getattr(self, name)
            if stamp.tzinfo is None:
                raise ValueError(f"AccessToken.{name} must be timezone-aware")
            object.__setattr__(self, name, stamp.astimezone(UTC))

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """True when the token is expired or will be within ``seconds``."""
        return (now or _utcnow()) + timedelta(seconds=seconds) >= self.expires_at

    @property
    def authorization(self) -> str:
        """The ``authorization`` header value."""
        return f"Bearer {self.value}"


class TokenManager:
    """Holds the current access token for a thread-safe client; issues one only when needed."""

    def __init__(
        self,
        issue: Callable[[], AccessToken],
        revoke: Callable[[AccessToken], None] | None = None,
        *,
        refresh_margin: float = 600.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._issue = issue
        self._revoke = revoke
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._current: AccessToken | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> AccessToken | None:
        """The token held now, without issuing one."""
        return self._current

    def get(self) -> AccessToken:
        """The current token, issuing a new one if there is none or it is about to expire."""
        token = self._current
        if token is not None and not token.expires_within(self._refresh_margin, self._clock()):
            return token
        with self._lock:
            token = self._current
            if token is None or token.expires_within(self._refresh_margin, self._clock()):
                token = self._issue()
                self._current = token
                logger.debug("access token issued, expires at %s", token.expires_at.isoformat())
            return token

    def invalidate(self, value: str) -> bool:
        """Drop the token ``value`` if it is still the current one (compare-and-delete)."""
        with self._lock:
            if self._current is not None and self._current.value == value:
                self._current = None
                logger.debug("access token dropped after KIS rejected it")
                return True
            return False

    def revoke(self) -> bool:
        """Revoke the current token at KIS, then forget it; False if there was none.

        A transport failure leaves the token in place (it may still be valid at KIS).
        """
        with self._lock:
            token = self._current
            if token is None:
                return False
            if self._revoke is not None:
                # If KIS no longer honours it, forgetting it is all that is left to do.
                with contextlib.suppress(KISInvalidTokenError):
                    self._revoke(token)
            self._current = None
            return True


class AsyncTokenManager:
    """:class:`TokenManager` for asyncio: the same rules under an :class:`asyncio.Lock`."""

    def __init__(
        self,
        issue: Callable[[], Awaitable[AccessToken]],
        revoke: Callable[[AccessToken], Awaitable[None]] | None = None,
        *,
        refresh_margin: float = 600.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._issue = issue
        self._revoke = revoke
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._current: AccessToken | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> AccessToken | None:
        """The token held now, without issuing one."""
        return self._current

    async def get(self) -> AccessToken:
        """The current token, issuing a new one if there is none or it is about to expire."""
        token = self._current
        if token is not None and not token.expires_within(self._refresh_margin, self._clock()):
            return token
        async with self._lock:
            token = self._current
            if token is None or token.expires_within(self._refresh_margin, self._clock()):
                token = await self._issue()
                self._current = token
                logger.debug("access token issued, expires at %s", token.expires_at.isoformat())
            return token

    async def invalidate(self, value: str) -> bool:
        """Drop the token ``value`` if it is still the current one (compare-and-delete)."""
        async with self._lock:
            if self._current is not None and self._current.value == value:
                self._current = None
                return True
            return False

    async def revoke(self) -> bool:
        """Revoke the current token at KIS, then forget it; False if there was none.

        A transport failure leaves the token in place (it may still be valid at KIS).
        """
        async with self._lock:
            token = self._current
            if token is None:
                return False
            if self._revoke is not None:
                # If KIS no longer honours it, forgetting it is all that is left to do.
                with contextlib.suppress(KISInvalidTokenError):
                    await self._revoke(token)
            self._current = None
            return True
