"""``stock-manager config init``: write the ``.env`` the library and the CLI read.

Interactive: it asks for the environment, the app key and secret (hidden, never echoed or
printed back), the account, the HTS ID and, on paper, an optional real key pair for the market
data only the real domain offers. Each answer is checked as :class:`KISConfig` would check it and
asked again if wrong, so a typo is caught before anything is written. The file is created with
mode 0600 (it holds the app secret); an existing file is kept unless ``--force``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from stock_manager.adapters.broker.kis.config import check_hts_id, normalise_account_no

__all__ = ["config_app", "render_env", "write_private"]

config_app = typer.Typer(help="Set up the KIS configuration (.env).", no_args_is_help=True)

_EXIT_USAGE = 2
# Visible ASCII, less the characters a .env quote or a shell would take apart: KIS keys and
# secrets are letters, digits and base64's +/=.
_CREDENTIAL_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - set("'\"\\`$#")


def _credential(what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = value.strip()
        if not value:
            raise typer.BadParameter(f"the {what} is required")
        if not set(value) <= _CREDENTIAL_CHARS:
            # The value is not quoted back: it is a secret.
            raise typer.BadParameter(
                f"the {what} holds a space, quote or non-ASCII character: paste it again"
            )
        return value

    return check


def _optional(check: Callable[[str], str], prefix: str = "") -> Callable[[str], str]:
    def run(value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            return check(value)
        except ValueError as exc:  # the config's own message, which never quotes the value
            raise typer.BadParameter(f"{prefix}{exc}") from None

    return run


def _environment(value: str) -> str:
    value = value.strip().lower()
    if value not in ("paper", "real"):
        raise typer.BadParameter("answer paper or real")
    return value


def render_env(values: dict[str, str], *, by: str = "stock-manager config init") -> str:
    """The ``.env`` text for ``values`` (KIS_* name -> value), single-quoted (read literally);
    ``by`` names the command that wrote it."""
    lines = [
        f"# KIS OpenAPI settings, written by `{by}`.",
        "# Mode 0600: it holds the app secret. Keep it out of version control (.gitignore).",
        "# KIS_* environment variables override these values.",
    ]
    lines += [f"{name}='{value}'" for name, value in values.items() if value]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` with mode 0600 whatever the umask: created exclusively
    (never following a link planted there), or, with ``force``, through a private temporary
    file renamed over it, so the secret is never in a file others can read."""
    data = text.encode("utf-8")
    if not force:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, data)
        finally:
            os.close(fd)
        return
    fd, temporary = tempfile.mkstemp(prefix=".env-", dir=path.parent)  # 0600 by mkstemp
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(_EXIT_USAGE)


@config_app.command("init")
def init(
    *,
    path: Annotated[Path, typer.Option("--path", help="Where to write the file.")] = Path(".env"),
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Ask for the KIS settings and write them to a 0600 .env file.

    The app key and secret are read hidden and never printed. Existing files are kept unless
    --force. Environment variables (KIS_*) still override what the file says.
    """
    if path.exists() and not force:
        raise _fail(f"{path} exists: pass --force to replace it (nothing was asked or written)")
    if not path.parent.is_dir():
        raise _fail(f"the directory {path.parent} does not exist")
    environment = typer.prompt(
        "Environment: paper (모의투자) or real (실전투자)",
        default="paper",
        value_proc=_environment,
    )
    app_key = typer.prompt("App key", hide_input=True, value_proc=_credential("app key"))
    app_secret = typer.prompt("App secret", hide_input=True, value_proc=_credential("app secret"))
    account = typer.prompt(
        "Account number (NNNNNNNN-NN, blank to skip)",
        default="",
        show_default=False,
        value_proc=_optional(normalise_account_no, "the account number "),
    )
    hts_id = typer.prompt(
        "HTS ID (for fill notices, blank to skip)",
        default="",
        show_default=False,
        value_proc=_optional(check_hts_id),
    )
    values = {
        "KIS_ENVIRONMENT": environment,
        "KIS_APP_KEY": app_key,
        "KIS_APP_SECRET": app_secret,
        "KIS_ACCOUNT_NO": account,
        "KIS_HTS_ID": hts_id,
    }
    if environment == "paper" and typer.confirm(
        "Add your real key pair, for the market data only the real domain offers? "
        "(orders and account calls always stay on paper)",
        default=False,
    ):
        real_key = typer.prompt(
            "Real app key", hide_input=True, value_proc=_credential("real app key")
        )
        if real_key == app_key:
            raise _fail("the real app key is the paper one: KIS issues a key per domain")
        values["KIS_REAL_APP_KEY"] = real_key
        values["KIS_REAL_APP_SECRET"] = typer.prompt(
            "Real app secret", hide_input=True, value_proc=_credential("real app secret")
        )
    try:
        write_private(path, render_env(values), force=force)
    except FileExistsError:
        raise _fail(f"{path} appeared meanwhile: pass --force to replace it") from None
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    written = ", ".join(name for name, value in values.items() if value)
    typer.echo(f"Wrote {path} (mode 0600): {written}.")
    typer.echo("Keep it out of version control; KIS_* environment variables override it.")
