"""The gateway's per-app-key request limit: at most N accepted requests in any 1.0 s."""

from __future__ import annotations

import math
from collections import deque

WINDOW_SECONDS = 1.0


class SlidingWindow:
    """A sliding one-second window. Rejected requests do not consume capacity."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._accepted: deque[float] = deque()

    def try_acquire(self, now: float) -> bool:
        """Admit one request at monotonic time ``now`` if the window has room."""
        if math.isinf(self.limit):
            return True
        accepted = self._accepted
        while accepted and accepted[0] <= now - WINDOW_SECONDS:
            accepted.popleft()
        if len(accepted) >= self.limit:
            return False
        accepted.append(now)
        return True

    def clear(self) -> None:
        """Forget past requests."""
        self._accepted.clear()
