"""The sans-I/O core: KIS calls in, :class:`PreparedRequest` out (:mod:`.requests`; :mod:`.oauth`
for the requests that carry the app secret); reply bytes in, a :class:`KISResponse` or a typed
error out (:mod:`.replies`); the values they pass around (:mod:`.models`) and whether a failure
is tried again (:mod:`.retry`). Nothing here opens a socket, starts a thread or knows the token
machinery, so all of it is tested with plain values.
"""

from __future__ import annotations

from .models import (
    KST,
    AccessToken,
    KISResponse,
    PageCursor,
    PreparedRequest,
    RawResponse,
)
from .oauth import (
    build_approval_request,
    build_hashkey_request,
    build_revoke_request,
    build_token_request,
)
from .replies import (
    parse_approval_key,
    parse_hashkey,
    parse_response,
    parse_token_grant,
)
from .requests import (
    HEADER_VALUE,
    JSON_CONTENT_TYPE,
    build_request,
    encode_body,
    resolve_url,
)

__all__ = [
    "HEADER_VALUE",
    "JSON_CONTENT_TYPE",
    "KST",
    "AccessToken",
    "KISResponse",
    "PageCursor",
    "PreparedRequest",
    "RawResponse",
    "build_approval_request",
    "build_hashkey_request",
    "build_request",
    "build_revoke_request",
    "build_token_request",
    "encode_body",
    "parse_approval_key",
    "parse_hashkey",
    "parse_response",
    "parse_token_grant",
    "resolve_url",
]
