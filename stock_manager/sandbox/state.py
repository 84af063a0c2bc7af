"""Everything one sandbox remembers: apps, accounts, tokens, orders and counters.

One lock guards it all. The server thread takes it for a few microseconds per request and the
test thread takes it for admin calls, so contention is negligible.
"""

from __future__ import annotations

import copy
import hmac
import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stock_manager.sandbox.accounts import Account
from stock_manager.sandbox.clock import SandboxClock, SystemClock
from stock_manager.sandbox.credentials import CredentialFactory, fingerprint, hts_id_for
from stock_manager.sandbox.faults import FAULT_KINDS
from stock_manager.sandbox.market import Market
from stock_manager.sandbox.orders import Exchange
from stock_manager.sandbox.ratelimit import SlidingWindow
from stock_manager.sandbox.sessions import MarketClock
from stock_manager.sandbox.tables import KNOWN_PATHS, OTHER_PATHS, Environment
from stock_manager.sandbox.tokens import TokenBook, TokenRecord

DEFAULT_RATE_LIMITS: dict[str, float] = {"real": 20, "paper": 2}


class SandboxConfigError(ValueError):
    """A sandbox option out of range (unknown environment, negative interval...)."""


@dataclass
class App:
    """One registered KIS app: its credentials, its account and its request window."""

    app_key: str
    app_secret: str
    account: Account
    window: SlidingWindow
    fingerprint: str
    last_issued: float | None = None  # the clock's monotonic time of the last tokenP 200
    #: The user's HTS ID: the key of this app's fill-notice registrations on the websocket.
    hts_id: str = ""

    def secret_matches(self, secret: str) -> bool:
        """Constant-time comparison with the app secret."""
        return hmac.compare_digest(self.app_secret.encode(), secret.encode())

    def __repr__(self) -> str:  # never show the secret
        return f"App(fingerprint={self.fingerprint!r}, account={self.account.number!r})"


class OAuthRejected(Exception):
    """An OAuth call refused with a 403 ``error_code``."""

    def __init__(self, code: str, description: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.description = description


@dataclass
class Counters:
    """The numbers ``stats()`` reports."""

    tokens_issued: int = 0
    tokens_revoked: int = 0
    approval_keys_issued: int = 0
    hashkeys_issued: int = 0
    rate_limited: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    records_sent: dict[str, int] = field(default_factory=dict)  # realtime records per TR


def _is_finite_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def resolve_rate_limit(environment: str, rate_limit: float | bool | None) -> float:
    """KIS's limit for the domain, an explicit override, or infinity for 0/False."""
    if rate_limit is None:
        return DEFAULT_RATE_LIMITS[environment]
    if rate_limit is True or not _is_finite_number(rate_limit) or rate_limit < 0:
        # NaN compares false with everything, so without the finiteness check it lifted the limit.
        raise SandboxConfigError(
            f"rate_limit must be None, 0 (no limit) or a positive finite number of requests "
            f"per second, not {rate_limit!r}"
        )
    if rate_limit is False or rate_limit == 0:
        return math.inf
    return float(rate_limit)


class SandboxState:
    """The mutable world of one sandbox. Methods are thread-safe."""

    def __init__(
        self,
        environment: Environment,
        *,
        token_ttl: float,
        reissue_window: float,
        issue_interval: float,
        rate_limit: float | bool | None,
        page_size: int | None,
        seed: int | None,
        clock: SandboxClock | None = None,
        block_deprecated: bool = False,
        market_time: datetime | str | None = None,
    ) -> None:
        if environment not in ("real", "paper"):
            raise SandboxConfigError(f"environment must be 'real' or 'paper', not {environment!r}")
        for name, value in (
            ("token_ttl", token_ttl),
            ("reissue_window", reissue_window),
            ("issue_interval", issue_interval),
        ):
            if isinstance(value, bool) or not _is_finite_number(value) or value < 0:
                raise SandboxConfigError(
                    f"{name} must be a non-negative finite number of seconds, not {value!r}"
                )
        if token_ttl <= 0:
            raise SandboxConfigError("token_ttl must be positive")
        if page_size is not None and (
            isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1
        ):
            raise SandboxConfigError(
                f"page_size must be None (KIS's rows per call) or a positive integer, "
                f"not {page_size!r}"
            )
        self.environment: Environment = environment
        self.issue_interval = float(issue_interval)
        self.rate_limit = resolve_rate_limit(environment, rate_limit)
        #: Rows per page of account lists; None pages as KIS does (its rows per call).
        self.page_size = page_size
        #: Refuse deprecated TR_IDs (OPSQ0002), as a future KIS may; by default they are served
        #: as their successors, as KIS still does.
        self.block_deprecated = bool(block_deprecated)
        #: Every time the sandbox reads or waits for (a test passes a ManualClock).
        self.clock: SandboxClock = clock or SystemClock()
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise SandboxConfigError(f"seed must be an integer or None, not {seed!r}")
        try:
            #: The market time the sandbox plays (see :mod:`stock_manager.sandbox.sessions`).
            self.market_clock = MarketClock(self.clock, market_time)
        except ValueError as exc:
            raise SandboxConfigError(str(exc)) from None
        #: Instruments and prices at market time; read-only, so it needs no lock of its own.
        self.market = Market(seed, self.market_clock)
        self.lock = threading.Lock()
        self._factory = CredentialFactory(seed)
        self.signing_key = self._factory.signing_key()
        self.tokens = TokenBook(self.signing_key, float(token_ttl), float(reissue_window))
        self.apps: dict[str, App] = {}
        #: Approval key -> app key: a websocket session learns its app from its first request.
        #: Kept across reset(), like the apps (a live session keeps working).
        self.approvals: dict[str, str] = {}
        #: Websocket sessions open now (the stream server keeps it current).
        self.websocket_sessions = 0
        self.counters = Counters()
        self._odno = 0
        #: Every account's orders, reservations and books (see :mod:`.orders`).
        self.exchange = Exchange(self.market, self.next_odno)

    # --- apps -------------------------------------------------------------------------------

    def register_app(self) -> App:
        """Create an app with fresh credentials and its own account."""
        with self.lock:
            taken = {app.account.cano for app in self.apps.values()}
            cano = self._factory.cano()
            while cano in taken:
                cano = self._factory.cano()
            key = self._factory.app_key()
            app = App(
                key,
                self._factory.app_secret(),
                Account(cano),
                SlidingWindow(self.rate_limit),
                fingerprint(key),
                hts_id=hts_id_for(key),
            )
            self.apps[key] = app
            return app

    def authenticate(self, app_key: str | None, app_secret: str | None) -> App:
        """The app for a key/secret pair, or :class:`OAuthRejected` EGW00103/EGW00105."""
        app = self.apps.get(app_key or "")
        if app is None:
            raise OAuthRejected("EGW00103")
        if not app.secret_matches(app_secret or ""):
            raise OAuthRejected("EGW00105")
        return app

    # --- OAuth ------------------------------------------------------------------------------

    def issue_token(self, app_key: str | None, app_secret: str | None) -> dict[str, Any]:
        """tokenP: the body of a 200 answer, or :class:`OAuthRejected`."""
        with self.lock:
            app = self.authenticate(app_key, app_secret)
            elapsed = self.clock.monotonic()
            if app.last_issued is not None and elapsed - app.last_issued < self.issue_interval:
                raise OAuthRejected("EGW00133")
            now = self.clock.time()
            record = self.tokens.current_or_mint(app.app_key, now)
            app.last_issued = elapsed
            self.counters.tokens_issued += 1
            return record.as_response(now)

    def revoke_token(self, app_key: str | None, app_secret: str | None, token: str | None) -> None:
        """revokeP, or :class:`OAuthRejected` (EGW00121 for a token this app does not own)."""
        with self.lock:
            app = self.authenticate(app_key, app_secret)
            record: TokenRecord | None = self.tokens.find(token or "")
            if record is None or record.app_key != app.app_key:
                raise OAuthRejected("EGW00121")
            if self.tokens.revoke(record):
                self.counters.tokens_revoked += 1

    def issue_approval_key(self, app_key: str | None, secret_key: str | None) -> str:
        """Approval: a websocket approval key, or :class:`OAuthRejected`."""
        with self.lock:
            app = self.authenticate(app_key, secret_key)
            self.counters.approval_keys_issued += 1
            key = str(uuid.uuid4())
            self.approvals[key] = app.app_key
            return key

    def app_for_approval(self, approval_key: str) -> App | None:
        """The app an approval key was issued to, or None for a key this sandbox never issued."""
        with self.lock:
            app_key = self.approvals.get(approval_key)
            return None if app_key is None else self.apps.get(app_key)

    # --- realtime ---------------------------------------------------------------------------

    def count_records(self, tr_id: str, count: int) -> None:
        """Count ``count`` realtime records sent on ``tr_id``."""
        with self.lock:
            sent = self.counters.records_sent
            sent[tr_id] = sent.get(tr_id, 0) + count

    def set_websocket_sessions(self, count: int) -> None:
        """Record how many websocket sessions are open."""
        with self.lock:
            self.websocket_sessions = count

    # --- counters ---------------------------------------------------------------------------

    def count_request(self, path: str) -> None:
        """Count one request to ``path`` (unknown paths share one bucket), whatever its fate."""
        key = path if path in KNOWN_PATHS else OTHER_PATHS
        with self.lock:
            requests = self.counters.requests
            requests[key] = requests.get(key, 0) + 1

    def count_fault(self, kind: str) -> None:
        """Count one injected fault of ``kind``."""
        with self.lock:
            faults = self.counters.faults
            faults[kind] = faults.get(kind, 0) + 1
            if kind == "rate_limit":
                self.counters.rate_limited += 1

    def count_hashkey(self) -> None:
        """Count one hashkey answered."""
        with self.lock:
            self.counters.hashkeys_issued += 1

    def admit(self, app: App) -> bool:
        """Apply the per-key rate limit; a refusal is counted in ``rate_limited``."""
        with self.lock:
            if app.window.try_acquire(self.clock.monotonic()):
                return True
            self.counters.rate_limited += 1
            return False

    # --- orders -----------------------------------------------------------------------------

    def next_odno(self) -> str:
        """A fresh order number, increasing for the life of the sandbox. Caller holds the lock."""
        self._odno += 1
        return f"{self._odno:010d}"

    def record_order(
        self, app: App, tr_id: str, path: str, body: dict[str, Any], odno: str
    ) -> None:
        """Add an accepted order to ``stats()['orders']``. Caller holds the lock."""
        self.counters.orders.append(
            {
                "odno": odno,
                "tr_id": tr_id,
                "app_key_fingerprint": app.fingerprint,
                "path": path,
                "body": copy.deepcopy(body),
                "time": self.clock.time(),
            }
        )

    # --- admin ------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """A deep-copied, JSON-serialisable snapshot of the counters."""
        with self.lock:
            counters = self.counters
            faults = {kind: 0 for kind in FAULT_KINDS}
            faults.update(counters.faults)
            return {
                "tokens_issued": counters.tokens_issued,
                "tokens_revoked": counters.tokens_revoked,
                "approval_keys_issued": counters.approval_keys_issued,
                "hashkeys_issued": counters.hashkeys_issued,
                "rate_limited": counters.rate_limited,
                "requests": dict(counters.requests),
                "orders": copy.deepcopy(counters.orders),
                "faults": faults,
                "records_sent": dict(counters.records_sent),
                "websocket_sessions": self.websocket_sessions,
            }

    def expire_tokens(self) -> None:
        """Every issued token now answers EGW00123; the issue interval still applies."""
        with self.lock:
            self.tokens.expire_all()

    def reset(self) -> None:
        """Forget tokens, orders, counters and holdings; keep apps and credentials."""
        with self.lock:
            self.tokens.clear()
            self.counters = Counters()
            for app in self.apps.values():
                app.last_issued = None
                app.window.clear()
            self.exchange.reset()
