"""A tiny raw KIS caller for the sandbox tests, and the paths and TR_IDs it uses.

It is deliberately not the project's client: it builds KIS requests by hand from KIS's
published protocol, so the sandbox is checked against the protocol, not against the client.
(A uniquely named module rather than conftest.py, which several test folders have.)
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from stock_manager.sandbox import KISSandbox

ORDER_CASH = "/uapi/domestic-stock/v1/trading/order-cash"
ORDER_RVSECNCL = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
ORDER_CREDIT = "/uapi/domestic-stock/v1/trading/order-credit"
ORDER_RESV = "/uapi/domestic-stock/v1/trading/order-resv"
BALANCE = "/uapi/domestic-stock/v1/trading/inquire-balance"
PSBL_ORDER = "/uapi/domestic-stock/v1/trading/inquire-psbl-order"
DAILY_CCLD = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
PRICE = "/uapi/domestic-stock/v1/quotations/inquire-price"
OVERSEAS_ORDER = "/uapi/overseas-stock/v1/trading/order"
OVERSEAS_RVSECNCL = "/uapi/overseas-stock/v1/trading/order-rvsecncl"

# TR_IDs per domain, copied by hand from KIS's API documentation.
TR = {
    "paper": {
        "buy": "VTTC0012U",
        "sell": "VTTC0011U",
        "rvsecncl": "VTTC0013U",
        "balance": "VTTC8434R",
        "psbl": "VTTC8908R",
        "ccld_recent": "VTTC0081R",
        "ccld_older": "VTSC9215R",
        "price": "FHKST01010100",
        "us_buy": "VTTT1002U",
        "us_sell": "VTTT1001U",
        "us_rvsecncl": "VTTT1004U",
    },
    "real": {
        "buy": "TTTC0012U",
        "sell": "TTTC0011U",
        "rvsecncl": "TTTC0013U",
        "balance": "TTTC8434R",
        "psbl": "TTTC8908R",
        "ccld_recent": "TTTC0081R",
        "ccld_older": "CTSC9215R",
        "price": "FHKST01010100",
        "us_buy": "TTTT1002U",
        "us_sell": "TTTT1006U",
        "us_rvsecncl": "TTTT1004U",
    },
}


# What KIS's workbook marks Required beyond the keys a test sets itself, with the workbook's
# neutral values (empty where KIS allows it): the gateway refuses a call lacking any of them with
# OPSQ2001, so the helpers send them unless a test asks for ``complete=False``.
REQUIRED_DEFAULTS: dict[str, dict[str, str]] = {
    BALANCE: {
        "AFHR_FLPR_YN": "N",
        "INQR_DVSN": "02",
        "UNPR_DVSN": "01",
        "FUND_STTL_ICLD_YN": "N",
        "FNCG_AMT_AUTO_RDPT_YN": "N",
        "PRCS_DVSN": "00",
    },
    DAILY_CCLD: {
        "INQR_STRT_DT": "",
        "INQR_END_DT": "",
        "SLL_BUY_DVSN_CD": "00",
        "ORD_GNO_BRNO": "",
        "CCLD_DVSN": "00",
        "INQR_DVSN": "00",
        "INQR_DVSN_1": "",
        "INQR_DVSN_3": "00",
        "EXCG_ID_DVSN_CD": "KRX",
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
    },
    PSBL_ORDER: {"CMA_EVLU_AMT_ICLD_YN": "N", "OVRS_ICLD_YN": "N"},
    ORDER_RVSECNCL: {"KRX_FWDG_ORD_ORGNO": "", "QTY_ALL_ORD_YN": "Y"},
    ORDER_CREDIT: {"CRDT_TYPE": "21", "LOAN_DT": ""},
    ORDER_RESV: {"ORD_DVSN_CD": "00", "ORD_OBJT_CBLC_DVSN_CD": "10"},
    OVERSEAS_ORDER: {"ORD_SVR_DVSN_CD": "0", "ORD_DVSN": "00"},
}


def completed(path: str, fields: Any) -> Any:
    """``fields`` with the path's other required keys added (a non-object is left as it is)."""
    if not isinstance(fields, dict):
        return fields
    return {**REQUIRED_DEFAULTS.get(path, {}), **fields}


class Caller:
    """One app talking to a sandbox with hand-built KIS requests."""

    def __init__(
        self,
        sandbox: KISSandbox,
        client: httpx.Client,
        credentials: tuple[str, str, str] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.client = client
        key, secret, account = credentials or (
            sandbox.app_key,
            sandbox.app_secret,
            sandbox.account_no,
        )
        self.app_key, self.app_secret, self.account_no = key, secret, account
        self.cano, self.product = account.split("-")
        self._token: str | None = None
        self.tr = TR[sandbox.environment]

    def issue_token(self) -> httpx.Response:
        """POST /oauth2/tokenP for this app."""
        body = {
            "grant_type": "client_credentials",
            "appkey": self.app_key,
            "appsecret": self.app_secret,
        }
        return self.client.post("/oauth2/tokenP", json=body)

    @property
    def token(self) -> str:
        """A token, issued on first use."""
        if self._token is None:
            response = self.issue_token()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def headers(self, tr_id: str | None, **extra: str) -> dict[str, str]:
        """The gateway headers KIS requires."""
        headers = {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {self.token}",
            "appkey": self.app_key,
            "appsecret": self.app_secret,
            "custtype": "P",
        }
        if tr_id is not None:
            headers["tr_id"] = tr_id
        headers.update(extra)
        return headers

    def get(
        self,
        path: str,
        tr_id: str | None,
        params: dict[str, str],
        *,
        complete: bool = True,
        **extra: str,
    ) -> httpx.Response:
        """A gateway GET (with the path's other required keys unless ``complete`` is False)."""
        sent = completed(path, params) if complete else params
        return self.client.get(path, params=sent, headers=self.headers(tr_id, **extra))

    def post(
        self,
        path: str,
        tr_id: str | None,
        body: Any,
        *,
        hashkey: bool = False,
        complete: bool = True,
        **extra: str,
    ) -> httpx.Response:
        """A gateway POST of ``body`` serialised once; with ``hashkey`` it is protected.

        The path's other required keys are added unless ``complete`` is False.
        """
        raw = json.dumps(completed(path, body) if complete else body).encode()
        headers = self.headers(tr_id, **extra)
        if hashkey:
            headers["hashkey"] = self.hashkey(raw)
        return self.client.post(path, content=raw, headers=headers)

    def hashkey(self, raw: bytes) -> str:
        """Ask the sandbox for the HASH of exactly ``raw``."""
        response = self.client.post(
            "/uapi/hashkey",
            content=raw,
            headers={
                "content-type": "application/json; charset=utf-8",
                "appkey": self.app_key,
                "appsecret": self.app_secret,
            },
        )
        assert response.status_code == 200, response.text
        hash_value: str = response.json()["HASH"]
        return hash_value

    def order(
        self,
        side: str,
        pdno: str = "005930",
        qty: str = "1",
        price: str = "0",
        dvsn: str = "01",
        **overrides: Any,
    ) -> httpx.Response:
        """A cash order (market by default)."""
        body = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product,
            "PDNO": pdno,
            "ORD_DVSN": dvsn,
            "ORD_QTY": qty,
            "ORD_UNPR": price,
        }
        body.update(overrides)
        return self.post(ORDER_CASH, self.tr[side], body)

    def account_params(self, **extra: str) -> dict[str, str]:
        """CANO/ACNT_PRDT_CD plus ``extra``."""
        return {"CANO": self.cano, "ACNT_PRDT_CD": self.product, **extra}


def rt(response: httpx.Response) -> tuple[int, str, str]:
    """(HTTP status, rt_cd, msg_cd) of a gateway answer."""
    body = response.json()
    return response.status_code, body["rt_cd"], body["msg_cd"]
