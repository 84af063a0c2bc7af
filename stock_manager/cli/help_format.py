"""How ``--help`` shows flags: without a value placeholder.

Typer's rich help writes every option's type, so ``--yes`` reads ``--yes <bool>`` as if it took
a value (``--yes true``), which it does not. A flag shows no type here; options that take a value
keep theirs.
"""

from __future__ import annotations

from typing import Any

from typer import core

__all__ = ["install"]

_original = core.TyperOption.display_type_rich


def _display_type_rich(self: core.TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    result: Any = _original(self, ctx)
    return None if result is None else str(result)


def install() -> None:
    """Patch typer's option help once (idempotent)."""
    core.TyperOption.display_type_rich = _display_type_rich  # type: ignore[method-assign]
