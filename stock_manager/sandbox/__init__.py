"""A local stand-in for KIS OpenAPI, over real HTTP, for tests, demos and benchmarks.

It plays KIS and imports nothing from the client package: its TR_ID tables, codes and field
checks are its own (see :mod:`stock_manager.sandbox.tables` and :mod:`.codes`).

>>> from stock_manager.sandbox import KISSandbox
>>> with KISSandbox(environment="paper") as sb:  # doctest: +SKIP
...     sb.base_url, sb.app_key, sb.account_no, sb.websocket_url, sb.hts_id
"""

from __future__ import annotations

from stock_manager.sandbox.clock import ManualClock, SandboxClock, SystemClock
from stock_manager.sandbox.faults import FaultConfigError
from stock_manager.sandbox.runner import KISSandbox, SandboxError
from stock_manager.sandbox.state import SandboxConfigError
from stock_manager.sandbox.streams import MAX_REGISTRATIONS, StreamFaults

__all__ = [
    "MAX_REGISTRATIONS",
    "FaultConfigError",
    "KISSandbox",
    "ManualClock",
    "SandboxClock",
    "SandboxConfigError",
    "SandboxError",
    "StreamFaults",
    "SystemClock",
]
