"""Effect generators and their two drivers: the one place where a flow meets its shell.

The call logic (:mod:`._flow`) and the token managers' cold path (:mod:`.tokens._plan`) are
generators that yield *effects* (values saying "send this", "load that", "sleep") and receive
what performing them gave back. :func:`run` performs them with blocking calls and :func:`arun`
with ``await``; everything else about a call is written once, with no I/O, for both colours.

An effect declares the type of its result (``Effect[R]``) and a flow asks for it with
``value = yield from ask(effect)``, so the flows are type-checked; the cast to ``R`` is made
in :func:`ask` alone, on the shells' promise to answer each effect with its declared type.

This module imports nothing from the package: both the shells and ``tokens/`` depend on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

__all__ = ["Effect", "Effects", "Sleep", "arun", "ask", "run"]

E = TypeVar("E")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)  # an Effect[bool] is an Effect[object]
T = TypeVar("T")

#: A generator yielding effects of type ``E``, sent their results, returning a ``T``.
Effects = Generator[E, object, T]


class Effect(Generic[R_co]):
    """Something a flow asks its shell to do; performing it gives back an ``R_co``."""

    __slots__ = ()


@dataclass(frozen=True)
class Sleep(Effect[None]):
    """Wait ``seconds`` (before a retry, or until KIS allows another token issuance)."""

    seconds: float


def ask(effect: Effect[R]) -> Effects[Effect[R], R]:
    """Yield ``effect`` and return its result, typed as the effect declares."""
    result = yield effect
    return cast(R, result)


def run(effects: Effects[E, T], perform: Callable[[E], object]) -> T:
    """Drive ``effects`` to its end, performing each effect with ``perform`` (blocking).

    An ``Exception`` from ``perform`` is thrown back into the generator, which decides (retry,
    wrap, or let it propagate); a ``BaseException`` (``KeyboardInterrupt``, a cancellation) is
    not: it propagates at once. The generator is closed however this ends.
    """
    result: object = None
    error: Exception | None = None
    try:
        while True:
            try:
                effect = effects.throw(error) if error is not None else effects.send(result)
            except StopIteration as done:
                return cast(T, done.value)
            result, error = None, None
            try:
                result = perform(effect)
            except Exception as exc:  # handed to the generator, which decides
                error = exc
    finally:
        effects.close()


async def arun(effects: Effects[E, T], perform: Callable[[E], Awaitable[Any]]) -> T:
    """:func:`run` for asyncio: ``perform`` returns an awaitable, awaited before resuming."""
    result: object = None
    error: Exception | None = None
    try:
        while True:
            try:
                effect = effects.throw(error) if error is not None else effects.send(result)
            except StopIteration as done:
                return cast(T, done.value)
            result, error = None, None
            try:
                result = await perform(effect)
            except Exception as exc:  # handed to the generator, which decides
                error = exc
    finally:
        effects.close()
