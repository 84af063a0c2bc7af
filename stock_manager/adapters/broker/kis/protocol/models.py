"""The values the sans-I/O core passes around: requests, replies and credentials.

* :class:`PreparedRequest`: one KIS call, ready to send (the request half builds it);
* :class:`RawResponse`: what came back on the wire; :class:`KISResponse`: a successful reply;
* :class:`AccessToken`: a credential KIS issued (also the websocket approval key);
* :class:`PageCursor`: where ``iter_pages`` is in a paged inquiry.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..catalog import ApiSpec, Paging
from ..errors import KISProtocolError, KISUsageError
from ..redaction import fingerprint, logger
from .paging import MORE, first_params, next_params, says_more

__all__ = [
    "APPROVAL_KEY_LIFETIME",
    "DATA_CHANGED",
    "KST",
    "MAX_CREDENTIAL_LENGTH",
    "SECRET_HEADERS",
    "AccessToken",
    "KISResponse",
    "PageCursor",
    "PreparedRequest",
    "RawResponse",
    "approval_key_token",
    "is_credential_value",
    "new_gt_uid",
]

#: Korea Standard Time; Korea has kept UTC+9 without daylight saving since 1988.
KST = timezone(timedelta(hours=9), "KST")

#: Request headers whose values are secrets: never shown, never logged.
SECRET_HEADERS = frozenset({"authorization", "appsecret", "personalseckey", "hashkey"})

# KIS documents 24 hours for an approval key and sends no expiry with it.
APPROVAL_KEY_LIFETIME = timedelta(hours=24)

#: KIS's tokens are JWTs of a few hundred bytes; anything far longer is damage, not a token.
MAX_CREDENTIAL_LENGTH = 4096
# Visible ASCII only: a token, approval key or hashkey travels in a header, and one with a space,
# CR/LF or a control character would fail every call (and be quoted in the HTTP library's error).
_CREDENTIAL_VALUE = re.compile(r"[\x21-\x7e]+")


def is_credential_value(value: object) -> bool:
    """True when ``value`` can be sent as a token, approval key or hashkey: a non-empty string
    of visible ASCII (no spaces, no line breaks) of at most :data:`MAX_CREDENTIAL_LENGTH`."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_CREDENTIAL_LENGTH
        and _CREDENTIAL_VALUE.fullmatch(value) is not None
    )


@dataclass(frozen=True)
class AccessToken:
    """An OAuth access token; ``value`` never appears in its repr."""

    value: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)

    def __post_init__(self) -> None:
        for name in ("expires_at", "issued_at"):
            stamp: datetime = getattr(self, name)
            if stamp.tzinfo is None:
                raise ValueError(f"AccessToken.{name} must be timezone-aware")
            object.__setattr__(self, name, stamp.astimezone(UTC))

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """True when the token is expired or will be within ``seconds``."""
        return (now or datetime.now(UTC)) + timedelta(seconds=seconds) >= self.expires_at

    @property
    def authorization(self) -> str:
        """The ``authorization`` header value."""
        return f"Bearer {self.value}"


def approval_key_token(value: str, now: datetime | None = None) -> AccessToken:
    """A websocket approval key as a cacheable credential, valid for 24 hours from ``now``."""
    issued = now or datetime.now(UTC)
    expires = issued + APPROVAL_KEY_LIFETIME
    return AccessToken(value, expires, issued, token_type="approval_key")  # noqa: S106 (a kind)


@dataclass(frozen=True)
class PreparedRequest:
    """Everything needed to send one KIS request, and what the catalog says about it.

    ``content`` is final: signing and token replays reuse it byte for byte. The repr shows
    header names only, never values.
    """

    method: str
    url: str
    path: str
    headers: Mapping[str, str] = field(repr=False)
    content: bytes = field(repr=False)
    api: ApiSpec | None = None
    tr_id: str | None = None
    #: A POST that places or changes an order (unknown POSTs count as orders).
    is_order: bool = False
    needs_token: bool = False
    rate_limited: bool = True
    #: The JSON body as sent, for order error reports; ``None`` when it holds credentials.
    body: Mapping[str, Any] | None = field(default=None, repr=False)

    def with_token(self, token: AccessToken) -> PreparedRequest:
        """A copy carrying ``token`` (and a fresh ``gt_uid`` for corporate customers)."""
        headers = dict(self.headers)
        headers["authorization"] = token.authorization
        if "gt_uid" in headers:
            headers["gt_uid"] = new_gt_uid()
        return replace(self, headers=headers)

    def with_hashkey(self, hashkey: str) -> PreparedRequest:
        """A copy carrying the ``hashkey`` header for its (unchanged) content."""
        return replace(self, headers={**self.headers, "hashkey": hashkey})

    def safe_headers(self) -> dict[str, str]:
        """Headers for logs and debugging: secrets masked, the app key as its fingerprint."""
        return {k: _shown_header(k, v) for k, v in self.headers.items()}

    def __repr__(self) -> str:
        return (
            f"PreparedRequest(method={self.method!r}, path={self.path!r}, tr_id={self.tr_id!r}, "
            f"is_order={self.is_order}, headers={sorted(self.headers)!r}, "
            f"content_length={len(self.content)})"
        )


def _shown_header(name: str, value: str) -> str:
    if name in SECRET_HEADERS:
        return "***"
    if name == "appkey":  # shown as everywhere else in the project (config.app_key_fingerprint)
        return f"sha256 {fingerprint(value)}"
    return value


def new_gt_uid() -> str:
    """A global transaction id, unique per transaction (32 hex digits)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class RawResponse:
    """What came back on the wire: status, headers (any case) and body bytes."""

    status_code: int
    headers: Mapping[str, str]
    # Out of the repr: a token or approval key reply sits in the shells' frame locals, and
    # error trackers record their reprs.
    content: bytes = field(repr=False)


#: KIS's answer (rt_cd 7) when the data changed between two pages: start again from the first.
DATA_CHANGED = "SYDB0050"


class KISResponse(Mapping[str, Any]):
    """The JSON body of a successful reply as a read-only mapping, plus the reply's metadata.

    >>> response["rt_cd"], response.get("output")        # the body
    >>> response.status_code, response.tr_cont, response.has_next
    """

    def __init__(
        self,
        data: dict[str, Any],
        *,
        status_code: int,
        headers: Mapping[str, str],
        request: PreparedRequest | None = None,
    ) -> None:
        self._data = data
        self.status_code = status_code
        #: Response headers with lower-case names.
        self.headers: dict[str, str] = {k.lower(): v for k, v in headers.items()}
        self.request = request

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def json(self) -> dict[str, Any]:
        """The parsed body as a plain dict (the same object the mapping reads from)."""
        return self._data

    @property
    def tr_id(self) -> str | None:
        """The TR_ID KIS echoed, else the one that was sent."""
        return self.headers.get("tr_id") or (self.request.tr_id if self.request else None)

    @property
    def tr_cont(self) -> str:
        """Paging state: ``F``/``M`` more follows, ``D``/``E`` last page, ``""`` not paged."""
        return self.headers.get("tr_cont", "").strip()

    @property
    def gt_uid(self) -> str | None:
        """KIS's global transaction id for this answer, if it sent one."""
        return self.headers.get("gt_uid")

    @property
    def has_next(self) -> bool:
        """True when KIS says another page follows."""
        return self.tr_cont in MORE

    def __repr__(self) -> str:
        # The body may echo an order or carry a hash: summarise instead of dumping it.
        parts = [f"status_code={self.status_code}"]
        for name in ("rt_cd", "msg_cd"):
            if name in self._data:
                parts.append(f"{name}={self._data[name]!r}")
        if self.tr_id:
            parts.append(f"tr_id={self.tr_id!r}")
        if self.tr_cont:
            parts.append(f"tr_cont={self.tr_cont!r}")
        parts.append(f"keys={sorted(self._data)!r}")
        return f"KISResponse({', '.join(parts)})"


class PageCursor:
    """Paging state for ``iter_pages``: the params and ``tr_cont`` of the next request.

    ``paging`` is the API's ``ApiSpec.paging`` (``None``: unknown, paged by ``tr_cont`` and the
    ``ctx_area_*`` fields as KIS's account inquiries are); :mod:`.paging` says how each form
    asks for the next page. After each page :meth:`advance` prepares the next request; past
    ``max_pages`` pages that still say "more" it raises :class:`KISProtocolError`, so a
    misbehaving server cannot loop forever. :meth:`restart` goes back to the first page when
    KIS says the data changed between pages (``SYDB0050``), at most ``max_restarts`` times.

    ``complete`` is True only once KIS has marked a page as the last: until then whatever was
    read is a part, never the whole.
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None,
        max_pages: int,
        paging: Paging | None = None,
        *,
        max_restarts: int = 2,
    ) -> None:
        if max_pages < 1:
            raise KISUsageError(f"max_pages must be at least 1, not {max_pages}")
        if max_restarts < 0:
            raise KISUsageError(f"max_restarts must be 0 or more, not {max_restarts}")
        # No spec (a path outside the catalog): tr_cont with whatever ctx_area_* keys come back.
        self.form: str = paging.form if paging is not None else "tr_cont"
        self.keys: tuple[str, ...] = paging.keys if paging is not None else ()
        self._first = first_params(self.form, params or {})
        self.params: dict[str, Any] = dict(self._first)
        self.tr_cont = ""
        self.max_pages = max_pages
        self.max_restarts = max_restarts
        self.pages = 0
        self.restarts = 0
        self.complete = False

    def advance(self, response: KISResponse) -> bool:
        """Take in the page just read; True if another one should be asked for."""
        self.pages += 1
        if not says_more(self.form, response, response.tr_cont):
            self.complete = True
            return False
        if self.pages >= self.max_pages:
            raise KISProtocolError(
                f"KIS still reports more pages (tr_cont={response.tr_cont!r}) after "
                f"max_pages={self.max_pages}: raise max_pages if that is expected"
            )
        following = next_params(self.form, self.keys, self.params, response)
        if following is None:
            logger.warning(
                "KIS says more pages follow %s but gave no new continuation key: stopped after "
                "%d page(s), the result is truncated",
                response.request.path if response.request is not None else "this inquiry",
                self.pages,
            )
            return False
        self.params, self.tr_cont = following
        return True

    def restart(self, error: BaseException) -> bool:
        """True (and back at the first page) if ``error`` is KIS's "data changed since the
        first page" (``SYDB0050``) and restarts are left; False: re-raise it."""
        if getattr(error, "code", None) != DATA_CHANGED or self.restarts >= self.max_restarts:
            return False
        self.restarts += 1
        logger.warning(
            "KIS says the data changed while paging (%s): starting again from the first page "
            "(restart %d of %d); pages read before it are stale",
            DATA_CHANGED,
            self.restarts,
            self.max_restarts,
        )
        self.params, self.tr_cont, self.pages = dict(self._first), "", 0
        return True
