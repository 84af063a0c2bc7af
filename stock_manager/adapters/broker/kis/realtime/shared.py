"""One KIS realtime session shared by every process of an app key, through Redis.

KIS allows one websocket session per app key (a second gets OPSP8996) and 41 registrations in
it. With ``redis_url`` configured, :class:`~.client.KISRealtimeClient` and
:class:`~.aio.AsyncKISRealtimeClient` run a :class:`SharedSession` instead of a socket of their
own:

* **The holder.** A Redis lease (``SET NX PX``, renewed every ``policy.tick`` by its holder, a
  new *epoch* per take) decides which process holds the KIS session. The holder runs an ordinary
  direct client (its backoff, PINGPONG, watchdog and resubscription included) and registers the
  union of what every live process wants, each pair once. A holder killed without a word loses
  the lease within ``policy.lease_ttl``; the next process to look takes it, connects, and
  registers every wanted pair. A holder that cannot renew (Redis gone, a long pause) closes its
  session before its lease can have run out, so two sessions never overlap for long.
* **Subscriptions** live in Redis: each process claims its pairs with a heartbeat; a process
  whose heartbeat runs out (killed) loses its claims, and the holder releases at KIS what nobody
  wants any more. The cap is checked by one Lua script over the distinct pairs of every process
  (a pair two processes want counts once): the claim that would pass it raises
  :class:`KISSubscriptionLimitError` and nothing reaches the holder, nor KIS.
* **Records** go through one Redis stream per (tr_id, tr_key), capped at ``policy.maxlen``
  entries (approximate trimming) and expiring ``policy.stream_ttl`` after the last record. A
  stream, not pub/sub: pub/sub drops what is published while a reader reconnects, a stream lets
  every reader (the holder's own included) resume at its last id. A takeover so loses only what
  KIS sent while no process held the session (the gap), and a reader lost nothing it was sent.
  The holder's appends are fenced (a script appends only while the lease names it).
* **Redis down** ends the stream with :class:`KISRedisUnavailableError` once Redis has not
  answered for ``policy.lease_ttl`` (a subscribe raises it at once). There is no fall-back to a
  direct session: a process that cannot see Redis cannot know whether another holds the app
  key's session, and a second one would get OPSP8996 and be dropped anyway.

Privacy: decrypted fill and order notices are appended to the streams in clear text. They are
the user's own data in the user's Redis, but whoever can read that Redis can read them: use a
Redis with access control (``rediss://user:password@...``). Keys are
``<prefix>:{rt-<environment>-<app key fingerprint>-<domain digest>}:...``: never the app key;
no approval key, AES key or secret is written to Redis.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._redis_link import DEFAULT_PREFIX, RedisLink, RedisReplyError, ScriptArg
from ..config import KISConfig
from ..errors import (
    KISConfigError,
    KISError,
    KISRealtimeError,
    KISRealtimeRefusedError,
    KISRedisUnavailableError,
    KISSubscriptionLimitError,
    KISUsageError,
)
from . import _shared_scripts as scripts
from ._shell import Failure, describe_error, log, reply_timeout_error
from .backoff import Backoff, ReconnectPolicy
from .protocol import RealtimeProtocol, _check_key
from .records import Record
from .registry import Pair, Registration

if TYPE_CHECKING:
    from redis import Redis

__all__ = [
    "DirectFactory",
    "DirectSession",
    "SharedKeys",
    "SharedPolicy",
    "SharedSession",
    "shared_name",
]

_DAY = 86_400.0
T = TypeVar("T")


def _positive(name: str, value: object, *, most: float = _DAY) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= most
    ):
        raise KISConfigError(f"{name} must be more than 0 and at most {most:g}, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class SharedPolicy:
    """The shared session's times (seconds) and sizes; invalid values raise KISConfigError."""

    #: How long a holder that stopped renewing (killed) keeps the session from the others.
    lease_ttl: float = 10.0
    #: How long a process that stopped its heartbeat (killed) keeps its pairs wanted.
    member_ttl: float = 10.0
    #: How often each process beats, renews or tries the lease and, holding it, syncs KIS.
    tick: float = 0.25
    #: How long one stream read blocks in Redis (kept under the link's socket timeout).
    block: float = 0.2
    #: Records kept per pair's stream (approximate trimming).
    maxlen: int = 10_000
    #: A stream no holder appended to for this long is deleted by Redis.
    stream_ttl: float = 3_600.0
    #: The first part of every Redis key.
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        _positive("lease_ttl", self.lease_ttl)
        _positive("member_ttl", self.member_ttl)
        _positive("tick", self.tick, most=60.0)
        _positive("block", self.block, most=0.9)
        _positive("stream_ttl", self.stream_ttl)
        if self.tick * 3 > min(self.lease_ttl, self.member_ttl):
            raise KISConfigError(
                f"tick ({self.tick:g} s) must be at most a third of lease_ttl and member_ttl: "
                "a live holder must renew well before its lease runs out"
            )
        size = self.maxlen
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10_000_000:
            raise KISConfigError(f"maxlen must be an int from 1 to 10000000, not {size!r}")
        if not isinstance(self.prefix, str) or not self.prefix or "{" in self.prefix:
            raise KISConfigError(
                f"prefix must be a non-empty string without '{{', not {self.prefix!r}"
            )


class DirectSession(Protocol):
    """What the holder needs of a direct (one-process) realtime client."""

    @property
    def registrations(self) -> dict[Pair, Registration]: ...

    def subscribe(self, tr: str, key: str | None = None, *, wait: bool = ...) -> Registration: ...

    def unsubscribe(self, tr: str, key: str | None = None, *, wait: bool = ...) -> None: ...

    def close(self) -> None: ...

    @property
    def error(self) -> KISError | None: ...


#: Makes the holder's direct session: ``factory(on_record, on_error)``.
DirectFactory = Callable[
    [Callable[[Record], object], Callable[[KISRealtimeError], object]], DirectSession
]


def shared_name(config: KISConfig) -> str:
    """Whose session: environment, app key fingerprint and a digest of the websocket URL."""
    domain = hashlib.sha256(config.realtime_url.encode()).hexdigest()[:12]
    return f"rt-{config.environment.lower()}-{config.app_key_fingerprint.lower()}-{domain}"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _pair_text(pair: Pair) -> str:
    return f"{pair[0]}|{pair[1]}"


def _pair_of(text: str) -> Pair:
    tr_id, _, key = text.partition("|")  # TR_IDs hold no '|'; a key might
    return (tr_id, key)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


@dataclass(frozen=True)
class SharedKeys:
    """The Redis keys of one app key's shared session (see :mod:`._shared_scripts`)."""

    base: str

    @classmethod
    def of(cls, config: KISConfig, prefix: str = DEFAULT_PREFIX) -> SharedKeys:
        # A hash tag: in a Redis Cluster every key of the session is on one node, for the scripts.
        return cls(f"{prefix}:{{{shared_name(config)}}}")

    @property
    def members(self) -> str:
        return f"{self.base}:members"

    @property
    def claims(self) -> str:
        return f"{self.base}:claims"

    @property
    def refs(self) -> str:
        return f"{self.base}:refs"

    @property
    def lease(self) -> str:
        return f"{self.base}:lease"

    @property
    def epoch(self) -> str:
        return f"{self.base}:epoch"

    @property
    def active(self) -> str:
        return f"{self.base}:active"

    @property
    def refused(self) -> str:
        return f"{self.base}:refused"

    def stream(self, pair: Pair) -> str:
        """The stream of ``pair``'s records."""
        return f"{self.base}:s:{_pair_text(pair)}"


@dataclass
class _View:
    """What the last heartbeat saw (read under the session's condition)."""

    wanted: frozenset[Pair] = frozenset()
    active: frozenset[Pair] = frozenset()
    refused: dict[Pair, str] | None = None


class SharedSession:
    """This process's part in the app key's shared realtime session (see the module docstring).

    ``deliver`` hands each record to the shell (its queue or callback; it may block, which
    pauses reading the streams, never drops); ``failure`` is the shell's, set when the stream
    must end. ``direct`` makes the holder's own session when this process takes the lease.
    Thread-safe. Threads: one coordinator (heartbeat, lease, holder duties), one stream reader.
    """

    def __init__(
        self,
        link: RedisLink,
        config: KISConfig,
        protocol: RealtimeProtocol,
        *,
        direct: DirectFactory,
        deliver: Callable[[Record], None],
        failure: Failure,
        policy: SharedPolicy | None = None,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        self.link = link
        self.config = config
        self.protocol = protocol
        self.policy = policy or SharedPolicy()
        self.reconnect = reconnect or ReconnectPolicy()
        self.member = uuid.uuid4().hex
        self.name = shared_name(config)
        self._direct_factory = direct
        self._deliver = deliver
        self._failure = failure
        self.keys = SharedKeys.of(config, self.policy.prefix)
        keys = self.keys
        self._members, self._claims, self._refs = keys.members, keys.claims, keys.refs
        self._lease, self._epoch_key = keys.lease, keys.epoch
        self._active, self._refused = keys.active, keys.refused
        client = link.client
        self._scripts = {
            name: client.register_script(getattr(scripts, name)) for name in scripts.__all__
        }
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._closed = False
        #: This process's pairs -> the id of the last stream entry read.
        self._cursors: dict[Pair, str] = {}
        self._view = _View(refused={})
        self._direct: DirectSession | None = None
        self._direct_backoff = Backoff(self.reconnect)
        self._direct_after = 0.0
        self._refused_here: dict[Pair, str] = {}
        self._last_ok = time.monotonic()
        self._threads: list[threading.Thread] = []
        self._lost_warned = False
        self._publish_failing = False
        #: The epoch of the lease while this process holds it, else None.
        self.epoch: int | None = None
        #: Leases this process took (a takeover counts one).
        self.takeovers = 0

    def __repr__(self) -> str:
        role = "holder" if self.epoch is not None else "follower"
        return f"SharedSession({self.name}, {role}, {len(self._cursors)} pairs)"

    # --- keys and calls -------------------------------------------------------------------------

    def stream_key(self, pair: Pair) -> str:
        """The Redis stream of ``pair``'s records."""
        return self.keys.stream(pair)

    def _run(self, name: str, keys: list[str], args: list[ScriptArg]) -> Any:
        script = self._scripts[name]
        return self.link.run(lambda _r: script(keys=keys, args=args))

    def _parsed(
        self, name: str, keys: list[str], args: list[ScriptArg], parse: Callable[[Any], T]
    ) -> T:
        """A script's reply through ``parse``: a reply of the wrong shape is an outage."""
        script = self._scripts[name]
        return self.link.run_and_parse(lambda _r: script(keys=keys, args=args), parse)

    def _keep_ms(self) -> int:
        # The membership keys outlive every heartbeat that could still come.
        return _ms(max(self.policy.member_ttl, self.policy.lease_ttl) * 4 + 60.0)

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._closing.is_set()

    @property
    def holder(self) -> bool:
        return self.epoch is not None

    def start(self) -> None:
        """Start the coordinator and the reader (idempotent); the first heartbeat runs here,
        so an unreachable Redis raises :class:`KISRedisUnavailableError` now."""
        with self._lock:
            if self._threads or self._closed:
                return
            self._beat()
            for target, name in ((self._coordinate, "coordinator"), (self._read, "reader")):
                thread = threading.Thread(target=target, name=f"kis-realtime-{name}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def close(self) -> None:
        """Leave: release this process's pairs, hand the session over if held; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            self._wake.set()
            self._changed.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(self.policy.tick + self.policy.block + 2.0)
        # The session closes before the lease goes, so the next holder's connect is not
        # refused with OPSP8996 by KIS for our session.
        self._drop_direct()
        with contextlib.suppress(KISRedisUnavailableError):
            self._run("LEAVE", [self._members, self._claims, self._refs], [self.member])
            if self.epoch is not None:
                self._run("UNLEASE", [self._lease, self._active], [self.member])
        self.epoch = None

    # --- subscriptions --------------------------------------------------------------------------

    @property
    def registrations(self) -> dict[Pair, Registration]:
        """This process's pairs: active once the holder's session confirmed them."""
        with self._lock:
            active = self._view.active
            return {
                pair: Registration(*pair, "active" if pair in active else "pending")
                for pair in self._cursors
            }

    def subscribe(
        self, tr_id: str, tr_key: str, *, wait: bool, timeout: float | None
    ) -> Registration:
        """Claim (tr_id, tr_key) for this process; the holder registers it at KIS.

        Raises :class:`KISSubscriptionLimitError` when the distinct pairs of every process would
        pass the cap (nothing is registered), :class:`KISRedisUnavailableError`, and with
        ``wait`` the holder's refusal or ``TimeoutError`` as the direct client does.
        """
        self._check_open()
        pair = (tr_id, _check_key(tr_key))
        self.start()
        with self._lock:
            known = pair in self._cursors
        if not known:
            # The cursor is read before the claim: no record appended after the claim is missed.
            cursor = self._last_id(pair)
            cap = self.protocol.max_registrations
            ok, held = self._parsed(
                "CLAIM",
                [self._members, self._claims, self._refs],
                [self.member, _ms(self.policy.member_ttl), cap, _pair_text(pair), self._keep_ms()],
                _two,
            )
            if not ok:
                raise KISSubscriptionLimitError(
                    f"cannot register {tr_id} {tr_key}: the app key's shared session already "
                    f"holds {held} of {cap} (tr_id, tr_key) registrations across every process "
                    "(KIS allows 41 per app key); unsubscribe one first or use another app key",
                    limit=cap,
                    tr_id=tr_id,
                    tr_key=tr_key,
                )
            with self._lock:
                self._cursors.setdefault(pair, cursor)
                self._changed.notify_all()
            self._wake.set()
        if wait:
            self._await_active(pair, timeout)
        return self.registrations.get(pair) or Registration(tr_id, tr_key, "pending")

    def unsubscribe(self, tr_id: str, tr_key: str, *, wait: bool, timeout: float | None) -> None:
        """Drop this process's claim; the holder releases the pair at KIS once nobody wants it.
        With ``wait``, returns when the pair is still wanted by another process or released."""
        self._check_open()
        pair = (tr_id, tr_key)
        with self._lock:
            if self._cursors.pop(pair, None) is None:
                return
        self._run(
            "RELEASE", [self._members, self._claims, self._refs], [self.member, _pair_text(pair)]
        )
        self._wake.set()
        if not wait:
            return
        limit = self.reconnect.reply_timeout if timeout is None else timeout
        ends_at = time.monotonic() + limit
        while True:
            still = self.link.run(
                lambda r: (
                    r.hexists(self._refs, _pair_text(pair)),
                    r.hexists(self._active, _pair_text(pair)),
                )
            )
            if still[0] or not still[1]:
                return
            if time.monotonic() >= ends_at:
                raise reply_timeout_error(pair, limit)
            if self._closing.wait(self.policy.tick / 2):
                return

    def _await_active(self, pair: Pair, timeout: float | None) -> None:
        limit = self.reconnect.reply_timeout if timeout is None else timeout
        ends_at = time.monotonic() + limit
        with self._changed:
            while True:
                self._failure.raise_if_set()
                if self._closed:
                    raise KISUsageError("the realtime client is closed")
                refused = (self._view.refused or {}).get(pair)
                if refused is not None:
                    break
                if pair in self._view.active:
                    return
                left = ends_at - time.monotonic()
                if left <= 0:
                    raise reply_timeout_error(pair, limit)
                self._changed.wait(min(left, self.policy.tick))
        # A refused pair is not kept: wanting it again tries KIS again.
        with contextlib.suppress(KISRedisUnavailableError):
            self.unsubscribe(*pair, wait=False, timeout=None)
        code, _, message = refused.partition("\t")
        raise KISRealtimeRefusedError(code, message, tr_id=pair[0], tr_key=pair[1])

    def _check_open(self) -> None:
        self._failure.raise_if_set()
        if self._closed:
            raise KISUsageError("the realtime client is closed")

    def _last_id(self, pair: Pair) -> str:
        entries = self.link.run(lambda r: r.xrevrange(self.stream_key(pair), count=1))
        return _text(entries[0][0]) if entries else "0-0"

    # --- the coordinator ------------------------------------------------------------------------

    def _coordinate(self) -> None:
        while not self._closing.is_set():
            self._wake.wait(self.policy.tick)
            self._wake.clear()
            if self._closing.is_set():
                break
            try:
                self._beat()
                self._hold()
                self._last_ok = time.monotonic()
            except KISRedisUnavailableError as exc:
                self._redis_failed(exc)
            except Exception:  # a bug here must not stop the heartbeat of a live process
                log.exception("shared realtime session: the coordinator failed")
        # Only this thread makes the held session: closing it here leaves none behind, even
        # one made while close() was waiting for this thread.
        self._drop_direct()

    def _beat(self) -> None:
        known, wanted, active, refused = self._parsed(
            "HEARTBEAT",
            [self._members, self._claims, self._refs, self._active, self._refused],
            [self.member, _ms(self.policy.member_ttl), self._keep_ms()],
            _heartbeat,
        )
        with self._lock:
            mine = list(self._cursors)
            self._view = _View(wanted, active, refused)
            self._changed.notify_all()
        if not known and mine:
            # Our heartbeat ran out (a long pause) and our claims were reaped: claim them again.
            log.warning("shared realtime session: this process's claims had expired: renewing")
            for pair in mine:
                self._run(
                    "CLAIM",
                    [self._members, self._claims, self._refs],
                    [
                        self.member,
                        _ms(self.policy.member_ttl),
                        self.protocol.max_registrations,
                        _pair_text(pair),
                        self._keep_ms(),
                    ],
                )

    def _hold(self) -> None:
        held, epoch, fresh = self._parsed(
            "LEASE",
            [self._lease, self._epoch_key, self._active, self._refused],
            [self.member, _ms(self.policy.lease_ttl), self._keep_ms()],
            _three,
        )
        if not held:
            if self.epoch is not None:
                log.warning("shared realtime session: the lease went to another process")
                self.epoch = None
                self._drop_direct()
            return
        if fresh or self.epoch != epoch:
            if self.epoch is not None:
                self._drop_direct()  # a lease taken again after losing it: a new session
            self.epoch = epoch
            self.takeovers += 1
            self._refused_here.clear()
            log.info("shared realtime session: this process holds the session (epoch %d)", epoch)
        self._sync_direct(epoch)

    def _sync_direct(self, epoch: int) -> None:
        """Make the holder's session register exactly the wanted pairs, then publish its state."""
        with self._lock:
            wanted = self._view.wanted
        self._refused_here = {p: c for p, c in self._refused_here.items() if p in wanted}
        want = {pair for pair in wanted if pair not in self._refused_here}
        direct = self._direct
        if self._closing.is_set():
            return
        if direct is None and want and time.monotonic() >= self._direct_after:
            direct = self._direct = self._direct_factory(self._publish, self._on_direct_error)
            self._direct_backoff.session_started(time.monotonic())
        active: list[str] = []
        if direct is not None:
            try:
                if direct.error is not None:
                    raise direct.error
                current = direct.registrations
                for pair in sorted(want - current.keys()):
                    direct.subscribe(pair[0], pair[1], wait=False)
                for pair, registration in current.items():
                    if pair not in want and registration.state != "releasing":
                        direct.unsubscribe(pair[0], pair[1], wait=False)
                active = [
                    _pair_text(pair)
                    for pair, registration in direct.registrations.items()
                    if registration.state == "active" and pair in want
                ]
            except KISError as exc:
                # The direct session ended (OPSP8996 past its attempts, a refused approval key)
                # or could not connect: a new one after a backoff, never in a tight loop.
                delay = self._direct_backoff.next_delay(time.monotonic())
                log.warning(
                    "shared realtime session: the held session failed (%s): again in %.2f s",
                    describe_error(exc),
                    delay,
                )
                self._drop_direct()
                self._direct_after = time.monotonic() + delay
        self._run(
            "SYNC",
            [self._lease, self._active, self._refused, self._refs],
            [self.member, epoch, self._keep_ms(), *active],
        )

    def _drop_direct(self) -> None:
        direct, self._direct = self._direct, None
        if direct is not None:
            try:
                direct.close()
            except Exception:  # closing a broken session must not stop the coordinator
                log.exception("shared realtime session: closing the held session failed")

    def _redis_failed(self, exc: KISRedisUnavailableError) -> None:
        silent = time.monotonic() - self._last_ok
        if self.epoch is not None and silent >= self.policy.lease_ttl / 2:
            # Our lease may run out before Redis answers: another process may take over, and
            # must not meet our session at KIS.
            log.warning("shared realtime session: Redis unavailable: closing the held session")
            self.epoch = None
            self._drop_direct()
        if silent >= self.policy.lease_ttl:
            self._failure.set(
                KISRedisUnavailableError(
                    f"{exc} for {silent:.1f} s: the shared realtime session needs Redis (no "
                    "direct session is opened instead: another process may hold the app key's)"
                )
            )
            self._closing.set()
            with self._lock:
                self._changed.notify_all()

    # --- the holder's callbacks (the direct session's reader thread) ---------------------------

    def _publish(self, record: Record) -> None:
        pair = (record.tr_id, record.key)
        try:
            done = self._run(
                "PUBLISH",
                [self._lease, self.stream_key(pair)],
                [
                    self.member,
                    self.policy.maxlen,
                    _ms(self.policy.stream_ttl),
                    self.epoch or 0,
                    record.tr_id,
                    record.key,
                    "^".join(record.values),
                ],
            )
        except KISRedisUnavailableError as exc:
            if not self._publish_failing:  # once per outage, not once per record
                self._publish_failing = True
                log.warning(
                    "shared realtime session: records are not published: %s", describe_error(exc)
                )
            return
        self._publish_failing = False
        if not done and not self._lost_warned:
            self._lost_warned = True
            log.warning(
                "shared realtime session: records not published: the lease is no longer ours"
            )

    def _on_direct_error(self, error: KISRealtimeError) -> None:
        tr_id = getattr(error, "tr_id", None)
        tr_key = getattr(error, "tr_key", None)
        code = getattr(error, "code", None)
        if not (isinstance(tr_id, str) and isinstance(tr_key, str) and isinstance(code, str)):
            return
        pair = (tr_id, tr_key)
        message = getattr(error, "message", None) or str(error)
        self._refused_here[pair] = code
        with contextlib.suppress(KISRedisUnavailableError):
            self._run(
                "REFUSE",
                [self._lease, self._refused],
                [self.member, _pair_text(pair), f"{code}\t{message}"],
            )
        self._wake.set()

    # --- the reader -----------------------------------------------------------------------------

    def _read(self) -> None:
        block = _ms(self.policy.block)
        while not self._closing.is_set():
            with self._lock:
                streams = {self.stream_key(pair): cursor for pair, cursor in self._cursors.items()}
                pairs = {self.stream_key(pair): pair for pair in self._cursors}
            if not streams:
                self._closing.wait(self.policy.block)
                continue
            try:
                batches = self.link.run(functools.partial(_xread, streams=streams, block_ms=block))
            except KISRedisUnavailableError:
                self._closing.wait(self.policy.tick)  # the coordinator decides when to give up
                continue
            for stream, entries in batches or ():
                name = _text(stream)
                pair = pairs.get(name)
                if pair is None:
                    continue
                for entry_id, fields in entries:
                    record = self._record(fields)
                    with self._lock:
                        if pair not in self._cursors:
                            break  # unsubscribed meanwhile
                        self._cursors[pair] = _text(entry_id)
                    if record is not None:
                        self._deliver(record)

    def _record(self, fields: dict[Any, Any]) -> Record | None:
        try:
            values = {_text(k): _text(v) for k, v in fields.items()}
            tr_id = values["t"]
            return Record(
                tr_id, values["k"], tuple(values["v"].split("^")), self.protocol.layout(tr_id)
            )
        except (KeyError, KISError) as exc:
            log.warning(
                "shared realtime session: a stream entry was skipped: %s", describe_error(exc)
            )
            return None


def _xread(client: Redis, streams: dict[str, str], block_ms: int) -> Any:
    return client.xread(streams, count=500, block=block_ms)  # type: ignore[arg-type]


def _ints(reply: Any) -> list[int]:
    try:
        return [int(value) for value in reply]
    except (TypeError, ValueError):
        raise RedisReplyError(f"a shared realtime script answered {type(reply).__name__}") from None


def _two(reply: Any) -> tuple[int, int]:
    values = _ints(reply)
    if len(values) != 2:
        raise RedisReplyError(f"the claim script answered {len(values)} values, not 2")
    return values[0], values[1]


def _three(reply: Any) -> tuple[int, int, int]:
    values = _ints(reply)
    if len(values) != 3:
        raise RedisReplyError(f"the lease script answered {len(values)} values, not 3")
    return values[0], values[1], values[2]


def _heartbeat(reply: Any) -> tuple[bool, frozenset[Pair], frozenset[Pair], dict[Pair, str]]:
    try:
        known, wanted, active, refused = reply
        flat = [_text(value) for value in refused]
        return (
            int(known) == 1,
            frozenset(_pair_of(_text(p)) for p in wanted),
            frozenset(_pair_of(_text(p)) for p in active),
            {_pair_of(flat[i]): flat[i + 1] for i in range(0, len(flat) - 1, 2)},
        )
    except (TypeError, ValueError):
        raise RedisReplyError("the heartbeat script answered a reply of the wrong shape") from None
