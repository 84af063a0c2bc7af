"""What :meth:`RealtimeProtocol.receive` returns: records, control replies, pongs and errors."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import KISRealtimeError
from .frames import ControlReply
from .records import Record

__all__ = ["ErrorEvent", "Event", "Pong"]


@dataclass(frozen=True)
class Pong:
    """Send ``text`` back as a text frame: the answer to KIS's PINGPONG (the same text)."""

    text: str


@dataclass(frozen=True)
class ErrorEvent:
    """A frame that failed or a refusal from KIS; the stream goes on.

    ``error`` is typed: :class:`~..errors.KISRealtimeProtocolError` (a malformed frame, dropped),
    :class:`~..errors.KISNoticeDecryptError` (a notice with no key yet, dropped),
    :class:`~..errors.KISSubscriptionLimitError` (OPSP0008, the pair rolled back),
    :class:`~..errors.KISApprovalKeyError` (OPSP0011: get a new key, then ``retry_pending()``),
    :class:`~..errors.KISAppKeyInUseError` (OPSP8996: KIS drops the connection; back off) or
    :class:`~..errors.KISRealtimeRefusedError` (any other code; the pair rolled back).
    ``reply`` is the control reply it came from, if any. ``raise event.error`` re-raises it.
    """

    error: KISRealtimeError
    reply: ControlReply | None = None


#: One item of :meth:`RealtimeProtocol.receive`'s list, in the order the frame carried them.
Event = Record | ControlReply | Pong | ErrorEvent
