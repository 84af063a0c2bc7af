"""A readable record of a sequence of KIS calls: numbered steps, what was called, what came back.

People get a rich transcript as the steps run (with a spinner while each waits); ``--json``
gets one document with every step at the end.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .failures import describe
from .output import Output

__all__ = ["Step", "Transcript"]


@dataclass
class Step:
    """One step: its lines for people and its result for machines."""

    number: int
    name: str
    call: str
    result: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    ok: bool = False
    error: str | None = None
    elapsed_ms: float = 0.0

    def say(self, text: str) -> None:
        """Add a line (plain text) to the transcript of this step."""
        self.lines.append(text)

    def document(self) -> dict[str, Any]:
        """The step as JSON (stable keys)."""
        return {
            "step": self.number,
            "name": self.name,
            "call": self.call,
            "ok": self.ok,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "result": self.result,
            "error": self.error,
        }


class Transcript:
    """Numbered steps printed as they complete (rich) or collected for one JSON document."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.steps: list[Step] = []

    def heading(self, title: str, details: list[tuple[str, str]]) -> None:
        """The transcript's title and a few facts about the setup (plain text values)."""
        if self.output.json_mode:
            return
        self.output.out.rule(f"[bold]{self.output.escaped(title)}[/]")
        self.output.pairs(details)
        self.output.line()

    @contextlib.contextmanager
    def step(self, name: str, call: str) -> Iterator[Step]:
        """Run one step; the block fills in ``step.result`` and ``step.say(...)`` lines."""
        step = Step(len(self.steps) + 1, name, call)
        self.steps.append(step)
        if not self.output.json_mode:
            name_text, call_text = self.output.escaped(name), self.output.escaped(call)
            self.output.line(f"[bold]{step.number}. {name_text}[/]  [dim]{call_text}[/]")
        started = time.perf_counter()
        try:
            with self.output.waiting(f"{name}…"):
                yield step
        except Exception as exc:
            step.error = describe(exc)
            self._close(step, started)
            raise
        step.ok = True
        self._close(step, started)

    def _close(self, step: Step, started: float) -> None:
        step.elapsed_ms = (time.perf_counter() - started) * 1000
        if self.output.json_mode:
            return
        for text in step.lines:
            self.output.line(f"   {self.output.escaped(text)}")
        if step.ok:
            self.output.line(f"   [green]✓[/] [dim]{step.elapsed_ms:.0f} ms[/]")
        else:
            self.output.line(f"   [red]✗ {self.output.escaped(step.error or 'failed')}[/]")

    def document(self) -> list[dict[str, Any]]:
        """Every step as JSON."""
        return [step.document() for step in self.steps]
