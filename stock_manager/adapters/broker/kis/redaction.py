"""Keep secrets out of logs.

Every secret the client handles (app secret, personal security key, access tokens, approval keys,
hashkeys) is registered here as soon as it is known. :class:`RedactingFilter` replaces registered
values with ``***`` in a log record's message, arguments and exception text. It is installed on the
``stock_manager.kis`` logger, where every record of this package is emitted; attach it to your own
handlers too if you log ``httpx`` or other libraries at DEBUG level.

A secret of :data:`SHORT_SECRET_LENGTH` characters or more is masked wherever it appears. A
shorter one (a test secret such as ``"0"``) is masked only where it stands as a whole value, so
that masking it does not mangle prices and names that merely contain it: ``appsecret=0`` becomes
``appsecret=***`` while ``70000`` and ``v1.0.3`` stay as they are.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

__all__ = [
    "MASK",
    "SHORT_SECRET_LENGTH",
    "RedactingFilter",
    "get_logger",
    "redact",
    "register_secret",
]

MASK = "***"

#: Below this length a secret is masked only as a whole value (see the module docstring).
SHORT_SECRET_LENGTH = 8

# A short secret is part of a longer word when a word character touches it, or a word character
# behind a joiner (the "1." of "1.0", the "x-" of "x-abc"). Sentence punctuation after it
# ("... is abc.") still lets it be masked.
_WORD = "A-Za-z0-9_"
_JOINER = r".\-+/"
_BEFORE = rf"(?<![{_WORD}])(?<![{_WORD}][{_JOINER}])"
_AFTER = rf"(?![{_WORD}])(?![{_JOINER}][{_WORD}])"


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: set[str] = set()
        # Longest first, so a token containing another secret is masked whole.
        self.ordered: tuple[str, ...] = ()
        self.short: re.Pattern[str] | None = None


_registry = _Registry()


def fingerprint(value: str) -> str:
    """First 16 hex digits of ``value``'s SHA-256: tells keys apart without showing them."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that it is masked wherever it would be logged."""
    if not value:
        return
    with _registry.lock:
        if value in _registry.secrets:
            return
        _registry.secrets.add(value)
        if len(value) >= SHORT_SECRET_LENGTH:
            long_ones = (s for s in _registry.secrets if len(s) >= SHORT_SECRET_LENGTH)
            _registry.ordered = tuple(sorted(long_ones, key=len, reverse=True))
        else:
            shorts = sorted(
                (s for s in _registry.secrets if len(s) < SHORT_SECRET_LENGTH),
                key=len,
                reverse=True,
            )
            alternatives = "|".join(re.escape(s) for s in shorts)
            _registry.short = re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}")


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for secret in _registry.ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    short = _registry.short
    if short is not None:
        text = short.sub(MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _registry.secrets:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def get_logger(name: str = "stock_manager.kis") -> logging.Logger:
    """The named logger with a :class:`RedactingFilter` on it.

    A logger's filters see only the records logged on that very logger, not its children's, so
    every module of the client takes its logger from here rather than from ``logging.getLogger``.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


logger = get_logger()
