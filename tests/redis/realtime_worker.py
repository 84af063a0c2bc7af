"""One process of the shared realtime session test; run as a script (pytest does not collect it).

    python realtime_worker.py sync|async TR:KEY[,TR:KEY...]

The client is configured by the ``KIS_*`` environment variables (``KIS_REDIS_URL`` among them);
``RT_LEASE_TTL``, ``RT_TICK`` and ``RT_CAP`` set the shared policy and the cap. The worker
subscribes its pairs one by one, printing a JSON line for each (``subscribed`` or ``error`` with
the error's type), then ``{"event": "ready"}``, then a ``status`` line every 0.1 s: records
counted per pair (by the ``on_record`` callback), the time of the last one, the longest silence
between two records of a pair, whether this process holds the session and what its own KIS
session holds. A line ``sub TR KEY`` on stdin subscribes one more pair; ``quit`` (or the end of
stdin) closes the client cleanly and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

from stock_manager.adapters.broker.kis import (
    AsyncKISRealtimeClient,
    KISConfig,
    KISError,
    KISRealtimeClient,
    ReconnectPolicy,
)
from stock_manager.adapters.broker.kis.realtime import Record
from stock_manager.adapters.broker.kis.realtime.shared import SharedPolicy

RECONNECT = ReconnectPolicy(
    base=0.05, cap=0.3, floor=0.02, silence_timeout=3.0, reply_timeout=8.0, close_timeout=0.5
)
_out = threading.Lock()


def emit(**line: Any) -> None:
    with _out:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.last: dict[str, float] = {}
        self.gaps: dict[str, float] = {}

    def add(self, record: Record) -> None:
        pair, now = f"{record.tr_id}|{record.key}", time.time()
        with self.lock:
            self.counts[pair] = self.counts.get(pair, 0) + 1
            before = self.last.get(pair)
            if before is not None:
                self.gaps[pair] = max(self.gaps.get(pair, 0.0), now - before)
            self.last[pair] = now

    def status(self, rt: KISRealtimeClient | AsyncKISRealtimeClient) -> dict[str, Any]:
        shared = rt.shared
        assert shared is not None
        direct = shared._direct  # what this process's own KIS session holds, when it holds one
        held = [] if direct is None else sorted(f"{t}|{k}" for t, k in direct.registrations)
        with self.lock:
            return {
                "event": "status",
                "counts": dict(self.counts),
                "last": dict(self.last),
                "gaps": dict(self.gaps),
                "holder": shared.holder,
                "epoch": shared.epoch,
                "direct": held,
                "error": None if rt.error is None else type(rt.error).__name__,
                "time": time.time(),
            }


def report_forever(tally: Tally, rt: Any, stop: threading.Event) -> None:
    while not stop.wait(0.1):
        emit(**tally.status(rt))


def pairs_of(text: str) -> list[tuple[str, str]]:
    return [(tr, key) for tr, _, key in (item.partition(":") for item in text.split(","))]


def build(mode: str, tally: Tally) -> Any:
    policy = SharedPolicy(
        lease_ttl=float(os.environ["RT_LEASE_TTL"]),
        member_ttl=float(os.environ["RT_LEASE_TTL"]),
        tick=float(os.environ["RT_TICK"]),
    )
    options: dict[str, Any] = {
        "on_record": tally.add,
        "policy": RECONNECT,
        "shared_policy": policy,
        "max_registrations": int(os.environ.get("RT_CAP", "41")),
    }
    if mode == "async":
        return AsyncKISRealtimeClient(KISConfig(), **options)
    return KISRealtimeClient(KISConfig(), **options)


def outcome(pair: tuple[str, str], exc: Exception | None) -> None:
    if exc is None:
        emit(event="subscribed", pair=f"{pair[0]}|{pair[1]}")
    else:
        emit(event="error", pair=f"{pair[0]}|{pair[1]}", type=type(exc).__name__, message=str(exc))


def run_sync(pairs: list[tuple[str, str]]) -> None:
    tally = Tally()
    rt: KISRealtimeClient = build("sync", tally)
    for pair in pairs:
        try:
            rt.subscribe(*pair)
            outcome(pair, None)
        except (KISError, TimeoutError) as exc:
            outcome(pair, exc)
    stop = threading.Event()
    threading.Thread(target=report_forever, args=(tally, rt, stop), daemon=True).start()
    emit(event="ready")
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["sub"] and len(words) == 3:
            try:
                rt.subscribe(words[1], words[2])
                outcome((words[1], words[2]), None)
            except (KISError, TimeoutError) as exc:
                outcome((words[1], words[2]), exc)
        elif words[:1] == ["quit"]:
            break
    stop.set()
    rt.close()
    emit(event="closed")


async def run_async(pairs: list[tuple[str, str]]) -> None:
    tally = Tally()
    rt: AsyncKISRealtimeClient = build("async", tally)
    for pair in pairs:
        try:
            await rt.subscribe(*pair)
            outcome(pair, None)
        except (KISError, TimeoutError) as exc:
            outcome(pair, exc)
    stop = threading.Event()
    threading.Thread(target=report_forever, args=(tally, rt, stop), daemon=True).start()
    emit(event="ready")
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.split()[:1] == ["quit"]:
            break
    stop.set()
    await rt.aclose()
    emit(event="closed")


def main() -> None:
    mode, pairs = sys.argv[1], pairs_of(sys.argv[2])
    if mode == "async":
        asyncio.run(run_async(pairs))
    else:
        run_sync(pairs)


if __name__ == "__main__":
    main()
