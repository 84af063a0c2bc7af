"""The KIS (Korea Investment & Securities) OpenAPI client.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> config = KISConfig(kis_app_key="...", kis_app_secret="...")
>>> client = KISRestClient(config)
>>> client.get_tr_id(api_id="Hashkey", is_paper_trading=False)      # None: no TR_ID needed
>>> client.make_request(method="post", url="/uapi/hashkey", params=order_body)["HASH"]

This package exports what a user of the clients touches: the clients, their config, every
exception, the response and request values, catalog look-ups, the retry policy, body helpers and
the log-redaction filter. Extension points live in their subpackages: token stores and managers
in :mod:`.tokens` (``from stock_manager.adapters.broker.kis.tokens import FileTokenStore``), rate
limiters in :mod:`.ratelimit`, the sans-I/O request and reply code in :mod:`.protocol`, the APIs
as data in :mod:`.catalog`. :mod:`.client` and :mod:`.aio` are the blocking and asyncio shells;
:mod:`.realtime` holds the websocket clients (:class:`KISRealtimeClient`,
:class:`AsyncKISRealtimeClient`) and their sans-I/O core.
Logs go to the ``stock_manager.kis`` logger with secrets masked (:mod:`.redaction`).
"""

from __future__ import annotations

from ._pages import AsyncPages, Pages
from .aio import AsyncKISRestClient
from .bodies import balance_params, cash_order_body
from .catalog import ApiSpec, Catalog, get_catalog
from .client import KISRestClient
from .config import KISConfig
from .errors import (
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISAppKeyInUseError,
    KISApprovalKeyError,
    KISBusinessError,
    KISConfigError,
    KISConnectError,
    KISCredentialsError,
    KISError,
    KISForeignURLError,
    KISInvalidHashkeyError,
    KISInvalidTokenError,
    KISNoticeDecryptError,
    KISPaperTradingUnsupportedError,
    KISProtocolError,
    KISRateLimitError,
    KISRealtimeError,
    KISRealtimePaperUnsupportedError,
    KISRealtimeProtocolError,
    KISRealtimeRefusedError,
    KISRecordValueError,
    KISRedisUnavailableError,
    KISServerError,
    KISSubscriptionLimitError,
    KISTokenExpiredError,
    KISTokenIssueThrottledError,
    KISTokenStoreError,
    KISTransportError,
    KISUnknownAPIError,
    KISUsageError,
    KISVariantError,
    error_for,
)
from .orders import (
    KISAmbiguousOrderError,
    KISNothingLeftError,
    KISOrderNotPlacedError,
    KISOrderTypeError,
)
from .protocol.models import AccessToken, KISResponse, PreparedRequest
from .protocol.retry import RetryPolicy
from .realtime import AsyncKISRealtimeClient, KISRealtimeClient, ReconnectPolicy
from .redaction import RedactingFilter

__all__ = [
    "AccessToken",
    "ApiSpec",
    "AsyncKISRealtimeClient",
    "AsyncKISRestClient",
    "AsyncPages",
    "Catalog",
    "KISAPIError",
    "KISAmbiguousOrderError",
    "KISAmbiguousOutcomeError",
    "KISAppKeyInUseError",
    "KISApprovalKeyError",
    "KISBusinessError",
    "KISConfig",
    "KISConfigError",
    "KISConnectError",
    "KISCredentialsError",
    "KISError",
    "KISForeignURLError",
    "KISInvalidHashkeyError",
    "KISInvalidTokenError",
    "KISNothingLeftError",
    "KISNoticeDecryptError",
    "KISOrderNotPlacedError",
    "KISOrderTypeError",
    "KISOrderUndecidedError",
    "KISPaperTradingUnsupportedError",
    "KISProtocolError",
    "KISRateLimitError",
    "KISRealtimeClient",
    "KISRealtimeError",
    "KISRealtimePaperUnsupportedError",
    "KISRealtimeProtocolError",
    "KISRealtimeRefusedError",
    "KISRecordValueError",
    "KISRedisUnavailableError",
    "KISResponse",
    "KISRestClient",
    "KISServerError",
    "KISSubscriptionLimitError",
    "KISTokenExpiredError",
    "KISTokenIssueThrottledError",
    "KISTokenStoreError",
    "KISTransportError",
    "KISUnknownAPIError",
    "KISUsageError",
    "KISVariantError",
    "Pages",
    "PreparedRequest",
    "ReconnectPolicy",
    "RedactingFilter",
    "RetryPolicy",
    "balance_params",
    "cash_order_body",
    "error_for",
    "get_catalog",
]
