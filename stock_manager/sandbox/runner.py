"""KISSandbox: the sandbox app served by uvicorn on a free loopback port, in a daemon thread."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from ipaddress import ip_address
from types import TracebackType
from typing import Any

import uvicorn

from stock_manager.sandbox.app import build_app
from stock_manager.sandbox.clock import SandboxClock
from stock_manager.sandbox.control import SandboxControl
from stock_manager.sandbox.credentials import hts_id_for
from stock_manager.sandbox.faults import ANY_PATH, FaultPlan
from stock_manager.sandbox.limits import ServerLimits
from stock_manager.sandbox.loopback import is_loopback_host
from stock_manager.sandbox.market import Market
from stock_manager.sandbox.protocol import head_timeout_protocol
from stock_manager.sandbox.remote import RemoteControl
from stock_manager.sandbox.state import SandboxConfigError, SandboxState
from stock_manager.sandbox.streams import StreamServer
from stock_manager.sandbox.tables import Environment
from stock_manager.sandbox.wire import install_quiet_drops

logger = logging.getLogger(__name__)

# Longer than any pooled client's idle time, so the server never closes a connection the
# client is about to reuse (that would look like a dropped order).
KEEP_ALIVE_SECONDS = 75
STARTUP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 2.0


class SandboxError(RuntimeError):
    """The sandbox could not start or was used in the wrong state."""


class KISSandbox:
    """A local KIS OpenAPI stand-in over real HTTP.

    Example::

        with KISSandbox(environment="paper", issue_interval=1) as sb:
            httpx.post(f"{sb.base_url}/oauth2/tokenP", json={
                "grant_type": "client_credentials",
                "appkey": sb.app_key, "appsecret": sb.app_secret,
            })

    Defaults are KIS's: 24 h tokens, the same token for 6 h, one issuance per key per 60 s,
    20 requests/s (real) or 2/s (paper) per key; ``rate_limit=0`` lifts the limit.

    ``process=True`` serves from a child process instead of a thread (same API, driven over
    ``/_sandbox``), so a busy client in this process does not share a GIL with the server;
    its demo credentials are known once ``start()`` returns.

    ``host`` is ``localhost``, an address in 127.0.0.0/8 or ``::1``; ``limits`` bound body
    sizes, waits and connections (:class:`~stock_manager.sandbox.limits.ServerLimits`).

    ``clock`` (default: the real one) is what token lifetimes, the issue interval, the request
    window, order times and latency faults read: a :class:`~stock_manager.sandbox.ManualClock`
    lets a test pass a 60 s interval with ``clock.advance(60)``. Thread mode only (a child
    process cannot share it).

    ``block_deprecated`` refuses deprecated TR_IDs (``TTTC0802U``...) with OPSQ0002, as KIS may
    one day; by default they are served as their successors, as KIS still does.

    ``market_time`` is when the sandbox's market is: by default 10:00 KST of the current KRX
    trading day, then at the clock's speed, so quotes move and sessions are open at any hour;
    a datetime (naive means KST), an ISO string or ``"HH:MM"`` (today, KST) starts it there;
    ``"wall"`` follows the real time. :meth:`set_market_time` moves it later. Prices are
    deterministic for ``seed`` (None means 0) at a given market time.

    ``page_size`` pages account lists by that many rows; by default they page as KIS does (its
    rows per call for the domain: balance 50 real / 20 paper...).

    ``request_log`` is called with one line per request (method, path, tr_id, status, rt_cd,
    milliseconds; no credentials), as ``sandbox serve`` prints them. Thread mode only.

    The realtime websocket (:mod:`stock_manager.sandbox.streams`) listens on its own loopback
    port, :attr:`websocket_url`; the demo app's fill notices take :attr:`hts_id`.
    ``pingpong_interval`` (default 10 s) spaces KIS's PINGPONG, ``stream_interval`` (default
    0.5 s) the market-data ticks, both in real seconds; ``orderbook_fields`` is 62 (H0STASP0 as
    KIS sends it live) or 59 (as KIS documents it).
    """

    def __init__(
        self,
        environment: Environment = "paper",
        *,
        token_ttl: float = 86400,
        reissue_window: float = 21600,
        issue_interval: float = 60,
        rate_limit: float | bool | None = None,
        page_size: int | None = None,
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        process: bool = False,
        limits: ServerLimits | None = None,
        clock: SandboxClock | None = None,
        block_deprecated: bool = False,
        market_time: datetime | str | None = None,
        request_log: Callable[[str], None] | None = None,
        pingpong_interval: float = 10.0,
        stream_interval: float = 0.5,
        orderbook_fields: int = 62,
    ) -> None:
        if process and request_log is not None:
            raise SandboxConfigError(
                "request_log is called in this process: it cannot follow a child process "
                "(process=True)"
            )
        if process and clock is not None:
            raise SandboxConfigError(
                "a clock cannot be shared with a child process: pass clock= or process=True, "
                "not both"
            )
        if not isinstance(host, str) or not is_loopback_host(host):
            raise SandboxConfigError(
                f"the sandbox binds loopback only (localhost, 127.0.0.0/8 or ::1), not {host!r}"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            # Else the socket layer raises OverflowError, which no caller expects.
            raise SandboxConfigError(
                f"port must be from 0 to 65535 (0 picks a free one), not {port!r}"
            )
        self._limits = limits or ServerLimits()
        self._request_log = request_log
        # Validated here even in process mode, so a bad option fails in the caller's process.
        self._state = SandboxState(
            environment,
            token_ttl=token_ttl,
            reissue_window=reissue_window,
            issue_interval=issue_interval,
            rate_limit=rate_limit,
            page_size=page_size,
            seed=seed,
            clock=clock,
            block_deprecated=block_deprecated,
            market_time=market_time,
        )
        self._control: SandboxControl | RemoteControl = SandboxControl(self._state, FaultPlan(seed))
        self._stream_options: dict[str, Any] = {
            "pingpong_interval": pingpong_interval,
            "stream_interval": stream_interval,
            "orderbook_fields": orderbook_fields,
        }
        try:  # validated now, so a bad option fails here rather than at start()
            StreamServer(self._state, **self._stream_options)
        except ValueError as exc:
            raise SandboxConfigError(str(exc)) from None
        self._streams: StreamServer | None = None
        # One spelling per address, so base_url is exactly what was bound.
        self._host = "127.0.0.1" if host.lower() == "localhost" else str(ip_address(host))
        self._port = port
        self._child: subprocess.Popen[str] | None = None
        self._child_options: dict[str, Any] | None = None
        self.app_key: str = ""
        self.app_secret: str = ""
        self.account_no: str = ""
        if process:
            self._child_options = {
                "environment": environment,
                "token_ttl": token_ttl,
                "reissue_window": reissue_window,
                "issue_interval": issue_interval,
                "rate_limit": rate_limit,
                "page_size": page_size,
                "seed": seed,
                "block_deprecated": bool(block_deprecated),
                # JSON carries no datetime: the validated, KST-aware moment as ISO text.
                "market_time": (
                    self._state.market_clock.now().isoformat()
                    if isinstance(market_time, datetime)
                    else market_time
                ),
                "host": self._host,
                "port": port,
                "limits": asdict(self._limits),
                **self._stream_options,
            }
        else:
            demo = self._state.register_app()
            self.app_key, self.app_secret = demo.app_key, demo.app_secret
            self.account_no = demo.account.number
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url: str = ""
        #: ``ws://127.0.0.1:PORT``: the realtime websocket, once started.
        self.websocket_url: str = ""

    @property
    def hts_id(self) -> str:
        """The demo app's HTS ID: the key of its fill-notice registrations."""
        return hts_id_for(self.app_key) if self.app_key else ""

    def __repr__(self) -> str:
        return f"KISSandbox(environment={self.environment!r}, base_url={self.base_url!r})"

    @property
    def environment(self) -> Environment:
        """``"real"`` or ``"paper"``: which KIS domain this sandbox plays."""
        return self._state.environment

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> KISSandbox:
        """Bind the port and serve in a daemon thread; returns once the server accepts."""
        if self._thread is not None or self._child is not None:
            raise SandboxError("this sandbox is already running")
        if self._child_options is not None:
            return self._start_child(self._child_options)
        if not isinstance(self._control, SandboxControl):
            raise SandboxError("a stopped process-mode sandbox cannot be restarted")
        install_quiet_drops()
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # listener says TCP, and without it every reply waits ~40 ms on Nagle + delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise SandboxError(f"cannot bind {self._host}:{self._port}: {exc.strerror}") from None
        port = sock.getsockname()[1]
        host = f"[{self._host}]" if family == socket.AF_INET6 else self._host
        self.base_url = f"http://{host}:{port}"
        config = uvicorn.Config(
            build_app(self._control, self._limits, request_log=self._request_log),
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=1,
            server_header=False,
            http=head_timeout_protocol(self._limits.head_timeout),
            # uvicorn answers 503 past this many open connections or running requests.
            limit_concurrency=self._limits.max_connections,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"kis-sandbox-{port}", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SandboxError("the sandbox server did not start")
            time.sleep(0.005)
        streams = StreamServer(
            self._state, host=self._host, seed=self._state.market.seed, **self._stream_options
        )
        try:
            self.websocket_url = streams.start()
        except (OSError, RuntimeError) as exc:
            self.stop()
            raise SandboxError(f"the sandbox websocket server did not start: {exc}") from None
        self._streams = self._control.streams = streams
        logger.info("KIS sandbox (%s) listening on %s", self.environment, self.base_url)
        return self

    def _start_child(self, options: dict[str, Any]) -> KISSandbox:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "stock_manager.sandbox.child", json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._child = child
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.append(child.stdout.readline() if child.stdout else ""),
            daemon=True,
        )
        reader.start()
        reader.join(STARTUP_TIMEOUT)
        try:
            handshake = json.loads(lines[0]) if lines and lines[0] else None
        except ValueError:
            handshake = None
        if not isinstance(handshake, dict):
            self.stop()
            raise SandboxError("the sandbox child process did not start")
        self.base_url = handshake["base_url"]
        self.app_key, self.app_secret = handshake["app_key"], handshake["app_secret"]
        self.account_no = handshake["account_no"]
        self._control = RemoteControl(self.base_url)
        self.websocket_url = self._control.websocket_url()
        logger.info("KIS sandbox (%s) child process on %s", self.environment, self.base_url)
        return self

    def _stop_child(self, child: subprocess.Popen[str]) -> None:
        if child.stdin is not None:
            child.stdin.close()  # the child serves until its stdin closes
        try:
            child.wait(SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.wait(SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if child.stdout is not None:
            child.stdout.close()
        if isinstance(self._control, RemoteControl):
            self._control.close()
        self._child = None

    def stop(self) -> None:
        """Shut the server down (within about a second) and release the port."""
        if self._child is not None:
            self._stop_child(self._child)
            return
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if self._streams is not None:
            self._streams.stop()
            self._streams = None
            if isinstance(self._control, SandboxControl):
                self._control.streams = None
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(SHUTDOWN_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        logger.info("KIS sandbox on %s stopped", self.base_url)

    def __enter__(self) -> KISSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- control ----------------------------------------------------------------------------

    def register_app(self) -> tuple[str, str, str]:
        """Another app with its own account, limits and tokens: ``(key, secret, account_no)``."""
        return self._control.register_app()

    def stats(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot: tokens_issued, requests per path, orders, faults..."""
        return self._control.stats()

    def set_faults(
        self,
        path: str = ANY_PATH,
        *,
        error_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        drop_before_rate: float = 0.0,
        drop_after_rate: float = 0.0,
        garble_rate: float = 0.0,
        garble_kind: str = "random",
        latency: float = 0.0,
        page_change_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """Inject faults on ``path`` (or ``"*"``); see :mod:`stock_manager.sandbox.faults`.

        ``page_change_rate``: the chance a continuation request gets KIS's SYDB0050.
        """
        self._control.set_faults(
            path,
            error_rate=error_rate,
            rate_limit_rate=rate_limit_rate,
            drop_before_rate=drop_before_rate,
            drop_after_rate=drop_after_rate,
            garble_rate=garble_rate,
            garble_kind=garble_kind,
            latency=latency,
            page_change_rate=page_change_rate,
            seed=seed,
        )

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._control.clear_faults()

    def expire_tokens(self) -> None:
        """Every issued token answers EGW00123; the next tokenP mints a new one."""
        self._control.expire_tokens()

    def reset(self) -> None:
        """Forget tokens, orders, counters, faults and holdings (apps stay)."""
        self._control.reset()

    # --- realtime -------------------------------------------------------------------------

    def drop_websockets(self) -> int:
        """Drop every websocket session's TCP connection without a close frame (as KIS's server
        often does); returns how many were dropped."""
        return self._control.drop_websockets()

    def set_stream_faults(
        self,
        *,
        silence: bool | None = None,
        invalid_utf8: bool | None = None,
        hold_in_use: float | None = None,
    ) -> None:
        """Websocket faults; unnamed ones stay. ``silence``: no PINGPONG, data or notices;
        ``invalid_utf8``: one text frame with a byte that is not UTF-8 to every session;
        ``hold_in_use``: an app key's slot answers OPSP8996 for that many seconds (sandbox
        clock) after an abnormal close. A bad value raises :class:`SandboxConfigError`."""
        self._control.set_stream_faults(
            silence=silence, invalid_utf8=invalid_utf8, hold_in_use=hold_in_use
        )

    # --- market -----------------------------------------------------------------------------

    def market_time(self) -> datetime:
        """The sandbox's market time now (aware, KST)."""
        return self._control.market_time()

    def set_market_time(self, when: datetime | str) -> None:
        """Move the market to ``when`` (a datetime, naive meaning KST; an ISO string; ``"HH:MM"``
        today KST), from where it runs on; ``"wall"`` follows the real clock. A bad value raises
        :class:`SandboxConfigError`."""
        self._control.set_market_time(when)

    @property
    def market(self) -> Market:
        """The sandbox's :class:`~stock_manager.sandbox.market.Market` (thread mode only)."""
        if self._child_options is not None:
            raise SandboxError("a process-mode sandbox's market lives in the child process")
        return self._state.market
