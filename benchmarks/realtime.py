"""Sync or async realtime shell? Records per second and client CPU per record, four ways.

Issue 16 asks for "sync and async shells over it (``websockets`` offers both and is built on a
sans-I/O core; choose by measurement)". This is the measurement. A sandbox in its own process
(``KISSandbox("real", process=True, stream_interval=0.01)``, market time re-pinned to
2026-03-10 10:00 KST before every round, so every KRX key streams) feeds one websocket session
holding 40 registrations: H0STCNT0 and H0STASP0 for 20 KOSPI/KOSDAQ codes of the universe.
Rounds alternate (the order rotates each round) between four clients in this process:

* ``sync client``: :class:`KISRealtimeClient` (``websockets.sync.client``, its reader thread,
  records through its queue to ``next()`` in the main thread, parsed into :class:`Record`);
* ``async client``: :class:`AsyncKISRealtimeClient` (``websockets.asyncio.client``, reader
  task, ``asyncio.Queue``, ``await next()``), on a plain asyncio loop;
* ``raw async``: a bare ``websockets.asyncio.client`` loop that only splits each data frame
  on ``^`` (the baseline: the least any client must do);
* ``raw sync``: the same loop on ``websockets.sync.client``.

Each round: subscribe all 40, consume for a warm-up, then a timed window in which records
received per second (wall) and this process's CPU per record (``time.process_time``, every
thread of the process: the sandbox runs in another one) are measured; then release all 40 and
drain until the stream is silent. Every record received in the round is counted and compared
with the sandbox's ``records_sent`` for the round: any difference (a record lost or extra)
makes the exit code 1.

How to read it: the server (one core, Python generating every field) sets how many records
exist, so records/s shows only whether a client keeps up (all four should equal the server's
rate); CPU per record is the shell's cost, and its ratio to the raw loop of the same flavour is
the overhead of our parsing, events and hand-off. The shell to prefer is the one with the lower
CPU per record at the same rate; a difference within the rounds' spread is no reason to choose.

What it said (2 cores, websockets 17.4, Python 3.11, results/realtime.json): the sandbox sends
about 3,400-3,700 records/s (about 2 per frame) and every client took all of them, using 12-22 %
of a core: at this load no shell is the bottleneck. CPU per record, best of 3: sync client 46 us,
async client 50 us (medians 49 and 60: the asyncio rounds spread more), raw sync 34, raw async
37; each shell costs about 1.35x its raw loop. So neither flavour is chosen for speed: both shells
stay (one sans-I/O core, two thin shells), and a program picks the one matching its own model.

    python -m benchmarks.realtime [--rounds 3] [--seconds 5] [--interval 0.01] [--codes 20]
        [--output benchmarks/results/realtime.json]

The default run takes a little over a minute on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect as sync_connect

from stock_manager.adapters.broker.kis import (
    AsyncKISRealtimeClient,
    KISConfig,
    KISRealtimeClient,
    ReconnectPolicy,
)
from stock_manager.sandbox import KISSandbox
from stock_manager.sandbox.universe import UNIVERSE

RESULTS = Path(__file__).resolve().parent / "results" / "realtime.json"
MARKET_TIME = "2026-03-10T10:00:00+09:00"
TRS = ("H0STCNT0", "H0STASP0")
#: Records of the warm-up before each timed window: code paths and the loop warmed, and the
#: backlog of the subscribe phase consumed, so the window sees the steady stream only.
WARMUP_SECONDS = 0.5
#: Silence that ends a round's drain: 30 ticks at the default interval, far longer than a
#: record sent before the last release confirmation needs to arrive over loopback.
DRAIN_SECONDS = 0.3
#: Any single wait (a confirmation, a record while subscribed) longer than this is a failure.
WAIT = 10.0
#: A watchdog and reply timeout far beyond the round, so no reconnect can happen mid-round.
POLICY = ReconnectPolicy(silence_timeout=60.0, reply_timeout=WAIT, close_timeout=2.0)


class BenchError(RuntimeError):
    """A round could not run as designed (a refusal, a silent stream, a bad argument)."""


@dataclass
class Tally:
    """One client's round: the timed window and the whole round's record count."""

    window_records: int = 0
    window_seconds: float = 0.0
    window_cpu: float = 0.0
    total_records: int = 0
    #: Data frames in the window (raw loops only: our clients do not expose frames).
    window_frames: int | None = None
    by_tr: dict[str, int] = field(default_factory=dict)

    def count(self, tr_id: str, n: int) -> None:
        self.total_records += n
        self.by_tr[tr_id] = self.by_tr.get(tr_id, 0) + n


@dataclass(frozen=True)
class Setup:
    """What every client of a round needs: the sandbox's endpoints and the pairs to register."""

    sandbox: KISSandbox
    pairs: tuple[tuple[str, str], ...]
    seconds: float
    token_dir: Path

    def config(self) -> KISConfig:
        sb = self.sandbox
        return KISConfig(
            _env_file=None,
            kis_app_key=sb.app_key,
            kis_app_secret=sb.app_secret,
            environment=sb.environment,
            base_url=sb.base_url,
            account_no=sb.account_no,
            token_store="memory",  # noqa: S106 - a store kind, not a secret
            token_cache_dir=self.token_dir,
            websocket_url=sb.websocket_url,
            hts_id=sb.hts_id,
        )

    def approval_key(self) -> str:
        sb = self.sandbox
        body = {
            "grant_type": "client_credentials",
            "appkey": sb.app_key,
            "secretkey": sb.app_secret,
        }
        response = httpx.post(f"{sb.base_url}/oauth2/Approval", json=body, timeout=WAIT)
        if response.status_code != 200:
            raise BenchError(f"Approval answered HTTP {response.status_code}")
        return str(response.json()["approval_key"])


def domestic_codes(count: int) -> list[str]:
    """The first ``count`` KOSPI/KOSDAQ codes of the sandbox's universe."""
    codes = [i.code for i in UNIVERSE if i.market in ("KOSPI", "KOSDAQ") and i.is_domestic]
    if not 1 <= count <= len(codes):
        raise BenchError(f"codes must be from 1 to {len(codes)}, not {count}")
    return codes[:count]


class _Window:
    """The timed window inside a round: its start is after the warm-up, its end ``seconds`` on."""

    def __init__(self, tally: Tally, seconds: float) -> None:
        self.tally = tally
        self.seconds = seconds
        now = time.perf_counter()
        self.warm_until = now + WARMUP_SECONDS
        self.ends_at = self.warm_until + seconds
        self.state = "warm"  # warm -> timed -> done
        self._start_wall = self._start_cpu = 0.0
        self._start_records = 0
        self._start_frames = 0
        self.frames = 0

    def tick(self) -> bool:
        """Called after each frame or record; False once the window is over."""
        if self.state == "done":
            return False
        now = time.perf_counter()
        if self.state == "warm" and now >= self.warm_until:
            self.state = "timed"
            self._start_wall, self._start_cpu = now, time.process_time()
            self._start_records, self._start_frames = self.tally.total_records, self.frames
        elif self.state == "timed" and now >= self.ends_at:
            self.state = "done"
            tally = self.tally
            tally.window_seconds = now - self._start_wall
            tally.window_cpu = time.process_time() - self._start_cpu
            tally.window_records = tally.total_records - self._start_records
            tally.window_frames = self.frames - self._start_frames
            return False
        return True


# --- our clients ------------------------------------------------------------------------------


def run_sync_client(setup: Setup) -> Tally:
    tally = Tally()
    with KISRealtimeClient(setup.config(), policy=POLICY) as rt:
        for tr_id, key in setup.pairs:
            rt.subscribe(tr_id, key)
        window = _Window(tally, setup.seconds)
        while True:
            record = rt.next(timeout=WAIT)
            tally.count(record.tr_id, 1)
            if not window.tick():
                break
        for tr_id, key in setup.pairs:
            # No wait: a consumer that stopped reading would fill the queue and hold the reader
            # back from the confirmations.
            rt.unsubscribe(tr_id, key, wait=False)
        while True:
            try:
                record = rt.next(timeout=DRAIN_SECONDS)
            except TimeoutError:
                if not rt.registrations:
                    break
                continue
            tally.count(record.tr_id, 1)
    tally.window_frames = None
    return tally


async def _async_client(setup: Setup) -> Tally:
    tally = Tally()
    async with AsyncKISRealtimeClient(setup.config(), policy=POLICY) as rt:
        for tr_id, key in setup.pairs:
            await rt.subscribe(tr_id, key)
        window = _Window(tally, setup.seconds)
        while True:
            record = await rt.next(timeout=WAIT)
            tally.count(record.tr_id, 1)
            if not window.tick():
                break
        for tr_id, key in setup.pairs:
            await rt.unsubscribe(tr_id, key, wait=False)
        while True:
            try:
                record = await rt.next(timeout=DRAIN_SECONDS)
            except TimeoutError:
                if not rt.registrations:
                    break
                continue
            tally.count(record.tr_id, 1)
    tally.window_frames = None
    return tally


def run_async_client(setup: Setup) -> Tally:
    return asyncio.run(_async_client(setup))


# --- raw websockets loops (the baseline) ------------------------------------------------------


def _request(approval: str, tr_type: str, tr_id: str, key: str) -> str:
    header = {"approval_key": approval, "custtype": "P", "tr_type": tr_type}
    header["content-type"] = "utf-8"
    return json.dumps({"header": header, "body": {"input": {"tr_id": tr_id, "tr_key": key}}})


class _RawReader:
    """The baseline's whole per-frame work: data frames split on ``^``, replies counted."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.confirmed = 0
        self.window: _Window | None = None

    def feed(self, text: str) -> str | None:
        """Take one frame; returns the text to echo (a PINGPONG), if any."""
        if text[0] in "01":
            _, tr_id, count, payload = text.split("|", 3)
            fields = payload.split("^")
            n = int(count)
            if not fields or len(fields) % n:
                raise BenchError(f"a {tr_id} frame's {len(fields)} fields do not cut into {n}")
            self.tally.count(tr_id, n)
            if self.window is not None:
                self.window.frames += 1
            return None
        reply = json.loads(text)
        if reply["header"]["tr_id"] == "PINGPONG":
            return text
        code = reply["body"]["msg_cd"]
        if code not in ("OPSP0000", "OPSP0001"):
            raise BenchError(f"the sandbox refused a raw request: {code}")
        self.confirmed += 1
        return None


async def _raw_async(setup: Setup) -> Tally:
    tally = Tally()
    reader = _RawReader(tally)
    approval = setup.approval_key()
    count = len(setup.pairs)
    async with async_connect(
        setup.sandbox.websocket_url, ping_interval=None, compression=None, max_size=1 << 22
    ) as ws:

        async def read(timeout: float) -> None:
            text = await asyncio.wait_for(ws.recv(), timeout)
            echo = reader.feed(text if isinstance(text, str) else text.decode())
            if echo is not None:
                await ws.send(echo)

        for tr_id, key in setup.pairs:
            await ws.send(_request(approval, "1", tr_id, key))
        while reader.confirmed < count:
            await read(WAIT)
        reader.window = window = _Window(tally, setup.seconds)
        while window.tick():
            await read(WAIT)
        for tr_id, key in setup.pairs:
            await ws.send(_request(approval, "2", tr_id, key))
        while True:
            try:
                await read(DRAIN_SECONDS)
            except TimeoutError:
                if reader.confirmed >= 2 * count:
                    break
    return tally


def run_raw_async(setup: Setup) -> Tally:
    return asyncio.run(_raw_async(setup))


def run_raw_sync(setup: Setup) -> Tally:
    tally = Tally()
    reader = _RawReader(tally)
    approval = setup.approval_key()
    count = len(setup.pairs)
    with sync_connect(
        setup.sandbox.websocket_url, ping_interval=None, compression=None, max_size=1 << 22
    ) as ws:

        def read(timeout: float) -> None:
            text = ws.recv(timeout=timeout)
            echo = reader.feed(text if isinstance(text, str) else text.decode())
            if echo is not None:
                ws.send(echo)

        for tr_id, key in setup.pairs:
            ws.send(_request(approval, "1", tr_id, key))
        while reader.confirmed < count:
            read(WAIT)
        reader.window = window = _Window(tally, setup.seconds)
        while window.tick():
            read(WAIT)
        for tr_id, key in setup.pairs:
            ws.send(_request(approval, "2", tr_id, key))
        while True:
            try:
                read(DRAIN_SECONDS)
            except TimeoutError:
                if reader.confirmed >= 2 * count:
                    break
    return tally


CLIENTS: dict[str, Callable[[Setup], Tally]] = {
    "sync client": run_sync_client,
    "async client": run_async_client,
    "raw async": run_raw_async,
    "raw sync": run_raw_sync,
}
#: Each of our shells over the raw loop of its own flavour.
BASELINE_OF = {"sync client": "raw sync", "async client": "raw async"}


# --- rounds and the report --------------------------------------------------------------------


def _records_sent(sandbox: KISSandbox) -> int:
    sent = sandbox.stats()["records_sent"]
    return sum(int(sent.get(tr_id, 0)) for tr_id in TRS)


def measure(
    *, rounds: int, seconds: float, interval: float, codes: int, progress: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """Every client's rounds, alternating; per round its window figures and the loss check."""
    if rounds < 1 or seconds <= 0 or interval <= 0:
        raise BenchError("rounds, seconds and interval must be positive")
    pairs = tuple((tr_id, code) for code in domestic_codes(codes) for tr_id in TRS)
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in CLIENTS}
    names = list(CLIENTS)
    with (
        KISSandbox(
            "real",
            process=True,
            rate_limit=0,
            issue_interval=0,
            seed=7,
            market_time=MARKET_TIME,
            stream_interval=interval,
            pingpong_interval=5.0,
        ) as sandbox,
        tempfile.TemporaryDirectory() as cache,
    ):
        setup = Setup(sandbox, pairs, seconds, Path(cache))
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                sandbox.set_market_time(MARKET_TIME)  # the same market moment for every round
                before = _records_sent(sandbox)
                tally = CLIENTS[name](setup)
                sent = _records_sent(sandbox) - before
                row = {
                    "round": index,
                    "records_per_second": tally.window_records / tally.window_seconds,
                    "cpu_us_per_record": tally.window_cpu / tally.window_records * 1e6,
                    "cpu_share": tally.window_cpu / tally.window_seconds,
                    "window_records": tally.window_records,
                    "window_seconds": tally.window_seconds,
                    "window_frames": tally.window_frames,
                    "records_received": tally.total_records,
                    "records_sent": sent,
                    "lost": sent - tally.total_records,
                    "received_by_tr": tally.by_tr,
                }
                found[name].append(row)
                if progress:
                    print(
                        f"  round {index + 1} {name:<13} {row['records_per_second']:>8.0f} rec/s "
                        f"{row['cpu_us_per_record']:>6.1f} us/rec  received {tally.total_records}"
                        f" sent {sent}",
                        flush=True,
                    )
    return found


def summarise(found: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Median and best of the rounds per client, and each shell over its raw baseline."""
    summary: dict[str, dict[str, Any]] = {}
    for name, rows in found.items():
        rates = [r["records_per_second"] for r in rows]
        cpus = [r["cpu_us_per_record"] for r in rows]
        summary[name] = {
            "median_records_per_second": statistics.median(rates),
            "best_records_per_second": max(rates),
            "median_cpu_us_per_record": statistics.median(cpus),
            # Noise on a shared machine only ever adds CPU: the least is the cost (timeit's rule).
            "best_cpu_us_per_record": min(cpus),
            "worst_cpu_us_per_record": max(cpus),
            "median_cpu_share": statistics.median(r["cpu_share"] for r in rows),
            "records_received": sum(r["records_received"] for r in rows),
            "records_sent": sum(r["records_sent"] for r in rows),
            "lost": sum(abs(r["lost"]) for r in rows),
        }
    for name, baseline in BASELINE_OF.items():
        ours, raw = summary[name], summary[baseline]
        ours["cpu_over_baseline"] = ours["best_cpu_us_per_record"] / raw["best_cpu_us_per_record"]
        ours["baseline"] = baseline
    return summary


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the table, write the JSON; exit 1 if any record went missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per client")
    parser.add_argument("--seconds", type=float, default=5.0, help="timed window per round")
    parser.add_argument("--interval", type=float, default=0.01, help="sandbox stream_interval")
    parser.add_argument("--codes", type=int, default=20, help="codes (x2 TRs = registrations)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0 or args.interval <= 0:
        parser.error("--rounds, --seconds and --interval must be positive")
    try:
        domestic_codes(args.codes)
    except BenchError as exc:
        parser.error(str(exc))

    print(
        f"realtime shells: {args.codes * len(TRS)} registrations ({args.codes} codes x "
        f"{'/'.join(TRS)}), stream_interval {args.interval} s, {args.rounds} alternating rounds "
        f"of {args.seconds} s per client"
    )
    found = measure(
        rounds=args.rounds, seconds=args.seconds, interval=args.interval, codes=args.codes
    )
    summary = summarise(found)
    print(
        f"\n{'client':<13} {'rec/s':>8} {'best':>8} {'us/rec':>7} {'best':>7} {'worst':>7} "
        f"{'cpu %':>6} {'x raw':>6} {'lost':>5}"
    )
    for name, s in summary.items():
        over = f"{s['cpu_over_baseline']:.2f}" if "cpu_over_baseline" in s else "-"
        print(
            f"{name:<13} {s['median_records_per_second']:>8.0f} "
            f"{s['best_records_per_second']:>8.0f} {s['median_cpu_us_per_record']:>7.1f} "
            f"{s['best_cpu_us_per_record']:>7.1f} {s['worst_cpu_us_per_record']:>7.1f} "
            f"{s['median_cpu_share'] * 100:>6.1f} {over:>6} {s['lost']:>5}"
        )
    sync_cpu = summary["sync client"]["best_cpu_us_per_record"]
    async_cpu = summary["async client"]["best_cpu_us_per_record"]
    print(f"sync client / async client CPU per record (best): {sync_cpu / async_cpu:.2f}")
    lost = sum(s["lost"] for s in summary.values())
    report = {
        "benchmark": "realtime",
        "command": " ".join(
            ["python -m benchmarks.realtime", *(sys.argv[1:] if argv is None else argv)]
        ),
        "server": (
            f"KISSandbox('real', process=True, stream_interval={args.interval}), market time "
            f"{MARKET_TIME} re-pinned each round"
        ),
        "registrations": [
            list(p) for p in ((tr, c) for c in domestic_codes(args.codes) for tr in TRS)
        ],
        "rounds": args.rounds,
        "window_seconds": args.seconds,
        "warmup_seconds": WARMUP_SECONDS,
        "units": {
            "records_per_second": "records received in the timed window / its wall seconds",
            "cpu_us_per_record": "this process's CPU (time.process_time) in the window / records",
            "cpu_share": "this process's CPU seconds per wall second in the window",
            "cpu_over_baseline": "best cpu_us_per_record over the raw loop of the same flavour",
            "lost": "records the sandbox sent in the round minus those received (abs, summed)",
        },
        "summary": summary,
        "sync_over_async_cpu_per_record": sync_cpu / async_cpu,
        "rounds_by_client": found,
        "lost": lost,
        "websockets": metadata.version("websockets"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    if lost:
        print(f"{lost} records differ between sent and received: the figures prove nothing")
    return 0 if not lost else 1


if __name__ == "__main__":
    sys.exit(main())
