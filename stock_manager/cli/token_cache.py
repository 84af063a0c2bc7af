"""Where a client keeps its access token, and what is there now (without issuing one)."""

from __future__ import annotations

from stock_manager.adapters.broker.kis import (
    AccessToken,
    FileTokenStore,
    KISRestClient,
    MemoryTokenStore,
)

__all__ = ["cache_location", "cached_token"]


def cache_location(client: KISRestClient) -> str:
    """Where ``client``'s token store keeps its access token, for people."""
    store = client.tokens.store
    if isinstance(store, FileTokenStore):
        return str(store.path_for(client.tokens.key))
    if isinstance(store, MemoryTokenStore):
        return "memory (this process only)"
    return repr(store)  # another backend (e.g. Redis) describes itself, without secrets


def cached_token(client: KISRestClient) -> AccessToken | None:
    """The unexpired token ``client`` holds or finds in its store; never asks KIS for one."""
    return client.tokens.peek()
