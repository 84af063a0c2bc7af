"""Is the sandbox a bottleneck? Its requests per second over loopback, and its load time.

Three parts, each with a baseline measured in the same run (absolute figures drift on a shared
machine; the ratios are what to compare across runs):

**sequential**: for each server mode (uvicorn in a thread of this process, or in a child
process), rounds of N sequential ``POST /uapi/hashkey`` calls three ways, keeping the best round
of each (as ``timeit`` does):

* ``httpx.post``: ``client.post(...)`` on one pooled ``httpx.Client``, the way a KIS client calls;
* ``httpx.send``: one request built once and re-sent (httpx's own per-call building removed);
* ``raw socket``: hand-written HTTP/1.1 on one keep-alive socket, the server's own ceiling.

**concurrent** (issue 15: "about 10,000 hashkeys/s to an aiohttp client, keep the same order"):
against ``KISSandbox(process=True, rate_limit=0)``, one aiohttp ``ClientSession`` on a
``TCPConnector(limit=N)`` with C tasks sending ``POST /uapi/hashkey``, ``GET inquire-price`` and
``GET inquire-balance``; best of a few rounds, over the raw-socket sequential ceiling of the same
server. Every reply is checked (HTTP 200 and ``rt_cd`` "0", or the expected HASH) and failures are
counted: a benchmark whose replies fail proves nothing, so any failure makes the exit code 1.

**load**: wall time of a fresh interpreter importing ``stock_manager.sandbox.tables`` (which
parses ``kis_routes.json``, the 336-API table) and ``stock_manager.sandbox.app`` (everything),
over ``python -c pass``; best of a few, interleaved. Importing ``tables`` runs the package's
``__init__`` (hence the whole server stack) first, so ``-X importtime`` also reports the
``tables`` module's own share.

Ratios are printed and written to ``benchmarks/results/sandbox_throughput.json``; the default
run takes about a minute on two cores.

    python -m benchmarks.sandbox_throughput [--requests 2000] [--mode thread|process|both]
        [--parts sequential concurrent load] [--concurrent-requests 2000] [--concurrency 64]
        [--connections 64] [--load-rounds 5] [--output PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from stock_manager.sandbox import KISSandbox
from stock_manager.sandbox.tables import CATALOG_ROUTES

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL

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


# --- concurrent: an aiohttp client against the server in its own process ------------------

#: The issue's own yardstick for the concurrent client; a reference, not a pass/fail goal
#: ("keep the same order"), since the figure depends on how many cores the client and the
#: server get.
ISSUE_CONCURRENT_FIGURE = 10_000.0
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
BALANCE_PATH = "/uapi/domestic-stock/v1/trading/inquire-balance"
#: A success reply of the gateway starts its envelope with this (the sandbox writes compact
#: JSON), so a byte search checks every reply without parsing it in the timed loop.
RT_CD_OK = b'"rt_cd":"0"'


@dataclass(frozen=True)
class Target:
    """One request the concurrent client sends over and over, and what proves a reply good."""

    method: str
    path: str
    headers: dict[str, str]
    ok_marker: bytes
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    #: Fewer requests per round for a request the server answers much more slowly, so the
    #: default run stays near a minute (the harness's ``calls_scale``).
    scale: float = 1.0

    def requests(self, count: int) -> int:
        """Requests per round for a run asking ``count``."""
        return max(1, round(count * self.scale))


@dataclass
class ConcurrentResult:
    """Requests/second of each timed round, and how many replies (warm-up too) were wrong."""

    rates: list[float]
    requests: int = 0
    errors: int = 0
    first_error: str = ""


def _issue_token(sandbox: KISSandbox) -> str:
    body = {
        "grant_type": "client_credentials",
        "appkey": sandbox.app_key,
        "appsecret": sandbox.app_secret,
    }
    response = httpx.post(f"{sandbox.base_url}/oauth2/tokenP", json=body, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"tokenP answered {response.status_code}")
    return str(response.json()["access_token"])


def concurrent_targets(sandbox: KISSandbox, token: str) -> dict[str, Target]:
    """The three requests of issue 15's figure: hashkey, a quote and a (paged) account inquiry."""
    # The reply must carry this exact HASH (KIS's rule: HMAC-SHA256 of the body bytes with the
    # app secret), so a reply that is a 200 but wrong still counts as an error.
    expected = hmac.new(sandbox.app_secret.encode(), BODY, hashlib.sha256).hexdigest()
    gateway = {
        **_headers(sandbox),
        "authorization": f"Bearer {token}",
        "custtype": "P",
    }
    cano, product = sandbox.account_no.split("-")
    balance_tr = "TTTC8434R" if sandbox.environment == "real" else "VTTC8434R"
    return {
        "hashkey": Target(
            "POST", "/uapi/hashkey", _headers(sandbox), f'"HASH":"{expected}"'.encode(), body=BODY
        ),
        "inquire-price": Target(
            "GET",
            PRICE_PATH,
            {**gateway, "tr_id": "FHKST01010100"},
            RT_CD_OK,
            params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
            # About ten times slower than the others: each reply walks a year of closes for
            # its 52-week and 250-day extremes.
            scale=0.25,
        ),
        "inquire-balance": Target(
            "GET",
            BALANCE_PATH,
            {**gateway, "tr_id": balance_tr},
            RT_CD_OK,
            # KIS's workbook marks all of these Required (the gateway refuses a call without
            # one with OPSQ2001); the values are its neutral ones, first page.
            params={
                "CANO": cano,
                "ACNT_PRDT_CD": product,
                "AFHR_FLPR_YN": "N",
                "OFL_YN": "",
                "INQR_DVSN": "02",
                "UNPR_DVSN": "01",
                "FUND_STTL_ICLD_YN": "N",
                "FNCG_AMT_AUTO_RDPT_YN": "N",
                "PRCS_DVSN": "00",
                "CTX_AREA_FK100": "",
                "CTX_AREA_NK100": "",
            },
        ),
    }


async def _burst(
    session: aiohttp.ClientSession,
    url: URL,
    target: Target,
    *,
    count: int,
    concurrency: int,
    result: ConcurrentResult,
) -> float:
    """Seconds for ``count`` requests sent by ``concurrency`` tasks sharing one budget."""
    import aiohttp  # the bench extra's: only this part needs it

    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1  # one event loop: no other task runs between the test and the decrement
            result.requests += 1
            try:
                async with session.request(
                    target.method, url, headers=target.headers, data=target.body
                ) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                continue
            if status != 200 or target.ok_marker not in payload:
                result.errors += 1
                result.first_error = result.first_error or f"HTTP {status}: {payload[:120]!r}"

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started


async def _concurrent_rounds(
    base_url: str, target: Target, *, count: int, concurrency: int, connections: int
) -> ConcurrentResult:
    import aiohttp
    from yarl import URL

    result = ConcurrentResult(rates=[])
    # Built once: the query is the same for every call, so no round pays for encoding it.
    url = URL(base_url + target.path).with_query(target.params or None)
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Untimed: opens the pool's connections, so no round pays for the handshakes.
        await _burst(
            session,
            url,
            target,
            count=max(connections, count // 5),
            concurrency=concurrency,
            result=result,
        )
        for _ in range(REPEAT):
            elapsed = await _burst(
                session, url, target, count=count, concurrency=concurrency, result=result
            )
            result.rates.append(count / elapsed)
    return result


def _client_loop() -> tuple[str, Callable[[], asyncio.AbstractEventLoop]]:
    # The client shares two cores with the server: uvloop (the sandbox extra brings it) keeps
    # the client's own overhead down, so the figure says more about the server.
    try:
        import uvloop
    except ImportError:
        return "asyncio", asyncio.new_event_loop
    return "uvloop", uvloop.new_event_loop


def measure_concurrent(count: int, concurrency: int = 64, connections: int = 64) -> dict[str, Any]:
    """Concurrent aiohttp requests/second per target, and the same server's raw-socket ceiling.

    Returns ``{"targets": {name: {"requests_per_round", "rates", "requests", "errors",
    "first_error"}}, "raw_socket_sequential": [rates], "client_loop": name}``.
    """
    if count < 1 or concurrency < 1 or connections < 1:
        raise ValueError("count, concurrency and connections must be positive")
    loop_name, new_loop = _client_loop()
    with KISSandbox("real", rate_limit=0, process=True) as sandbox:
        token = _issue_token(sandbox)
        targets = concurrent_targets(sandbox, token)
        found: dict[str, Any] = {}
        for name, target in targets.items():
            with asyncio.Runner(loop_factory=new_loop) as runner:
                outcome = runner.run(
                    _concurrent_rounds(
                        sandbox.base_url,
                        target,
                        count=target.requests(count),
                        concurrency=concurrency,
                        connections=connections,
                    )
                )
            found[name] = {
                "requests_per_round": target.requests(count),
                "rates": outcome.rates,
                "requests": outcome.requests,
                "errors": outcome.errors,
                "first_error": outcome.first_error,
            }
        # The baseline: the same server, one client socket, no concurrency, no client library.
        ceiling = _raw_socket(sandbox, min(count, 2000))
    return {"targets": found, "raw_socket_sequential": ceiling, "client_loop": loop_name}


# --- load: how long a fresh interpreter takes to import the sandbox -----------------------

LOAD_COMMANDS = {
    "python -c pass": "pass",
    "import tables": "import stock_manager.sandbox.tables",
    "import app": "import stock_manager.sandbox.app",
}
TABLES_MODULE = "stock_manager.sandbox.tables"
ROOT = Path(__file__).resolve().parent.parent


def _child_seconds(code: str, *options: str) -> tuple[float, str]:
    """Wall seconds of a fresh ``python -c code``, and its stderr."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *options, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed: {done.stderr.strip()[-300:]}")
    return elapsed, done.stderr


def tables_import_ms(importtime_log: str) -> float:
    """The ``tables`` module's own cumulative import time (ms) from a ``-X importtime`` log.

    Its first line is the module's execution (parse of ``kis_routes.json``, the route objects);
    a later top-level line for the same name includes the whole package's ``__init__``.
    """
    for line in importtime_log.splitlines():
        head, _, name = line.rpartition("|")
        if line.startswith("import time:") and name.strip() == TABLES_MODULE:
            return int(head.split("|")[1]) / 1000
    raise ValueError(f"{TABLES_MODULE} is not in the -X importtime log")


def measure_load(rounds: int = 5) -> dict[str, Any]:
    """Best and all wall times (ms) of each load command, interleaved, plus the tables share."""
    if rounds < 1:
        raise ValueError("rounds must be positive")
    for code in LOAD_COMMANDS.values():  # untimed: bytecode caches written, files in the cache
        _child_seconds(code)
    wall: dict[str, list[float]] = {name: [] for name in LOAD_COMMANDS}
    own: list[float] = []
    for index in range(rounds):
        names = list(LOAD_COMMANDS) if index % 2 == 0 else list(reversed(LOAD_COMMANDS))
        for name in names:
            wall[name].append(_child_seconds(LOAD_COMMANDS[name])[0] * 1000)
        _, log = _child_seconds(LOAD_COMMANDS["import tables"], "-X", "importtime")
        own.append(tables_import_ms(log))
    return {"wall_ms": wall, "tables_module_ms": own}


# --- the report ---------------------------------------------------------------------------

PARTS = ("sequential", "concurrent", "load")


def _sequential_report(args: argparse.Namespace, report: dict[str, Any]) -> bool:
    """Run and print the sequential part; whether httpx.post met the goal in some mode."""
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
    report.update(
        {
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
        }
    )
    if "thread" in best and "process" in best:
        report["process_over_thread"] = {
            name: best["process"][name] / best["thread"][name] for name in METHODS
        }
        ratio = report["process_over_thread"]["httpx.post"]
        print(f"process/thread ratio (httpx.post): {ratio:.2f}")
    return best_client >= GOAL


def _concurrent_report(args: argparse.Namespace, report: dict[str, Any]) -> int:
    """Run and print the concurrent part; the number of failed replies."""
    found = measure_concurrent(args.concurrent_requests, args.concurrency, args.connections)
    ceiling = max(found["raw_socket_sequential"])
    print(
        f"\nconcurrent aiohttp ({found['client_loop']} loop), {args.concurrency} tasks on "
        f"{args.connections} connections, best of {REPEAT} rounds of {args.concurrent_requests} "
        "(inquire-price: a quarter); "
        f"baseline: raw socket sequential {ceiling:.0f}/s (same server)"
    )
    print(
        f"{'request':<16} {'req/s':>8} {'median':>8} {'x socket':>8} {'x issue':>8} {'errors':>7}"
    )
    targets: dict[str, Any] = {}
    errors = 0
    for name, outcome in found["targets"].items():
        rate = max(outcome["rates"])
        errors += outcome["errors"]
        targets[name] = {
            "best_requests_per_second": rate,
            "all_rounds_requests_per_second": outcome["rates"],
            "ratio_to_raw_socket_sequential": rate / ceiling,
            "ratio_to_issue_figure": rate / ISSUE_CONCURRENT_FIGURE,
            "requests_per_round": outcome["requests_per_round"],
            "requests_sent": outcome["requests"],
            "errors": outcome["errors"],
            "first_error": outcome["first_error"],
        }
        print(
            f"{name:<16} {rate:>8.0f} {statistics.median(outcome['rates']):>8.0f} "
            f"{rate / ceiling:>8.2f} {rate / ISSUE_CONCURRENT_FIGURE:>8.2f} "
            f"{outcome['errors']:>7}"
        )
        if outcome["first_error"]:
            print(f"  first error: {outcome['first_error']}")
    report["concurrent"] = {
        "server": "KISSandbox('real', process=True, rate_limit=0)",
        "client": "aiohttp.ClientSession, TCPConnector(limit=connections)",
        "client_loop": found["client_loop"],
        "concurrency": args.concurrency,
        "connections": args.connections,
        "requests_per_round": args.concurrent_requests,
        "rounds": REPEAT,
        "baseline_raw_socket_sequential_requests_per_second": ceiling,
        "baseline_all_rounds": found["raw_socket_sequential"],
        "issue_figure_requests_per_second": ISSUE_CONCURRENT_FIGURE,
        "targets": targets,
        "errors": errors,
    }
    return errors


def _load_report(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Run and print the load part."""
    found = measure_load(args.load_rounds)
    best = {name: min(times) for name, times in found["wall_ms"].items()}
    baseline = best["python -c pass"]
    own = min(found["tables_module_ms"])
    print(
        f"\nload: fresh interpreter, best of {args.load_rounds} (baseline python -c pass "
        f"{baseline:.0f} ms); kis_routes.json lists {len(CATALOG_ROUTES)} REST routes"
    )
    print(f"{'command':<16} {'ms':>7} {'+ms':>7} {'x pass':>7}")
    for name, ms in best.items():
        print(f"{name:<16} {ms:>7.0f} {ms - baseline:>7.0f} {ms / baseline:>7.2f}")
    print(f"tables module alone (-X importtime, cumulative): {own:.1f} ms")
    report["load"] = {
        "routes": len(CATALOG_ROUTES),
        "rounds": args.load_rounds,
        "best_wall_ms": best,
        "over_baseline_ms": {name: ms - baseline for name, ms in best.items()},
        "ratio_to_baseline": {name: ms / baseline for name, ms in best.items()},
        "all_rounds_wall_ms": found["wall_ms"],
        "tables_module_best_ms": own,
        "tables_module_all_rounds_ms": found["tables_module_ms"],
        "note": "importing tables runs the package __init__ (the whole server stack) first",
    }


def main(argv: list[str] | None = None) -> int:
    """Run the parts, print tables, write the JSON.

    Exit 1 if a concurrent reply failed, or if the sequential part ran and no mode met the goal.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", "-n", type=int, default=2000, help="requests per method")
    parser.add_argument("--mode", choices=("thread", "process", "both"), default="both")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument(
        "--concurrent-requests", type=int, default=2000, help="requests per concurrent round"
    )
    parser.add_argument("--concurrency", "-c", type=int, default=64, help="concurrent tasks")
    parser.add_argument("--connections", type=int, default=64, help="TCPConnector limit")
    parser.add_argument("--load-rounds", type=int, default=5, help="fresh interpreters per import")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    for name in ("requests", "concurrent_requests", "concurrency", "connections", "load_rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")

    report: dict[str, Any] = {"benchmark": "sandbox_throughput", "parts": args.parts}
    goal_met = True
    errors = 0
    if "sequential" in args.parts:
        goal_met = _sequential_report(args, report)
    if "concurrent" in args.parts:
        errors = _concurrent_report(args, report)
    if "load" in args.parts:
        _load_report(args, report)
    report.update(
        {
            "server_stack": _server_stack(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    if errors:
        print(f"{errors} concurrent replies failed: the concurrent figures prove nothing")
    return 0 if goal_met and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
