"""What the sync and async clients share: configuration, catalog, and every call's flow.

``KISRestClient`` and ``AsyncKISRestClient`` subclass :class:`BaseKISClient` and add only the
part that waits: performing the actions a flow yields (see :mod:`.flow`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .catalog import Catalog, get_catalog
from .config import KISConfig
from .errors import KISConnectError, KISError, KISProtocolError, KISTransportError, KISUsageError
from .flow import Flow, RawResponse, exchange
from .protocol import (
    PreparedRequest,
    build_approval_request,
    build_hashkey_request,
    build_request,
    build_revoke_request,
    build_token_request,
    encode_body,
    parse_approval_key,
    parse_hashkey,
    parse_token_grant,
)
from .redaction import logger, register_secret
from .response import KISResponse
from .retry import RetryPolicy
from .tokens import AccessToken

__all__ = ["BaseKISClient"]

# Failures that happen before a byte of the request is on the wire.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class BaseKISClient:
    """Configuration, catalog look-ups and the I/O-free flows of every client call."""

    def __init__(
        self,
        config: KISConfig | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.config = config if config is not None else KISConfig()
        self.catalog = catalog if catalog is not None else get_catalog()
        self.retry_policy = retry_policy or RetryPolicy.from_config(self.config)
        for secret in (
            self.config.kis_app_secret,
            self.config.personalseckey,
            self.config.redis_url,
        ):
            if secret is not None:
                register_secret(secret.get_secret_value())

    def get_tr_id(
        self,
        api_id: str,
        is_paper_trading: bool | None = None,
        *,
        variant: str | None = None,
    ) -> str | None:
        """The TR_ID of ``api_id`` (official id or alias) on the paper or real domain.

        ``is_paper_trading=None`` uses the configured environment. Returns ``None`` for APIs
        that take no TR_ID (OAuth, Hashkey). Raises :class:`KISUnknownAPIError` (with close
        matches), :class:`KISPaperTradingUnsupportedError` or :class:`KISVariantError`.

        >>> client.get_tr_id("order-cash", is_paper_trading=True, variant="buy")
        'VTTC0012U'
        """
        paper = self.config.is_paper if is_paper_trading is None else is_paper_trading
        return self.catalog.get(api_id).tr_id_for(paper, variant)

    # -- flows (no I/O: the subclasses perform the actions) ------------------------------------

    def _request_flow(
        self,
        method: str,
        url: str | None,
        params: Mapping[str, Any] | None,
        *,
        tr_id: str | None,
        api_id: str | None,
        variant: str | None,
        hashkey: bool,
        tr_cont: str,
        headers: Mapping[str, str] | None,
    ) -> Flow[KISResponse]:
        request = build_request(
            self.config,
            method,
            url,
            params,
            tr_id=tr_id,
            api_id=api_id,
            variant=variant,
            tr_cont=tr_cont,
            headers=headers,
            catalog=self.catalog,
        )
        if hashkey:
            if request.method != "POST":
                raise KISUsageError("hashkey=True signs a POST body; a GET has none")
            signature = yield from self._hash_flow(request.content)
            request = request.with_hashkey(signature)
        return (yield from exchange(request, self.retry_policy))

    def _hash_flow(self, content: bytes) -> Flow[str]:
        response = yield from exchange(
            build_hashkey_request(self.config, content), self.retry_policy
        )
        return parse_hashkey(response)

    def _hashkey_flow(self, body: Mapping[str, Any]) -> Flow[str]:
        return (yield from self._hash_flow(encode_body(body)))

    def _token_flow(self) -> Flow[AccessToken]:
        response = yield from exchange(build_token_request(self.config), self.retry_policy)
        return parse_token_grant(response)

    def _revoke_flow(self, token: AccessToken) -> Flow[None]:
        yield from exchange(build_revoke_request(self.config, token), self.retry_policy)
        logger.debug("access token revoked")

    def _approval_flow(self) -> Flow[str]:
        response = yield from exchange(build_approval_request(self.config), self.retry_policy)
        return parse_approval_key(response)

    # -- helpers for the I/O shells ------------------------------------------------------------

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout)

    @staticmethod
    def _raw(response: httpx.Response) -> RawResponse:
        return RawResponse(response.status_code, dict(response.headers.items()), response.content)

    @staticmethod
    def _transport_error(exc: httpx.HTTPError, request: PreparedRequest) -> KISError:
        what = f"{request.method} {request.path}"
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, _NOT_SENT):
            return KISConnectError(f"could not connect for {what}: {detail}")
        if isinstance(exc, httpx.TransportError):
            return KISTransportError(f"{type(exc).__name__} during {what}: {detail}")
        return KISProtocolError(f"unreadable reply to {what}: {type(exc).__name__}: {detail}")

    @staticmethod
    def _log(request: PreparedRequest, outcome: str, elapsed: float) -> None:
        logger.debug(
            "%s %s tr_id=%s -> %s in %.1f ms",
            request.method,
            request.path,
            request.tr_id or "-",
            outcome,
            elapsed * 1000,
        )
