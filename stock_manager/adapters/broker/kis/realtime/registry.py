"""The subscription registry: (tr_id, tr_key) pairs, their state, and the session's cap.

KIS counts registrations per session as (tr_id, tr_key) pairs, all TRs together, and refuses the
42nd with OPSP0008. The registry counts the same way (a pair asked for twice is one) and refuses
before a frame is produced, so a full session never sees a request it would refuse. A pair being
released still counts until KIS confirms the release.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from ..errors import KISSubscriptionLimitError

__all__ = ["KIS_MAX_REGISTRATIONS", "Pair", "Registration", "Registry", "State"]

#: KIS's registrations per session.
KIS_MAX_REGISTRATIONS = 41

Pair = tuple[str, str]
#: pending: asked for, no reply yet (or waiting for a new connection); active: KIS confirmed;
#: releasing: an unsubscribe frame was produced, no reply yet.
State = Literal["pending", "active", "releasing"]


@dataclass(frozen=True)
class Registration:
    """One (tr_id, tr_key) pair and its state."""

    tr_id: str
    tr_key: str
    state: State

    @property
    def pair(self) -> Pair:
        return (self.tr_id, self.tr_key)


class Registry(Mapping[Pair, Registration]):
    """A read-only mapping (tr_id, tr_key) -> :class:`Registration`, changed by the protocol."""

    def __init__(self, max_registrations: int = KIS_MAX_REGISTRATIONS) -> None:
        if isinstance(max_registrations, bool) or not isinstance(max_registrations, int):
            raise TypeError("max_registrations must be an int")
        if max_registrations < 1:
            raise ValueError(f"max_registrations must be at least 1, not {max_registrations}")
        self.max_registrations = max_registrations
        self._entries: dict[Pair, Registration] = {}
        #: A live read-only view for callers (the protocol's ``registrations``).
        self.view: Mapping[Pair, Registration] = MappingProxyType(self._entries)

    def __getitem__(self, pair: Pair) -> Registration:
        return self._entries[pair]

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        states = [f"{r.tr_id}:{r.tr_key}={r.state}" for r in self._entries.values()]
        return f"Registry({len(self)}/{self.max_registrations}: {', '.join(states)})"

    def keys_of(self, tr_id: str) -> list[str]:
        """The tr_keys registered for a TR_ID (a notice routes to its one HTS ID)."""
        return [key for (tr, key) in self._entries if tr == tr_id]

    # --- changes, made by the protocol ---------------------------------------------------------

    def add(self, tr_id: str, tr_key: str) -> None:
        """Mark the pair pending (a subscribe frame goes out), or raise at the cap."""
        pair = (tr_id, tr_key)
        if pair not in self._entries and len(self._entries) >= self.max_registrations:
            raise KISSubscriptionLimitError(
                f"cannot register {tr_id} {tr_key}: the session already holds "
                f"{len(self._entries)} of {self.max_registrations} (tr_id, tr_key) registrations "
                "(KIS allows 41 per app key); unsubscribe one first or use another app key",
                limit=self.max_registrations,
                tr_id=tr_id,
                tr_key=tr_key,
            )
        current = self._entries.get(pair)
        if current is None or current.state == "releasing":
            self._entries[pair] = Registration(tr_id, tr_key, "pending")

    def set_state(self, pair: Pair, state: State) -> bool:
        """Change a registered pair's state; False when the pair is not registered."""
        if pair not in self._entries:
            return False
        self._entries[pair] = Registration(pair[0], pair[1], state)
        return True

    def remove(self, pair: Pair) -> Registration | None:
        return self._entries.pop(pair, None)

    def session_lost(self) -> None:
        """A new session has nothing registered: releases are done, the rest is pending."""
        # In place: :attr:`view` is a live proxy of this dict.
        for pair, entry in list(self._entries.items()):
            if entry.state == "releasing":
                del self._entries[pair]
            else:
                self._entries[pair] = Registration(pair[0], pair[1], "pending")
