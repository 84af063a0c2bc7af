"""``KISResponse``: a successful KIS reply that reads like its JSON body."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import PreparedRequest

__all__ = ["KISResponse"]

# KIS's tr_cont values that say another page follows.
_MORE = frozenset({"F", "M"})


class KISResponse(Mapping[str, Any]):
    """The JSON body of a successful reply as a read-only mapping, plus the reply's metadata.

    >>> response["rt_cd"], response.get("output")        # the body
    >>> response.status_code, response.tr_cont, response.has_next
    """

    def __init__(
        self,
        data: dict[str, Any],
        *,
        status_code: int,
        headers: Mapping[str, str],
        request: PreparedRequest | None = None,
    ) -> None:
        self._data = data
        self.status_code = status_code
        #: Response headers with lower-case names.
        self.headers: dict[str, str] = {k.lower(): v for k, v in headers.items()}
        self.request = request

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def json(self) -> dict[str, Any]:
        """The parsed body as a plain dict (the same object the mapping reads from)."""
        return self._data

    @property
    def tr_id(self) -> str | None:
        """The TR_ID KIS echoed, else the one that was sent."""
        return self.headers.get("tr_id") or (self.request.tr_id if self.request else None)

    @property
    def tr_cont(self) -> str:
        """Paging state: ``F``/``M`` more follows, ``D``/``E`` last page, ``""`` not paged."""
        return self.headers.get("tr_cont", "").strip()

    @property
    def gt_uid(self) -> str | None:
        """KIS's global transaction id for this answer, if it sent one."""
        return self.headers.get("gt_uid")

    @property
    def has_next(self) -> bool:
        """True when KIS says another page follows."""
        return self.tr_cont in _MORE

    def __repr__(self) -> str:
        # The body may echo an order or carry a hash: summarise instead of dumping it.
        parts = [f"status_code={self.status_code}"]
        for name in ("rt_cd", "msg_cd"):
            if name in self._data:
                parts.append(f"{name}={self._data[name]!r}")
        if self.tr_id:
            parts.append(f"tr_id={self.tr_id!r}")
        if self.tr_cont:
            parts.append(f"tr_cont={self.tr_cont!r}")
        parts.append(f"keys={sorted(self._data)!r}")
        return f"KISResponse({', '.join(parts)})"
