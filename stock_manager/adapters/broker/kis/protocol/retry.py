"""``RetryPolicy``: whether a failed attempt is tried again, and after how long.

A small frozen value with no I/O, consulted by the call flow (:mod:`.._flow`) after each
failure. What may be retried depends on what the catalog says about the request:

=====================================================  ==============  ======================
failure                                                GET, idempotent  order (catalog POST
                                                       POST (token,     marked ``order``, or a
                                                       revoke, approval, POST not in the
                                                       hashkey)         catalog)
=====================================================  ==============  ======================
EGW00201 / EGW00215 (limit exceeded; nothing done)     retry            retry if refused by
                                                                        the gateway (non-200)
any EGW gateway code in an HTTP 200 reply              (as its code)    ambiguous
no connection could be made (nothing was sent)         retry            retry
timeout or connection dropped after sending            retry            ambiguous
500 EGW00001 / EGW00002, other 5xx, unreadable reply   retry            ambiguous
a gateway refusal (``refusal`` in                      raise            raise
:data:`~..errors.KIS_CODES`) or any 4xx
a business rejection (HTTP 200, rt_cd != "0")          raise            raise
=====================================================  ==============  ======================

"ambiguous" means the order may have been executed: the flow raises
:class:`~..errors.KISAmbiguousOutcomeError` and never resends it. ``EGW00121``/``EGW00123``
(token rejected) are handled by the flow itself: one replay with a fresh token, not counted
here (for an order only on a gateway refusal: a code in an HTTP 200 is ambiguous).
Retries are bounded by ``max_retries`` and by ``max_wait`` seconds since the first attempt;
waits are exponential backoff with full jitter, and ``sleep=False`` makes them zero for tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import (
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISConnectError,
    KISProtocolError,
    KISRateLimitError,
    KISServerError,
    KISTransportError,
    is_gateway_refusal,
)

if TYPE_CHECKING:
    from ..config import KISConfig
    from . import PreparedRequest

__all__ = ["RetryPolicy", "answered_behind_gateway"]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``max_retries`` more attempts within ``max_wait`` seconds.

    The wait before retry ``n + 1`` is uniform in ``[0, min(max_delay, base_delay * 2**n)]``.
    """

    max_retries: int = 3
    max_wait: float = 30.0
    base_delay: float = 0.25
    max_delay: float = 8.0
    sleep: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_wait < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy bounds must not be negative")

    @classmethod
    def from_config(cls, config: KISConfig, *, sleep: bool = True) -> RetryPolicy:
        """The policy configured by ``max_retries`` and ``retry_max_wait``."""
        return cls(max_retries=config.max_retries, max_wait=config.retry_max_wait, sleep=sleep)

    def should_retry(
        self, request: PreparedRequest, outcome: BaseException, attempt: int, elapsed: float
    ) -> bool:
        """True if ``request`` may be sent again after failing with ``outcome``.

        ``attempt`` counts the retries already made (0 after the first failure); ``elapsed`` is
        the seconds since the first attempt started.
        """
        if attempt >= self.max_retries or elapsed >= self.max_wait:
            return False
        return self.is_retryable(request, outcome)

    def is_retryable(self, request: PreparedRequest, outcome: BaseException) -> bool:
        """Whether this kind of failure is worth another attempt at all, bounds aside."""
        if self.is_unprocessed(outcome):
            return not (request.is_order and answered_behind_gateway(outcome))
        if request.is_order:
            return False
        return self.is_transient(outcome)

    def is_ambiguous(self, request: PreparedRequest, outcome: BaseException) -> bool:
        """True if ``request`` is an order that KIS may have executed despite ``outcome``:
        a transient failure, or a gateway code that came back with HTTP 200 (from behind the
        gateway, so it does not prove the order was left undone)."""
        if not request.is_order:
            return False
        return self.is_transient(outcome) or _gateway_code_behind_gateway(outcome)

    @staticmethod
    def is_unprocessed(outcome: BaseException) -> bool:
        """KIS certainly did nothing and the same request may succeed later: limit exceeded,
        or no connection at all."""
        return isinstance(outcome, KISRateLimitError | KISConnectError)

    @staticmethod
    def is_transient(outcome: BaseException) -> bool:
        """A failure that may pass, but after which the request may have been processed:
        a timeout or dropped connection, a 5xx that is not a known refusal, an unreadable reply."""
        if isinstance(outcome, KISAmbiguousOutcomeError | KISConnectError | KISRateLimitError):
            return False
        if isinstance(outcome, KISTransportError | KISServerError | KISProtocolError):
            return True
        if isinstance(outcome, KISAPIError):
            status = outcome.status_code or 0
            return status >= 500 and not is_gateway_refusal(outcome.code)
        return False

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt + 1``: full jitter under an exponential cap."""
        if not self.sleep:
            return 0.0
        cap = min(self.max_delay, self.base_delay * (2 ** min(attempt, 62)))
        return random.uniform(0.0, cap)  # noqa: S311 (jitter, not security)


def _gateway_code_behind_gateway(outcome: BaseException) -> bool:
    """A gateway code (EGW...) in an HTTP 200 reply: KIS's gateway did not refuse the request,
    so whatever the code says (limit exceeded, token expired), the order may have gone through."""
    return answered_behind_gateway(outcome) and str(getattr(outcome, "code", "")).startswith("EGW")


def answered_behind_gateway(outcome: BaseException) -> bool:
    """True for an error KIS sent with HTTP 200: the gateway let the request through, so a
    gateway code in it (EGW00201, EGW00123, ...) does not prove an order was left undone, and
    the order is never replayed on it. Only a gateway refusal (non-200) is."""
    return isinstance(outcome, KISAPIError) and outcome.status_code == 200
