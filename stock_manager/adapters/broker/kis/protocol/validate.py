"""A call's parameters checked against the catalog before anything is sent.

KIS answers a missing key with ``OPSQ2001`` and a wrong code with an error of its own, after the
token was fetched and the rate-limit budget spent. What the catalog knows about an API's request
parameters (``ApiSpec.params``: name, required, may-be-empty, codes, default) catches those here:

* filled: ``CANO``/``ACNT_PRDT_CD`` from the configured account, a required key the caller left
  out with the default its description states, and every required key KIS takes empty
  (continuation keys and the like) as ``""``;
* refused (:class:`KISUsageError`): a required key still missing (all of them named), a value
  outside a code list known to be complete, lower-case keys in a POST body;
* warned (logging): an unknown key, a value outside an incomplete code list, a deprecated TR_ID.

A spec without ``params`` (nothing known about them) is passed through untouched. Values are
never shown for keys that may hold a password, and every message goes through redaction.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from .._config_checks import env_var
from ..catalog import ApiSpec, Param
from ..config import KISConfig
from ..errors import KISUsageError
from ..redaction import get_logger, redact

__all__ = ["ACCOUNT_KEYS", "checked_params", "sent_blank", "warn_if_deprecated"]

logger = get_logger("stock_manager.kis.validate")

#: The account number's two halves, filled from ``config.account_no`` when left out.
ACCOUNT_KEYS = ("CANO", "ACNT_PRDT_CD")
# The request parameter that names the venue (KRX/NXT/SOR) where code lists differ per venue.
_VENUE_KEY = "EXCG_ID_DVSN_CD"
# Parameter names whose values are not shown in messages (account passwords).
_UNSHOWN = ("PWD", "PSWD", "PASSWORD", "PASS_WD")


def _params_of(spec: ApiSpec | None) -> tuple[Param, ...]:
    return spec.params if spec is not None else ()


def _what(spec: ApiSpec) -> str:
    return f"{spec.api_id} ({spec.alias})"


def checked_params(
    spec: ApiSpec | None,
    method: str,
    params: Mapping[str, Any] | None,
    config: KISConfig,
    *,
    gateway: bool,
    tr_id: str | None = None,
    warn: bool = True,
    in_url: Collection[str] = (),
) -> Mapping[str, Any] | None:
    """``params`` checked against ``spec`` and completed; raises :class:`KISUsageError`.

    ``gateway``: the call goes to KIS's gateway (a token call), whose POST bodies take
    upper-case keys only. ``tr_id``: the caller's explicit TR_ID, warned about if deprecated.
    ``warn=False`` keeps the warnings quiet (later pages of one call). ``in_url``: names the
    caller wrote into the URL's query string; they count as given.
    """
    if warn:
        warn_if_deprecated(spec, tr_id)
    known = _params_of(spec)
    if not gateway or spec is None or not known:
        # Nothing known; or not a gateway call: the hashkey API's body is any order's body.
        return params
    if params is not None and not isinstance(params, Mapping):
        return params  # the encoder says why it cannot be sent
    if method == "POST":
        _refuse_lower_case(spec, params or {}, {p.name for p in known})
        _refuse_numbers(spec, params or {}, known)
    given = dict(params or {})
    # Query names are matched regardless of case (KIS's servers accept either); body keys exactly.
    fold = method == "GET"
    present = {_key(name, fold): name for name in given if isinstance(name, str)}
    in_query = {_key(name, fold) for name in in_url} - set(present)
    for param in known:
        if _key(param.name, fold) not in present and _key(param.name, fold) not in in_query:
            filler = _filler(param, spec, config)
            if filler is not None:
                given[param.name] = filler
                present[_key(param.name, fold)] = param.name
    missing = [
        p.name
        for p in known
        if p.required and _key(p.name, fold) not in present and _key(p.name, fold) not in in_query
    ]
    if missing:
        raise KISUsageError(_missing_message(spec, missing, config))
    by_key = {_key(p.name, fold): p for p in known}
    unknown = [name for key, name in present.items() if key not in by_key]
    if unknown and warn:
        logger.warning(
            "%s takes no parameter %s (the catalog lists %s): sent anyway; check the spelling",
            _what(spec),
            ", ".join(sorted(unknown)),
            ", ".join(p.name for p in known),
        )
    venue = _venue(given, by_key, fold)
    for key, name in present.items():
        if key in by_key:
            _check_code(spec, by_key[key], given[name], venue, warn=warn)
    return given


def _key(name: str, fold: bool) -> str:
    return name.upper() if fold else name


def _filler(param: Param, spec: ApiSpec, config: KISConfig) -> str | None:
    """What to send for ``param`` when the caller left it out, or None to leave it out."""
    if param.name in ACCOUNT_KEYS and config.account_no:
        return config.cano if param.name == "CANO" else config.acnt_prdt_cd
    if not param.required:
        # A continuation key the workbook marks optional is still sent, empty, on the first
        # page, as KIS's own examples do: the next pages carry it anyway.
        return "" if param.empty_ok and param.name in spec.paging.keys else None
    if param.default is not None:
        return str(param.default)
    # A blank that means something ("공백: 전체", "all stocks") is the caller's choice to make:
    # only continuation keys and keys KIS documents as nothing but blank are filled.
    return "" if sent_blank(spec, param) else None


def sent_blank(spec: ApiSpec, param: Param) -> bool:
    """True when the client sends ``param`` as "" if the caller leaves it out: a continuation
    key, or a key KIS documents as nothing but blank."""
    return param.empty_ok and (param.name in spec.paging.keys or _blank_only(param.description))


# "공백", "공란 입력", '"" 공백으로 입력', "공란(Default)", "공백 필수 입력": the key's whole story.
_BLANK_ONLY = re.compile(
    r'^(?:"")?\s*\(?(?:공백|공란)\)?\s*(?:필수\s*)?(?:으로\s*)?(?:입력)?\s*'
    r"(?:\(default\)|:\s*default)?\s*$",
    re.IGNORECASE,
)


def _blank_only(description: str) -> bool:
    # Notes ("※ ...", "* ...") beside the instruction do not make the blank mean something.
    lines = [
        line.strip()
        for line in description.splitlines()
        if line.strip() and not line.strip().startswith(("※", "*"))
    ]
    return len(lines) == 1 and _BLANK_ONLY.match(lines[0]) is not None


def _missing_message(spec: ApiSpec, missing: list[str], config: KISConfig) -> str:
    message = (
        f"{_what(spec)} needs {', '.join(missing)} (KIS would answer OPSQ2001 필수항목이 "
        "누락되었습니다): pass them in params"
    )
    if not config.account_no and any(name in ACCOUNT_KEYS for name in missing):
        message += (
            f"; CANO/ACNT_PRDT_CD are filled from the account when one is configured: set "
            f"{env_var('account_no')} (or account_no=) to 12345678-01"
        )
    return message + "; nothing was sent"


def _refuse_lower_case(spec: ApiSpec, body: Mapping[str, Any], names: set[str]) -> None:
    # A name the catalog itself spells in lower case (a workbook quirk) is what KIS expects.
    lower = sorted(
        key for key in body if isinstance(key, str) and key != key.upper() and key not in names
    )
    if lower:
        fixed = ", ".join(f"{key} -> {key.upper()}" for key in lower)
        raise KISUsageError(
            f"{_what(spec)}: KIS takes upper-case keys in a POST body; upper-case {fixed}. "
            "Nothing was sent"
        )


def _refuse_numbers(spec: ApiSpec, body: Mapping[str, Any], known: tuple[Param, ...]) -> None:
    # KIS's body values are strings, numbers included ("ORD_QTY": "3"): a JSON number is refused
    # by KIS (OPSQ2002 ... 문자열이어야 합니다), so it is refused here, before a request is spent.
    strings = {p.name for p in known if p.type == "string"}
    numbers = sorted(
        key
        for key, value in body.items()
        if key in strings and isinstance(value, int | float) and not isinstance(value, bool)
    )
    if numbers:
        fixed = ", ".join(f'{key}: "{body[key]}"' for key in numbers)
        raise KISUsageError(
            f"{_what(spec)}: KIS takes every body value as a string (it refuses numbers with "
            f"OPSQ2002); send {fixed}. Nothing was sent"
        )


def _venue(given: Mapping[str, Any], by_key: Mapping[str, Any], fold: bool) -> str | None:
    """The venue (KRX, NXT, SOR, ...) the call names, else the default its parameter states."""
    for name, value in given.items():
        if isinstance(name, str) and _key(name, fold) == _key(_VENUE_KEY, fold) and value:
            return str(value).strip().upper()
    param = by_key.get(_key(_VENUE_KEY, fold))
    default = getattr(param, "default", None) if param is not None else None
    return str(default).upper() if default else None


def _check_code(spec: ApiSpec, param: Param, value: Any, venue: str | None, *, warn: bool) -> None:
    """A value outside the documented codes: an error where the list is complete, else a
    warning. Per venue where the description splits the codes and the venue is known."""
    if value is None or value == "" or not isinstance(value, str | int):
        return  # "" is KIS's "not given"; other types are the encoder's to refuse
    by_venue: Mapping[str, Mapping[str, str]] = getattr(param, "codes_by_venue", {}) or {}
    codes: Mapping[str, str] = param.codes or {}
    where = ""
    if venue is not None and venue in by_venue:
        codes, where = by_venue[venue], f" on {venue}"
    elif by_venue:
        tables = (codes, *by_venue.values())
        codes = {code: meaning for table in tables for code, meaning in table.items()}
    if not codes or str(value) in codes:
        return
    shown = "" if any(mark in param.name.upper() for mark in _UNSHOWN) else f" {str(value)[:40]!r}"
    listed = ", ".join(f"{code} ({text})" if text else code for code, text in codes.items())
    text = redact(f"{_what(spec)}: {param.name}{shown} is not one of KIS's codes{where}: {listed}")
    if param.codes_complete:
        raise KISUsageError(f"{text}; nothing was sent")
    if warn:
        logger.warning("%s (the list may be incomplete: sent anyway)", text)


def warn_if_deprecated(spec: ApiSpec | None, tr_id: str | None) -> None:
    """Log a warning when the caller's explicit ``tr_id`` is one KIS has replaced."""
    if spec is None or tr_id is None:
        return
    successor = spec.deprecated_tr_ids.get(tr_id.strip())
    if successor is not None:
        logger.warning(
            "TR_ID %s of %s is deprecated (KIS may block it without notice): use %s",
            tr_id.strip(),
            _what(spec),
            successor,
        )
