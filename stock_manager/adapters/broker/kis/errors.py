"""Every exception the KIS client raises, in one hierarchy.

::

    KISError
    ├── KISConfigError                      bad or missing configuration
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
    └── KISAPIError                         KIS answered with an error code
        ├── KISCredentialsError             EGW00103/EGW00105/EGW02004: wrong key, secret or domain
        ├── KISInvalidTokenError            EGW00121/EGW00122: token unknown or revoked
        │   └── KISTokenExpiredError        EGW00123: token expired
        ├── KISTokenIssueThrottledError     EGW00133: one token issuance per minute
        ├── KISRateLimitError               EGW00201/EGW00215: per-second limit exceeded
        ├── KISInvalidHashkeyError          EGW00131: hashkey does not match the body
        ├── KISServerError                  EGW00001/EGW00002 or a 5xx without a code
        └── KISBusinessError                HTTP 200 with rt_cd != "0" (e.g. not enough cash)

Messages carry KIS's code and text, the HTTP status, tr_id and gt_uid, and a short hint; they
never carry an app secret, token, approval key or hashkey.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = [
    "KISAPIError",
    "KISAmbiguousOutcomeError",
    "KISBusinessError",
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
    "KISServerError",
    "KISTokenExpiredError",
    "KISTokenIssueThrottledError",
    "KISTransportError",
    "KISUnknownAPIError",
    "KISUsageError",
    "KISVariantError",
    "error_for",
]


class KISError(Exception):
    """Base class of every error raised by the KIS client."""


class KISConfigError(KISError):
    """The configuration is invalid or incomplete (the message names the field and the fix)."""


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
        hint: str = ("check the order history (inquire-daily-ccld) before sending the order again"),
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
        return f"{head}: {_HINTS.get(self.code, self.hint)}"


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
    # been processed and raises KISAmbiguousOutcomeError instead (retry.py).

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


_CLASSES: dict[str, type[KISAPIError]] = {
    "EGW00001": KISServerError,
    "EGW00002": KISServerError,
    "EGW00103": KISCredentialsError,
    "EGW00105": KISCredentialsError,
    "EGW02004": KISCredentialsError,
    "EGW00121": KISInvalidTokenError,
    "EGW00122": KISInvalidTokenError,
    "EGW00123": KISTokenExpiredError,
    "EGW00131": KISInvalidHashkeyError,
    "EGW00133": KISTokenIssueThrottledError,
    "EGW00201": KISRateLimitError,
    "EGW00215": KISRateLimitError,
}

# Codes whose class is generic but whose fix is specific enough to say.
_HINTS: dict[str, str] = {
    "EGW00132": "send content-type: application/json (a client bug)",
    "EGW00205": "the app key's credential type does not allow this call",
    "EGW00206": "the app key has no permission for this API",
    "EGW00208": "set KIS_CUSTTYPE to P (individual) or B (corporate)",
    "EGW00210": "corporate (custtype B) customers cannot use paper trading: use the real domain",
    "EGW02004": "the app key belongs to the other domain: check KIS_ENVIRONMENT",
    "OPSQ0002": "check the TR_ID: it must exist for this path and this domain",
}


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
    cls = _CLASSES.get(code)
    if cls is None:
        if status_code == 200:
            cls = KISBusinessError
        elif status_code is not None and status_code >= 500 and not code:
            cls = KISServerError
        else:
            cls = KISAPIError
    return cls(code, message, status_code=status_code, tr_id=tr_id, gt_uid=gt_uid, body=body)
