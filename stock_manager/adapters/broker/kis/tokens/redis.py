"""``RedisTokenStore``: token entries and issuance leases in Redis, shared by machines.

Entries follow the file store's content rules: the JSON of :meth:`TokenEntry.to_json` (the
token, its expiry and issuance time; never the app secret) under a key named after
:attr:`TokenKey.name` (the app key's fingerprint, never the key), expiring with the token.
Tombstones keep the issuance time for a day, for the EGW00133 wait.

Single-flight issuance is a *lease*: ``SET <lease> <holder id> NX PX <ttl>`` with a random
holder id. While the ``with store.lock(key)`` block runs, a daemon thread renews the lease
every third of its lifetime, so a live holder keeps it however slow KIS is, and a crashed one
loses it within ``lease_ttl``. The lease is released with a compare-and-delete script, and the
save made under it is *fenced*: a script writes the entry only while the lease still names its
holder, so a holder whose lease expired (a long pause, a partition) cannot overwrite the token
a newer holder saved; its save returns False instead. Waiters poll the lease every
``poll_interval`` (50 ms), bounded by the lock timeout.

Every Redis failure raises :class:`~..errors.KISRedisUnavailableError` (a
:class:`~..errors.KISTokenStoreError`); :mod:`.fallback` turns it into local operation.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .._redis_link import DEFAULT_PREFIX, RedisLink, RedisReplyError, ScriptArg
from ..errors import KISRedisUnavailableError, KISTokenStoreError
from ..redaction import logger
from .store import (
    MAX_ENTRY_BYTES,
    TokenEntry,
    TokenKey,
    TokenLease,
    decode_entry,
)

__all__ = ["RedisTokenStore"]

TOMBSTONE_TTL = 86_400.0  # KIS's issuance limit counts a minute; a day is plenty

# Take the lease, or say how long it still has: {1, 0} or {0, pttl}.
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0} end
return {0, redis.call('PTTL', KEYS[1])}
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# The fence: write the entry only while the lease still names this holder.
_SAVE_IF_HELD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""
# Compare-and-set on the whole entry: the discard's tombstone replaces exactly what was read.
_SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


def _encode(entry: TokenEntry) -> str:
    return json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":"))


def _ttl_ms(entry: TokenEntry) -> int:
    """The entry's life in Redis: until the token expires (a tombstone: a day)."""
    if entry.expires_at is None:
        return int(TOMBSTONE_TTL * 1000)
    remaining = (entry.expires_at - datetime.now(UTC)).total_seconds()
    return max(1000, int(remaining * 1000))


def _pair(reply: Any) -> tuple[int, int]:
    try:
        first, second = reply
        return int(first), int(second)
    except (TypeError, ValueError):
        raise RedisReplyError(
            f"the lease script answered a {type(reply).__name__}, not two integers"
        ) from None


class RedisTokenStore:
    """Token entries in Redis under ``<prefix>:{<key name>}:entry``, leases beside them.

    ``lease_ttl`` is how long a crashed holder keeps others waiting; ``poll_interval`` how
    often a waiter looks at the lease. Keys carry a hash tag, so a Redis Cluster keeps an
    entry and its lease on one node for the scripts.
    """

    def __init__(
        self,
        link: RedisLink,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease_ttl: float = 10.0,
        poll_interval: float = 0.05,
    ) -> None:
        if lease_ttl <= 0 or poll_interval <= 0:
            raise ValueError("lease_ttl and poll_interval must be positive")
        self.link = link
        self.prefix = prefix
        self.lease_ttl = lease_ttl
        self.poll_interval = poll_interval
        client = link.client
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._save_if_held = client.register_script(_SAVE_IF_HELD)
        self._swap = client.register_script(_SWAP)

    def entry_key(self, key: TokenKey) -> str:
        """The Redis key of ``key``'s entry."""
        return f"{self.prefix}:{{{key.name}}}:entry"

    def lease_key(self, key: TokenKey) -> str:
        """The Redis key of ``key``'s issuance lease."""
        return f"{self.prefix}:{{{key.name}}}:lease"

    # -- the TokenStore protocol ----------------------------------------------------------------

    def load(self, key: TokenKey) -> TokenEntry | None:
        """The entry for ``key``; None if there is none or it is damaged (a warning)."""
        raw = self._get(key)
        return None if raw is None else self._decode(key, raw)

    def save(self, key: TokenKey, entry: TokenEntry) -> None:
        """Store ``entry`` unconditionally, expiring with the token."""
        data, ttl = _encode(entry), _ttl_ms(entry)
        self.link.run(lambda r: r.set(self.entry_key(key), data, px=ttl))

    def discard(self, key: TokenKey, value: str) -> bool:
        """Tombstone ``key``'s entry if it still holds ``value`` (compare-and-set)."""
        for _ in range(5):  # another writer between our read and our swap: read again
            raw = self._get(key)
            entry = None if raw is None else self._decode(key, raw)
            if raw is None or entry is None or entry.value != value:
                return False
            tombstone = entry.tombstone()
            if self._swap_entry(key, raw, tombstone):
                return True
        return False

    @contextlib.contextmanager
    def lock(self, key: TokenKey, timeout: float) -> Iterator[TokenLease]:
        """Hold ``key``'s issuance lease for the block, renewed until it ends."""
        holder = uuid.uuid4().hex
        lease_key = self.lease_key(key)
        self._wait_for_lease(key, holder, timeout)
        stop = threading.Event()
        renewer = threading.Thread(
            target=self._keep, args=(lease_key, holder, stop), name="kis-token-lease", daemon=True
        )
        renewer.start()
        try:
            yield _RedisLease(self, key, holder)
        finally:
            stop.set()
            with contextlib.suppress(KISRedisUnavailableError):  # it expires on its own
                self.link.run(lambda r: self._release(keys=[lease_key], args=[holder], client=r))

    # -- internals -----------------------------------------------------------------------------

    def _get(self, key: TokenKey) -> str | None:
        # At most one byte past the limit: an oversized entry is found damaged without pulling
        # all of it (GETRANGE of a missing key is empty, like an entry that is no JSON).
        raw = self.link.run(lambda r: r.getrange(self.entry_key(key), 0, MAX_ENTRY_BYTES))
        if not raw:
            return None
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)

    def _swap_entry(self, key: TokenKey, expected: str, entry: TokenEntry) -> bool:
        keys = [self.entry_key(key)]
        args: list[ScriptArg] = [expected, _encode(entry), _ttl_ms(entry)]
        return bool(self.link.run(lambda r: self._swap(keys=keys, args=args, client=r)) == 1)

    def _decode(self, key: TokenKey, raw: str) -> TokenEntry | None:
        try:
            return decode_entry(raw, key.kind)
        except ValueError as exc:
            problem = str(exc)  # decode_entry's messages name fields, never values
        logger.warning("token entry %s in Redis is damaged (%s); ignoring it", key.name, problem)
        return None

    def _wait_for_lease(self, key: TokenKey, holder: str, timeout: float) -> None:
        lease_key, lease_ms = self.lease_key(key), max(1, int(self.lease_ttl * 1000))
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            # A reply of another shape is a broken Redis (an outage); a bug of ours is not.
            taken, ttl_ms = self.link.run_and_parse(
                lambda r: self._take(keys=[lease_key], args=[holder, lease_ms], client=r), _pair
            )
            if taken == 1:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KISTokenStoreError(
                    f"the token lease {key.name} in Redis at {self.link.address} was not "
                    f"released within {timeout:g} s"
                )
            pause = self.poll_interval if ttl_ms < 0 else min(self.poll_interval, ttl_ms / 1000)
            time.sleep(min(max(pause, 0.001), remaining))

    def _keep(self, lease_key: str, holder: str, stop: threading.Event) -> None:
        """Renew the lease every third of its life until ``stop``, or until it is lost."""
        lease_ms = max(1, int(self.lease_ttl * 1000))
        while not stop.wait(self.lease_ttl / 3):
            try:
                renewed = self.link.run(
                    lambda r: self._renew(keys=[lease_key], args=[holder, lease_ms], client=r)
                )
            except KISRedisUnavailableError:
                return
            if not renewed:
                return

    def __repr__(self) -> str:
        return f"RedisTokenStore({self.link.address}, prefix={self.prefix!r})"


class _RedisLease:
    """The holder's handle: its save is fenced by the lease."""

    def __init__(self, store: RedisTokenStore, key: TokenKey, holder: str) -> None:
        self._store = store
        self._key = key
        self._holder = holder

    def save(self, entry: TokenEntry) -> bool:
        """Store ``entry`` if the lease is still ours; False if it expired meanwhile."""
        store = self._store
        keys = [store.lease_key(self._key), store.entry_key(self._key)]
        args: list[ScriptArg] = [self._holder, _encode(entry), _ttl_ms(entry)]
        saved = store.link.run(lambda r: store._save_if_held(keys=keys, args=args, client=r))
        return bool(saved == 1)  # the token managers log a lost lease
