"""The realtime (websocket) client: :class:`KISRealtimeClient` (sync, :mod:`.client`) and
:class:`AsyncKISRealtimeClient` (asyncio, :mod:`.aio`), shells over a sans-I/O core; their
reconnect policy is :class:`ReconnectPolicy` (:mod:`.backoff`). With ``redis_url`` configured
they share one KIS session among processes through Redis (:mod:`.shared`, :class:`SharedPolicy`).

The core:

Text frames in, control replies, records and keep-alive answers out; the subscription registry
with KIS's 41-pair cap; AES-256-CBC decryption of fill and order notices. No sockets, no
threads, no event loop, no clock: the sync and async shells drive :class:`RealtimeProtocol`.

- :mod:`.protocol`: :class:`RealtimeProtocol`, the object a shell drives;
- :mod:`.frames`: classifying one server frame (:class:`ControlReply`, PINGPONG, data frame);
- :mod:`.records`: :class:`Record` and cutting a payload into records of equal width;
- :mod:`.registry`: (tr_id, tr_key) registrations, their states and the cap;
- :mod:`.layouts`: TR names to TR_IDs per domain and record layouts, from the catalog;
- :mod:`.crypto`: :class:`NoticeCipher`, a session's AES key and IV for one notice TR;
- :mod:`.events`: :class:`Pong`, :class:`ErrorEvent` and the :data:`Event` union.

>>> rt = RealtimeProtocol("approval-key-of-36-characters-000000", paper=True)
>>> frame = rt.subscribe("H0STCNT0", "005930")  # the JSON text to send
>>> [r["STCK_PRPR"] for r in rt.receive("0|H0STCNT0|001|005930^093000^71000" + "^" * 43)]
['71000']
"""

from __future__ import annotations

from .aio import AsyncKISRealtimeClient
from .backoff import ReconnectPolicy
from .client import KISRealtimeClient
from .crypto import NoticeCipher
from .events import ErrorEvent, Event, Pong
from .frames import ControlReply, ReplyKind
from .layouts import Layout, RealtimeCatalog
from .protocol import ApprovalKeySource, RealtimeProtocol
from .records import Record
from .registry import KIS_MAX_REGISTRATIONS, Pair, Registration, State
from .shared import SharedKeys, SharedPolicy

__all__ = [
    "KIS_MAX_REGISTRATIONS",
    "ApprovalKeySource",
    "AsyncKISRealtimeClient",
    "ControlReply",
    "ErrorEvent",
    "Event",
    "KISRealtimeClient",
    "Layout",
    "NoticeCipher",
    "Pair",
    "Pong",
    "RealtimeCatalog",
    "RealtimeProtocol",
    "ReconnectPolicy",
    "Record",
    "Registration",
    "ReplyKind",
    "SharedKeys",
    "SharedPolicy",
    "State",
]
