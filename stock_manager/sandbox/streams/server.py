"""The realtime websocket server: KIS's control replies, PINGPONG, market data and notices.

It runs the ``websockets`` asyncio server on its own loopback port, in a daemon thread with its
own event loop, beside the REST server, and shares the sandbox's :class:`SandboxState` (its one
lock guards the exchange and the counters). KIS's session rules hold: a session learns its app
from the approval key of its first request; one session per app key (a second one gets
OPSP8996 and its TCP connection closed without a close frame); 41 (TR, key) registrations per
session; a fresh AES key and IV per TR per session.

A stream tick every ``stream_interval`` seconds of real time sends each registered key's bundle
(:mod:`.feed`) and the notices of order events since the last tick (:mod:`.notices`); the tick
also catches the exchange up to the market time, so resting orders fill while a client only
listens. PINGPONG goes out every ``pingpong_interval`` seconds.

Faults (:class:`StreamFaults`): ``silence`` stops PINGPONG, data and notices (notices wait, and
go out when the silence ends); ``invalid_utf8`` sends one text frame holding a byte that is not
UTF-8 to every session on the next tick; ``hold_in_use`` keeps an app key's slot in use for that
many seconds of the sandbox clock after an abnormal close (a dropped connection, or a client
gone without a close frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from stock_manager.sandbox.streams import feed, layouts, notices
from stock_manager.sandbox.streams.control import (
    NULL_TR_ID,
    BadRequest,
    Request,
    parse_request,
    pingpong,
    reply,
)
from stock_manager.sandbox.streams.layouts import RealtimeTR, Target
from stock_manager.sandbox.universe import lookup

__all__ = ["MAX_REGISTRATIONS", "StreamFaults", "StreamServer"]

logger = logging.getLogger(__name__)
#: The websockets library's frame dumps at DEBUG would show parts of subscribe frames, and so of
#: approval keys: its server logger stays at INFO whatever the application's level.
WIRE_LOGGER = logging.getLogger(f"{__name__}.wire")
WIRE_LOGGER.setLevel(logging.INFO)

MAX_REGISTRATIONS = 41
STARTUP_TIMEOUT = 10.0
CALL_TIMEOUT = 5.0
#: Largest client frame taken: a request is a few hundred bytes.
MAX_MESSAGE = 64 * 1024
INVALID_UTF8_FRAME = b"0|H0STCNT0|001|\xff\xfe"
ORDERBOOK_WIDTHS = (59, 62)


@dataclass
class StreamFaults:
    """The websocket faults in force (see the module docstring)."""

    silence: bool = False
    invalid_utf8: bool = False
    hold_in_use: float = 0.0


@dataclass(eq=False)
class _Session:
    ws: ServerConnection
    app_key: str | None = None
    registrations: dict[tuple[str, str], tuple[RealtimeTR, Target | None]] = field(
        default_factory=dict
    )
    ciphers: dict[str, tuple[str, str]] = field(default_factory=dict)
    dropped: bool = False


def _check_interval(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number of seconds, not {value!r}")
    return float(value)


class StreamServer:
    """KIS's realtime websocket for one sandbox. ``start()`` binds, ``stop()`` shuts down."""

    def __init__(
        self,
        state: Any,
        *,
        host: str = "127.0.0.1",
        pingpong_interval: float = 10.0,
        stream_interval: float = 0.5,
        orderbook_fields: int = 62,
        seed: int | None = None,
    ) -> None:
        self.state = state
        self.host = host
        self.pingpong_interval = _check_interval("pingpong_interval", pingpong_interval)
        self.stream_interval = _check_interval("stream_interval", stream_interval)
        if orderbook_fields not in ORDERBOOK_WIDTHS:
            raise ValueError(
                f"orderbook_fields must be 62 (KIS's live H0STASP0) or 59 (its documented "
                f"layout), not {orderbook_fields!r}"
            )
        self.orderbook_fields = int(orderbook_fields)
        self.faults = StreamFaults()
        self.url = ""
        self._rng = random.Random(0 if seed is None else seed)  # noqa: S311 - market noise
        self._sessions: set[_Session] = set()
        self._held: dict[str, float] = {}  # app key -> sandbox-clock monotonic time it frees
        self._cursor = 0  # the next Exchange.events index to notify
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        """Bind a free loopback port and serve in a daemon thread; returns the ws:// URL."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.bind((self.host, 0))
        except OSError:
            sock.close()
            raise
        port = sock.getsockname()[1]
        host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        self.url = f"ws://{host}:{port}"
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name=f"kis-sandbox-ws-{port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the sandbox websocket server did not start: {self._error}")
        return self.url

    def stop(self) -> None:
        """Close every session and the listening socket."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(CALL_TIMEOUT)
        self._thread = self._loop = self._stop = None

    def _run(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._main(sock))
        except BaseException as exc:  # reported to start(); a daemon thread has no other reader
            self._error = exc
            self._ready.set()
        finally:
            sock.close()

    async def _main(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # KIS never relies on protocol pings (PINGPONG is its keep-alive) and sends no
        # compressed frames.
        async with serve(
            self._handle,
            sock=sock,
            ping_interval=None,
            compression=None,
            max_size=MAX_MESSAGE,
            logger=WIRE_LOGGER,
        ) as server:
            tasks = [
                asyncio.create_task(self._every(self.stream_interval, self._tick)),
                asyncio.create_task(self._every(self.pingpong_interval, self._ping)),
            ]
            self._ready.set()
            await self._stop.wait()
            for task in tasks:
                task.cancel()
            self._abort_all(server)

    def _abort_all(self, server: Server) -> None:
        for session in list(self._sessions):
            session.dropped = True
            transport = session.ws.transport
            if transport is not None:
                transport.abort()

    async def _every(self, seconds: float, work: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception:  # one bad tick must not end the stream
                logger.exception("sandbox websocket tick failed")

    def _call(self, work: Any) -> Any:
        """Run coroutine function ``work`` on the server's loop from another thread."""
        loop = self._loop
        if loop is None:
            return None
        return asyncio.run_coroutine_threadsafe(work(), loop).result(CALL_TIMEOUT)

    # --- control from the test thread --------------------------------------------------------

    def drop_all(self) -> int:
        """Drop every session's TCP connection without a close frame; returns how many."""

        async def drop() -> int:
            sessions = list(self._sessions)
            for session in sessions:
                session.dropped = True
                if session.ws.transport is not None:
                    session.ws.transport.abort()
            return len(sessions)

        return int(self._call(drop) or 0)

    def set_faults(
        self,
        *,
        silence: bool | None = None,
        invalid_utf8: bool | None = None,
        hold_in_use: float | None = None,
    ) -> None:
        """Change the faults named; the others stay."""
        for name, flag in (("silence", silence), ("invalid_utf8", invalid_utf8)):
            if flag is not None and not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False, not {flag!r}")
        if hold_in_use is not None and (
            isinstance(hold_in_use, bool)
            or not isinstance(hold_in_use, int | float)
            or not math.isfinite(hold_in_use)
            or hold_in_use < 0
        ):
            raise ValueError(
                f"hold_in_use must be a non-negative finite number of seconds, not {hold_in_use!r}"
            )
        if silence is not None:
            self.faults.silence = silence
        if invalid_utf8 is not None:
            self.faults.invalid_utf8 = invalid_utf8
        if hold_in_use is not None:
            self.faults.hold_in_use = float(hold_in_use)
            if not hold_in_use:
                self._held.clear()

    def reset(self) -> None:
        """Clear the faults and held slots, and notify from the (cleared) events' start."""
        self.faults = StreamFaults()
        self._held.clear()
        self._cursor = 0

    # --- one session ------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        session = _Session(ws)
        self._sessions.add(session)
        self.state.set_websocket_sessions(len(self._sessions))
        abnormal = False
        try:
            async for message in ws:
                await self._on_message(session, message)
        except ConnectionClosedError:
            abnormal = True
        except ConnectionClosed:
            pass
        finally:
            self._sessions.discard(session)
            self.state.set_websocket_sessions(len(self._sessions))
            hold = self.faults.hold_in_use
            if session.app_key is not None and (abnormal or session.dropped) and hold > 0:
                self._held[session.app_key] = self.state.clock.monotonic() + hold

    async def _on_message(self, session: _Session, message: str | bytes) -> None:
        try:
            request = parse_request(message)
        except BadRequest as exc:
            await session.ws.send(reply(exc.msg_cd, exc.tr_id, exc.tr_key))
            return
        if request is None:
            return  # a PINGPONG echo
        app = self.state.app_for_approval(request.approval_key)
        if app is None or (session.app_key is not None and app.app_key != session.app_key):
            # Only a prefix of the refused key goes back: it may be someone's secret.
            shown = request.approval_key[:8] + "..."
            await session.ws.send(reply("OPSP0011", request.tr_id, request.tr_key, detail=shown))
            return
        if session.app_key is None:
            if self._in_use(app.app_key, session):
                await session.ws.send(reply("OPSP8996", NULL_TR_ID, request.tr_key))
                # Flushed, then the TCP connection closed with no websocket close frame.
                if session.ws.transport is not None:
                    session.ws.transport.close()
                return
            session.app_key = app.app_key
        await self._register(session, request, app.hts_id)

    def _in_use(self, app_key: str, session: _Session) -> bool:
        if any(s.app_key == app_key for s in self._sessions if s is not session):
            return True
        until = self._held.get(app_key)
        if until is None:
            return False
        if self.state.clock.monotonic() < until:
            return True
        del self._held[app_key]
        return False

    async def _register(self, session: _Session, request: Request, hts_id: str) -> None:
        tr_id, key = request.tr_id, request.tr_key
        tr = layouts.available(self.state.environment).get(tr_id)
        if tr is None:
            await session.ws.send(reply("OPSP8991", tr_id, key))
            return
        pair = (tr_id, key)
        if request.tr_type == "2":
            if session.registrations.pop(pair, None) is None:
                await session.ws.send(reply("OPSP0003", tr_id, key))
            else:
                await session.ws.send(reply("OPSP0001", tr_id, key))
            return
        target: Target | None = None
        if tr.notice:
            if key != hts_id:
                # KIS drops the connection on a wrong HTS ID, without a reply.
                session.dropped = True
                if session.ws.transport is not None:
                    session.ws.transport.abort()
                return
        else:
            target = layouts.resolve(tr, key)
            if target is None:
                await session.ws.send(reply("OPSP8992", tr_id, key))
                return
        if pair in session.registrations:
            await session.ws.send(reply("OPSP0002", tr_id, key))
            return
        if len(session.registrations) >= MAX_REGISTRATIONS:
            await session.ws.send(reply("OPSP0008", tr_id, key))
            return
        session.registrations[pair] = (tr, target)
        aes_key, iv = session.ciphers.setdefault(tr_id, notices.cipher_params())
        await session.ws.send(reply("OPSP0000", tr_id, key, output={"iv": iv, "key": aes_key}))

    # --- what every session receives ---------------------------------------------------------

    async def _send(self, session: _Session, frame: str | bytes, *, text: bool = True) -> bool:
        try:
            await session.ws.send(frame, text=text)
        except ConnectionClosed:
            return False
        return True

    async def _ping(self) -> None:
        if self.faults.silence:
            return
        frame = pingpong(self.state.market_clock.now())
        for session in list(self._sessions):
            await self._send(session, frame)

    async def _tick(self) -> None:
        if self.faults.invalid_utf8:
            self.faults.invalid_utf8 = False
            for session in list(self._sessions):
                await self._send(session, INVALID_UTF8_FRAME, text=True)
        if self.faults.silence:
            return
        await self._notify()
        market = self.state.market
        moment = market.now()
        for session in list(self._sessions):
            for (tr_id, _key), (tr, target) in list(session.registrations.items()):
                if target is None or not feed.is_streaming(market, target, moment):
                    continue
                count = feed.bundle_size(target, moment, self._rng)
                width = self.orderbook_fields if tr.real_tr_id == "H0STASP0" else None
                rows = feed.records(
                    tr, target, market, moment=moment, count=count, rng=self._rng, width=width
                )
                payload = "^".join(value for row in rows for value in row)
                if await self._send(session, f"0|{tr_id}|{count:03d}|{payload}"):
                    self.state.count_records(tr_id, count)

    async def _notify(self) -> None:
        """Send the notices of order events since the last tick, in order, once per session."""
        state = self.state
        environment = state.environment
        pending: list[tuple[str, str, str, str]] = []  # (app key, HTS ID, tr_id, record)
        with state.lock:
            exchange = state.exchange
            exchange.catch_up(state.market.now())
            events = exchange.events
            if self._cursor > len(events):
                self._cursor = 0  # the exchange was reset
            new, self._cursor = events[self._cursor :], len(events)
            owners = {app.account.cano: app for app in state.apps.values()}
            for event in new:
                app = owners.get(event.cano)
                instrument = lookup(event.code, event.market)
                if app is None or instrument is None:
                    continue
                session_name = state.market.session(instrument, event.moment)
                tr_id = notices.notice_tr(event, environment, session_name)
                tr = layouts.available(environment).get(tr_id or "")
                if tr is None:
                    continue
                order = exchange.orders.get(event.odno)
                fields = notices.notice_record(tr.fields, event, order, instrument, app.hts_id)
                pending.append((app.app_key, app.hts_id, tr.tr_id, "^".join(fields)))
        for app_key, hts_id, tr_id, record in pending:
            for session in list(self._sessions):
                if session.app_key != app_key:
                    continue
                if (tr_id, hts_id) not in session.registrations:
                    continue
                aes_key, iv = session.ciphers[tr_id]
                payload = notices.encrypt(record, aes_key, iv)
                if await self._send(session, f"1|{tr_id}|001|{payload}"):
                    state.count_records(tr_id, 1)
