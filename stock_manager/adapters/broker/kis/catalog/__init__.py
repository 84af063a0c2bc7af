"""The KIS REST APIs as data (``catalog.json``), and look-ups over them.

Each :class:`ApiSpec` says where an API lives, which TR_ID it takes on each domain (a single TR_ID,
named variants such as ``buy``/``sell``, none at all, or "not offered in paper trading"), whether it
needs an access token, whether it is an order (a POST that must not be repeated blindly), whether it
counts against the per-second limit and whether it pages. Code never hard-codes a TR_ID.

>>> get_catalog().get("order-cash").tr_id_for(paper=True, variant="buy")
'VTTC0012U'
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from ..errors import KISPaperTradingUnsupportedError, KISUnknownAPIError, KISVariantError

__all__ = ["ApiSpec", "Catalog", "TrId", "get_catalog"]

#: A TR_ID: one string, or named variants (``{"buy": ..., "sell": ...}``).
TrId = str | Mapping[str, str]
Auth = Literal["none", "app", "token"]


@dataclass(frozen=True)
class ApiSpec:
    """One KIS API: identity, address, TR_IDs per domain and how it may be called.

    ``tr_id_real``/``tr_id_paper`` are ``None`` when the domain does not take a TR_ID for it;
    ``paper_supported`` tells "not offered in paper" apart from "no TR_ID needed".
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

    @property
    def needs_token(self) -> bool:
        """True for gateway APIs, which take ``authorization: Bearer <token>``."""
        return self.auth == "token"

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
            choices = tuple(tr)
            if variant is None:
                raise KISVariantError(
                    f"{self.api_id} ({self.alias}) has several TR_IDs: pass variant= one of "
                    f"{', '.join(choices)} (or tr_id=)",
                    variants=choices,
                )
            if variant not in tr:
                raise KISVariantError(
                    f"{self.api_id} ({self.alias}) has no variant {variant!r}: choose one of "
                    f"{', '.join(choices)}",
                    variants=choices,
                )
            return tr[variant]
        if variant is not None:
            raise KISVariantError(
                f"{self.api_id} ({self.alias}) has a single TR_ID, so no variant {variant!r}"
            )
        return tr

    def tr_ids(self) -> set[str]:
        """Every TR_ID of this API on both domains (for reverse look-ups)."""
        found: set[str] = set()
        for tr in (self.tr_id_real, self.tr_id_paper):
            if isinstance(tr, str):
                found.add(tr)
            elif tr is not None:
                found.update(tr.values())
        return found


class Catalog:
    """A set of :class:`ApiSpec` looked up by API id, alias or (method, path)."""

    def __init__(self, specs: list[ApiSpec]) -> None:
        self._specs = tuple(specs)
        self._by_key: dict[str, ApiSpec] = {}
        self._by_route: dict[tuple[str, str], ApiSpec] = {}
        for spec in specs:
            for key in (spec.api_id, spec.alias):
                if self._by_key.get(key.casefold(), spec) is not spec:
                    raise ValueError(f"duplicate catalog key {key!r}")
                self._by_key[key.casefold()] = spec
            self._by_route[(spec.method, spec.path)] = spec

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Catalog:
        """Build a catalog from the ``catalog.json`` structure."""
        return cls([_spec(entry) for entry in data["apis"]])

    def __iter__(self) -> Iterator[ApiSpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.casefold() in self._by_key

    def get(self, api_id_or_alias: str) -> ApiSpec:
        """The API with this official id (``"v1_국내주식-001"``) or alias (``"order-cash"``).

        Unknown names raise :class:`KISUnknownAPIError` listing the closest known names.
        """
        spec = self._by_key.get(api_id_or_alias.strip().casefold())
        if spec is not None:
            return spec
        names = [name for s in self._specs for name in (s.api_id, s.alias)]
        close = tuple(difflib.get_close_matches(api_id_or_alias, names, n=3, cutoff=0.5))
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KISUnknownAPIError(
            f"unknown KIS API {api_id_or_alias!r}{hint} (Catalog.search() lists known APIs)",
            suggestions=close,
        )

    def find(self, method: str, path: str) -> ApiSpec | None:
        """The API served at ``method path`` (path without domain or query), or ``None``."""
        return self._by_route.get((method.upper(), path.split("?", 1)[0].rstrip("/") or "/"))

    def search(self, text: str = "", category: str | None = None) -> list[ApiSpec]:
        """APIs whose id, alias, name, path or TR_IDs contain ``text`` (case-insensitive)."""
        needle = text.casefold()
        found = []
        for spec in self._specs:
            if category is not None and category.casefold() not in spec.category.casefold():
                continue
            haystack = " ".join((spec.api_id, spec.alias, spec.name, spec.path, *spec.tr_ids()))
            if needle in haystack.casefold():
                found.append(spec)
        return found


def _tr(value: Any) -> TrId | None:
    if value is None or isinstance(value, str):
        return value
    return {str(k): str(v) for k, v in dict(value).items()}


def _spec(entry: Mapping[str, Any]) -> ApiSpec:
    tr = entry["tr_id"]
    return ApiSpec(
        api_id=entry["api_id"],
        alias=entry["alias"],
        name=entry["name"],
        category=entry["category"],
        method=entry["method"].upper(),
        path=entry["path"],
        auth=entry["auth"],
        tr_id_real=_tr(tr["real"]) if tr else None,
        tr_id_paper=_tr(tr["paper"]) if tr else None,
        has_tr_id=tr is not None,
        paper_supported=tr is None or tr["paper"] is not None,
        order=bool(entry["order"]),
        rate_limited=bool(entry["rate_limited"]),
        paged=bool(entry["paged"]),
    )


@functools.cache
def get_catalog() -> Catalog:
    """The catalog shipped with the package (loaded once)."""
    text = resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8")
    return Catalog.from_json(json.loads(text))
