"""Which key a call on a paper config goes through: the paper key, or the user's real key.

KIS offers some APIs only on the real domain (the catalog's ``paper_supported`` is False):
most market data (rankings, ELW, overseas analysis...). PyKis users expect a paper account with
a real key pair to get those through the real key, so the clients do it when the config holds
one (``real_app_key``/``real_app_secret``, see :mod:`.config`).

What may switch: only a REST API that is not an order and takes no account (no ``CANO`` or
``ACNT_PRDT_CD`` parameter). An order or an account inquiry on a paper config never goes to the
real domain, whatever the config holds: the paper account is the one the user meant, and the
real account must never see an order meant for paper. Such a call is refused, as it is without a
real pair, with :class:`KISPaperTradingUnsupportedError` saying why.

Pure: no I/O, used by both clients.
"""

from __future__ import annotations

from .catalog import ApiSpec
from .config import KISConfig
from .errors import KISPaperTradingUnsupportedError

__all__ = ["ACCOUNT_PARAMS", "goes_to_real_key", "may_use_real_key"]

#: The parameters that make a call an account's: such a call never changes domain.
ACCOUNT_PARAMS = frozenset({"CANO", "ACNT_PRDT_CD"})


def may_use_real_key(spec: ApiSpec) -> bool:
    """True for a call a paper config may send through the real key: a REST API the paper
    domain lacks, not an order, taking no account."""
    return (
        spec.transport == "rest"
        and not spec.paper_supported
        and not spec.order
        and not any(param.name.upper() in ACCOUNT_PARAMS for param in spec.params)
    )


def goes_to_real_key(spec: ApiSpec | None, config: KISConfig) -> bool:
    """True when ``config``'s client must send a call of ``spec`` through the real key.

    False when the configured key can make it (a real config, an API paper offers, or a path
    the catalog does not know). :class:`KISPaperTradingUnsupportedError` when only the real
    domain offers it and it may not (order or account) or cannot (no real pair) go there.
    """
    if spec is None or not config.is_paper or spec.paper_supported or spec.transport != "rest":
        return False
    what = (
        f"{spec.api_id} ({spec.alias}, {spec.name}) is not offered in paper trading "
        "(모의투자 미지원)"
    )
    if not may_use_real_key(spec):
        kind = "an order" if spec.order else "an account's call (it takes CANO)"
        raise KISPaperTradingUnsupportedError(
            f"{what}, and it is {kind}: a paper config never sends it to the real domain, "
            "even with a real key pair. Use a real config (KIS_ENVIRONMENT=real) for the real "
            "account. Nothing was sent"
        )
    if not config.has_real_key:
        raise KISPaperTradingUnsupportedError(
            f"{what}: set KIS_REAL_APP_KEY and KIS_REAL_APP_SECRET (your real key pair) and "
            "the paper client sends it through the real domain, or use KIS_ENVIRONMENT=real. "
            "Nothing was sent"
        )
    return True
