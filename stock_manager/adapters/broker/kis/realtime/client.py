"""``KISRealtimeClient``: the blocking realtime (websocket) client, a shell over the sans-I/O core.

>>> with KISRealtimeClient(KISConfig()) as rt:            # KIS_* variables or .env
...     rt.subscribe("H0STCNT0", "005930")                # TR_ID, catalog id or alias
...     for record in rt:
...         print(record.key, record["STCK_PRPR"])

The socket is ``websockets.sync.client``: the same sans-I/O websocket core as the asyncio client
(``websockets.asyncio.client``) that :class:`~.aio.AsyncKISRealtimeClient` uses, so both shells
speak the protocol identically; a blocking socket read in one thread needs no event loop in a
program that has none. One reader thread owns the connection: it feeds every frame to
:class:`~.protocol.RealtimeProtocol`, answers PINGPONG, keeps the silence watchdog (no frame for
``policy.silence_timeout`` -> reconnect) and reconnects with backoff (:mod:`.backoff`), sending
every registration again (the new session brings new AES keys for the notices).

Records go to ``on_record`` when it is given (called in the reader thread), else to a bounded
queue that iteration reads. A slow consumer is never dropped from: when the queue is full the
reader waits, which stops it reading the socket and lets TCP push back on KIS; KIS may then drop
the session, after which the client reconnects. What was received is always delivered.

With ``redis_url`` configured (or ``shared=True``) the client takes part in the app key's one
session shared by every process through Redis (:mod:`.shared`): no socket of its own unless this
process holds the session; records come through Redis; ``shared=False`` opts out.

Refusals and bad frames are logged (masked) and handed to ``on_error``; they never end the
stream. Only a dead end ends it, raised from iteration and from later calls: the app key held
by another session after ``policy.in_use_attempts`` tries (:class:`KISAppKeyInUseError`), or an
approval key KIS refuses again after one fresh key (:class:`KISApprovalKeyError`).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from .._redis_link import shared_link
from ..catalog import Catalog
from ..client import KISRestClient
from ..config import KISConfig
from ..errors import (
    KISAppKeyInUseError,
    KISApprovalKeyError,
    KISError,
    KISRealtimeError,
    KISUsageError,
)
from ..tokens.store import TokenStore
from ._shell import (
    WIRE_LOGGER,
    Failure,
    Fatal,
    KeyRenewal,
    connect_error,
    describe_error,
    in_use_error,
    key_for,
    log,
    reader_error,
    reply_timeout_error,
)
from .backoff import Backoff, ReconnectPolicy
from .events import ErrorEvent, Pong
from .frames import ControlReply
from .protocol import RealtimeProtocol
from .records import Record
from .registry import KIS_MAX_REGISTRATIONS, Pair, Registration
from .shared import DirectSession, SharedPolicy, SharedSession

__all__ = ["KISRealtimeClient"]

#: How often blocked waits look up to see whether the client is closing.
_POLL = 0.2

RecordCallback = Callable[[Record], object]
ErrorCallback = Callable[[KISRealtimeError], object]


class KISRealtimeClient:
    """KIS's realtime websocket for one app key: subscribe, then iterate (or take callbacks).

    ``rest`` is the REST client whose ``approval_key()`` (cached in the token store, shared with
    other clients of the app key) authorises the frames; without it one is made from ``config``
    and ``token_store`` and closed with this client. ``queue_size`` bounds the records waiting
    for the consumer. Thread-safe: subscribe from any thread while another iterates.

    ``shared`` (default: whether ``config.redis_url`` is set) shares one KIS session among the
    processes of the app key through Redis, with ``shared_policy``'s times (:mod:`.shared`).
    """

    def __init__(
        self,
        config: KISConfig | None = None,
        *,
        rest: KISRestClient | None = None,
        token_store: TokenStore | None = None,
        on_record: RecordCallback | None = None,
        on_error: ErrorCallback | None = None,
        policy: ReconnectPolicy | None = None,
        queue_size: int = 10_000,
        max_registrations: int = KIS_MAX_REGISTRATIONS,
        catalog: Catalog | None = None,
        shared: bool | None = None,
        shared_policy: SharedPolicy | None = None,
    ) -> None:
        if rest is not None and (config is not None or token_store is not None):
            raise KISUsageError("pass rest= or config=/token_store=, not both: rest has its own")
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise KISUsageError(f"queue_size must be a positive int, not {queue_size!r}")
        self._owns_rest = rest is None
        self.rest = rest or KISRestClient(config, token_store=token_store, catalog=catalog)
        self.config = self.rest.config
        self.url = self.config.realtime_url
        self.policy = policy or ReconnectPolicy()
        self._key = ""
        self.protocol = RealtimeProtocol(
            lambda: self._key,
            paper=self.config.is_paper,
            custtype=self.config.custtype,
            max_registrations=max_registrations,
            catalog=catalog,
        )
        self._on_record = on_record
        self._on_error = on_error
        self._queue: queue.Queue[Record] = queue.Queue(queue_size)
        # One lock for the protocol, the connection and the waiters' state.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        # Held from the reader check to the reader's start: two threads subscribing at once
        # must not open two websockets (KIS refuses the second with OPSP8996).
        self._connecting = threading.Lock()
        self._ws: ClientConnection | None = None
        self._reader: threading.Thread | None = None
        self._closing = threading.Event()
        self._closed = False
        self._failure = Failure()
        self._refusals: dict[Pair, KISRealtimeError] = {}
        self._renewal = KeyRenewal()
        #: Connections opened, the first included.
        self.connections = 0
        self._catalog = catalog
        #: The shared session through Redis, or None for a direct one.
        self.shared: SharedSession | None = None
        if shared is None:
            shared = self.config.redis_url is not None
        if shared:
            self.shared = SharedSession(
                shared_link(self.config),
                self.config,
                self.protocol,
                direct=self._direct,
                deliver=self._deliver,
                failure=self._failure,
                policy=shared_policy,
                reconnect=self.policy,
            )

    def __repr__(self) -> str:
        if self.shared is not None:
            state = "closed" if self._closed else repr(self.shared)
        else:
            state = "closed" if self._closed else "connected" if self._ws else "disconnected"
        return f"KISRealtimeClient({self.config.environment}, {state}, {self.protocol!r})"

    def _direct(
        self,
        on_record: Callable[[Record], object],
        on_error: Callable[[KISRealtimeError], object],
    ) -> DirectSession:
        """The holder's own session, when this process holds the shared one."""
        return KISRealtimeClient(
            rest=self.rest,
            on_record=on_record,
            on_error=on_error,
            policy=self.policy,
            max_registrations=self.protocol.max_registrations,
            catalog=self._catalog,
            shared=False,
        )

    # --- what the caller reads ---------------------------------------------------------------

    @property
    def registrations(self) -> dict[Pair, Registration]:
        """A snapshot: (tr_id, tr_key) -> :class:`Registration` (pending, active, releasing).
        Shared: this process's pairs, active once the holder's session confirmed them."""
        if self.shared is not None:
            return self.shared.registrations
        with self._lock:
            return dict(self.protocol.registrations)

    @property
    def connected(self) -> bool:
        """A direct client: the websocket is open. Shared: this process takes part."""
        if self.shared is not None:
            return self.shared.running
        return self._ws is not None

    @property
    def error(self) -> KISError | None:
        """The error that ended the stream, or None while it runs."""
        return self._failure.error

    # --- connection ---------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the websocket now (subscribe does it when needed) and send every registration.

        Raises :class:`KISConnectError` if this first connection fails; later drops are
        reconnected in the background, without limit, with backoff.
        """
        self._check_open()
        if self.shared is not None:
            self.shared.start()
            return
        with self._connecting:
            with self._lock:
                if self._reader is not None and self._reader.is_alive():
                    return
            self._refresh_key()
            ws = self._open()
            with self._lock:
                # close() may have run while the websocket opened: it saw no connection to
                # close, so this one must not outlive it (KIS would hold the app key "in use").
                closing = self._closing.is_set()
                if not closing:
                    self._start_session(ws)
                    self._reader = threading.Thread(
                        target=self._run, args=(ws,), name="kis-realtime-reader", daemon=True
                    )
                    self._reader.start()
            if closing:
                self._close_ws(ws)
                raise KISUsageError("the realtime client is closed")

    def close(self) -> None:
        """Close the websocket with a close frame, stop the reader; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        if self.shared is not None:
            self.shared.close()
        with self._lock:
            ws = self._ws
            self._changed.notify_all()
        if ws is not None:
            self._close_ws(ws)
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(self.policy.connect_timeout + self.policy.close_timeout + 1.0)
        if self._owns_rest:
            self.rest.close()

    def __enter__(self) -> KISRealtimeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- subscriptions ------------------------------------------------------------------------

    def subscribe(
        self, tr: str, key: str | None = None, *, wait: bool = True, timeout: float | None = None
    ) -> Registration:
        """Register (tr, key): ``tr`` a TR_ID, catalog id or alias; ``key`` the symbol, or for a
        notice TR the HTS ID (``config.hts_id`` when omitted). Connects if needed.

        Raises before anything is sent: :class:`KISUnknownAPIError`,
        :class:`KISRealtimePaperUnsupportedError`, :class:`KISSubscriptionLimitError` (the cap),
        :class:`KISUsageError`. With ``wait`` (default) returns once KIS confirmed, raises its
        refusal (:class:`KISRealtimeRefusedError`), or ``TimeoutError`` after ``timeout``
        seconds (``policy.reply_timeout``; the pair stays registered).
        """
        self._check_open()
        tr_key = key_for(self.config, key)
        tr_id = self.protocol.resolve(tr)  # an unknown or paper-less TR fails before the key
        if self.shared is not None:
            return self.shared.subscribe(tr_id, tr_key, wait=wait, timeout=timeout)
        self._refresh_key()
        with self._lock:
            frame = self.protocol.subscribe(tr, tr_key)
            pair = (self.protocol.resolve(tr), tr_key)
            self._refusals.pop(pair, None)
            ws, running = self._ws, self._reader is not None and self._reader.is_alive()
            if ws is not None:
                self._send(ws, frame)
        if ws is None and not running:
            self.connect()  # sends every registration, this one included
        if wait:
            self._await(pair, timeout, lambda r: r is not None and r.state == "active")
        with self._lock:
            return self.protocol.registrations.get(pair) or Registration(*pair, "pending")

    def unsubscribe(
        self, tr: str, key: str | None = None, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Release (tr, key); releasing what is not registered is harmless. With ``wait``
        returns once KIS confirmed (``TimeoutError`` after ``timeout`` seconds)."""
        self._check_open()
        tr_key = key_for(self.config, key)
        tr_id = self.protocol.resolve(tr)  # an unknown or paper-less TR fails before the key
        if self.shared is not None:
            self.shared.unsubscribe(tr_id, tr_key, wait=wait, timeout=timeout)
            return
        self._refresh_key()
        with self._lock:
            frame = self.protocol.unsubscribe(tr, tr_key)
            pair = (self.protocol.resolve(tr), tr_key)
            ws = self._ws
            if ws is not None:
                self._send(ws, frame)
            else:
                # No session holds anything: the release is done (the rest stays pending).
                self.protocol.connection_lost()
        if wait and ws is not None:
            self._await(pair, timeout, lambda r: r is None)

    # --- records ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        return self

    def __next__(self) -> Record:
        try:
            return self.next()
        except _Closed:
            raise StopIteration from None

    def next(self, timeout: float | None = None) -> Record:
        """The next record; ``TimeoutError`` if none came within ``timeout`` seconds (None:
        wait as long as it takes). Raises the error that ended the stream, if one did."""
        ends_at = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                pass
            self._failure.raise_if_set()
            if self._closed:
                raise _Closed("the realtime client is closed")
            left = _POLL if ends_at is None else min(_POLL, ends_at - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"no realtime record within {timeout} s")
            try:
                return self._queue.get(timeout=left)
            except queue.Empty:
                continue

    # --- the reader thread --------------------------------------------------------------------

    def _run(self, ws: ClientConnection) -> None:
        backoff = Backoff(self.policy)
        backoff.session_started(time.monotonic())
        current: ClientConnection | None = ws
        try:
            while not self._closing.is_set():
                if current is not None:
                    try:
                        self._pump(current, backoff)
                    except Fatal as fatal:
                        self._fail(fatal.error)
                        break
                    self._end_session(current)
                    current = None
                if self._closing.is_set():
                    break
                delay = backoff.next_delay(time.monotonic())
                log.info("realtime websocket: reconnecting in %.2f s", delay)
                if self._closing.wait(delay):
                    break
                try:
                    self._refresh_key()
                    current = self._open()
                except (KISError, OSError) as exc:
                    log.warning("realtime websocket: reconnect failed: %s", describe_error(exc))
                    continue
                with self._lock:
                    if self._closing.is_set():
                        break
                    self._start_session(current)
                backoff.session_started(time.monotonic())
        except Exception as exc:  # the caller must hear of it: next() would wait for ever
            self._fail(reader_error(exc))
        finally:
            # Whatever ended the loop, the connection in hand is closed with it.
            if current is not None:
                self._end_session(current)
            with self._lock:
                self._changed.notify_all()

    def _fail(self, error: KISError) -> None:
        self._failure.set(error)
        log.error("realtime stream ended: %s", describe_error(error))

    def _pump(self, ws: ClientConnection, backoff: Backoff) -> None:
        """Read frames until the connection ends (returns) or the stream must (Fatal)."""
        while not self._closing.is_set():
            try:
                data = ws.recv(timeout=self.policy.silence_timeout, decode=False)
            except TimeoutError:
                log.warning(
                    "realtime websocket: no frame for %s s (no PINGPONG either): reconnecting",
                    self.policy.silence_timeout,
                )
                self._abort(ws)
                return
            except (ConnectionClosed, OSError):
                return
            with self._lock:
                events = self.protocol.receive(data)
            for event in events:
                if isinstance(event, Record):
                    self._deliver(event)
                elif isinstance(event, Pong):
                    with self._lock:
                        self._send(ws, event.text, answered=False)
                elif isinstance(event, ControlReply):
                    if event.ok:
                        backoff.session_confirmed()
                    with self._lock:
                        self._renewal.answered(event.ok, self._key)
                        self._changed.notify_all()
                elif self._on_error_event(ws, event, backoff):
                    return

    def _on_error_event(self, ws: ClientConnection, event: ErrorEvent, backoff: Backoff) -> bool:
        """Act on an error event; True when the connection must be given up."""
        error = event.error
        if isinstance(error, KISAppKeyInUseError):
            if backoff.app_key_in_use():
                raise Fatal(in_use_error(error, backoff.in_use))
            log.warning(
                "realtime websocket: %s (attempt %d of %d)",
                describe_error(error),
                backoff.in_use,
                self.policy.in_use_attempts,
            )
            self._abort(ws)
            return True
        if isinstance(error, KISApprovalKeyError):
            with self._lock:
                verdict = self._renewal.refused(self._key)
            if verdict == "stale":
                # The pair was sent again with the new key when the first refusal came.
                log.info("realtime websocket: %s for the replaced approval key", error.code)
                return False
            if verdict == "fatal":
                raise Fatal(error)
            log.warning("realtime websocket: %s: getting a new approval key", error.code)
            try:
                self.rest.approval_keys.invalidate(self._key)
                self._refresh_key()
            except KISError as exc:
                raise Fatal(exc) from None
            except Exception as exc:  # e.g. OSError from the token store's file
                raise Fatal(reader_error(exc)) from None
            with self._lock:
                self._renewal.renewed(self._key)
                self._send(ws, *self.protocol.retry_pending())
            return False
        self._report(event)
        return False

    def _report(self, event: ErrorEvent) -> None:
        error, reply = event.error, event.reply
        log.warning("realtime websocket: %s", describe_error(error))
        if reply is not None:
            with self._lock:
                self._refusals[(reply.tr_id, reply.tr_key)] = error
                self._changed.notify_all()
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:  # a callback's bug must not end the stream
                log.exception("realtime on_error callback failed")

    def _deliver(self, record: Record) -> None:
        if self._on_record is not None:
            try:
                self._on_record(record)
            except Exception:
                log.exception("realtime on_record callback failed for %r", record)
            return
        warned = False
        while not self._closing.is_set():
            try:
                self._queue.put(record, timeout=_POLL)
                return
            except queue.Full:
                if not warned:
                    warned = True
                    log.warning(
                        "realtime records: the consumer is behind (%d waiting): reading paused",
                        self._queue.maxsize,
                    )

    # --- helpers ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        self._failure.raise_if_set()
        if self._closed:
            raise KISUsageError("the realtime client is closed")

    def _refresh_key(self) -> None:
        # Fetched outside the lock (the first call issues the key over HTTP), set under it:
        # frames are made under the lock, and the key each went out with must be the one read.
        key = self.rest.approval_key()
        with self._lock:
            self._key = key

    def _open(self) -> ClientConnection:
        try:
            # Entered as a context manager (it is closed by hand): websockets 17 deprecates a
            # bare connect(), and entering works the same from 13 on.
            ws = connect(
                self.url,
                open_timeout=self.policy.connect_timeout,
                close_timeout=self.policy.close_timeout,
                # PINGPONG is KIS's keep-alive and the watchdog watches for silence.
                ping_interval=None,
                compression=None,
                max_size=1 << 22,
                logger=WIRE_LOGGER,
            ).__enter__()
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise connect_error(self.url, exc) from None
        self.connections += 1
        return ws

    def _start_session(self, ws: ClientConnection) -> None:
        """Under the lock: make ``ws`` the connection and send every registration."""
        self._ws = ws
        self._renewal.session_started()
        self._send(ws, *self.protocol.resubscribe())
        self._changed.notify_all()

    def _end_session(self, ws: ClientConnection) -> None:
        with self._lock:
            if self._ws is ws:
                self._ws = None
            self.protocol.connection_lost()
            self._changed.notify_all()
        self._close_ws(ws)

    def _send(self, ws: ClientConnection, *frames: str, answered: bool = True) -> None:
        """Under the lock: write ``frames``; ``answered`` when KIS replies to each (not PONG)."""
        if not frames:
            return
        if answered:
            self._renewal.sent(self._key, len(frames))
        # websockets writes with no timeout, and this runs under the lock: a peer that stopped
        # reading would wedge the reader and close(). Past send_timeout the connection is cut,
        # which ends the write; the reader then reconnects and sends every registration again.
        timer = threading.Timer(self.policy.send_timeout, self._abort, (ws,))
        timer.daemon = True
        timer.start()
        try:
            # A failed send: the reader sees the end and reconnects; the frame goes out again.
            with contextlib.suppress(ConnectionClosed, OSError):
                for frame in frames:
                    ws.send(frame)
        finally:
            timer.cancel()

    def _abort(self, ws: ClientConnection) -> None:
        # No closing handshake with a server that stopped talking: end the TCP connection.
        # The plain socket's shutdown, not SSLSocket's: that one drops the TLS layer first, so
        # a write in progress in another thread could send the rest of its frame in clear.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(ws.socket, socket.SHUT_RDWR)

    def _close_ws(self, ws: ClientConnection) -> None:
        with contextlib.suppress(OSError, WebSocketException):
            ws.close()

    def _await(
        self, pair: Pair, timeout: float | None, done: Callable[[Registration | None], bool]
    ) -> None:
        limit = self.policy.reply_timeout if timeout is None else timeout
        ends_at = time.monotonic() + limit
        with self._changed:
            while True:
                self._failure.raise_if_set()
                refusal = self._refusals.pop(pair, None)
                if refusal is not None:
                    raise refusal
                if done(self.protocol.registrations.get(pair)):
                    return
                if self._closed:
                    raise KISUsageError("the realtime client is closed")
                left = ends_at - time.monotonic()
                if left <= 0:
                    raise reply_timeout_error(pair, limit)
                self._changed.wait(min(left, _POLL))


class _Closed(KISUsageError):
    """The client was closed: iteration ends."""
