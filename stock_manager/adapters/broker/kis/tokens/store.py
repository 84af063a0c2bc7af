"""Where issued tokens are kept between calls, threads, processes and restarts.

A :class:`TokenStore` maps a :class:`TokenKey` (what was issued, for which environment, domain
and app key) to a :class:`TokenEntry` (the value, its expiry and when it was issued). The
token managers (:mod:`.managers`) only touch a store on their cold path: the first call, a
refresh, a token KIS rejected, ``revoke()``.

This module holds the protocol and :class:`MemoryTokenStore` (one process); the other
implementations build on it: :class:`~.file.FileTokenStore` (the default: one file per key in
the user cache directory) and, with ``redis_url``, :class:`~.redis.RedisTokenStore` in front of
one of them (:mod:`.fallback`). :func:`~stock_manager.adapters.broker.kis.tokens.make_token_store`,
above them all in the package, is the one place that picks a store from the config.

Keys never hold the raw app key (only its SHA-256 fingerprint) and entries never hold the app
secret. A discarded token leaves a *tombstone*: an entry without a value that keeps
``issued_at``, because KIS counts that issuance against its one-per-minute limit (EGW00133).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from ..config import domain_digest
from ..errors import KISTokenStoreError
from ..protocol.models import is_credential_value

if TYPE_CHECKING:
    from ..config import KISConfig

__all__ = [
    "ACCESS_TOKEN",
    "APPROVAL_KEY",
    "REFERENCE_DATA",
    "DirectLease",
    "MemoryTokenStore",
    "TokenEntry",
    "TokenKey",
    "TokenKind",
    "TokenLease",
    "TokenStore",
    "decode_entry",
    "token_lock_timeout",
]

TokenKind = Literal["access_token", "approval_key", "reference_data"]
ACCESS_TOKEN: TokenKind = "access_token"  # noqa: S105 (an entry kind, not a secret)
APPROVAL_KEY: TokenKind = "approval_key"
#: Not a credential: KIS data cached for a day and shared like a token (the holiday calendar,
#: which KIS asks to be fetched once a day); the ``environment`` of its key names the data set.
REFERENCE_DATA: TokenKind = "reference_data"

ENTRY_FORMAT = 1
#: A real entry is well under 8 KiB (a token of at most 4096 characters and two times); a
#: larger one is damage, and is not parsed (nor, from a file, read past this size).
MAX_ENTRY_BYTES = 64 * 1024
_KINDS: dict[str, TokenKind] = {kind: kind for kind in (ACCESS_TOKEN, APPROVAL_KEY, REFERENCE_DATA)}


@dataclass(frozen=True)
class TokenKey:
    """What a stored token is for: kind, environment, domain and app-key fingerprint.

    >>> TokenKey.for_config(config, ACCESS_TOKEN).name
    'paper-access-token-1f2e3d4c5b6a7988-5d41402abc4b'
    """

    kind: TokenKind
    environment: str
    base_url: str
    app_key_fingerprint: str

    def __post_init__(self) -> None:
        if self.kind not in get_args(TokenKind):
            raise ValueError(f"unknown token kind {self.kind!r}")
        for label, value in (
            ("environment", self.environment),
            ("fingerprint", self.app_key_fingerprint),
        ):
            if not value or not value.isascii() or not value.isalnum():
                raise ValueError(f"TokenKey {label} must be ASCII letters and digits")

    @classmethod
    def for_config(cls, config: KISConfig, kind: TokenKind) -> TokenKey:
        """The key of ``kind`` for the configured environment, domain and app key."""
        return cls(kind, config.environment, config.rest_base_url, config.app_key_fingerprint)

    @property
    def name(self) -> str:
        """A file- and Redis-safe name (``[a-z0-9-]``) that tells keys apart; no secrets in it."""
        domain = domain_digest(self.base_url)
        kind = self.kind.replace("_", "-")
        return f"{self.environment.lower()}-{kind}-{self.app_key_fingerprint.lower()}-{domain}"


@dataclass(frozen=True)
class TokenEntry:
    """A stored token, or a tombstone (``value`` None) that remembers the last issuance."""

    kind: TokenKind
    issued_at: datetime
    value: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)

    def __post_init__(self) -> None:
        for stamp in (self.issued_at, self.expires_at):
            if stamp is not None and stamp.tzinfo is None:
                raise ValueError("TokenEntry times must be timezone-aware")
        if self.value is not None and self.expires_at is None:
            raise ValueError("a TokenEntry with a value needs expires_at")

    @property
    def is_tombstone(self) -> bool:
        """True when the token was discarded and only its issuance time is left."""
        return self.value is None

    def tombstone(self) -> TokenEntry:
        """This entry without its value: the issuance time survives the token."""
        return replace(self, value=None, expires_at=None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times in ISO 8601 with offset)."""
        return {
            "format": ENTRY_FORMAT,
            "kind": self.kind,
            "token": self.value,
            "token_type": self.token_type,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "issued_at": self.issued_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Any) -> TokenEntry:
        """The entry :meth:`to_json` wrote; ``ValueError`` (naming no value) if it is not one."""
        if not isinstance(data, Mapping) or data.get("format") != ENTRY_FORMAT:
            raise ValueError("not a token entry of a known format")
        kind = _KINDS.get(str(data.get("kind")))
        value, token_type = data.get("token"), data.get("token_type")
        if kind is None:
            raise ValueError("unknown entry kind")
        # Checked like a freshly issued token: one with a space or CR/LF would fail every
        # call of every process sharing the store until it expired.
        if value is not None and not is_credential_value(value):
            raise ValueError("token is not a credential (visible ASCII, at most 4096 characters)")
        if not isinstance(token_type, str) or not is_credential_value(token_type):
            raise ValueError("token_type is not a scheme name")
        return cls(
            kind=kind,
            issued_at=_parse_time(data.get("issued_at"), "issued_at"),
            value=value,
            expires_at=(
                _parse_time(data.get("expires_at"), "expires_at") if value is not None else None
            ),
            token_type=token_type,
        )


def decode_entry(raw: bytes | str, kind: TokenKind) -> TokenEntry:
    """The entry a store holds as ``raw`` (:meth:`TokenEntry.to_json`'s JSON) for a key of
    ``kind``; ``ValueError`` saying what is wrong (never quoting the content) if it is not one.
    """
    if len(raw) > MAX_ENTRY_BYTES:
        raise ValueError(f"larger than {MAX_ENTRY_BYTES} bytes")
    try:
        data = json.loads(raw)
    except RecursionError:  # "[[[[..." : json recurses once per level
        raise ValueError("nested too deeply to be an entry") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError("not valid JSON, perhaps cut short") from None
    entry = TokenEntry.from_json(data)
    if entry.kind != kind:
        raise ValueError("it holds another kind of token")
    return entry


def _parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name} is missing")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not an ISO 8601 time") from None
    if stamp.tzinfo is None:
        raise ValueError(f"{name} has no UTC offset")
    return stamp


class TokenLease(Protocol):
    """Held while a key's lock is held; the save made inside the critical section goes here.

    A store with expiring locks (Redis) refuses the save once the lease is lost, so a slow
    holder cannot overwrite a newer token; it then returns False.
    """

    def save(self, entry: TokenEntry) -> bool:
        """Store ``entry`` under the leased key; False if the lease is no longer valid."""
        ...


class TokenStore(Protocol):
    """Persistent, shareable token entries plus a lock per key for single-flight issuance.

    ``lock`` must exclude every other holder of the same key that shares the store (threads,
    processes or machines); it raises :class:`KISTokenStoreError` after ``timeout`` seconds.
    Read/write failures of a damaged entry are logged and reported as "no entry" by ``load``.
    """

    def load(self, key: TokenKey) -> TokenEntry | None:
        """The entry for ``key`` (possibly a tombstone), or None."""
        ...

    def save(self, key: TokenKey, entry: TokenEntry) -> None:
        """Store ``entry`` unconditionally (prefer the lease's ``save`` under the lock)."""
        ...

    def discard(self, key: TokenKey, value: str) -> bool:
        """Compare-and-delete: tombstone the entry if it still holds ``value``; True if so."""
        ...

    def lock(self, key: TokenKey, timeout: float) -> AbstractContextManager[TokenLease]:
        """Hold ``key``'s issuance lock for the ``with`` block; yields the lease."""
        ...


class DirectLease:
    """A lease for stores whose locks cannot expire under their holder: it just saves."""

    def __init__(self, store: TokenStore, key: TokenKey) -> None:
        self._store = store
        self._key = key

    def save(self, entry: TokenEntry) -> bool:
        self._store.save(self._key, entry)
        return True


class MemoryTokenStore:
    """Entries in a dict, locks per key: shared by the threads and tasks of one process only."""

    def __init__(self) -> None:
        self._entries: dict[str, TokenEntry] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def load(self, key: TokenKey) -> TokenEntry | None:
        """The entry for ``key``, or None."""
        with self._guard:
            return self._entries.get(key.name)

    def save(self, key: TokenKey, entry: TokenEntry) -> None:
        """Store ``entry`` under ``key``."""
        with self._guard:
            self._entries[key.name] = entry

    def discard(self, key: TokenKey, value: str) -> bool:
        """Tombstone ``key``'s entry if it still holds ``value``."""
        with self._guard:
            entry = self._entries.get(key.name)
            if entry is None or entry.value != value:
                return False
            self._entries[key.name] = entry.tombstone()
            return True

    @contextmanager
    def lock(self, key: TokenKey, timeout: float) -> Iterator[TokenLease]:
        """Hold ``key``'s lock; a plain (not re-entrant) lock, so any thread may release it."""
        with self._guard:
            key_lock = self._locks.setdefault(key.name, threading.Lock())
        if not key_lock.acquire(timeout=max(timeout, 0.0)):
            raise KISTokenStoreError(
                f"the token lock for {key.name} was not released within {timeout:g} s"
            )
        try:
            yield DirectLease(self, key)
        finally:
            key_lock.release()

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._entries)} entries)"


def token_lock_timeout(config: KISConfig) -> float:
    """How long to wait for another holder of a token lock before giving up.

    A holder may make two issuance attempts, each with its own retries, and wait up to
    ``token_max_wait`` between them; waiting less would fail callers that merely queued.
    """
    attempt = config.retry_max_wait + config.timeout + config.connect_timeout
    return config.token_max_wait + 2 * attempt + 5.0
