"""``KISRestClient``: the blocking KIS REST client.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> with KISRestClient(KISConfig()) as client:          # KIS_* variables or .env
...     params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
...     price = client.make_request("GET", api_id="inquire-price", params=params)
...     price["output"]["stck_prpr"]
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from ssl import SSLContext
from types import TracebackType
from typing import Any, TypeVar

import httpcore
import httpx

from ._attempt import AttemptClock
from ._base import BaseKISClient
from ._drive import Effect, Sleep, run
from ._flow import AcquireBudget, DropToken, Flow, GetToken, Send
from ._pages import Pages
from .catalog import Catalog
from .config import KISConfig
from .errors import KISConfigError
from .protocol import AccessToken, KISResponse, PreparedRequest, RawResponse
from .protocol.models import approval_key_token
from .protocol.retry import RetryPolicy
from .ratelimit.base import RateLimiter
from .ratelimit.shared import shared_rate_limiter
from .tokens import make_token_store
from .tokens.managers import TokenManager
from .tokens.store import APPROVAL_KEY, TokenStore

__all__ = ["KISRestClient"]

T = TypeVar("T")


class KISRestClient(BaseKISClient):
    """A thread-safe KIS REST client over one pooled :class:`httpx.Client`.

    Pass ``http_client`` for proxies or custom TLS (it is then yours to close, and its own
    timeouts apply). Use it as a context manager or call :meth:`close`. On a client of your own
    the attempt deadline is checked only between body chunks: its sockets are not wrapped, so
    a connect or a single read may last its own timeouts, however long the deadline.
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
        self._http = http_client or _bounded_client(self._timeout())
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
        timeout of your own (a thread join, ``asyncio.wait_for``): check the order history
        (``inquire-daily-ccld``) first, or pass ``deadline=`` to get that error instead.
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
        return self._run(self._call_flow(request, hashkey=hashkey, ends_at=ends_at))

    def send(self, request: PreparedRequest, *, deadline: float | None = None) -> KISResponse:
        """Send a request from :meth:`build_request` (or :meth:`sign`) and return the reply.

        Gets the token, waits for the rate-limit budget and retries as :meth:`make_request`
        does; an order is sent at most once per call (a lost reply raises
        :class:`KISAmbiguousOutcomeError`). ``deadline`` as in :meth:`make_request`.
        """
        return self._run(
            self._call_flow(self._vetted(request), hashkey=False, ends_at=self._ends_at(deadline))
        )

    def sign(self, request: PreparedRequest, *, deadline: float | None = None) -> PreparedRequest:
        """A copy of the POST ``request`` carrying KIS's hashkey for its body (asked of KIS:
        a call of its own, so a step of its own). A GET raises :class:`KISUsageError`."""
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
        """
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
        failure: httpx.HTTPError | None = None
        bound = _ATTEMPT_ENDS_AT.set(clock.ends_at)  # read by _BoundedStream on every I/O
        try:
            raw = self._receive(request, clock)
        except httpx.HTTPError as exc:
            failure = exc
        finally:
            _ATTEMPT_ENDS_AT.reset(bound)
        if failure is not None:
            self._log(request, type(failure).__name__, time.perf_counter() - started)
            error = self._transport_error(failure, request, out_of_time=clock.ran_out())
            del failure  # its frames hold h11's header lists, credentials included
            raise error  # outside the except: nothing chained
        self._log(request, str(raw.status_code), time.perf_counter() - started)
        return raw

    def _receive(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        response = self._http.send(
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
            for chunk in response.iter_bytes():
                reader.add(chunk)
            return reader.raw()
        finally:
            response.close()


# The monotonic time at which the current thread's attempt must end. No default: our sockets
# are only used inside _send, which sets it; anything else is a bug that must not go unbounded.
_ATTEMPT_ENDS_AT: ContextVar[float] = ContextVar("kis_attempt_ends_at")


def _within_attempt(timeout: float | None, late: type[Exception]) -> float:
    """``timeout`` cut to what is left of the attempt; ``late`` once nothing is left.

    httpx has no overall deadline: its read timeout restarts with every byte, so a server that
    trickles a byte a second (or ``100 Continue`` a second) would hold a call forever.
    """
    left = _ATTEMPT_ENDS_AT.get() - time.monotonic()
    if left <= 0:
        raise late("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the attempt's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_attempt(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_attempt(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _within_attempt(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, handing out :class:`_BoundedStream` connections."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _within_attempt(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return _BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = _within_attempt(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _bounded_client(timeout: httpx.Timeout) -> httpx.Client:
    """An httpx client (environment proxies included) whose sockets keep the attempt deadline.

    httpx offers no public hook for the network backend, so the pools' backend is wrapped in
    place. Should a new httpx rename what this reaches for, construction fails (every client
    test with it) rather than the deadline silently not applying.
    """
    client = httpx.Client(timeout=timeout)
    for transport in (client._transport, *client._mounts.values()):
        if transport is None:  # a mount that disables proxying for some hosts: nothing to wrap
            continue
        pool = getattr(transport, "_pool", None)
        if pool is None or not hasattr(pool, "_network_backend"):
            client.close()
            raise KISConfigError(
                f"this httpx ({httpx.__version__}) has no {type(transport).__name__}._pool."
                "_network_backend to bound: the attempt deadline cannot be kept; pin the httpx "
                "version stock_manager supports"
            )
        pool._network_backend = _BoundedBackend(pool._network_backend)
    return client
