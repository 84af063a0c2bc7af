"""Do several processes sharing one app key through Redis saturate KIS's limit without tripping it?

4 processes (separate interpreters, each with its own ``KISRestClient`` and its own token cache
directory, as if on four machines), 8 threads each, call ``inquire-price`` in a loop for 10 s
against a sandbox with KIS's real-domain limit (20 requests in any 1.0 s per app key, by
arrival; the rest answered ``EGW00201``). All in the same run:

* ``redis``: ``KIS_REDIS_URL`` set: one token and one request budget shared in Redis.
* ``local`` (baseline, ``--no-baseline`` skips it): the same processes without Redis, each
  with its own process-local 20/s budget (sharing one token through one machine's file
  cache): what a multi-process user gets without this.

Reported per run: ``ratio`` = calls completed within the window / (limit x seconds) (1.00 is
ideal: at most N fit in each second), ``steady_ratio`` = (completed - N) / (first to last
completion) / limit, the sandbox's ``rate_limited`` (EGW00201) count, token issuances. Retries
are off (``KIS_MAX_RETRIES=0``), so an EGW00201 is also a failed call. Tokens are issued
before the clock starts.

Goal (issue 6): the ``redis`` run reaches ratio >= 0.95 with zero EGW00201 and one token.

    python -m benchmarks.redis_shared                      # redis-server from PATH, or REDIS_URL
    python -m benchmarks.redis_shared --processes 4 --threads 8 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stock_manager.sandbox import KISSandbox

RESULTS = Path(__file__).resolve().parent / "results" / "redis_shared.json"
GOAL_RATIO = 0.95
PRICE_PARAMS = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


# -- a redis-server for the run -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def redis_server() -> Iterator[str]:
    """``REDIS_URL`` if set, else a throwaway ``redis-server`` on a free loopback port."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: redis-server); or set REDIS_URL")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    server = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


# -- one worker process -------------------------------------------------------------------------


def worker(threads: int, seconds: float) -> None:
    """Runs in each child: build the client, get the token, report ready, wait for ``go``,
    call for ``seconds`` from every thread, print the completion times as JSON."""
    from stock_manager.adapters.broker.kis import KISConfig, KISError, KISRestClient

    finished: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    with KISRestClient(KISConfig(_env_file=None)) as client:
        client.access_token()  # issued (or found in Redis) before the clock starts
        print("ready", flush=True)
        start_at = float(sys.stdin.readline())
        deadline = start_at + seconds

        def work() -> None:
            time.sleep(max(0.0, start_at - time.time()))
            while time.time() < deadline:
                try:
                    client.make_request("GET", api_id="inquire-price", params=PRICE_PARAMS)
                except KISError as exc:
                    with lock:
                        name = getattr(exc, "msg_cd", None) or type(exc).__name__
                        errors[name] = errors.get(name, 0) + 1
                else:
                    with lock:
                        finished.append(time.time())

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(seconds + 60)
        mode = getattr(client.rate_limiter, "mode", "local")
    print(json.dumps({"finished": finished, "errors": errors, "mode": mode}), flush=True)


# -- one run ------------------------------------------------------------------------------------


@dataclass
class Run:
    """The outcome of one run (all processes together)."""

    budget: str
    processes: int
    threads: int
    seconds: float
    limit: float
    completed: int = 0
    failed: int = 0
    rate_limited: int = 0
    tokens_issued: int = 0
    achieved_per_second: float = 0.0
    ratio: float = 0.0
    steady_ratio: float = 0.0
    per_process: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    modes: list[str] = field(default_factory=list)

    @property
    def meets_goal(self) -> bool:
        return (
            self.ratio >= GOAL_RATIO
            and self.rate_limited == 0
            and self.failed == 0
            and self.tokens_issued == 1
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "meets_goal": self.meets_goal}


def _environment(sandbox: KISSandbox, redis_url: str | None, cache_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIS_")}
    env.update(
        {
            "KIS_APP_KEY": sandbox.app_key,
            "KIS_APP_SECRET": sandbox.app_secret,
            "KIS_ENVIRONMENT": sandbox.environment,
            "KIS_BASE_URL": sandbox.base_url,
            "KIS_ACCOUNT_NO": sandbox.account_no,
            "KIS_TOKEN_STORE": "file",
            "KIS_TOKEN_CACHE_DIR": str(cache_dir),
            "KIS_TOKEN_ISSUE_INTERVAL": "1",
            "KIS_MAX_RETRIES": "0",  # an EGW00201 is a failed call, not a hidden retry
        }
    )
    if redis_url is not None:
        env["KIS_REDIS_URL"] = redis_url
    return env


def measure(
    redis_url: str | None, *, processes: int = 4, threads: int = 8, seconds: float = 10.0
) -> Run:
    """One run of ``processes`` workers against a fresh sandbox (real domain, 20/s)."""
    with (
        KISSandbox("real", issue_interval=1, process=True) as sandbox,
        tempfile.TemporaryDirectory(prefix="bench-redis-tokens-") as scratch,
    ):
        children = []
        for number in range(processes):
            # With Redis, separate token caches (as on separate machines): only Redis can make
            # these processes share a token. Without, one cache: the file store shares it.
            cache = f"machine-{number}" if redis_url else "machine"
            env = _environment(sandbox, redis_url, Path(scratch) / cache)
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.redis_shared",
                        "--worker",
                        "--threads",
                        str(threads),
                        "--seconds",
                        str(seconds),
                    ],
                    env=env,
                    cwd=Path(__file__).resolve().parent.parent,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        try:
            for child in children:
                assert child.stdout is not None
                line = child.stdout.readline().strip()
                if line != "ready":
                    raise RuntimeError(f"a worker failed: {child.communicate(timeout=10)[1]}")
            start_at = time.time() + 0.5  # every process starts calling at this moment
            for child in children:
                assert child.stdin is not None
                child.stdin.write(f"{start_at}\n")
                child.stdin.flush()
            reports = []
            for child in children:
                out, err = child.communicate(timeout=seconds + 90)
                if child.returncode != 0:
                    raise RuntimeError(f"a worker failed: {err[-2000:]}")
                reports.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait(10)
        stats = sandbox.stats()
    limit = 20.0
    window_end = start_at + seconds
    times = sorted(t for r in reports for t in r["finished"] if t <= window_end)
    errors: dict[str, int] = {}
    for report in reports:
        for name, count in report["errors"].items():
            errors[name] = errors.get(name, 0) + count
    burst = int(limit)
    steady = (
        (len(times) - burst) / (times[-1] - times[0])
        if len(times) > burst and times[-1] > times[0]
        else 0.0
    )
    return Run(
        budget="redis" if redis_url else "local",
        processes=processes,
        threads=threads,
        seconds=seconds,
        limit=limit,
        completed=len(times),
        failed=sum(errors.values()),
        rate_limited=stats["rate_limited"],
        tokens_issued=stats["tokens_issued"],
        achieved_per_second=round(len(times) / seconds, 3),
        ratio=round(len(times) / (limit * seconds), 4),
        steady_ratio=round(steady / limit, 4),
        per_process=[sum(1 for t in r["finished"] if t <= window_end) for r in reports],
        errors=errors,
        modes=[r["mode"] for r in reports],
    )


def _print(run: Run) -> None:
    verdict = "ok" if run.meets_goal else "MISSES GOAL"
    print(
        f"{run.budget:5} budget, {run.processes} processes x {run.threads} threads, "
        f"{run.seconds:g}s: {run.achieved_per_second:6.2f}/s of {run.limit:g}/s = "
        f"{run.ratio:6.1%} (steady {run.steady_ratio:6.1%})  EGW00201={run.rate_limited:<4} "
        f"failed={run.failed:<4} tokens={run.tokens_issued}  per process={run.per_process}  "
        f"{verdict}",
        flush=True,
    )


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_shared", description=__doc__)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="threads per process (8)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the run without Redis (local budgets)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements, print them, write the JSON; exit 1 if the Redis run misses."""
    args = _parse(argv)
    if args.worker:
        worker(args.threads, args.seconds)
        return 0
    shape = {"processes": args.processes, "threads": args.threads, "seconds": args.seconds}
    try:
        with redis_server() as url:
            runs = [measure(url, **shape)]
            _print(runs[0])
    except RuntimeError as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    if not args.no_baseline:
        runs.append(measure(None, **shape))
        _print(runs[1])
    command = "python -m benchmarks.redis_shared " + " ".join(argv or sys.argv[1:])
    report = {
        "benchmark": "redis_shared",
        "command": command.strip(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "goal": {"ratio_at_least": GOAL_RATIO, "rate_limited": 0, "tokens_issued": 1},
        "sandbox": "process",
        "runs": [run.as_dict() for run in runs],
        "meets_goal": runs[0].meets_goal,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.output}")
    return 0 if runs[0].meets_goal else 1


if __name__ == "__main__":
    sys.exit(main())
