"""Server frames, classified: a JSON control reply, a PINGPONG, or a data frame.

Pure functions over text. Anything KIS would not send raises :class:`KISRealtimeProtocolError`
with a short excerpt in which runs that look like credentials (the approval key KIS echoes in
OPSP0011, a notice's AES key and IV) are masked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import KISRealtimeProtocolError
from ..redaction import redact

__all__ = [
    "PINGPONG",
    "ControlReply",
    "DataFrame",
    "Ping",
    "ReplyKind",
    "decode_text",
    "excerpt",
    "parse_frame",
]

PINGPONG = "PINGPONG"

#: What a control reply means for its (tr_id, tr_key) pair.
ReplyKind = Literal["subscribed", "already", "unsubscribed", "not-found", "refused"]
_KINDS: dict[str, ReplyKind] = {
    "OPSP0000": "subscribed",
    "OPSP0001": "unsubscribed",
    # Harmless: clients that treat it as a failure and resubscribe loop forever.
    "OPSP0002": "already",
    "OPSP0003": "not-found",
}

_EXCERPT_CHARS = 80
_CREDENTIAL_LIKE = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")
# A TR_ID as KIS spells them; anything else in a data frame's second field is garbage, and is
# kept out of the layout cache.
_TR_ID = re.compile(r"[A-Za-z0-9_]{1,20}")


def decode_text(data: str | bytes) -> str:
    """Frame bytes as text; invalid UTF-8 (observed live) becomes U+FFFD instead of failing."""
    if isinstance(data, str):
        return data
    return bytes(data).decode("utf-8", errors="replace")


def excerpt(text: str) -> str:
    """A short excerpt of a frame for an error message, credential-like runs masked."""
    return _CREDENTIAL_LIKE.sub("***", redact(text[:_EXCERPT_CHARS]))


@dataclass(frozen=True)
class ControlReply:
    """KIS's JSON answer to a subscribe or unsubscribe frame (never the AES key or IV)."""

    tr_id: str
    tr_key: str
    rt_cd: str
    msg_cd: str
    #: KIS's text; for OPSP0011 the echoed approval key is cut off.
    msg1: str
    #: ``header.encrypt`` == "Y" (KIS shows "N" even for notices: decryption follows the frame).
    encrypt: bool
    #: True when ``output`` carried an AES key and IV (kept by the protocol, not here).
    has_cipher: bool = False
    #: (key, iv) from ``output``: consumed by the protocol, hidden from repr and comparisons.
    cipher_material: tuple[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> ReplyKind:
        """subscribed, already (harmless), unsubscribed, not-found (harmless) or refused."""
        return _KINDS.get(self.msg_cd, "refused")

    @property
    def ok(self) -> bool:
        """True for every reply that is not a refusal."""
        return self.kind != "refused"


@dataclass(frozen=True)
class Ping:
    """A PINGPONG keep-alive; the answer is the same text sent back."""

    text: str


@dataclass(frozen=True)
class DataFrame:
    """``<encrypted>|<tr_id>|<count>|<payload>``, split on the first three ``|`` only."""

    encrypted: bool
    tr_id: str
    count: int
    payload: str = field(repr=False)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _control(text: str, data: Any) -> ControlReply | Ping:
    header = data.get("header") if isinstance(data, dict) else None
    if not isinstance(header, dict):
        raise KISRealtimeProtocolError(
            "KIS sent a JSON frame without a header", excerpt=excerpt(text)
        )
    tr_id = _text(header.get("tr_id"))
    if tr_id == PINGPONG:
        return Ping(text)
    body = data.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("msg_cd"), str):
        raise KISRealtimeProtocolError(
            "KIS sent a control reply without body.msg_cd", excerpt=excerpt(text)
        )
    msg_cd = body["msg_cd"]
    msg1 = _text(body.get("msg1"))
    if msg_cd == "OPSP0011":
        # "invalid approval : <the key>": the key is a secret, the rest says enough.
        msg1 = msg1.split(":", 1)[0].strip()
    output = body.get("output")
    material = None
    if isinstance(output, dict):
        key, iv = output.get("key"), output.get("iv")
        if isinstance(key, str) and isinstance(iv, str) and key and iv:
            material = (key, iv)
    return ControlReply(
        tr_id=tr_id,
        tr_key=_text(header.get("tr_key")),
        rt_cd=_text(body.get("rt_cd")),
        msg_cd=msg_cd,
        msg1=redact(msg1),
        encrypt=_text(header.get("encrypt")).upper() == "Y",
        has_cipher=material is not None,
        cipher_material=material,
    )


def _data(text: str) -> DataFrame:
    parts = text.split("|", 3)
    if len(parts) != 4:
        raise KISRealtimeProtocolError(
            "KIS sent a data frame without its four '|' parts", excerpt=excerpt(text)
        )
    flag, tr_id, count_text, payload = parts
    if flag not in ("0", "1") or not _TR_ID.fullmatch(tr_id):
        raise KISRealtimeProtocolError(
            "KIS sent a data frame with a bad encryption flag or TR_ID", excerpt=excerpt(text)
        )
    count_text = count_text.strip()
    if not count_text.isdigit() or not count_text.isascii():
        raise KISRealtimeProtocolError(
            f"KIS sent a {tr_id} data frame whose record count is not a number",
            excerpt=excerpt(text),
        )
    return DataFrame(encrypted=flag == "1", tr_id=tr_id, count=int(count_text), payload=payload)


def parse_frame(text: str) -> ControlReply | Ping | DataFrame:
    """Classify one text frame. Raises :class:`KISRealtimeProtocolError` for anything else."""
    start = text.lstrip()[:1]
    if start == "{":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise KISRealtimeProtocolError(
                "KIS sent a frame that is not valid JSON", excerpt=excerpt(text)
            ) from None
        return _control(text, data)
    if start in ("0", "1"):
        return _data(text.lstrip())
    raise KISRealtimeProtocolError(
        "KIS sent a frame that is neither JSON nor a data frame", excerpt=excerpt(text)
    )
