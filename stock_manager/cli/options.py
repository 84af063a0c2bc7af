"""The options every command shares (``--env``, ``--base-url``, ``--json``, ...).

They are accepted before the subcommand (``stock-manager --json kis apis``) and after it
(``stock-manager kis apis --json``): :func:`common_options` adds them to a command's signature and
merges them with the root's, the command's own value winning.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer

__all__ = ["CommonOptions", "common_options", "current_options"]

F = TypeVar("F", bound=Callable[..., Any])

_PANEL = "Connection and output"
# The parameter through which typer hands each wrapped command its context.
_CONTEXT = "_stock_manager_context"


class Environment(StrEnum):
    """The two KIS domains."""

    paper = "paper"
    real = "real"


@dataclass(frozen=True)
class CommonOptions:
    """What the user chose on the command line; ``None`` means "from KIS_* / .env"."""

    env: str | None = None
    base_url: str | None = None
    app_key: str | None = None
    app_secret: str | None = None
    account_no: str | None = None
    json: bool = False
    debug: bool = False

    def merged(self, other: CommonOptions) -> CommonOptions:
        """These options overridden by whatever ``other`` sets."""
        return replace(
            self,
            env=other.env or self.env,
            base_url=other.base_url or self.base_url,
            app_key=other.app_key or self.app_key,
            app_secret=other.app_secret or self.app_secret,
            account_no=other.account_no or self.account_no,
            json=self.json or other.json,
            debug=self.debug or other.debug,
        )


# The parameters themselves, in the Annotated form typer reads from a signature.
_PARAMETERS: tuple[inspect.Parameter, ...] = tuple(
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
    for name, annotation, default in (
        (
            "env",
            # A plain string checked by common_options: click's own refusal of a choice is a
            # usage block and a framed box, where one line says it.
            Annotated[
                str | None,
                typer.Option(
                    "--env",
                    metavar="paper|real",
                    help="KIS domain: paper (모의투자) or real (실전투자). (env KIS_ENVIRONMENT)",
                    rich_help_panel=_PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
        (
            "base_url",
            Annotated[
                str | None,
                typer.Option(
                    "--base-url",
                    help="REST base URL, e.g. a local sandbox. (env KIS_BASE_URL)",
                    rich_help_panel=_PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
        (
            "app_key",
            Annotated[
                str | None,
                typer.Option(
                    "--app-key",
                    help="App key (env KIS_APP_KEY).",
                    rich_help_panel=_PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
        (
            "app_secret",
            Annotated[
                str | None,
                typer.Option(
                    "--app-secret",
                    help="App secret: discouraged, it lands in shell history; prefer "
                    "KIS_APP_SECRET or .env.",
                    rich_help_panel=_PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
        (
            "account_no",
            Annotated[
                str | None,
                typer.Option(
                    "--account-no",
                    help="Account as NNNNNNNN-NN. (env KIS_ACCOUNT_NO)",
                    rich_help_panel=_PANEL,
                    show_default=False,
                ),
            ],
            None,
        ),
        (
            "json_output",
            Annotated[
                bool,
                typer.Option(
                    "--json",
                    help="Machine-readable JSON on stdout. A failure is written there too, as "
                    '{"error": {"code": ..., "message": ...}}, with the same exit code.',
                    rich_help_panel=_PANEL,
                ),
            ],
            False,
        ),
        (
            "debug",
            Annotated[
                bool,
                typer.Option(
                    "--debug",
                    help="Debug logs (secrets masked) and tracebacks on stderr.",
                    rich_help_panel=_PANEL,
                ),
            ],
            False,
        ),
    )
)
_NAMES = tuple(parameter.name for parameter in _PARAMETERS)


def _environment(value: Any, json_mode: bool) -> str | None:
    if value is None or isinstance(value, Environment):
        return None if value is None else value.value
    text = str(value).strip().lower()
    if text in tuple(Environment):
        return text
    message = f"--env must be paper (모의투자) or real (실전투자), not {str(value)!r}"
    if json_mode:
        # The --json error envelope (failures.error_document), written here because this
        # refusal comes before any command's Session.
        document = {"error": {"code": "usage", "message": message}}
        typer.echo(json.dumps(document, ensure_ascii=False))
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _from_values(values: dict[str, Any], json_mode: bool = False) -> CommonOptions:
    return CommonOptions(
        env=_environment(values.get("env"), json_mode or bool(values.get("json_output"))),
        base_url=values.get("base_url"),
        app_key=values.get("app_key"),
        app_secret=values.get("app_secret"),
        account_no=values.get("account_no"),
        json=bool(values.get("json_output")),
        debug=bool(values.get("debug")),
    )


def current_options() -> CommonOptions:
    """The options of the running command: the root's, then each group's, then its own."""
    return _CURRENT.options


class _Current:
    # The command line runs one command at a time; the merged options of the running one.
    options = CommonOptions()


_CURRENT = _Current()


def common_options(func: F) -> F:
    """Decorator: ``func`` (a command or group callback) also accepts the common options.

    The values are merged into ``ctx.obj`` (inherited by subcommands) rather than passed to
    ``func``, which reads them with :func:`current_options`.
    """
    signature = inspect.signature(func, eval_str=True)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        context: typer.Context = kwargs.pop(_CONTEXT)
        inherited = context.obj if isinstance(context.obj, CommonOptions) else CommonOptions()
        own = _from_values({name: kwargs.pop(name, None) for name in _NAMES}, inherited.json)
        context.obj = _CURRENT.options = inherited.merged(own)
        return func(*args, **kwargs)

    context_parameter = inspect.Parameter(
        _CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
    )
    parameters = [p for p in signature.parameters.values() if p.name not in _NAMES]
    # Typer passes every value by keyword, so the kinds only need to form a valid signature.
    parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in (*parameters, *_PARAMETERS, context_parameter)
    ]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper  # type: ignore[return-value]
