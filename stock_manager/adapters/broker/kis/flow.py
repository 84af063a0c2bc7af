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
from .retry import RetryPolicy, answered_behind_gateway
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

    ``time_limit`` bounds the attempt end to end (connect, send, every read), in seconds from
    now; ``None`` leaves only the HTTP client's per-operation timeouts. When it runs out the
    shell raises ``KISTransportError`` (which makes an order ambiguous).
    """

    request: PreparedRequest
    permit: Permit | None = None
    time_limit: float | None = None


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


def exchange(
    request: PreparedRequest,
    policy: RetryPolicy,
    *,
    attempt_seconds: float | None = None,
    deadline: float | None = None,
) -> Flow[KISResponse]:
    """Send ``request`` until it succeeds or the failure is final.

    Each attempt may take ``attempt_seconds`` end to end (``config.attempt_deadline``), and the
    whole call ``deadline`` seconds: the last attempt gets only what is left, and no retry
    starts after it.

    * A gateway call gets the current token before each attempt; if KIS answers that the
      token is invalid or expired (EGW00121/122/123), the token is dropped and the call is
      replayed once with a fresh one. For an order only when the gateway refused it (not
      HTTP 200): then KIS rejected the call before processing it.
    * Each attempt of a rate-limited call waits for a permit first (retries too, EGW00201
      ones included) and sends with it; the shell gives it back when the reply is in.
    * An order that KIS may have executed although the reply was lost or broken raises
      :class:`KISAmbiguousOutcomeError` and is never resent (``policy.is_ambiguous``).
    * Other failures are retried when ``policy.should_retry`` says so, after ``policy.delay``.
    """
    started = time.monotonic()
    ends_at = started + deadline if deadline is not None else None
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
            limit = _time_limit(attempt_seconds, ends_at)
            raw: RawResponse = yield Send(sending, permit, limit)
            return parse_response(raw.status_code, raw.headers, raw.content, sending)
        except KISInvalidTokenError as rejected:
            if token is None or token_replayed:
                raise
            if request.is_order and answered_behind_gateway(rejected):
                raise  # an order is replayed only on the gateway's refusal (see retry.py)
            token_replayed = True
            yield DropToken(token)
            continue
        except KISError as exc:
            failure = exc
        if policy.is_ambiguous(sending, failure):
            raise _ambiguous(sending, failure, sent_at) from failure
        elapsed = time.monotonic() - started
        out_of_time = ends_at is not None and started + elapsed >= ends_at
        if out_of_time or not policy.should_retry(sending, failure, retries, elapsed):
            raise failure
        left = policy.max_wait - elapsed
        if ends_at is not None:
            left = min(left, ends_at - started - elapsed)
        pause = min(policy.delay(retries), max(0.0, left))
        retries += 1
        if pause > 0:
            yield Sleep(pause)


def _time_limit(attempt_seconds: float | None, ends_at: float | None) -> float | None:
    if ends_at is None:
        return attempt_seconds
    left = max(0.0, ends_at - time.monotonic())
    return left if attempt_seconds is None else min(attempt_seconds, left)


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
