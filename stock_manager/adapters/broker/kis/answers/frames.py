"""Lists of answers, and ``to_pandas()`` with pandas as an optional extra.

pandas is imported only when a frame is asked for, so the client does not need it; without it
:class:`KISUsageError` names the extra to install.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, TypeVar

from ..errors import KISUsageError

__all__ = ["Answer", "AnswerList", "Chart"]

#: The extra that brings pandas along (``pip install 'stock-manager[pandas]'``).
PANDAS_EXTRA = "pandas"


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise KISUsageError(
            f"to_pandas() needs pandas: pip install 'stock-manager[{PANDAS_EXTRA}]' "
            "(or pip install pandas)"
        ) from None


class Answer:
    """What every answer model shares: its English fields as a dict (``raw`` left out)."""

    def to_dict(self) -> dict[str, Any]:
        """The English fields (not ``raw``), as a pandas row or a JSON-able record."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name != "raw"
        }


A = TypeVar("A", bound=Answer)


class AnswerList(list[A]):
    """A list of answers with :meth:`to_pandas`."""

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``, one row per answer, one column per English field."""
        pandas = _pandas()
        if not self:
            return pandas.DataFrame()
        return pandas.DataFrame([item.to_dict() for item in self])


class Chart(AnswerList[A]):
    """Chart bars, oldest first; :meth:`to_pandas` indexes them by their KST start time."""

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` indexed by ``time`` (aware, KST), oldest first."""
        frame = super().to_pandas()
        return frame.set_index("time") if "time" in frame.columns else frame
