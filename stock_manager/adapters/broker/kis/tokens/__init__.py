"""Access tokens and approval keys: where they are kept, and who issues and renews them.

:mod:`.store` holds the :class:`TokenStore` protocol, its keys and entries and the
:class:`MemoryTokenStore`; :mod:`.file`, :mod:`.redis` and :mod:`.fallback` the other stores;
:mod:`.managers` the :class:`TokenManager` / :class:`AsyncTokenManager` that keep one current
credential per key. :func:`make_token_store` lives here, above the implementations, because it
is the one place that knows them all (the stores themselves never import it).

>>> from stock_manager.adapters.broker.kis.tokens import FileTokenStore
>>> client = KISRestClient(config, token_store=FileTokenStore("/var/cache/kis"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fallback import FallbackTokenStore, redis_token_store
from .file import FileTokenStore, default_token_directory
from .managers import AsyncTokenManager, TokenManager
from .redis import RedisTokenStore
from .store import (
    ACCESS_TOKEN,
    APPROVAL_KEY,
    MemoryTokenStore,
    TokenEntry,
    TokenKey,
    TokenLease,
    TokenStore,
    token_lock_timeout,
)

if TYPE_CHECKING:
    from ..config import KISConfig

__all__ = [
    "ACCESS_TOKEN",
    "APPROVAL_KEY",
    "PROCESS_MEMORY_STORE",
    "AsyncTokenManager",
    "FallbackTokenStore",
    "FileTokenStore",
    "MemoryTokenStore",
    "RedisTokenStore",
    "TokenEntry",
    "TokenKey",
    "TokenLease",
    "TokenManager",
    "TokenStore",
    "default_token_directory",
    "make_token_store",
]

#: The store ``token_store="memory"`` means: one per process, as documented, so a second
#: client of the same key adopts the first one's token instead of asking KIS again (EGW00133:
#: a minute's stall, and on real KIS a KakaoTalk message per issuance). Entries are keyed by
#: base URL and app-key fingerprint, so clients of other keys or servers never mix.
PROCESS_MEMORY_STORE = MemoryTokenStore()


def make_token_store(config: KISConfig) -> TokenStore:
    """The store ``config.token_store`` names: ``"file"`` (default) or ``"memory"`` (the
    process's one :data:`PROCESS_MEMORY_STORE`; construct a :class:`MemoryTokenStore` for a
    private one).

    With ``redis_url`` set, Redis comes first and that store is the fallback while Redis is
    unavailable (:class:`FallbackTokenStore`).
    """
    local = _local_token_store(config)
    if config.redis_url is None:
        return local
    # redis-py itself is imported only now (by the Redis link): it is an optional dependency.
    return redis_token_store(config, local)


def _local_token_store(config: KISConfig) -> TokenStore:
    if config.token_store == "memory":  # noqa: S105 (a store kind, not a secret)
        return PROCESS_MEMORY_STORE
    return FileTokenStore(config.token_cache_dir, lock_timeout=token_lock_timeout(config))
