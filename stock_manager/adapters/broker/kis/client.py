"""``KISRestClient``: the blocking KIS REST client.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> with KISRestClient(KISConfig()) as client:          # KIS_* variables or .env
...     params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
...     price = client.make_request("GET", api_id="inquire-price", params=params)
...     price["output"]["stck_prpr"]
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from .base import BaseKISClient
from .budgets import shared_rate_limiter
from .catalog import Catalog
from .config import KISConfig
from .flow import AcquireBudget, Action, DropToken, Flow, GetToken, RawResponse, Send, Sleep
from .protocol import PageCursor, PreparedRequest
from .ratelimit import RateLimiter
from .response import KISResponse
from .retry import RetryPolicy
from .token_store import APPROVAL_KEY, TokenStore, make_token_store
from .tokens import AccessToken, TokenManager, approval_key_token

__all__ = ["KISRestClient"]

T = TypeVar("T")


class KISRestClient(BaseKISClient):
    """A thread-safe KIS REST client over one pooled :class:`httpx.Client`.

    Pass ``http_client`` for proxies or custom TLS (it is then yours to close, and its own
    timeouts apply). Use it as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        config: KISConfig | None = None,
        *,
        http_client: httpx.Client | None = None,
        rate_limiter: RateLimiter | None = None,
        retry_policy: RetryPolicy | None = None,
        catalog: Catalog | None = None,
        token_store: TokenStore | None = None,
    ) -> None:
        super().__init__(config, retry_policy=retry_policy, catalog=catalog)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self._timeout())
        self._rate_limiter = rate_limiter
        # Tokens and approval keys are shared through the store (a file by default) with every
        # client of the same app key, in this process and others; see tokens.py.
        self.token_store = token_store if token_store is not None else make_token_store(self.config)
        self.tokens = self._create_token_manager()
        self.approval_keys = TokenManager.from_config(
            self.config,
            lambda: approval_key_token(self._run(self._approval_flow())),
            store=self.token_store,
            kind=APPROVAL_KEY,
        )

    def _create_token_manager(self) -> TokenManager:
        return TokenManager.from_config(
            self.config,
            lambda: self._run(self._token_flow()),
            lambda token: self._run(self._revoke_flow(token)),
            store=self.token_store,
        )

    @property
    def rate_limiter(self) -> RateLimiter:
        """The request budget: the one shared by every client of this app key in the process
        (:func:`~.budgets.shared_rate_limiter`), unless ``rate_limiter=`` was given."""
        if self._rate_limiter is None:
            self._rate_limiter = shared_rate_limiter(self.config)
        return self._rate_limiter

    # -- public calls --------------------------------------------------------------------------

    def make_request(
        self,
        method: str,
        url: str | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        tr_id: str | None = None,
        api_id: str | None = None,
        variant: str | None = None,
        hashkey: bool = False,
        tr_cont: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> KISResponse:
        """Call a KIS REST API and return its reply, or raise the typed error.

        ``url`` is a path on the configured domain (``"/uapi/..."``); ``api_id`` (an official id
        or alias) can stand in for it and supplies the TR_ID (``variant="buy"``/``"sell"`` where
        there are several; ``tr_id=`` overrides). GET ``params`` form the query string, POST
        ``params`` the JSON body. ``hashkey=True`` signs the body first (the same bytes are sent).
        """
        return self._run(
            self._request_flow(
                method,
                url,
                params,
                tr_id=tr_id,
                api_id=api_id,
                variant=variant,
                hashkey=hashkey,
                tr_cont=tr_cont,
                headers=headers,
            )
        )

    def iter_pages(
        self,
        method: str,
        url: str | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        tr_id: str | None = None,
        api_id: str | None = None,
        variant: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_pages: int = 100,
    ) -> Iterator[KISResponse]:
        """Yield every page of a paged inquiry, following ``tr_cont`` and the ctx-area fields.

        Stops after the page KIS marks as the last (``D``/``E``); raises
        :class:`KISProtocolError` if there are still more after ``max_pages`` pages.
        """
        cursor = PageCursor(params, max_pages)
        while True:
            page = self.make_request(
                method,
                url,
                cursor.params,
                tr_id=tr_id,
                api_id=api_id,
                variant=variant,
                tr_cont=cursor.tr_cont,
                headers=headers,
            )
            yield page
            if not cursor.advance(page):
                return

    def hashkey(self, body: Mapping[str, Any]) -> str:
        """KIS's hashkey (``HASH``) for ``body`` as this client would serialise it."""
        return self._run(self._hashkey_flow(body))

    def approval_key(self) -> str:
        """A websocket approval key from ``/oauth2/Approval``, cached for its 24-hour life."""
        return self.approval_keys.get().value

    def access_token(self) -> AccessToken:
        """The current access token, issued if there is none yet."""
        return self.tokens.get()

    def revoke(self) -> bool:
        """Revoke the access token (held or stored) at KIS and drop it from the token store;
        False if there was none."""
        return self.tokens.revoke()

    def close(self, *, revoke: bool = False) -> None:
        """Close the pool (if the client made it); ``revoke=True`` revokes the token first."""
        try:
            if revoke:
                self.revoke()
        finally:
            if self._owns_http:
                self._http.close()

    def __enter__(self) -> KISRestClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"KISRestClient(environment={self.config.environment!r}, "
            f"base_url={self.config.rest_base_url!r})"
        )

    # -- performing a flow's actions -----------------------------------------------------------

    def _run(self, flow: Flow[T]) -> T:
        result: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    action = flow.throw(error) if error is not None else flow.send(result)
                except StopIteration as done:
                    value: T = done.value
                    return value
                result, error = None, None
                try:
                    result = self._perform(action)
                except Exception as exc:  # handed to the flow, which decides
                    error = exc
        finally:
            flow.close()

    def _perform(self, action: Action) -> Any:
        match action:
            case Send(request, permit):
                try:
                    return self._send(request)
                finally:  # the reply is in (or never will be): the slot's rest starts now
                    if permit is not None:
                        self.rate_limiter.release(permit)
            case GetToken():
                return self.tokens.get()
            case DropToken(token):
                return self.tokens.invalidate(token.value)
            case AcquireBudget():
                return self.rate_limiter.acquire()
            case Sleep(seconds):
                time.sleep(seconds)
                return None

    def _send(self, request: PreparedRequest) -> RawResponse:
        http_request = self._http.build_request(
            request.method,
            request.url,
            headers=dict(request.headers),
            content=request.content or None,
        )
        started = time.perf_counter()
        try:
            response = self._http.send(http_request, follow_redirects=False)
        except httpx.HTTPError as exc:
            self._log(request, type(exc).__name__, time.perf_counter() - started)
            raise self._transport_error(exc, request) from exc
        self._log(request, str(response.status_code), time.perf_counter() - started)
        return self._raw(response)
