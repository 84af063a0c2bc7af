"""``AsyncKISRestClient``: the asyncio KIS REST client, the twin of ``KISRestClient``.

Every call that talks to KIS is a coroutine (``iter_pages`` is an async iterator);
:meth:`get_tr_id` stays a plain method because it only reads the catalog.

>>> async with AsyncKISRestClient(KISConfig()) as client:
...     balance = await client.make_request("GET", api_id="inquire-balance", params={...})
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._attempt import AttemptClock, deadline_error
from ._base import BaseKISClient
from ._drive import Effect, Sleep, arun
from ._flow import AcquireBudget, DropToken, Flow, GetToken, Send
from ._pages import AsyncPages
from .catalog import Catalog
from .config import KISConfig
from .errors import KISError
from .protocol import AccessToken, KISResponse, PreparedRequest, RawResponse
from .protocol.models import approval_key_token
from .protocol.retry import RetryPolicy
from .ratelimit.base import RateLimiter
from .ratelimit.shared import shared_rate_limiter
from .tokens import make_token_store
from .tokens.managers import AsyncTokenManager
from .tokens.store import APPROVAL_KEY, TokenStore

__all__ = ["AsyncKISRestClient"]

T = TypeVar("T")


class AsyncKISRestClient(BaseKISClient):
    """A KIS REST client for asyncio over one pooled :class:`httpx.AsyncClient`.

    Safe to share between tasks of one event loop. Use ``async with`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        config: KISConfig | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        rate_limiter: RateLimiter | None = None,
        retry_policy: RetryPolicy | None = None,
        catalog: Catalog | None = None,
        token_store: TokenStore | None = None,
    ) -> None:
        super().__init__(config, retry_policy=retry_policy, catalog=catalog)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self._timeout())
        self._rate_limiter = rate_limiter
        self.token_store = token_store if token_store is not None else make_token_store(self.config)
        self.tokens = self._create_token_manager()

        async def issue_approval_key() -> AccessToken:
            return approval_key_token(await self._run(self._approval_flow()))

        self.approval_keys = AsyncTokenManager.from_config(
            self.config, issue_approval_key, store=self.token_store, kind=APPROVAL_KEY
        )

    def _create_token_manager(self) -> AsyncTokenManager:
        async def issue() -> AccessToken:
            return await self._run(self._token_flow())

        async def revoke(token: AccessToken) -> None:
            await self._run(self._revoke_flow(token))

        return AsyncTokenManager.from_config(self.config, issue, revoke, store=self.token_store)

    @property
    def rate_limiter(self) -> RateLimiter:
        """The request budget: the one shared by every client of this app key in the process
        (:func:`~.ratelimit.shared.shared_rate_limiter`), unless ``rate_limiter=`` was given."""
        if self._rate_limiter is None:
            self._rate_limiter = shared_rate_limiter(self.config)
        return self._rate_limiter

    # -- public calls --------------------------------------------------------------------------

    async def make_request(
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
        deadline: float | None = None,
    ) -> KISResponse:
        """Call a KIS REST API; see :meth:`KISRestClient.make_request`.

        Cancelling the call (``task.cancel()``, ``asyncio.wait_for``) keeps asyncio's meaning:
        ``CancelledError``/``TimeoutError`` is raised, the rate-limit permit is released. But an
        order cancelled while being sent may have been executed: that is logged as a WARNING,
        the reliable signal, and noted on the ``CancelledError``. ``asyncio.wait_for`` raises
        its own ``TimeoutError`` from that one, so there the note is on ``exc.__cause__``.
        Never retry an order on such a timeout; pass ``deadline=`` (seconds) instead to get
        :class:`KISAmbiguousOutcomeError`.
        """
        self._check_open()
        ends_at = self._ends_at(deadline)
        request = self.build_request(
            method,
            url,
            params,
            tr_id=tr_id,
            api_id=api_id,
            variant=variant,
            tr_cont=tr_cont,
            headers=headers,
        )
        return await self._run(self._call_flow(request, hashkey=hashkey, ends_at=ends_at))

    async def send(self, request: PreparedRequest, *, deadline: float | None = None) -> KISResponse:
        """Send a request from :meth:`build_request` (or :meth:`sign`); see
        :meth:`KISRestClient.send`."""
        flow = self._call_flow(
            self._vetted(request), hashkey=False, ends_at=self._ends_at(deadline)
        )
        return await self._run(flow)

    async def sign(
        self, request: PreparedRequest, *, deadline: float | None = None
    ) -> PreparedRequest:
        """A copy of the POST ``request`` carrying KIS's hashkey; see :meth:`KISRestClient.sign`."""
        return await self._run(self._sign_flow(self._vetted(request), self._ends_at(deadline)))

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
        max_restarts: int = 2,
    ) -> AsyncPages:
        """Every page of a paged inquiry, for ``async for``; see
        :meth:`KISRestClient.iter_pages` (``await pages.collect()``, ``pages.truncated``; a
        POST raises :class:`KISUsageError` here, before anything is sent)."""
        first, page_request, cursor = self._pager(
            method,
            url,
            params,
            tr_id=tr_id,
            api_id=api_id,
            variant=variant,
            headers=headers,
            max_pages=max_pages,
            max_restarts=max_restarts,
        )
        return AsyncPages(self.send, first, page_request, cursor)

    async def hashkey(self, body: Mapping[str, Any]) -> str:
        """KIS's hashkey (``HASH``) for ``body`` as this client would serialise it."""
        return await self._run(self._hashkey_flow(body))

    async def approval_key(self) -> str:
        """A websocket approval key from ``/oauth2/Approval``, cached for its 24-hour life."""
        self._check_open()
        return (await self.approval_keys.get()).value

    async def access_token(self) -> AccessToken:
        """The current access token, issued if there is none yet."""
        self._check_open()
        return await self.tokens.get()

    async def revoke(self) -> bool:
        """Revoke the access token (held or stored) at KIS and drop it from the token store;
        False if there was none."""
        self._check_open()
        return await self.tokens.revoke()

    async def aclose(self, *, revoke: bool = False) -> None:
        """Close the pool (if the client made it); ``revoke=True`` revokes the token first.
        Closing twice does nothing; any call after it raises :class:`KISUsageError`."""
        if self._closed:
            return
        try:
            if revoke:
                await self.revoke()
        finally:
            self._closed = True
            if self._owns_http:
                await self._http.aclose()

    async def __aenter__(self) -> AsyncKISRestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AsyncKISRestClient(environment={self.config.environment!r}, "
            f"base_url={self.config.rest_base_url!r})"
        )

    # -- performing a flow's actions -----------------------------------------------------------

    async def _run(self, flow: Flow[T]) -> T:
        if self._closed:
            flow.close()
            self._check_open()
        return await arun(flow, self._perform)

    async def _perform(self, action: Effect[Any]) -> object:
        match action:
            case Send(request, permit, time_limit):
                try:
                    return await self._send(request, AttemptClock.start(time_limit))
                finally:  # the reply is in (or never will be): the slot's rest starts now
                    if permit is not None:
                        await self.rate_limiter.arelease(permit)
            case GetToken():
                return await self.tokens.get()
            case DropToken(token):
                return await self.tokens.invalidate(token.value)
            case AcquireBudget():
                return await self.rate_limiter.aacquire()
            case Sleep(seconds):
                await asyncio.sleep(seconds)
                return None
        raise TypeError(f"the call flow yielded an unknown action: {action!r}")

    async def _send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        self._check_time_left(request, clock)
        started = time.perf_counter()
        sent_at = time.time()
        failure: httpx.HTTPError | TimeoutError | None = None
        try:
            async with asyncio.timeout(clock.left()):
                raw = await self._receive(request, clock)
        except (httpx.HTTPError, TimeoutError) as exc:  # TimeoutError: the attempt's deadline
            failure = exc
        except asyncio.CancelledError as cancelled:
            if request.is_order:
                cancelled.add_note(self._log_cancelled_order(request, sent_at))
            raise
        if failure is not None:
            self._log(request, type(failure).__name__, time.perf_counter() - started)
            error = self._failure(failure, request, clock)
            del failure  # its frames hold h11's header lists, credentials included
            raise error  # outside the except: nothing chained
        self._log(request, str(raw.status_code), time.perf_counter() - started)
        return raw

    def _failure(
        self, failure: httpx.HTTPError | TimeoutError, request: PreparedRequest, clock: AttemptClock
    ) -> KISError:
        if isinstance(failure, httpx.HTTPError):
            return self._transport_error(failure, request, out_of_time=clock.ran_out())
        return deadline_error(request, clock.seconds, "TimeoutError")

    async def _receive(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        response = await self._http.send(
            self._http.build_request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content or None,
            ),
            follow_redirects=False,
            stream=True,
        )
        try:
            reader = self._reply_reader(request, response, clock)
            async for chunk in response.aiter_bytes():
                reader.add(chunk)
            return reader.raw()
        finally:
            await response.aclose()
