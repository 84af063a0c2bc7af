"""The logic of one KIS call, written once for both clients.

A flow is a generator that yields *actions* (send this request, get a token, wait for the
rate-limit budget, sleep) and receives their results; a failed action is thrown back into it.
:class:`~.client.KISRestClient` performs the actions with blocking calls and
:class:`~.aio.AsyncKISRestClient` with ``await``, both through the drivers of :mod:`._drive`,
so retries, token replays and hashkey signing behave identically in both, and the flow itself
is tested without a network. Each action declares its result type (see :func:`._drive.ask`).

>>> flow = exchange(request, RetryPolicy())
>>> action = next(flow)            # GetToken() for a gateway call
>>> action = flow.send(token)      # AcquireBudget(...), then Send(..., permit)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from ._drive import Effect, Effects, Sleep, ask
from .errors import (
    KISAmbiguousOutcomeError,
    KISConnectError,
    KISError,
    KISInvalidTokenError,
)
from .protocol import AccessToken, PreparedRequest, RawResponse, parse_response
from .protocol.models import KISResponse
from .protocol.retry import RetryPolicy
from .ratelimit.base import Permit

__all__ = [
    "AcquireBudget",
    "DropToken",
    "Flow",
    "GetToken",
    "Send",
    "call_ends_at",
    "check_deadline",
    "exchange",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Send(Effect[RawResponse]):
    """Send ``request``; the result is a :class:`RawResponse` or a ``KISTransportError``.

    ``permit`` (from :class:`AcquireBudget`) goes back to the rate limiter as soon as the reply
    or the failure is in, whatever happens, cancellation included: the shell releases it in a
    ``finally`` around the send. Releasing on the reply, not on the send, is what keeps the
    budget under KIS's window whatever the latency (see :mod:`.ratelimit.local`).

    ``time_limit`` bounds the attempt end to end (connect, send, every read), in seconds from
    now. When it runs out the shell raises ``KISTransportError`` (which makes an order
    ambiguous); when it is 0 the shell sends nothing and raises ``KISConnectError``.
    """

    request: PreparedRequest
    permit: Permit | None
    time_limit: float


@dataclass(frozen=True)
class GetToken(Effect[AccessToken]):
    """Get the current access token (issuing one if needed); the result is an AccessToken."""


@dataclass(frozen=True)
class DropToken(Effect[bool]):
    """Drop ``token`` if it is still the current one (KIS rejected it); the result says if
    it was."""

    token: AccessToken


@dataclass(frozen=True)
class AcquireBudget(Effect[Permit]):
    """Wait until the rate limiter lets ``request`` go; the result is its :class:`Permit`."""

    request: PreparedRequest


#: A call's flow: yields the actions above (and :class:`Sleep`), returns a ``T``.
Flow = Effects[Effect[Any], T]


def exchange(
    request: PreparedRequest,
    policy: RetryPolicy,
    *,
    attempt_seconds: float = math.inf,
    ends_at: float | None = None,
) -> Flow[KISResponse]:
    """Send ``request`` until it succeeds or the failure is final.

    Each attempt may take ``attempt_seconds`` end to end (the clients always pass
    ``config.attempt_deadline``; the default is for flows driven by hand in tests), and the
    whole call must be over by ``ends_at`` (on :func:`time.monotonic`) if given: the last
    attempt gets only what is left, no retry starts after it, and once it has passed before a
    request is sent (token, budget or send step) :func:`check_deadline` raises, unsent.

    * A gateway call gets the current token before each attempt; if KIS answers that the
      token is invalid or expired (EGW00121/122/123), the token is dropped and the call is
      replayed once with a fresh one. For an order only when the gateway refused it (not
      HTTP 200): a gateway code in an HTTP 200 makes an order ambiguous
      (:mod:`.protocol.retry`).
    * Each attempt of a rate-limited call waits for a permit first (retries too, EGW00201
      ones included) and sends with it; the shell gives it back when the reply is in.
    * An order that KIS may have executed although the reply was lost or broken raises
      :class:`KISAmbiguousOutcomeError` and is never resent (``policy.is_ambiguous``).
    * Other failures are retried when ``policy.should_retry`` says so, after ``policy.delay``.
    """
    started = time.monotonic()
    retries = 0
    token_replayed = False
    while True:
        sending = request
        token: AccessToken | None = None
        if request.needs_token:
            check_deadline(request, ends_at)
            token = yield from ask(GetToken())
            sending = request.with_token(token)
        permit: Permit | None = None
        if request.rate_limited:
            check_deadline(request, ends_at)
            permit = yield from ask(AcquireBudget(sending))
        sent_at = time.time()  # a float: a datetime is built only for an ambiguous order
        try:
            raw = yield from ask(Send(sending, permit, _time_limit(attempt_seconds, ends_at)))
            return parse_response(raw.status_code, raw.headers, raw.content, sending)
        except KISError as exc:
            failure = exc
        if policy.is_ambiguous(sending, failure):
            raise _ambiguous(sending, failure, sent_at) from failure
        if isinstance(failure, KISInvalidTokenError) and token is not None and not token_replayed:
            token_replayed = True  # an order's HTTP 200 is ambiguous above: never replayed
            yield from ask(DropToken(token))
            continue
        elapsed = time.monotonic() - started
        out_of_time = ends_at is not None and time.monotonic() >= ends_at
        if out_of_time or not policy.should_retry(sending, failure, retries, elapsed):
            raise failure
        left = policy.max_wait - elapsed
        if ends_at is not None:
            left = min(left, ends_at - time.monotonic())
        pause = min(policy.delay(retries), max(0.0, left))
        retries += 1
        if pause > 0:
            yield from ask(Sleep(pause))


def call_ends_at(deadline: float | None) -> float | None:
    """The :func:`time.monotonic` time by which a call given ``deadline`` seconds must end."""
    return None if deadline is None else time.monotonic() + deadline


def check_deadline(request: PreparedRequest, ends_at: float | None) -> None:
    """Raise :class:`KISConnectError` (nothing sent) if the call's end has passed."""
    if ends_at is not None and time.monotonic() >= ends_at:
        raise KISConnectError(
            f"the call's deadline passed before {request.method} {request.path} was sent; "
            "nothing was sent"
        )


def _time_limit(attempt_seconds: float, ends_at: float | None) -> float:
    if ends_at is None:
        return attempt_seconds
    return min(attempt_seconds, max(0.0, ends_at - time.monotonic()))


def _ambiguous(
    request: PreparedRequest, failure: KISError, sent_at: float
) -> KISAmbiguousOutcomeError:
    return KISAmbiguousOutcomeError(
        f"order {request.method} {request.path} (tr_id={request.tr_id}) may or may not have "
        f"been executed: {failure}",
        sent_at=datetime.fromtimestamp(sent_at, UTC),
        body=request.body,
        tr_id=request.tr_id,
        path=request.path,
    )
