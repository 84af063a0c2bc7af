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

Secrets that live long (the app secret, tokens, approval keys: a handful per process) are kept
for the life of the process. A hashkey is used for one order, and a process may sign thousands:
``register_secret(value, short_lived=True)`` keeps only the :data:`MAX_SHORT_LIVED` most recent,
so the cost of masking a record stays bounded however long the process runs.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict

__all__ = [
    "MASK",
    "MAX_SHORT_LIVED",
    "SHORT_SECRET_LENGTH",
    "RedactingFilter",
    "get_logger",
    "redact",
    "register_secret",
]

MASK = "***"

#: Below this length a secret is masked only as a whole value (see the module docstring).
SHORT_SECRET_LENGTH = 8

#: How many short-lived secrets (hashkeys) are remembered; the oldest is forgotten first. A
#: hashkey is logged, if ever, around its own order, long before 256 more orders are signed.
MAX_SHORT_LIVED = 256

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
        self.lasting: set[str] = set()
        # Insertion order is age: the first key is the oldest.
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.secrets: frozenset[str] = frozenset()
        # Longest first, so a token containing another secret is masked whole.
        self.ordered: tuple[str, ...] = ()
        self.short: re.Pattern[str] | None = None

    def rebuild(self) -> None:
        """Recompute what :func:`redact` reads from the secrets now remembered."""
        self.secrets = frozenset(self.lasting.union(self.recent))
        by_length = sorted(self.secrets, key=len, reverse=True)
        self.ordered = tuple(s for s in by_length if len(s) >= SHORT_SECRET_LENGTH)
        shorts = [s for s in by_length if len(s) < SHORT_SECRET_LENGTH]
        alternatives = "|".join(re.escape(s) for s in shorts)
        self.short = re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}") if shorts else None


_registry = _Registry()


def fingerprint(value: str) -> str:
    """First 16 hex digits of ``value``'s SHA-256: tells keys apart without showing them."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def register_secret(value: str | None, *, short_lived: bool = False) -> None:
    """Remember ``value`` so that it is masked wherever it would be logged.

    ``short_lived`` marks a single-use value (a hashkey): only the :data:`MAX_SHORT_LIVED` most
    recent of those are remembered. A value registered both ways stays for good.
    """
    if not value:
        return
    with _registry.lock:
        if value in _registry.lasting:
            return
        if short_lived:
            if value in _registry.recent:
                _registry.recent.move_to_end(value)
                return
            _registry.recent[value] = None
            while len(_registry.recent) > MAX_SHORT_LIVED:
                _registry.recent.popitem(last=False)
        else:
            _registry.recent.pop(value, None)
            _registry.lasting.add(value)
        _registry.rebuild()


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
