"""Turning failures into one line on stderr and an exit code.

=====  ====================================================================================
exit   when
=====  ====================================================================================
0      success
1      KIS answered with an error (``KISAPIError``), or the network/protocol failed
       (``KISTransportError``, ``KISProtocolError``), or anything unexpected
2      usage or configuration: ``KISConfigError``, ``KISUsageError`` (unknown API, missing
       variant, ...), a bad ``--param``/JSON body, nothing configured
=====  ====================================================================================

A traceback is printed only with ``--debug``, with known secrets masked. Under ``--json`` the
failure is also written on stdout as ``{"error": {"code": ..., "message": ...}}`` (the exit code
unchanged): ``code`` is KIS's message code (``EGW00123``, ``APBK0919``...) when KIS answered,
else one of ``usage``, ``config``, ``connect``, ``transport``, ``protocol``, ``ambiguous``,
``order_not_shown``, ``unexpected``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Iterator, Mapping
from types import TracebackType

import typer

from stock_manager.adapters.broker.kis import (
    KISAmbiguousOutcomeError,
    KISAPIError,
    KISConfigError,
    KISConnectError,
    KISError,
    KISProtocolError,
    KISRealtimeRefusedError,
    KISResponse,
    KISTransportError,
    KISUnknownAPIError,
    KISUsageError,
    KISVariantError,
    RedactingFilter,
)

from .output import Output

__all__ = [
    "EXIT_API",
    "EXIT_USAGE",
    "AcceptedOrder",
    "AcceptedOrderNotShownError",
    "CliUsageError",
    "NotConfiguredError",
    "describe",
    "error_code",
    "error_document",
    "exit_code_for",
    "logs_to_stderr",
    "reported",
    "without_cache_key",
]

EXIT_API = 1
EXIT_USAGE = 2


class CliUsageError(Exception):
    """The command line itself is wrong (a bad ``--param``, a body that is not JSON, ...)."""


class NotConfiguredError(CliUsageError):
    """No KIS server is configured at all."""

    def __init__(self) -> None:
        super().__init__(
            "no KIS server configured (KIS_APP_KEY and KIS_BASE_URL are unset): run "
            "`stock-manager sandbox serve` and paste its export line, set KIS_APP_KEY/"
            "KIS_APP_SECRET for KIS itself, or try `stock-manager demo`"
        )


class AcceptedOrderNotShownError(Exception):
    """KIS accepted an order, then showing its reply failed: the order number must still be
    told, or a user who sees only a failure would send the order again."""

    def __init__(self, order_number: str, cause: BaseException) -> None:
        super().__init__(
            f"KIS accepted the order: ODNO {order_number} (it is placed: do not send it again), "
            f"but showing the reply failed: {describe(cause)}"
        )
        self.order_number = order_number


def order_number(response: KISResponse) -> str | None:
    """The order number (``output.ODNO``) of an order's reply, if it has one."""
    output = response.get("output")
    number = output.get("ODNO") if isinstance(output, Mapping) else None
    return str(number) if number not in (None, "") else None


class AcceptedOrder:
    """Context for showing a reply: set ``reply`` once KIS has answered; if anything fails
    afterwards and the reply carries an order number, the failure says it was placed."""

    def __init__(self) -> None:
        self.reply: KISResponse | None = None

    def __enter__(self) -> AcceptedOrder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not isinstance(exc, Exception) or self.reply is None:
            return
        number = order_number(self.reply)
        if number is not None:
            raise AcceptedOrderNotShownError(number, exc) from None


def exit_code_for(exc: BaseException) -> int:
    """The exit code a failure maps to."""
    if isinstance(exc, CliUsageError | KISConfigError | KISUsageError):
        return EXIT_USAGE
    return EXIT_API


def error_code(exc: BaseException) -> str:
    """The ``code`` of the ``--json`` error envelope: KIS's own when it answered, else a kind."""
    code = getattr(exc, "code", None)
    if isinstance(exc, KISAPIError | KISRealtimeRefusedError) and code:
        return str(code)
    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (KISConfigError, "config"),
        (CliUsageError, "usage"),
        (KISUsageError, "usage"),
        (KISAmbiguousOutcomeError, "ambiguous"),
        (KISConnectError, "connect"),
        (KISTransportError, "transport"),
        (KISProtocolError, "protocol"),
        (AcceptedOrderNotShownError, "order_not_shown"),
        (KISAPIError, "kis"),
    )
    for kind, name in kinds:
        if isinstance(exc, kind):
            return name
    return "unexpected"


def error_document(code: str, message: str) -> dict[str, dict[str, str]]:
    """The ``--json`` error envelope."""
    return {"error": {"code": code, "message": message}}


def describe(exc: BaseException) -> str:
    """The one-line explanation of ``exc`` (KIS's code and what to do, for KIS errors)."""
    if isinstance(exc, KISConnectError):
        # The usual cause on a first try: a sandbox that is not running, or a stale URL.
        return (
            f"{exc} (nothing answered: is the server running? For a local sandbox run "
            "`stock-manager sandbox serve` and check KIS_BASE_URL; for KIS, your network)"
        )
    if isinstance(exc, KISAmbiguousOutcomeError):
        return f"the order may or may not have been placed: {exc}"
    if isinstance(exc, KISVariantError) and exc.variants:
        return f"{exc} (on the command line: --variant {'|'.join(exc.variants)})"
    if isinstance(exc, KISUnknownAPIError):
        return f"{exc}; `stock-manager kis apis --search TEXT` lists them"
    if isinstance(exc, KISError | CliUsageError | AcceptedOrderNotShownError):
        return str(exc) or type(exc).__name__
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


@contextlib.contextmanager
def reported(output: Output, *, debug: bool = False) -> Iterator[None]:
    """Run the block; on failure print one line (and the traceback with ``debug``) and exit."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if debug:
            output.err.print(output.clean(traceback.format_exc()), markup=False, highlight=False)
        message = describe(exc)
        if output.json_mode and not output.error_in_document:
            output.json(error_document(error_code(exc), " ".join(message.split())))
        output.error(message)
        raise typer.Exit(exit_code_for(exc)) from None


# The token store's cache-key name ("paper-access-token-<fingerprint>-<domain>: ") that the
# token manager's lines start with: it tells keys apart in a shared log, and is noise to a person
# running one command for one key.
_CACHE_KEY_PREFIX = re.compile(r"^(?:paper|real)-[a-z-]+-[0-9a-z]+-[0-9a-z]+: ")


def without_cache_key(message: str) -> str:
    """``message`` without the leading token cache-key name, if it has one."""
    return _CACHE_KEY_PREFIX.sub("", message, count=1)


class _ConsoleHandler(logging.Handler):
    # Through rich, so that a log line does not tear a spinner that is on screen.
    def __init__(self, output: Output, debug: bool) -> None:
        super().__init__()
        self.output = output
        self.debug = debug

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if not self.debug:
                level, sep, message = text.partition(": ")
                text = f"{level}{sep}{without_cache_key(message)}"
            # A log line may quote a reply: masked and stripped like everything else shown.
            line = self.output.clean(text)
            self.output.err.print(line, markup=False, highlight=False)
        except Exception:  # a broken stderr must not turn a log line into a crash
            self.handleError(record)


@contextlib.contextmanager
def logs_to_stderr(output: Output, debug: bool) -> Iterator[None]:
    """While the block runs, show ``stock_manager`` warnings (everything with ``debug``) on
    stderr, secrets masked."""
    handler = _ConsoleHandler(output, debug)
    if debug:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handler.setLevel(logging.WARNING)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("stock_manager")
    previous = logger.level
    logger.addHandler(handler)
    if debug:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
