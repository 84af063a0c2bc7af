"""The sandbox's realtime websocket: KIS's control replies, PINGPONG, market-data records and
encrypted fill notices, on a loopback port beside the REST server (see :mod:`.server`)."""

from __future__ import annotations

from stock_manager.sandbox.streams.server import MAX_REGISTRATIONS, StreamFaults, StreamServer

__all__ = ["MAX_REGISTRATIONS", "StreamFaults", "StreamServer"]
