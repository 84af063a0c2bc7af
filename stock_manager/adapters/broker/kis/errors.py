"""Every exception the KIS client raises, in one hierarchy.

::

    KISError
    ├── KISConfigError                      bad or missing configuration
    ├── KISTokenStoreError                  the token cache could not be used
    │   └── KISRedisUnavailableError        Redis unreachable or refusing (the clients fall back)
    ├── KISUsageError                       a call was malformed; nothing was sent
    │   ├── KISUnknownAPIError              no such API in the catalog
    │   ├── KISPaperTradingUnsupportedError the API does not exist on the paper domain
    │   ├── KISVariantError                 a TR_ID variant (buy/sell, ...) is missing or unknown
    │   └── KISForeignURLError              an absolute URL to another host (credentials stay home)
    ├── KISTransportError                   network failure or timeout (safe to retry a query)
    │   └── KISConnectError                 no connection could be made; nothing was sent
    ├── KISAmbiguousOutcomeError            an order may or may not have been executed: never
    │                                       retry it blindly (not a KISTransportError for that)
    ├── KISProtocolError                    a reply KIS would not send (HTML, truncated, ...)
    ├── KISAPIError                         KIS answered with an error code
    │   ├── KISCredentialsError             EGW00103/EGW00105/EGW02004: wrong key, secret or domain
    │   ├── KISInvalidTokenError            EGW00121/EGW00122: token unknown or revoked
    │   │   └── KISTokenExpiredError        EGW00123: token expired
    │   ├── KISTokenIssueThrottledError     EGW00133: one token issuance per minute
    │   ├── KISRateLimitError               EGW00201/EGW00215: per-second limit exceeded
    │   ├── KISInvalidHashkeyError          EGW00131: hashkey does not match the body
    │   ├── KISServerError                  EGW00001/EGW00002 or a 5xx without a code
    │   └── KISBusinessError                HTTP 200 with rt_cd != "0" (e.g. not enough cash)
    └── KISRealtimeError                    the realtime websocket
        ├── KISSubscriptionLimitError       41 (tr_id, tr_key) pairs per session (or OPSP0008)
        ├── KISRealtimePaperUnsupportedError a real-only TR on paper (also a
        │                                   KISPaperTradingUnsupportedError)
        ├── KISRecordValueError             a record field is not the number asked for
        ├── KISRealtimeRefusedError         KIS refused a subscribe/unsubscribe (OPSP codes)
        │   ├── KISApprovalKeyError         OPSP0011: approval key unknown or expired
        │   └── KISAppKeyInUseError         OPSP8996: another session holds the app key
        └── KISRealtimeProtocolError        a frame KIS would not send (also a KISProtocolError)
            └── KISNoticeDecryptError       an encrypted notice with no key, or undecryptable

Messages carry KIS's code and text, the HTTP status, tr_id and gt_uid, and a short hint; they
never carry an app secret, token, approval key or hashkey.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "KIS_CODES",
    "KISAPIError",
    "KISAmbiguousOutcomeError",
    "KISAppKeyInUseError",
    "KISApprovalKeyError",
    "KISBusinessError",
    "KISCode",
    "KISConfigError",
    "KISConnectError",
    "KISCredentialsError",
    "KISError",
    "KISForeignURLError",
    "KISInvalidHashkeyError",
    "KISInvalidTokenError",
    "KISNoticeDecryptError",
    "KISPaperTradingUnsupportedError",
    "KISProtocolError",
    "KISRateLimitError",
    "KISRealtimeError",
    "KISRealtimePaperUnsupportedError",
    "KISRealtimeProtocolError",
    "KISRealtimeRefusedError",
    "KISRecordValueError",
    "KISRedisUnavailableError",
    "KISServerError",
    "KISSubscriptionLimitError",
    "KISTokenExpiredError",
    "KISTokenIssueThrottledError",
    "KISTokenStoreError",
    "KISTransportError",
    "KISUnknownAPIError",
    "KISUsageError",
    "KISVariantError",
    "error_for",
    "is_gateway_refusal",
]


class KISError(Exception):
    """Base class of every error raised by the KIS client."""


class KISConfigError(KISError):
    """The configuration is invalid or incomplete (the message names the field and the fix)."""


class KISTokenStoreError(KISError):
    """The token store could not be used (cache directory not writable, lock not obtained)."""


class KISRedisUnavailableError(KISTokenStoreError):
    """Redis could not be reached or refused a command (token store or request budget)."""


class KISUsageError(KISError):
    """A client method was called with arguments that cannot work; nothing was sent."""


class KISUnknownAPIError(KISUsageError):
    """The API id, alias or path is not in the catalog."""

    def __init__(self, message: str, *, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class KISPaperTradingUnsupportedError(KISUsageError):
    """The API is only offered on the real domain, not in paper trading (모의투자 미지원)."""


class KISVariantError(KISUsageError):
    """The API has several TR_IDs (e.g. buy/sell) and the variant is missing or unknown."""

    def __init__(self, message: str, *, variants: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.variants = variants


class KISForeignURLError(KISUsageError):
    """An absolute URL points at a host other than the configured KIS domain."""


class KISTransportError(KISError):
    """The request failed on the network (dropped connection, timeout)."""


class KISConnectError(KISTransportError):
    """No connection could be established, so the request was never sent."""


class KISAmbiguousOutcomeError(KISError):
    """An order was sent but its reply was lost: it may have been executed; never resend it."""

    # Not a KISTransportError on purpose: a natural `except KISTransportError: retry` must not
    # send an order twice.

    def __init__(
        self,
        message: str,
        *,
        sent_at: datetime,
        body: Mapping[str, Any] | None = None,
        tr_id: str | None = None,
        path: str | None = None,
        hint: str = (
            "client.orders.reconcile(error) finds it in KIS's order history (or says KIS has "
            "none) before you send the order again"
        ),
    ) -> None:
        super().__init__(f"{message}; {hint}")
        self.body = dict(body) if body is not None else None
        self.sent_at = sent_at
        self.tr_id = tr_id
        self.path = path
        self.hint = hint


class KISProtocolError(KISError):
    """KIS's reply could not be understood (not JSON, an HTML page, a missing field)."""

    def __init__(
        self, message: str, *, status_code: int | None = None, excerpt: str | None = None
    ) -> None:
        text = message
        if status_code is not None:
            text += f" (HTTP {status_code})"
        if excerpt:
            text += f": {excerpt!r}"
        super().__init__(text)
        self.status_code = status_code
        self.excerpt = excerpt


class KISAPIError(KISError):
    """KIS answered with an error code (msg_cd/msg1, or error_code/error_description)."""

    hint = "see KIS's message"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        tr_id: str | None = None,
        gt_uid: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.status_code = status_code
        self.tr_id = tr_id
        self.gt_uid = gt_uid
        self.body = dict(body) if body is not None else None
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = [f"HTTP {self.status_code}"] if self.status_code is not None else []
        if self.tr_id:
            where.append(f"tr_id={self.tr_id}")
        if self.gt_uid:
            where.append(f"gt_uid={self.gt_uid}")
        head = f"{self.code} {self.message}".strip()
        if where:
            head += f" ({', '.join(where)})"
        known = KIS_CODES.get(self.code)
        hint = known.hint if known is not None and known.hint is not None else self.hint
        return f"{head}: {hint}"


class KISCredentialsError(KISAPIError):
    """KIS rejected the app key, app secret or domain (EGW00103, EGW00105, EGW02004)."""

    hint = "check KIS_APP_KEY / KIS_APP_SECRET and that KIS_ENVIRONMENT matches the key"


class KISInvalidTokenError(KISAPIError):
    """The access token is unknown, revoked or malformed (EGW00121, EGW00122)."""

    hint = "get a fresh access token (the client does this once by itself)"


class KISTokenExpiredError(KISInvalidTokenError):
    """The access token has expired (EGW00123); the hint is its parent's."""


class KISTokenIssueThrottledError(KISAPIError):
    """A token was asked for within a minute of the last one (EGW00133)."""

    hint = "KIS issues one token per minute per app key: wait, and reuse the token you have"


class KISRateLimitError(KISAPIError):
    """The gateway refused the request: per-second limit exceeded (EGW00201, EGW00215)."""

    # Not for an order answered so with HTTP 200 (from behind the gateway): that one may have
    # been processed and raises KISAmbiguousOutcomeError instead (protocol/retry.py).

    hint = "slow down (real: 20/s, paper: 2/s per app key) and retry"


class KISInvalidHashkeyError(KISAPIError):
    """The hashkey header does not match the request body (EGW00131)."""

    hint = "sign the exact bytes that are sent (make_request(..., hashkey=True) does)"


class KISServerError(KISAPIError):
    """KIS had a temporary or internal failure (EGW00001, EGW00002, or a 5xx without a code)."""

    hint = "temporary KIS failure: retry later if the request is safe to repeat"


class KISBusinessError(KISAPIError):
    """KIS processed the request and refused it (HTTP 200 with rt_cd != "0")."""

    hint = "KIS refused the request; read its message"


@dataclass(frozen=True)
class KISCode:
    """What the client knows of one KIS error code."""

    #: The exception class; None when it depends on the HTTP status (see :func:`error_for`).
    cls: type[KISAPIError] | None = None
    #: A fix specific to the code; None: the class's ``hint``.
    hint: str | None = None
    #: True for a gateway refusal: KIS refused the request before doing anything and will
    #: refuse it again (a configuration or client bug), so it is never retried and never
    #: ambiguous for an order. The per-second limit is not one: the same request passes later.
    refusal: bool = False


#: The one table of KIS codes: class, hint and whether the code is a gateway refusal.
KIS_CODES: Mapping[str, KISCode] = {
    "EGW00001": KISCode(KISServerError),
    "EGW00002": KISCode(KISServerError),
    "EGW00103": KISCode(KISCredentialsError, refusal=True),  # app key
    "EGW00105": KISCode(KISCredentialsError, refusal=True),  # app secret
    # Token rejected: the flow replays once with a fresh token.
    "EGW00121": KISCode(KISInvalidTokenError, refusal=True),
    "EGW00122": KISCode(KISInvalidTokenError, refusal=True),
    "EGW00123": KISCode(KISTokenExpiredError, refusal=True),
    "EGW00131": KISCode(KISInvalidHashkeyError, refusal=True),
    "EGW00132": KISCode(hint="send content-type: application/json (a client bug)", refusal=True),
    "EGW00133": KISCode(KISTokenIssueThrottledError, refusal=True),
    "EGW00201": KISCode(KISRateLimitError),
    "EGW00205": KISCode(
        hint="the app key's credential type does not allow this call", refusal=True
    ),
    "EGW00206": KISCode(hint="the app key has no permission for this API", refusal=True),
    "EGW00208": KISCode(hint="set KIS_CUSTTYPE to P (individual) or B (corporate)", refusal=True),
    "EGW00210": KISCode(
        hint="corporate (custtype B) customers cannot use paper trading: use the real domain",
        refusal=True,
    ),
    "EGW00215": KISCode(KISRateLimitError),
    "EGW02004": KISCode(
        KISCredentialsError,
        hint="the app key belongs to the other domain: check KIS_ENVIRONMENT",
        refusal=True,
    ),
    "OPSQ0002": KISCode(
        hint="check the TR_ID: it must exist for this path and this domain", refusal=True
    ),
    "OPSQ0003": KISCode(refusal=True),  # not offered in paper trading
}


def is_gateway_refusal(code: str) -> bool:
    """True if KIS refuses with ``code`` before doing anything, and will refuse again."""
    known = KIS_CODES.get(code)
    return known is not None and known.refusal


def error_for(
    code: str,
    message: str,
    *,
    status_code: int | None = None,
    tr_id: str | None = None,
    gt_uid: str | None = None,
    body: Mapping[str, Any] | None = None,
) -> KISAPIError:
    """Return the exception instance for a KIS error code.

    Known gateway codes map to their class whatever the HTTP status (older KIS answered them
    with 200). An unknown code in an HTTP 200 reply is a business rejection; otherwise a 5xx
    without a known code is a server error and anything else a plain :class:`KISAPIError`.
    """
    known = KIS_CODES.get(code)
    cls = known.cls if known is not None else None
    if cls is None:
        if status_code == 200:
            cls = KISBusinessError
        elif status_code is not None and status_code >= 500 and not code:
            cls = KISServerError
        else:
            cls = KISAPIError
    return cls(code, message, status_code=status_code, tr_id=tr_id, gt_uid=gt_uid, body=body)


# --- The realtime websocket ---------------------------------------------------------------------
# Raised by the realtime core when a call cannot work (nothing is sent), or carried inside its
# error events when KIS answers a frame with a refusal or sends one it should not: a bad frame
# never breaks a receive loop. No message carries the approval key or a notice's AES key/IV.


class KISRealtimeError(KISError):
    """Base class of the realtime websocket's errors."""


class KISSubscriptionLimitError(KISRealtimeError):
    """Registering one more (tr_id, tr_key) pair would pass the session's cap."""

    # ``code`` is None when the client refused before sending, "OPSP0008" when KIS did.
    def __init__(
        self,
        message: str,
        *,
        limit: int | None,
        tr_id: str,
        tr_key: str,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.tr_id = tr_id
        self.tr_key = tr_key
        self.code = code


class KISRealtimePaperUnsupportedError(KISRealtimeError, KISPaperTradingUnsupportedError):
    """The realtime TR exists only on the real server (KIS's paper server offers five)."""


class KISRecordValueError(KISRealtimeError, ValueError):
    """A record's field is missing, empty or not a number where a number was asked for."""


class KISRealtimeRefusedError(KISRealtimeError):
    """KIS answered a subscribe or unsubscribe frame with an error code (OPSP....)."""

    def __init__(
        self, code: str, message: str, *, tr_id: str | None = None, tr_key: str | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.tr_id = tr_id
        self.tr_key = tr_key
        where = " ".join(part for part in (tr_id, tr_key) if part)
        super().__init__(f"{code} {message}" + (f" ({where})" if where else ""))


class KISApprovalKeyError(KISRealtimeRefusedError):
    """OPSP0011: KIS does not know the approval key (expired, or from the other domain)."""


class KISAppKeyInUseError(KISRealtimeRefusedError):
    """OPSP8996: another websocket session holds this app key; KIS drops this connection."""


class KISRealtimeProtocolError(KISRealtimeError, KISProtocolError):
    """A websocket frame KIS would not send (bad JSON, count or width); the stream goes on."""


class KISNoticeDecryptError(KISRealtimeProtocolError):
    """An encrypted notice arrived before its TR's key, or did not decrypt with it."""
