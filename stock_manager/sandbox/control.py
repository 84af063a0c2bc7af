"""The sandbox's control surface, shared by the Python API and the ``/_sandbox`` endpoints."""

from __future__ import annotations

from typing import Any

from stock_manager.sandbox.faults import ANY_PATH, FaultPlan, FaultRule
from stock_manager.sandbox.state import SandboxState


class SandboxControl:
    """Admin operations on one sandbox's state and fault plan."""

    def __init__(self, state: SandboxState, faults: FaultPlan) -> None:
        self.state = state
        self.faults = faults

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
        )
        self.faults.set(path, rule, seed)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    def expire_tokens(self) -> None:
        """Every issued token answers EGW00123 from now on."""
        self.state.expire_tokens()

    def reset(self) -> None:
        """Forget tokens, orders, counters, faults and holdings; apps stay."""
        self.faults.clear()
        self.state.reset()
