"""``FallbackTokenStore``: Redis while it answers, the local store while it does not.

The store :func:`~stock_manager.adapters.broker.kis.tokens.make_token_store` builds when
``redis_url`` is set. Every operation goes to :class:`~.redis.RedisTokenStore` while the
process's :class:`~.._redis_link.RedisLink` is up; when a command fails the link goes down (one
warning) and operations go to the local store that ``token_store`` names (the file store by
default, which still serialises the processes of one machine), until a probe finds Redis again.

Tokens saved in Redis are mirrored into the local store, so an outage, or a restart during
one, finds the current token locally instead of asking KIS for another; a load that finds
nothing in Redis (restarted empty) looks there too. Discards go to both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from .._redis_link import RedisLink, shared_link
from ..errors import KISRedisUnavailableError, KISTokenStoreError
from ..redaction import logger
from .redis import RedisTokenStore
from .store import TokenEntry, TokenKey, TokenLease, TokenStore

if TYPE_CHECKING:
    from ..config import KISConfig

__all__ = ["FallbackTokenStore", "redis_token_store"]


class FallbackTokenStore:
    """``shared`` (Redis) in front of ``local``; see the module docstring."""

    def __init__(self, shared: RedisTokenStore, local: TokenStore) -> None:
        self.shared = shared
        self.local = local

    @property
    def link(self) -> RedisLink:
        """The Redis link whose health decides where operations go."""
        return self.shared.link

    @property
    def using_redis(self) -> bool:
        """True while operations go to Redis."""
        return self.link.up

    def load(self, key: TokenKey) -> TokenEntry | None:
        """Redis's entry (the local one if Redis has none), or the local one during an outage."""
        if self.link.available():
            try:
                entry = self.shared.load(key)
            except KISRedisUnavailableError:
                pass
            else:
                return entry if entry is not None else self.local.load(key)
        return self.local.load(key)

    def save(self, key: TokenKey, entry: TokenEntry) -> None:
        """Store ``entry`` in Redis and mirror it locally; locally only during an outage."""
        if self.link.available():
            try:
                self.shared.save(key, entry)
            except KISRedisUnavailableError:
                pass
            else:
                self._mirror(key, entry)
                return
        self.local.save(key, entry)

    def discard(self, key: TokenKey, value: str) -> bool:
        """Tombstone ``value`` in both stores; the answer is Redis's unless it is out."""
        try:
            discarded_locally = self.local.discard(key, value)
        except KISTokenStoreError as exc:
            logger.warning("%s: the local copy was not dropped: %s", key.name, exc)
            discarded_locally = False
        if self.link.available():
            try:
                return self.shared.discard(key, value)
            except KISRedisUnavailableError:
                pass
        return discarded_locally

    @contextmanager
    def lock(self, key: TokenKey, timeout: float) -> Iterator[TokenLease]:
        """Redis's lease while Redis answers (also if it fails while we wait); else the local
        lock, which excludes this machine's processes only."""
        with ExitStack() as stack:
            if self.link.available():
                try:
                    lease = stack.enter_context(self.shared.lock(key, timeout))
                except KISRedisUnavailableError:
                    pass
                else:
                    yield _MirroredLease(self, key, lease)
                    return
            yield stack.enter_context(self.local.lock(key, timeout))

    def _mirror(self, key: TokenKey, entry: TokenEntry) -> None:
        try:
            self.local.save(key, entry)
        except KISTokenStoreError as exc:
            logger.warning("%s: the local copy of the token was not written: %s", key.name, exc)

    def __repr__(self) -> str:
        return f"FallbackTokenStore({self.shared!r}, local={self.local!r})"


class _MirroredLease:
    """Redis's fenced save, mirrored locally; the local store if Redis fails meanwhile."""

    def __init__(self, store: FallbackTokenStore, key: TokenKey, lease: TokenLease) -> None:
        self._store = store
        self._key = key
        self._lease = lease

    def save(self, entry: TokenEntry) -> bool:
        try:
            saved = self._lease.save(entry)
        except KISRedisUnavailableError:
            self._store.local.save(self._key, entry)
            return True
        if saved:
            self._store._mirror(self._key, entry)
        return saved


def redis_token_store(config: KISConfig, local: TokenStore) -> FallbackTokenStore:
    """The store for ``config.redis_url``: Redis leases and entries, ``local`` as fallback."""
    shared = RedisTokenStore(shared_link(config), lease_ttl=config.redis_lease_ttl)
    return FallbackTokenStore(shared, local)
