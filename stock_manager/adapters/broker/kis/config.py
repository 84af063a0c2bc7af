"""``KISConfig``: what the client needs to know, from arguments, ``KIS_*`` variables or ``.env``.

Keyword arguments win over environment variables, which win over ``.env``. Every environment
variable is ``KIS_`` plus the field name in capitals, except the two credentials, which are
``KIS_APP_KEY`` and ``KIS_APP_SECRET`` for the fields ``kis_app_key`` and ``kis_app_secret``.

A ``.env`` file in the working directory may name the servers (``base_url``, ``websocket_url``)
and Redis (``redis_url``) only for credentials it holds too: with the app key or secret from the
environment or arguments, one of them from ``.env`` raises :class:`KISConfigError`, so a ``.env``
that came with a checkout cannot send your credentials (or the approval key made from them)
elsewhere. A ``base_url`` or ``websocket_url`` that is neither KIS's nor a loopback address is
named in a warning.

``websocket_url`` (``KIS_WEBSOCKET_URL``) is the realtime websocket; unset, the KIS endpoint of
the environment (:attr:`KISConfig.realtime_url`). ``hts_id`` (``KIS_HTS_ID``) is the user's HTS
login ID, the key of fill-notice subscriptions: not a secret (KIS sends it back in every notice),
but it names a KIS login, so reprs and dumps show its first characters only, as for the app key.

A paper config may also hold the user's real key pair: ``real_app_key`` / ``real_app_secret``
(``KIS_REAL_APP_KEY`` / ``KIS_REAL_APP_SECRET``), with ``real_base_url`` (``KIS_REAL_BASE_URL``,
unset: KIS's real domain) and ``real_account_no`` (``KIS_REAL_ACCOUNT_NO``, optional). The
clients send through it only the calls a paper key cannot make (market data KIS offers only on
the real domain), never an order or an account inquiry (see :mod:`._routing`);
:meth:`KISConfig.real_key_config` is that pair's own config. On a real config the pair is unused.
:meth:`KISConfig.from_kis_devlp` reads KIS's own ``kis_devlp.yaml`` (:mod:`._kis_devlp`).

A missing app key or secret is not an error here, so that ``KISConfig()`` serves catalog look-ups
(``get_tr_id``) without credentials; the client raises :class:`KISConfigError` the first time a
request needs them. Every other invalid value raises :class:`KISConfigError` at construction.

>>> config = KISConfig(kis_app_key="PSxx...", kis_app_secret="...", environment="real")
>>> config.rest_base_url
'https://openapi.koreainvestment.com:9443'
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from ._config_checks import (
    DOTENV,
    KIS_DOMAINS,
    app_key_preview,
    describe,
    env_var,
    field_sources,
    is_host,
    is_kis_or_loopback,
    is_loopback_host,
    missing,
    refuse_hidden_characters,
)
from ._kis_devlp import config_values
from .errors import KISConfigError
from .redaction import fingerprint, logger

__all__ = [
    "KIS_DOMAINS",
    "KIS_WEBSOCKETS",
    "MIN_SHARED_RATE",
    "KISConfig",
    "check_hts_id",
    "domain_digest",
    "normalise_account_no",
]

#: KIS's realtime websocket per environment: plain ws:// (KIS offers no TLS endpoint).
KIS_WEBSOCKETS: dict[str, str] = {
    "real": "ws://ops.koreainvestment.com:21000",
    "paper": "ws://ops.koreainvestment.com:31000",
}

_DEFAULT_RATE = {"real": 20.0, "paper": 2.0}
_ACCOUNT_RE = re.compile(r"^([0-9]{8})-?([0-9]{2})$")  # ASCII digits only: \d takes any script
_CORPORATE_FIELDS = ("personalseckey", "seq_no", "phone_number", "ip_addr")

# Upper bounds: a value past them is a typo, and 1e300 seconds would only fail later, as an
# OverflowError deep inside a socket or a sleep. A day bounds every wait and every timeout.
_DAY = 86_400.0
_MAX_REPLY_BYTES = 1 << 30
_MAX_RATE = 1e6
# Below this a rate (or a share of it) turns into waits between requests longer than a day.
_MIN_RATE = 0.001
#: The slowest rate of a budget shared in Redis (one request per 10 s), checked here when
#: redis_url is set. The Redis budget replaces a shared budget slower than this as not sane:
#: one process configured at 0.01/s must not hold every other process of the app key.
MIN_SHARED_RATE = 0.1
_MAX_RETRIES = 100

# Credentials go only to destinations named by a source at least as trusted as theirs: a .env in
# the working directory may come with a checkout, the environment and arguments come from the user.
_DESTINATION_FIELDS = ("base_url", "websocket_url", "redis_url", "real_base_url")
_CREDENTIAL_FIELDS = (
    "kis_app_key",
    "kis_app_secret",
    "personalseckey",
    "real_app_key",
    "real_app_secret",
)
# KIS app secrets are about 180 characters; a much shorter one is a truncated paste or a test
# value, and a short secret can only be masked where it stands alone (see redaction).
_PLAUSIBLE_SECRET_LENGTH = 16
# KIS HTS IDs are short login names (letters and digits); anything else would only come back
# from KIS as a dropped connection, with no reply to say why.
_HTS_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def domain_digest(base_url: str) -> str:
    """12 hex digits naming a REST domain in cache and Redis keys (a URL has no safe name)."""
    return hashlib.sha256(base_url.encode()).hexdigest()[:12]


def normalise_account_no(value: str) -> str:
    """``value`` as ``NNNNNNNN-NN``; :class:`ValueError` (never quoting it) if it is not one."""
    match = _ACCOUNT_RE.match(value.strip())
    if not match:
        raise ValueError("must be 8 digits, a dash and 2 digits")
    return f"{match.group(1)}-{match.group(2)}"


def check_hts_id(value: str) -> str:
    """``value`` if it can be an HTS login ID, else :class:`ValueError` saying what can."""
    if not _HTS_ID_RE.match(value):
        raise ValueError(
            "hts_id (KIS_HTS_ID) must be the HTS login ID: 1 to 32 letters, digits, '_', '.' or '-'"
        )
    return value


class KISConfig(BaseSettings):
    """KIS client settings; invalid values raise :class:`KISConfigError`; secrets stay masked."""

    model_config = SettingsConfigDict(
        env_prefix="KIS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        # inf would pass gt=0 and fail deep inside a socket or the rate limiter instead.
        allow_inf_nan=False,
    )

    kis_app_key: str | None = Field(
        default=None, validation_alias=AliasChoices("kis_app_key", "KIS_APP_KEY")
    )
    kis_app_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("kis_app_secret", "KIS_APP_SECRET")
    )
    environment: Literal["paper", "real"] = "paper"
    custtype: Literal["P", "B"] = "P"
    base_url: str | None = None
    websocket_url: str | None = None
    hts_id: str | None = None
    account_no: str | None = None

    personalseckey: SecretStr | None = None
    seq_no: str | None = None
    phone_number: str | None = None
    ip_addr: str | None = None
    mac_address: str | None = None

    timeout: float = Field(default=10.0, gt=0, le=_DAY)
    connect_timeout: float = Field(default=5.0, gt=0, le=_DAY)
    # One wall-clock bound per attempt, whatever the server trickles; unset: see `attempt_deadline`.
    request_deadline: float | None = Field(default=None, gt=0, le=_DAY)
    # KIS replies are kilobytes: a reply (decoded) beyond this is refused, not buffered.
    max_reply_bytes: int = Field(default=4 * 1024 * 1024, gt=0, le=_MAX_REPLY_BYTES)

    token_store: Literal["file", "memory"] = "file"  # noqa: S105 (a store kind, not a secret)
    token_cache_dir: Path | None = None
    token_refresh_margin: float = Field(default=600.0, ge=0, le=_DAY)
    token_max_wait: float = Field(default=90.0, ge=0, le=_DAY)
    # KIS issues one token per minute per app key (EGW00133); a sandbox may allow more.
    token_issue_interval: float = Field(default=60.0, ge=0, le=_DAY)

    rate_limit_per_second: float | None = Field(default=None, ge=_MIN_RATE, le=_MAX_RATE)
    max_retries: int = Field(default=3, ge=0, le=_MAX_RETRIES)
    retry_max_wait: float = Field(default=30.0, ge=0, le=_DAY)

    redis_url: SecretStr | None = None
    # While Redis is unreachable each process falls back to a local budget of this share of
    # the limit: 1/4 keeps up to four processes of one app key under KIS's limit together.
    redis_fallback_share: float = Field(default=0.25, ge=_MIN_RATE, le=1)
    redis_probe_interval: float = Field(default=5.0, gt=0, le=_DAY)
    # A token issuance lease; renewed while its holder lives, so this is what a crash costs.
    redis_lease_ttl: float = Field(default=10.0, gt=0, le=_DAY)

    # The user's real key pair, on a paper config: the calls a paper key cannot make go
    # through it (see the module's docstring). KIS limits and tokens are per key and domain,
    # so it gets its own token and budget (real_key_config()).
    real_app_key: str | None = None
    real_app_secret: SecretStr | None = None
    real_base_url: str | None = None
    real_account_no: str | None = None

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            # pydantic's text echoes input values, which may be secrets.
            problem: str | None = describe(exc)
        except SettingsError as exc:
            problem = f"a KIS_* environment variable could not be parsed: {type(exc).__name__}"
        else:
            problem = self._destination_problem(values)
        if problem is not None:
            # Raised outside the `except`, with the arguments dropped: an error tracker records
            # chained exceptions and frame locals, and both would hold the secrets.
            values.clear()
            raise KISConfigError(problem) from None
        self._warn_about_doubtful_values()

    def _destination_problem(self, init_kwargs: dict[str, Any]) -> str | None:
        """Why a server or Redis named by ``.env`` may not have credentials from a stronger
        source, or None."""
        sources = field_sources(type(self), init_kwargs)
        if not any(source == DOTENV for source in sources.values()):
            return None
        moved = [f for f in _DESTINATION_FIELDS if getattr(self, f) and sources.get(f) == DOTENV]
        stronger = [
            f"{f} from {sources[f]}"
            for f in _CREDENTIAL_FIELDS
            if getattr(self, f) and sources.get(f) not in (None, DOTENV)
        ]
        if not (moved and stronger):
            return None
        names = ", ".join(f"{f} ({env_var(f)})" for f in moved)
        return (
            f"{names} comes from the .env file but the credentials do not "
            f"({', '.join(stronger)}): credentials are never sent where a .env in the "
            f"working directory points. Set {', '.join(env_var(f) for f in moved)} in the "
            "environment or pass it as an argument, or put the credentials in that .env too"
        )

    def _warn_about_doubtful_values(self) -> None:
        # Once per config, when it is built: the value itself is never logged.
        for name, value in (
            ("kis_app_secret", self.kis_app_secret),
            ("real_app_secret", self.real_app_secret),
        ):
            secret = value.get_secret_value() if value else ""
            if 0 < len(secret) < _PLAUSIBLE_SECRET_LENGTH:
                logger.warning(
                    "%s (%s) is implausibly short (a KIS app secret is about 180 "
                    "characters): check that it is complete",
                    name,
                    env_var(name),
                )
        for name, url in (("base_url", self.base_url), ("real_base_url", self.real_base_url)):
            if url and not is_kis_or_loopback(url):
                logger.warning(
                    "%s %s is neither a KIS domain nor a loopback address: the app key and "
                    "secret will be sent there",
                    name,
                    url,
                )
        if self.websocket_url and not _is_kis_or_loopback_websocket(self.websocket_url):
            logger.warning(
                "websocket_url %s is neither KIS's websocket nor a loopback address: the "
                "approval key will be sent there",
                self.websocket_url,
            )

    # -- normalisation -------------------------------------------------------------------------

    @field_validator("environment", "token_store", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("custtype", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator(
        "kis_app_key",
        "seq_no",
        "phone_number",
        "ip_addr",
        "mac_address",
        "base_url",
        "websocket_url",
        "hts_id",
        "account_no",
        "real_app_key",
        "real_base_url",
        "real_account_no",
        "rate_limit_per_second",
        "request_deadline",
        "token_cache_dir",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator(
        "kis_app_secret", "personalseckey", "redis_url", "real_app_secret", mode="before"
    )
    @classmethod
    def _blank_secret_is_unset(cls, value: Any) -> Any:
        # KIS secrets never hold whitespace: a stray newline from a .env or a paste would only
        # come back as EGW00105, so it is dropped here.
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        # Checked as httpx will send it, so that a bad URL fails here and not at the first call.
        # No message quotes the value: it may hold a password.
        if value is None:
            return None
        refuse_hidden_characters(value)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        if "@" in parts.netloc:
            # httpx would send it as `Authorization: Basic`, in place of the KIS token.
            raise ValueError("must not contain a user name or password (user:password@host)")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        _ = parts.port  # raises ValueError for a port outside 0-65535
        if not parts.hostname.isascii():
            # httpx would rewrite it to its xn-- form: a look-alike of a known name, or a typo.
            raise ValueError("must have an ASCII host name (write an international one as xn--)")
        try:
            url = httpx.URL(value)
            _ = url.host  # decodes xn-- labels: an IDNAError here would come at the first call
        except (httpx.InvalidURL, ValueError):  # IDNAError is a ValueError
            raise ValueError("is not a URL httpx can send to (check the host name)") from None
        if not is_host(url.raw_host.decode("ascii")):
            raise ValueError("must name a valid host name or IP address")
        return value.rstrip("/")

    @field_validator("real_base_url")
    @classmethod
    def _check_real_base_url(cls, value: str | None) -> str | None:
        # describe() names only the fields it knows: this one names itself.
        try:
            return cls._check_base_url(value)
        except ValueError as exc:
            raise ValueError(f"real_base_url (KIS_REAL_BASE_URL) {exc}") from None

    @field_validator("websocket_url")
    @classmethod
    def _check_websocket_url(cls, value: str | None) -> str | None:
        # The field is named in each message: describe() adds names only for fields it knows.
        # No message quotes the value.
        if value is None:
            return None
        name = "websocket_url (KIS_WEBSOCKET_URL)"
        try:
            refuse_hidden_characters(value)
        except ValueError as exc:
            raise ValueError(f"{name} {exc}") from None
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"{name} must be a ws:// or wss:// URL with a host")
        if "@" in parts.netloc:
            raise ValueError(f"{name} must not contain a user name or password")
        if parts.query or parts.fragment:
            raise ValueError(f"{name} must not have a query or fragment")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"{name} has a port outside 0-65535") from None
        host = parts.hostname
        if not host.isascii() or not is_host(host):
            raise ValueError(f"{name} must name a valid ASCII host name or IP address")
        return value.rstrip("/")

    @field_validator("hts_id")
    @classmethod
    def _check_hts_id(cls, value: str | None) -> str | None:
        return None if value is None else check_hts_id(value)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            refuse_hidden_characters(value.get_secret_value())
        return value

    @field_validator("token_cache_dir")
    @classmethod
    def _check_cache_dir(cls, value: Path | None) -> Path | None:
        if value is not None and "\x00" in str(value):
            raise ValueError("must not contain a NUL byte")
        return value

    @field_validator("account_no")
    @classmethod
    def _check_account_no(cls, value: str | None) -> str | None:
        return None if value is None else normalise_account_no(value)

    @field_validator("real_account_no")
    @classmethod
    def _check_real_account_no(cls, value: str | None) -> str | None:
        try:
            return None if value is None else normalise_account_no(value)
        except ValueError as exc:
            raise ValueError(f"real_account_no (KIS_REAL_ACCOUNT_NO) {exc}") from None

    @model_validator(mode="after")
    def _check_real_pair(self) -> KISConfig:
        if (self.real_app_key is None) != (self.real_app_secret is None):
            raise ValueError(
                "real_app_key (KIS_REAL_APP_KEY) and real_app_secret (KIS_REAL_APP_SECRET) go "
                "together: set both (your real key pair) or neither"
            )
        if self.real_app_key is not None and self.real_app_key == self.kis_app_key:
            # KIS issues paper and real keys separately: one key cannot be both, and sending a
            # paper key to the real domain would only come back as EGW00103.
            raise ValueError(
                "real_app_key (KIS_REAL_APP_KEY) is the same key as kis_app_key (KIS_APP_KEY): "
                "the real pair is the one KIS issued for the real (실전투자) domain"
            )
        return self

    @model_validator(mode="after")
    def _check_shared_rate(self) -> KISConfig:
        # Here, not when the budget is first used: by then a token may have been issued.
        if self.redis_url is not None and self.requests_per_second < MIN_SHARED_RATE:
            raise ValueError(
                f"rate_limit_per_second={self.requests_per_second:g} "
                f"({env_var('rate_limit_per_second')}) is below {MIN_SHARED_RATE:g} with "
                "redis_url set: a budget that slow, shared in Redis, would hold every process "
                "of the app key; raise it, or unset it for KIS's limit"
            )
        return self

    @model_validator(mode="after")
    def _check_corporate(self) -> KISConfig:
        if self.custtype != "B":
            return self
        if self.environment == "paper":
            raise ValueError(
                "custtype B (corporate) cannot use paper trading (KIS answers EGW00210): "
                "set KIS_ENVIRONMENT=real or KIS_CUSTTYPE=P"
            )
        missing = [name for name in _CORPORATE_FIELDS if not getattr(self, name)]
        if missing:
            names = ", ".join(f"{name} ({env_var(name)})" for name in missing)
            raise ValueError(f"custtype B (corporate) needs {names}")
        return self

    # -- derived values ------------------------------------------------------------------------

    @property
    def is_paper(self) -> bool:
        """True on the paper-trading (모의투자) domain."""
        return self.environment == "paper"

    @property
    def rest_base_url(self) -> str:
        """Where REST calls go: ``base_url`` if set, else the KIS domain of the environment."""
        return self.base_url or KIS_DOMAINS[self.environment]

    @property
    def realtime_url(self) -> str:
        """Where the realtime websocket connects: ``websocket_url`` if set, else KIS's websocket
        of the environment (ws://ops.koreainvestment.com:21000 real, :31000 paper)."""
        return self.websocket_url or KIS_WEBSOCKETS[self.environment]

    @property
    def attempt_deadline(self) -> float:
        """Wall-clock seconds one attempt may take, end to end: ``request_deadline``, else the
        connect timeout plus twice the read timeout (a slow but steady reply fits; a trickle
        that resets the read timeout byte by byte does not)."""
        return self.request_deadline or self.connect_timeout + 2 * self.timeout

    @property
    def requests_per_second(self) -> float:
        """The request budget: ``rate_limit_per_second``, else 20 on real and 2 on paper."""
        return self.rate_limit_per_second or _DEFAULT_RATE[self.environment]

    @property
    def has_real_key(self) -> bool:
        """True on a paper config holding a real key pair: the calls only the real domain
        offers (market data) then go through it (see :meth:`real_key_config`)."""
        return self.is_paper and self.real_app_key is not None and self.real_app_secret is not None

    def real_key_config(self) -> KISConfig:
        """The config of the real key pair: environment ``real``, the real key and secret,
        ``real_base_url`` (else KIS's real domain), ``real_account_no`` (may be None), KIS's
        real rate limit (the paper budget is another key's), no websocket override; the rest
        (timeouts, token store, Redis, HTS ID) as here. :class:`KISConfigError` without a pair.

        Tokens and rate-limit budgets are keyed by app key and domain, so its token and budget
        are its own. The clients use it only for calls that take no account; a program that
        builds a client from it deliberately holds a real-account client.
        """
        if not self.has_real_key:
            where = "a paper config" if self.is_paper else "a real config (its own key is real)"
            raise KISConfigError(
                f"no real key pair to use on {where}: set KIS_REAL_APP_KEY and "
                "KIS_REAL_APP_SECRET on a paper config"
            )
        return self.model_copy(
            update={
                "environment": "real",
                "kis_app_key": self.real_app_key,
                "kis_app_secret": self.real_app_secret,
                "base_url": self.real_base_url,
                "websocket_url": None,
                "account_no": self.real_account_no,
                "rate_limit_per_second": None,
                "real_app_key": None,
                "real_app_secret": None,
                "real_base_url": None,
                "real_account_no": None,
            }
        )

    @classmethod
    def from_kis_devlp(
        cls,
        path: str | os.PathLike[str],
        env: Literal["prod", "vps", "real", "paper"] = "prod",
        *,
        product: str | None = None,
        **overrides: Any,
    ) -> KISConfig:
        """A config from KIS's own ``kis_devlp.yaml`` (the official samples' config file).

        ``env`` is KIS's ``svr``: ``"prod"`` (or ``"real"``) for 실전투자, ``"vps"`` (or
        ``"paper"``) for 모의투자; ``product`` is the account product code (else ``my_prod``,
        else ``"01"``), which picks the account as KIS's samples do. On paper, the file's real
        pair (``my_app``/``my_sec``) becomes the real pair here, for the market data only the
        real domain offers. Keyword ``overrides`` are KISConfig arguments and win over the
        file; ``KIS_*`` variables fill what neither sets. Every field used and the mapping are
        in :mod:`._kis_devlp`. Errors (:class:`KISConfigError`) name the file and the key,
        never a value; the secrets become :class:`SecretStr`.
        """
        values, origin = config_values(path, env, product)
        values.update(overrides)
        try:
            return cls(**values)
        except KISConfigError as exc:
            values.clear()
            raise KISConfigError(f"{origin}: {exc}") from None

    @property
    def app_key(self) -> str:
        """The app key; :class:`KISConfigError` if it is not configured."""
        if not self.kis_app_key:
            raise KISConfigError(missing("kis_app_key"))
        return self.kis_app_key

    @property
    def app_secret(self) -> str:
        """The app secret in clear (never log it); :class:`KISConfigError` if not configured."""
        if self.kis_app_secret is None or not self.kis_app_secret.get_secret_value():
            raise KISConfigError(missing("kis_app_secret"))
        return self.kis_app_secret.get_secret_value()

    @property
    def app_key_fingerprint(self) -> str:
        """First 16 hex digits of the app key's SHA-256: for cache keys and logs, never the key."""
        return fingerprint(self.app_key)

    @property
    def cano(self) -> str:
        """The 8-digit account number (CANO)."""
        return self._account()[0]

    @property
    def acnt_prdt_cd(self) -> str:
        """The 2-digit account product code (ACNT_PRDT_CD)."""
        return self._account()[1]

    def _account(self) -> tuple[str, str]:
        if not self.account_no:
            raise KISConfigError(missing("account_no"))
        cano, _, product = self.account_no.partition("-")
        return cano, product

    @field_serializer("kis_app_key", "hts_id", "real_app_key")
    def _dump_app_key(self, value: str | None) -> str | None:
        # Dumps show what the repr shows; `config.app_key` still gives the key itself.
        return app_key_preview(value)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name in ("kis_app_key", "hts_id", "real_app_key"):
                yield name, app_key_preview(value)
            else:
                yield name, value


def _is_kis_or_loopback_websocket(url: str) -> bool:
    host = (urlsplit(url).hostname or "").removesuffix(".").lower()
    kis_hosts = {urlsplit(u).hostname for u in KIS_WEBSOCKETS.values()}
    return host in kis_hosts or is_loopback_host(host)
