"""``AsyncKISRealtimeClient``: the asyncio realtime client, the twin of ``KISRealtimeClient``.

>>> async with AsyncKISRealtimeClient(KISConfig()) as rt:
...     await rt.subscribe("H0STCNT0", "005930")
...     async for record in rt:
...         print(record.key, record["STCK_PRPR"])

The socket is ``websockets.asyncio.client``, over the same sans-I/O websocket core as the sync
client's ``websockets.sync.client``. One reader task owns the connection and behaves as the sync
client's reader thread does (see :mod:`.client`): PINGPONG answered, a silence watchdog,
reconnects with backoff and full jitter, every registration sent again with the new session's
AES keys, OPSP8996 retried a bounded number of times, one fresh approval key after OPSP0011.

Records go to ``on_record`` (a plain function or a coroutine function, awaited in the reader
task) when it is given, else to a bounded queue; when the queue is full the reader awaits room,
which stops it reading the socket and lets TCP push back on KIS: a received record is never
dropped. Safe to share between tasks of one event loop.

With ``redis_url`` configured (or ``shared=True``) the client takes part in the app key's one
session shared by every process through Redis (:mod:`.shared`), whose Redis calls and threads
are blocking: they run in worker threads, and records cross into the event loop through the
same bounded queue (the stream reader waits for room). ``shared=False`` opts out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from .._redis_link import shared_link
from ..aio import AsyncKISRestClient
from ..catalog import Catalog
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
from .client import KISRealtimeClient
from .events import ErrorEvent, Pong
from .frames import ControlReply
from .protocol import RealtimeProtocol
from .records import Record
from .registry import KIS_MAX_REGISTRATIONS, Pair, Registration
from .shared import DirectSession, SharedPolicy, SharedSession

__all__ = ["AsyncKISRealtimeClient"]

_POLL = 0.2
T = TypeVar("T")

RecordCallback = Callable[[Record], object | Awaitable[object]]
ErrorCallback = Callable[[KISRealtimeError], object | Awaitable[object]]


class AsyncKISRealtimeClient:
    """KIS's realtime websocket for asyncio; see :class:`~.client.KISRealtimeClient`.

    ``rest`` is an :class:`AsyncKISRestClient` (its ``approval_key()`` is cached in the token
    store); without it one is made from ``config`` and ``token_store`` and closed with this one.
    ``shared``/``shared_policy``: as for :class:`~.client.KISRealtimeClient`.
    """

    def __init__(
        self,
        config: KISConfig | None = None,
        *,
        rest: AsyncKISRestClient | None = None,
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
        self.rest = rest or AsyncKISRestClient(config, token_store=token_store, catalog=catalog)
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
        self._queue: asyncio.Queue[Record] = asyncio.Queue(queue_size)
        self._changed = asyncio.Condition()
        self._connecting = asyncio.Lock()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._closed = False
        self._failure = Failure()
        self._refusals: dict[Pair, KISRealtimeError] = {}
        self._renewal = KeyRenewal()
        #: Connections opened, the first included.
        self.connections = 0
        self._catalog = catalog
        self._loop: asyncio.AbstractEventLoop | None = None
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
                deliver=self._deliver_from_thread,
                failure=self._failure,
                policy=shared_policy,
                reconnect=self.policy,
            )

    def __repr__(self) -> str:
        if self.shared is not None:
            state = "closed" if self._closed else repr(self.shared)
        else:
            state = "closed" if self._closed else "connected" if self._ws else "disconnected"
        return f"AsyncKISRealtimeClient({self.config.environment}, {state}, {self.protocol!r})"

    @property
    def registrations(self) -> dict[Pair, Registration]:
        """A snapshot: (tr_id, tr_key) -> :class:`Registration` (pending, active, releasing).
        Shared: this process's pairs, active once the holder's session confirmed them."""
        if self.shared is not None:
            return self.shared.registrations
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

    # --- the shared session (worker threads) ----------------------------------------------------

    def _direct(
        self,
        on_record: Callable[[Record], object],
        on_error: Callable[[KISRealtimeError], object],
    ) -> DirectSession:
        # The holder's session runs in the shared session's threads: the blocking client, with
        # a blocking REST client of its own for approval keys (cached in the same token store).
        return KISRealtimeClient(
            self.config,
            on_record=on_record,
            on_error=on_error,
            policy=self.policy,
            max_registrations=self.protocol.max_registrations,
            catalog=self._catalog,
            shared=False,
        )

    def _deliver_from_thread(self, record: Record) -> None:
        """The stream reader's hand-over into the event loop; waits while the queue is full."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self._deliver(record), loop)
        while not self._closing.is_set():
            try:
                future.result(_POLL)
                return
            except concurrent.futures.TimeoutError:
                continue
        future.cancel()

    async def _start_shared(self, shared: SharedSession) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(shared.start)

    # --- connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the websocket now and send every registration; :class:`KISConnectError` if this
        first connection fails (later drops are reconnected in the background)."""
        self._check_open()
        if self.shared is not None:
            await self._start_shared(self.shared)
            return
        async with self._connecting:
            if self._reader is not None and not self._reader.done():
                return
            await self._refresh_key()
            ws = await self._open()
            if self._closing.is_set():
                # aclose() ran while the websocket opened and saw no connection to close: this
                # one must not outlive it (KIS would hold the app key "in use").
                await self._close_ws(ws)
                raise KISUsageError("the realtime client is closed")
            await self._start_session(ws)
            self._reader = asyncio.create_task(self._run(ws), name="kis-realtime-reader")

    async def aclose(self) -> None:
        """Close the websocket with a close frame and stop the reader; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        reader = self._reader
        if reader is asyncio.current_task():
            reader = None
        try:
            if self.shared is not None:
                await asyncio.to_thread(self.shared.close)
            ws = self._ws
            if ws is not None:
                await self._close_ws(ws)
            if reader is not None:
                await asyncio.wait({reader}, timeout=self.policy.close_timeout + _POLL * 2)
        finally:
            # Also when the caller is cancelled meanwhile: the reader is stopped and the REST
            # client closed before its CancelledError goes on (it is never swallowed here).
            if reader is not None and not reader.done():
                reader.cancel()
                await asyncio.wait({reader})
            async with self._changed:
                self._changed.notify_all()
            if self._owns_rest:
                await self.rest.aclose()

    async def __aenter__(self) -> AsyncKISRealtimeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- subscriptions ------------------------------------------------------------------------

    async def subscribe(
        self, tr: str, key: str | None = None, *, wait: bool = True, timeout: float | None = None
    ) -> Registration:
        """Register (tr, key); see :meth:`KISRealtimeClient.subscribe`."""
        self._check_open()
        tr_key = key_for(self.config, key)
        tr_id = self.protocol.resolve(tr)  # an unknown or paper-less TR fails before the key
        if self.shared is not None:
            await self._start_shared(self.shared)
            return await asyncio.to_thread(
                self.shared.subscribe, tr_id, tr_key, wait=wait, timeout=timeout
            )
        await self._refresh_key()
        frame = self.protocol.subscribe(tr, tr_key)  # raises before anything is sent
        pair = (self.protocol.resolve(tr), tr_key)
        self._refusals.pop(pair, None)
        ws, running = self._ws, self._reader is not None and not self._reader.done()
        if ws is not None:
            await self._send(ws, frame)
        elif not running:
            await self.connect()  # sends every registration, this one included
        if wait:
            await self._await(pair, timeout, lambda r: r is not None and r.state == "active")
        return self.protocol.registrations.get(pair) or Registration(*pair, "pending")

    async def unsubscribe(
        self, tr: str, key: str | None = None, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Release (tr, key); see :meth:`KISRealtimeClient.unsubscribe`."""
        self._check_open()
        tr_key = key_for(self.config, key)
        tr_id = self.protocol.resolve(tr)  # an unknown or paper-less TR fails before the key
        if self.shared is not None:
            await asyncio.to_thread(
                self.shared.unsubscribe, tr_id, tr_key, wait=wait, timeout=timeout
            )
            return
        await self._refresh_key()
        frame = self.protocol.unsubscribe(tr, tr_key)
        pair = (self.protocol.resolve(tr), tr_key)
        ws = self._ws
        if ws is None:
            self.protocol.connection_lost()  # no session holds anything: the release is done
            return
        await self._send(ws, frame)
        if wait:
            await self._await(pair, timeout, lambda r: r is None)

    # --- records ------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        try:
            return await self.next()
        except _Closed:
            raise StopAsyncIteration from None

    async def next(self, timeout: float | None = None) -> Record:
        """The next record; ``TimeoutError`` if none came within ``timeout`` seconds (None:
        wait as long as it takes). Raises the error that ended the stream, if one did."""
        ends_at = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self._queue.get_nowait()
            except asyncio.QueueEmpty:
                pass
            self._failure.raise_if_set()
            if self._closed:
                raise _Closed("the realtime client is closed")
            left = _POLL if ends_at is None else min(_POLL, ends_at - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"no realtime record within {timeout} s")
            try:
                return await asyncio.wait_for(self._queue.get(), left)
            except TimeoutError:
                continue

    # --- the reader task ----------------------------------------------------------------------

    async def _run(self, ws: ClientConnection) -> None:
        backoff = Backoff(self.policy)
        backoff.session_started(time.monotonic())
        current: ClientConnection | None = ws
        try:
            while not self._closing.is_set():
                if current is not None:
                    try:
                        await self._pump(current, backoff)
                    except Fatal as fatal:
                        self._fail(fatal.error)
                        break
                    await self._end_session(current)
                    current = None
                if self._closing.is_set():
                    break
                delay = backoff.next_delay(time.monotonic())
                log.info("realtime websocket: reconnecting in %.2f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), delay)
                if self._closing.is_set():
                    break
                try:
                    await self._refresh_key()
                    current = await self._open()
                except (KISError, OSError) as exc:
                    log.warning("realtime websocket: reconnect failed: %s", describe_error(exc))
                    continue
                if self._closing.is_set():
                    break
                await self._start_session(current)
                backoff.session_started(time.monotonic())
        except Exception as exc:  # the caller must hear of it: next() would wait for ever
            self._fail(reader_error(exc))
        finally:
            # Whatever ended the loop (a cancel too), the connection in hand is closed with it.
            if current is not None:
                await self._end_session(current)
            async with self._changed:
                self._changed.notify_all()

    def _fail(self, error: KISError) -> None:
        self._failure.set(error)
        log.error("realtime stream ended: %s", describe_error(error))

    async def _pump(self, ws: ClientConnection, backoff: Backoff) -> None:
        while not self._closing.is_set():
            try:
                data = await asyncio.wait_for(ws.recv(decode=False), self.policy.silence_timeout)
            except TimeoutError:
                log.warning(
                    "realtime websocket: no frame for %s s (no PINGPONG either): reconnecting",
                    self.policy.silence_timeout,
                )
                self._abort(ws)
                return
            except (ConnectionClosed, OSError):
                return
            for event in self.protocol.receive(data):
                if isinstance(event, Record):
                    await self._deliver(event)
                elif isinstance(event, Pong):
                    await self._send(ws, event.text, answered=False)
                elif isinstance(event, ControlReply):
                    if event.ok:
                        backoff.session_confirmed()
                    self._renewal.answered(event.ok, self._key)
                    async with self._changed:
                        self._changed.notify_all()
                elif await self._on_error_event(ws, event, backoff):
                    return

    async def _on_error_event(
        self, ws: ClientConnection, event: ErrorEvent, backoff: Backoff
    ) -> bool:
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
            verdict = self._renewal.refused(self._key)
            if verdict == "stale":
                # The pair was sent again with the new key when the first refusal came.
                log.info("realtime websocket: %s for the replaced approval key", error.code)
                return False
            if verdict == "fatal":
                raise Fatal(error)
            log.warning("realtime websocket: %s: getting a new approval key", error.code)
            try:
                await self.rest.approval_keys.invalidate(self._key)
                await self._refresh_key()
            except KISError as exc:
                raise Fatal(exc) from None
            except Exception as exc:  # e.g. OSError from the token store's file
                raise Fatal(reader_error(exc)) from None
            self._renewal.renewed(self._key)
            await self._send(ws, *self.protocol.retry_pending())
            return False
        await self._report(event)
        return False

    async def _report(self, event: ErrorEvent) -> None:
        error, reply = event.error, event.reply
        log.warning("realtime websocket: %s", describe_error(error))
        if reply is not None:
            self._refusals[(reply.tr_id, reply.tr_key)] = error
            async with self._changed:
                self._changed.notify_all()
        if self._on_error is not None:
            await _call(self._on_error, error, "on_error")

    async def _deliver(self, record: Record) -> None:
        if self._on_record is not None:
            await _call(self._on_record, record, "on_record")
            return
        if self._queue.full():
            log.warning(
                "realtime records: the consumer is behind (%d waiting): reading paused",
                self._queue.maxsize,
            )
        await self._queue.put(record)

    # --- helpers ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        self._failure.raise_if_set()
        if self._closed:
            raise KISUsageError("the realtime client is closed")

    async def _refresh_key(self) -> None:
        self._key = await self.rest.approval_key()

    async def _open(self) -> ClientConnection:
        try:
            ws = await connect(
                self.url,
                open_timeout=self.policy.connect_timeout,
                close_timeout=self.policy.close_timeout,
                # PINGPONG is KIS's keep-alive and the watchdog watches for silence.
                ping_interval=None,
                compression=None,
                max_size=1 << 22,
                logger=WIRE_LOGGER,
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise connect_error(self.url, exc) from None
        self.connections += 1
        return ws

    async def _start_session(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._renewal.session_started()
        await self._send(ws, *self.protocol.resubscribe())
        async with self._changed:
            self._changed.notify_all()

    async def _end_session(self, ws: ClientConnection) -> None:
        if self._ws is ws:
            self._ws = None
        self.protocol.connection_lost()
        async with self._changed:
            self._changed.notify_all()
        await self._close_ws(ws)

    async def _send(self, ws: ClientConnection, *frames: str, answered: bool = True) -> None:
        """Write ``frames``; ``answered`` when KIS replies to each (not PONG)."""
        if not frames:
            return
        # Counted before the first await: the frames were made with the current key.
        if answered:
            self._renewal.sent(self._key, len(frames))
        try:
            # A peer that stopped reading would hold the write for ever: cut the connection
            # instead; the reader reconnects and sends every registration again.
            async with asyncio.timeout(self.policy.send_timeout):
                for frame in frames:
                    await ws.send(frame)
        except TimeoutError:
            log.warning(
                "realtime websocket: a frame took more than %s s to write: reconnecting",
                self.policy.send_timeout,
            )
            self._abort(ws)
        except (ConnectionClosed, OSError):
            pass  # the reader sees the end and reconnects; the frame goes out again then

    def _abort(self, ws: ClientConnection) -> None:
        # No closing handshake with a server that stopped talking: end the TCP connection.
        ws.transport.abort()

    async def _close_ws(self, ws: ClientConnection) -> None:
        with contextlib.suppress(OSError, WebSocketException):
            await ws.close()

    async def _await(
        self, pair: Pair, timeout: float | None, done: Callable[[Registration | None], bool]
    ) -> None:
        limit = self.policy.reply_timeout if timeout is None else timeout
        ends_at = time.monotonic() + limit
        async with self._changed:
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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(left, _POLL))


async def _call(callback: Callable[[T], object], value: T, name: str) -> None:
    try:
        result = callback(value)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a callback's bug must not end the stream
        log.exception("realtime %s callback failed", name)


class _Closed(KISUsageError):
    """The client was closed: iteration ends."""
