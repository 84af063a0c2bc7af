"""The runnable example on each API's reference page: a ``KISRestClient`` call with the
required parameters filled from the catalog (defaults, first codes, plausible values); the client
itself fills the account and blank continuation keys, so the example leaves those out.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from stock_manager.adapters.broker.kis import ApiSpec
from stock_manager.adapters.broker.kis.protocol.validate import ACCOUNT_KEYS, sent_blank

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis.catalog import Param

__all__ = ["data_blocks", "example", "first_variant", "py_literal"]

# The four OAuth APIs have client methods of their own; their bodies carry the app secret.
_OAUTH_EXAMPLES = {
    "/oauth2/tokenP": (
        'token = client.access_token()\n    print("token expires at", token.expires_at)'
    ),
    "/oauth2/revokeP": 'print("revoked:", client.revoke())',
    "/uapi/hashkey": (
        'hashkey = client.hashkey({"PDNO": "005930", "ORD_QTY": "1"})  # a secret: never log it\n'
        '    print("hashkey received:", bool(hashkey))'
    ),
    "/oauth2/Approval": (
        "approval_key = client.approval_key()  # a secret: never log it\n"
        '    print("approval key received:", bool(approval_key))'
    ),
}


def _example_value(param: Param, spec: ApiSpec) -> str:
    """A plausible value: the stated default, else the first allowed code, else one by name."""
    if param.default is not None:
        return param.default
    for codes in (param.codes, *param.codes_by_venue.values()):
        if codes:
            return next(iter(codes))
    name = param.name.upper()
    overseas = "/overseas-" in spec.path
    if name in {"EXCD", "OVRS_EXCG_CD"}:
        return "NAS"
    if overseas and ("SYMB" in name or name == "PDNO"):
        return "AAPL"
    # Not checked against Length: the workbook's lengths are unreliable (PDNO is 5 in places).
    if "ISCD" in name or name in {"PDNO", "TR_KEY"}:
        return "005930"
    if name.endswith(("_DT", "DATE")) or "_DT_" in name:
        return "20260102"
    if "HOUR" in name or name.endswith("_TM"):
        return "090000"
    if name.rstrip("0123456789").endswith("QTY"):  # ORD_QTY, and the bonds' ORD_QTY2
        return "1"
    if "UNPR" in name or name.endswith(("PRIC", "PRICE")):  # ORD_UNPR, UNIT_PRICE...
        # A limit order needs a positive price (and a market one takes any).
        return "150.00" if overseas else "70000"
    return ""


def _example_params(spec: ApiSpec) -> dict[str, str]:
    """The required keys the client does not fill, each with a plausible value; a key the client
    sends blank is shown only when a value for it is plausible."""
    values = {}
    for param in spec.params:
        if not param.required or param.name in ACCOUNT_KEYS:
            continue
        value = _example_value(param, spec)
        if value or not sent_blank(spec, param):
            values[param.name] = value
    return values


_EXAMPLE_VARIANTS = ("buy", "recent")


def first_variant(spec: ApiSpec) -> str | None:
    choices = [name for name in _EXAMPLE_VARIANTS if name in spec.variants] or spec.variants
    return choices[0] if choices else None


def _environment_note(spec: ApiSpec) -> str:
    if spec.paper_supported:
        return "# KIS_* variables or .env configure the client (paper or real)"
    return "# KIS_* variables or .env configure the client: KIS_ENVIRONMENT=real (not in paper)"


def example(spec: ApiSpec) -> str:
    """A ``KISRestClient`` program calling ``spec`` (runs against KIS or the sandbox)."""
    lines = [
        "from stock_manager.adapters.broker.kis import KISConfig, KISRestClient",
        "",
        _environment_note(spec),
        "with KISRestClient(KISConfig()) as client:",
    ]
    variant = first_variant(spec)
    variant_arg = f", variant={py_literal(variant)}" if variant else ""
    if spec.path in _OAUTH_EXAMPLES:
        lines.append("    " + _OAUTH_EXAMPLES[spec.path])
    elif spec.transport == "websocket":
        tr_key = next((p for p in spec.params if p.name.lower() == "tr_key"), None)
        key = _example_value(tr_key, spec) if tr_key is not None else "005930"
        lines += [
            f"    tr_id = client.get_tr_id({py_literal(spec.alias)}{variant_arg})",
            "    approval_key = client.approval_key()  # a secret: never log it",
            "    subscribe = {",
            '        "header": {"approval_key": approval_key, "custtype": "P", "tr_type": "1",',
            '                   "content-type": "utf-8"},',
            '        "body": {"input": {"tr_id": tr_id, "tr_key": '
            + py_literal(key or "005930")
            + "}},",
            "    }",
            "    # Send json.dumps(subscribe) as one text frame on the websocket domain above.",
            "    print(tr_id)",
        ]
    else:
        params = _example_params(spec)
        lines += [
            "    response = client.make_request(",
            f"        {py_literal(spec.method)},",
            f"        api_id={py_literal(spec.alias)},",
        ]
        if variant:
            lines.append(f"        variant={py_literal(variant)},")
        if params:
            lines.append("        params={")
            lines += [
                f"            {py_literal(name)}: {py_literal(value)},"
                for name, value in params.items()
            ]
            lines.append("        },")
        lines.append("    )")
        block = next(iter(data_blocks(spec)), None)
        lines.append(
            f"    print(response.get({py_literal(block)}))"
            if block
            else "    print(dict(response))"
        )
    return "\n".join(lines) + "\n"


def py_literal(value: str) -> str:
    """A Python string literal, double-quoted as the house style writes them."""
    return json.dumps(value, ensure_ascii=False)


def data_blocks(spec: ApiSpec) -> list[str]:
    # "body" holds the top-level fields (rt_cd, msg1, ctx_area_*): not what a caller reads.
    return [block.name for block in spec.response if block.name != "body"]


# The variant an example shows: a sell or an older-period inquiry of a fresh account is refused.
