"""A tiny raw KIS caller for the sandbox tests, and the paths and TR_IDs it uses.

It is deliberately not the project's client: it builds KIS requests by hand from KIS's
published protocol, so the sandbox is checked against the protocol, not against the client.
(A uniquely named module rather than conftest.py, which several test folders have.)
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from stock_manager.sandbox import KISSandbox, ManualClock

ORDER_CASH = "/uapi/domestic-stock/v1/trading/order-cash"
ORDER_RVSECNCL = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
ORDER_CREDIT = "/uapi/domestic-stock/v1/trading/order-credit"
ORDER_RESV = "/uapi/domestic-stock/v1/trading/order-resv"
BALANCE = "/uapi/domestic-stock/v1/trading/inquire-balance"
PSBL_ORDER = "/uapi/domestic-stock/v1/trading/inquire-psbl-order"
DAILY_CCLD = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
PRICE = "/uapi/domestic-stock/v1/quotations/inquire-price"
PSBL_SELL = "/uapi/domestic-stock/v1/trading/inquire-psbl-sell"
PSBL_RVSECNCL = "/uapi/domestic-stock/v1/trading/inquire-psbl-rvsecncl"
ORDER_RESV_RVSECNCL = "/uapi/domestic-stock/v1/trading/order-resv-rvsecncl"
RESV_CCNL = "/uapi/domestic-stock/v1/trading/order-resv-ccnl"
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
        # Real only: KIS offers these in no paper domain.
        "credit_buy": "TTTC0052U",
        "psbl_sell": "TTTC8408R",
        "psbl_rvsecncl": "TTTC0084R",
        "resv": "CTSC0008U",
        "resv_cancel": "CTSC0009U",
        "resv_modify": "CTSC0013U",
        "resv_ccnl": "CTSC0004R",
    },
}

#: A KRX trading day (Tuesday) the order tests play, and the seed that fixes its prices.
TRADING_DAY = "2026-03-10"
NEXT_TRADING_DAY = "2026-03-11"
SEED = 7


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
    ORDER_RESV_RVSECNCL: {"ORD_DVSN_CD": "00", "ORD_OBJT_CBLC_DVSN_CD": "10"},
    PSBL_RVSECNCL: {
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
        "INQR_DVSN_1": "0",
        "INQR_DVSN_2": "0",
    },
    RESV_CCNL: {
        "RSVN_ORD_ORD_DT": "",
        "RSVN_ORD_END_DT": "",
        "RSVN_ORD_SEQ": "",
        "TMNL_MDIA_KIND_CD": "00",
        "PRCS_DVSN_CD": "0",
        "CNCL_YN": "Y",
        "PDNO": "",
        "SLL_BUY_DVSN_CD": "",
        "CTX_AREA_FK200": "",
        "CTX_AREA_NK200": "",
    },
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

    def revise(
        self,
        original: str,
        *,
        cancel: bool = True,
        qty: str = "0",
        price: str = "0",
        dvsn: str = "00",
        whole: bool = True,
        tr_id: str | None = None,
        **overrides: Any,
    ) -> httpx.Response:
        """order-rvsecncl: cancel (default) or modify ``original``, all of it unless ``whole``
        is False (then ``qty``)."""
        body = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.product,
            "KRX_FWDG_ORD_ORGNO": "91252",
            "ORGN_ODNO": original,
            "ORD_DVSN": dvsn,
            "RVSE_CNCL_DVSN_CD": "02" if cancel else "01",
            "ORD_QTY": qty,
            "ORD_UNPR": price,
            "QTY_ALL_ORD_YN": "Y" if whole else "N",
            **overrides,
        }
        return self.post(ORDER_RVSECNCL, tr_id or self.tr["rvsecncl"], body)

    def quote(self, code: str) -> dict[str, str]:
        """inquire-price's ``output`` for a domestic code."""
        params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code}
        response = self.get(PRICE, self.tr["price"], params)
        assert rt(response)[1] == "0", response.text
        output: dict[str, str] = response.json()["output"]
        return output

    def balance(self) -> dict[str, Any]:
        """inquire-balance's first page (holdings in ``output1``, summary in ``output2[0]``)."""
        response = self.get(BALANCE, self.tr["balance"], self.account_params())
        assert rt(response)[1] == "0", response.text
        body: dict[str, Any] = response.json()
        return body

    def cash(self) -> int:
        """예수금 (``dnca_tot_amt``): cash moved by fills only."""
        return int(self.balance()["output2"][0]["dnca_tot_amt"])

    def orderable(self, pdno: str = "005930", price: str = "0") -> dict[str, str]:
        """inquire-psbl-order's ``output`` (a market order at the upper limit when price is 0)."""
        params = self.account_params(PDNO=pdno, ORD_UNPR=price, ORD_DVSN="00" if price else "01")
        response = self.get(PSBL_ORDER, self.tr["psbl"], params)
        assert rt(response)[1] == "0", response.text
        output: dict[str, str] = response.json()["output"]
        return output

    def daily(self, **params: str) -> list[dict[str, str]]:
        """inquire-daily-ccld's rows (recent TR, first page)."""
        response = self.get(DAILY_CCLD, self.tr["ccld_recent"], self.account_params(**params))
        assert rt(response)[1] == "0", response.text
        rows: list[dict[str, str]] = response.json()["output1"]
        return rows

    def order_row(self, odno: str) -> dict[str, str]:
        """The daily-ccld row of one order."""
        rows = [row for row in self.daily() if row["odno"] == odno]
        assert len(rows) == 1, (odno, rows)
        return rows[0]


def at(clock_time: str, day: str = TRADING_DAY) -> str:
    """``"HH:MM[:SS]"`` on ``day`` as a KST ISO moment, for ``market_time``."""
    if clock_time.count(":") == 1:
        clock_time += ":00"
    return f"{day}T{clock_time}+09:00"


def market_options(when: str = "10:00", day: str = TRADING_DAY) -> dict[str, Any]:
    """Sandbox options that stand the market at ``when`` of ``day`` until moved, with
    :data:`SEED`'s prices: a ManualClock freezes market time, so fills depend on
    ``set_market_time`` alone (``caller_for(domain, **market_options("10:00"))``)."""
    return {"seed": SEED, "clock": ManualClock(), "market_time": at(when, day)}


def rt(response: httpx.Response) -> tuple[int, str, str]:
    """(HTTP status, rt_cd, msg_cd) of a gateway answer."""
    body = response.json()
    return response.status_code, body["rt_cd"], body["msg_cd"]
