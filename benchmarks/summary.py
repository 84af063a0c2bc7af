"""The report as a Markdown section, ready for the README's performance section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.harness import format_figure

__all__ = ["summary_markdown"]


def _verdict(met: bool | None) -> str:
    return "" if met is None else "met" if met else "**missed**"


def _rows(scenario: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    if scenario["status"] != "ok":
        return [(scenario["status"], scenario["reason"], "", "")]
    rows: list[tuple[str, str, str, str]] = []
    for name, v in scenario.get("variants", {}).items():
        value = f"{v['median']:,.0f} µs/call (IQR {v['q1']:,.0f}-{v['q3']:,.0f})"
        rows.append((f"{name}: {v['label']}", value, "", ""))
    for ratio in scenario.get("ratios", []):
        low, high = ratio["ci95"]
        value = (
            f"{ratio['value']:.3f} (95% CI {low:.2f}-{high:.2f}; ratio of medians "
            f"{ratio['of_medians']:.2f}; client CPU {ratio['cpu']['median']:.2f})"
        )
        rows.append((ratio["name"], value, ratio["goal"] or "", _verdict(ratio["met"])))
    for run in scenario.get("runs", []):
        if "label" in run:
            figure = run["label"].replace("\n", " ")
        else:
            figure = f"{run['environment']} {run['limit']:g}/s, {run['workers']} {run['mode']}"
        value = (
            f"{run['achieved_per_second']:.2f}/s = {run['ratio']:.1%} of {run['limit']:g}/s, "
            f"EGW00201 {run['rate_limited']}"
        )
        if "steady_ratio" in run:
            value += f" (steady {run['steady_ratio']:.1%})"
        if "tokens_issued" in run:
            value += f", tokens issued {run['tokens_issued']}"
        rows.append((figure, value, "", ""))
    for item in scenario.get("checks", []):
        rows.append(
            (item["name"], format_figure(item["value"]), item["goal"], _verdict(item["met"]))
        )
    return rows


def summary_markdown(report: Mapping[str, Any]) -> str:
    """A Markdown table of every figure, with the command, the date and the machine."""
    lines = [
        "## Performance",
        "",
        f"Measured {report['date']} (commit {report['commit']}) on {report['platform']}, "
        f"{report['cpus']} CPUs, Python {report['python']}; the sandbox ran in a child process."
        + (" **Quick run: indicative only.**" if report.get("quick") else ""),
        "",
        "```",
        f"{report['command']}      # or: python3 dev.py bench",
        "```",
        "",
        "Variants alternate in rounds (A B C, C B A, ...); times are medians across rounds; "
        "ratios are medians of per-round ratios with a bootstrap 95% confidence interval; "
        "client CPU is the same ratio over the client process's CPU time.",
        "",
        "| scenario | figure | value | goal | verdict |",
        "|---|---|---|---|---|",
    ]
    for scenario in report["scenarios"]:
        for index, (figure, value, goal, verdict) in enumerate(_rows(scenario)):
            title = scenario["title"] if index == 0 else ""
            lines.append(f"| {title} | {figure} | {value} | {goal} | {verdict} |")
    notes = [f"- {s['name']}: {s['note']}" for s in report["scenarios"] if s.get("note")]
    if notes:
        lines += ["", "Notes:", "", *notes]
    lines += ["", "![benchmarks](benchmarks/results/bench.png)", ""]
    return "\n".join(lines)
