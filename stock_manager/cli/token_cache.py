"""Where a client keeps its access token, and what is there now (without issuing one)."""

from __future__ import annotations

from pathlib import Path

from stock_manager.adapters.broker.kis import AccessToken, KISRestClient

__all__ = ["cache_location", "cached_token"]


def cache_location(client: KISRestClient) -> str:
    """Where ``client``'s token store keeps its access token, for people."""
    store = client.tokens.store
    path_for = getattr(store, "path_for", None)  # file stores; memory and Redis have no path
    if callable(path_for):
        return str(Path(path_for(client.tokens.key)))
    if client.config.token_store == "memory":  # noqa: S105 (a store kind)
        return "memory (this process only)"
    return repr(store)


def cached_token(client: KISRestClient) -> AccessToken | None:
    """The unexpired token ``client`` holds or finds in its store; never asks KIS for one."""
    return client.tokens.peek()
