"""Inquiry handlers: balance (paged), buyable amount, daily fills (paged) and current price.

Parameters KIS requires but the sandbox has no use for (AFHR_FLPR_YN, INQR_DVSN...) are not
checked; the account parameters always are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from stock_manager.sandbox import fields
from stock_manager.sandbox.accounts import Account, Fill
from stock_manager.sandbox.codes import BusinessError, success
from stock_manager.sandbox.gateway import GatewayCall
from stock_manager.sandbox.market import quote, stock_name
from stock_manager.sandbox.paging import Pager
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.tokens import KST

Reply = tuple[dict[str, Any], str]

MARKET_DIVISIONS = {"J", "NX", "UN"}
SIDE_CODES = {"sell": ("01", "매도"), "buy": ("02", "매수")}


def _rate(numerator: float, denominator: float) -> str:
    return f"{numerator * 100 / denominator:.2f}" if denominator else "0.00"


def _holding_rows(account: Account) -> list[dict[str, str]]:
    rows = []
    for pdno in sorted(account.holdings):
        holding = account.holdings[pdno]
        price = quote(pdno).last
        value = holding.quantity * price
        profit = value - holding.cost
        rows.append(
            {
                "pdno": pdno,
                "prdt_name": stock_name(pdno),
                "trad_dvsn_name": "현금",
                "bfdy_buy_qty": "0",
                "bfdy_sll_qty": "0",
                "thdt_buyqty": "0",
                "thdt_sll_qty": "0",
                "hldg_qty": str(holding.quantity),
                "ord_psbl_qty": str(holding.quantity),
                "pchs_avg_pric": f"{holding.average_price:.4f}",
                "pchs_amt": str(holding.cost),
                "prpr": str(price),
                "evlu_amt": str(value),
                "evlu_pfls_amt": str(profit),
                "evlu_pfls_rt": _rate(profit, holding.cost),
                "evlu_erng_rt": "0.00000000",
                "loan_dt": "",
                "loan_amt": "0",
                "stln_slng_chgs": "0",
                "expd_dt": "",
                "fltt_rt": "0.00000000",
                "bfdy_cprs_icdc": "0",
                "item_mgna_rt_name": "",
                "grta_rt_name": "",
                "sbst_pric": "0",
                "stck_loan_unpr": "0.0000",
            }
        )
    return rows


def _balance_summary(account: Account) -> dict[str, str]:
    cost = sum(holding.cost for holding in account.holdings.values())
    value = sum(h.quantity * quote(pdno).last for pdno, h in account.holdings.items())
    cash = str(account.cash)
    return {
        "dnca_tot_amt": cash,
        "nxdy_excc_amt": cash,
        "prvs_rcdl_excc_amt": cash,
        "cma_evlu_amt": "0",
        "bfdy_buy_amt": "0",
        "thdt_buy_amt": "0",
        "nxdy_auto_rdpt_amt": "0",
        "bfdy_sll_amt": "0",
        "thdt_sll_amt": "0",
        "d2_auto_rdpt_amt": "0",
        "bfdy_tlex_amt": "0",
        "thdt_tlex_amt": "0",
        "tot_loan_amt": "0",
        "scts_evlu_amt": str(value),
        "tot_evlu_amt": str(account.cash + value),
        "nass_amt": str(account.cash + value),
        "fncg_gld_auto_rdpt_yn": "N",
        "pchs_amt_smtl_amt": str(cost),
        "evlu_amt_smtl_amt": str(value),
        "evlu_pfls_smtl_amt": str(value - cost),
        "tot_stln_slng_chgs": "0",
        "bfdy_tot_asst_evlu_amt": str(account.cash + value),
        "asst_icdc_amt": "0",
        "asst_icdc_erng_rt": "0.00000000",
    }


def inquire_balance(state: SandboxState, call: GatewayCall) -> Reply:
    """Holdings page by page (``output1``) and the account summary (``output2``)."""
    account = call.app.account
    fields.account_of(call.params, account)
    pager = Pager(state.signing_key, state.page_size)
    scope = f"{account.cano}{account.product}^BALANCE"
    page = pager.page(_holding_rows(account), scope, call.tr_cont, call.params)
    body = success(
        ctx_area_fk100=page.ctx_area_fk100,
        ctx_area_nk100=page.ctx_area_nk100,
        output1=list(page.rows),
        output2=[_balance_summary(account)],
    )
    return body, page.tr_cont


def inquire_psbl_order(state: SandboxState, call: GatewayCall) -> Reply:
    """How much cash, and how many shares of PDNO at ORD_UNPR, an order could use."""
    account = call.app.account
    fields.account_of(call.params, account)
    pdno = fields.stock_code(call.params)
    unit_price = fields.non_negative_int(call.params, "ORD_UNPR")
    price = unit_price or quote(pdno).last
    quantity = account.cash // price
    cash = str(account.cash)
    output = {
        "ord_psbl_cash": cash,
        "ord_psbl_sbst": "0",
        "ruse_psbl_amt": "0",
        "fund_rpch_chgs": "0",
        "psbl_qty_calc_unpr": str(price),
        "nrcvb_buy_amt": cash,
        "nrcvb_buy_qty": str(quantity),
        "max_buy_amt": cash,
        "max_buy_qty": str(quantity),
        "cma_evlu_amt": "0",
        "ovrs_re_use_amt_wcrc": "0",
        "ord_psbl_frcr_amt_wcrc": "0",
    }
    return success(output=output), ""


def _fill_row(fill: Fill) -> dict[str, str]:
    moment = datetime.fromtimestamp(fill.timestamp, KST)
    side_code, side_name = SIDE_CODES.get(fill.side, ("00", fill.side))
    filled = 0 if fill.side in ("revise", "reserve") else fill.quantity
    return {
        "ord_dt": moment.strftime("%Y%m%d"),
        "ord_gno_brno": "91252",
        "odno": fill.odno,
        "orgn_odno": fill.original_odno,
        "ord_dvsn_cd": fill.ord_dvsn,
        "sll_buy_dvsn_cd": side_code,
        "sll_buy_dvsn_cd_name": side_name,
        "pdno": fill.pdno,
        "prdt_name": stock_name(fill.pdno),
        "ord_qty": str(fill.quantity),
        "ord_unpr": str(fill.price),
        "ord_tmd": moment.strftime("%H%M%S"),
        "tot_ccld_qty": str(filled),
        "avg_prvs": str(fill.price if filled else 0),
        "cncl_yn": "N",
        "tot_ccld_amt": str(filled * fill.price),
        "rmn_qty": "0",
        "rjct_qty": "0",
        "ccld_cndt_name": "없음",
        "excg_id_dvsn_cd": "KRX",
    }


def _date_param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if value and not (len(value) == 8 and value.isascii() and value.isdigit()):
        raise fields.bad(name, value)
    return value


def inquire_daily_ccld(state: SandboxState, call: GatewayCall) -> Reply:
    """The account's accepted orders, newest first, filtered by the usual parameters."""
    account = call.app.account
    params = call.params
    fields.account_of(params, account)
    start = _date_param(params, "INQR_STRT_DT")
    end = _date_param(params, "INQR_END_DT")
    side = params.get("SLL_BUY_DVSN_CD", "00") or "00"
    if side not in ("00", "01", "02"):
        raise fields.bad("SLL_BUY_DVSN_CD", side)
    pdno = params.get("PDNO", "").strip()
    odno = params.get("ODNO", "").strip()
    rows = []
    for fill in reversed(account.fills):
        row = _fill_row(fill)
        if (start and row["ord_dt"] < start) or (end and row["ord_dt"] > end):
            continue
        if side != "00" and row["sll_buy_dvsn_cd"] != side:
            continue
        if (pdno and fill.pdno != pdno) or (odno and fill.odno != odno):
            continue
        rows.append(row)
    pager = Pager(state.signing_key, state.page_size)
    scope = f"{account.cano}{account.product}^CCLD^{call.role}"
    page = pager.page(rows, scope, call.tr_cont, params)
    summary = {
        "tot_ord_qty": str(sum(int(row["ord_qty"]) for row in rows)),
        "tot_ccld_qty": str(sum(int(row["tot_ccld_qty"]) for row in rows)),
        "tot_ccld_amt": str(sum(int(row["tot_ccld_amt"]) for row in rows)),
        "prsm_tlex_smtl": "0",
        "pchs_avg_pric": "0.0000",
    }
    body = success(
        ctx_area_fk100=page.ctx_area_fk100,
        ctx_area_nk100=page.ctx_area_nk100,
        output1=list(page.rows),
        output2=summary,
    )
    return body, page.tr_cont


def inquire_price(state: SandboxState, call: GatewayCall) -> Reply:
    """The synthetic quote of FID_INPUT_ISCD."""
    market = fields.text(call.params, "FID_COND_MRKT_DIV_CODE")
    if market not in MARKET_DIVISIONS:
        raise BusinessError(
            "OPSQ2002", f"입력값이 올바르지 않습니다. (FID_COND_MRKT_DIV_CODE={market!r})"
        )
    code = fields.stock_code(call.params, "FID_INPUT_ISCD")
    return success(output=quote(code).as_kis_output()), ""
