"""What the sync and async clients share: configuration, catalog, and every call's flow.

``KISRestClient`` and ``AsyncKISRestClient`` subclass :class:`BaseKISClient` and add only the
part that waits: performing the actions a flow yields (see :mod:`._flow` and :mod:`._drive`).

Calls have httpx's shape: :meth:`BaseKISClient.build_request` (pure, the same in both colours)
makes a :class:`PreparedRequest`; the shells' ``sign`` adds KIS's hashkey to a POST (a call to
KIS of its own, so a separate step rather than part of building); ``send`` runs the exchange
(token, rate-limit budget, retries, ambiguous orders). ``make_request`` is the three composed
under one deadline, and ``iter_pages`` builds each page's request from its :class:`PageCursor`.

A paper config holding a real key pair hands the calls only the real domain offers (and that
take no account: see :mod:`._routing`) to a second client of the same kind built from
``config.real_key_config()``: its own token, budget and connections. ``_real_route`` says when.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Self

from ._attempt import AttemptClock
from ._flow import Flow, call_ends_at, check_deadline, exchange
from ._routing import goes_to_real_key, may_use_real_key
from .catalog import ApiSpec, Catalog, get_catalog
from .config import KISConfig
from .errors import (
    KISConnectError,
    KISUsageError,
)
from .protocol import (
    AccessToken,
    KISResponse,
    PageCursor,
    PreparedRequest,
    build_approval_request,
    build_hashkey_request,
    build_revoke_request,
    build_token_request,
    encode_body,
    parse_approval_key,
    parse_hashkey,
    parse_token_grant,
    resolve_url,
)
from .protocol import build_request as prepare_request
from .protocol.paging import CURSOR
from .protocol.retry import RetryPolicy
from .redaction import logger, redact, register_secret

__all__ = ["BaseKISClient"]


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
        self._closed = False
        # The client of the real key pair, made on the first call that needs it.
        self._real: Self | None = None
        self._real_lock = threading.Lock()
        for secret in (
            self.config.kis_app_secret,
            self.config.personalseckey,
            self.config.redis_url,
            self.config.real_app_secret,
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

    def _real_client(self) -> Self:
        """The client of ``config.real_key_config()``, made once (see :mod:`._routing`)."""
        with self._real_lock:
            if self._real is None:
                self._check_open()
                self._real = self._make_real_client(self.config.real_key_config())
            return self._real

    def _make_real_client(self, config: KISConfig) -> Self:
        """A client like this one for the real key pair's ``config`` (the shells say how)."""
        raise NotImplementedError

    def build_request(
        self,
        method: str,
        url: str | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        tr_id: str | None = None,
        api_id: str | None = None,
        variant: str | None = None,
        tr_cont: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> PreparedRequest:
        """The request ``make_request`` would send for these arguments, checked, unsent.

        No I/O (on the async client too, as in httpx): the token joins in ``send``, on every
        attempt. A bad call raises its typed error (:class:`KISUsageError`, an unknown API, a
        missing variant) here. ``client.send(client.build_request("GET", api_id=...))``

        On a paper config with a real key pair, a call only the real domain offers (and that
        takes no account) is built by the real key's client, for the real domain; ``send``
        hands it back to that client.
        """
        route = self._real_route(method, url, api_id)
        if route is not None:
            return self._real_client().build_request(
                method,
                route or None,
                params,
                tr_id=tr_id,
                api_id=api_id,
                variant=variant,
                tr_cont=tr_cont,
                headers=headers,
            )
        return prepare_request(
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

    def _pager(
        self,
        method: str,
        url: str | None,
        params: Mapping[str, Any] | None,
        *,
        tr_id: str | None,
        api_id: str | None,
        variant: str | None,
        headers: Mapping[str, str] | None,
        max_pages: int,
        max_restarts: int,
    ) -> tuple[PreparedRequest, Callable[[PageCursor], PreparedRequest], PageCursor]:
        """The first page's request, how ``iter_pages`` builds the next ones from the cursor,
        and the cursor. Everything that can be refused is refused here, before any is sent: a
        call that may not be repeated page after page (a POST, an order), an API paged by a
        cursor the caller moves, and whatever :meth:`build_request` refuses."""
        self._check_open()
        self._check_pageable(method, api_id)
        spec = self._spec_of(method, url, api_id)
        paging = spec.paging if spec is not None else None
        if spec is not None and paging is not None and paging.form == CURSOR:
            keys = ", ".join(paging.keys) or "its time or date parameter"
            raise KISUsageError(
                f"{spec.api_id} ({spec.alias}) is paged by a cursor you move ({keys}), not by a "
                "continuation key: call make_request in a loop, moving the cursor past the last "
                "row of each reply (see iter_pages). Nothing was sent"
            )
        cursor = PageCursor(params, max_pages, paging, max_restarts=max_restarts)

        def page_request(cursor: PageCursor, *, warn: bool = False) -> PreparedRequest:
            return prepare_request(
                self.config,
                method,
                url,
                cursor.params,
                tr_id=tr_id,
                api_id=api_id,
                variant=variant,
                tr_cont=cursor.tr_cont,
                headers=headers,
                catalog=self.catalog,
                warn=warn,  # once, for the first page: every page has the same keys
            )

        return page_request(cursor, warn=True), page_request, cursor

    def _spec_of(self, method: str, url: str | None, api_id: str | None) -> ApiSpec | None:
        if api_id is not None:
            return self.catalog.get(api_id)
        if url is None:
            return None  # build_request says what is missing
        path = resolve_url(self.config.rest_base_url, url)[1]
        return self.catalog.find(method.strip().upper(), path)

    def _real_route(self, method: str, url: str | None, api_id: str | None) -> str | None:
        """The path to hand to the real-key client when this call goes through the real key
        (:mod:`._routing`), else None. The path rather than ``url``: an absolute URL names
        this client's domain. Raises :class:`KISPaperTradingUnsupportedError` for a call only
        the real domain offers that may not (order, account) or cannot (no pair) go there."""
        if not self.config.is_paper or not isinstance(method, str):
            return None  # build_request explains a bad method
        spec = self._spec_of(method, url, api_id)
        if not goes_to_real_key(spec, self.config):
            return None
        if url is None:
            return ""
        _, path, query = resolve_url(self.config.rest_base_url, url)
        return f"{path}?{query}" if query else path

    def _built_for_real_key(self, request: PreparedRequest) -> bool:
        """True for a request the real-key client built (see :meth:`build_request`): its app
        key is the real one and its API may go there. Anything else stays with this client,
        whose checks refuse a foreign domain: an order never reaches the real key this way."""
        if not self.config.has_real_key or not isinstance(request, PreparedRequest):
            return False
        if request.headers.get("appkey") != self.config.real_app_key:
            return False
        real = self.config.real_key_config()
        try:
            _, path, _ = resolve_url(real.rest_base_url, request.url)
        except KISUsageError:
            return False
        spec = self.catalog.find(request.method, path)
        return spec is not None and may_use_real_key(spec)

    def _vetted(self, request: PreparedRequest) -> PreparedRequest:
        """``request`` as this client will treat it, for :meth:`send` and :meth:`sign`.

        A request comes from outside there, perhaps built by hand, by another client or edited
        with ``dataclasses.replace``, so its flags are not trusted: it must go to this client's
        domain (else :class:`KISForeignURLError`: the token never leaves), carry this client's
        app key if any, and it is an order, a token call and rate limited as the catalog says
        (a POST the catalog does not know is an order): an order is never retried as a query.
        """
        if not isinstance(request, PreparedRequest):
            raise KISUsageError(
                f"send() and sign() take a PreparedRequest from build_request(), "
                f"not {type(request).__name__}"
            )
        _, path, _ = resolve_url(self.config.rest_base_url, request.url)
        appkey = request.headers.get("appkey")
        if appkey is not None and appkey != self.config.app_key:
            raise KISUsageError(
                "the request carries another app key (built by another client?): build it with "
                "this client's build_request(). Nothing was sent"
            )
        spec = self.catalog.find(request.method, path)
        order = spec.order if spec is not None else request.method == "POST"
        return replace(
            request,
            path=path,
            api=spec,
            is_order=order or request.is_order,
            needs_token=spec.auth == "token" if spec is not None else True,
            rate_limited=spec.rate_limited if spec is not None else True,
        )

    # -- flows (no I/O: the subclasses perform the actions) ------------------------------------

    @staticmethod
    def _ends_at(deadline: float | None) -> float | None:
        """When a call given ``deadline`` seconds must be over; every step of it keeps that."""
        if deadline is not None and not deadline > 0:
            raise KISUsageError(f"deadline must be a positive number of seconds, not {deadline!r}")
        return call_ends_at(deadline)

    def _call_flow(
        self, request: PreparedRequest, *, hashkey: bool, ends_at: float | None
    ) -> Flow[KISResponse]:
        """``make_request`` after building: sign if asked, then send, within one deadline."""
        if hashkey:
            request = yield from self._sign_flow(request, ends_at)
        return (yield from self._exchange(request, ends_at))

    def _sign_flow(self, request: PreparedRequest, ends_at: float | None) -> Flow[PreparedRequest]:
        if request.method != "POST":
            what = f"{request.method} {request.path}"
            raise KISUsageError(f"hashkey=True (sign) signs a POST body; {what} has none: unsent")
        signature = yield from self._hash_flow(request.content, ends_at)
        return request.with_hashkey(signature)

    def _exchange(
        self, request: PreparedRequest, ends_at: float | None = None
    ) -> Flow[KISResponse]:
        policy, attempt = self.retry_policy, self.config.attempt_deadline
        return exchange(request, policy, attempt_seconds=attempt, ends_at=ends_at)

    def _hash_flow(self, content: bytes, ends_at: float | None = None) -> Flow[str]:
        request = build_hashkey_request(self.config, content)
        check_deadline(request, ends_at)
        return parse_hashkey((yield from self._exchange(request, ends_at)))

    def _hashkey_flow(self, body: Mapping[str, Any]) -> Flow[str]:
        return (yield from self._hash_flow(encode_body(body)))

    def _token_flow(self) -> Flow[AccessToken]:
        # The reply holds the new token: no local of this frame may (see parse_token_grant).
        return parse_token_grant((yield from self._exchange(build_token_request(self.config))))

    def _revoke_flow(self, token: AccessToken) -> Flow[None]:
        yield from self._exchange(build_revoke_request(self.config, token))
        logger.debug("access token revoked")

    def _approval_flow(self) -> Flow[str]:
        response = yield from self._exchange(build_approval_request(self.config))
        return parse_approval_key(response)

    # -- helpers for the I/O shells ------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise KISUsageError("the client is closed: create a new one (nothing was sent)")

    def _check_pageable(self, method: str, api_id: str | None) -> None:
        """Paging repeats a call once per page: only an inquiry (GET) may be repeated."""
        verb = method.strip().upper() if isinstance(method, str) else method
        if verb != "GET" or (api_id is not None and self.catalog.get(api_id).order):
            raise KISUsageError(
                f"iter_pages follows the pages of an inquiry (GET), not a {verb!r} call: it "
                "would send the request again for every page (an order placed many times); "
                "use make_request. Nothing was sent"
            )

    @staticmethod
    def _check_time_left(request: PreparedRequest, clock: AttemptClock) -> None:
        """The call's ``deadline`` may be used up before this attempt starts: then the
        request is not sent at all (and is certainly not ambiguous)."""
        if clock.seconds <= 0:
            raise KISConnectError(
                f"the call's deadline passed before {request.method} {request.path} could be "
                "sent; nothing was sent"
            )

    @staticmethod
    def _log_cancelled_order(request: PreparedRequest, sent_at: float) -> str:
        """Warn that an order was cancelled after it may have left; returns the note to add to
        the exception. The caller's code never sees it otherwise (asyncio raises only
        ``CancelledError``/``TimeoutError``), yet KIS may have executed it. The cancellation may
        have come while connecting or waiting for the pool, so "may have been sent"."""
        when = datetime.fromtimestamp(sent_at, UTC).isoformat(timespec="milliseconds")
        note = (
            f"order {request.method} {request.path} (tr_id={request.tr_id}) was cancelled while "
            f"being sent (from {when}): it may have been sent and executed; body "
            f"{redact(repr(request.body))}"
            "; reconcile it with client.orders.reconcile (the order history) before sending it "
            "again"
        )
        logger.warning("%s", note)
        return note

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
