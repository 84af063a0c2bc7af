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
from datetime import date, datetime
from functools import cached_property
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._attempt import (
    MIN_SEND_SECONDS,
    POOL_SIZE,
    AsyncTransport,
    AttemptClock,
    late_error,
    queued_error,
)
from ._base import BaseKISClient
from ._drive import Effect, Sleep, arun
from ._flow import AcquireBudget, DropToken, Flow, GetToken, Send
from ._pages import AsyncPages
from ._transport_async import AiohttpTransport
from ._transport_httpx import AsyncHttpxTransport, environment_proxy
from .answers import AsyncAnswers, Balance, Bar, Chart, Quote
from .catalog import Catalog
from .config import KISConfig
from .errors import KISError, KISUsageError
from .orders import AsyncOrders
from .protocol import AccessToken, KISResponse, PreparedRequest, RawResponse
from .protocol.models import approval_key_token
from .protocol.retry import RetryPolicy
from .ratelimit.base import RateLimiter
from .ratelimit.shared import shared_rate_limiter
from .reference import AsyncMarket, AsyncSymbols
from .tokens import make_token_store
from .tokens.managers import AsyncTokenManager
from .tokens.store import APPROVAL_KEY, TokenStore

__all__ = ["AsyncKISRestClient"]

T = TypeVar("T")


class AsyncKISRestClient(BaseKISClient):
    """A KIS REST client for asyncio over one pool of keep-alive connections.

    Its own transport is an :mod:`aiohttp` session (see :mod:`._transport_async`), opened on
    the first call; when a proxy from the environment (``HTTPS_PROXY``...) applies to KIS it
    uses an :class:`httpx.AsyncClient` instead, which honours it. At most :data:`POOL_SIZE`
    requests are in flight at once: a burst of thousands of tasks queues for a connection,
    within each call's deadline, instead of failing in the pool.

    ``http_client`` may be an :class:`httpx.AsyncClient`, for custom TLS, proxies or event
    hooks: it is then used for every request, is yours to close, and its own timeouts apply
    (the attempt deadline still bounds each exchange). Anything else raises
    :class:`KISUsageError`.

    Safe to share between tasks of one event loop (the loop of its first call). Use
    ``async with`` or call :meth:`aclose`.
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
        self._http_client = http_client  # the real key's client, if any, sends through it too
        self._transport = _transport(self.config, http_client)
        # Requests wait here, not in the pool, for one of its connections.
        self._slots = asyncio.Semaphore(POOL_SIZE)
        self._rate_limiter = rate_limiter
        self.token_store = token_store if token_store is not None else make_token_store(self.config)
        self.tokens = self._create_token_manager()

        async def issue_approval_key() -> AccessToken:
            return approval_key_token(await self._run(self._approval_flow()))

        self.approval_keys = AsyncTokenManager.from_config(
            self.config, issue_approval_key, store=self.token_store, kind=APPROVAL_KEY
        )

    def _make_real_client(self, config: KISConfig) -> AsyncKISRestClient:
        # Its own rate limiter (KIS limits per key); the same token store (keyed per key).
        return AsyncKISRestClient(
            config,
            http_client=self._http_client,
            retry_policy=self.retry_policy,
            catalog=self.catalog,
            token_store=self.token_store,
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
        route = self._real_route(method, url, api_id)
        if route is not None:  # through the real key pair: see KISRestClient.make_request
            return await self._real_client().make_request(
                method,
                route or None,
                params,
                tr_id=tr_id,
                api_id=api_id,
                variant=variant,
                hashkey=hashkey,
                tr_cont=tr_cont,
                headers=headers,
                deadline=deadline,
            )
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
        if self._built_for_real_key(request):
            return await self._real_client().send(request, deadline=deadline)
        flow = self._call_flow(
            self._vetted(request), hashkey=False, ends_at=self._ends_at(deadline)
        )
        return await self._run(flow)

    async def sign(
        self, request: PreparedRequest, *, deadline: float | None = None
    ) -> PreparedRequest:
        """A copy of the POST ``request`` carrying KIS's hashkey; see :meth:`KISRestClient.sign`."""
        if self._built_for_real_key(request):
            return await self._real_client().sign(request, deadline=deadline)
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
        self._check_open()
        route = self._real_route(method, url, api_id)
        if route is not None:
            return self._real_client().iter_pages(
                method,
                route or None,
                params,
                tr_id=tr_id,
                api_id=api_id,
                variant=variant,
                headers=headers,
                max_pages=max_pages,
                max_restarts=max_restarts,
            )
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

    @cached_property
    def answers(self) -> AsyncAnswers:
        """Typed answers: quotes, order books, balances, charts, orders (:mod:`.answers`)."""
        return AsyncAnswers(self)

    async def quote(self, symbol: str, *, market: str | None = None) -> Quote:
        """The price of ``symbol`` now, typed (see :meth:`.answers.Answers.quote`)."""
        return await self.answers.quote(symbol, market=market)

    async def balance(self) -> Balance:
        """The domestic account, every page: holdings and cash (see ``answers.balance``)."""
        return await self.answers.balance()

    async def chart(
        self,
        symbol: str,
        *,
        interval: str = "1d",
        start: datetime | date | None = None,
        end: datetime | date | None = None,
        count: int | None = None,
        market: str | None = None,
    ) -> Chart[Bar]:
        """Bars of ``symbol``, oldest first (see :meth:`.answers.Answers.chart`)."""
        return await self.answers.chart(
            symbol, interval=interval, start=start, end=end, count=count, market=market
        )

    @cached_property
    def market(self) -> AsyncMarket:
        """The market calendar: holidays (fetched once a day), sessions, ``is_open``."""
        return AsyncMarket(self)

    @cached_property
    def symbols(self) -> AsyncSymbols:
        """KIS's symbol master files, cached on disk: look up by code or name."""
        return AsyncSymbols(self)

    @cached_property
    def orders(self) -> AsyncOrders:
        """Order helpers: buy, sell, pending, modify, cancel and reconcile (:mod:`.orders`)."""
        return AsyncOrders(self)

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
            await self._transport.aclose()
            real, self._real = self._real, None
            if real is not None:
                await real.aclose(revoke=revoke)

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
        await self._take_slot(request, clock)
        sent_at = time.time()
        try:
            if clock.left() < MIN_SEND_SECONDS:  # a slot freed just before the deadline
                raise late_error(request, clock)
            raw = await self._transport.send(request, clock)
        except KISError as exc:
            self._log(request, type(exc).__name__, time.perf_counter() - started)
            raise
        except asyncio.CancelledError as cancelled:
            if request.is_order:
                cancelled.add_note(self._log_cancelled_order(request, sent_at))
            raise
        finally:
            self._slots.release()
        self._log(request, str(raw.status_code), time.perf_counter() - started)
        return raw

    async def _take_slot(self, request: PreparedRequest, clock: AttemptClock) -> None:
        """Wait for one of the pool's connections; a wait that outlasts the attempt's deadline
        raises :class:`KISConnectError`: the request never left."""
        slots = self._slots
        if not slots.locked():
            await slots.acquire()  # free: taken at once, without yielding to the loop
            return
        late = False
        try:
            async with asyncio.timeout(clock.left()):
                await slots.acquire()
        except TimeoutError:
            late = True
        if late:
            raise queued_error(request, clock)


def _transport(config: KISConfig, http_client: object) -> AsyncTransport:
    """The transport for ``http_client`` (see :class:`AsyncKISRestClient`)."""
    if isinstance(http_client, httpx.AsyncClient):
        return AsyncHttpxTransport(http_client, config.max_reply_bytes, owned=False)
    if http_client is not None:
        hint = (
            "; an httpx.Client goes with KISRestClient"
            if isinstance(http_client, httpx.Client)
            else ""
        )
        raise KISUsageError(
            f"http_client must be an httpx.AsyncClient (for proxies, custom TLS or event "
            f"hooks), not {type(http_client).__name__}{hint}"
        )
    if environment_proxy(config.rest_base_url):
        timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
        return AsyncHttpxTransport(
            httpx.AsyncClient(timeout=timeout), config.max_reply_bytes, owned=True
        )
    return AiohttpTransport(
        connect_timeout=config.connect_timeout,
        read_timeout=config.timeout,
        max_reply_bytes=config.max_reply_bytes,
        pool_size=POOL_SIZE,
    )
