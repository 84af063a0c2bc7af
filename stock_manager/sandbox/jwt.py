"""Minimal HS512 JWTs, as KIS issues them, with nothing beyond the standard library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

_HEADER = {"typ": "JWT", "alg": "HS512"}


class JWTError(ValueError):
    """The token is not a well-formed, correctly signed HS512 JWT."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JWTError("bad base64 segment") from exc


def _sign(signing_input: bytes, secret: bytes) -> str:
    return _b64encode(hmac.new(secret, signing_input, hashlib.sha512).digest())


def encode(claims: dict[str, Any], secret: bytes) -> str:
    """Serialise ``claims`` as a compact HS512 JWT signed with ``secret``."""
    head = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{_sign(signing_input, secret)}"


def decode(token: str, secret: bytes) -> dict[str, Any]:
    """Verify ``token``'s signature and return its claims (expiry is the caller's business)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JWTError("a JWT has three segments")
    head, body, signature = parts
    expected = _sign(f"{head}.{body}".encode("ascii", "replace"), secret)
    if not hmac.compare_digest(expected, signature):
        raise JWTError("bad signature")
    try:
        header = json.loads(_b64decode(head))
        claims = json.loads(_b64decode(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise JWTError("segments are not JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS512" or not isinstance(claims, dict):
        raise JWTError("not an HS512 JWT")
    return claims
