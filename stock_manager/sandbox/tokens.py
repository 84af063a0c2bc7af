"""Access-token lifecycle as KIS runs it: 24 h JWTs, one issuance per minute, same token for 6 h.

:class:`TokenBook` is not locked itself; :class:`~stock_manager.sandbox.state.SandboxState`
calls it under its lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from stock_manager.sandbox import jwt

KST = timezone(timedelta(hours=9), "KST")


@dataclass
class TokenRecord:
    """One minted access token and what became of it."""

    token: str
    app_key: str
    minted_at: float  # wall clock, seconds
    expires_at: float
    revoked: bool = False
    force_expired: bool = False

    def expired(self, now: float) -> bool:
        """Past its lifetime, or expired on purpose by ``expire_tokens``."""
        return self.force_expired or now >= self.expires_at

    def as_response(self, now: float) -> dict[str, Any]:
        """The tokenP 200 body for this token."""
        expiry = datetime.fromtimestamp(self.expires_at, KST)
        return {
            "access_token": self.token,
            "access_token_token_expired": expiry.strftime("%Y-%m-%d %H:%M:%S"),
            "token_type": "Bearer",
            "expires_in": max(0, int(self.expires_at - now)),
        }


class TokenRejected(Exception):
    """A token the gateway refuses: ``code`` is EGW00121 (invalid) or EGW00123 (expired)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TokenBook:
    """Every token the sandbox minted, by value, plus each app's current one."""

    def __init__(self, signing_key: bytes, ttl: float, reissue_window: float) -> None:
        self._signing_key = signing_key
        self.ttl = ttl
        self.reissue_window = reissue_window
        self._by_value: dict[str, TokenRecord] = {}
        self._current: dict[str, TokenRecord] = {}

    def current_or_mint(self, app_key: str, now: float) -> TokenRecord:
        """The app's token if still inside the reissue window, else a freshly minted one."""
        current = self._current.get(app_key)
        if (
            current is not None
            and not current.revoked
            and not current.expired(now)
            and now - current.minted_at < self.reissue_window
        ):
            return current
        claims = {
            "sub": "token",
            "iss": "unogw",
            "aud": str(uuid.uuid4()),
            "iat": int(now),
            "exp": int(now + self.ttl),
            "jti": app_key,
        }
        record = TokenRecord(jwt.encode(claims, self._signing_key), app_key, now, now + self.ttl)
        self._by_value[record.token] = record
        self._current[app_key] = record
        return record

    def find(self, token: str) -> TokenRecord | None:
        """The record of a token this sandbox minted."""
        return self._by_value.get(token)

    def revoke(self, record: TokenRecord) -> bool:
        """Revoke a token; False when it already was."""
        if record.revoked:
            return False
        record.revoked = True
        if self._current.get(record.app_key) is record:
            del self._current[record.app_key]
        return True

    def verify(self, app_key: str, authorization: str | None, now: float) -> None:
        """Check an ``authorization`` header for ``app_key`` at wall time ``now``; raise
        :class:`TokenRejected`."""
        if not authorization:
            raise TokenRejected("EGW00121")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise TokenRejected("EGW00121")
        record = self._by_value.get(token.strip())
        if record is None or record.revoked or record.app_key != app_key:
            raise TokenRejected("EGW00121")
        if record.expired(now):
            raise TokenRejected("EGW00123")

    def expire_all(self) -> None:
        """Make every token answer EGW00123 and let the next tokenP mint a new one."""
        for record in self._by_value.values():
            record.force_expired = True
        self._current.clear()

    def clear(self) -> None:
        """Forget every token."""
        self._by_value.clear()
        self._current.clear()
