"""Is the sandbox a bottleneck? Sequential hashkey requests per second over loopback.

For each server mode (uvicorn in a thread of this process, or in a child process), it times
rounds of N sequential ``POST /uapi/hashkey`` calls three ways, all in the same run, and keeps
the best round of each (as ``timeit`` does):

* ``httpx.post``: ``client.post(...)`` on one pooled ``httpx.Client``, the way a KIS client calls;
* ``httpx.send``: one request built once and re-sent (httpx's own per-call building removed);
* ``raw socket``: hand-written HTTP/1.1 on one keep-alive socket, the server's own ceiling.

Ratios against the 1,000 requests/s goal and between modes are printed and written to
``benchmarks/results/sandbox_throughput.json``.

    python -m benchmarks.sandbox_throughput [--requests 2000] [--mode thread|process|both]
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from stock_manager.sandbox import KISSandbox

GOAL = 1_000.0
BODY = json.dumps(
    {
        "CANO": "12345678",
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "ORD_DVSN": "00",
        "ORD_QTY": "1",
        "ORD_UNPR": "70000",
    }
).encode()
RESULTS = Path(__file__).resolve().parent / "results" / "sandbox_throughput.json"


REPEAT = 3


def _rate(count: int, call: Callable[[], None]) -> list[float]:
    """Requests/second of ``REPEAT`` rounds of ``count`` sequential calls."""
    for _ in range(min(100, count)):  # warm the connection and the code paths
        call()
    rates = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        for _ in range(count):
            call()
        rates.append(count / (time.perf_counter() - started))
    return rates


def _headers(sandbox: KISSandbox) -> dict[str, str]:
    return {
        "content-type": "application/json; charset=utf-8",
        "appkey": sandbox.app_key,
        "appsecret": sandbox.app_secret,
    }


def _httpx_post(sandbox: KISSandbox, count: int) -> list[float]:
    headers = _headers(sandbox)
    with httpx.Client(base_url=sandbox.base_url) as client:

        def call() -> None:
            response = client.post("/uapi/hashkey", content=BODY, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"hashkey answered {response.status_code}")

        return _rate(count, call)


def _httpx_send(sandbox: KISSandbox, count: int) -> list[float]:
    with httpx.Client(base_url=sandbox.base_url) as client:
        request = client.build_request(
            "POST", "/uapi/hashkey", content=BODY, headers=_headers(sandbox)
        )

        def call() -> None:
            response = client.send(request)
            if response.status_code != 200:
                raise RuntimeError(f"hashkey answered {response.status_code}")

        return _rate(count, call)


def _raw_socket(sandbox: KISSandbox, count: int) -> list[float]:
    host, port = sandbox.base_url.removeprefix("http://").rsplit(":", 1)
    head = "".join(f"{name}: {value}\r\n" for name, value in _headers(sandbox).items())
    request = (
        f"POST /uapi/hashkey HTTP/1.1\r\nhost: {host}\r\n{head}content-length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def call() -> None:
            sock.sendall(request)
            reply = sock.recv(65536)
            head_end = reply.find(b"\r\n\r\n")
            while head_end < 0:
                reply += sock.recv(65536)
                head_end = reply.find(b"\r\n\r\n")
            length = int(reply.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(reply) < head_end + 4 + length:
                reply += sock.recv(65536)
            if not reply.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("hashkey did not answer 200")

        return _rate(count, call)


METHODS: dict[str, Callable[[KISSandbox, int], list[float]]] = {
    "httpx.post": _httpx_post,
    "httpx.send": _httpx_send,
    "raw socket": _raw_socket,
}


def measure(mode: str, count: int) -> dict[str, list[float]]:
    """Requests/second of each method's rounds against a fresh sandbox in ``mode``."""
    with KISSandbox("real", rate_limit=0, process=mode == "process") as sandbox:
        return {name: method(sandbox, count) for name, method in METHODS.items()}


def _server_stack() -> dict[str, bool]:
    stack = {}
    for module in ("httptools", "uvloop"):
        try:
            __import__(module)
            stack[module] = True
        except ImportError:
            stack[module] = False
    return stack


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table, write the JSON; exit 1 if no mode meets the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", "-n", type=int, default=2000, help="requests per method")
    parser.add_argument("--mode", choices=("thread", "process", "both"), default="both")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be positive")
    modes = ("thread", "process") if args.mode == "both" else (args.mode,)

    rounds = {mode: measure(mode, args.requests) for mode in modes}
    # Best of the rounds, as timeit does: noise on a shared machine only ever slows a round.
    best = {mode: {name: max(r) for name, r in rates.items()} for mode, rates in rounds.items()}
    print(
        f"sequential POST /uapi/hashkey, best of {REPEAT} rounds of {args.requests} "
        f"(goal {GOAL:.0f}/s)"
    )
    print(f"{'mode':<8} {'method':<11} {'req/s':>8} {'median':>8} {'x goal':>7}")
    for mode, rates in best.items():
        for name, rate in rates.items():
            median = statistics.median(rounds[mode][name])
            print(f"{mode:<8} {name:<11} {rate:>8.0f} {median:>8.0f} {rate / GOAL:>7.2f}")
    best_client = max(rates["httpx.post"] for rates in best.values())
    report: dict[str, Any] = {
        "benchmark": "sandbox_throughput",
        "requests_per_round": args.requests,
        "rounds": REPEAT,
        "goal_requests_per_second": GOAL,
        "best_requests_per_second": best,
        "all_rounds_requests_per_second": rounds,
        "ratio_to_goal": {
            mode: {name: rate / GOAL for name, rate in rates.items()}
            for mode, rates in best.items()
        },
        "best_httpx_post_requests_per_second": best_client,
        "goal_met_by_httpx_post": best_client >= GOAL,
        "server_stack": _server_stack(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if "thread" in best and "process" in best:
        report["process_over_thread"] = {
            name: best["process"][name] / best["thread"][name] for name in METHODS
        }
        ratio = report["process_over_thread"]["httpx.post"]
        print(f"process/thread ratio (httpx.post): {ratio:.2f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0 if best_client >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
