"""The sandbox's own view of which KIS paths exist and which TR_IDs each accepts.

Kept apart from the client's catalog on purpose: the sandbox plays KIS, so a wrong TR_ID in the
client must be caught here rather than mirrored (the sandbox imports nothing from the client).
The TR_ID pairs come from its own generated copy of KIS's table (``kis_routes.json``), never derived
by rule: KIS's paper TR_IDs do not follow one (``VTTT1001U`` sells in paper while ``TTTT1006U``
sells in real).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

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
class CodeRule:
    """The values KIS accepts for one parameter whose workbook code list is complete."""

    values: frozenset[str]
    empty_ok: bool


@dataclass(frozen=True)
class GatewayRoute:
    """One ``/uapi`` API: its HTTP method, the TR_IDs it accepts per domain and its required keys.

    ``real``/``paper`` map a TR_ID to its role (``"buy"``, ``"sell"``, ``"recent"``...).
    An empty ``paper`` mapping means the API is not offered in paper trading. ``deprecated``
    maps an old TR_ID to its successor (of either domain); ``required`` lists the keys KIS's
    workbook marks Required, upper-case, in the workbook's order. ``codes`` holds the allowed
    values of the parameters with a complete code list and ``continuation`` the paging keys
    (an empty value always passes for those), both under upper-case names.
    """

    method: Literal["GET", "POST"]
    real: dict[str, str] = field(default_factory=dict)
    paper: dict[str, str] = field(default_factory=dict)
    deprecated: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    codes: dict[str, CodeRule] = field(default_factory=dict)
    continuation: frozenset[str] = frozenset()

    def tr_ids(self, environment: Environment) -> dict[str, str]:
        """TR_IDs accepted on ``environment``'s domain, with their roles."""
        return self.real if environment == "real" else self.paper

    def offered_in(self, environment: Environment) -> bool:
        """Whether KIS offers this API on that domain at all."""
        return bool(self.tr_ids(environment))

    def role_of(
        self, tr_id: str, environment: Environment, *, accept_deprecated: bool
    ) -> str | None:
        """The role of ``tr_id`` on ``environment``'s domain, or None when KIS would refuse it.

        A deprecated TR_ID plays its successor's role, but only on the successor's domain (an
        old paper TR_ID stays wrong on the real domain), and only while ``accept_deprecated``.
        """
        accepted = self.tr_ids(environment)
        if tr_id in accepted:
            return accepted[tr_id]
        successor = self.deprecated.get(tr_id)
        if accept_deprecated and successor is not None:
            return accepted.get(successor)
        return None


#: The sandbox's own copy of KIS's route table, generated from KIS's workbook by
#: ``tools/build_catalog.py`` (path -> method, TR_IDs per domain with their variant, deprecated
#: TR_IDs, order flag, required parameters, code lists, paging form with its keys and rows per
#: call, documented reply). Every KIS REST API is listed; the sandbox serves some.
CATALOG_ROUTES: dict[str, dict[str, Any]] = json.loads(
    resources.files(__package__).joinpath("kis_routes.json").read_text(encoding="utf-8")
)["routes"]


def _served(path: str, roles: dict[str, str]) -> GatewayRoute:
    entry = CATALOG_ROUTES[path]

    def side(environment: Environment) -> dict[str, str]:
        return {tr: roles[v] for tr, v in entry[environment].items() if v in roles}

    return GatewayRoute(
        entry["method"],
        real=side("real"),
        paper=side("paper"),
        deprecated=dict(entry["deprecated"]),
        # Some sheets spell their GET parameters in lower case; KIS matches query names without
        # regard to case and POST keys are upper-case, so one upper-case spelling fits both.
        required=tuple(name.upper() for name in entry["required"]),
        codes={
            name.upper(): CodeRule(frozenset(rule["values"]), bool(rule["empty_ok"]))
            for name, rule in entry["codes"].items()
        },
        continuation=frozenset(key["param"].upper() for key in entry["keys"]),
    )


def _every_variant(path: str) -> dict[str, str]:
    entry = CATALOG_ROUTES[path]
    return {variant: variant for side in ("real", "paper") for variant in entry[side].values()}


#: Every documented ``/uapi`` API, admitted by the gateway as strictly as KIS admits it. A
#: handler sees the variant of the TR_ID it was called with as ``call.role`` ("buy", "sell-jp",
#: "night", "default"...). Which APIs have a handler is the app's business (``app.HANDLERS``).
ROUTES: dict[str, GatewayRoute] = {
    path: _served(path, _every_variant(path)) for path in CATALOG_ROUTES
}

# Paths counted by name in stats()["requests"]; any other path is counted under OTHER_PATHS,
# so junk paths cannot grow the table.
KNOWN_PATHS = frozenset({*ROUTES, HASHKEY, TOKEN_PATH, REVOKE, APPROVAL})
OTHER_PATHS = "(other)"
