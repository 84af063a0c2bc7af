"""Injected faults: per-path probabilities of errors, throttling, dropped connections, garbage.

A rule's rates are independent probabilities, drawn in a fixed order (drop_before, rate_limit,
error, garble, page_change, then drop_after once the request has been processed), from one
seedable RNG so a run can be replayed. A rule for an exact path wins over the ``"*"`` rule.

``page_change`` is KIS's ``SYDB0050`` (the data changed between pages: start again), drawn only
for a continuation request, so a first page never gets it and rules without it draw as before.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

GARBLE_KINDS: tuple[str, ...] = ("html", "empty", "truncated", "array")
FAULT_KINDS: tuple[str, ...] = (
    "error",
    "rate_limit",
    "drop_before",
    "drop_after",
    "garble",
    "latency",
)
# Counted as it happens (stats()["faults"]["page_change"]) but kept out of FAULT_KINDS, whose
# zero-filled keys the stats snapshot has always shown.
PAGE_CHANGE = "page_change"
ANY_PATH = "*"


class FaultConfigError(ValueError):
    """A fault rule with an out-of-range rate or an unknown garble kind."""


@dataclass(frozen=True)
class FaultRule:
    """What may go wrong on one path (or on every path, for ``"*"``)."""

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    drop_before_rate: float = 0.0
    drop_after_rate: float = 0.0
    garble_rate: float = 0.0
    garble_kind: str = "random"
    latency: float = 0.0
    page_change_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "error_rate",
            "rate_limit_rate",
            "drop_before_rate",
            "drop_after_rate",
            "page_change_rate",
        ):
            _check_rate(name, getattr(self, name))
        _check_rate("garble_rate", self.garble_rate)
        if self.garble_kind != "random" and self.garble_kind not in GARBLE_KINDS:
            raise FaultConfigError(
                f"garble_kind must be one of {', '.join((*GARBLE_KINDS, 'random'))}, "
                f"not {self.garble_kind!r}"
            )
        if not isinstance(self.latency, int | float) or not 0 <= self.latency <= 60:
            raise FaultConfigError(f"latency must be 0..60 seconds, not {self.latency!r}")


def _check_rate(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultConfigError(f"{name} must be a probability between 0 and 1, not {value!r}")


@dataclass(frozen=True)
class FaultDecision:
    """The faults drawn for one request. At most one of the pre-processing faults is set."""

    drop_before: bool = False
    rate_limit: bool = False
    error_code: str | None = None
    garble_kind: str | None = None
    drop_after: bool = False
    latency: float = 0.0
    page_change: bool = False


NO_FAULT = FaultDecision()


class FaultPlan:
    """The set of fault rules of one sandbox and the RNG that draws from them. Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, FaultRule] = {}
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not cryptography

    def set(self, path: str, rule: FaultRule, seed: int | None = None) -> None:
        """Add or replace the rule for ``path``; reseed the RNG when ``seed`` is given."""
        if not isinstance(path, str) or not (path == ANY_PATH or path.startswith("/")):
            raise FaultConfigError(f"path must be '*' or start with '/', not {path!r}")
        with self._lock:
            self._rules[path] = rule
            if seed is not None:
                self._rng.seed(seed)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def rules(self) -> dict[str, dict[str, Any]]:
        """A snapshot of the rules, for the admin endpoint."""
        with self._lock:
            return {path: asdict(rule) for path, rule in self._rules.items()}

    def active(self) -> bool:
        """Whether any rule is set (lets a caller skip work only a fault would need)."""
        return bool(self._rules)

    def draw(self, path: str, continuation: bool = False) -> FaultDecision:
        """Decide what goes wrong with one request to ``path`` (``continuation``: it asks for a
        page after the first)."""
        if not self._rules:  # the common case: no lock, no draw
            return NO_FAULT
        with self._lock:
            rule = self._rules.get(path) or self._rules.get(ANY_PATH)
            if rule is None:
                return NO_FAULT
            rng = self._rng
            if rng.random() < rule.drop_before_rate:
                return FaultDecision(drop_before=True, latency=rule.latency)
            if rng.random() < rule.rate_limit_rate:
                return FaultDecision(rate_limit=True, latency=rule.latency)
            if rng.random() < rule.error_rate:
                code = rng.choice(("EGW00001", "EGW00002"))
                return FaultDecision(error_code=code, latency=rule.latency)
            if rng.random() < rule.garble_rate:
                kind = rule.garble_kind
                if kind == "random":
                    kind = rng.choice(GARBLE_KINDS)
                return FaultDecision(garble_kind=kind, latency=rule.latency)
            if continuation and rule.page_change_rate and rng.random() < rule.page_change_rate:
                return FaultDecision(page_change=True, latency=rule.latency)
            drop_after = rng.random() < rule.drop_after_rate
            return FaultDecision(drop_after=drop_after, latency=rule.latency)
