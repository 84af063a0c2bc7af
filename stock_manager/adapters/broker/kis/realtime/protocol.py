"""The realtime client's sans-I/O core: calls in, frames to send out; frames in, events out.

:class:`RealtimeProtocol` owns no socket, thread, event loop or clock. A shell (sync or async)
connects, sends what :meth:`~RealtimeProtocol.subscribe` and friends return, feeds every text
frame it receives to :meth:`~RealtimeProtocol.receive` and acts on the events:

- :class:`Record`: deliver it (every record of a multi-record frame comes out, in order);
- :class:`Pong`: send ``pong.text`` back (the answer to KIS's PINGPONG);
- :class:`ControlReply`: KIS's answer to a subscribe/unsubscribe (the registry already followed);
- :class:`ErrorEvent`: a typed error for one frame or one refusal; the stream goes on.

On a new connection the shell sends every frame of :meth:`~RealtimeProtocol.resubscribe`; when a
connection ends it calls :meth:`~RealtimeProtocol.connection_lost`. The approval key appears only
inside the frames produced here: never in a repr, an event or an error message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from ..catalog import Catalog
from ..errors import (
    KISAppKeyInUseError,
    KISApprovalKeyError,
    KISConfigError,
    KISNoticeDecryptError,
    KISRealtimeError,
    KISRealtimeProtocolError,
    KISRealtimeRefusedError,
    KISSubscriptionLimitError,
    KISUsageError,
)
from ..redaction import get_logger, register_secret
from .crypto import NoticeCipher
from .events import ErrorEvent, Event, Pong
from .frames import ControlReply, DataFrame, Ping, decode_text, parse_frame
from .layouts import Layout, RealtimeCatalog
from .records import Record, cut_records
from .registry import KIS_MAX_REGISTRATIONS, Pair, Registration, Registry

__all__ = ["ApprovalKeySource", "RealtimeProtocol"]

log = get_logger("stock_manager.kis.realtime")

#: The approval key, or a function returning it (the token store's cached getter): it is called
#: each time a frame is produced, so a refreshed key is picked up by the next frame.
ApprovalKeySource = str | Callable[[], str]

_CUSTTYPES = ("P", "B")
_MAX_KEY_LENGTH = 64
_SUBSCRIBE, _RELEASE = "1", "2"


def _check_key(tr_key: str) -> str:
    if not isinstance(tr_key, str) or not tr_key.strip():
        raise KISUsageError(f"a realtime tr_key must be a non-empty string, not {tr_key!r}")
    if len(tr_key) > _MAX_KEY_LENGTH or not tr_key.isprintable():
        # Overseas futures series may hold a space (OESH23 C3900); control characters never.
        raise KISUsageError(f"{tr_key[:_MAX_KEY_LENGTH]!r} is not a realtime tr_key KIS takes")
    return tr_key


class RealtimeProtocol:
    """Subscriptions, frames and records of one app key's websocket session, without I/O.

    ``paper`` picks the domain: paper offers five TRs, and a real notice TR named there is
    subscribed as its paper twin. ``max_registrations`` is the cap on (tr_id, tr_key) pairs
    (KIS's is 41; a margin such as 40 is the caller's choice; above 41 is logged as a warning, for
    tests against a sandbox). Not thread-safe: one shell drives it.
    """

    def __init__(
        self,
        approval_key: ApprovalKeySource,
        *,
        paper: bool,
        custtype: str = "P",
        max_registrations: int = KIS_MAX_REGISTRATIONS,
        catalog: Catalog | None = None,
    ) -> None:
        if custtype not in _CUSTTYPES:
            raise KISConfigError(
                f"custtype must be P (individual) or B (corporate), not {custtype!r}"
            )
        if isinstance(approval_key, str):
            self._check_approval(approval_key)
        elif not callable(approval_key):
            raise KISConfigError("approval_key must be a string or a function returning one")
        self._approval_key = approval_key
        self.paper = paper
        self.custtype = custtype
        self.catalog = RealtimeCatalog(paper=paper, catalog=catalog)
        try:
            self._registry = Registry(max_registrations)
        except (TypeError, ValueError) as exc:
            raise KISConfigError(str(exc)) from None
        if max_registrations > KIS_MAX_REGISTRATIONS:
            # Allowed, for tests that want to see a sandbox refuse the 42nd with OPSP0008; with
            # KIS that refusal comes after the frame went out instead of before.
            log.warning(
                "max_registrations=%d is above KIS's %d per session: KIS refuses the rest with "
                "OPSP0008 (meant for tests against a sandbox)",
                max_registrations,
                KIS_MAX_REGISTRATIONS,
            )
        self._ciphers: dict[str, NoticeCipher] = {}

    def __repr__(self) -> str:
        domain = "paper" if self.paper else "real"
        return (
            f"RealtimeProtocol({domain}, {len(self._registry)}/"
            f"{self._registry.max_registrations} registrations, approval_key=***)"
        )

    # --- what the caller reads -----------------------------------------------------------------

    @property
    def registrations(self) -> Mapping[Pair, Registration]:
        """A live read-only view: (tr_id, tr_key) -> :class:`Registration` (state pending,
        active or releasing)."""
        return self._registry.view

    @property
    def max_registrations(self) -> int:
        return self._registry.max_registrations

    def resolve(self, tr: str) -> str:
        """The TR_ID ``tr`` (TR_ID, catalog id or alias) subscribes on this domain.

        Raises :class:`~..errors.KISUnknownAPIError` or
        :class:`~..errors.KISRealtimePaperUnsupportedError`.
        """
        return self.catalog.tr_id(tr)

    def layout(self, tr: str) -> Layout:
        """The record layout (documented field names) of ``tr`` on this domain."""
        return self.catalog.layout(self.resolve(tr))

    # --- frames to send ------------------------------------------------------------------------

    def subscribe(self, tr: str, tr_key: str) -> str:
        """The frame registering (tr, tr_key); the pair is pending until KIS answers.

        Raises, before anything is produced: :class:`~..errors.KISUnknownAPIError`,
        :class:`~..errors.KISRealtimePaperUnsupportedError`, :class:`~..errors.KISUsageError`
        (bad tr_key) or :class:`~..errors.KISSubscriptionLimitError` (the cap; a pair already
        registered counts once and never raises). Registering while disconnected is fine: the
        pair goes out with :meth:`resubscribe` on the next connection.
        """
        tr_id = self.resolve(tr)
        tr_key = _check_key(tr_key)
        approval = self._approval()
        self._registry.add(tr_id, tr_key)
        return self._frame(approval, _SUBSCRIBE, tr_id, tr_key)

    def unsubscribe(self, tr: str, tr_key: str) -> str:
        """The frame releasing (tr, tr_key). The pair counts against the cap until KIS confirms;
        releasing a pair that is not registered is harmless (KIS answers OPSP0003)."""
        tr_id = self.resolve(tr)
        tr_key = _check_key(tr_key)
        approval = self._approval()
        self._registry.set_state((tr_id, tr_key), "releasing")
        return self._frame(approval, _RELEASE, tr_id, tr_key)

    def resubscribe(self) -> list[str]:
        """Frames for a new connection: every registration, in the order they were made.

        Forgets the previous session first (as :meth:`connection_lost`): its AES keys, and the
        pairs that were being released.
        """
        self.connection_lost()
        return self.retry_pending()

    def retry_pending(self) -> list[str]:
        """Frames for the registrations KIS has not confirmed (after OPSP0011 and a new key)."""
        pending = [r for r in self._registry.values() if r.state == "pending"]
        if not pending:
            return []
        approval = self._approval()
        return [self._frame(approval, _SUBSCRIBE, r.tr_id, r.tr_key) for r in pending]

    def connection_lost(self) -> None:
        """The session ended: its AES keys are void and every registration is pending again."""
        self._ciphers.clear()
        self._registry.session_lost()

    # --- frames received -----------------------------------------------------------------------

    def receive(self, data: str | bytes) -> list[Event]:
        """The events of one text frame (bytes are decoded leniently). Never raises for what
        the server sends: a bad frame is an :class:`ErrorEvent`."""
        text = decode_text(data)
        try:
            frame = parse_frame(text)
        except KISRealtimeProtocolError as exc:
            return [ErrorEvent(exc)]
        if isinstance(frame, Ping):
            return [Pong(frame.text)]
        if isinstance(frame, ControlReply):
            return self._on_reply(frame)
        return self._on_data(frame)

    def _on_reply(self, reply: ControlReply) -> list[Event]:
        events: list[Event] = [reply]
        pair = (reply.tr_id, reply.tr_key)
        current = self._registry.get(pair)
        state = current.state if current is not None else None
        kind = reply.kind
        if kind in ("subscribed", "already"):
            if reply.cipher_material is not None:
                key, iv = reply.cipher_material
                try:
                    self._ciphers[reply.tr_id] = NoticeCipher(reply.tr_id, key, iv)
                except KISNoticeDecryptError as exc:
                    events.append(ErrorEvent(exc, reply))
            if state == "pending":
                self._registry.set_state(pair, "active")
        elif kind in ("unsubscribed", "not-found"):
            if state == "releasing":
                self._registry.remove(pair)
        else:
            events.append(ErrorEvent(self._refusal(reply, state), reply))
        return events

    def _refusal(self, reply: ControlReply, state: str | None) -> KISRealtimeError:
        pair = (reply.tr_id, reply.tr_key)
        code, where = reply.msg_cd, {"tr_id": reply.tr_id, "tr_key": reply.tr_key}
        if code == "OPSP0011":
            # The pair stays pending: retry_pending() with a fresh key registers it.
            return KISApprovalKeyError(
                code, "invalid approval key: get a new one (POST /oauth2/Approval)", **where
            )
        if code == "OPSP8996":
            return KISAppKeyInUseError(
                code,
                f"{reply.msg1 or 'ALREADY IN USE appkey'}: another websocket session holds this "
                "app key; KIS drops this connection (reconnect with backoff, or share one session)",
            )
        if state == "pending":  # a refused subscribe: KIS holds nothing for the pair
            self._registry.remove(pair)
        elif state == "releasing":  # a refused release: the pair is still registered
            self._registry.set_state(pair, "active")
        if code == "OPSP0008":
            return KISSubscriptionLimitError(
                f"{code} {reply.msg1 or 'MAX SUBSCRIBE OVER'}: KIS refused {reply.tr_id} "
                f"{reply.tr_key} at its registration limit",
                limit=None,
                tr_id=reply.tr_id,
                tr_key=reply.tr_key,
                code=code,
            )
        return KISRealtimeRefusedError(code, reply.msg1, **where)

    def _on_data(self, frame: DataFrame) -> list[Event]:
        tr_id, payload = frame.tr_id, frame.payload
        if frame.encrypted:
            cipher = self._ciphers.get(tr_id)
            if cipher is None:
                return [
                    ErrorEvent(
                        KISNoticeDecryptError(
                            f"an encrypted {tr_id} notice arrived before this session's key for "
                            f"{tr_id} (no SUBSCRIBE SUCCESS with output.key yet): dropped"
                        )
                    )
                ]
            try:
                payload = cipher.decrypt(payload)
            except KISNoticeDecryptError as exc:
                return [ErrorEvent(exc)]
        layout = self.catalog.layout(tr_id)
        try:
            rows = cut_records(tr_id, frame.count, payload, layout)
        except KISRealtimeProtocolError as exc:
            return [ErrorEvent(exc)]
        return [
            Record(tr_id, self._route(tr_id, values[0], frame.encrypted), values, layout)
            for values in rows
        ]

    def _route(self, tr_id: str, first: str, encrypted: bool) -> str:
        # A notice's first field is the customer id, which KIS documents as the HTS ID the
        # notice was subscribed with; should it ever differ, the one registration of that TR
        # is the notice's key. Market data always routes by its symbol.
        if encrypted and (tr_id, first) not in self._registry:
            keys = self._registry.keys_of(tr_id)
            if len(keys) == 1:
                return keys[0]
        return first

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _check_approval(key: object) -> str:
        if not isinstance(key, str) or not key.strip():
            raise KISConfigError("the approval key is empty: get one with POST /oauth2/Approval")
        register_secret(key)
        return key

    def _approval(self) -> str:
        source = self._approval_key
        return self._check_approval(source if isinstance(source, str) else source())

    def _frame(self, approval: str, tr_type: str, tr_id: str, tr_key: str) -> str:
        return json.dumps(
            {
                "header": {
                    "approval_key": approval,
                    "custtype": self.custtype,
                    "tr_type": tr_type,
                    "content-type": "utf-8",
                },
                "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
            },
            ensure_ascii=False,
        )
