"""The report as one PNG a person reads at a glance (matplotlib, the ``bench`` extra).

What a trader is bound by comes first, in the top row: KIS's per-second limits held (achieved
rate against the limit, with the EGW00201 rejections), requests rejected across processes with
and without the shared Redis budget, and token issuances against the expected count. Below, one
panel per transport scenario: time per call per variant (median bar, IQR as the thick error
bar, min-max as the thin one) with each ratio against its goal in green or red, and the
sandbox's throughput; a grey panel gives the reason for a scenario that is not available.
Counts sit on integer axes, and tick labels wrap at spaces only, never inside a name.

    python -m benchmarks.chart benchmarks/results/bench.json   # re-draw from a report
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none assumed

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

__all__ = ["render"]

GREEN, RED, GREY = "#1a7f37", "#cf222e", "#8c959f"
VARIANT_COLOURS = {
    "ours": "#0969da",
    "ours.make_request": "#54aeff",
    "raw": "#6e7781",
    "docs": "#bc4c00",
}
COLUMNS = 4
# The scenarios a trader reads first (KIS's limits, tokens, orders), in this order; the rest
# keep the report's order after them.
FIRST = ("rate_limit", "redis", "tokens", "reconcile")


def _wrap(text: str, width: int) -> str:
    """``text`` on lines of about ``width``, broken at spaces only: names stay whole."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))


def _integer_axis(ax: Axes) -> None:
    """Counts have no fractions: whole-number ticks only."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _verdict_colour(met: bool | None) -> str:
    return GREY if met is None else GREEN if met else RED


def _goal(goal: str) -> str:
    op, _, value = goal.partition(" ")
    return f"{ {'<=': '≤', '>=': '≥', '==': '='}.get(op, op) } {float(value):.2f}"


def _mark(met: bool | None) -> str:
    return "" if met is None else "  ✓" if met else "  ✗"


def _message(ax: Axes, title: str, status: str, reason: str) -> None:
    ax.set_title(title, fontsize=10, loc="left", fontweight="bold")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(GREY)
        spine.set_linestyle("--")
    wrapped = _wrap(reason, 42)
    colour = RED if status == "failed" else GREY
    ax.text(0.5, 0.62, status.upper(), ha="center", va="center", fontsize=15, color=colour)
    ax.text(0.5, 0.35, wrapped, ha="center", va="center", fontsize=8.5, color="#424a53")


def _per_call(ax: Axes, scenario: Mapping[str, Any]) -> None:
    variants: Mapping[str, Any] = scenario["variants"]
    names = list(variants)
    medians = [variants[n]["median"] for n in names]
    iqr = [
        [m - variants[n]["q1"] for n, m in zip(names, medians, strict=True)],
        [variants[n]["q3"] - m for n, m in zip(names, medians, strict=True)],
    ]
    extremes = [
        [m - variants[n]["min"] for n, m in zip(names, medians, strict=True)],
        [variants[n]["max"] - m for n, m in zip(names, medians, strict=True)],
    ]
    colours = [VARIANT_COLOURS.get(n, GREY) for n in names]
    positions = range(len(names))
    ax.bar(positions, medians, color=colours, width=0.62, zorder=2)
    ax.errorbar(positions, medians, yerr=extremes, fmt="none", ecolor="#24292f", lw=0.8, capsize=3)
    ax.errorbar(positions, medians, yerr=iqr, fmt="none", ecolor="#24292f", lw=2.4, capsize=0)
    top = max(variants[n]["max"] for n in names)
    for x, median in zip(positions, medians, strict=True):
        ax.text(
            x,
            median / 2,
            f"{median:,.0f}",
            ha="center",
            va="center",
            color="white",
            fontsize=9,
            fontweight="bold",
        )
    ax.set_xticks(list(positions))
    ax.set_xticklabels([f"{n}\n{_wrap(variants[n]['label'], 20)}" for n in names], fontsize=7.5)
    ax.set_ylabel("µs per call (median, IQR, min-max)", fontsize=8)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    lines = []
    for ratio in scenario.get("ratios", []):
        low, high = ratio["ci95"]
        goal = f"   goal {_goal(ratio['goal'])}{_mark(ratio['met'])}" if ratio["goal"] else ""
        lines.append(
            (f"{ratio['name']} = {ratio['value']:.3f}{goal}", _verdict_colour(ratio["met"]), 8.5)
        )
        cpu = f",  client CPU {ratio['cpu']['median']:.2f}" if ratio.get("cpu") else ""
        lines.append((f"    95% CI {low:.2f}-{high:.2f}{cpu}", "#57606a", 7.5))
    ax.set_ylim(0, top * (1.15 + 0.055 * len(lines)))
    for index, (text, colour, size) in enumerate(lines):
        ax.text(
            0.02,
            0.975 - index * 0.05,
            text,
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=size,
            color=colour,
            fontweight="bold" if size > 8 else "normal",
        )
    rounds = scenario.get("rounds")
    ax.set_title(
        f"{scenario['title']}\n{rounds} alternating rounds",
        fontsize=10,
        loc="left",
        fontweight="bold",
    )


def _saturation(ax: Axes, scenario: Mapping[str, Any]) -> None:
    """Achieved rate as a share of KIS's limit per run, and what KIS rejected (EGW00201)."""
    runs: Sequence[Mapping[str, Any]] = scenario["runs"]
    goal = scenario.get("goal_ratio", 0.97)
    labels = [r.get("label") or f"{r['environment']} {r['limit']:g}/s\n{r['mode']}" for r in runs]
    ratios = [r["ratio"] * 100 for r in runs]
    colours = [
        GREY
        if r.get("baseline")
        else GREEN
        if r["ratio"] >= goal and r["rate_limited"] == 0
        else RED
        for r in runs
    ]
    positions = range(len(runs))
    ax.bar(positions, ratios, color=colours, width=0.6, zorder=2)
    ax.axhline(goal * 100, color="#24292f", ls="--", lw=1, label=f"goal ≥ {goal:.0%} of the limit")
    ax.legend(fontsize=8, loc="lower center", framealpha=0.9)
    for x, run, value in zip(positions, runs, ratios, strict=True):
        achieved = run.get("achieved_per_second")
        inside = f"{value:.0f}%" if achieved is None else f"{achieved:g}/s\n{value:.0f}%"
        ax.text(
            x,
            min(value, 100) / 2,
            inside,
            ha="center",
            va="center",
            color="white",
            fontsize=9,
            fontweight="bold",
        )
        rejected = run["rate_limited"]
        ax.text(
            x,
            min(value, 125) + 2,
            f"{rejected:,} rejected",
            ha="center",
            va="bottom",
            fontsize=8.5,
            fontweight="bold",
            color=GREEN if rejected == 0 else RED,
        )
    ax.set_xticks(list(positions))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylim(0, max(118, min(max(ratios, default=0), 125) + 20))
    ax.set_ylabel("achieved / KIS's limit (%)", fontsize=8)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.set_title(
        f"KIS's per-second limit held: {_workers(scenario)}\n"
        f"{scenario['seconds_per_run']:g} s per run; rejected = EGW00201 from the sandbox",
        fontsize=10,
        loc="left",
        fontweight="bold",
    )


def _workers(scenario: Mapping[str, Any]) -> str:
    runs: Sequence[Mapping[str, Any]] = scenario["runs"]
    workers = {r.get("workers") for r in runs} - {None}
    return f"{workers.pop()} threads or tasks" if len(workers) == 1 else "every run"


def _shared_budget(ax: Axes, scenario: Mapping[str, Any]) -> None:
    """Requests KIS rejected with and without the shared budget: the point is 0 against N."""
    runs: Sequence[Mapping[str, Any]] = scenario["runs"]
    rejected = [r["rate_limited"] for r in runs]
    labels = []
    for run in runs:
        name = "through Redis" if run.get("budget") == "redis" else "no Redis (each alone)"
        note = f"{run['achieved_per_second']:g}/s of {run['limit']:g}/s"
        if "tokens_issued" in run:
            note += f", {run['tokens_issued']} token"
        labels.append(f"{name}\n{note}")
    colours = [GREEN if n == 0 else RED for n in rejected]
    positions = range(len(runs))
    ax.bar(positions, rejected, color=colours, width=0.55, zorder=2)
    top = max([*rejected, 1])
    for x, count in zip(positions, rejected, strict=True):
        ax.text(
            x,
            count + top * 0.03,
            f"{count:,}",
            ha="center",
            va="bottom",
            fontsize=16,
            fontweight="bold",
            color=GREEN if count == 0 else RED,
        )
    ax.set_xticks(list(positions))
    ax.set_xticklabels(labels, fontsize=8.5)
    ax.set_ylim(0, top * 1.3)
    _integer_axis(ax)
    ax.set_ylabel("requests KIS rejected (EGW00201)", fontsize=8)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    first = runs[0] if runs else {}
    ax.set_title(
        f"One app key, {first.get('processes')} processes x {first.get('threads')} threads:\n"
        f"rejected requests in {scenario['seconds_per_run']:g} s",
        fontsize=10,
        loc="left",
        fontweight="bold",
    )


def _counts(ax: Axes, scenario: Mapping[str, Any]) -> None:
    checks: Sequence[Mapping[str, Any]] = scenario["checks"]
    names = [c["name"].replace(" issuances", "").replace(" reissues", "") for c in checks]
    values = [c["value"] for c in checks]
    expected = [float(str(c["goal"]).split()[-1]) for c in checks]
    positions = range(len(checks))
    colours = [_verdict_colour(c["met"]) for c in checks]
    ax.bar(positions, values, color=colours, width=0.55, zorder=2)
    ax.scatter(positions, expected, marker="_", s=900, color="#24292f", zorder=3, label="expected")
    for x, value in zip(positions, values, strict=True):
        ax.text(
            x, value + 0.05, f"{value:g}", ha="center", va="bottom", fontsize=10, fontweight="bold"
        )
    ax.set_xticks(list(positions))
    ax.set_xticklabels([_wrap(n, 12) for n in names], fontsize=8)
    ax.set_ylim(0, max([*values, *expected, 1]) * 1.5)
    _integer_axis(ax)
    ax.set_ylabel("count at the sandbox", fontsize=8)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3, zorder=0)
    phases = scenario.get("phases", {})
    cold = phases.get("cold", {})
    subtitle = f"cold/warm: {cold.get('processes')} processes x {cold.get('threads')} threads"
    ax.set_title(f"{scenario['title']}\n{subtitle}", fontsize=10, loc="left", fontweight="bold")


def _throughput(ax: Axes, scenario: Mapping[str, Any]) -> None:
    rates: Mapping[str, Mapping[str, float]] = scenario["requests_per_second"]
    labels, values = [], []
    for mode, methods in rates.items():
        for method, rate in methods.items():
            labels.append(f"{mode}\n{method}")
            values.append(rate)
    positions = range(len(values))
    ax.bar(positions, values, color="#8250df", width=0.6, zorder=2)
    ax.axhline(1000, color="#24292f", ls="--", lw=1, label="goal 1,000 requests/s")
    ax.legend(fontsize=8, loc="upper left")
    for x, value in zip(positions, values, strict=True):
        ax.text(x, value, f"{value:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(positions))
    ax.set_xticklabels(labels, fontsize=7, rotation=35, ha="right")
    ax.set_ylabel("requests per second", fontsize=8)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.set_title(scenario["title"], fontsize=10, loc="left", fontweight="bold")


def _report(ax: Axes, scenario: Mapping[str, Any]) -> None:
    text = json.dumps(scenario.get("report", {}), indent=1)[:900]
    ax.set_title(scenario["title"], fontsize=10, loc="left", fontweight="bold")
    ax.axis("off")
    ax.text(0, 1, text, va="top", ha="left", fontsize=6, family="monospace", transform=ax.transAxes)


DRAWERS = {
    "per_call": _per_call,
    "saturation": _saturation,
    "counts": _counts,
    "throughput": _throughput,
    "report": _report,
}
# Scenarios whose point a generic panel would hide.
BY_NAME = {"redis": _shared_budget}


def _drawer(scenario: Mapping[str, Any]) -> Any:
    if scenario["name"] in BY_NAME:
        return BY_NAME[scenario["name"]]
    return DRAWERS[scenario["kind"]]


def _ordered(scenarios: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The trader's scenarios first (in FIRST's order), then the rest as the report has them."""

    def rank(scenario: Mapping[str, Any]) -> int:
        name = scenario["name"]
        return FIRST.index(name) if name in FIRST else len(FIRST)

    return sorted(scenarios, key=rank)


def render(report: Mapping[str, Any], path: Path) -> Path:
    """Draw ``report`` (the JSON of ``python -m benchmarks``) into ``path``; returns it."""
    scenarios = _ordered(report["scenarios"])
    rows = max(1, -(-len(scenarios) // COLUMNS))
    # Constrained layout sizes the title band to the title itself: no empty band under it.
    figure, grid = plt.subplots(
        rows, COLUMNS, figsize=(5.2 * COLUMNS, 5.0 * rows), squeeze=False, layout="constrained"
    )
    axes = [ax for row in grid for ax in row]
    for ax, scenario in zip(axes, scenarios, strict=False):
        if scenario["status"] != "ok":
            _message(ax, scenario["title"], scenario["status"], scenario["reason"])
        else:
            _drawer(scenario)(ax, scenario)
    for ax in axes[len(scenarios) :]:
        ax.axis("off")
    mode = "QUICK run (indicative only)" if report.get("quick") else "full run"
    figure.suptitle(
        "stock-manager against the KIS sandbox: top row, what a trader is bound by (KIS's limits"
        " held, tokens issued); below, what the client adds per call",
        fontsize=13,
        fontweight="bold",
    )
    figure.text(
        0.5,
        -0.005,
        f"{mode}, {report['date']}, commit {report['commit']}, Python {report['python']}, "
        f"{report['cpus']} CPUs, sandbox in a child process; $ {report['command']}.  Per-call "
        "panels: variants alternate in rounds (A B C, C B A ...); bars are median wall time per "
        "call, thick whisker IQR, thin min-max; ratios are medians of per-round ratios "
        "[bootstrap 95% CI] (green: goal met, red: missed); client CPU is the same ratio over "
        "the client's CPU time.",
        ha="center",
        va="top",
        fontsize=9,
        color="#424a53",
        wrap=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Re-draw the chart of a saved report next to it."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m benchmarks.chart REPORT.json", file=sys.stderr)
        return 2
    source = Path(args[0])
    print(render(json.loads(source.read_text()), source.with_suffix(".png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
