"""Realtime TRs from the catalog: which TR_ID a name means on each domain, and record layouts.

Nothing here names a TR_ID by hand: the paper TRs, the real-to-paper notice mapping and each
record's ordered field names all come from the catalog's realtime specs (their ``record`` block,
with the catalog's width corrections: H0STASP0 with its 62 live fields, notices with 26), and so
does the narrowest width a record may have (the block's ``documented_width``: H0STASP0's 59).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..catalog import ApiSpec, Catalog, get_catalog
from ..errors import KISRealtimePaperUnsupportedError, KISUnknownAPIError

__all__ = ["Layout", "RealtimeCatalog"]


@dataclass(frozen=True)
class Layout:
    """The known fields of one realtime TR's record, in order.

    ``names`` is empty for a TR the catalog does not know: its records keep every value as extra.
    """

    tr_id: str
    names: tuple[str, ...]
    #: Upper-cased name -> position, for the case-insensitive look-up (H0UP... use lower case).
    index: Mapping[str, int]
    #: The narrowest record that is well formed: KIS's documented width, which the catalog
    #: records where the live layout (``names``) is wider; else ``len(names)``.
    min_width: int = 0

    @classmethod
    def of(cls, tr_id: str, names: tuple[str, ...], min_width: int | None = None) -> Layout:
        index: dict[str, int] = {}
        for position, name in enumerate(names):
            index.setdefault(name.upper(), position)
        narrowest = len(names) if min_width is None else min(min_width, len(names))
        return cls(tr_id, names, MappingProxyType(index), narrowest)

    @property
    def width(self) -> int:
        """The number of named fields; values beyond it are a record's extras."""
        return len(self.names)


def _record_block(spec: ApiSpec) -> tuple[tuple[str, ...], int | None]:
    for block in spec.response:
        if block.name == "record":
            return tuple(field.name for field in block.fields), block.documented_width
    return (), None


class RealtimeCatalog:
    """The catalog's realtime specs, looked up for one domain (real or paper)."""

    def __init__(self, *, paper: bool, catalog: Catalog | None = None) -> None:
        self.paper = paper
        self._catalog = catalog if catalog is not None else get_catalog()
        self._layouts: dict[str, Layout] = {}
        #: The TR_IDs the paper server offers (five today), from the catalog's paper TR_IDs.
        self.paper_tr_ids: frozenset[str] = frozenset(
            tr
            for spec in self._catalog
            if spec.transport == "websocket" and spec.paper_supported
            for tr in (spec.tr_id_for(paper=True),)
            if tr is not None
        )

    def spec(self, name: str) -> ApiSpec:
        """The realtime spec named by TR_ID (either domain's), catalog id or alias.

        Raises :class:`KISUnknownAPIError` for an unknown name or a REST API.
        """
        spec = self._catalog.get(name)  # raises KISUnknownAPIError with suggestions
        if spec.transport != "websocket":
            raise KISUnknownAPIError(
                f"{name!r} is the REST API {spec.api_id} ({spec.alias}), not a realtime TR "
                "(Catalog.search('realtime') lists them)"
            )
        return spec

    def tr_id(self, name: str) -> str:
        """The TR_ID to subscribe on this domain: a real notice TR becomes its paper twin on
        paper (H0STCNI0 -> H0STCNI9) and the other way round on real.

        Raises :class:`KISRealtimePaperUnsupportedError` for a real-only TR on paper.
        """
        spec = self.spec(name)
        if self.paper and not spec.paper_supported:
            offered = ", ".join(sorted(self.paper_tr_ids))
            raise KISRealtimePaperUnsupportedError(
                f"{spec.tr_id_real} ({spec.alias}, {spec.name}) is not offered on KIS's paper "
                f"server, which streams only {offered}: use the real environment for it"
            )
        tr = spec.tr_id_for(paper=self.paper)
        if not isinstance(tr, str):  # realtime specs have one TR_ID per domain
            raise KISUnknownAPIError(f"{name!r} has no realtime TR_ID on this domain")
        return tr

    def layout(self, tr_id: str) -> Layout:
        """The record layout of a TR_ID seen in a data frame (empty for an unknown TR)."""
        layout = self._layouts.get(tr_id)
        if layout is None:
            try:
                spec = self.spec(tr_id)
            except KISUnknownAPIError:
                names: tuple[str, ...] = ()
                documented: int | None = None
            else:
                names, documented = _record_block(spec)
            layout = self._layouts[tr_id] = Layout.of(tr_id, names, documented)
        return layout
