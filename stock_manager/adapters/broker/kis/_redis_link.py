"""One process's connection to the Redis that coordinates an app key across processes.

A :class:`RedisLink` wraps a redis-py client (imported lazily: ``stock-manager[redis]`` is an
optional extra) and knows whether Redis is usable. Every Redis command of the token store and
the request budget goes through :meth:`RedisLink.run`; a failure marks the link *down*, logs
one warning for the outage (the host and port only: the URL may hold a password) and raises
:class:`~.errors.KISRedisUnavailableError`, which the fallback layers answer by using local state.
While down, :meth:`RedisLink.available` tries a ``PING`` at most every ``probe_interval``
seconds and marks the link up again when Redis answers.

:func:`shared_link` hands out one link per Redis URL per process, so the token store and the
budget see the same outage and log it once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr

from .errors import KISConfigError, KISRedisUnavailableError
from .redaction import logger

if TYPE_CHECKING:
    from redis import Redis

    from .config import KISConfig

__all__ = [
    "DEFAULT_PREFIX",
    "RedisLink",
    "RedisReplyError",
    "ScriptArg",
    "close_shared_links",
    "import_redis",
    "redis_address",
    "shared_link",
]

#: What every Redis key of this project starts with (token entries, leases, rate limiters).
DEFAULT_PREFIX = "stock-manager"

T = TypeVar("T")

#: What a Lua script takes as an argument.
ScriptArg = str | int | float | bytes

INSTALL_HINT = "pip install 'stock-manager[redis]'"


class RedisReplyError(Exception):
    """Raised by our parsers for a Redis reply of the wrong shape: a broken Redis (an outage,
    logged as an error), unlike any other exception of a parser, which is a bug of ours."""


def import_redis() -> ModuleType:
    """redis-py, or :class:`KISConfigError` with the install hint if it is missing."""
    try:
        # An optional dependency, imported only when Redis is chosen.
        import redis  # noqa: PLC0415
        import redis.backoff  # noqa: PLC0415
        import redis.retry  # noqa: PLC0415
    except ImportError:
        raise KISConfigError(
            f"redis_url (KIS_REDIS_URL) is set but redis-py is not installed: {INSTALL_HINT}"
        ) from None
    return redis


def redis_address(url: str) -> str:
    """``host:port`` (or the socket path) of a Redis URL: what may be logged of it."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return parts.path or "unix socket"
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    except ValueError:
        return "an unparsable address"


class RedisLink:
    """A redis-py client plus what this process knows of Redis's health.

    ``socket_timeout`` bounds a command against a Redis that hangs; ``connect_timeout`` one
    that is gone. redis-py's own retries are off: a failed command is an outage, answered by
    the fallback at once rather than after seconds of backoff.
    """

    def __init__(
        self,
        url: str | SecretStr,
        *,
        probe_interval: float = 5.0,
        socket_timeout: float = 1.0,
        connect_timeout: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        redis = import_redis()
        self.probe_interval = probe_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self._up = True
        self._next_probe = 0.0
        self.address = "an unparsable address"  # until the URL is known to be usable
        # The URL may hold a password: it is unwrapped only inside _client_for, which returns
        # (never raises) its failure, so no traceback frame of the error below holds it.
        built = _client_for(redis, url, socket_timeout, connect_timeout)
        if isinstance(built, str):
            raise KISConfigError(
                f"redis_url (KIS_REDIS_URL) is not a Redis URL redis-py can use ({built}): "
                "expected redis://[user:password@]host:port/db, rediss://... or unix:///path, "
                "with only options redis-py knows (check the query string)"
            )
        self.client: Redis = built[0]
        self.address = built[1]

    @property
    def up(self) -> bool:
        """False from a failed command until a probe finds Redis answering again."""
        return self._up

    def run(self, operation: Callable[[Redis], T]) -> T:
        """``operation(client)``; a Redis failure marks the link down and raises
        :class:`KISRedisUnavailableError` (naming the host and port, nothing else)."""
        try:
            return operation(self.client)
        except Exception as exc:
            # Not only RedisError/OSError: an endpoint that speaks Redis badly (answering HELLO
            # with +OK) makes redis-py raise AttributeError, IndexError, ...; any failure of a
            # command is an outage. Cancellation and interrupts (BaseException) propagate.
            self.mark_down(exc)
            raise KISRedisUnavailableError(
                f"Redis at {self.address} is unavailable ({type(exc).__name__})"
            ) from None

    def run_and_parse(self, operation: Callable[[Redis], Any], parse: Callable[[Any], T]) -> T:
        """``parse(operation(client))``: the command's failures as in :meth:`run`; a
        :class:`RedisReplyError` of ``parse`` is an outage too, logged at ERROR with its
        reason. Any other exception of ``parse`` is a bug of ours and propagates as it is."""
        reply = self.run(operation)
        try:
            return parse(reply)
        except RedisReplyError as exc:
            logger.error(
                "Redis at %s answered with a reply of the wrong shape: %s", self.address, exc
            )
            self.mark_down(exc)
            raise KISRedisUnavailableError(
                f"Redis at {self.address} is unavailable (a reply of the wrong shape: {exc})"
            ) from None

    def mark_down(self, exc: BaseException) -> None:
        """Record an outage; the first failure of each outage logs the warning."""
        with self._lock:
            self._next_probe = self._clock() + self.probe_interval
            if not self._up:
                return
            self._up = False
        logger.warning(
            "Redis at %s is unavailable (%s): using the local token store and a local share "
            "of the request budget until it answers again (checked every %g s)",
            self.address,
            type(exc).__name__,
            self.probe_interval,
        )

    def probe_due(self) -> bool:
        """True when the link is down and the next probe may be made."""
        return not self._up and self._clock() >= self._next_probe

    def available(self) -> bool:
        """Is Redis usable? While down, ``PING`` it if a probe is due (one thread at a time)."""
        if self._up:
            return True
        if not self.probe_due() or not self._probing.acquire(blocking=False):
            return False
        try:
            if not self.probe_due():
                return self._up
            try:
                self.client.ping()
            except Exception:  # any failure of redis-py, as in run
                with self._lock:
                    self._next_probe = self._clock() + self.probe_interval
                return False
            with self._lock:
                self._up = True
            logger.warning(
                "Redis at %s is reachable again: back to the shared tokens and budget", self.address
            )
            return True
        finally:
            self._probing.release()

    def __repr__(self) -> str:
        state = "up" if self._up else "down"
        return f"RedisLink({self.address}, {state})"


def _client_for(
    redis: ModuleType, url: str | SecretStr, socket_timeout: float, connect_timeout: float
) -> tuple[Redis, str] | str:
    """(redis-py client, loggable address) for ``url``, or the name of what went wrong."""
    plain = url.get_secret_value() if isinstance(url, SecretStr) else url
    try:
        client = redis.Redis.from_url(
            plain,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        )
        # redis-py checks most URL options only when it first connects (a bogus ssl_cert_reqs
        # is a TypeError then, on every command): build one connection object now, which does
        # no I/O, so a bad URL fails here, as a configuration error.
        pool = client.connection_pool
        pool.connection_class(**pool.connection_kwargs)
    except Exception as exc:  # whatever redis-py raises, the URL is wrong
        # Only the type: redis-py's message may quote the URL, password included.
        return type(exc).__name__
    return client, redis_address(plain)


_links: dict[str, RedisLink] = {}
_links_lock = threading.Lock()


def shared_link(config: KISConfig, **options: Any) -> RedisLink:
    """The process's link to ``config.redis_url`` (created on first use)."""
    if config.redis_url is None:
        raise KISConfigError("redis_url (KIS_REDIS_URL) is not set")
    # Keyed by a digest: the dict (and a debugger's view of it) never holds the password.
    digest = hashlib.sha256(config.redis_url.get_secret_value().encode()).hexdigest()
    with _links_lock:
        link = _links.get(digest)
        if link is None:
            link = RedisLink(
                config.redis_url, probe_interval=config.redis_probe_interval, **options
            )
            _links[digest] = link
        return link


def close_shared_links() -> None:
    """Close and forget every shared link (the next use connects afresh)."""
    with _links_lock:
        links = list(_links.values())
        _links.clear()
    for link in links:
        link.client.close()
