"""``KISConfig``: what the client needs to know, from arguments, ``KIS_*`` variables or ``.env``.

Keyword arguments win over environment variables, which win over ``.env``. Every environment
variable is ``KIS_`` plus the field name in capitals, except the two credentials, which are
``KIS_APP_KEY`` and ``KIS_APP_SECRET`` for the fields ``kis_app_key`` and ``kis_app_secret``.

A missing app key or secret is not an error here, so that ``KISConfig()`` serves catalog look-ups
(``get_tr_id``) without credentials; the client raises :class:`KISConfigError` the first time a
request needs them. Every other invalid value raises :class:`KISConfigError` at construction.

>>> config = KISConfig(kis_app_key="PSxx...", kis_app_secret="...", environment="real")
>>> config.rest_base_url
'https://openapi.koreainvestment.com:9443'
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from .errors import KISConfigError

__all__ = ["KIS_DOMAINS", "KISConfig"]

KIS_DOMAINS: dict[str, str] = {
    "real": "https://openapi.koreainvestment.com:9443",
    "paper": "https://openapivts.koreainvestment.com:29443",
}

_DEFAULT_RATE = {"real": 20.0, "paper": 2.0}
_ACCOUNT_RE = re.compile(r"^([0-9]{8})-?([0-9]{2})$")  # ASCII digits only: \d takes any script
_CORPORATE_FIELDS = ("personalseckey", "seq_no", "phone_number", "ip_addr")

# What to tell the user for each field, when its value is rejected.
_FIXES: dict[str, str] = {
    "kis_app_key": "the 36-character app key from the KIS developer portal",
    "kis_app_secret": "the app secret from the KIS developer portal",
    "environment": '"paper" (모의투자) or "real" (실전투자)',
    "custtype": '"P" (individual) or "B" (corporate, needs the corporate headers)',
    "base_url": "an http(s) URL such as https://openapi.koreainvestment.com:9443, or unset",
    "account_no": 'the account number as "NNNNNNNN-NN" (8 digits, dash, 2-digit product code)',
    "timeout": "a positive number of seconds",
    "connect_timeout": "a positive number of seconds",
    "request_deadline": "a positive number of seconds for one attempt, or unset for the default",
    "max_reply_bytes": "a positive number of bytes (default 4 MiB)",
    "token_store": '"file" or "memory"',
    "token_cache_dir": "a directory path, or unset for the user cache directory",
    "token_refresh_margin": "a number of seconds >= 0",
    "token_max_wait": "a number of seconds >= 0",
    "token_issue_interval": "a number of seconds >= 0 (KIS: 60)",
    "rate_limit_per_second": "a positive number of requests per second, or unset for the default",
    "max_retries": "an integer >= 0",
    "retry_max_wait": "a number of seconds >= 0",
    "redis_url": "a redis:// URL",
    "redis_fallback_share": "a fraction of the rate limit, 0 < share <= 1 (e.g. 0.25)",
    "redis_probe_interval": "a positive number of seconds",
    "redis_lease_ttl": "a positive number of seconds",
}


def env_var(field: str) -> str:
    """The environment variable that feeds ``field``."""
    if field.startswith("kis_"):
        return field.upper()
    return f"KIS_{field.upper()}"


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
    account_no: str | None = None

    personalseckey: SecretStr | None = None
    seq_no: str | None = None
    phone_number: str | None = None
    ip_addr: str | None = None
    mac_address: str | None = None

    timeout: float = Field(default=10.0, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    # One wall-clock bound per attempt, whatever the server trickles; unset: see `attempt_deadline`.
    request_deadline: float | None = Field(default=None, gt=0)
    # KIS replies are kilobytes: a reply (decoded) beyond this is refused, not buffered.
    max_reply_bytes: int = Field(default=4 * 1024 * 1024, gt=0)

    token_store: Literal["file", "memory"] = "file"  # noqa: S105 (a store kind, not a secret)
    token_cache_dir: Path | None = None
    token_refresh_margin: float = Field(default=600.0, ge=0)
    token_max_wait: float = Field(default=90.0, ge=0)
    # KIS issues one token per minute per app key (EGW00133); a sandbox may allow more.
    token_issue_interval: float = Field(default=60.0, ge=0)

    rate_limit_per_second: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=3, ge=0)
    retry_max_wait: float = Field(default=30.0, ge=0)

    redis_url: SecretStr | None = None
    # While Redis is unreachable each process falls back to a local budget of this share of
    # the limit: 1/4 keeps up to four processes of one app key under KIS's limit together.
    redis_fallback_share: float = Field(default=0.25, gt=0, le=1)
    redis_probe_interval: float = Field(default=5.0, gt=0)
    # A token issuance lease; renewed while its holder lives, so this is what a crash costs.
    redis_lease_ttl: float = Field(default=10.0, gt=0)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            # `from None`: pydantic's text echoes input values, which may be secrets.
            raise KISConfigError(_describe(exc)) from None
        except SettingsError as exc:
            raise KISConfigError(
                f"a KIS_* environment variable could not be parsed: {type(exc).__name__}"
            ) from None

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
        "account_no",
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

    @field_validator("kis_app_secret", "personalseckey", "redis_url", mode="before")
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
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        _ = parts.port  # raises ValueError for a port outside 0-65535
        return value.rstrip("/")

    @field_validator("token_cache_dir")
    @classmethod
    def _check_cache_dir(cls, value: Path | None) -> Path | None:
        if value is not None and "\x00" in str(value):
            raise ValueError("must not contain a NUL byte")
        return value

    @field_validator("account_no")
    @classmethod
    def _check_account_no(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _ACCOUNT_RE.match(value)
        if not match:
            raise ValueError("must be 8 digits, a dash and 2 digits")
        return f"{match.group(1)}-{match.group(2)}"

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
    def app_key(self) -> str:
        """The app key; :class:`KISConfigError` if it is not configured."""
        if not self.kis_app_key:
            raise KISConfigError(_missing("kis_app_key"))
        return self.kis_app_key

    @property
    def app_secret(self) -> str:
        """The app secret in clear (never log it); :class:`KISConfigError` if not configured."""
        if self.kis_app_secret is None or not self.kis_app_secret.get_secret_value():
            raise KISConfigError(_missing("kis_app_secret"))
        return self.kis_app_secret.get_secret_value()

    @property
    def app_key_fingerprint(self) -> str:
        """First 16 hex digits of the app key's SHA-256: for cache keys and logs, never the key."""
        return hashlib.sha256(self.app_key.encode()).hexdigest()[:16]

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
            raise KISConfigError(_missing("account_no"))
        cano, _, product = self.account_no.partition("-")
        return cano, product

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name == "kis_app_key" and isinstance(value, str):
                yield name, f"{value[:4]}…" if len(value) > 4 else "…"
            else:
                yield name, value


def _missing(field: str) -> str:
    return f"{field} is not set: set {env_var(field)} or pass {field}=... ({_FIXES[field]})"


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        field = loc[0].lower() if loc else ""
        reason = str(error["msg"]).removeprefix("Value error, ")
        if field in _FIXES:
            problem = f"{field} ({env_var(field)}): {reason}; expected {_FIXES[field]}"
        else:
            problem = reason
        problems.append(problem)
    return "invalid KIS configuration: " + "; ".join(problems)
