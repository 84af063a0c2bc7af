"""The blocking client's own transport: a keep-alive pool of the standard library's
``http.client`` connections to the one KIS host.

Chosen by measurement (``python -m benchmarks --only hashkey``): per call it costs less than
urllib3 (which wraps the same connections in more layers) and much less than httpx. What those
libraries gave, it does itself, in a few lines each: the pool (LIFO, idle connections dropped
after :data:`KEEPALIVE_SECONDS` or when the server closed them), TLS verified against certifi's
CA bundle (as httpx does), no redirect ever followed (``http.client`` follows none), gzip and
deflate decoded within the size cap (:class:`._attempt.ReplyReader`).

The attempt deadline is one bound over connect, send and every read: socket timeouts restart
with each byte, so a :class:`_Watchdog` thread shuts the socket down when the attempt's time is
up, which ends any read or write under way, a TLS handshake trickled byte by byte included. The
host name is resolved in a helper thread, given up on once the time is up (``getaddrinfo`` has
no timeout of its own).

A forked child gets a watchdog of its own and empty pools (see :func:`_after_fork_in_child`).
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import ipaddress
import itertools
import os
import select
import socket
import ssl
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._attempt import (
    ACCEPT_ENCODING,
    KEEPALIVE_SECONDS,
    AttemptClock,
    ReplyReader,
    deadline_error,
    not_sent_error,
    tls_context,
)
from .errors import KISConnectError, KISError, KISProtocolError, KISTransportError
from .protocol import PreparedRequest, RawResponse

__all__ = ["KEEPALIVE_SECONDS", "HTTPTransport"]

_CHUNK = 65536


@dataclass(order=True)
class _Watch:
    ends_at: float
    seq: int
    sock: socket.socket | None = field(compare=False)


class _Watchdog:
    """One daemon thread that shuts down the sockets of attempts past their deadline.

    Finished attempts are not removed from the heap (a lock and a flag instead): the thread
    drops them when it wakes, and it is woken only for a deadline earlier than the one it
    sleeps towards, so a steady stream of calls costs it almost no wake-ups.
    """

    def __init__(self) -> None:
        self._seq = itertools.count()
        self.reset()

    def reset(self) -> None:
        """Forget every watch and the thread (in a forked child, which has neither the thread
        nor, maybe, a usable lock: the parent may have held it while forking)."""
        self._lock = threading.Condition(threading.Lock())
        self._heap: list[_Watch] = []
        self._wake_at = float("inf")
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, ends_at: float) -> _Watch:
        entry = _Watch(ends_at, next(self._seq), sock)
        with self._lock:
            while self._heap and self._heap[0].sock is None:
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kis-attempt-watchdog", daemon=True
                )
                self._thread.start()
            elif ends_at < self._wake_at:
                self._lock.notify()
        return entry

    def done(self, entry: _Watch) -> bool:
        """Stop watching; False if the watchdog already shut the socket down."""
        with self._lock:
            alive = entry.sock is not None
            entry.sock = None
            return alive

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0].sock is None or self._heap[0].ends_at <= now):
                    entry = heapq.heappop(self._heap)
                    if entry.sock is not None:
                        _shutdown(entry.sock)
                        entry.sock = None
                self._wake_at = self._heap[0].ends_at if self._heap else float("inf")
                self._lock.wait(None if not self._heap else max(0.0, self._wake_at - now))


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's method, also for a TLS socket: SSLSocket.shutdown drops its TLS state
    # before shutting the descriptor, so a thread between two writes of sendall would write the
    # rest of the request (its token) in clear in that gap.
    with contextlib.suppress(OSError):  # already closed by its owner: nothing to interrupt
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()
# Every live transport, for the fork handler below.
_TRANSPORTS: weakref.WeakSet[HTTPTransport] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child has no watchdog thread (only the forking thread survives), and its pools
    hold the parent's sockets, which two processes must not both write: start afresh."""
    _WATCHDOG.reset()
    for transport in list(_TRANSPORTS):
        transport._forget_pool()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Connection(http.client.HTTPConnection):
    idle_since = 0.0


class _TLSConnection(http.client.HTTPSConnection):
    idle_since = 0.0


class HTTPTransport:
    """A thread-safe pool of keep-alive connections to ``base_url``'s host.

    ``pool_size`` idle connections are kept; the shell bounds in-flight requests to the same
    number, so the pool never opens more than that either.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_reply_bytes: int,
        pool_size: int,
    ) -> None:
        parts = urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.hostname or ""
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._context = tls_context() if self._tls else None
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._limit = max_reply_bytes
        self._pool_size = pool_size
        # deque.append/pop are atomic: threads share it without a lock.
        self._idle: deque[_Connection | _TLSConnection] = deque()
        self._closed = False
        _TRANSPORTS.add(self)

    def send(self, request: PreparedRequest, clock: AttemptClock) -> RawResponse:
        conn = self._idle_connection()
        if conn is None:
            conn = self._connect(request, clock)
        sock = conn.sock
        if sock is None:  # pragma: no cover - connected above
            raise not_sent_error(request, "the connection closed before use", None)
        watch = _WATCHDOG.watch(sock, clock.ends_at)
        failure: Exception | None = None
        raw: RawResponse | None = None
        reusable = False
        try:
            raw, reusable = self._exchange(conn, request, clock)
        except Exception as exc:  # anything a garbled reply makes a library raise: see _error
            failure = exc
        except BaseException:  # interrupted mid-exchange: the connection's state is unknown
            conn.close()
            raise
        finally:
            in_time = _WATCHDOG.done(watch)
        if raw is not None and reusable and in_time and not self._closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
            if len(self._idle) > self._pool_size:
                with contextlib.suppress(IndexError):  # emptied meanwhile by another thread
                    self._idle.popleft().close()
            if self._closed:  # close() ran between the check and the append
                self._drain()
        else:
            conn.close()
        if raw is not None and in_time:
            return raw
        # Cut by the watchdog, a body without a length ends early but looks whole.
        error = self._error(failure, request, clock, cut=not in_time)
        del failure  # frames of the send hold the headers, credentials included
        raise error

    def _exchange(
        self, conn: _Connection | _TLSConnection, request: PreparedRequest, clock: AttemptClock
    ) -> tuple[RawResponse, bool]:
        url = request.url
        target = url[len(self._origin) :] if url.startswith(self._origin) else _target(url)
        refused = False
        try:
            conn.putrequest(request.method, target or "/", skip_accept_encoding=True)
            for name, value in request.headers.items():
                conn.putheader(name, value)
        except ValueError:  # http.client's check of the head, before any byte is written
            refused = True
        if refused:  # raised outside the except: its text quotes the header value
            raise KISConnectError(
                f"{request.method} {request.path} could not be sent (the HTTP library refused "
                "to write it); nothing was sent"
            )
        if not any(name.lower() == "accept-encoding" for name in request.headers):
            conn.putheader("Accept-Encoding", ACCEPT_ENCODING)
        body = request.content
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        try:
            # Lower-cased for ReplyReader's look-ups (HTTPMessage is no Mapping).
            headers = {name.lower(): value for name, value in response.getheaders()}
            reader = ReplyReader(request, response.status, headers, self._limit, clock)
            while chunk := response.read1(_CHUNK):
                reader.add(chunk)
            if response.length:  # read1 ends a body cut short quietly: the length tells
                raise http.client.IncompleteRead(b"", response.length)
            raw = reader.raw()
        finally:
            # Closing the reply, not the socket, frees the connection for the next request.
            response.close()
        return raw, not response.will_close

    def _idle_connection(self) -> _Connection | _TLSConnection | None:
        stale_before = time.monotonic() - KEEPALIVE_SECONDS
        while True:
            try:
                conn = self._idle.pop()  # the most recent: the least likely to be dropped
            except IndexError:
                return None
            sock = conn.sock
            # Readable while idle: the server closed it (or sent what nobody asked for).
            if sock is not None and conn.idle_since > stale_before and not _readable(sock):
                return conn
            conn.close()

    def _connect(
        self, request: PreparedRequest, clock: AttemptClock
    ) -> _Connection | _TLSConnection:
        conn: _Connection | _TLSConnection
        if self._context is not None:
            conn = _TLSConnection(self._host, self._port, context=self._context)
        else:
            conn = _Connection(self._host, self._port)
        failure: OSError | None = None
        try:
            # Given its socket, http.client never connects by itself (unbounded) again.
            conn.sock = self._open_socket(clock)
        except OSError as exc:  # refused, unreachable, DNS, TLS, out of time: nothing was sent
            failure = exc
        if failure is not None:
            limit = clock.ran_out()
            error = not_sent_error(request, _os_detail(failure), limit)
            del failure
            raise error
        return conn

    def _open_socket(self, clock: AttemptClock) -> socket.socket:
        """A connected socket (TLS done, if https) within ``connect_timeout`` and the attempt's
        deadline; raises :class:`OSError` (:class:`TimeoutError` when out of time)."""
        timeout = min(self._connect_timeout, clock.left())
        sock = _dial(self._host, self._port, timeout, clock)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._context is not None:
                sock = _handshake(self._context, sock, self._host, clock)
            sock.settimeout(self._read_timeout)
        except BaseException:
            sock.close()
            raise
        return sock

    @staticmethod
    def _error(
        failure: Exception | None, request: PreparedRequest, clock: AttemptClock, *, cut: bool
    ) -> KISError:
        """Once the request head may have left, every failure may mean it was sent."""
        if isinstance(failure, KISError) and not cut:
            # The size cap, the deadline seen between chunks, a header refused. Its frames hold
            # the request's headers and body and the reply's chunks: credentials and tokens.
            return failure.with_traceback(None)
        name = type(failure).__name__ if failure is not None else "cut short"
        out_of_time = clock.seconds if cut else clock.ran_out()
        if out_of_time is not None:
            return deadline_error(request, out_of_time, name)
        what = f"{request.method} {request.path}"
        if isinstance(failure, TimeoutError):  # the head is out: the reply is what timed out
            return KISTransportError(f"ReadTimeout: no reply data in time during {what}")
        if isinstance(failure, http.client.IncompleteRead | http.client.RemoteDisconnected):
            return KISTransportError(
                f"RemoteProtocolError: the server closed the connection mid-reply ({name}) "
                f"during {what}"
            )
        if isinstance(failure, OSError):
            return KISTransportError(f"{_os_detail(failure)} during {what}")
        # HTTPException, or what no library documents (a ValueError from a garbled header):
        # typed all the same, so that an order is reported ambiguous and never resent.
        return KISProtocolError(f"unreadable reply to {what}: {name}")

    def close(self) -> None:
        self._closed = True
        self._drain()

    def _drain(self) -> None:
        while True:  # not `while self._idle`: another thread may take the last one in between
            try:
                conn = self._idle.pop()
            except IndexError:
                return
            conn.close()

    def _forget_pool(self) -> None:
        """In a forked child: drop the connections shared with the parent (closing the child's
        descriptors only; the parent's connections stay up)."""
        idle, self._idle = self._idle, deque()
        for conn in idle:
            conn.close()


def _resolve(host: str, port: int, seconds: float) -> list[Any]:
    """``getaddrinfo`` for a TCP connection, given up on after ``seconds`` (the lookup thread
    is left to finish on its own: the resolver cannot be interrupted)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:  # a literal address: nothing to look up, no thread
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Any] = []
    failed: list[OSError] = []

    def look_up() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)

    thread = threading.Thread(target=look_up, name="kis-resolve", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError("name resolution timed out")
    if failed:
        raise failed[0]
    return found


def _dial(host: str, port: int, timeout: float, clock: AttemptClock) -> socket.socket:
    """A TCP connection to the first of ``host``'s addresses that answers, as
    :func:`socket.create_connection` makes one, within ``timeout`` and the attempt's time."""
    last: OSError = TimeoutError("timed out")
    for family, kind, proto, _, address in _resolve(host, port, timeout):
        left = min(timeout, clock.left())
        if left <= 0:
            break
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last


def _handshake(
    context: ssl.SSLContext, sock: socket.socket, host: str, clock: AttemptClock
) -> ssl.SSLSocket:
    """``sock`` wrapped in TLS, the handshake under the watchdog: its reads restart the socket
    timeout with every byte, so a peer trickling the handshake would hold the call forever.

    The watchdog watches the TLS socket, not ``sock``: wrapping takes over (detaches) its
    descriptor.
    """
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        watch = _WATCHDOG.watch(tls, clock.ends_at)
        try:
            tls.do_handshake()
        finally:
            in_time = _WATCHDOG.done(watch)
        if not in_time:
            raise TimeoutError("the TLS handshake outlasted the attempt")
    except BaseException:
        tls.close()
        raise
    return tls


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _readable(sock: socket.socket) -> bool:
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):  # closed under us
        return True


def _os_detail(exc: OSError) -> str:
    """The class and the OS's words, never the library's (which may quote a header)."""
    name = type(exc).__name__
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{name}: timed out"
    return f"{name}: {exc.strerror}" if exc.strerror else name
