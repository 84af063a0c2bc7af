"""Reply bytes in, a :class:`KISResponse` or a typed error out (the reply half of the core).

Anything KIS would not send (HTML, a cut-short body, a field of the wrong type) becomes a
:class:`KISProtocolError` whose excerpt never shows a credential.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from ..errors import KISProtocolError, error_for
from ..redaction import redact, register_secret
from .models import (
    KST,
    MAX_CREDENTIAL_LENGTH,
    AccessToken,
    KISResponse,
    PreparedRequest,
    is_credential_value,
)

__all__ = [
    "parse_approval_key",
    "parse_hashkey",
    "parse_response",
    "parse_token_grant",
]

_EXCERPT_CHARS = 120
# Long runs of token-like characters in an excerpt may be a credential the client never got to
# register (a reply cut short mid-token), so excerpts mask them all.
_CREDENTIAL_LIKE = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")


def _excerpt(body: bytes) -> str:
    text = body[: _EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return _CREDENTIAL_LIKE.sub("***", redact(text[:_EXCERPT_CHARS]))


def _decode(status_code: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise KISProtocolError("KIS sent an empty reply", status_code=status_code)
    content_type = headers.get("content-type", "").lower()
    if "html" in content_type or body.lstrip()[:1] == b"<":
        raise KISProtocolError(
            "KIS sent an HTML page instead of JSON", status_code=status_code, excerpt=_excerpt(body)
        )
    try:
        data = json.loads(body.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # cut short, not UTF-8
        raise KISProtocolError(
            "KIS sent a reply that is not valid JSON (cut short?)",
            status_code=status_code,
            excerpt=_excerpt(body),
        ) from None
    except ValueError:  # valid JSON, but an integer past Python's int-string conversion limit
        raise KISProtocolError(
            f"KIS sent a reply holding a number with more than {sys.get_int_max_str_digits()} "
            "digits, which Python refuses to read",
            status_code=status_code,
            excerpt=_excerpt(body),
        ) from None
    if not isinstance(data, dict):
        raise KISProtocolError(
            f"KIS sent a JSON {type(data).__name__} where an object was expected",
            status_code=status_code,
            excerpt=_excerpt(body),
        )
    return data


def parse_response(
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    request: PreparedRequest | None = None,
) -> KISResponse:
    """Read one KIS reply: a :class:`KISResponse`, or the typed error it stands for.

    Understands both envelopes: ``rt_cd``/``msg_cd``/``msg1`` (the gateway) and
    ``error_code``/``error_description`` (OAuth). Anything unreadable raises
    :class:`KISProtocolError` with a short excerpt, secrets masked.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    data = _decode(status_code, lower, body)
    ok_status = 200 <= status_code < 300
    tr_id = lower.get("tr_id") or (request.tr_id if request else None)
    gt_uid = lower.get("gt_uid")

    def fail(code: Any, message: Any) -> NoReturn:
        raise error_for(
            str(code or "").strip(),
            str(message or "").strip(),
            status_code=status_code,
            tr_id=tr_id,
            gt_uid=gt_uid,
            body=data,
        )

    if "rt_cd" in data:
        if not isinstance(data["rt_cd"], str | int) or isinstance(data["rt_cd"], bool):
            # Not a verdict at all: for an order the outcome is unknown, never "refused".
            raise KISProtocolError(
                "KIS sent an rt_cd that is not a code",
                status_code=status_code,
                excerpt=_excerpt(body),
            )
        if str(data["rt_cd"]).strip() != "0" or not ok_status:
            fail(data.get("msg_cd"), data.get("msg1"))
    elif "error_code" in data:
        fail(data["error_code"], data.get("error_description"))
    elif not ok_status:
        fail("", f"HTTP {status_code} without a KIS error code")
    return KISResponse(data, status_code=status_code, headers=lower, request=request)


def _required_credential(data: Mapping[str, Any], key: str, what: str) -> str:
    """``data[key]`` if it can travel in a header as a token, approval key or hash.

    Refused now, not at every later call (where the HTTP library's error would quote it). The
    value is never bound to a local here: error trackers record the locals of every frame.
    """
    if is_credential_value(data.get(key)):
        return str(data[key])
    if data.get(key) in (None, ""):
        raise KISProtocolError(f"{what} reply has no {key}")
    raise KISProtocolError(
        f"{what} reply has an unusable {key}: not a string of at most {MAX_CREDENTIAL_LENGTH} "
        "visible ASCII characters (surrounding spaces or line breaks?)"
    )


def parse_token_grant(data: Mapping[str, Any], *, now: datetime | None = None) -> AccessToken:
    """The :class:`AccessToken` in a ``/oauth2/tokenP`` reply.

    The expiry comes from ``access_token_token_expired`` (``%Y-%m-%d %H:%M:%S``, Korean time),
    which stays right when KIS hands out the same token again; ``expires_in`` is the fallback.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    expires_at = _token_expiry(data.get("access_token_token_expired"), data.get("expires_in"), now)
    if expires_at is None or expires_at <= now:
        # ``data`` holds the token, and error trackers record every frame's locals: drop it
        # before raising. The token itself is read only below, once nothing can fail.
        del data
        raise KISProtocolError(
            "the token reply has neither a usable access_token_token_expired nor expires_in"
            if expires_at is None
            else "KIS sent an access token that has already expired"
        )
    token_type = data.get("token_type")
    token = AccessToken(
        value=_required_credential(data, "access_token", "the token"),
        expires_at=expires_at,
        issued_at=now,
        token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
    )
    register_secret(token.value)
    return token


def _token_expiry(stamp: Any, seconds: Any, now: datetime) -> datetime | None:
    """When the token expires: ``stamp`` (KST) if readable, else ``now + seconds``."""
    if isinstance(stamp, str):
        try:
            parsed = datetime.strptime(stamp.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            pass  # unreadable: expires_in decides
    try:
        return now + timedelta(seconds=int(str(seconds)))
    except (ValueError, OverflowError):
        return None


def parse_approval_key(data: Mapping[str, Any]) -> str:
    """The websocket approval key in a ``/oauth2/Approval`` reply."""
    value = _required_credential(data, "approval_key", "the approval")
    register_secret(value)
    return value


def parse_hashkey(data: Mapping[str, Any]) -> str:
    """The ``HASH`` in a ``/uapi/hashkey`` reply (upper-case, as KIS sends it)."""
    value = _required_credential(data, "HASH", "the hashkey")
    register_secret(value, short_lived=True)  # one per order: only the recent ones are kept
    return value
