"""Does the request budget saturate KIS's per-second limit without ever tripping it?

For each environment (real: 20/s, paper: 2/s, the sandbox's defaults) and each limiter, 16
threads (or tasks) call ``inquire-price`` in a loop through one client for 10 s against a fresh
:class:`KISSandbox`, whose gateway admits at most N requests in any 1.0 s by arrival time and
answers the rest ``EGW00201``. Reported per run, all measured in the same run:

* ``ratio``: calls completed within the window / (limit x seconds). An ideal limiter scores
  1.00: at most N requests fit in each of the window's seconds.
* ``steady_ratio``: the sustained rate after the first burst of N, (completed - N) / (time
  from the first to the last completion), over the limit. The window ratio cannot see a
  limiter that runs a few percent slow (ten cycles of 1.05 s still fit in 10 s); this one can.
* ``rate_limited``: EGW00201 answers counted by the sandbox (the goal: zero).

Limiters compared (``--limiter``):

* ``ours``: :class:`LocalRateLimiter`, a slot rests one period from its request's *reply*;
* ``ours-at-send``: the same limiter made to count from the moment a request is let go (what
  every general-purpose limiter does), to show what releasing on the reply buys;
* ``pyrate``: pyrate-limiter (``Limiter(Rate(N, Duration.SECOND))``, in-memory bucket);
* ``limits``: limits' moving window (``MovingWindowRateLimiter``), waiting until its reset time.

``--jitter S`` makes every other call an ``inquire-balance`` that the sandbox holds ``S``
seconds before admitting it (its ``latency`` fault, applied on the way in): what a network
whose delay varies by ``S`` does to arrival times.

Goal (issue 5): ratio >= 0.97 and zero EGW00201, on both domains. Results go to
``benchmarks/results/rate_limit.json``.

    python -m benchmarks.rate_limit                      # ours, threads, real and paper
    python -m benchmarks.rate_limit --limiter all        # with the library comparison
    python -m benchmarks.rate_limit --limiter all --env real --jitter 0.08
    python -m benchmarks.rate_limit --mode tasks         # AsyncKISRestClient, 16 tasks
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISConfig,
    KISError,
    KISRestClient,
    RetryPolicy,
)
from stock_manager.adapters.broker.kis.bodies import balance_params
from stock_manager.adapters.broker.kis.ratelimit import LocalRateLimiter, Permit, RateLimiter
from stock_manager.sandbox import KISSandbox

RESULTS = Path(__file__).resolve().parent / "results" / "rate_limit.json"
GOAL_RATIO = 0.97
LIMITERS = ("ours", "ours-at-send", "pyrate", "limits")
PRICE_PARAMS = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
BALANCE_PATH = "/uapi/domestic-stock/v1/trading/inquire-balance"
Call = tuple[str, dict[str, str]]


def _calls(config: KISConfig, jitter: float) -> list[Call]:
    """What the workers call in turn: the price, and with jitter also the (delayed) balance."""
    calls: list[Call] = [("inquire-price", PRICE_PARAMS)]
    if jitter > 0:
        calls.append(("inquire-balance", balance_params(config)))
    return calls


# -- library limiters behind our interface (they count a request when it is let go) -----------


class _AtSend:
    """Adapts a limiter that counts from admission: nothing to do when the reply is in."""

    def __init__(self) -> None:
        self._count = 0

    def _permit(self) -> Permit:
        self._count += 1
        return Permit(self._count)

    def release(self, permit: Permit) -> None:
        """Nothing: the request was counted when it was let go."""

    async def arelease(self, permit: Permit) -> None:
        """Nothing: the request was counted when it was let go."""


class OursAtSend(_AtSend):
    """:class:`LocalRateLimiter` whose slots rest from the grant instead of the reply."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.inner = LocalRateLimiter(rate)

    def acquire(self) -> Permit:
        self.inner.release(self.inner.acquire())
        return self._permit()

    async def aacquire(self) -> Permit:
        await self.inner.arelease(await self.inner.aacquire())
        return self._permit()


class PyrateLimiter(_AtSend):
    """pyrate-limiter: ``try_acquire`` blocks (sleeping, lock released) until admitted."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        from pyrate_limiter import Duration, Limiter, Rate

        self.inner = Limiter(Rate(int(rate), Duration.SECOND))

    def acquire(self) -> Permit:
        if not self.inner.try_acquire("kis"):
            raise RuntimeError("pyrate-limiter refused a blocking acquire")
        return self._permit()

    async def aacquire(self) -> Permit:
        if not await self.inner.try_acquire_async("kis"):
            raise RuntimeError("pyrate-limiter refused a blocking acquire")
        return self._permit()


class LimitsLimiter(_AtSend):
    """limits' moving window: ``hit`` or sleep until the window's reset time, then try again."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        from limits import RateLimitItemPerSecond
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.item = RateLimitItemPerSecond(int(rate))
        self.inner = MovingWindowRateLimiter(MemoryStorage())

    def _wait(self) -> float:
        if self.inner.hit(self.item, "kis"):
            return 0.0
        stats = self.inner.get_window_stats(self.item, "kis")
        return max(0.001, stats.reset_time - time.time())

    def acquire(self) -> Permit:
        while (pause := self._wait()) > 0:
            time.sleep(pause)
        return self._permit()

    async def aacquire(self) -> Permit:
        while (pause := self._wait()) > 0:
            await asyncio.sleep(pause)
        return self._permit()


def make_limiter(name: str, rate: float) -> RateLimiter:
    """A fresh limiter of kind ``name`` at ``rate`` requests per second."""
    factories: dict[str, Callable[[float], RateLimiter]] = {
        "ours": LocalRateLimiter,
        "ours-at-send": OursAtSend,
        "pyrate": PyrateLimiter,
        "limits": LimitsLimiter,
    }
    return factories[name](rate)


# -- one run ----------------------------------------------------------------------------------


@dataclass
class Run:
    """The outcome of one (environment, limiter, mode) run."""

    environment: str
    limiter: str
    mode: str
    workers: int
    seconds: float
    limit: float
    jitter: float = 0.0
    completed: int = 0
    failed: int = 0
    rate_limited: int = 0
    achieved_per_second: float = 0.0
    ratio: float = 0.0
    steady_ratio: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def meets_goal(self) -> bool:
        return self.ratio >= GOAL_RATIO and self.rate_limited == 0 and self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "meets_goal": self.meets_goal}


def _config(sandbox: KISSandbox) -> KISConfig:
    return KISConfig(
        _env_file=None,
        kis_app_key=sandbox.app_key,
        kis_app_secret=sandbox.app_secret,
        environment=sandbox.environment,
        base_url=sandbox.base_url,
        account_no=sandbox.account_no,
        token_store="memory",  # noqa: S106 - a store kind, not a password
    )


class _Tally:
    """Calls completed inside the window, and failures by kind. Thread-safe."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.finished: list[float] = []
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def completed(self) -> int:
        return len(self.finished)

    def done(self) -> None:
        finished = time.monotonic()
        with self._lock:
            if finished <= self.deadline:
                self.finished.append(finished)

    def steady_rate(self, burst: int) -> float:
        """Calls per second after the first ``burst`` ones, first to last completion."""
        times = sorted(self.finished)
        if len(times) <= burst or times[-1] <= times[0]:
            return 0.0
        return (len(times) - burst) / (times[-1] - times[0])

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            name = type(exc).__name__
            self.errors[name] = self.errors.get(name, 0) + 1


def _threads(client: KISRestClient, calls: list[Call], workers: int, seconds: float) -> _Tally:
    start = threading.Barrier(workers + 1)
    tally = _Tally(0.0)

    def work(turn: int) -> None:
        start.wait()
        while time.monotonic() < tally.deadline:
            api_id, params = calls[turn % len(calls)]
            turn += 1
            try:
                client.make_request("GET", api_id=api_id, params=params)
            except KISError as exc:
                tally.failed(exc)
            else:
                tally.done()

    pool = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
    for thread in pool:
        thread.start()
    tally.deadline = time.monotonic() + seconds
    start.wait()
    for thread in pool:
        thread.join(seconds + 30)
    return tally


async def _tasks(
    client: AsyncKISRestClient, calls: list[Call], workers: int, seconds: float
) -> _Tally:
    tally = _Tally(time.monotonic() + seconds)

    async def work(turn: int) -> None:
        while time.monotonic() < tally.deadline:
            api_id, params = calls[turn % len(calls)]
            turn += 1
            try:
                await client.make_request("GET", api_id=api_id, params=params)
            except KISError as exc:
                tally.failed(exc)
            else:
                tally.done()

    await asyncio.gather(*(work(i) for i in range(workers)))
    return tally


async def _async_run(
    config: KISConfig, limiter: RateLimiter, calls: list[Call], workers: int, seconds: float
) -> _Tally:
    async with AsyncKISRestClient(
        config, rate_limiter=limiter, retry_policy=RetryPolicy(max_retries=0)
    ) as client:
        await client.access_token()  # issued before the clock starts
        return await _tasks(client, calls, workers, seconds)


def measure(
    environment: str,
    limiter_name: str = "ours",
    *,
    mode: str = "threads",
    workers: int = 16,
    seconds: float = 10.0,
    jitter: float = 0.0,
    process: bool = False,
) -> Run:
    """One run against a fresh sandbox with its default limit (20/s real, 2/s paper).

    Retries are off, so an EGW00201 shows up both in the sandbox's count and as a failed call.
    """
    with KISSandbox(environment, issue_interval=1, process=process) as sandbox:  # type: ignore[arg-type]
        config = _config(sandbox)
        limit = config.requests_per_second
        limiter = make_limiter(limiter_name, limit)
        calls = _calls(config, jitter)
        if jitter > 0:
            sandbox.set_faults(BALANCE_PATH, latency=jitter)
        before = sandbox.stats()["rate_limited"]
        if mode == "threads":
            with KISRestClient(
                config, rate_limiter=limiter, retry_policy=RetryPolicy(max_retries=0)
            ) as client:
                client.access_token()  # issued before the clock starts
                tally = _threads(client, calls, workers, seconds)
        else:
            tally = asyncio.run(_async_run(config, limiter, calls, workers, seconds))
        rate_limited = sandbox.stats()["rate_limited"] - before
    achieved = tally.completed / seconds
    steady = tally.steady_rate(max(1, int(limit)))
    return Run(
        environment=environment,
        limiter=limiter_name,
        mode=mode,
        workers=workers,
        seconds=seconds,
        limit=limit,
        jitter=jitter,
        completed=tally.completed,
        failed=sum(tally.errors.values()),
        rate_limited=rate_limited,
        achieved_per_second=round(achieved, 3),
        ratio=round(achieved / limit, 4),
        steady_ratio=round(steady / limit, 4),
        errors=tally.errors,
    )


def _print(run: Run) -> None:
    verdict = "ok" if run.meets_goal else "MISSES GOAL"
    print(
        f"{run.environment:5} {run.limiter:12} {run.mode:7} {run.workers} workers "
        f"{run.seconds:g}s jitter {run.jitter:g}s: "
        f"{run.achieved_per_second:6.2f}/s of {run.limit:g}/s = {run.ratio:6.1%} "
        f"(steady {run.steady_ratio:6.1%})  "
        f"EGW00201={run.rate_limited:<4} failed={run.failed:<4} {verdict}",
        flush=True,
    )


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rate_limit", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=16, help="threads or tasks (16)")
    parser.add_argument(
        "--env", choices=("real", "paper", "both"), default="both", help="default: both"
    )
    parser.add_argument(
        "--limiter",
        default="ours",
        help=f"comma-separated, of {', '.join(LIMITERS)}; or all (default: ours)",
    )
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="seconds the sandbox holds every other call before admitting it (default 0)",
    )
    parser.add_argument("--mode", choices=("threads", "tasks", "both"), default="threads")
    parser.add_argument(
        "--process", action="store_true", help="serve the sandbox from a child process"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements, print them, write the JSON; exit 1 if ``ours`` misses the goal."""
    args = _parse(argv)
    environments = ("real", "paper") if args.env == "both" else (args.env,)
    limiters = LIMITERS if args.limiter == "all" else tuple(args.limiter.split(","))
    unknown = set(limiters) - set(LIMITERS)
    if unknown:
        print(f"unknown limiter(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    modes = ("threads", "tasks") if args.mode == "both" else (args.mode,)
    runs: list[Run] = []
    for environment in environments:
        for mode in modes:
            for name in limiters:
                run = measure(
                    environment,
                    name,
                    mode=mode,
                    workers=args.workers,
                    seconds=args.seconds,
                    jitter=args.jitter,
                    process=args.process,
                )
                _print(run)
                runs.append(run)
    result = {
        "benchmark": "rate_limit",
        "command": " ".join(
            ["python -m benchmarks.rate_limit", *(sys.argv[1:] if argv is None else argv)]
        ),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "goal": {"ratio_at_least": GOAL_RATIO, "rate_limited": 0},
        "sandbox": "process" if args.process else "thread",
        "runs": [run.as_dict() for run in runs],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}")
    ours = [run for run in runs if run.limiter == "ours"]
    return 0 if all(run.meets_goal for run in ours) else 1


if __name__ == "__main__":
    raise SystemExit(main())
