"""The KIS (Korea Investment & Securities) OpenAPI client.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> config = KISConfig(kis_app_key="...", kis_app_secret="...")
>>> client = KISRestClient(config)
>>> client.get_tr_id(api_id="Hashkey", is_paper_trading=False)      # None: no TR_ID needed
>>> client.make_request(method="post", url="/uapi/hashkey", params=order_body)["HASH"]

Modules: :mod:`.config` (settings), :mod:`.catalog` (the APIs as data), :mod:`.errors` (the
exception tree), :mod:`.protocol` (sans-I/O requests and replies), :mod:`.flow` (the call logic
shared by both clients), :mod:`.tokens` (token lifecycle; stores in :mod:`.token_store` and
:mod:`.file_store`), :mod:`.ratelimit` (the request-budget interface, with
:mod:`.local_budget` and :mod:`.budgets`), :mod:`.redis_store` / :mod:`.redis_budget` (shared
by processes through Redis, with :mod:`.fallback_store` / :mod:`.fallback_budget` for outages),
:mod:`.retry`, :mod:`.client` and :mod:`.aio` (the blocking and asyncio shells). Logs go to the
``stock_manager.kis`` logger with secrets masked (:mod:`.redaction`).
"""

from __future__ import annotations

from ._redis_link import KISRedisUnavailableError, RedisLink
from .aio import AsyncKISRestClient
from .bodies import balance_params, cash_order_body
from .catalog import ApiSpec, Catalog, get_catalog
from .client import KISRestClient
from .config import KISConfig
from .errors import (
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISBusinessError,
    KISConfigError,
    KISConnectError,
    KISCredentialsError,
    KISError,
    KISForeignURLError,
    KISInvalidHashkeyError,
    KISInvalidTokenError,
    KISPaperTradingUnsupportedError,
    KISProtocolError,
    KISRateLimitError,
    KISServerError,
    KISTokenExpiredError,
    KISTokenIssueThrottledError,
    KISTransportError,
    KISUnknownAPIError,
    KISUsageError,
    KISVariantError,
    error_for,
)
from .protocol import PreparedRequest
from .protocol.models import KISResponse
from .protocol.retry import RetryPolicy
from .ratelimit.base import Permit, RateLimiter, UnlimitedRateLimiter
from .ratelimit.fallback import FallbackRateLimiter
from .ratelimit.local import LocalRateLimiter
from .ratelimit.redis import RedisRateLimiter
from .ratelimit.shared import BudgetKey, RateLimiterRegistry, shared_rate_limiter
from .redaction import RedactingFilter
from .tokens.fallback import FallbackTokenStore
from .tokens.file import FileTokenStore, default_token_directory
from .tokens.managers import AccessToken, AsyncTokenManager, TokenManager
from .tokens.redis import RedisTokenStore
from .tokens.store import (
    ACCESS_TOKEN,
    APPROVAL_KEY,
    KISTokenStoreError,
    MemoryTokenStore,
    TokenEntry,
    TokenKey,
    TokenLease,
    TokenStore,
    make_token_store,
)

__all__ = [
    "ACCESS_TOKEN",
    "APPROVAL_KEY",
    "AccessToken",
    "ApiSpec",
    "AsyncKISRestClient",
    "AsyncTokenManager",
    "BudgetKey",
    "Catalog",
    "FallbackRateLimiter",
    "FallbackTokenStore",
    "FileTokenStore",
    "KISAPIError",
    "KISAmbiguousOutcomeError",
    "KISBusinessError",
    "KISConfig",
    "KISConfigError",
    "KISConnectError",
    "KISCredentialsError",
    "KISError",
    "KISForeignURLError",
    "KISInvalidHashkeyError",
    "KISInvalidTokenError",
    "KISPaperTradingUnsupportedError",
    "KISProtocolError",
    "KISRateLimitError",
    "KISRedisUnavailableError",
    "KISResponse",
    "KISRestClient",
    "KISServerError",
    "KISTokenExpiredError",
    "KISTokenIssueThrottledError",
    "KISTokenStoreError",
    "KISTransportError",
    "KISUnknownAPIError",
    "KISUsageError",
    "KISVariantError",
    "LocalRateLimiter",
    "MemoryTokenStore",
    "Permit",
    "PreparedRequest",
    "RateLimiter",
    "RateLimiterRegistry",
    "RedactingFilter",
    "RedisLink",
    "RedisRateLimiter",
    "RedisTokenStore",
    "RetryPolicy",
    "TokenEntry",
    "TokenKey",
    "TokenLease",
    "TokenManager",
    "TokenStore",
    "UnlimitedRateLimiter",
    "balance_params",
    "cash_order_body",
    "default_token_directory",
    "error_for",
    "get_catalog",
    "make_token_store",
    "shared_rate_limiter",
]
