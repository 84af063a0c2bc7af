"""Control messages of the realtime websocket: parsing a client's request, and KIS's replies.

Codes and texts are KIS-REALTIME.md's table. Which OPSP999x code names which malformed part is
not public; the sandbox's choice, most specific first::

    OPSP9990 not a text frame          OPSP9995 body.input.tr_id missing
    OPSP9991 header.custtype missing   OPSP9996 body.input missing
    OPSP9992 header.tr_type missing    OPSP9997 body missing
    OPSP9993 header.approval_key missing   OPSP9998 header missing
    OPSP9994 body.input.tr_key missing     OPSP9999 invalid json format
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["MESSAGES", "NULL_TR_ID", "BadRequest", "Request", "parse_request", "pingpong", "reply"]

#: msg_cd -> (rt_cd, msg1).
MESSAGES: dict[str, tuple[str, str]] = {
    "OPSP0000": ("0", "SUBSCRIBE SUCCESS"),
    "OPSP0001": ("0", "UNSUBSCRIBE SUCCESS"),
    "OPSP0002": ("1", "ALREADY IN SUBSCRIBE"),
    "OPSP0003": ("1", "UNSUBSCRIBE ERROR(not found!)"),
    "OPSP0007": ("1", "SUBSCRIBE INTERNAL ERROR"),
    "OPSP0008": ("1", "MAX SUBSCRIBE OVER"),
    "OPSP0011": ("1", "invalid approval : "),
    "OPSP8991": ("1", "SUBSCRIBE ERROR : invalid tr_id"),
    "OPSP8992": ("1", "SUBSCRIBE ERROR : invalid tr_key"),
    "OPSP8996": ("9", "ALREADY IN USE appkey"),
    "OPSP8997": ("1", "JSON PARSING ERROR : invalid tr_type"),
    "OPSP8998": ("1", "JSON PARSING ERROR : invalid custtype"),
    "OPSP9990": ("1", "JSON PARSING ERROR : not a text message"),
    "OPSP9991": ("1", "JSON PARSING ERROR : custtype not found"),
    "OPSP9992": ("1", "JSON PARSING ERROR : tr_type not found"),
    "OPSP9993": ("1", "JSON PARSING ERROR : approval_key not found"),
    "OPSP9994": ("1", "JSON PARSING ERROR : tr_key not found"),
    "OPSP9995": ("1", "JSON PARSING ERROR : tr_id not found"),
    "OPSP9996": ("1", "JSON PARSING ERROR : input not found"),
    "OPSP9997": ("1", "JSON PARSING ERROR : body not found"),
    "OPSP9998": ("1", "JSON PARSING ERROR : header not found"),
    "OPSP9999": ("1", "JSON PARSING ERROR : invalid json format"),
}
NULL_TR_ID = "(null)"  # what KIS puts where it has no TR to name
PINGPONG = "PINGPONG"


@dataclass(frozen=True)
class Request:
    """A well-formed subscribe (``tr_type`` "1") or release ("2")."""

    approval_key: str
    tr_type: str
    custtype: str
    tr_id: str
    tr_key: str


class BadRequest(Exception):
    """A request KIS refuses before looking at its TR: ``msg_cd`` says why."""

    def __init__(self, msg_cd: str, tr_id: str = NULL_TR_ID, tr_key: str = "") -> None:
        super().__init__(msg_cd)
        self.msg_cd = msg_cd
        self.tr_id = tr_id
        self.tr_key = tr_key


def _text(parent: dict[str, Any], name: str, missing: str) -> str:
    value = parent.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(missing)
    return value


def parse_request(message: str | bytes) -> Request | None:
    """The request in one client frame; None for a PINGPONG echo (accepted silently).

    Raises :class:`BadRequest` with the code of the first thing wrong.
    """
    if not isinstance(message, str):
        raise BadRequest("OPSP9990")
    try:
        data = json.loads(message)
    except ValueError:
        raise BadRequest("OPSP9999") from None
    if not isinstance(data, dict):
        raise BadRequest("OPSP9999")
    header = data.get("header")
    if not isinstance(header, dict):
        raise BadRequest("OPSP9998")
    if header.get("tr_id") == PINGPONG:
        return None
    body = data.get("body")
    if not isinstance(body, dict):
        raise BadRequest("OPSP9997")
    given = body.get("input")
    if not isinstance(given, dict):
        raise BadRequest("OPSP9996")
    tr_id = _text(given, "tr_id", "OPSP9995")
    tr_key = given.get("tr_key")
    if not isinstance(tr_key, str) or not tr_key:
        raise BadRequest("OPSP9994", tr_id)
    try:
        approval = _text(header, "approval_key", "OPSP9993")
        tr_type = _text(header, "tr_type", "OPSP9992")
        custtype = _text(header, "custtype", "OPSP9991")
    except BadRequest as exc:
        raise BadRequest(exc.msg_cd, tr_id, tr_key) from None
    if tr_type not in ("1", "2"):
        raise BadRequest("OPSP8997", tr_id, tr_key)
    if custtype not in ("P", "B"):
        raise BadRequest("OPSP8998", tr_id, tr_key)
    return Request(approval, tr_type, custtype, tr_id, tr_key)


def reply(
    msg_cd: str,
    tr_id: str = NULL_TR_ID,
    tr_key: str = "",
    *,
    output: dict[str, str] | None = None,
    detail: str = "",
) -> str:
    """A control reply as KIS sends it (``detail`` follows msg1, e.g. the refused key)."""
    rt_cd, msg1 = MESSAGES[msg_cd]
    body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1 + detail}
    if output is not None:
        body["output"] = output
    header = {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}
    return json.dumps({"header": header, "body": body}, ensure_ascii=False)


def pingpong(moment: datetime) -> str:
    """The server's keep-alive, stamped with ``moment`` (KST)."""
    stamp = moment.strftime("%Y%m%d%H%M%S")
    return json.dumps({"header": {"tr_id": PINGPONG, "datetime": stamp}})
