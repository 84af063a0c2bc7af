"""Which KIS field each English attribute of an answer reads, per API and block.

The KIS names are the catalog's (the test suite checks every one of them against the block the
map names), so a model never guesses at a field: when KIS renames one, the check fails at build
time instead of a price silently reading as ``None``. A map's ``api`` is a catalog alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._values import text_of

__all__ = ["FIELD_MAPS", "FieldMap"]


@dataclass(frozen=True)
class FieldMap:
    """English attribute -> KIS field name, for one block of one API."""

    api: str
    block: str
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __getitem__(self, attribute: str) -> str:
        return self.names[attribute]

    def text(self, record: Mapping[str, Any], attribute: str) -> str:
        """The stripped text of ``attribute``'s KIS field in ``record`` (``""`` if absent)."""
        return text_of(record, self.names[attribute])


def _map(api: str, block: str, **names: str) -> FieldMap:
    return FieldMap(api, block, MappingProxyType(names))


def _levels(depth: int) -> dict[str, str]:
    """The order book's numbered fields: ``askp3`` is the third ask, ``askp_rsqn3`` its size."""
    found: dict[str, str] = {}
    for n in range(1, depth + 1):
        found |= {
            f"ask_{n}": f"askp{n}",
            f"ask_quantity_{n}": f"askp_rsqn{n}",
            f"bid_{n}": f"bidp{n}",
            f"bid_quantity_{n}": f"bidp_rsqn{n}",
        }
    return found


#: KIS's asking-price API shows ten levels a side.
BOOK_DEPTH = 10

QUOTE_DOMESTIC = _map(
    "inquire-price",
    "output",
    symbol="stck_shrn_iscd",
    price="stck_prpr",
    change="prdy_vrss",
    change_rate="prdy_ctrt",
    open="stck_oprc",
    high="stck_hgpr",
    low="stck_lwpr",
    previous_close="stck_sdpr",
    volume="acml_vol",
    turnover="acml_tr_pbmn",
    upper_limit="stck_mxpr",
    lower_limit="stck_llam",
    tick="aspr_unit",
)
QUOTE_OVERSEAS = _map(
    "overseas-price",
    "output",
    price="last",
    previous_close="base",
    change="diff",
    change_rate="rate",
    volume="tvol",
    turnover="tamt",
    decimals="zdiv",
)
ORDER_BOOK = _map(
    "inquire-asking-price-exp-ccn",
    "output1",
    time="aspr_acpt_hour",
    total_ask_quantity="total_askp_rsqn",
    total_bid_quantity="total_bidp_rsqn",
    **_levels(BOOK_DEPTH),
)
BAR_DOMESTIC_DAILY = _map(
    "inquire-daily-itemchartprice",
    "output2",
    day="stck_bsop_date",
    open="stck_oprc",
    high="stck_hgpr",
    low="stck_lwpr",
    close="stck_clpr",
    volume="acml_vol",
    turnover="acml_tr_pbmn",
)
BAR_DOMESTIC_MINUTE = _map(
    "inquire-time-itemchartprice",
    "output2",
    day="stck_bsop_date",
    time="stck_cntg_hour",
    open="stck_oprc",
    high="stck_hgpr",
    low="stck_lwpr",
    close="stck_prpr",
    volume="cntg_vol",
)
BAR_OVERSEAS_DAILY = _map(
    "overseas-dailyprice",
    "output2",
    day="xymd",
    open="open",
    high="high",
    low="low",
    close="clos",
    volume="tvol",
    turnover="tamt",
)
BAR_OVERSEAS_MINUTE = _map(
    "overseas-inquire-time-itemchartprice",
    "output2",
    day="kymd",
    time="khms",
    local_day="xymd",
    local_time="xhms",
    open="open",
    high="high",
    low="low",
    close="last",
    volume="evol",
    turnover="eamt",
)
HOLDING_DOMESTIC = _map(
    "inquire-balance",
    "output1",
    symbol="pdno",
    name="prdt_name",
    quantity="hldg_qty",
    orderable_quantity="ord_psbl_qty",
    average_price="pchs_avg_pric",
    purchase_amount="pchs_amt",
    price="prpr",
    value="evlu_amt",
    profit="evlu_pfls_amt",
    profit_rate="evlu_pfls_rt",
)
SUMMARY_DOMESTIC = _map(
    "inquire-balance",
    "output2",
    cash="dnca_tot_amt",
    cash_d1="nxdy_excc_amt",
    cash_d2="prvs_rcdl_excc_amt",
    stock_value="scts_evlu_amt",
    total_value="tot_evlu_amt",
    purchase_amount="pchs_amt_smtl_amt",
    profit="evlu_pfls_smtl_amt",
)
HOLDING_OVERSEAS = _map(
    "overseas-inquire-balance",
    "output1",
    symbol="ovrs_pdno",
    name="ovrs_item_name",
    quantity="ovrs_cblc_qty",
    orderable_quantity="ord_psbl_qty",
    average_price="pchs_avg_pric",
    purchase_amount="frcr_pchs_amt1",
    price="now_pric2",
    value="ovrs_stck_evlu_amt",
    profit="frcr_evlu_pfls_amt",
    profit_rate="evlu_pfls_rt",
    currency="tr_crcy_cd",
    exchange="ovrs_excg_cd",
)
SUMMARY_OVERSEAS = _map(
    "overseas-inquire-balance",
    "output2",
    purchase_amount="frcr_pchs_amt1",
    profit="tot_evlu_pfls_amt",
    profit_rate="tot_pftrt",
)
HOLDING_PRESENT = _map(
    "overseas-inquire-present-balance",
    "output1",
    symbol="pdno",
    name="prdt_name",
    quantity="cblc_qty13",
    orderable_quantity="ord_psbl_qty1",
    average_price="avg_unpr3",
    purchase_amount="frcr_pchs_amt",
    price="ovrs_now_pric1",
    value="frcr_evlu_amt2",
    profit="evlu_pfls_amt2",
    profit_rate="evlu_pfls_rt1",
    currency="buy_crcy_cd",
    exchange="ovrs_excg_cd",
    exchange_rate="bass_exrt",
)
CASH_PRESENT = _map(
    "overseas-inquire-present-balance",
    "output2",
    currency="crcy_cd",
    cash="frcr_dncl_amt_2",
    orderable="frcr_drwg_psbl_amt_1",
    exchange_rate="frst_bltn_exrt",
)
ORDER_RECORD = _map(
    "inquire-daily-ccld",
    "output1",
    day="ord_dt",
    time="ord_tmd",
    branch="ord_gno_brno",
    order_no="odno",
    original_order_no="orgn_odno",
    side="sll_buy_dvsn_cd",
    symbol="pdno",
    name="prdt_name",
    quantity="ord_qty",
    price="ord_unpr",
    filled_quantity="tot_ccld_qty",
    average_price="avg_prvs",
    filled_amount="tot_ccld_amt",
    cancelled="cncl_yn",
    remaining_quantity="rmn_qty",
    rejected_quantity="rjct_qty",
    order_type="ord_dvsn_cd",
)
PENDING_DOMESTIC = _map(
    "inquire-psbl-rvsecncl",
    "output",
    time="ord_tmd",
    branch="ord_gno_brno",
    order_no="odno",
    original_order_no="orgn_odno",
    side="sll_buy_dvsn_cd",
    symbol="pdno",
    name="prdt_name",
    quantity="ord_qty",
    price="ord_unpr",
    filled_quantity="tot_ccld_qty",
    cancellable_quantity="psbl_qty",
    order_type="ord_dvsn_cd",
    venue="excg_id_dvsn_cd",
)
PENDING_OVERSEAS = _map(
    "overseas-inquire-nccs",
    "output",
    day="ord_dt",
    time="ord_tmd",
    branch="ord_gno_brno",
    order_no="odno",
    original_order_no="orgn_odno",
    side="sll_buy_dvsn_cd",
    symbol="pdno",
    name="prdt_name",
    quantity="ft_ord_qty",
    price="ft_ord_unpr3",
    filled_quantity="ft_ccld_qty",
    cancellable_quantity="nccs_qty",
    currency="tr_crcy_cd",
    exchange="ovrs_excg_cd",
)
ORDERABLE_DOMESTIC = _map(
    "inquire-psbl-order",
    "output",
    cash="ord_psbl_cash",
    amount="nrcvb_buy_amt",
    quantity="nrcvb_buy_qty",
    max_amount="max_buy_amt",
    max_quantity="max_buy_qty",
    unit_price="psbl_qty_calc_unpr",
)
ORDERABLE_OVERSEAS = _map(
    "overseas-inquire-psamount",
    "output",
    currency="tr_crcy_cd",
    cash="ord_psbl_frcr_amt",
    amount="ovrs_ord_psbl_amt",
    quantity="ord_psbl_qty",
    max_quantity="max_ord_psbl_qty",
    exchange_rate="exrt",
)
ORDER_RESULT_DOMESTIC = _map(
    "order-cash", "output", branch="KRX_FWDG_ORD_ORGNO", order_no="ODNO", time="ORD_TMD"
)
ORDER_RESULT_OVERSEAS = _map(
    "overseas-order", "output", branch="KRX_FWDG_ORD_ORGNO", order_no="ODNO", time="ORD_TMD"
)

#: Every map above, for the catalog check.
FIELD_MAPS: tuple[FieldMap, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, FieldMap)
)
