"""KIS-style continuation for list inquiries: ``tr_cont`` M/D and the CTX_AREA_* keys.

The position travels in ``ctx_area_nk100`` (or ``KEYB``, ``INDEX_KEY``... for the generic
replies of :mod:`.documented`) together with a short HMAC tag, so a key that was not issued by
this sandbox for this account and API fails to decode (OPSQ2003) instead of silently
restarting from the top.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from stock_manager.sandbox.codes import BusinessError

T = TypeVar("T")

MORE = "M"
LAST = "D"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows plus what the reply must carry to let the caller continue."""

    rows: Sequence[T]
    tr_cont: str
    ctx_area_fk100: str
    ctx_area_nk100: str


class KeyCodec:
    """Issues and reads continuation values: a position and an HMAC tag bound to a scope.

    The scope names what is being paged (the account and API, or the request's conditions), so
    a value issued for one list does not continue another.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _tag(self, scope: str, offset: int) -> str:
        message = f"{scope}|{offset}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:12]

    def issue(self, scope: str, offset: int) -> str:
        """The continuation value that resumes ``scope`` at ``offset``."""
        return f"{offset:06d}{self._tag(scope, offset)}"

    def offset(self, scope: str, value: str, names: str) -> int:
        """The position ``value`` resumes at; OPSQ2003 naming ``names`` when it was not issued
        by this sandbox for ``scope``."""
        value = value.strip()
        position, tag = value[:6], value[6:]
        if not (position.isascii() and position.isdigit()):
            raise undecodable(names)
        offset = int(position)
        if not hmac.compare_digest(tag, self._tag(scope, offset)):
            raise undecodable(names)
        return offset


class Pager:
    """Cuts lists into pages for one sandbox (its key signs the continuation values)."""

    def __init__(self, key: bytes, page_size: int) -> None:
        self._codec = KeyCodec(key)
        self.page_size = page_size

    def page(
        self, rows: Sequence[T], scope: str, tr_cont: str, params: Mapping[str, str]
    ) -> Page[T]:
        """The page asked for: the first one, or the next one when ``tr_cont`` is "N"."""
        fk100 = scope
        offset = 0
        if tr_cont.strip().upper() == "N":
            offset = self._decode(scope, params)
        end = offset + self.page_size
        more = end < len(rows)
        next_offset = min(end, len(rows))
        return Page(
            rows=rows[offset:end],
            tr_cont=MORE if more else LAST,
            ctx_area_fk100=fk100,
            ctx_area_nk100=self._codec.issue(scope, next_offset),
        )

    def _decode(self, scope: str, params: Mapping[str, str]) -> int:
        names = "CTX_AREA_FK100/NK100"
        if params.get("CTX_AREA_FK100", "").strip() != scope:
            raise undecodable(names)
        return self._codec.offset(scope, params.get("CTX_AREA_NK100", ""), names)


def undecodable(names: str) -> BusinessError:
    """OPSQ2003: the continuation keys ``names`` were not issued by this sandbox for this list."""
    return BusinessError("OPSQ2003", f"연속조회키({names})가 올바르지 않습니다.")
