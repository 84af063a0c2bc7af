"""Access tokens and approval keys: one issuance per key, shared by threads, tasks and processes.

:class:`TokenManager` (threads) and :class:`AsyncTokenManager` (asyncio tasks) hand out the
current credential of one :class:`~.store.TokenKey`:

* **Hot path**: a token held in memory and not within ``refresh_margin`` of its expiry is
  returned at once: no file I/O, no cross-process lock.
* **Cold path** (first call, refresh, after a rejection), single flight: the manager's lock
  (thread or task), then the store's lock for the key (other processes), then the store is read
  again, since another process may have issued meanwhile; only if it still holds nothing
  usable is KIS asked, and the new token is saved before the locks are released.
* **EGW00133** (KIS issues one token per minute per app key): wait until ``issue_interval``
  after the last known issuance, at most ``max_wait`` seconds (else
  :class:`KISTokenIssueThrottledError`), look in the store again and try once more.
* :meth:`invalidate` is compare-and-delete in memory and in the store, so many callers failing
  with the same token cause one reissue; :meth:`revoke` revokes at KIS and tombstones the entry.

>>> manager = TokenManager.from_config(config, issue, revoke, store=make_token_store(config))
>>> manager.get().authorization
'Bearer eyJ...'
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._drive import Effect, Sleep, arun, run
from ..errors import KISInvalidTokenError, KISTokenStoreError
from ..protocol.models import AccessToken
from ..redaction import logger
from ._plan import Issue, Load, Plan, Save, TokenCache, settings_from, token_of, utcnow
from .store import (
    ACCESS_TOKEN,
    TokenKey,
    TokenKind,
    TokenLease,
    TokenStore,
)

if TYPE_CHECKING:
    from ..config import KISConfig

__all__ = ["AsyncTokenManager", "TokenManager"]


class TokenManager(TokenCache):
    """The current credential of one key for a thread-safe client; issues only when needed.

    ``issue`` asks KIS for a new token, ``revoke`` revokes one. Without a ``store`` the manager
    keeps its token in a private :class:`~.store.MemoryTokenStore`.
    """

    def __init__(
        self,
        issue: Callable[[], AccessToken],
        revoke: Callable[[AccessToken], None] | None = None,
        *,
        store: TokenStore | None = None,
        key: TokenKey | Callable[[], TokenKey] | None = None,
        refresh_margin: float = 600.0,
        issue_interval: float = 60.0,
        max_wait: float = 90.0,
        lock_timeout: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            store=store,
            key=key,
            refresh_margin=refresh_margin,
            issue_interval=issue_interval,
            max_wait=max_wait,
            lock_timeout=lock_timeout,
            clock=clock,
        )
        self._issue = issue
        self._revoke = revoke
        self._sleep = sleep
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        config: KISConfig,
        issue: Callable[[], AccessToken],
        revoke: Callable[[AccessToken], None] | None = None,
        *,
        store: TokenStore,
        kind: TokenKind = ACCESS_TOKEN,
    ) -> TokenManager:
        """A manager for ``kind`` with the config's key and ``token_*`` settings."""

        def key() -> TokenKey:
            return TokenKey.for_config(config, kind)

        return cls(issue, revoke, store=store, key=key, **settings_from(config))

    def get(self) -> AccessToken:
        """The current token: held, stored by someone else, or newly issued."""
        token = self._fresh()
        if token is not None:
            return token
        with self._lock:
            token = self._fresh()
            if token is not None:
                return token
            with self.store.lock(self.key, self.lock_timeout) as lease:
                return self._perform(self.refresh_plan(), lease)

    def peek(self) -> AccessToken | None:
        """The unexpired token held in memory, else the stored one; never issues or locks."""
        return self._valid(self.current) or self._valid(_stored(self.store, self.key))

    def invalidate(self, value: str) -> bool:
        """Drop the token ``value`` if it is still the current one, here and in the store."""
        with self._lock:
            if not self._drop(value):
                return False
            _discard(self.store, self.key, value)
            return True

    def revoke(self) -> bool:
        """Revoke the current token at KIS and tombstone it in the store; False if none.

        A token KIS no longer knows is forgotten all the same; a transport failure leaves it
        in place (it may still be valid at KIS).
        """
        with self._lock:
            token = self.current or self._valid(_stored(self.store, self.key))
            if token is None:
                return False
            if self._revoke is not None:
                with contextlib.suppress(KISInvalidTokenError):
                    self._revoke(token)
            self._held, self._rejected = None, token.value
            _discard(self.store, self.key, token.value)
            logger.info("%s revoked", self.key.name)
            return True

    def _perform(self, plan: Plan, lease: TokenLease) -> AccessToken:
        def perform(step: Effect[Any]) -> object:
            match step:
                case Load():
                    return self.store.load(self.key)
                case Issue():
                    return self._issue()
                case Sleep(seconds):
                    self._sleep(seconds)
                    return None
                case Save(entry):
                    return lease.save(entry)
            raise TypeError(f"the token plan yielded an unknown step: {step!r}")

        return run(plan, perform)


class AsyncTokenManager(TokenCache):
    """:class:`TokenManager` for asyncio: tasks queue on an :class:`asyncio.Lock`, and store
    I/O (including the cross-process lock) runs in worker threads so the loop never blocks."""

    def __init__(
        self,
        issue: Callable[[], Awaitable[AccessToken]],
        revoke: Callable[[AccessToken], Awaitable[None]] | None = None,
        *,
        store: TokenStore | None = None,
        key: TokenKey | Callable[[], TokenKey] | None = None,
        refresh_margin: float = 600.0,
        issue_interval: float = 60.0,
        max_wait: float = 90.0,
        lock_timeout: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            store=store,
            key=key,
            refresh_margin=refresh_margin,
            issue_interval=issue_interval,
            max_wait=max_wait,
            lock_timeout=lock_timeout,
            clock=clock,
        )
        self._issue = issue
        self._revoke = revoke
        self._sleep = sleep
        self._lock = asyncio.Lock()

    @classmethod
    def from_config(
        cls,
        config: KISConfig,
        issue: Callable[[], Awaitable[AccessToken]],
        revoke: Callable[[AccessToken], Awaitable[None]] | None = None,
        *,
        store: TokenStore,
        kind: TokenKind = ACCESS_TOKEN,
    ) -> AsyncTokenManager:
        """A manager for ``kind`` with the config's key and ``token_*`` settings."""

        def key() -> TokenKey:
            return TokenKey.for_config(config, kind)

        return cls(issue, revoke, store=store, key=key, **settings_from(config))

    async def get(self) -> AccessToken:
        """The current token: held, stored by someone else, or newly issued."""
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh()
            if token is not None:
                return token
            async with _locked_in_thread(self.store, self.key, self.lock_timeout) as lease:
                return await self._perform(self.refresh_plan(), lease)

    async def peek(self) -> AccessToken | None:
        """The unexpired token held in memory, else the stored one; never issues or locks."""
        held = self._valid(self.current)
        return held or self._valid(await asyncio.to_thread(_stored, self.store, self.key))

    async def invalidate(self, value: str) -> bool:
        """Drop the token ``value`` if it is still the current one, here and in the store."""
        async with self._lock:
            if not self._drop(value):
                return False
            await asyncio.to_thread(_discard, self.store, self.key, value)
            return True

    async def revoke(self) -> bool:
        """Revoke the current token at KIS and tombstone it; see :meth:`TokenManager.revoke`."""
        async with self._lock:
            token = self.current or self._valid(
                await asyncio.to_thread(_stored, self.store, self.key)
            )
            if token is None:
                return False
            if self._revoke is not None:
                with contextlib.suppress(KISInvalidTokenError):
                    await self._revoke(token)
            self._held, self._rejected = None, token.value
            await asyncio.to_thread(_discard, self.store, self.key, token.value)
            logger.info("%s revoked", self.key.name)
            return True

    async def _perform(self, plan: Plan, lease: TokenLease) -> AccessToken:
        async def perform(step: Effect[Any]) -> object:
            match step:
                case Load():
                    return await asyncio.to_thread(self.store.load, self.key)
                case Issue():
                    return await self._issue()
                case Sleep(seconds):
                    await self._sleep(seconds)
                    return None
                case Save(entry):
                    return await asyncio.to_thread(lease.save, entry)
            raise TypeError(f"the token plan yielded an unknown step: {step!r}")

        return await arun(plan, perform)


def _stored(store: TokenStore, key: TokenKey) -> AccessToken | None:
    entry = store.load(key)
    return token_of(entry) if entry is not None else None


def _discard(store: TokenStore, key: TokenKey, value: str) -> None:
    try:
        store.discard(key, value)
    except KISTokenStoreError as exc:
        # The manager remembers the rejected value, so a stale stored copy is never reused.
        logger.warning("%s: could not drop the rejected token from the store: %s", key.name, exc)


@contextlib.asynccontextmanager
async def _locked_in_thread(
    store: TokenStore, key: TokenKey, timeout: float
) -> AsyncIterator[TokenLease]:
    """Hold ``store.lock(key)``, taken and released in worker threads."""
    holder = store.lock(key, timeout)
    entering = asyncio.ensure_future(asyncio.to_thread(holder.__enter__))
    try:
        lease = await asyncio.shield(entering)
    except asyncio.CancelledError:
        # The worker thread may still get the lock after we were cancelled: give it back then.
        entering.add_done_callback(lambda done: _release_if_taken(holder, done))
        raise
    try:
        yield lease
    finally:
        # A thread finishes even if this task is cancelled meanwhile, so the lock is released.
        await asyncio.to_thread(holder.__exit__, None, None, None)


def _release_if_taken(
    holder: contextlib.AbstractContextManager[Any], done: asyncio.Future[Any]
) -> None:
    if not done.cancelled() and done.exception() is None:
        holder.__exit__(None, None, None)
