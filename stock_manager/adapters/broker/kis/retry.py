"""``RetryPolicy``: whether a failed attempt is tried again, and after how long.

A small frozen value, consulted by the call flow after each failure: :meth:`should_retry`
decides from the request (what the catalog says about it), the failure, the number of retries
already made and the time spent; :meth:`delay` is exponential backoff with full jitter. With
``sleep=False`` the delay is always zero, for tests.

The rules here are deliberately narrow: only a connection that could not be established
(nothing was sent) is retried. Expired or revoked tokens are handled by the flow itself (one
replay with a fresh token), not counted as retries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import KISConnectError

if TYPE_CHECKING:
    from .config import KISConfig
    from .protocol import PreparedRequest

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``max_retries`` more attempts within ``max_wait`` seconds."""

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
        # Nothing was sent, so even an order is safe to try again.
        return isinstance(outcome, KISConnectError)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt + 1``: full jitter under an exponential cap."""
        if not self.sleep:
            return 0.0
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(0.0, cap)  # noqa: S311 (jitter, not security)
