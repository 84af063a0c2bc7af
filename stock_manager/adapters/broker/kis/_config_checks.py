"""The checks and messages behind :class:`~.config.KISConfig`: host and URL validators, which
source (arguments, environment, ``.env``) supplied each field, and what to tell the user when a
value is rejected. Private: :mod:`.config` is the public face.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource
from pydantic_settings.sources import ENV_FILE_SENTINEL

KIS_DOMAINS: dict[str, str] = {
    "real": "https://openapi.koreainvestment.com:9443",
    "paper": "https://openapivts.koreainvestment.com:29443",
}

#: The source name of a value read from the working directory's ``.env`` file.
DOTENV = ".env"
# Host names as the resolver takes them (underscores too: container names have them).
HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")

# What to tell the user for each field, when its value is rejected.
FIXES: dict[str, str] = {
    "kis_app_key": "the 36-character app key from the KIS developer portal",
    "kis_app_secret": "the app secret from the KIS developer portal",
    "environment": '"paper" (모의투자) or "real" (실전투자)',
    "custtype": '"P" (individual) or "B" (corporate, needs the corporate headers)',
    "base_url": (
        "an http(s) URL without user or password, such as "
        "https://openapi.koreainvestment.com:9443, or unset"
    ),
    "account_no": 'the account number as "NNNNNNNN-NN" (8 digits, dash, 2-digit product code)',
    "timeout": "a positive number of seconds, at most 86400 (a day)",
    "connect_timeout": "a positive number of seconds, at most 86400 (a day)",
    "request_deadline": (
        "a positive number of seconds for one attempt, at most 86400, or unset for the default"
    ),
    "max_reply_bytes": "a positive number of bytes, at most 1 GiB (default 4 MiB)",
    "token_store": '"file" or "memory"',
    "token_cache_dir": "a directory path, or unset for the user cache directory",
    "token_refresh_margin": "a number of seconds, 0 to 86400",
    "token_max_wait": "a number of seconds, 0 to 86400",
    "token_issue_interval": "a number of seconds, 0 to 86400 (KIS: 60)",
    "rate_limit_per_second": "requests per second, 0.001 to 1000000, or unset for the default",
    "max_retries": "an integer, 0 to 100",
    "retry_max_wait": "a number of seconds, 0 to 86400",
    "redis_url": "a redis:// URL (no spaces or control characters)",
    "redis_fallback_share": "a fraction of the rate limit, 0.001 to 1 (e.g. 0.25)",
    "redis_probe_interval": "a positive number of seconds, at most 86400",
    "redis_lease_ttl": "a positive number of seconds, at most 86400",
}


def env_var(field: str) -> str:
    """The environment variable that feeds ``field``."""
    if field.startswith("kis_"):
        return field.upper()
    return f"KIS_{field.upper()}"


def app_key_preview(value: str | None) -> str | None:
    """The app key as logs, reprs and dumps show it: its first 4 characters."""
    if value is None:
        return None
    return f"{value[:4]}…" if len(value) > 4 else "…"


def refuse_hidden_characters(value: str) -> None:
    # urlsplit silently drops inner CR/LF/TAB, and httpx percent-encodes spaces: either way the
    # URL used would not be the one written.
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("must not contain spaces, line breaks or control characters")


def is_host(host: str) -> bool:
    """True for an IP literal or a host name of non-empty labels (as httpx IDNA-encoded it)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    name = host.removesuffix(".")
    labels = name.split(".")
    return (
        len(name) <= 253
        and all(HOST_LABEL.match(label) for label in labels)
        # An all-digit last label is a mistyped IP address (1.2.3.4.5), never a domain.
        and not labels[-1].isdigit()
    )


def is_kis_or_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").removesuffix(".").lower()
    return is_loopback_host(host) or any(urlsplit(d).hostname == host for d in KIS_DOMAINS.values())


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1`` (no scope id, no IPv4-mapped form): the same set
    as :func:`stock_manager.sandbox.loopback.is_loopback_host`, kept here because the client
    never imports the sandbox; tests/reliability/test_hardening_config.py holds them equal."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return address == ipaddress.IPv6Address("::1") and address.scope_id is None
    return address.is_loopback


def field_sources(cls: type[BaseSettings], init_kwargs: dict[str, Any]) -> dict[str, str]:
    """Which source supplied each field: "arguments", "the environment" or ".env" (the highest
    that has it, as pydantic-settings merges them)."""
    env_file = init_kwargs.get("_env_file", ENV_FILE_SENTINEL)
    if env_file == ENV_FILE_SENTINEL:
        env_file = cls.model_config.get("env_file")
    sources: dict[str, str] = {}
    if env_file is not None:
        encoding = init_kwargs.get("_env_file_encoding")
        dotenv = DotEnvSettingsSource(cls, env_file=env_file, env_file_encoding=encoding)()
        sources.update(dict.fromkeys(dotenv, DOTENV))
    sources.update(dict.fromkeys(EnvSettingsSource(cls)(), "the environment"))
    for name in init_kwargs:
        if not name.startswith("_"):
            sources[name.lower()] = "arguments"
    return sources


def missing(field: str) -> str:
    return f"{field} is not set: set {env_var(field)} or pass {field}=... ({FIXES[field]})"


def describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        field = loc[0].lower() if loc else ""
        reason = str(error["msg"]).removeprefix("Value error, ")
        if field in FIXES:
            problem = f"{field} ({env_var(field)}): {reason}; expected {FIXES[field]}"
        else:
            problem = reason
        problems.append(problem)
    return "invalid KIS configuration: " + "; ".join(problems)
