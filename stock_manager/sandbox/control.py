"""The sandbox's control surface, shared by the Python API and the ``/_sandbox`` endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stock_manager.sandbox.faults import ANY_PATH, FaultPlan, FaultRule
from stock_manager.sandbox.state import SandboxConfigError, SandboxState
from stock_manager.sandbox.streams import StreamServer


class SandboxControl:
    """Admin operations on one sandbox's state and fault plan."""

    def __init__(self, state: SandboxState, faults: FaultPlan) -> None:
        self.state = state
        self.faults = faults
        #: The realtime websocket server, once the sandbox runs.
        self.streams: StreamServer | None = None

    def register_app(self) -> tuple[str, str, str]:
        """Register another app; returns ``(app_key, app_secret, account_no)``."""
        app = self.state.register_app()
        return app.app_key, app.app_secret, app.account.number

    def stats(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of the counters."""
        return self.state.stats()

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
        """Add (or replace) the fault rule for ``path``; see :mod:`stock_manager.sandbox.faults`."""
        rule = FaultRule(
            error_rate=error_rate,
            rate_limit_rate=rate_limit_rate,
            drop_before_rate=drop_before_rate,
            drop_after_rate=drop_after_rate,
            garble_rate=garble_rate,
            garble_kind=garble_kind,
            latency=latency,
            page_change_rate=page_change_rate,
        )
        self.faults.set(path, rule, seed)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    def expire_tokens(self) -> None:
        """Every issued token answers EGW00123 from now on."""
        self.state.expire_tokens()

    def market_time(self) -> datetime:
        """The sandbox's market time now (aware, KST)."""
        return self.state.market_clock.now()

    def describe_market_time(self) -> str:
        """The market time and its mode, e.g. ``"2026-12-01T10:00:00+09:00 (running)"``."""
        return self.state.market_clock.describe()

    def set_market_time(self, when: datetime | str) -> None:
        """Move the market clock (see :class:`~stock_manager.sandbox.sessions.MarketClock`)."""
        try:
            self.state.market_clock.set(when)
        except ValueError as exc:
            raise SandboxConfigError(str(exc)) from None

    # --- realtime --------------------------------------------------------------------------

    def _streams(self) -> StreamServer:
        if self.streams is None:
            raise SandboxConfigError("the sandbox's websocket server is not running")
        return self.streams

    def websocket_url(self) -> str:
        """``ws://127.0.0.1:PORT`` of the realtime server."""
        return self._streams().url

    def drop_websockets(self) -> int:
        """Drop every websocket session's TCP connection without a close frame."""
        return self._streams().drop_all()

    def set_stream_faults(
        self,
        *,
        silence: bool | None = None,
        invalid_utf8: bool | None = None,
        hold_in_use: float | None = None,
    ) -> None:
        """Websocket faults (see :class:`~stock_manager.sandbox.streams.StreamFaults`)."""
        try:
            self._streams().set_faults(
                silence=silence, invalid_utf8=invalid_utf8, hold_in_use=hold_in_use
            )
        except ValueError as exc:
            raise SandboxConfigError(str(exc)) from None

    def reset(self) -> None:
        """Forget tokens, orders, counters, faults and holdings; apps stay."""
        self.faults.clear()
        self.state.reset()
        if self.streams is not None:
            self.streams.reset()
