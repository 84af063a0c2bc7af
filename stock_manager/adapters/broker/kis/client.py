"""``KISRestClient``: the blocking KIS REST client.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> with KISRestClient(KISConfig()) as client:          # KIS_* variables or .env
...     params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
...     price = client.make_request("GET", api_id="inquire-price", params=params)
...     price["output"]["stck_prpr"]
"""

from __future__ import annotations

import threading
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
    AttemptClock,
    Transport,
    late_error,
    queued_error,
)
from ._base import BaseKISClient
from ._drive import Effect, Sleep, run
from ._flow import AcquireBudget, DropToken, Flow, GetToken, Send
from ._pages import Pages
from ._transport_httpx import HttpxTransport, bounded_client, environment_proxy
from ._transport_sync import HTTPTransport
from .answers import Answers, Balance, Bar, Chart, Quote
from .catalog import Catalog
from .config import KISConfig
from .errors import KISError, KISUsageError
from .orders import Orders
from .protocol import AccessToken, KISResponse, PreparedRequest, RawResponse
from .protocol.models import approval_key_token
from .protocol.retry import RetryPolicy
from .ratelimit.base import RateLimiter
from .ratelimit.shared import shared_rate_limiter
from .reference import Market, Symbols
from .tokens import make_token_store
from .tokens.managers import TokenManager
from .tokens.store import APPROVAL_KEY, TokenStore

__all__ = ["KISRestClient"]

T = TypeVar("T")


class KISRestClient(BaseKISClient):
    """A thread-safe KIS REST client over one pool of keep-alive connections.

    Its own transport is the standard library's ``http.client`` (see :mod:`._transport_sync`);
    when a proxy from the environment (``HTTPS_PROXY``...) applies to KIS it uses an
    :class:`httpx.Client` instead, which honours it. At most :data:`POOL_SIZE` requests are in
    flight at once; more threads queue for a connection, within their deadline.

    ``http_client`` may be an :class:`httpx.Client`, for custom TLS, proxies or event hooks: it
    is then used for every request, is yours to close, and its own timeouts apply. On such a
    client the attempt deadline is checked only between body chunks (its sockets are not
    wrapped), so a connect or a single read may last its own timeouts. Anything else raises
    :class:`KISUsageError`. Use the client as a context manager or call :meth:`close`.
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
        self._http_client = http_client  # the real key's client, if any, sends through it too
        self._transport = _transport(self.config, http_client)
        # Requests wait here, not in the pool, for one of its connections.
        self._slots = threading.BoundedSemaphore(POOL_SIZE)
        self._rate_limiter = rate_limiter
        # Tokens and approval keys are shared through the store (a file by default) with every
        # client of the same app key, in this process and others; see tokens/managers.py.
        self.token_store = token_store if token_store is not None else make_token_store(self.config)
        self.tokens = self._create_token_manager()
        self.approval_keys = TokenManager.from_config(
            self.config,
            lambda: approval_key_token(self._run(self._approval_flow())),
            store=self.token_store,
            kind=APPROVAL_KEY,
        )

    def _make_real_client(self, config: KISConfig) -> KISRestClient:
        # Its own rate limiter (KIS limits per key); the same token store (keyed per key).
        return KISRestClient(
            config,
            http_client=self._http_client,
            retry_policy=self.retry_policy,
            catalog=self.catalog,
            token_store=self.token_store,
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
        (:func:`~.ratelimit.shared.shared_rate_limiter`), unless ``rate_limiter=`` was given."""
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
        deadline: float | None = None,
    ) -> KISResponse:
        """Call a KIS REST API and return its reply, or raise the typed error.

        ``url`` is a path on the configured domain (``"/uapi/..."``); ``api_id`` (an official id
        or alias) can stand in for it and supplies the TR_ID (``variant="buy"``/``"sell"`` where
        there are several; ``tr_id=`` overrides). GET ``params`` form the query string, POST
        ``params`` the JSON body. ``hashkey=True`` signs the body first (the same bytes are sent).
        The same as :meth:`build_request`, :meth:`sign` (if ``hashkey``) and :meth:`send` under
        one ``deadline``.

        Every attempt ends within ``config.attempt_deadline`` seconds. ``deadline`` (seconds)
        bounds the call from here on: the hashkey call, every attempt and the waits between
        retries share it; once it has passed before a request goes out (before getting the
        token, waiting for the rate-limit budget, or sending) :class:`KISConnectError` is raised
        and nothing is sent. What it cannot cut short is a wait already under way: issuing the
        access token (up to ``token_max_wait``, shared with other clients of the key) and the
        rate limiter's wait for a permit. An order whose reply does not come in time raises
        :class:`KISAmbiguousOutcomeError`: it may have been executed. Never retry an order on a
        timeout of your own (a thread join, ``asyncio.wait_for``): reconcile it first
        (``client.orders.reconcile``), or pass ``deadline=`` to get that error instead.

        On a paper config, an API only the real domain offers goes through the config's real
        key pair when it has one (never an order or a call taking an account: see
        :mod:`._routing`); else :class:`KISPaperTradingUnsupportedError` says why, unsent.
        """
        self._check_open()
        route = self._real_route(method, url, api_id)
        if route is not None:
            return self._real_client().make_request(
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
        return self._run(self._call_flow(request, hashkey=hashkey, ends_at=ends_at))

    def send(self, request: PreparedRequest, *, deadline: float | None = None) -> KISResponse:
        """Send a request from :meth:`build_request` (or :meth:`sign`) and return the reply.

        Gets the token, waits for the rate-limit budget and retries as :meth:`make_request`
        does; an order is sent at most once per call (a lost reply raises
        :class:`KISAmbiguousOutcomeError`). ``deadline`` as in :meth:`make_request`.
        """
        if self._built_for_real_key(request):
            return self._real_client().send(request, deadline=deadline)
        return self._run(
            self._call_flow(self._vetted(request), hashkey=False, ends_at=self._ends_at(deadline))
        )

    def sign(self, request: PreparedRequest, *, deadline: float | None = None) -> PreparedRequest:
        """A copy of the POST ``request`` carrying KIS's hashkey for its body (asked of KIS:
        a call of its own, so a step of its own). A GET raises :class:`KISUsageError`."""
        if self._built_for_real_key(request):
            return self._real_client().sign(request, deadline=deadline)
        return self._run(self._sign_flow(self._vetted(request), self._ends_at(deadline)))

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
    ) -> Pages:
        """Every page of a paged inquiry, following the API's own paging form.

        The catalog says how the API pages (``tr_cont`` with ``CTX_AREA_FK100``/``NK100`` or
        ``FK200``/``NK200``, ``KEYB``, ``NEXT`` + ``KEYB``, ``INDEX_KEY`` with ``QRY_TP`` ``Q``
        then ``P``; see :mod:`.protocol.paging`); a path it does not know pages by ``tr_cont``.
        Stops after the page KIS marks as the last; raises :class:`KISProtocolError` if there
        are still more after ``max_pages`` pages. If KIS answers ``SYDB0050`` (the data changed
        between pages) paging starts again from the first page, at most ``max_restarts`` times,
        then the error is raised.

        The result is a :class:`Pages` iterator: ``pages.collect()`` returns the pages of one
        consistent pass (or raises); iterating yields them as they come, and afterwards
        ``pages.truncated`` is True unless KIS marked the last page, ``pages.restarts`` counts
        the restarts (after one, the first page comes again: drop what you took before it).

        Only a GET is paged: a POST (an order above all) raises :class:`KISUsageError` here,
        unsent, as does everything :meth:`build_request` refuses. An API paged by a time or
        date the caller moves (domestic minute bars from ``FID_INPUT_HOUR_1``, period charts
        by date range) is refused too; page it yourself::

            hour, rows = "153000", []
            while hour:
                params = {..., "FID_INPUT_HOUR_1": hour}
                page = client.make_request("GET", api_id=..., params=params)["output2"]
                rows += page
                # The oldest row's time (stck_cntg_hour, HHMMSS) is where the next call
                # starts; stop when a call adds nothing older.
                oldest = page[-1]["stck_cntg_hour"] if page else ""
                hour = oldest if oldest and oldest < hour else ""

        An API only the real domain offers is paged through the real key, as in
        :meth:`make_request`.
        """
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
        return Pages(self.send, first, page_request, cursor)

    @cached_property
    def answers(self) -> Answers:
        """Typed answers: quotes, order books, balances, charts, orders (:mod:`.answers`)."""
        return Answers(self)

    def quote(self, symbol: str, *, market: str | None = None) -> Quote:
        """The price of ``symbol`` now, typed (see :meth:`.answers.Answers.quote`)."""
        return self.answers.quote(symbol, market=market)

    def balance(self) -> Balance:
        """The domestic account, every page: holdings and cash (see ``answers.balance``)."""
        return self.answers.balance()

    def chart(
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
        return self.answers.chart(
            symbol, interval=interval, start=start, end=end, count=count, market=market
        )

    @cached_property
    def market(self) -> Market:
        """The market calendar: holidays (fetched once a day), sessions, ``is_open``."""
        return Market(self)

    @cached_property
    def symbols(self) -> Symbols:
        """KIS's symbol master files, cached on disk: look up by code or name."""
        return Symbols(self)

    @cached_property
    def orders(self) -> Orders:
        """Order helpers: buy, sell, pending, modify, cancel and reconcile (:mod:`.orders`)."""
        return Orders(self)

    def hashkey(self, body: Mapping[str, Any]) -> str:
        """KIS's hashkey (``HASH``) for ``body`` as this client would serialise it."""
        return self._run(self._hashkey_flow(body))

    def approval_key(self) -> str:
        """A websocket approval key from ``/oauth2/Approval``, cached for its 24-hour life."""
        self._check_open()
        return self.approval_keys.get().value

    def access_token(self) -> AccessToken:
        """The current access token, issued if there is none yet."""
        self._check_open()
        return self.tokens.get()

    def revoke(self) -> bool:
        """Revoke the access token (held or stored) at KIS and drop it from the token store;
        False if there was none."""
        self._check_open()
        return self.tokens.revoke()

    def close(self, *, revoke: bool = False) -> None:
        """Close the pool (if the client made it); ``revoke=True`` revokes the token first.
        Closing twice does nothing; any call after it raises :class:`KISUsageError`."""
        if self._closed:
            return
        try:
            if revoke:
                self.revoke()
        finally:
            self._closed = True
            self._transport.close()
            with self._real_lock:
                real, self._real = self._real, None
            if real is not None:
                real.close(revoke=revoke)

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
        if self._closed:
            flow.close()
            self._check_open()
        return run(flow, self._perform)

    def _perform(self, action: Effect[Any]) -> object:
        match action:
            case Send(request, permit, time_limit):
                try:
                    return self._send(request, AttemptClock.start(time_limit))
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
        raise TypeError(f"the call flow yielded an unknown action: {action!r}")

    def _send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        self._check_time_left(request, clock)
        started = time.perf_counter()
        if not self._slots.acquire(timeout=clock.left()):
            raise queued_error(request, clock)
        try:
            if clock.left() < MIN_SEND_SECONDS:  # a slot freed just before the deadline
                raise late_error(request, clock)
            raw = self._transport.send(request, clock)
        except KISError as exc:
            self._log(request, type(exc).__name__, time.perf_counter() - started)
            raise
        finally:
            self._slots.release()
        self._log(request, str(raw.status_code), time.perf_counter() - started)
        return raw


def _transport(config: KISConfig, http_client: object) -> Transport:
    """The transport for ``http_client`` (see :class:`KISRestClient`)."""
    if isinstance(http_client, httpx.Client):
        return HttpxTransport(http_client, config.max_reply_bytes, owned=False)
    if http_client is not None:
        hint = (
            "; an httpx.AsyncClient goes with AsyncKISRestClient"
            if isinstance(http_client, httpx.AsyncClient)
            else ""
        )
        raise KISUsageError(
            f"http_client must be an httpx.Client (for proxies, custom TLS or event hooks), "
            f"not {type(http_client).__name__}{hint}"
        )
    if environment_proxy(config.rest_base_url):
        timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
        return HttpxTransport(bounded_client(timeout), config.max_reply_bytes, owned=True)
    return HTTPTransport(
        config.rest_base_url,
        connect_timeout=config.connect_timeout,
        read_timeout=config.timeout,
        max_reply_bytes=config.max_reply_bytes,
        pool_size=POOL_SIZE,
    )
