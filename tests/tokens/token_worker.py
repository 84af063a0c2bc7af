"""One process of the multi-process token tests; run as a script (pytest does not collect it).

    python token_worker.py sync|async CONCURRENCY

The client is configured by the ``KIS_*`` environment variables. The worker builds its client,
prints ``ready``, waits for a line on stdin (so that every process starts calling at once),
makes CONCURRENCY concurrent calls (threads, or tasks for ``async``), and prints one JSON line:
``{"calls": <successes>, "errors": [<error texts>], "tokens": [<token digests>]}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import threading

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig, KISRestClient

PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def run_threads(concurrency: int) -> dict[str, object]:
    calls, errors, tokens = 0, [], set()
    lock = threading.Lock()
    with KISRestClient(KISConfig(_env_file=None)) as client:
        barrier = threading.Barrier(concurrency)
        print("ready", flush=True)
        sys.stdin.readline()

        def call() -> None:
            nonlocal calls
            barrier.wait(30)
            try:
                client.make_request("GET", api_id="inquire-price", params=PRICE)
                token = client.access_token()
                with lock:
                    calls += 1
                    tokens.add(digest(token.value))
            except Exception as exc:  # reported to the test
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=call) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    return {"calls": calls, "errors": errors, "tokens": sorted(tokens)}


async def run_tasks(concurrency: int) -> dict[str, object]:
    async with AsyncKISRestClient(KISConfig(_env_file=None)) as client:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)

        async def call() -> str:
            await client.make_request("GET", api_id="inquire-price", params=PRICE)
            return digest((await client.access_token()).value)

        results = await asyncio.gather(
            *(call() for _ in range(concurrency)), return_exceptions=True
        )
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    tokens = sorted({r for r in results if isinstance(r, str)})
    return {"calls": len(results) - len(errors), "errors": errors, "tokens": tokens}


def main() -> None:
    mode, concurrency = sys.argv[1], int(sys.argv[2])
    result = run_threads(concurrency) if mode == "sync" else asyncio.run(run_tasks(concurrency))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
