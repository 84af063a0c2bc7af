"""One process of the multi-process Redis tests; run as a script (pytest does not collect it).

    python redis_worker.py sync|async CONCURRENCY SECONDS

The client is configured by the ``KIS_*`` environment variables (``KIS_REDIS_URL`` among them).
The worker builds its client, prints ``ready``, waits for a line on stdin (so that every process
starts at once), then runs CONCURRENCY threads (or tasks for ``async``): with SECONDS 0 each
makes one ``inquire-price`` call, otherwise each calls in a loop for SECONDS. Warnings go to
stderr. It prints one JSON line::

    {"calls": <successes>, "errors": [<error texts>], "tokens": [<token digests>],
     "first_success": <time.time()>, "finished": [<time.time() of each success>],
     "budget_mode": "redis" | "local" | "grace", "store_on_redis": <bool>}
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sys
import threading
import time
from typing import Any

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig, KISRestClient

PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.finished: list[float] = []
        self.errors: list[str] = []
        self.tokens: set[str] = set()

    def success(self, token: str) -> None:
        with self.lock:
            self.finished.append(time.time())
            self.tokens.add(digest(token))

    def failure(self, exc: Exception) -> None:
        with self.lock:
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def report(self, client: Any) -> dict[str, Any]:
        return {
            "calls": len(self.finished),
            "errors": self.errors,
            "tokens": sorted(self.tokens),
            "first_success": min(self.finished, default=None),
            "finished": self.finished,
            "budget_mode": getattr(client.rate_limiter, "mode", None),
            "store_on_redis": getattr(client.token_store, "using_redis", None),
        }


def run_threads(concurrency: int, seconds: float) -> dict[str, Any]:
    tally = Tally()
    with KISRestClient(KISConfig(_env_file=None)) as client:
        print("ready", flush=True)
        sys.stdin.readline()
        deadline = time.monotonic() + seconds

        def work() -> None:
            while True:
                try:
                    client.make_request("GET", api_id="inquire-price", params=PRICE)
                    tally.success(client.access_token().value)
                except Exception as exc:  # reported to the test
                    tally.failure(exc)
                if time.monotonic() >= deadline:
                    return

        threads = [threading.Thread(target=work) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        return tally.report(client)


async def run_tasks(concurrency: int, seconds: float) -> dict[str, Any]:
    tally = Tally()
    async with AsyncKISRestClient(KISConfig(_env_file=None)) as client:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        deadline = time.monotonic() + seconds

        async def work() -> None:
            while True:
                try:
                    await client.make_request("GET", api_id="inquire-price", params=PRICE)
                    tally.success((await client.access_token()).value)
                except Exception as exc:  # reported to the test
                    tally.failure(exc)
                if time.monotonic() >= deadline:
                    return

        await asyncio.gather(*(work() for _ in range(concurrency)))
        return tally.report(client)


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    mode, concurrency, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    if mode == "sync":
        result = run_threads(concurrency, seconds)
    else:
        result = asyncio.run(run_tasks(concurrency, seconds))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
