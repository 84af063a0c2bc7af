"""What the sync and async realtime shells share: logging, messages, the error that ends a
stream. No I/O here (the shells do it); the sans-I/O core knows nothing of this module.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Literal

from ..config import KISConfig
from ..errors import (
    KISAppKeyInUseError,
    KISConfigError,
    KISConnectError,
    KISError,
    KISRealtimeError,
)
from ..redaction import get_logger, redact
from .registry import Pair

__all__ = [
    "WIRE_LOGGER",
    "Failure",
    "Fatal",
    "KeyRenewal",
    "connect_error",
    "describe_error",
    "in_use_error",
    "key_for",
    "log",
    "reader_error",
    "reply_timeout_error",
]

log = get_logger("stock_manager.kis.realtime")

#: The logger handed to ``websockets``. Held at INFO: its DEBUG lines dump frames, and a
#: subscribe frame carries the approval key (masked by the filter, but cut frames could show
#: part of it, which no filter recognises).
WIRE_LOGGER = get_logger("stock_manager.kis.realtime.wire")
WIRE_LOGGER.setLevel(logging.INFO)


def describe_error(exc: BaseException) -> str:
    """One masked line for a log: the message, or the type when it has none."""
    return redact(str(exc)) or type(exc).__name__


def connect_error(url: str, exc: BaseException) -> KISConnectError:
    return KISConnectError(
        f"could not open the realtime websocket {url}: {type(exc).__name__}: {describe_error(exc)}"
    )


def key_for(config: KISConfig, key: str | None) -> str:
    """``key``, or the configured HTS ID (the key of the notice TRs) when it is None."""
    if key is not None:
        return key
    if config.hts_id is None:
        raise KISConfigError(
            "no tr_key given and hts_id is not set: pass the key, or set KIS_HTS_ID (the HTS "
            "login ID, the key of fill-notice subscriptions)"
        )
    return config.hts_id


def reply_timeout_error(pair: Pair, seconds: float) -> TimeoutError:
    return TimeoutError(
        f"KIS did not answer for {pair[0]} {pair[1]} within {seconds:g} s (the registration "
        "stays and is sent again on every reconnect)"
    )


def in_use_error(error: KISAppKeyInUseError, attempts: int) -> KISAppKeyInUseError:
    """The error that ends a stream after ``attempts`` OPSP8996 refusals in a row."""
    return KISAppKeyInUseError(
        error.code,
        f"{error.message} (refused {attempts} times in a row, with backoff): close the other "
        "session of this app key, or share one session",
    )


def reader_error(exc: BaseException) -> KISRealtimeError:
    """The error that ends a stream whose reader met an exception it has no plan for (a bug,
    or a token store that failed with OSError): raised to the caller instead of a silent end."""
    return KISRealtimeError(
        f"the realtime reader stopped on an unexpected {type(exc).__name__}: {describe_error(exc)}"
    )


class KeyRenewal:
    """Which OPSP0011 (invalid approval key) refusals call for a new key, which are stale.

    A reconnect sends every registration in one burst with the cached key; if KIS no longer
    knows it, each frame of the burst is refused. The first refusal fetches one new key and
    sends the pending pairs again; the refusals still to come answer frames sent with the old
    key and are ignored. Only a refusal of a frame sent with the renewed key ends the stream.
    Which frame a reply answers is not in the reply: KIS answers the frames of one connection in
    the order they came, so the key of each frame is queued and each control reply takes the
    oldest. Not thread-safe: the shell calls it under its lock (or from its one task).
    """

    def __init__(self) -> None:
        self._renewed: str | None = None
        self._unanswered: deque[str] = deque()
        self._last: str | None = None

    def session_started(self) -> None:
        """A new connection: the frames of the last one will never be answered."""
        self._unanswered.clear()

    def sent(self, key: str, frames: int = 1) -> None:
        """``frames`` subscribe/unsubscribe frames went out with approval key ``key``."""
        self._unanswered.extend([key] * frames)

    def answered(self, ok: bool, key: str) -> None:
        """A control reply came while ``key`` is current: it answers the oldest frame."""
        # A reply with no frame behind it (never seen from KIS) counts as the current key's.
        self._last = self._unanswered.popleft() if self._unanswered else key
        if ok and self._last == key:
            self._renewed = None  # the key works: a later expiry may renew it once again

    def refused(self, key: str) -> Literal["renew", "stale", "fatal"]:
        """The last reply was OPSP0011 while ``key`` is current: renew it, ignore, or give up.
        After "renew" the shell gets a new key and calls :meth:`renewed` with it."""
        if self._last != key:
            return "stale"
        if self._renewed == key:
            return "fatal"
        return "renew"

    def renewed(self, key: str) -> None:
        """``key`` replaced a refused one: a refusal of it ends the stream."""
        self._renewed = key


class Fatal(Exception):
    """Raised inside a reader: ``error`` ends the stream."""

    def __init__(self, error: KISError) -> None:
        super().__init__(str(error))
        self.error = error


class Failure:
    """The error that ended a stream, raised to every later call. Set once, by the reader."""

    def __init__(self) -> None:
        self.error: KISError | None = None

    def set(self, error: KISError) -> None:
        if self.error is None:
            self.error = error

    def raise_if_set(self) -> None:
        if self.error is not None:
            raise self.error
