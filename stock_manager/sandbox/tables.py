"""The sandbox's own view of which KIS paths exist and which TR_IDs each accepts.

Kept apart from the client's catalog on purpose: the sandbox plays KIS, so a wrong TR_ID in the
client must be caught here rather than mirrored (the sandbox imports nothing from the client).
Pairs are explicit because KIS's paper TR_IDs do not follow one rule (``VTTT1001U`` sells in paper
while ``TTTT1006U`` sells in real).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Environment = Literal["real", "paper"]

ORDER_CASH = "/uapi/domestic-stock/v1/trading/order-cash"
ORDER_RVSECNCL = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
ORDER_CREDIT = "/uapi/domestic-stock/v1/trading/order-credit"
ORDER_RESV = "/uapi/domestic-stock/v1/trading/order-resv"
INQUIRE_BALANCE = "/uapi/domestic-stock/v1/trading/inquire-balance"
INQUIRE_PSBL_ORDER = "/uapi/domestic-stock/v1/trading/inquire-psbl-order"
INQUIRE_DAILY_CCLD = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
INQUIRE_PRICE = "/uapi/domestic-stock/v1/quotations/inquire-price"
OVERSEAS_ORDER = "/uapi/overseas-stock/v1/trading/order"
OVERSEAS_RVSECNCL = "/uapi/overseas-stock/v1/trading/order-rvsecncl"

HASHKEY = "/uapi/hashkey"
TOKEN_PATH = "/oauth2/tokenP"  # noqa: S105 - a URL path, not a password
REVOKE = "/oauth2/revokeP"
APPROVAL = "/oauth2/Approval"


@dataclass(frozen=True)
class GatewayRoute:
    """One ``/uapi`` API: its HTTP method and the TR_IDs it accepts per domain.

    ``real``/``paper`` map a TR_ID to its role (``"buy"``, ``"sell"``, ``"recent"``...).
    An empty ``paper`` mapping means the API is not offered in paper trading.
    """

    method: Literal["GET", "POST"]
    real: dict[str, str] = field(default_factory=dict)
    paper: dict[str, str] = field(default_factory=dict)

    def tr_ids(self, environment: Environment) -> dict[str, str]:
        """TR_IDs accepted on ``environment``'s domain, with their roles."""
        return self.real if environment == "real" else self.paper

    def offered_in(self, environment: Environment) -> bool:
        """Whether KIS offers this API on that domain at all."""
        return bool(self.tr_ids(environment))


ROUTES: dict[str, GatewayRoute] = {
    ORDER_CASH: GatewayRoute(
        "POST",
        real={"TTTC0011U": "sell", "TTTC0012U": "buy"},
        paper={"VTTC0011U": "sell", "VTTC0012U": "buy"},
    ),
    ORDER_RVSECNCL: GatewayRoute(
        "POST", real={"TTTC0013U": "revise"}, paper={"VTTC0013U": "revise"}
    ),
    ORDER_CREDIT: GatewayRoute("POST", real={"TTTC0051U": "sell", "TTTC0052U": "buy"}),
    ORDER_RESV: GatewayRoute("POST", real={"CTSC0008U": "reserve"}),
    INQUIRE_BALANCE: GatewayRoute("GET", real={"TTTC8434R": "list"}, paper={"VTTC8434R": "list"}),
    INQUIRE_PSBL_ORDER: GatewayRoute(
        "GET", real={"TTTC8908R": "inquire"}, paper={"VTTC8908R": "inquire"}
    ),
    INQUIRE_DAILY_CCLD: GatewayRoute(
        "GET",
        real={"TTTC0081R": "recent", "CTSC9215R": "older"},
        paper={"VTTC0081R": "recent", "VTSC9215R": "older"},
    ),
    INQUIRE_PRICE: GatewayRoute(
        "GET", real={"FHKST01010100": "quote"}, paper={"FHKST01010100": "quote"}
    ),
    OVERSEAS_ORDER: GatewayRoute(
        "POST",
        real={"TTTT1002U": "buy", "TTTT1006U": "sell"},
        paper={"VTTT1002U": "buy", "VTTT1001U": "sell"},
    ),
    OVERSEAS_RVSECNCL: GatewayRoute(
        "POST", real={"TTTT1004U": "revise"}, paper={"VTTT1004U": "revise"}
    ),
}

# Paths counted by name in stats()["requests"]; any other path is counted under OTHER_PATHS,
# so junk paths cannot grow the table.
KNOWN_PATHS = frozenset({*ROUTES, HASHKEY, TOKEN_PATH, REVOKE, APPROVAL})
OTHER_PATHS = "(other)"
