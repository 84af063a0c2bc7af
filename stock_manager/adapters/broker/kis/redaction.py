"""Keep secrets out of logs.

Every secret the client handles (app secret, personal security key, access tokens, approval keys,
hashkeys) is registered here as soon as it is known. :class:`RedactingFilter` replaces registered
values with ``***`` in a log record's message, arguments and exception text. It is installed on the
``stock_manager.kis`` logger, where every record of this package is emitted; attach it to your own
handlers too if you log ``httpx`` or other libraries at DEBUG level.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["MASK", "RedactingFilter", "get_logger", "redact", "register_secret"]

MASK = "***"

# Short values would mask innocent text (and nothing this short is a real KIS secret).
_MIN_SECRET_LENGTH = 8


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: set[str] = set()
        # Longest first, so a token containing another secret is masked whole.
        self.ordered: tuple[str, ...] = ()


_registry = _Registry()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that it is masked wherever it would be logged."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _registry.lock:
        if value in _registry.secrets:
            return
        _registry.secrets.add(value)
        _registry.ordered = tuple(sorted(_registry.secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for secret in _registry.ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _registry.ordered:
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
