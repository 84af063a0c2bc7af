"""One process of the token-issuance scenario: T threads calling inquire-price through one client.

Started as ``python -m benchmarks.scenarios.token_worker`` with its settings as one JSON object
on stdin (the app secret stays off the command line). Every thread waits for the same wall-clock
start, so the processes' first calls (and their cold token look-ups) really do coincide. Prints
one JSON line: calls made, calls that failed, and the kinds of failure.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from typing import Any

from stock_manager.adapters.broker.kis import KISConfig, KISError, KISRestClient

PRICE_PARAMS = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


def run(settings: dict[str, Any]) -> dict[str, Any]:
    """Make the calls ``settings`` asks for; return the tally."""
    config = KISConfig(_env_file=None, **settings["config"])
    threads: int = settings["threads"]
    calls: int = settings["calls_per_thread"]
    until: float | None = settings.get("until")
    start_at: float = settings["start_at"]
    lock = threading.Lock()
    made = 0
    failures: Counter[str] = Counter()

    with KISRestClient(config) as client:

        def work() -> None:
            nonlocal made
            time.sleep(max(0.0, start_at - time.time()))
            done = 0
            while done < calls or (until is not None and time.time() < until):
                try:
                    client.make_request("GET", api_id="inquire-price", params=PRICE_PARAMS)
                except KISError as exc:
                    with lock:
                        failures[type(exc).__name__] += 1
                done += 1
            with lock:
                made += done

        pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    return {"calls": made, "failures": sum(failures.values()), "errors": dict(failures)}


def main() -> int:
    """Read the settings from stdin, run, print the tally."""
    settings = json.loads(sys.stdin.read())
    sys.stdout.write(json.dumps(run(settings)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
