"""``python -m benchmarks``: every scenario, one JSON report, one chart.

    python -m benchmarks                    # the full run (a few minutes)
    python -m benchmarks --quick            # fewer rounds, under a minute
    python -m benchmarks --only hashkey async_hashkey
    python3 dev.py bench [--quick ...]      # the same, in the project's venv

A full run writes ``benchmarks/results/bench.json``, ``bench.png`` and ``bench.md`` (the
figures for the README); any partial run (``--quick``, ``--only``, ``--rounds``, ``--calls``)
writes to ``benchmarks/results/scratch/`` (not committed) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.harness import ProgressReporter, ScenarioResult, as_table_rows, timed
from benchmarks.scenarios import SCENARIOS, BenchContext
from benchmarks.summary import summary_markdown

RESULTS = Path(__file__).resolve().parent / "results"
SCRATCH = RESULTS / "scratch"
REPORT_NAME = "bench"
ROOT = Path(__file__).resolve().parent.parent


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure the KIS client against raw httpx and the documented pattern.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds: under a minute")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=list(SCENARIOS), help="run these scenarios"
    )
    parser.add_argument("--out", type=Path, help="directory for bench.json/.png/.md")
    parser.add_argument(
        "--rounds", type=_positive, help="timed rounds per variant (overrides quick/full)"
    )
    parser.add_argument(
        "--calls", type=_positive, help="calls per round or per async burst (overrides)"
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser.parse_args(argv)


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    done = subprocess.run([git, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def _versions() -> dict[str, str]:
    found = {}
    for name in ("httpx", "httpcore", "requests", "uvicorn", "stock-manager"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def _environment(argv: Sequence[str], quick: bool) -> dict[str, Any]:
    return {
        "command": " ".join(["python -m benchmarks", *argv]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sandbox": "child process (KISSandbox(process=True)), loopback HTTP/1.1",
        "versions": _versions(),
    }


def _run_one(name: str, ctx: BenchContext) -> ScenarioResult:
    try:
        return timed(lambda: SCENARIOS[name](ctx))
    except Exception as exc:  # one broken scenario must not hide the others' figures
        ctx.progress.finish(f"failed: {type(exc).__name__}")
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return ScenarioResult(name, name, "failed", reason=detail)


def _summary_table(results: list[ScenarioResult]) -> Table:
    table = Table(title="stock-manager benchmarks (times: median wall per call)")
    table.add_column("scenario", no_wrap=True)
    table.add_column("figure")
    table.add_column("value")
    table.add_column("verdict", no_wrap=True)
    for result in results:
        for index, (figure, value, verdict) in enumerate(as_table_rows(result)):
            style = "red" if "MISSED" in verdict else "green" if verdict else ""
            first = index == 0
            table.add_row(
                result.name if first else "", figure, value, verdict, style=style, end_section=False
            )
        table.add_section()
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios; write JSON, chart and summary; exit 1 if a scenario failed."""
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(raw_argv)
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
    if args.list:
        for name, scenario in SCENARIOS.items():
            doc = (scenario.__doc__ or "").strip().splitlines()[0]
            print(f"{name:<20} {doc}")
        return 0
    names = args.only or list(SCENARIOS)
    full = not (args.quick or args.only or args.rounds or args.calls)
    out: Path = args.out or (RESULTS if full else SCRATCH)

    with ProgressReporter(console, enabled=not args.no_progress) as progress:
        ctx = BenchContext(
            quick=args.quick,
            progress=progress,
            rounds_override=args.rounds,
            calls_override=args.calls,
        )
        results = [_run_one(name, ctx) for name in names]
        shutil.rmtree(ctx.workdir, ignore_errors=True)

    report = {
        "benchmark": "stock-manager",
        **_environment(raw_argv, args.quick),
        "scenarios": [result.to_json() for result in results],
    }
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{REPORT_NAME}.json"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    console.print(_summary_table(results))
    markdown = out / f"{REPORT_NAME}.md"
    markdown.write_text(summary_markdown(report))
    written = [json_path, markdown]
    if not args.no_chart:
        from benchmarks.chart import render  # matplotlib loads slowly: only when drawing

        written.append(render(report, out / f"{REPORT_NAME}.png"))
    for path in written:
        console.print(f"wrote {path}")
    failed = [r.name for r in results if r.status == "failed"]
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
