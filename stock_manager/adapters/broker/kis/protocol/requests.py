"""KIS calls in, :class:`PreparedRequest` out (the request half of the sans-I/O core).

Two rules this module keeps for the I/O shells:

* credentials only ever go to the configured domain (:func:`resolve_url` refuses other hosts
  before a request exists);
* a body is serialised once (:func:`encode_body`): the hashkey is computed over, and the
  request sends, the very same bytes.

The OAuth and hashkey requests, which carry the app secret in their body, are built in
:mod:`.oauth`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from .._config_checks import env_var
from ..catalog import ApiSpec, Catalog, get_catalog
from ..config import KISConfig
from ..errors import (
    KISConfigError,
    KISForeignURLError,
    KISUsageError,
)
from .models import SECRET_HEADERS, PreparedRequest, new_gt_uid
from .validate import checked_params

__all__ = [
    "HEADER_VALUE",
    "JSON_CONTENT_TYPE",
    "build_request",
    "check_credentials",
    "credential_headers",
    "encode_body",
    "resolve_url",
]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

_METHODS = frozenset({"GET", "POST"})
# HTTP's grammar as h11 enforces it, less h11's non-ASCII (httpx encodes headers as ASCII): a
# name is a token; a value is visible ASCII with inner spaces or tabs only, or empty. Whatever h11
# would refuse is refused here instead, before sending: refused inside h11, an order could only be
# reported as "may or may not have been executed" although not a byte left.
_HEADER_NAME = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
HEADER_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# httpx refuses a URL holding an ASCII control character (and caps URLs at 64 KiB, after the token
# was fetched); servers commonly refuse request lines past 8 KiB. Checked up front instead.
MAX_URL_LENGTH = 8192


def encode_body(params: Mapping[str, Any] | None) -> bytes:
    """Serialise a JSON body once: compact, UTF-8, non-ASCII kept as is."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise KISUsageError(f"a POST body must be a mapping, not {type(params).__name__}")
    try:
        text = json.dumps(dict(params), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # NaN, lone surrogates, cycles
        raise KISUsageError(f"the POST body cannot be sent as JSON: {exc}") from None


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else _DEFAULT_PORTS.get(scheme)


def resolve_url(base_url: str, url: str) -> tuple[str, str, str]:
    """Split ``url`` into (absolute URL without query, API path, query) on ``base_url``'s host.

    ``url`` is a path (``/uapi/...``) or an absolute URL on the same scheme, host and port;
    anything else raises :class:`KISForeignURLError`, so app keys and tokens never leave.
    """
    parts = _split_usable(url)
    base = urlsplit(base_url)
    prefix = base.path.rstrip("/")
    if parts.scheme or parts.netloc:
        try:
            same = (
                parts.scheme.lower() == base.scheme.lower()
                and (parts.hostname or "") == (base.hostname or "")
                and _port(parts.scheme.lower(), parts.port) == _port(base.scheme.lower(), base.port)
            )
        except ValueError:  # an unparsable port
            same = False
        if not same:
            raise KISForeignURLError(
                f"refusing to send KIS credentials to {parts.scheme}://{parts.netloc}: "
                f"requests go to the configured domain {base.scheme}://{base.netloc} only "
                "(pass a path such as /uapi/..., or set KIS_BASE_URL)"
            )
        path = parts.path or "/"
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
    else:
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
    if not path.isascii():  # KIS paths are ASCII; a fullwidth slash from an IME is a typo
        raise KISUsageError(f"the path {path!r} has non-ASCII characters: KIS paths are ASCII")
    origin = f"{base.scheme}://{base.netloc}"
    return f"{origin}{prefix}{path}", path, parts.query


def _split_usable(url: str) -> SplitResult:
    """``urlsplit(url)``, refusing what httpx would refuse (or silently drop) when sending."""
    if not url:
        raise KISUsageError("the KIS path or URL is empty: pass a path such as /uapi/...")
    # httpx's rule (an ASCII control anywhere), plus what cannot be meant in a KIS path: spaces,
    # backslashes, and a fragment, which is never sent.
    if any((ch.isascii() and not ch.isprintable()) or ch in "\\ #" for ch in url):
        raise KISUsageError(
            f"not a usable KIS path or URL: {url[:80]!r} (control characters, spaces, "
            "backslashes and '#' cannot be sent)"
        )
    if len(url) > MAX_URL_LENGTH:
        raise KISUsageError(f"the KIS path or URL is longer than {MAX_URL_LENGTH} characters")
    try:
        return urlsplit(url)
    except ValueError as exc:  # a host invalid under NFKC normalisation, an unclosed [IPv6
        raise KISUsageError(f"not a usable KIS path or URL: {url[:80]!r} ({exc})") from None


def _query_value(key: str, value: Any) -> str:
    # As for the body (encode_body): finite numbers and strings only; a bool would go out as
    # "True" and NaN as "nan", which KIS can only misread.
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise KISUsageError(
            f"query parameter {key} must be a string or number, not {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise KISUsageError(f"query parameter {key} must be a finite number, not {value}")
    return str(value)


def _resolve_spec(
    catalog: Catalog, method: str, path: str | None, api_id: str | None
) -> ApiSpec | None:
    if api_id is None:
        return catalog.find(method, path) if path is not None else None
    spec = catalog.get(api_id)
    if spec.method != method:
        raise KISUsageError(f"{spec.api_id} ({spec.alias}) is a {spec.method} API, not {method}")
    if path is not None and path != spec.path:
        raise KISUsageError(
            f"{spec.api_id} ({spec.alias}) lives at {spec.path}, not {path}: drop url= or api_id="
        )
    return spec


def _unusable_credential(config: KISConfig) -> str | None:
    """The config field of the first credential that cannot travel in a header, else None."""
    values = {"kis_app_key": config.app_key, "kis_app_secret": config.app_secret}
    if config.custtype == "B" and config.personalseckey is not None:
        values["personalseckey"] = config.personalseckey.get_secret_value()
    return next((name for name, value in values.items() if not HEADER_VALUE.fullmatch(value)), None)


def check_credentials(config: KISConfig) -> None:
    """:class:`KISConfigError` if a credential cannot travel in an HTTP header."""
    # The values are looked at in a frame that has returned before anything is raised: error
    # trackers record every frame's locals, and their scrubbers do not know "appsecret".
    field = _unusable_credential(config)
    if field is not None:
        raise KISConfigError(
            f"{field} ({env_var(field)}) holds a character that cannot be sent in an HTTP "
            "header (visible ASCII only): check it for a stray space, line break or non-ASCII "
            "character"
        )


def credential_headers(config: KISConfig) -> dict[str, str]:
    """``appkey`` and ``appsecret`` (and a corporate customer's ``personalseckey``).

    Called last when building a request, after every check that can raise, so that no frame of
    a traceback raised while building holds a secret.
    """
    headers = {"appkey": config.app_key, "appsecret": config.app_secret}
    if config.custtype == "B":
        # KISConfig has already checked these are all set for B.
        secret = config.personalseckey
        headers["personalseckey"] = secret.get_secret_value() if secret is not None else ""
    return headers


def _gateway_headers(config: KISConfig, tr_id: str | None, tr_cont: str) -> dict[str, str]:
    """The gateway's headers, credentials left out (:func:`credential_headers` adds them)."""
    headers = {"content-type": JSON_CONTENT_TYPE}
    if tr_id:
        headers["tr_id"] = tr_id
    headers["custtype"] = config.custtype
    headers["tr_cont"] = tr_cont
    if config.custtype == "B":
        headers["seq_no"] = config.seq_no or ""
        headers["phone_number"] = config.phone_number or ""
        headers["ip_addr"] = config.ip_addr or ""
        headers["gt_uid"] = new_gt_uid()
    if config.mac_address:
        headers["mac_address"] = config.mac_address
    return headers


# Headers that frame the message or steer the connection: the HTTP library sets them from the
# request itself. A caller's copy would be sent as is (httpx keeps ``content-length: 2`` on an
# 8-byte body) and h11 would fail only once the head was on the wire; see _base._NOT_SENT.
_FRAMING_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def _user_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's extra headers, names lower-cased, each checked against HTTP's grammar;
    framing and connection headers are refused."""
    checked: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            # Before lower(): KELVIN SIGN lower-cases to an ASCII "k".
            raise KISUsageError(
                f"header name {name!r} is not an HTTP token (ASCII letters, digits and "
                "!#$%&'*+-.^_`|~ only); nothing was sent"
            )
        if not isinstance(value, str):
            raise KISUsageError(f"header {name} must be a string, not {type(value).__name__}")
        if name.lower() in _FRAMING_HEADERS:
            raise KISUsageError(
                f"header {name} frames the HTTP message and is set by the client from the "
                "request itself: leave it out; nothing was sent"
            )
        checked[name.lower()] = value
    return checked


def build_request(
    config: KISConfig,
    method: str,
    url: str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    tr_id: str | None = None,
    api_id: str | None = None,
    variant: str | None = None,
    tr_cont: str = "",
    headers: Mapping[str, str] | None = None,
    catalog: Catalog | None = None,
    warn: bool = True,
) -> PreparedRequest:
    """Turn one KIS call into a :class:`PreparedRequest` (without the token: the shells add it).

    ``url`` is a path on the configured domain (or an absolute URL on it); with ``api_id`` it may
    be omitted. The catalog supplies the TR_ID (``tr_id=`` overrides it), whether a token is
    needed and whether the call is an order. A path not in the catalog needs a token, counts
    against the rate limit, is an order if it is a POST, and must be given ``tr_id=``.

    Where the catalog knows the API's parameters, ``params`` are completed and checked first
    (:mod:`.validate`): the account and may-be-empty keys filled, a missing required key or an
    impossible code refused with :class:`KISUsageError`. ``warn=False`` silences the warnings
    (unknown key, deprecated TR_ID), for the later pages of one call.
    """
    if not isinstance(method, str):
        raise KISUsageError(f"method must be 'GET' or 'POST', not {type(method).__name__}")
    method = method.strip().upper()
    if method not in _METHODS:
        raise KISUsageError(f"KIS REST APIs use GET or POST, not {method!r}")
    catalog = catalog or get_catalog()
    if url is None and api_id is None:
        raise KISUsageError("pass url= (a path such as /uapi/...) or api_id=")
    given_path = resolve_url(config.rest_base_url, url)[1] if url is not None else None
    spec = _resolve_spec(catalog, method, given_path, api_id)
    target = url if url is not None else spec.path if spec is not None else ""
    full_url, path, query = resolve_url(config.rest_base_url, target)
    if tr_cont not in ("", "N"):
        raise KISUsageError(f"tr_cont must be '' or 'N' (next page), not {tr_cont!r}")

    # The API's own mistakes (variant, paper support) first, then the parameters'.
    sent_tr_id = _tr_id(config, spec, method, path, tr_id=tr_id, variant=variant)
    auth = spec.auth if spec is not None else "token"
    params = checked_params(
        spec,
        method,
        params,
        config,
        gateway=auth == "token",
        tr_id=tr_id,
        warn=warn,
        in_url=[name for name, _ in parse_qsl(query, keep_blank_values=True)],
    )
    tr_id = sent_tr_id

    if method == "GET":
        content = b""
        if params is not None and not isinstance(params, Mapping):
            raise KISUsageError(f"GET params must be a mapping, not {type(params).__name__}")
        pairs = [(str(k), _query_value(str(k), v)) for k, v in (params or {}).items()]
        try:
            encoded = urlencode(pairs)
        except UnicodeEncodeError:
            raise KISUsageError("a GET parameter is not valid text (a lone surrogate?)") from None
        query = "&".join(q for q in (query, encoded) if q)
        body: Mapping[str, Any] | None = None
    else:
        content = encode_body(params)
        body = dict(params or {}) if auth != "none" else None
    if query:
        full_url = f"{full_url}?{query}"

    if len(full_url) > MAX_URL_LENGTH:
        raise KISUsageError(
            f"the URL of {method} {path} would be {len(full_url)} characters, more than "
            f"{MAX_URL_LENGTH}: send fewer or shorter parameters"
        )

    if auth == "token":
        plain = _gateway_headers(config, tr_id, tr_cont)
    else:
        plain = {"content-type": JSON_CONTENT_TYPE}
    extra = _user_headers(headers)
    for name, value in {**plain, **extra}.items():
        _check_header_value(name, value)
    if auth != "none":
        check_credentials(config)
    # Nothing below raises: the credentials join last. The caller's headers still win.
    credentials = credential_headers(config) if auth != "none" else {}
    request = PreparedRequest(
        method=method,
        url=full_url,
        path=path,
        headers={**plain, **credentials, **extra},
        content=content,
        api=spec,
        tr_id=tr_id,
        is_order=spec.order if spec is not None else method == "POST",
        needs_token=auth == "token",
        rate_limited=spec.rate_limited if spec is not None else True,
        body=body,
    )
    return request


def _tr_id(
    config: KISConfig,
    spec: ApiSpec | None,
    method: str,
    path: str,
    *,
    tr_id: str | None,
    variant: str | None,
) -> str | None:
    """The TR_ID to send: the caller's, else the catalog's for this domain and variant."""
    if tr_id is not None:
        if spec is not None:
            _check_domain(config, spec, tr_id)
        return tr_id
    if spec is not None:
        return spec.tr_id_for(config.is_paper, variant)
    if path.startswith("/uapi/"):
        raise KISUsageError(
            f"{method} {path} is not in the catalog, so its TR_ID is unknown: pass tr_id="
        )
    return None


def _domain_tr_ids(tr: str | Mapping[str, str] | None) -> set[str]:
    if tr is None:
        return set()
    return {tr} if isinstance(tr, str) else set(tr.values())


def _check_domain(config: KISConfig, spec: ApiSpec, tr_id: str) -> None:
    """An explicit TR_ID of the other domain (a real one on paper, or the reverse) is refused
    here: KIS would answer OPSQ0002. A deprecated one is judged by its successor."""
    here = _domain_tr_ids(spec.tr_id_paper if config.is_paper else spec.tr_id_real)
    there = _domain_tr_ids(spec.tr_id_real if config.is_paper else spec.tr_id_paper)
    current = spec.deprecated_tr_ids.get(tr_id.strip(), tr_id.strip())
    if current in there and current not in here:
        if not here:  # the tr_id_for message: not offered in paper trading
            spec.tr_id_for(config.is_paper)
        domain, other = ("paper", "real") if config.is_paper else ("real", "paper")
        takes = ", ".join(sorted(here))
        raise KISUsageError(
            f"TR_ID {tr_id} is {spec.api_id} ({spec.alias})'s TR_ID on the {other} domain; the "
            f"{domain} domain takes {takes} (KIS would answer OPSQ0002). Nothing was sent"
        )


def _check_header_value(name: str, value: str) -> None:
    if not HEADER_VALUE.fullmatch(value):
        shown = "" if name in SECRET_HEADERS or name == "appkey" else f" {value!r}"
        raise KISUsageError(
            f"header {name}{shown} must be visible ASCII, with spaces or tabs only between "
            "characters (none leading or trailing, no line breaks); nothing was sent"
        )
