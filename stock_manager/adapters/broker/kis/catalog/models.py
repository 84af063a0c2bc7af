"""The catalog's records: one :class:`ApiSpec` per KIS API, with its parameters and response blocks.

Built from the generated data under ``data/`` (``tools/build_catalog.py`` writes it from KIS's
workbook plus reviewed corrections); nothing here is typed by hand about any API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from ..errors import KISPaperTradingUnsupportedError, KISVariantError

__all__ = ["ApiSpec", "Block", "Field", "Paging", "Param", "TrId"]

#: A TR_ID: one string, or named variants (``{"buy": ..., "sell": ...}``).
TrId = str | Mapping[str, str]
#: none: credentials in the body (OAuth); app: appkey/appsecret headers (hashkey); token: the
#: gateway (bearer token and tr_id); approval: a realtime TR, subscribed with an approval key.
Auth = Literal["none", "app", "token", "approval"]
Transport = Literal["rest", "websocket"]
PagingForm = Literal["none", "tr_cont", "keyb", "next_keyb", "index_key", "cursor", "blank"]


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Param:
    """One request parameter (GET query or POST body), in the workbook's order.

    ``required`` means the key must be present, possibly empty (KIS answers OPSQ2001 otherwise);
    ``empty_ok`` marks the required keys KIS takes as ``""`` (continuation keys and the like), which
    a client fills in when the caller leaves them out. ``codes_complete`` is True only where the
    description's code list is known to be every allowed value.
    """

    name: str
    name_ko: str = ""
    type: str = "string"
    required: bool = False
    length: int | None = None
    description: str = ""
    codes: Mapping[str, str] = field(default_factory=_empty)
    codes_by_venue: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    codes_complete: bool = False
    default: str | None = None
    empty_ok: bool = False


@dataclass(frozen=True)
class Field:
    """One response field (or realtime record field), in order."""

    name: str
    name_ko: str = ""
    type: str = "string"
    length: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Block:
    """A response block (``output``, ``output1``...; ``body`` for top-level keys; ``record`` for a
    realtime TR). ``shape`` comes from KIS's response example, not its unreliable Type column."""

    name: str
    shape: Literal["object", "array"]
    fields: tuple[Field, ...] = ()
    #: For a realtime record widened past KIS's documentation (H0STASP0: 62 live, 59
    #: documented): the documented width, the narrowest record KIS may send. None: all fields.
    documented_width: int | None = None


@dataclass(frozen=True)
class Paging:
    """How an API pages: see KIS-CATALOG.md "Paging comes in several forms".

    ``keys`` are the request parameters carrying the continuation (for ``cursor``, the time or date
    parameter the caller moves); ``rows_real``/``rows_paper`` are rows per call where the overview
    states them.
    """

    form: PagingForm = "none"
    keys: tuple[str, ...] = ()
    rows_real: int | None = None
    rows_paper: int | None = None


@dataclass(frozen=True)
class ApiSpec:
    """One KIS API: identity, address, TR_IDs per domain, parameters, response and paging.

    ``tr_id_real``/``tr_id_paper`` are ``None`` when the domain does not take a TR_ID for it;
    ``paper_supported`` tells "not offered in paper" apart from "no TR_ID needed".
    ``default_variant`` is the variant used when none is given (the US for overseas modify/cancel).
    """

    api_id: str
    alias: str
    name: str
    category: str
    method: str
    path: str
    auth: Auth
    tr_id_real: TrId | None
    tr_id_paper: TrId | None
    has_tr_id: bool
    paper_supported: bool
    order: bool
    rate_limited: bool
    paged: bool
    transport: Transport = "rest"
    aliases: tuple[str, ...] = ()
    deprecated_tr_ids: Mapping[str, str] = field(default_factory=_empty)
    params: tuple[Param, ...] = ()
    response: tuple[Block, ...] = ()
    paging: Paging = Paging()
    overview: str = ""
    source: str = ""
    default_variant: str | None = None

    @property
    def needs_token(self) -> bool:
        """True for gateway APIs, which take ``authorization: Bearer <token>``."""
        return self.auth == "token"

    @property
    def blocks(self) -> Mapping[str, tuple[str, ...]]:
        """Response block name -> ordered field names."""
        return {block.name: tuple(f.name for f in block.fields) for block in self.response}

    @property
    def variants(self) -> tuple[str, ...]:
        """Names of the TR_ID variants (``("sell", "buy")``), empty for a single TR_ID."""
        for tr in (self.tr_id_real, self.tr_id_paper):
            if isinstance(tr, Mapping):
                return tuple(tr)
        return ()

    def tr_id_for(self, paper: bool, variant: str | None = None) -> str | None:
        """The TR_ID on the paper or real domain; ``None`` when the API takes none.

        Raises :class:`KISPaperTradingUnsupportedError` for a real-only API asked for paper, and
        :class:`KISVariantError` when a variant is needed and missing, or given and unknown.
        """
        if not self.has_tr_id:
            if variant is not None:
                raise KISVariantError(
                    f"{self.api_id} ({self.alias}) takes no TR_ID, so no variant {variant!r}"
                )
            return None
        if paper and not self.paper_supported:
            raise KISPaperTradingUnsupportedError(
                f"{self.api_id} ({self.alias}, {self.name}) is not offered in paper trading "
                "(모의투자 미지원): use the real environment"
            )
        tr = self.tr_id_paper if paper else self.tr_id_real
        if isinstance(tr, Mapping):
            return self._variant(tr, variant or self.default_variant, paper)
        if variant is not None:
            raise KISVariantError(
                f"{self.api_id} ({self.alias}) has a single TR_ID, so no variant {variant!r}"
            )
        return tr

    def _variant(self, tr: Mapping[str, str], variant: str | None, paper: bool) -> str:
        choices = tuple(tr)
        if variant is None:
            raise KISVariantError(
                f"{self.api_id} ({self.alias}) has several TR_IDs: pass variant= one of "
                f"{', '.join(choices)} (or tr_id=)",
                variants=choices,
            )
        if variant not in tr:
            real = self.tr_id_real
            if paper and isinstance(real, Mapping) and variant in real:
                raise KISPaperTradingUnsupportedError(
                    f"{self.api_id} ({self.alias}, {self.name}) variant {variant!r} is not offered "
                    f"in paper trading (모의투자 미지원): use the real environment, or a paper "
                    f"variant ({', '.join(choices)})"
                )
            raise KISVariantError(
                f"{self.api_id} ({self.alias}) has no variant {variant!r}: choose one of "
                f"{', '.join(choices)}",
                variants=choices,
            )
        return tr[variant]

    def tr_ids(self) -> set[str]:
        """Every current TR_ID of this API on both domains, all variants (for reverse look-ups)."""
        found: set[str] = set()
        for tr in (self.tr_id_real, self.tr_id_paper):
            if isinstance(tr, str):
                found.add(tr)
            elif tr is not None:
                found.update(tr.values())
        return found
