"""The requests that carry the app secret: OAuth (token, revoke, approval key) and hashkey.

Each checks the credentials first (:func:`~.requests.check_credentials`), so that nothing is
built, and no traceback frame holds a secret, when one of them cannot be sent. Their bodies are
never kept on the :class:`PreparedRequest` (``body=None``): they hold the app secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog import get_catalog
from ..config import KISConfig
from .models import AccessToken, PreparedRequest
from .requests import (
    JSON_CONTENT_TYPE,
    check_credentials,
    credential_headers,
    encode_body,
    resolve_url,
)

__all__ = [
    "build_approval_request",
    "build_hashkey_request",
    "build_revoke_request",
    "build_token_request",
]


def _oauth_request(config: KISConfig, api_id: str, body: Mapping[str, Any]) -> PreparedRequest:
    # The callers have checked the credentials (check_credentials), so encoding cannot fail
    # in a frame that holds them.
    spec = get_catalog().get(api_id)
    full_url, path, _ = resolve_url(config.rest_base_url, spec.path)
    return PreparedRequest(
        method=spec.method,
        url=full_url,
        path=path,
        headers={"content-type": JSON_CONTENT_TYPE},
        content=encode_body(body),
        api=spec,
        is_order=False,
        needs_token=False,
        rate_limited=spec.rate_limited,
        body=None,  # it holds the app secret
    )


def build_token_request(config: KISConfig) -> PreparedRequest:
    """``POST /oauth2/tokenP``: issue an access token."""
    check_credentials(config)
    return _oauth_request(
        config,
        "인증-001",
        {
            "grant_type": "client_credentials",
            "appkey": config.app_key,
            "appsecret": config.app_secret,
        },
    )


def build_revoke_request(config: KISConfig, token: AccessToken) -> PreparedRequest:
    """``POST /oauth2/revokeP``: revoke ``token``."""
    check_credentials(config)
    return _oauth_request(
        config,
        "인증-002",
        {"appkey": config.app_key, "appsecret": config.app_secret, "token": token.value},
    )


def build_approval_request(config: KISConfig) -> PreparedRequest:
    """``POST /oauth2/Approval``: a websocket approval key (the secret goes in ``secretkey``)."""
    check_credentials(config)
    return _oauth_request(
        config,
        "실시간-000",
        {
            "grant_type": "client_credentials",
            "appkey": config.app_key,
            "secretkey": config.app_secret,
        },
    )


def build_hashkey_request(config: KISConfig, content: bytes) -> PreparedRequest:
    """``POST /uapi/hashkey`` over exactly ``content``, the body about to be signed."""
    check_credentials(config)
    spec = get_catalog().get("Hashkey")
    full_url, path, _ = resolve_url(config.rest_base_url, spec.path)
    return PreparedRequest(
        method="POST",
        url=full_url,
        path=path,
        headers={"content-type": JSON_CONTENT_TYPE, **credential_headers(config)},
        content=content,
        api=spec,
        is_order=False,
        needs_token=False,
        rate_limited=spec.rate_limited,
    )
