"""The measuring machinery every scenario shares: A/B alternation, statistics, results, progress.

Absolute times drift on a shared machine, so nothing here reports a lone number: every compared
variant runs in the same rounds, interleaved (A B C, then C B A, ...), and each ratio is computed
per round (the variants of one round ran seconds apart) before taking the median. The ratio of
the variants' medians is kept beside it as a cross-check.

>>> variants = [Variant("ours", "KISRestClient", ours_round), Variant("raw", "httpx", raw_round)]
>>> rounds = alternate(variants, rounds=9, calls=300, progress=step)
>>> result = ScenarioResult.measured("hashkey", "per-call hashkey", variants, rounds, ...)
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = [
    "Goal",
    "ProgressReporter",
    "RatioSpec",
    "Rounds",
    "ScenarioResult",
    "Spread",
    "Variant",
    "alternate",
    "as_table_rows",
    "check",
    "format_figure",
    "median_ci",
    "paired_ratios",
    "timed",
]

Status = Literal["ok", "not available", "failed"]


@dataclass(frozen=True)
class Variant:
    """One compared way of doing the same work.

    ``run_round(calls)`` performs ``calls`` calls and returns the seconds they took; whatever it
    needs (a client, a connection pool, an event loop) is set up before the first round, so
    that set-up never lands inside a timed round.
    """

    name: str
    label: str
    run_round: Callable[[int], float]
    #: Fewer calls per round for a variant that is much slower (a fresh connection per call).
    calls_scale: float = 1.0


@dataclass(frozen=True)
class Spread:
    """Median and spread of a sample: quartiles (IQR) and the extremes."""

    median: float
    q1: float
    q3: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of ``values`` (at least one)."""
        if not values:
            raise ValueError("a spread needs at least one value")
        ordered = sorted(values)
        if len(ordered) == 1:
            q1 = q3 = ordered[0]
        else:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        return cls(
            median=statistics.median(ordered),
            q1=q1,
            q3=q3,
            low=ordered[0],
            high=ordered[-1],
            count=len(ordered),
        )

    def to_json(self) -> dict[str, float | int]:
        """A plain mapping for the JSON report."""
        return {
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "min": self.low,
            "max": self.high,
            "n": self.count,
        }


@dataclass
class Rounds:
    """Microseconds per call of every variant, one entry per round (same index = same round).

    ``per_call_us`` is wall time, what a caller waits. ``cpu_per_call_us`` is this process's
    CPU time: the client's own work, without the server (another process) and less disturbed
    by whatever else the machine runs, so it shows where a wall-time difference comes from.
    """

    calls: dict[str, int]
    per_call_us: dict[str, list[float]] = field(default_factory=dict)
    cpu_per_call_us: dict[str, list[float]] = field(default_factory=dict)

    def spread(self, name: str) -> Spread:
        """The spread of ``name``'s wall time per call across rounds."""
        return Spread.of(self.per_call_us[name])

    def cpu_spread(self, name: str) -> Spread:
        """The spread of ``name``'s client CPU time per call across rounds."""
        return Spread.of(self.cpu_per_call_us[name])


def alternate(
    variants: Sequence[Variant],
    *,
    rounds: int,
    calls: int,
    warmup_calls: int | None = None,
    step: Callable[[str], None] | None = None,
) -> Rounds:
    """Run every variant ``rounds`` times, interleaved, after one untimed warm-up round each.

    The order flips every round (A B C, C B A, A B C ...), so no variant always runs first
    after a pause or last after the others warmed the caches.
    """
    if rounds < 1 or calls < 1:
        raise ValueError("rounds and calls must be positive")
    counts = {v.name: max(1, round(calls * v.calls_scale)) for v in variants}
    for variant in variants:  # connections opened, code paths warm, token cached
        variant.run_round(warmup_calls or max(1, counts[variant.name] // 5))
    result = Rounds(
        calls=counts,
        per_call_us={v.name: [] for v in variants},
        cpu_per_call_us={v.name: [] for v in variants},
    )
    for index in range(rounds):
        order = variants if index % 2 == 0 else list(reversed(variants))
        for variant in order:
            n = counts[variant.name]
            cpu = time.process_time()
            elapsed = variant.run_round(n)
            cpu = time.process_time() - cpu
            result.per_call_us[variant.name].append(elapsed / n * 1e6)
            result.cpu_per_call_us[variant.name].append(cpu / n * 1e6)
            if step is not None:
                step(variant.name)
    return result


@dataclass(frozen=True)
class Goal:
    """A target for a figure: ``<= 1.10``, ``>= 2`` or ``== 1``."""

    op: Literal["<=", ">=", "=="]
    value: float

    def met(self, figure: float) -> bool:
        """Whether ``figure`` meets the goal."""
        if self.op == "<=":
            return figure <= self.value
        if self.op == ">=":
            return figure >= self.value
        return figure == self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class RatioSpec:
    """A ratio to report: ``numerator`` time per call over ``denominator``'s, with a goal."""

    numerator: str
    denominator: str
    goal: Goal | None = None

    @property
    def name(self) -> str:
        """``"ours/raw"``."""
        return f"{self.numerator}/{self.denominator}"


def paired_ratios(rounds: Rounds, spec: RatioSpec, *, cpu: bool = False) -> list[float]:
    """Numerator over denominator within each round (wall time, or client CPU time)."""
    times = rounds.cpu_per_call_us if cpu else rounds.per_call_us
    top, bottom = times[spec.numerator], times[spec.denominator]
    return [a / b for a, b in zip(top, bottom, strict=True) if b > 0]


def median_ci(
    values: Sequence[float], *, level: float = 0.95, resamples: int = 2000
) -> tuple[float, float]:
    """A bootstrap confidence interval for the median of ``values`` (seeded: reproducible).

    It says how far the headline median could move with other rounds: a ratio of 1.08 whose
    interval is 0.98-1.15 does not tell a goal of 1.10 met from missed.
    """
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    pick = random.Random(8).choices
    medians = sorted(statistics.median(pick(values, k=len(values))) for _ in range(resamples))
    tail = (1 - level) / 2
    return medians[int(tail * resamples)], medians[min(resamples - 1, int((1 - tail) * resamples))]


def _ratio_json(rounds: Rounds, spec: RatioSpec) -> dict[str, Any]:
    ratios = paired_ratios(rounds, spec)
    per_round = Spread.of(ratios)
    low, high = median_ci(ratios)
    of_medians = rounds.spread(spec.numerator).median / rounds.spread(spec.denominator).median
    cpu = paired_ratios(rounds, spec, cpu=True)
    entry: dict[str, Any] = {
        "name": spec.name,
        "numerator": spec.numerator,
        "denominator": spec.denominator,
        # The headline: the median of per-round ratios (each round's variants ran side by side).
        "value": per_round.median,
        "per_round": per_round.to_json(),
        "ci95": [low, high],
        "of_medians": of_medians,
        # Diagnostic, no goal: the same ratio over this process's CPU time.
        "cpu": Spread.of(cpu).to_json() if cpu else None,
        "goal": str(spec.goal) if spec.goal else None,
        "met": spec.goal.met(per_round.median) if spec.goal else None,
    }
    return entry


@dataclass
class ScenarioResult:
    """What one scenario found; ``to_json`` is its entry in the report."""

    name: str
    title: str
    status: Status
    reason: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def not_available(cls, name: str, title: str, reason: str) -> ScenarioResult:
        """A scenario whose feature has not landed: reported, never silently skipped."""
        return cls(name, title, "not available", reason)

    @classmethod
    def measured(
        cls,
        name: str,
        title: str,
        variants: Iterable[Variant],
        rounds: Rounds,
        ratios: Iterable[RatioSpec],
        **extra: Any,
    ) -> ScenarioResult:
        """A per-call comparison: each variant's spread and each ratio with its goal."""
        data: dict[str, Any] = {
            "kind": "per_call",
            "unit": "microseconds per call (wall); cpu: this process's CPU time per call",
            "rounds": len(next(iter(rounds.per_call_us.values()))),
            "variants": {
                v.name: {
                    "label": v.label,
                    "calls_per_round": rounds.calls[v.name],
                    **rounds.spread(v.name).to_json(),
                    "samples": [round(x, 2) for x in rounds.per_call_us[v.name]],
                    "cpu": rounds.cpu_spread(v.name).to_json(),
                    "cpu_samples": [round(x, 2) for x in rounds.cpu_per_call_us[v.name]],
                }
                for v in variants
            },
            "ratios": [_ratio_json(rounds, spec) for spec in ratios],
        }
        data.update(extra)
        return cls(name, title, "ok", data=data)

    @property
    def goals_met(self) -> bool | None:
        """False if any ratio misses its goal, True if all with a goal meet it, else None."""
        verdicts = [r["met"] for r in self.data.get("ratios", []) if r.get("met") is not None]
        verdicts += [c["met"] for c in self.data.get("checks", []) if c.get("met") is not None]
        return all(verdicts) if verdicts else None

    def to_json(self) -> dict[str, Any]:
        """This scenario as a JSON-ready mapping."""
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
            "goals_met": self.goals_met,
            **self.data,
        }


def check(name: str, value: float, goal: Goal, **detail: Any) -> dict[str, Any]:
    """A named figure with a goal (achieved/limit >= 0.97, issuances <= 1), for ``checks``."""
    return {"name": name, "value": value, "goal": str(goal), "met": goal.met(value), **detail}


class ProgressReporter:
    """A rich progress bar per scenario (steps = timed rounds), or nothing when quiet."""

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.fields[scenario]:<18}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
                # Redrawn on each step only: a refresh thread would share the GIL (and the
                # measured CPU time) with the calls being timed.
                auto_refresh=False,
            )
        self._task: Any = None

    def __enter__(self) -> ProgressReporter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def begin(self, scenario: str, total: int, description: str = "") -> None:
        """Start a bar of ``total`` steps for ``scenario``."""
        if self._progress is not None:
            self._task = self._progress.add_task(
                description, total=max(total, 1), scenario=scenario
            )
            self._progress.refresh()

    def step(self, description: str = "") -> None:
        """One step done."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, description=description, refresh=True)

    def finish(self, description: str) -> None:
        """Fill the bar and leave a last word on it."""
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(
                self._task, completed=task.total, description=description, refresh=True
            )
            self._task = None


def timed(run: Callable[[], ScenarioResult]) -> ScenarioResult:
    """Run a scenario and stamp the wall time it took."""
    started = time.perf_counter()
    result = run()
    result.seconds = time.perf_counter() - started
    return result


def format_figure(value: float) -> str:
    """A count as an integer, a rate as a whole number, a ratio with three decimals."""
    if isinstance(value, int):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"


def as_table_rows(result: ScenarioResult) -> list[tuple[str, str, str]]:
    """(figure, value, verdict) rows summarising a scenario for the console table."""
    rows: list[tuple[str, str, str]] = []
    if result.status != "ok":
        return [(result.status, result.reason, "")]
    variants: Mapping[str, Any] = result.data.get("variants", {})
    for name, v in variants.items():
        iqr = f"IQR {v['q1']:.0f}-{v['q3']:.0f}"
        rows.append((name, f"{v['median']:.0f} µs ({iqr}; cpu {v['cpu']['median']:.0f})", ""))
    for ratio in result.data.get("ratios", []):
        verdict = "" if ratio["met"] is None else ("met" if ratio["met"] else "MISSED")
        goal = f" goal {ratio['goal']}" if ratio["goal"] else ""
        cpu = f"; cpu {ratio['cpu']['median']:.2f}" if ratio.get("cpu") else ""
        low, high = ratio["ci95"]
        value = f"{ratio['value']:.3f} [{low:.2f}-{high:.2f}]{goal}{cpu}"
        rows.append((ratio["name"], value, verdict))
    for item in result.data.get("checks", []):
        verdict = "met" if item["met"] else "MISSED"
        value = format_figure(item["value"])
        rows.append((item["name"], f"{value} (goal {item['goal']})", verdict))
    for note in result.data.get("figures", []):
        rows.append((note["name"], note["value"], ""))
    return rows
