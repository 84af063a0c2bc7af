"""Bounds on what one client can make the sandbox hold: body size, waits and connections.

KIS request bodies are a few hundred bytes (well under 64 KiB), so 1 MiB refuses nothing real.
The head timeout closes a connection that starts a request and never finishes its head, which
uvicorn's keep-alive timeout does not cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stock_manager.sandbox.state import SandboxConfigError

MAX_BODY_BYTES = 1024 * 1024
HEAD_TIMEOUT_SECONDS = 5.0
BODY_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 512


@dataclass(frozen=True)
class ServerLimits:
    """Per-sandbox bounds; tests pass small ones to prove the same behaviour quickly."""

    max_body_bytes: int = MAX_BODY_BYTES
    head_timeout: float = HEAD_TIMEOUT_SECONDS
    body_timeout: float = BODY_TIMEOUT_SECONDS
    max_connections: int = MAX_CONNECTIONS

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SandboxConfigError(f"{name} must be a positive integer, not {value!r}")
        for name in ("head_timeout", "body_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise SandboxConfigError(
                    f"{name} must be a positive finite number of seconds, not {value!r}"
                )
