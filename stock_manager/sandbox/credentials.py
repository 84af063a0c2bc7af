"""Sandbox app credentials shaped like KIS's: 36-char app key, 180-char secret, 8-digit account."""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import string

APP_KEY_LENGTH = 36
APP_SECRET_LENGTH = 180
_KEY_ALPHABET = string.ascii_letters + string.digits


def fingerprint(app_key: str) -> str:
    """A short non-secret name for an app key (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(app_key.encode("utf-8")).hexdigest()[:16]


def hts_id_for(app_key: str) -> str:
    """The HTS ID of an app: 8 lower-case letters and digits, derived from its key.

    Derived rather than drawn, so the seeded sequence of keys, secrets and accounts stays what
    it was, and a parent process knows a child sandbox's HTS ID from the demo app key alone.
    """
    digest = hashlib.sha256(b"hts|" + app_key.encode("utf-8")).digest()
    alphabet = string.ascii_lowercase + string.digits
    return "sb" + "".join(alphabet[b % len(alphabet)] for b in digest[:6])


class CredentialFactory:
    """Mints app keys, secrets and account numbers; repeatable when seeded."""

    def __init__(self, seed: int | None = None) -> None:
        # A seeded sandbox must hand out the same demo credentials every run; an unseeded one
        # uses the OS's randomness since its secrets should not be guessable.
        self._rng: random.Random = (
            random.Random(seed)  # noqa: S311 - repeatable sandbox credentials by request
            if seed is not None
            else secrets.SystemRandom()
        )

    def app_key(self) -> str:
        """A 36-character [A-Za-z0-9] app key."""
        return "".join(self._rng.choice(_KEY_ALPHABET) for _ in range(APP_KEY_LENGTH))

    def app_secret(self) -> str:
        """A 180-character base64 app secret (135 random bytes)."""
        raw = bytes(self._rng.getrandbits(8) for _ in range(APP_SECRET_LENGTH * 3 // 4))
        return base64.b64encode(raw).decode("ascii")

    def cano(self) -> str:
        """An 8-digit account number (the part before ``-01``)."""
        return str(self._rng.randrange(10_000_000, 100_000_000))

    def signing_key(self) -> bytes:
        """The sandbox's JWT signing key."""
        return bytes(self._rng.getrandbits(8) for _ in range(64))
