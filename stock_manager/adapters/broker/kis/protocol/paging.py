"""How the next page of a KIS inquiry is asked for, per paging form (``ApiSpec.paging.form``).

* ``tr_cont``: header ``tr_cont: N`` and the continuation keys (``CTX_AREA_FK100``/``NK100`` or
  ``FK200``/``NK200``) sent back from the reply's lower-case fields; more while the reply's
  ``tr_cont`` header is ``F``/``M``. Also used for ``none``, ``blank`` and an unknown API, as
  before forms were known: such a reply normally says it is the last.
* ``keyb``: ``KEYB`` set to the reply's ``keyb`` (overseas quotes and rankings; the header's
  ``tr_cont`` is not used there); more while it is not blank. A reply without the field falls
  back to the header, and "more" without a key to follow ends the pages as truncated.
* ``next_keyb``: ``NEXT="1"`` and ``KEYB``; more while the reply's ``next`` is ``"1"``.
* ``index_key``: ``QRY_TP="Q"`` on the first page, then ``"P"`` with ``INDEX_KEY`` from the
  reply's ``index_key``; more while that is not blank.
* ``cursor`` (a time or date the caller moves): not followed here, see ``iter_pages``.

Reply fields are looked up at the top level of the body, then in its object blocks
(``output1``, ``output2``, ...), regardless of case. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import KISProtocolError

__all__ = ["CURSOR", "MORE", "first_params", "next_params", "reply_value", "says_more", "set_param"]

#: The form ``iter_pages`` cannot follow: the caller moves a time or date parameter.
CURSOR = "cursor"
#: The ``tr_cont`` reply header values that say another page follows (``D``/``E``: the last).
MORE = frozenset({"F", "M"})
_KEYED = {"keyb": "keyb", "next_keyb": "keyb", "index_key": "index_key"}


def set_param(params: dict[str, Any], name: str, value: Any) -> None:
    """``params[name] = value``, dropping a caller's copy spelt in another case (a query
    name is one name whatever its case: both would be sent)."""
    for key in [k for k in params if isinstance(k, str) and k.upper() == name and k != name]:
        del params[key]
    params[name] = value


def first_params(form: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The first page's params: the caller's, plus the first-page values a form needs."""
    first = dict(params)
    names = {k.upper() for k in first if isinstance(k, str)}
    if form == "index_key":
        for name, value in (("QRY_TP", "Q"), ("INDEX_KEY", "")):
            if name not in names:
                first[name] = value
    elif form == "next_keyb":
        for name in ("NEXT", "KEYB"):
            if name not in names:
                first[name] = ""
    return first


def reply_value(reply: Mapping[str, Any], name: str) -> Any:
    """The reply's field ``name`` (any case): top level first, then object blocks."""
    scopes = [reply, *(v for v in reply.values() if isinstance(v, Mapping))]
    for scope in scopes:
        for key, value in scope.items():
            if isinstance(key, str) and key.lower() == name:
                return value
    return None


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        # The server's fault, not the caller's.
        raise KISProtocolError(f"KIS sent a {name} that is not a continuation key")
    return str(value).strip()


def says_more(form: str, reply: Mapping[str, Any], tr_cont: str) -> bool:
    """True when the reply (body, ``tr_cont`` header) says another page follows."""
    if form == "next_keyb":
        flag = reply_value(reply, "next")
        return _text(flag, "next") == "1" if flag is not None else tr_cont in MORE
    if form in _KEYED:
        key = reply_value(reply, _KEYED[form])
        if key is None:
            # The workbook's layouts do not always show where the key comes back: without the
            # field, the header decides (and a "more" with no key to follow stays truncated).
            return tr_cont in MORE
        return _text(key, _KEYED[form]) != ""
    return tr_cont in MORE


def next_params(
    form: str, keys: tuple[str, ...], sent: Mapping[str, Any], reply: Mapping[str, Any]
) -> tuple[dict[str, Any], str] | None:
    """The next request's params and ``tr_cont`` header, or None when the reply gives no new
    key to continue with (asking again would return the same page)."""
    params = dict(sent)
    if form in _KEYED:
        field = _KEYED[form]
        key = _text(reply_value(reply, field), field)
        previous = next((v for k, v in sent.items() if str(k).lower() == field), None)
        if not key or key == _text(previous, field):
            return None
        set_param(params, field.upper(), key)
        if form == "next_keyb":
            set_param(params, "NEXT", "1")
        elif form == "index_key":
            set_param(params, "QRY_TP", "P")
        return params, ""
    wanted = {k.lower() for k in keys}
    for name, value in reply.items():
        lower = name.lower()
        if lower in wanted or (not wanted and lower.startswith("ctx_area_")):
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise KISProtocolError(f"KIS sent a {name} that is not a continuation key")
            set_param(params, name.upper(), value)
    return params, "N"
