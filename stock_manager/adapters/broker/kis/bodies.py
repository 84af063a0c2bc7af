"""Request bodies and queries KIS users write again and again, filled in from the config.

>>> body = cash_order_body(config, "005930", quantity=1, price=70000)   # a limit order
>>> client.make_request("POST", api_id="order-cash", variant="buy", params=body, hashkey=True)
>>> pages = client.iter_pages("GET", api_id="inquire-balance", params=balance_params(config))
"""

from __future__ import annotations

from .config import KISConfig

__all__ = ["balance_params", "cash_order_body"]


def _account(config: KISConfig) -> dict[str, str]:
    return {"CANO": config.cano, "ACNT_PRDT_CD": config.acnt_prdt_cd}  # KISConfigError if unset


def cash_order_body(
    config: KISConfig, pdno: str, quantity: int, price: int | None = None
) -> dict[str, str]:
    """The body of a domestic cash order (order-cash) for the configured account.

    ``price`` makes it a limit order (ORD_DVSN "00"); ``None`` a market order ("01", ORD_UNPR
    "0"). KIS wants every field as a string.
    """
    return {
        **_account(config),
        "PDNO": pdno,
        "ORD_DVSN": "01" if price is None else "00",
        "ORD_QTY": str(quantity),
        "ORD_UNPR": "0" if price is None else str(price),
    }


def balance_params(config: KISConfig) -> dict[str, str]:
    """The query of inquire-balance (holdings by stock) for the configured account, first page."""
    return {
        **_account(config),
        "AFHR_FLPR_YN": "N",
        "OFL_YN": "",
        "INQR_DVSN": "02",
        "UNPR_DVSN": "01",
        "FUND_STTL_ICLD_YN": "N",
        "FNCG_AMT_AUTO_RDPT_YN": "N",
        "PRCS_DVSN": "00",
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
    }
