"""The logic of one KIS call, written once for both clients.

A flow is a generator that yields *actions* (send this request, get a token, wait for the
rate-limit budget, sleep) and receives their results; a failed action is thrown back into it.
:class:`~.client.KISRestClient` performs the actions with blocking calls and
:class:`~.aio.AsyncKISRestClient` with ``await``, so retries, token replays and hashkey signing
behave identically in both, and the flow itself is tested without a network.

>>> flow = exchange(request, RetryPolicy())
>>> action = next(flow)            # GetToken() for a gateway call
>>> action = flow.send(token)      # AcquireBudget(...), then Send(..., permit)
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from .errors import (
    KISAmbiguousOutcomeError,
    KISError,
    KISInvalidTokenError,
)
from .protocol import PreparedRequest, parse_response
from .ratelimit import Permit
from .response import KISResponse
from .retry import RetryPolicy
from .tokens import AccessToken

__all__ = [
    "AcquireBudget",
    "Action",
    "DropToken",
    "Flow",
    "GetToken",
    "RawResponse",
    "Send",
    "Sleep",
    "exchange",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send ``request``; the result is a :class:`RawResponse` or a ``KISTransportError``.

    ``permit`` (from :class:`AcquireBudget`) goes back to the rate limiter as soon as the reply
    or the failure is in, whatever happens, cancellation included: the shell releases it in a
    ``finally`` around the send. Releasing on the reply, not on the send, is what keeps the
    budget under KIS's window whatever the latency (see :mod:`.local_budget`).
    """

    request: PreparedRequest
    permit: Permit | None = None


@dataclass(frozen=True)
class GetToken:
    """Get the current access token (issuing one if needed); the result is an AccessToken."""


@dataclass(frozen=True)
class DropToken:
    """Drop ``token`` if it is still the current one (KIS rejected it)."""

    token: AccessToken


@dataclass(frozen=True)
class AcquireBudget:
    """Wait until the rate limiter lets ``request`` go; the result is its :class:`Permit`."""

    request: PreparedRequest


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` before the next attempt."""

    seconds: float


Action = Send | GetToken | DropToken | AcquireBudget | Sleep
Flow = Generator[Action, Any, T]


@dataclass(frozen=True)
class RawResponse:
    """What came back on the wire: status, headers (any case) and body bytes."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


def exchange(request: PreparedRequest, policy: RetryPolicy) -> Flow[KISResponse]:
    """Send ``request`` until it succeeds or the failure is final.

    * A gateway call gets the current token before each attempt; if KIS answers that the
      token is invalid or expired (EGW00121/122/123), the token is dropped and the call is
      replayed once with a fresh one. That is safe even for orders: KIS rejected the call
      before processing it.
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
            token = yield GetToken()
            sending = request.with_token(token)
        permit: Permit | None = None
        if request.rate_limited:
            permit = yield AcquireBudget(sending)
        sent_at = time.time()  # a float: a datetime is built only for an ambiguous order
        try:
            raw: RawResponse = yield Send(sending, permit)
            return parse_response(raw.status_code, raw.headers, raw.content, sending)
        except KISInvalidTokenError:
            if token is None or token_replayed:
                raise
            token_replayed = True
            yield DropToken(token)
            continue
        except KISError as exc:
            failure = exc
        if policy.is_ambiguous(sending, failure):
            raise _ambiguous(sending, failure, sent_at) from failure
        elapsed = time.monotonic() - started
        if not policy.should_retry(sending, failure, retries, elapsed):
            raise failure
        pause = min(policy.delay(retries), max(0.0, policy.max_wait - elapsed))
        retries += 1
        if pause > 0:
            yield Sleep(pause)


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
