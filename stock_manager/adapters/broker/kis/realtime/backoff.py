"""How the realtime shells wait: reconnect backoff with full jitter, and their time limits.

Pure and shared by the sync and async shells: no sockets, no clock of its own (times come in).

KIS drops websocket sessions as a matter of course (no close frame, weekly restarts) and blocks
an app key or IP that reconnects in a tight loop, so every reconnect waits: a random time between
``floor`` and ``min(cap, base * 2**attempt)`` (full jitter spreads many clients apart). Ordinary
drops are retried without limit (a day of trading may see many); the attempt count starts over
only once a session has lived ``stable_after`` seconds, so a server that accepts and drops at
once still meets a growing wait. OPSP8996 (the app key's one session is held elsewhere) is
retried ``in_use_attempts`` times in a row, then the shell raises :class:`KISAppKeyInUseError`:
that one does not clear by itself while another process holds the session.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ..errors import KISConfigError

__all__ = ["Backoff", "ReconnectPolicy"]

_DAY = 86_400.0


def _seconds(name: str, value: object, *, zero_ok: bool = False) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero_ok)
        or value > _DAY
    ):
        least = "0" if zero_ok else "more than 0"
        raise KISConfigError(f"{name} must be {least} and at most 86400 seconds, not {value!r}")


@dataclass(frozen=True)
class ReconnectPolicy:
    """The realtime shells' waits and limits (seconds); invalid values raise KISConfigError."""

    #: The first reconnect waits up to this long; each further one up to twice the last.
    base: float = 1.0
    #: The longest wait between reconnects.
    cap: float = 60.0
    #: The shortest wait: full jitter may draw 0, which would be a tight loop.
    floor: float = 0.25
    #: A session that lived this long resets the backoff (a drop after it is news, not a storm).
    stable_after: float = 30.0
    #: OPSP8996 refusals in a row before KISAppKeyInUseError.
    in_use_attempts: int = 6
    #: No frame (data, reply or PINGPONG) for this long: the connection is dead, reconnect.
    #: KIS's PINGPONG interval is undocumented (users see 10 s to 110 s): keep it above that.
    silence_timeout: float = 120.0
    #: The websocket opening handshake's limit.
    connect_timeout: float = 10.0
    #: The closing handshake's limit (KIS often never answers a close frame).
    close_timeout: float = 2.0
    #: How long subscribe/unsubscribe wait for KIS's answer by default.
    reply_timeout: float = 10.0
    #: The longest a frame may take to write: past it the peer stopped reading, the connection
    #: is cut and the reader reconnects (a write has no limit of its own).
    send_timeout: float = 10.0

    def __post_init__(self) -> None:
        _seconds("base", self.base)
        _seconds("cap", self.cap)
        _seconds("floor", self.floor, zero_ok=True)
        _seconds("stable_after", self.stable_after, zero_ok=True)
        _seconds("silence_timeout", self.silence_timeout)
        _seconds("connect_timeout", self.connect_timeout)
        _seconds("close_timeout", self.close_timeout)
        _seconds("reply_timeout", self.reply_timeout)
        _seconds("send_timeout", self.send_timeout)
        if self.floor > self.cap:
            raise KISConfigError(f"floor ({self.floor}) must not exceed cap ({self.cap})")
        attempts = self.in_use_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
            raise KISConfigError(f"in_use_attempts must be an int from 1 to 100, not {attempts!r}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before reconnect number ``attempt`` (0 for the first): full jitter."""
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt, 60))
        return max(self.floor, rng.uniform(0.0, ceiling))


@dataclass
class Backoff:
    """One client's reconnect state under a :class:`ReconnectPolicy`."""

    policy: ReconnectPolicy
    rng: random.Random = field(default_factory=random.Random)
    #: Reconnects since the backoff last started over.
    attempt: int = 0
    #: OPSP8996 refusals in a row.
    in_use: int = 0
    _since: float | None = None

    def session_started(self, now: float) -> None:
        self._since = now

    def session_confirmed(self) -> None:
        """KIS confirmed a registration: the app key's session is ours."""
        self.in_use = 0

    def app_key_in_use(self) -> bool:
        """Count one OPSP8996; True once the policy's attempts are spent (give up)."""
        self.in_use += 1
        return self.in_use >= self.policy.in_use_attempts

    def next_delay(self, now: float) -> float:
        """The wait before the next connection attempt (the session, if any, has ended)."""
        if self._since is not None and now - self._since >= self.policy.stable_after:
            self.attempt = 0
        self._since = None
        delay = self.policy.delay(self.attempt, self.rng)
        self.attempt += 1
        return delay
