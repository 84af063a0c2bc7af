"""Reading KIS's own ``kis_devlp.yaml`` for :meth:`~.config.KISConfig.from_kis_devlp`.

KIS's samples (``koreainvestment/open-trading-api``, ``kis_devlp.yaml`` and
``examples_user/kis_auth.py``) keep every setting in one flat YAML file. The keys used, as the
samples' ``auth(svr, product)`` / ``changeTREnv`` use them:

=====================  ==========================================================================
key                    becomes
=====================  ==========================================================================
``my_app``/``my_sec``  the real pair: ``kis_app_key``/``kis_app_secret`` for ``prod``; on ``vps``
                       ``real_app_key``/``real_app_secret`` (the market data paper lacks)
``paper_app``/``_sec`` ``kis_app_key``/``kis_app_secret`` for ``vps``
``my_htsid``           ``hts_id``
``my_acct_stock``      the real account for product 01, 22, 29 (``account_no`` on ``prod``,
                       ``real_account_no`` on ``vps``)
``my_acct_future``     the real account for product 03, 08
``my_paper_stock``     the paper account for product 01 (``vps``)
``my_paper_future``    the paper account for product 03 (``vps``); KIS has no paper 08/22/29
``my_prod``            the account product code (2 digits), unless ``product=`` is given
``prod``/``vps``       ``base_url`` of the environment (and ``real_base_url`` on ``vps``)
``ops``/``vops``       ``websocket_url`` of the environment
=====================  ==========================================================================

Ignored: ``my_token`` (tokens live in our token store, keyed by app key and domain) and
``my_agent`` (a browser User-Agent the samples send; ours names this client). An account key may
hold the 8 digits (as KIS's file says) or the whole ``NNNNNNNN-NN``.

The file is parsed here, not by PyYAML: it is a flat list of ``key: value`` lines, and a YAML
parser would read ``my_prod: 01`` unquoted as the number 1. The subset read: comments, blank
lines, ``key: value`` at the start of a line with the value plain, ``"double"`` (``\\"``,
``\\\\`` escapes) or ``'single'`` quoted. Anything else (nesting, lists, block scalars) is
refused with the line number. No message quotes a value: the file holds secrets.

A value that is still the sample's placeholder (KIS ships Korean text such as "앱키") or empty
is taken as unset: an error if the environment needs it (its own key pair), ignored otherwise.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .errors import KISConfigError

__all__ = ["config_values", "parse_flat_yaml"]

_MAX_BYTES = 1 << 20  # KIS's file is under 1 KiB: anything near this is not it
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]+(.*))?$")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "/": "/"}
_ENVIRONMENTS = {"prod": "real", "real": "real", "vps": "paper", "paper": "paper"}
# Product code -> (the real account key, the paper account key or None), as kis_auth.py maps them.
_ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "01": ("my_acct_stock", "my_paper_stock"),
    "03": ("my_acct_future", "my_paper_future"),
    "08": ("my_acct_future", None),
    "22": ("my_acct_stock", None),
    "29": ("my_acct_stock", None),
}
_DIGITS8 = re.compile(r"^[0-9]{8}$")


def parse_flat_yaml(text: str, name: str) -> dict[str, str]:
    """``key -> value`` of a flat YAML file (see the module docstring); ``name`` is the file
    as errors show it. :class:`KISConfigError` names the line, never its text."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t":
            raise KISConfigError(
                f"{name} line {number}: an indented line (nesting or a continued value): "
                "kis_devlp.yaml is a flat list of key: value lines"
            )
        match = _KEY.match(line.rstrip())
        if match is None:
            raise KISConfigError(f"{name} line {number}: not a key: value line")
        key = match.group(1)
        if key in lines:
            raise KISConfigError(
                f"{name} line {number}: {key} is set twice (first on line {lines[key]}): "
                "comment one out"
            )
        values[key] = _scalar(match.group(2) or "", f"{name} line {number} ({key})")
        lines[key] = number
    return values


def _scalar(raw: str, where: str) -> str:
    raw = raw.strip()
    if not raw or raw.startswith("#"):
        return ""
    if raw[0] in "\"'":
        value, rest = _quoted(raw, where)
        rest = rest.strip()
        if rest and not rest.startswith("#"):
            raise KISConfigError(f"{where}: text after the closing quote")
        return value
    if raw[0] in "[{&*!|>%@`":
        raise KISConfigError(
            f"{where}: lists, maps, anchors, tags and block scalars are not read here; "
            "write the value plain or in quotes"
        )
    # A plain scalar ends at " #" (a comment); a "#" inside a word is part of it, as in YAML.
    return re.split(r"[ \t]#", raw, maxsplit=1)[0].rstrip()


def _quoted(raw: str, where: str) -> tuple[str, str]:
    quote, out, i = raw[0], [], 1
    while i < len(raw):
        ch = raw[i]
        if quote == "'" and ch == "'":
            if raw[i + 1 : i + 2] == "'":  # '' is a quote inside single quotes
                out.append("'")
                i += 2
                continue
            return "".join(out), raw[i + 1 :]
        if quote == '"' and ch == "\\":
            escaped = raw[i + 1 : i + 2]
            if escaped not in _ESCAPES:
                raise KISConfigError(f"{where}: an escape this reader does not know")
            out.append(_ESCAPES[escaped])
            i += 2
            continue
        if quote == '"' and ch == '"':
            return "".join(out), raw[i + 1 :]
        out.append(ch)
        i += 1
    raise KISConfigError(f"{where}: the quoted value is not closed on its line")


def _usable(value: str | None) -> bool:
    # KIS's placeholders are Korean text; a credential, account or URL is ASCII.
    return bool(value) and value is not None and value.isascii()


def _account(values: dict[str, str], key: str, product: str, where: str) -> str | None:
    value = values.get(key)
    if not _usable(value) or value is None:
        return None
    value = value.strip()
    if _DIGITS8.match(value):
        return f"{value}-{product}"
    if re.match(r"^[0-9]{8}-?[0-9]{2}$", value):
        return value
    raise KISConfigError(f"{where}: {key} must be the 8-digit account number (or NNNNNNNN-NN)")


def _product(values: dict[str, str], product: str | None, where: str) -> str:
    if product is not None:
        code, source = product.strip(), "product="
    else:
        code, source = (values.get("my_prod") or "01").strip(), "my_prod"
    if code not in _ACCOUNTS:
        raise KISConfigError(
            f"{where}: {source} must be an account product code KIS's samples know: "
            f"{', '.join(_ACCOUNTS)}"
        )
    return code


def _read(path: str | os.PathLike[str]) -> tuple[str, str]:
    file = Path(path)
    name = str(file)
    try:
        with file.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise KISConfigError(
            f"cannot read the kis_devlp.yaml file {name}: {exc.strerror or type(exc).__name__}"
        ) from None
    if len(data) > _MAX_BYTES:
        raise KISConfigError(f"{name} is larger than 1 MiB: not a kis_devlp.yaml file")
    try:
        return data.decode("utf-8"), name
    except UnicodeDecodeError:
        raise KISConfigError(
            f"{name} is not UTF-8 text (KIS's samples write it in UTF-8)"
        ) from None


def config_values(
    path: str | os.PathLike[str], env: str, product: str | None
) -> tuple[dict[str, Any], str]:
    """KISConfig keyword arguments from the file at ``path`` for ``env`` (prod/real or
    vps/paper) and ``product``, and how errors name the file and the keys used."""
    environment = _ENVIRONMENTS.get(env.strip().lower()) if isinstance(env, str) else None
    if environment is None:
        raise KISConfigError(
            f"env must be one of {', '.join(_ENVIRONMENTS)} (KIS's svr), not {env!r}"
        )
    text, name = _read(path)
    values = parse_flat_yaml(text, name)
    code = _product(values, product, name)
    real_account_key, paper_account_key = _ACCOUNTS[code]
    paper = environment == "paper"
    key_name, secret_name = ("paper_app", "paper_sec") if paper else ("my_app", "my_sec")
    for key in (key_name, secret_name):
        if not _usable(values.get(key)):
            state = (
                "is still the sample's placeholder" if values.get(key) else "is missing or empty"
            )
            raise KISConfigError(
                f"{name}: {key} {state}: put the {'paper' if paper else 'real'} app "
                f"{'key' if key == key_name else 'secret'} from the KIS developer portal there"
            )
    config: dict[str, Any] = {
        "environment": environment,
        "kis_app_key": values[key_name],
        "kis_app_secret": values[secret_name],
    }
    used = {"kis_app_key": key_name, "kis_app_secret": secret_name}
    account_key = paper_account_key if paper else real_account_key
    if account_key is None:
        raise KISConfigError(
            f"{name}: product {code} has no paper account (KIS's paper trading offers 01 and "
            "03 only): pass product='01' or '03', or env='prod'"
        )
    account = _account(values, account_key, code, name)
    if account is not None:
        config["account_no"] = account
        used["account_no"] = f"{account_key} + product {code}"
    domain = values.get("vps" if paper else "prod")
    if _usable(domain):
        config["base_url"] = domain
        used["base_url"] = "vps" if paper else "prod"
    socket = values.get("vops" if paper else "ops")
    if _usable(socket):
        config["websocket_url"] = socket
        used["websocket_url"] = "vops" if paper else "ops"
    if _usable(values.get("my_htsid")):
        config["hts_id"] = values["my_htsid"]
        used["hts_id"] = "my_htsid"
    if paper and _usable(values.get("my_app")) and _usable(values.get("my_sec")):
        config["real_app_key"], config["real_app_secret"] = values["my_app"], values["my_sec"]
        used.update({"real_app_key": "my_app", "real_app_secret": "my_sec"})
        real_account = _account(values, real_account_key, code, name)
        if real_account is not None:
            config["real_account_no"] = real_account
            used["real_account_no"] = f"{real_account_key} + product {code}"
        if _usable(values.get("prod")):
            config["real_base_url"] = values["prod"]
            used["real_base_url"] = "prod"
    values.clear()
    origin = f"{name} (" + ", ".join(f"{field} from {key}" for field, key in used.items()) + ")"
    return config, origin
