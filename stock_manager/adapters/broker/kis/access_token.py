"""``AccessToken``: a credential KIS issued, when it expires and when it was issued.

The same shape carries the websocket approval key (:func:`approval_key_token`), so both are
cached by the same managers and stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "APPROVAL_KEY_LIFETIME",
    "MAX_CREDENTIAL_LENGTH",
    "AccessToken",
    "approval_key_token",
    "is_credential_value",
]

# KIS documents 24 hours for an approval key and sends no expiry with it.
APPROVAL_KEY_LIFETIME = timedelta(hours=24)

#: KIS's tokens are JWTs of a few hundred bytes; anything far longer is damage, not a token.
MAX_CREDENTIAL_LENGTH = 4096
# Visible ASCII only: a token, approval key or hashkey travels in a header, and one with a space,
# CR/LF or a control character would fail every call (and be quoted in the HTTP library's error).
_CREDENTIAL_VALUE = re.compile(r"[\x21-\x7e]+")


def is_credential_value(value: object) -> bool:
    """True when ``value`` can be sent as a token, approval key or hashkey: a non-empty string
    of visible ASCII (no spaces, no line breaks) of at most :data:`MAX_CREDENTIAL_LENGTH`."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_CREDENTIAL_LENGTH
        and _CREDENTIAL_VALUE.fullmatch(value) is not None
    )


@dataclass(frozen=True)
class AccessToken:
    """An OAuth access token; ``value`` never appears in its repr."""

    value: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)

    def __post_init__(self) -> None:
        for name in ("expires_at", "issued_at"):
            stamp: datetime = getattr(self, name)
            if stamp.tzinfo is None:
                raise ValueError(f"AccessToken.{name} must be timezone-aware")
            object.__setattr__(self, name, stamp.astimezone(UTC))

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """True when the token is expired or will be within ``seconds``."""
        return (now or datetime.now(UTC)) + timedelta(seconds=seconds) >= self.expires_at

    @property
    def authorization(self) -> str:
        """The ``authorization`` header value."""
        return f"Bearer {self.value}"


def approval_key_token(value: str, now: datetime | None = None) -> AccessToken:
    """A websocket approval key as a cacheable credential, valid for 24 hours from ``now``."""
    issued = now or datetime.now(UTC)
    expires = issued + APPROVAL_KEY_LIFETIME
    return AccessToken(value, expires, issued, token_type="approval_key")  # noqa: S106 (a kind)
