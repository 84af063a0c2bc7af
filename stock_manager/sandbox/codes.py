"""Message codes the sandbox answers with, and the reply envelopes that carry them.

Codes KIS documents keep KIS's meaning. Where KIS's own code is not public the sandbox
picks one and documents it here, so clients and tests have one place to look:

=============  =====  ==========================================================================
code           HTTP   when
=============  =====  ==========================================================================
EGW00001/2     500    injected temporary/server error (faults); EGW00002 also answers any
                      unexpected sandbox failure (never a text/plain traceback)
EGW00408       408    request body not received within the body timeout (sandbox choice)
EGW00413       413    request body over the size limit, by Content-Length before reading or
                      while reading a chunked body (sandbox choice); OAuth paths carry these
                      codes in the OAuth envelope, ``/_sandbox`` paths as ``{"error": ...}``
EGW00100       403    OAuth call whose body is not a JSON object or lacks a field (sandbox choice)
EGW00103/5     403    OAuth: unknown app key / wrong secret (``/uapi``: 500 rt_cd envelope)
EGW00121       403    revokeP of an unknown token; ``/uapi``: 500 for a bad/revoked/foreign token
EGW00123       500    token expired
EGW00131       500    ``hashkey`` header does not match the body bytes
EGW00132       500    POST whose content-type is not JSON (also on ``/uapi/hashkey``)
EGW00133       403    tokenP within ``issue_interval`` of the key's last issuance
EGW00201       500    per-app-key per-second limit exceeded
EGW00208       500    custtype other than P/B, or B without its corporate headers (a missing
                      custtype is P, as on live KIS)
EGW00210       500    custtype B on the paper domain
OPSQ0001       500    hashkey body is not a JSON object (sandbox choice)
OPSQ0002       500    tr_id missing, unknown for the path or of the other domain; a deprecated
                      tr_id when started with ``block_deprecated`` (by default it is served
                      as its successor, as KIS still does)
OPSQ0003       500    API not offered in paper trading, called on the paper sandbox
OPSQ0404       404    no such ``/uapi`` path; OPSQ0405 (405) wrong method for the path
OPSQ2000       200    CANO/ACNT_PRDT_CD is not the app's account (KIS's INVALID_CHECK_ACNO)
OPSQ2001       500    a key KIS's workbook marks Required is absent (checked by the gateway, first
                      missing key named, empty values pass; query names match in any case, body
                      keys only upper-case, so ``pdno`` in a body leaves ``PDNO`` missing)
OPSQ2001       200    a field a handler needs is absent or null (after the gateway's check)
OPSQ2002       200    a field/parameter has a bad format or value
OPSQ2003       200    CTX_AREA_FK100/NK100 do not decode (paging)
OPSQ2002       200    also: a value outside a complete code list of the workbook (the key named)
SYDB0050       200    rt_cd "7": the data changed between two pages (injected: page_change_rate)
APBK0952       200    buy (or margin) needs more cash than the account can order with
APBK0400       200    sell needs more shares than the account can sell (held by open sells too)
APBK0634       200    ORD_QTY not a positive integer
APBK1010       200    ORGN_ODNO (or a reservation number) is not an order of this account
APBK0506       200    price off the instrument's tick grid (sandbox choice)
APBK0507       200    quantity not a multiple of the trading unit (board lot) (sandbox choice)
APBK0509/10    200    price above the upper / below the lower daily limit (sandbox choice)
APBK0656       200    no such listed instrument for the API (sandbox choice)
APBK0918       200    the instrument's market is closed (sandbox choice)
APBK0919       200    the order division or TR is not taken in the current session (sandbox choice)
APBK0920       200    an overseas division the sandbox does not model (LOC, TWAP...; sandbox choice)
APBK0344       200    modify/cancel of an order with nothing left (filled, cancelled, expired)
APBK0345       200    modify/cancel of more than the remainder (both sandbox choices)
KIER3672       200    a domestic reservation outside 16:40-08:30, or an overseas one while the
                      exchange is open (KIS's own code and text)
=============  =====  ==========================================================================
"""

from __future__ import annotations

from typing import Any

SUCCESS_CODE = "MCA00000"
SUCCESS_MSG = "정상처리 되었습니다."

GATEWAY_MESSAGES: dict[str, str] = {
    "EGW00001": "일시적인 오류가 발생했습니다.",
    "EGW00002": "서버 에러가 발생했습니다.",
    "EGW00103": "유효하지 않은 AppKey입니다.",
    "EGW00105": "유효하지 않은 AppSecret입니다.",
    "EGW00121": "유효하지 않은 token 입니다.",
    "EGW00123": "기간이 만료된 token 입니다.",
    "EGW00131": "유효하지 않은 hashkey입니다.",
    "EGW00132": "유효하지 않은 Content-Type 입니다.",
    "EGW00201": "초당 거래건수를 초과하였습니다.",
    "EGW00408": "요청 본문 수신 시간이 초과되었습니다.",
    "EGW00413": "요청 본문이 너무 큽니다.",
    "EGW00208": "고객유형(custtype)이 유효하지 않습니다.",
    "EGW00210": "모의투자는 법인고객이 이용할 수 없습니다.",
    "OPSQ0001": "요청 본문이 올바른 JSON 객체가 아닙니다.",
    "OPSQ0002": "없는 서비스 코드 입니다",
    "OPSQ0003": "모의투자에서는 해당업무가 제공되지 않습니다",
    "OPSQ0404": "존재하지 않는 API 입니다.",
    "OPSQ0405": "허용되지 않는 HTTP 메소드입니다.",
}

OAUTH_MESSAGES: dict[str, str] = {
    "EGW00100": "요청 본문이 올바르지 않습니다.",
    "EGW00103": "유효하지 않은 AppKey입니다.",
    "EGW00105": "유효하지 않은 AppSecret입니다.",
    "EGW00121": "유효하지 않은 token 입니다.",
    "EGW00133": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
}


def rt_envelope(msg_cd: str, msg1: str | None = None) -> dict[str, Any]:
    """An error body in KIS's ``rt_cd`` shape."""
    return {"rt_cd": "1", "msg_cd": msg_cd, "msg1": msg1 or GATEWAY_MESSAGES.get(msg_cd, msg_cd)}


def oauth_envelope(error_code: str, description: str | None = None) -> dict[str, Any]:
    """An error body in KIS's OAuth shape (``error_code``/``error_description``)."""
    return {
        "error_code": error_code,
        "error_description": description or OAUTH_MESSAGES.get(error_code, error_code),
    }


def success(**outputs: Any) -> dict[str, Any]:
    """A success body: ``rt_cd`` "0" followed by the given output fields."""
    return {"rt_cd": "0", "msg_cd": SUCCESS_CODE, "msg1": SUCCESS_MSG, **outputs}


def missing_key_message(name: str) -> str:
    """KIS's OPSQ2001 text naming the missing key."""
    return f"필수항목이 누락되었습니다. ({name})"


class BusinessError(Exception):
    """A rejection KIS answers with HTTP 200 and ``rt_cd`` "1" (bad field, no cash...)."""

    def __init__(self, msg_cd: str, msg1: str) -> None:
        super().__init__(f"{msg_cd} {msg1}")
        self.msg_cd = msg_cd
        self.msg1 = msg1

    def body(self) -> dict[str, Any]:
        """The reply body for this rejection."""
        return rt_envelope(self.msg_cd, self.msg1)
